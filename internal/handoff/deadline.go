package handoff

import (
	"math"
	"time"
)

// epoch is the reference of the deadlines' clock ([Now]): a time.Time
// with the monotonic reading the runtime gives it.
var epoch = time.Now()

// Now is the clock the waits of nmsys and xsk compare the deadlines of
// [DeadlineNanos] with: the nanoseconds of the monotonic clock since the
// package's start, plus 1 (never 0, which means no deadline). A step of
// the system clock (settimeofday, an NTP step) moves neither, as it moves
// neither the deadlines of an os.File nor Go's timers.
func Now() int64 { return mono(time.Now()) }

// mono is t on the clock of [Now]; t should carry a monotonic reading
// (time.Now's does), else its wall clock reading is taken as one.
func mono(t time.Time) int64 { return int64(t.Sub(epoch)) + 1 }

// DeadlineNanos is a wait's deadline t (an os.File-style SetDeadline's) on
// the clock of [Now]: 0 for the zero time (no deadline), a time in the
// past as 1, and one past the last int64 nanosecond of that clock as
// math.MaxInt64. Like an os.File's, t is turned into time from now when
// it is set (t.Sub, by the monotonic readings when t has one): kept as
// Unix nanoseconds, a deadline a millisecond away became an hour away
// when the system clock was stepped back an hour after it was set.
func DeadlineNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	now := time.Now()
	d := t.Sub(now) // saturates at the ends of time.Duration
	n := mono(now)
	switch {
	case d <= 0:
		return 1 // in the past
	case d > time.Duration(math.MaxInt64-n):
		return math.MaxInt64
	}
	return n + int64(d)
}

// Left is the time from now to deadline, a deadline of [DeadlineNanos]
// (on the clock of [Now]), and whether any is left: false once Now has
// reached it. For 0, no deadline, it is the longest time.Duration and
// true, without reading the clock. The waits of nmsys and xsk ask it, not
// time.Now: compared with time.Now().UnixNano(), a deadline (seconds
// since the package's start) was decades past and every wait with one
// gave up at once.
func Left(deadline int64) (time.Duration, bool) {
	if deadline == 0 {
		return math.MaxInt64, true
	}
	left := time.Duration(deadline - Now())
	return left, left > 0
}
