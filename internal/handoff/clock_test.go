package handoff

import (
	"testing"
	"time"
)

// TestClock: the first wait hands off, then one a little after each Every
// on the caller's clock and none between; a clock stepped back before
// the last hand-off hands off at once and starts the cadence again from
// there; a Clock told to Keep never hands off.
func TestClock(t *testing.T) {
	var c Clock
	now := int64(5 * time.Second)
	if !c.Due(now) {
		t.Fatal("the first wait did not hand off")
	}
	for _, d := range []time.Duration{0, time.Microsecond, Every / 2, Every - 1} {
		if c.Due(now + int64(d)) {
			t.Errorf("a wait %v after a hand-off handed off", d)
		}
	}
	if !c.Due(now + int64(Every)) {
		t.Errorf("a wait %v after a hand-off kept the P", Every)
	}
	now += int64(Every)
	back := now - int64(time.Hour)
	if !c.Due(back) {
		t.Error("a wait an hour before the last hand-off (a clock stepped back) kept the P")
	}
	if c.Due(back + int64(Every/2)) {
		t.Error("after a step back, the cadence did not start again from the new time")
	}
	if n := c.Count(); n != 3 {
		t.Errorf("Count %d, want 3", n)
	}
	// The first wait hands off whatever its time, 0 and the rest of the
	// first Every included (a receiver whose clock has not yet given a
	// time passes 0).
	for _, first := range []int64{0, 1, int64(Every) - 1, -1} {
		var z Clock
		if !z.Due(first) {
			t.Errorf("a zero Clock's first wait at %d kept the P", first)
		}
		if z.Due(first + int64(Every/2)) {
			t.Errorf("a zero Clock's second wait, half an Every after its first at %d, handed off", first)
		}
	}
	var k Clock
	k.Keep()
	if k.Due(now) || k.Due(now+int64(time.Hour)) || k.Count() != 0 {
		t.Error("a Clock told to Keep handed off")
	}
}
