package xsk

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// holdSleep sleeps the calling OS thread for d in clock_nanosleep(2) on
// CLOCK_MONOTONIC, the rest of it again after a signal, as a raw system
// call: the goroutine keeps its P, so the runtime's monitor does not hand
// it to another thread (with one P, a spare thread woken for every sleep
// longer than about 20 µs), and no other goroutine runs on that P
// meanwhile: for short sleeps only (MaxLinger). nmsys has the same (AF_XDP
// and netmap share no package that may hold a raw system call).
func holdSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, 0,
			uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0, 0)
		if e != unix.EINTR {
			return
		}
	}
}
