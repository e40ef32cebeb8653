package handoff

import (
	"math"
	"time"
)

// DeadlineNanos is a wait's deadline t (an os.File-style SetDeadline's) as
// the Unix nanoseconds the waits of nmsys and xsk compare their clock
// with: 0 for the zero time (no deadline), a time in the past as 1, and one
// past the last int64 nanosecond as math.MaxInt64. Compared as times:
// UnixNano wraps before 1678 and after 2262.
func DeadlineNanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(time.Unix(0, 1)):
		return 1 // in the past
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
