package nmsys

import (
	"syscall"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/handoff"
	"golang.org/x/sys/unix"
)

// holdSleep sleeps the calling OS thread for d, keeping the goroutine's P
// (handoff.HoldSleep): for a linger's short sleeps (MaxLinger).
func holdSleep(d time.Duration) { handoff.HoldSleep(d) }

// pollOneHandOff is pollOne with the goroutine's P given to the runtime
// for the call (handoff.Ppoll, Idler.NextBatchAt), through ppoll(2):
// poll(2) is missing on arm64, riscv64 and loong64.
func pollOneHandOff(fd uintptr, events int16, ms int) (int16, syscall.Errno) {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
	e := ppollHandOff(pfd[:], ms)
	return pfd[0].Revents, e
}

// pollTwoHandOff is pollTwo with the goroutine's P given to the runtime
// for the call, as pollOneHandOff.
func pollTwoHandOff(a, b uintptr, events int16, ms int) (ra, rb int16, e syscall.Errno) {
	pfd := [2]unix.PollFd{{Fd: int32(a), Events: events}, {Fd: int32(b), Events: events}}
	e = ppollHandOff(pfd[:], ms)
	return pfd[0].Revents, pfd[1].Revents, e
}

// ppollHandOff polls pfd (not empty) for up to ms ms through ppoll(2),
// with the P handed off (handoff.Ppoll); EINTR is 0 (nothing ready).
func ppollHandOff(pfd []unix.PollFd, ms int) syscall.Errno {
	_, e := handoff.Ppoll(unsafe.Pointer(&pfd[0]), len(pfd), ms)
	if e == unix.EINTR {
		e = 0
	}
	return e
}
