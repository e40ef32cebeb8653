package rings

import (
	"errors"
	"strconv"
)

// ErrIntegrity is matched (with errors.Is) by every [*IntegrityError]: a
// value read from shared memory that would break the ring's invariants or
// reach outside the mapped region.
var ErrIntegrity = errors.New("rings: shared memory integrity violation")

// Errors returned by the batch methods. They are preallocated: returning
// them costs no allocation.
var (
	// ErrNoSpace: a multi-slot packet needs more slots than remain in the
	// reservation (TxRing.WritePacket).
	ErrNoSpace = errors.New("rings: packet does not fit in the reserved slots")
	// ErrTooLarge: a packet needs more than NETMAP_MAX_FRAGS (64) slots.
	ErrTooLarge = errors.New("rings: packet needs more than 64 fragments")
	// ErrIncomplete: a multi-slot packet continues past the acquired
	// batch (RxRing.ReadPacket); its last fragment has not arrived yet.
	ErrIncomplete = errors.New("rings: packet continues past the acquired slots")
	// ErrOtherRegion: a zero-copy swap between rings that do not share a
	// buffer pool.
	ErrOtherRegion = errors.New("rings: rings do not share a buffer pool")
	// ErrNoBuffers: the extra-buffer list is empty.
	ErrNoBuffers = errors.New("rings: no extra buffers left")
)

// IntegrityError reports a value in shared memory that rings refused to
// use: a tail outside the ring or moving backwards, a buffer index outside
// the pool, a length beyond the buffer, a broken extra-buffer list, or a
// ring header that does not fit the region. errors.Is(err, ErrIntegrity)
// holds for it.
//
// The ring (or pool) that returned it keeps it and may return the same
// pointer again for the same violation, so that a ring stuck in a bad state
// does not allocate on every call; treat it as read-only. It is never
// modified after it is returned, so it may be shared between goroutines.
type IntegrityError struct {
	Dir    string // "tx", "rx", or "extra" for the extra-buffer list
	Ring   int    // ringid from the ring header, -1 if not known
	Slot   int    // slot index, or the buffer index for Dir "extra"; -1 for header fields
	Field  string // netmap's name of the field: "tail", "buf_idx", "len", ...
	Value  int64  // the value found
	Reason string // what is wrong with it
}

func (e *IntegrityError) Error() string {
	b := make([]byte, 0, 96)
	b = append(b, "rings: "...)
	b = append(b, e.Dir...)
	if e.Ring >= 0 {
		b = append(b, " ring "...)
		b = strconv.AppendInt(b, int64(e.Ring), 10)
	}
	if e.Slot >= 0 {
		if e.Dir == dirExtra {
			b = append(b, " buffer "...)
		} else {
			b = append(b, " slot "...)
		}
		b = strconv.AppendInt(b, int64(e.Slot), 10)
	}
	b = append(b, ": "...)
	b = append(b, e.Field...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.Value, 10)
	b = append(b, ' ')
	b = append(b, e.Reason...)
	return string(b)
}

// Is reports whether target is ErrIntegrity.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

const (
	dirTx    = "tx"
	dirRx    = "rx"
	dirExtra = "extra"
)

// Reasons.
const (
	whyRange     = "is out of range"
	whyBackwards = "moved backwards"
	whyBufIdx    = "is outside the buffer pool"
	whyLen       = "exceeds the buffer size"
	whyOrder     = "is not between head and tail"
	whyAlign     = "is not 8-byte aligned"
	whyPast      = "runs past the end of the region"
	whyOverlap   = "puts the buffer pool over the ring"
	whyNoBufs    = "leaves no room for a buffer"
	whyBufSize   = "is not in [64, 65536]"
	whyOffsets   = "is not 0 (slot offsets are not supported)"
	whyFrags     = "chain is longer than NETMAP_MAX_FRAGS"
	whyFillsRing = "chain fills the ring without an end"
	whyLoop      = "appears twice (loop in the list)"
	whyTrunc     = "ends the list early"
	whyTwice     = "is already in the list"
)

// errSink remembers the last integrity error so that a repeated violation
// returns the same value without allocating.
type errSink struct {
	dir  string
	id   int
	last *IntegrityError
}

func (s *errSink) fail(slot int, field, reason string, v int64) error {
	if e := s.last; e != nil && e.Slot == slot && e.Field == field && e.Value == v && e.Reason == reason {
		return e
	}
	e := &IntegrityError{Dir: s.dir, Ring: s.id, Slot: slot, Field: field, Value: v, Reason: reason}
	s.last = e
	return e
}

// hookCheckFailed, when a test sets it, runs first on every path that
// follows a failed check of a value read from shared memory, before
// anything else is read: the test changes the memory there to prove that
// the result rests on the value that failed the check (read once), never
// on a second read. It is nil outside tests and costs nothing on the paths
// that pass their checks.
var hookCheckFailed func()

// checkFailed calls hookCheckFailed, if set.
func checkFailed() {
	if hookCheckFailed != nil {
		hookCheckFailed()
	}
}
