package handoff

import "time"

// Every is how long a loop keeps its P across waits before a wait gives it
// to the runtime. A wait that keeps the P costs nothing more than its
// system call, and the goroutines waiting for that P wait; one that gives
// it costs a thread's wake-up when another goroutine takes it, and the
// loop may wait for a P on waking. Measured for an AF_XDP sender
// (docs/benchmarks.md, "The AF_XDP sender's sleeps"): every sleep cost
// the sender 11 % more CPU and woke 30 to 36 % of its sleeps 20 to 50 µs
// late; every millisecond left a goroutine beside it 7 to 57 of 1,641 to
// 1,808 wakes over 2 ms late, against 277 to 279 of 285 to 294 keeping
// the P.
const Every = time.Millisecond

// Clock times a loop's hand-offs: a wait hands off when Every has passed
// since the last that did, on the loop's own clock. The zero Clock's first
// wait hands off, and so does one whose time is before the last hand-off's
// (a clock stepped back, which would otherwise keep the P for as long as
// the step).
type Clock struct {
	last int64  // when a wait last handed off, ns on the caller's clock (n != 0)
	n    uint64 // how many did: 0, no wait yet, so last means nothing
	keep bool   // never hand off (Keep)
}

// Due reports whether a wait starting at now (ns on the caller's clock,
// read just before) should hand the P off, and if so counts it as done.
func (c *Clock) Due(now int64) bool {
	if c.keep || (c.n != 0 && now-c.last < int64(Every) && now >= c.last) {
		return false
	}
	c.last = now
	c.n++
	return true
}

// Keep makes Due report false from now on: for a loop whose thread runs at
// a real-time priority, which takes its CPU from every ordinary thread, the
// one the runtime would wake to take the P among them.
func (c *Clock) Keep() { c.keep = true }

// Count returns how many waits Due has told to hand off.
func (c *Clock) Count() uint64 { return c.n }
