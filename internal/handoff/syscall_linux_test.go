package handoff

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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
	// Three tries: the thread given the P runs the goroutine first (it is
	// the P's own), unless its scheduler takes the global queue, where the
	// caller waits for a P, first: it does once in 61 turns.
	ran := false
	for try := 0; try < 3 && !ran; try++ {
		var r atomic.Bool
		go func() { r.Store(true) }()
		if pid, _, e := Syscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0); e != 0 || int(pid) != syscall.Getpid() {
			t.Fatalf("getpid(2) through Syscall6: %d, %v; want %d", pid, e, syscall.Getpid())
		}
		ran = r.Load()
	}
	if !ran {
		t.Fatal("in 3 system calls through Syscall6, a goroutine runnable on the only P never ran during one")
	}
	if n := testing.AllocsPerRun(100, func() { sleepHandOff(time.Microsecond) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}
