package video

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling OS thread has used, user and
// system (getrusage RUSAGE_THREAD): on a shared machine it moves less with
// the other load than the wall clock does. The caller locks its goroutine
// to its thread.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD, Linux
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
