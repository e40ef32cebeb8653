package handoff

import (
	"math"
	"testing"
	"time"
)

// testStart is the test binary's start, as near as a test sees it: the
// package's variables (epoch) are initialised before the tests' files'.
var testStart = time.Now()

// A deadline is kept as time from now on the monotonic clock of Now, as
// an os.File's is: kept as Unix nanoseconds (compared with
// time.Now().UnixNano()), a deadline a millisecond away became an hour
// away when the system clock was stepped back an hour after it was set,
// and a WaitTx that should have given up after a slice waited that hour.
// A step of the system clock cannot be made in a test; what makes it
// harmless can be checked: the deadline is Now's time plus its distance
// from time.Now (t.Sub), and no Unix time.
func TestDeadlineNanos(t *testing.T) {
	if got := DeadlineNanos(time.Time{}); got != 0 {
		t.Errorf("zero time: %d, want 0 (no deadline)", got)
	}
	for _, d := range []time.Duration{time.Millisecond, time.Hour} {
		lo := Now() + int64(d)
		got := DeadlineNanos(time.Now().Add(d))
		hi := Now() + int64(d)
		if got < lo || got > hi {
			t.Errorf("%v ahead: %d, want Now()+%v, in [%d, %d]", d, got, d, lo, hi)
		}
	}
	// A time without a monotonic reading (from a file, the wire, or
	// Round(0)) counts by its wall clock reading, as os.File's deadlines do.
	lo := Now() + int64(time.Minute) - int64(time.Millisecond) // the wall clock reading's rounding
	got := DeadlineNanos(time.Now().Add(time.Minute).Round(0))
	if hi := Now() + int64(time.Minute) + int64(time.Millisecond); got < lo || got > hi {
		t.Errorf("a minute ahead, no monotonic reading: %d, want about Now()+1m, in [%d, %d]", got, lo, hi)
	}

	// Now counts from the package's start on the monotonic clock, not
	// from the Unix epoch on the system's: it runs from about the test
	// binary's start (testStart, initialised just after epoch).
	// (The time since testStart is read first: read after Now, it can be
	// the later by more than epoch's lead, and once was, by 8 ns.)
	since := int64(time.Since(testStart))
	now := Now()
	if now <= 0 || now < since || now > since+int64(time.Second) {
		t.Errorf("Now: %d, want above 0 (0 is no deadline) and about the %d ns since the test binary started", now, since)
	}
	for _, d := range []time.Time{
		time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Unix(1<<62, 0),
	} {
		if got := DeadlineNanos(d); got <= now {
			t.Errorf("deadline %v: %d, not in the future", d, got)
		}
	}
	if got := DeadlineNanos(time.Unix(1<<62, 0)); got != math.MaxInt64 {
		t.Errorf("deadline past the clock's last nanosecond: %d, want math.MaxInt64", got)
	}
	for _, d := range []time.Time{
		time.Now().Add(-time.Nanosecond),
		time.Unix(0, 0),
		time.Unix(0, -1),
		time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Unix(-1<<62, 0),
	} {
		if got := DeadlineNanos(d); got != 1 {
			t.Errorf("deadline %v: %d, want 1, a time in the past (and not 0: no deadline)", d, got)
		}
	}
}

// TestLeft: the time left to a deadline of DeadlineNanos is counted on
// Now's clock, the deadline's own. Counted against time.Now().UnixNano()
// (the Unix nanoseconds db776cb moved the deadlines off), a deadline an
// hour away was decades past, and every wait of nmsys and xsk with a
// deadline gave up at once. 0 is no deadline: the longest wait, never
// past.
func TestLeft(t *testing.T) {
	if left, ok := Left(0); !ok || left != math.MaxInt64 {
		t.Errorf("no deadline (0): %v, %v, want %v, true", left, ok, time.Duration(math.MaxInt64))
	}
	for _, d := range []time.Duration{time.Second, time.Hour} {
		left, ok := Left(DeadlineNanos(time.Now().Add(d)))
		if !ok || left > d || left < d-time.Second {
			t.Errorf("a deadline %v away: %v, %v, want about %v, true", d, left, ok, d)
		}
	}
	if left, ok := Left(math.MaxInt64); !ok || left < time.Duration(math.MaxInt64/2) {
		t.Errorf("the clock's last nanosecond: %v, %v, want some centuries, true", left, ok)
	}
	for _, d := range []int64{
		DeadlineNanos(time.Now().Add(-time.Second)),
		DeadlineNanos(time.Now().Add(-time.Nanosecond)),
		Now(), // reached
		1,     // DeadlineNanos's past
	} {
		if left, ok := Left(d); ok || left > 0 {
			t.Errorf("deadline %d, now %d: %v, %v, want none left, false", d, Now(), left, ok)
		}
	}
}
