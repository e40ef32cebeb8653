package xsk

import (
	"errors"
	"os"
	"strconv"
)

// ErrClosed is returned by operations on a closed [Socket], and by a wait
// that Close interrupted. errors.Is(err, os.ErrClosed) holds for it.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string        { return "xsk: socket closed" }
func (closedError) Is(target error) bool { return target == os.ErrClosed }

// ErrNotSupported is matched by the error of [Open] on a system without
// AF_XDP (any OS but Linux), by a zero-copy bind the driver refuses (with
// errors.Is(err, unix.EOPNOTSUPP) too), and by a Config.TxBudget the
// kernel cannot set (before Linux 6.17, with unix.ENOPROTOOPT).
var ErrNotSupported = errors.New("xsk: not supported")

// ErrIntegrity is matched (with errors.Is) by every [*IntegrityError]: a
// value the kernel wrote into a ring that would break the ring's rules or
// point outside the UMEM.
var ErrIntegrity = errors.New("xsk: shared memory integrity violation")

// IntegrityError reports a value in a shared ring that xsk refused to use:
// a producer or consumer index that moved backwards or more than the ring
// size, a descriptor whose address or length falls outside the UMEM or its
// frame, or a frame handed back that the kernel was not lent. errors.Is(err,
// ErrIntegrity) holds for it.
//
// A queue keeps the last IntegrityError it returned and returns the same
// pointer for a repeat of the same violation, so that a ring stuck in a bad
// state does not allocate on every call; treat it as read-only.
type IntegrityError struct {
	Ring   string // "rx", "fill", "tx" or "completion"
	Index  int64  // ring position of the descriptor, -1 for an index field
	Field  string // "producer", "consumer", "addr", "len", "offsets", ...
	Value  uint64 // the value found
	Reason string // what is wrong with it
}

func (e *IntegrityError) Error() string {
	b := make([]byte, 0, 96)
	b = append(b, "xsk: "...)
	b = append(b, e.Ring...)
	b = append(b, " ring"...)
	if e.Index >= 0 {
		b = append(b, " entry "...)
		b = strconv.AppendInt(b, e.Index, 10)
	}
	b = append(b, ": "...)
	b = append(b, e.Field...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, e.Value, 10)
	b = append(b, ' ')
	b = append(b, e.Reason...)
	return string(b)
}

// Is reports whether target is ErrIntegrity.
func (e *IntegrityError) Is(target error) bool { return target == ErrIntegrity }

// Reasons.
const (
	whyAhead     = "is more than the ring size ahead of the consumer"
	whyBackwards = "moved backwards"
	whyBehind    = "is behind the consumer or more than the ring size behind the producer"
	whyOutside   = "is outside the UMEM"
	whyCrosses   = "runs past the end of its frame"
	whyNotLent   = "names a frame the kernel does not hold for this ring"
	whyNotBase   = "is not the start of a frame"
	whySize      = "is not a power of two in [1, 1<<24]"
	whyMapping   = "runs past the end of the ring mapping"
	whyAlign     = "is not aligned"
	whyGeometry  = "does not describe a usable UMEM"
)

// errSink remembers the last integrity error so that a repeated violation
// returns the same value without allocating.
type errSink struct {
	ring string
	last *IntegrityError
}

func (s *errSink) fail(index int64, field, reason string, v uint64) error {
	if hookCheckFailed != nil {
		hookCheckFailed()
	}
	if e := s.last; e != nil && e.Index == index && e.Field == field && e.Value == v && e.Reason == reason {
		return e
	}
	e := &IntegrityError{Ring: s.ring, Index: index, Field: field, Value: v, Reason: reason}
	s.last = e
	return e
}

// hookCheckFailed, when a test sets it, runs first whenever a value read
// from a ring fails its check: the test sets the socket's closed flag
// there, as a Close that swapped the placeholder mappings in between a
// queue method's look at the flag and its read of the ring would have. It
// is nil outside tests and costs nothing on the paths that pass their
// checks.
var hookCheckFailed func()

// hookQueue, when a test sets it, runs at the named points of Reserve and
// Acquire, where the test plays a Close that sets the closed flag and
// swaps in the placeholder mappings. It is nil outside tests.
var hookQueue func(at int)

const (
	hookBeforeReclaim  = iota // Reserve, after its look at the flag
	hookAfterAvailable        // Acquire, after it read the RX producer
)
