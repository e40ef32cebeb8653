package osthread

import (
	"runtime"
	"time"
)

// Yielder gives the Go scheduler a turn every few milliseconds from a loop
// that owns its OS thread (runtime.LockOSThread) and never blocks in Go.
// Call [Yielder.Pass] once per loop pass. The zero value is ready to use.
//
// Left alone, such a goroutine is preempted by the runtime's monitor
// (sysmon) after 10 ms on the same scheduling tick: by a signal while it
// runs, or by taking its P while it is in a system call, which also sets
// the monitor waking every 20 µs for a while. Measured on netmap's VALE
// switch in a 2-vCPU VM at 60-byte frames, that monitor used about a fifth
// of a vCPU, and a receiver took 0.51 to 0.94 of what a C sender sent;
// yielding every few milliseconds, 0.93 to 0.99 (C to C: 0.96 to 0.99).
//
// A yield of a locked goroutine is not free: the runtime hands its P to
// another thread and back while its own thread sleeps (37 to 76 µs in that
// VM). So Pass unlocks the thread for the yield and locks it again after,
// and the goroutine goes on at once on the same thread (3 µs there), or on
// the thread that picked it up meanwhile, which it then keeps.
//
// The clock is read once every [YieldCheck] passes, or sooner once
// [YieldBytes] have gone through the loop since the last read: where the
// clock source is slow (HPET, as in a VM), each read is a system call, and
// a pass over large frames can take over a millisecond, so counting passes
// alone lets the monitor strike first.
type Yielder struct {
	n, bytes uint64
	last     time.Time
}

const (
	// YieldEvery is how often a Yielder yields: as long as the runtime's
	// monitor allows (10 ms) with room for one slow pass.
	YieldEvery = 7 * time.Millisecond
	// YieldCheck is how many passes go by between reads of the clock.
	YieldCheck = 8
	// YieldBytes is how many bytes moved make Pass read the clock before
	// YieldCheck passes.
	YieldBytes = 512 << 10
)

// Pass counts one loop pass that moved bytes and yields if YieldEvery has
// gone by since the last yield. The calling goroutine must hold exactly one
// runtime.LockOSThread, and holds it again on return, possibly on another
// thread. Pass does not allocate.
func (y *Yielder) Pass(bytes uint64) {
	if y.Due(bytes) {
		y.Yield()
	}
}

// Due counts one loop pass that moved bytes, as Pass does, and reports
// whether YieldEvery has gone by since the last yield, for a caller that
// has set something on its thread which the thread must not keep once
// other goroutines may run on it (a timer slack, a signal mask): it undoes
// that, calls [Yielder.Yield], and sets it again on the thread it then
// holds. Due counts the yield as made.
func (y *Yielder) Due(bytes uint64) bool {
	y.n++
	y.bytes += bytes
	if y.n < YieldCheck && y.bytes < YieldBytes {
		return false
	}
	y.n, y.bytes = 0, 0
	if now := time.Now(); now.Sub(y.last) >= YieldEvery {
		y.last = now
		return true
	}
	return false
}

// Yield lets go of the calling goroutine's thread for a moment, as Pass
// does when a yield is due: the goroutine must hold exactly one
// runtime.LockOSThread, and holds it again on return, possibly on another
// thread.
func (y *Yielder) Yield() {
	runtime.UnlockOSThread()
	runtime.Gosched()
	runtime.LockOSThread()
}

// LastYield returns when Pass last yielded (the zero time before the
// first yield).
func (y *Yielder) LastYield() time.Time { return y.last }
