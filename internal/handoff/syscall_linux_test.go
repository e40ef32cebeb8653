package handoff

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/handoff/handofftest"
)

// sleepHandOff sleeps d through Nanosleep, the rest again after a signal.
func sleepHandOff(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for Nanosleep(&ts) == syscall.EINTR {
	}
}

// TestSyscall6HandsOff: with one P, a goroutine made runnable on it runs
// during a system call made through Syscall6, however short: the P went
// to the runtime at once. The call is getpid(2), which takes well under
// a microsecond: through the runtime's system call path (which keeps the
// P) the goroutine would wait, the monitor taking the P only from a call
// that spans two of its looks (20 µs at the least). A sleep would not
// tell the two apart: the shortest clock_nanosleep(2) lasts some 50 µs
// (the kernel's timer slack), and the monitor takes the P from it too.
// Nanosleep, which a sender sleeps with, allocates nothing.
func TestSyscall6HandsOff(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Three tries (RanDuring): the thread given the P runs the goroutine
	// first (it is the P's own), unless its scheduler takes the global
	// queue, where the caller waits for a P, first: it does once in 61
	// turns.
	if !handofftest.RanDuring(func() {
		if pid, _, e := Syscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0); e != 0 || int(pid) != syscall.Getpid() {
			t.Fatalf("getpid(2) through Syscall6: %d, %v; want %d", pid, e, syscall.Getpid())
		}
	}) {
		t.Fatal("in 3 system calls through Syscall6, a goroutine runnable on the only P never ran during one")
	}
	if n := testing.AllocsPerRun(100, func() { sleepHandOff(time.Microsecond) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}

// pollFd is struct pollfd (unix.PollFd; this package's tests use std
// only).
type pollFd struct {
	fd              int32
	events, revents int16
}

const pollIn = 0x1 // POLLIN

// TestPpoll: Ppoll reports the entries ready among all nfds (of two
// pipes, the second's readable), times out with none ready (a timeout
// not passed would wait forever), waits for its timeout (one not passed
// would be no wait), and hands the P off for the call: with one P, a
// goroutine runnable on it runs during a Ppoll that returns at once. It
// allocates nothing.
func TestPpoll(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a, b [2]int
	for _, p := range []*[2]int{&a, &b} {
		if err := syscall.Pipe(p[:]); err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(p[0])
		defer syscall.Close(p[1])
	}
	pfd := [2]pollFd{{fd: int32(a[0]), events: pollIn}, {fd: int32(b[0]), events: pollIn}}
	if n, e := Ppoll(unsafe.Pointer(&pfd[0]), 2, 0); n != 0 || e != 0 || pfd[0].revents != 0 || pfd[1].revents != 0 {
		t.Fatalf("two empty pipes: %d ready, %v, %+v", n, e, pfd)
	}
	if n, e := Ppoll(unsafe.Pointer(&pfd[0]), 2, 1); n != 0 || e != 0 {
		t.Fatalf("two empty pipes for 1 ms: %d ready, %v, %+v", n, e, pfd)
	}
	if _, err := syscall.Write(b[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	if n, e := Ppoll(unsafe.Pointer(&pfd[0]), 2, 1000); n != 1 || e != 0 || pfd[0].revents != 0 || pfd[1].revents&pollIn == 0 {
		t.Fatalf("the second pipe readable: %d ready, %v, %+v; want 1, the second's POLLIN", n, e, pfd)
	}
	if !handofftest.RanDuring(func() {
		if n, e := Ppoll(unsafe.Pointer(&pfd[1]), 1, 0); n != 1 || e != 0 {
			t.Fatalf("the readable pipe: %d ready, %v", n, e)
		}
	}) {
		t.Error("in 3 calls of Ppoll that returned at once, a goroutine runnable on the only P never ran during one")
	}
	// The timeout is passed: a pipe written by a goroutine that runs
	// only once the P is handed off is reported within a minute's
	// timeout (a zero timespec would return 0 at once).
	if _, err := syscall.Read(b[0], make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	go syscall.Write(a[1], []byte{1})
	if n, e := Ppoll(unsafe.Pointer(&pfd[0]), 1, 60000); n != 1 || e != 0 || pfd[0].revents&pollIn == 0 {
		t.Fatalf("a pipe written during a Ppoll of a minute: %d ready, %v, %+v; want 1, its POLLIN", n, e, pfd)
	}
	// The entries are made inside the function measured: an fds that
	// escaped would allocate them each call.
	if n := testing.AllocsPerRun(100, func() {
		pfd := [2]pollFd{{fd: int32(a[0]), events: pollIn}, {fd: int32(b[0]), events: pollIn}}
		Ppoll(unsafe.Pointer(&pfd[0]), 2, 0)
	}); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}
