//go:build linux

package st2110

import (
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsg calls recvmmsg(2) or sendmmsg(2) (trap) on fd with hs, without
// blocking, and returns how many messages went. x/sys/unix has the
// message types but no wrapper for these calls; this is one of the two
// uses of unsafe in package st2110, both in this file: to pass the address
// of the header array.
func mmsg(trap uintptr, fd uintptr, hs []unix.Mmsghdr) (int, syscall.Errno) {
	if len(hs) == 0 {
		return 0, 0
	}
	n, _, errno := unix.Syscall6(trap, fd, uintptr(unsafe.Pointer(&hs[0])), uintptr(len(hs)), unix.MSG_DONTWAIT, 0, 0)
	return int(n), errno
}

// holdSleep sleeps the calling thread for d in clock_nanosleep(2) on
// CLOCK_MONOTONIC, the rest of it again after a signal, as a raw system
// call, as nmsys's and xsk's lingers do (a package that may make raw
// system calls each; this is st2110's second use of unsafe, the address
// of the timespec): the runtime does not see the goroutine block, so it
// keeps its P, where a system call through the runtime that spans two
// looks of its monitor (20 µs apart while it is busy) has the P handed to
// another thread, and with one P a spare thread woken to look for work,
// each time: measured on a one-vCPU VM, that cost a lingering video
// receiver more CPU than the wake-ups it saved. No other goroutine runs
// on that P meanwhile, and a stop of the world waits for the sleep: for
// short sleeps only (MaxLinger).
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
