package handoff

import (
	"testing"
	"time"
)

// Deadlines are kept as Unix nanoseconds; time.Time.UnixNano wraps before
// 1678 and after 2262, which made a far-future deadline read as one in
// the past (a wait ended at once) and some long-past ones as future ones
// (a wait that never ended).
func TestDeadlineNanos(t *testing.T) {
	now := time.Now()
	if got := DeadlineNanos(time.Time{}); got != 0 {
		t.Errorf("zero time: %d, want 0 (no deadline)", got)
	}
	if in := now.Add(time.Hour); DeadlineNanos(in) != in.UnixNano() {
		t.Errorf("an hour ahead: %d, want %d", DeadlineNanos(in), in.UnixNano())
	}
	for _, d := range []time.Time{
		time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Unix(1<<62, 0),
	} {
		if got := DeadlineNanos(d); got <= now.UnixNano() {
			t.Errorf("deadline %v: %d, not in the future", d, got)
		}
	}
	for _, d := range []time.Time{
		time.Unix(0, 0),
		time.Unix(0, -1),
		time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Unix(-1<<62, 0),
	} {
		if got := DeadlineNanos(d); got <= 0 || got > now.UnixNano() {
			t.Errorf("deadline %v: %d, want a time in the past (and not 0: no deadline)", d, got)
		}
	}
}
