package video

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
)

// DefaultMemory is the limit of the budget a [Receiver] gets when its
// config names none: 1 GiB.
const DefaultMemory = 1 << 30

// ErrBudget is matched (with errors.Is) by every [*BudgetError].
var ErrBudget = errors.New("video: over the memory budget")

// A Budget is a memory limit that allocations sized by outside data (a
// format's frame size, the streams of an SDP, a file) are charged against
// before they are made, so that no input can make a program reserve more
// than its user allows: a charge that does not fit is refused with a
// [*BudgetError] and nothing is allocated.
//
// A Budget may be shared by several receivers (and by the caller's own
// allocations) and is safe for concurrent use. A [Receiver] or [Merge]
// keeps its charge for its life (it has no Close). To give it back when
// dropping one, make it with a ledger of the shared budget
// ([Budget.Ledger]) as its config's Budget, and call [Budget.Unwind] on
// the ledger once nothing refers to it any more, as st2110's Receiver and
// Sender do at Close. No function gives what a Receiver of several
// streams or a path of a Merge charges ([ReceiverMemory] is that of one
// stream with its own frame buffer), nor what a Merge charges, so a sum
// passed to [Budget.Release] would be a guess: Release is for the
// caller's own charges.
type Budget struct {
	limit  int64
	used   atomic.Int64 // of a ledger: the octets charged through it
	parent *Budget      // of a ledger (Budget.Ledger): the budget it charges
}

// NewBudget returns a budget of limit octets; limit must be positive, and
// at most math.MaxInt: a 32-bit program cannot hold more than 2 GiB, and
// every charge then fits an int, as the allocation it pays for must.
func NewBudget(limit int64) (*Budget, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("video: memory budget of %d octets", limit)
	}
	if limit > math.MaxInt {
		return nil, fmt.Errorf("video: memory budget of %d octets is more than a %d-bit program can hold (%d)", limit, strconv.IntSize, math.MaxInt)
	}
	return &Budget{limit: limit}, nil
}

// Ledger returns a budget that charges b and records what was charged
// through it, for a constructor that makes several charges (its own and
// those of the parts it makes, such as a [Receiver]) to give them all back
// with [Budget.Unwind] if it fails part way, or when what it made is
// closed. Its Limit and Used are b's.
// b must not be nil: the ledger of a nil Budget charges no budget; it is
// one of limit 0, which refuses any charge of an octet or more. (A
// config's nil Budget stands for a default one that the config's user
// makes; it is not a *Budget to take a ledger of.)
func (b *Budget) Ledger() *Budget { return &Budget{parent: b} }

// Unwind releases to the budget it charges what was charged through the
// ledger b and not released; it does nothing on a budget not made by
// [Budget.Ledger]. It never charges: if more was released through the
// ledger than was charged through it (a misuse: the surplus was given back
// to the budget all the same), Unwind gives back nothing.
func (b *Budget) Unwind() {
	if b.parent == nil {
		return
	}
	if n := b.used.Swap(0); n > 0 {
		b.parent.Release(n)
	}
}

// Limit returns the budget's limit in octets.
func (b *Budget) Limit() int64 {
	if b.parent != nil {
		return b.parent.Limit()
	}
	return b.limit
}

// Used returns the octets charged and not released.
func (b *Budget) Used() int64 {
	if b.parent != nil {
		return b.parent.Used()
	}
	return b.used.Load()
}

// Charge takes n octets for what (a phrase naming the flow and the use,
// such as "stream 2 (UDP port 5006): frame buffer") or returns a
// [*BudgetError] naming it if they do not fit; n < 0 is refused too.
func (b *Budget) Charge(what string, n int64) error {
	if b.parent != nil {
		if err := b.parent.Charge(what, n); err != nil {
			return err
		}
		b.used.Add(n)
		return nil
	}
	for {
		used := b.used.Load()
		if n < 0 || n > b.limit-used {
			return &BudgetError{What: what, Size: n, Used: used, Limit: b.limit}
		}
		if b.used.CompareAndSwap(used, used+n) {
			return nil
		}
	}
}

// Release gives back n octets of earlier charges.
func (b *Budget) Release(n int64) {
	if b.parent != nil {
		b.parent.Release(n)
	}
	b.used.Add(-n)
}

// BudgetError is a charge that a [Budget] refused.
type BudgetError struct {
	What  string // what the memory was for, naming the flow
	Size  int64  // octets asked for
	Used  int64  // octets charged before
	Limit int64  // the budget's limit
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("video: %s: %d octets do not fit the memory budget (%d of %d octets in use)",
		e.What, e.Size, e.Used, e.Limit)
}

// Is reports whether target is [ErrBudget].
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }
