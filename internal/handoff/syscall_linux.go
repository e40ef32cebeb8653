package handoff

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// clockMonotonic is CLOCK_MONOTONIC (package syscall has no name for it).
const clockMonotonic = 1

// Nanosleep sleeps the calling thread in clock_nanosleep(2) on
// CLOCK_MONOTONIC for ts, with the goroutine's P given to the runtime
// for the sleep (Syscall6). After a signal it returns EINTR with the rest
// of the sleep left in ts.
func Nanosleep(ts *syscall.Timespec) syscall.Errno {
	_, _, e := Syscall6(syscall.SYS_CLOCK_NANOSLEEP, clockMonotonic, 0,
		uintptr(unsafe.Pointer(ts)), uintptr(unsafe.Pointer(ts)), 0, 0)
	runtime.KeepAlive(ts) // Syscall6 is Go, not assembly: see there
	return e
}

// Ppoll waits in ppoll(2) for up to ms milliseconds (ms >= 0: a negative
// ms is EINVAL, not poll(2)'s wait without end) on the nfds pollfd
// entries (struct pollfd: unix.PollFd) at fds, with the goroutine's P
// given to the runtime for the call (Syscall6), and returns ppoll's
// count of entries ready (-1 with an error) and its error, EINTR
// included. ppoll, not
// poll(2): poll is missing on arm64, riscv64 and loong64. It keeps the
// entries, and the timespec that ppoll writes the time left in, alive
// through the call, which Syscall6's callers must (see there), and
// allocates nothing: fds does not escape.
func Ppoll(fds unsafe.Pointer, nfds int, ms int) (int, syscall.Errno) {
	ts := syscall.NsecToTimespec(int64(ms) * int64(time.Millisecond))
	n, _, e := Syscall6(syscall.SYS_PPOLL, uintptr(fds), uintptr(nfds), uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	runtime.KeepAlive(fds)
	runtime.KeepAlive(&ts)
	return int(n), e
}

// HoldSleep sleeps the calling thread for d in clock_nanosleep(2) on
// CLOCK_MONOTONIC, the rest of it again after a signal, as a raw system
// call: the opposite of Nanosleep. The runtime does not see the goroutine
// block, so it keeps its P, where a system call through the runtime that
// spans two looks of its monitor (20 µs apart while it is busy) has the P
// handed to another thread, and with one P (GOMAXPROCS=1, a one-CPU
// machine) a spare thread woken to look for work, each time: measured in a
// one-vCPU VM, lingering through the runtime's system call path cost a
// video receiver more CPU than the wake-ups it saved. No other goroutine
// runs on that P meanwhile, and a stop of the world (the GC's) waits for
// the sleep to end: for short sleeps only (the readers' lingers, nmsys's,
// xsk's and st2110's MaxLinger).
func HoldSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_CLOCK_NANOSLEEP, clockMonotonic, 0,
			uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}

// Syscall6 is syscall.RawSyscall6 with the goroutine's P given to the
// runtime for the call, at once, as the runtime does for its own blocking
// calls: another goroutine runs on it meanwhile (the runtime wakes a
// thread to run it if one is waiting, else leaves the P idle), and the
// caller takes a P back on return (its own if still idle, else another
// idle one, else it waits for one). It is syscall.Syscall6 with the
// runtime's entersyscallblock in place of entersyscall, which keeps the P.
//
// Arguments that are addresses must stay valid through the call. Syscall6
// is a Go function, so the compiler does not keep alive what a
// uintptr(unsafe.Pointer(p)) in its arguments points to, as it does for
// syscall.Syscall6 and the other system calls written in assembly: the
// caller keeps each such value reachable until the call returns
// (runtime.KeepAlive after it), or the garbage collector may free one that
// escaped to the heap (as everything may under -asan) while the kernel
// reads or writes it. A stack variable does not move meanwhile: nothing
// here grows the stack. Nothing between the
// runtime's two calls may grow the stack: nosplit, and norace for the
// race detector's calls.
//
//go:nosplit
//go:norace
func Syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, r2 uintptr, err syscall.Errno) {
	entersyscallblock()
	r1, r2, err = syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	exitsyscall()
	return r1, r2, err
}

// The runtime exports these two by go:linkname for packages that make
// their own blocking system calls (go.dev/issue/67401: "do not remove or
// change the type signature").
//
//go:linkname entersyscallblock runtime.entersyscallblock
func entersyscallblock()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()
