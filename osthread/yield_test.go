package osthread

import (
	"runtime"
	"testing"
	"time"
)

// TestYielder checks that a Yielder reads the clock once every YieldCheck
// passes, or sooner once YieldBytes have gone by, and yields at most once
// per YieldEvery.
func TestYielder(t *testing.T) {
	runtime.LockOSThread() // as in the loops; the yielder unlocks and relocks
	defer runtime.UnlockOSThread()
	var y Yielder
	for range YieldCheck - 1 {
		y.Pass(YieldBytes / YieldCheck)
	}
	if !y.LastYield().IsZero() {
		t.Fatalf("yielded after %d passes of %d bytes", YieldCheck-1, YieldBytes/YieldCheck)
	}
	y.Pass(0)
	first := y.LastYield()
	if first.IsZero() {
		t.Fatalf("no yield after %d passes", YieldCheck)
	}
	for range YieldCheck {
		y.Pass(YieldBytes)
	}
	if y.LastYield() != first && time.Since(first) < YieldEvery {
		t.Fatalf("yielded again within %v", YieldEvery)
	}
	time.Sleep(YieldEvery + time.Millisecond)
	y.Pass(YieldBytes)
	second := y.LastYield()
	if !second.After(first) {
		t.Fatalf("no yield after one pass of %d bytes, %v after the last yield", YieldBytes, YieldEvery+time.Millisecond)
	}
	time.Sleep(YieldEvery + time.Millisecond)
	for range YieldCheck - 1 {
		y.Pass(1)
	}
	if y.LastYield() != second {
		t.Fatalf("yielded after %d passes of 1 byte", YieldCheck-1)
	}
	y.Pass(1)
	if !y.LastYield().After(second) {
		t.Fatalf("no yield after %d passes", YieldCheck)
	}
}

func TestYielderAllocs(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var y Yielder
	if n := testing.AllocsPerRun(1000, func() { y.Pass(YieldBytes) }); n != 0 {
		t.Fatalf("Pass allocates %v times", n)
	}
}

// TestYielderDue: Due counts passes as Pass does and reports a yield due
// at the same passes; having reported it, it counts it as made.
func TestYielderDue(t *testing.T) {
	var y Yielder
	for range YieldCheck - 1 {
		if y.Due(1) {
			t.Fatalf("a yield due after fewer than %d passes", YieldCheck)
		}
	}
	if !y.Due(1) {
		t.Fatalf("no yield due after %d passes", YieldCheck)
	}
	if y.LastYield().IsZero() {
		t.Fatal("the yield Due reported is not counted as made")
	}
	if first := y.LastYield(); y.Due(YieldBytes) && time.Since(first) < YieldEvery {
		t.Fatalf("a yield due again within %v", YieldEvery)
	}
	runtime.LockOSThread()
	y.Yield()
	runtime.UnlockOSThread()
}
