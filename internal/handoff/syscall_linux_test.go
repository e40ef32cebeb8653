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
// to the runtime at once. Through the runtime's system call path (which
// keeps the P) it would wait, the monitor taking the P only from a call
// that spans two of its looks. Syscall6 allocates nothing.
func TestSyscall6HandsOff(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Three tries: the thread woken to take the P may come to its
	// scheduler only after the sleeper woke and queued itself for the P,
	// and the scheduler takes the global queue first once in 61 turns.
	ran := false
	for try := 0; try < 3 && !ran; try++ {
		var r atomic.Bool
		go func() { r.Store(true) }()
		sleepHandOff(time.Microsecond)
		ran = r.Load()
	}
	if !ran {
		t.Fatal("in 3 system calls through Syscall6, a goroutine runnable on the only P never ran during one")
	}
	if n := testing.AllocsPerRun(100, func() { sleepHandOff(time.Microsecond) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}
