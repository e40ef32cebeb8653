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
// message types but no wrapper for these calls; this is one of the three
// uses of unsafe in package st2110, all in this file: to pass the address
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

// handOffNanosleep sleeps the calling thread in clock_nanosleep(2) on
// CLOCK_MONOTONIC for ts (the rest left in ts after a signal), and gives
// the goroutine's P to the runtime for the sleep at once, as the runtime
// does for its own blocking calls: another goroutine runs on it
// meanwhile, and the sleeper takes a P back (an idle one at once, else
// waits for one) on waking. A system call through the runtime
// (unix.ClockNanosleep) keeps the P unless the runtime's monitor sees one
// call span two of its looks (20 µs to 10 ms apart), which a sender
// sleeping every 20 µs never does: its P then ran no other goroutine
// between the sender's yields, 7 ms apart (threadSleeper). st2110's third
// use of unsafe: the timespec's address, and the runtime's entry points
// (linked by name).
//
// It is syscall.Syscall6 (entersyscall, the raw call, exitsyscall) with
// the runtime's entersyscallblock, which hands the P off before the call
// instead of leaving it to the monitor. Nothing between the two may grow
// the stack: nosplit, and norace for the race detector's calls.
//
//go:nosplit
//go:norace
func handOffNanosleep(ts *unix.Timespec) syscall.Errno {
	entersyscallblock()
	_, _, e := syscall.RawSyscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, 0,
		uintptr(unsafe.Pointer(ts)), uintptr(unsafe.Pointer(ts)), 0, 0)
	exitsyscall()
	return e
}

// The runtime exports these two by go:linkname for packages that make
// their own blocking system calls (go.dev/issue/67401: "do not remove or
// change the type signature").
//
//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()
