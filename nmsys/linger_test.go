package nmsys

import (
	"testing"
	"time"
)

// TestIdlerLingerAfter: an Idler lingers only after a partial batch that
// took packets, for Linger but never more than MaxLinger, and not at all
// without a Linger.
func TestIdlerLingerAfter(t *testing.T) {
	for _, c := range []struct {
		linger time.Duration
		took   int
		full   bool
		want   time.Duration
	}{
		{100 * time.Microsecond, 5, false, 100 * time.Microsecond},
		{100 * time.Microsecond, 512, true, 0}, // a full batch: more may be waiting
		{100 * time.Microsecond, 0, false, 0},  // nothing came: Next waits in poll
		{0, 5, false, 0},
		{-time.Second, 5, false, 0},
		{time.Hour, 5, false, MaxLinger},
	} {
		d := Idler{Linger: c.linger}
		if got := d.lingerAfter(c.took, c.full); got != c.want {
			t.Errorf("Linger %v, took %d, full %v: lingers %v, want %v", c.linger, c.took, c.full, got, c.want)
		}
	}
}

// TestHoldSleep: holdSleep sleeps at least what it is given, not many
// times more, and allocates nothing.
func TestHoldSleep(t *testing.T) {
	const d = 2 * time.Millisecond
	t0 := time.Now()
	holdSleep(d)
	if el := time.Since(t0); el < d || el > 500*d {
		t.Errorf("holdSleep(%v) slept %v", d, el)
	}
	if n := testing.AllocsPerRun(100, func() { holdSleep(time.Microsecond) }); n != 0 {
		t.Errorf("%v allocations a sleep", n)
	}
}
