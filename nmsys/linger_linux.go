package nmsys

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/handoff"
	"golang.org/x/sys/unix"
)

// holdSleep sleeps the calling OS thread for d in clock_nanosleep(2) on
// CLOCK_MONOTONIC, the rest of it again after a signal, as a raw system
// call: the runtime does not see the goroutine block, so it keeps its P
// and the runtime's monitor does not hand the P to another thread, which
// it does for a system call that spans two of its looks (20 µs apart
// while it is busy) and which, with one P (GOMAXPROCS=1, a one-CPU
// machine), wakes a spare thread to look for work each time: measured in
// a one-vCPU VM, lingering through the runtime's system call path cost a
// video receiver more CPU than the wake-ups it saved. No other goroutine
// runs on that P meanwhile, and a stop of the world (the GC's) waits for
// the sleep to end: for short sleeps only (MaxLinger). xsk has the same
// (AF_XDP and netmap share no package that may hold a raw system call; the
// hand-off of the P, below, is internal/handoff's).
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

// pollOneHandOff is pollOne with the goroutine's P given to the runtime
// for the call (handoff.Syscall6, Idler.NextBatchAt), through ppoll(2):
// poll(2) is missing on arm64, riscv64 and loong64. handoff.Syscall6 is
// not assembly: the compiler does not keep its pointer arguments' targets
// alive through it, so the KeepAlives after it do.
func pollOneHandOff(fd uintptr, events int16, ms int) (int16, syscall.Errno) {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
	ts := unix.NsecToTimespec(int64(ms) * int64(time.Millisecond))
	_, _, e := handoff.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	runtime.KeepAlive(&ts) // ppoll writes the time left in it
	runtime.KeepAlive(&pfd)
	if e == unix.EINTR {
		e = 0
	}
	return pfd[0].Revents, e
}

// pollTwoHandOff is pollTwo with the goroutine's P given to the runtime
// for the call, as pollOneHandOff.
func pollTwoHandOff(a, b uintptr, events int16, ms int) (ra, rb int16, e syscall.Errno) {
	pfd := [2]unix.PollFd{{Fd: int32(a), Events: events}, {Fd: int32(b), Events: events}}
	ts := unix.NsecToTimespec(int64(ms) * int64(time.Millisecond))
	_, _, e = handoff.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 2, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	runtime.KeepAlive(&ts)
	runtime.KeepAlive(&pfd)
	if e == unix.EINTR {
		e = 0
	}
	return pfd[0].Revents, pfd[1].Revents, e
}
