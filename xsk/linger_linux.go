package xsk

import (
	"time"

	"golang.org/x/sys/unix"
)

// linger sleeps the calling thread for d in clock_nanosleep(2), the rest
// of it again after a signal: Go's timers would wake it up to a
// millisecond late.
func linger(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, &ts) == unix.EINTR {
	}
}
