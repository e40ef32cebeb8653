package main

import (
	"sync/atomic"
)

// budget is the -n of receivers on several rings: each claims up to a
// batch before it acquires, and gives back what it did not receive, so
// that together they take exactly the count, however the packets spread.
type budget struct {
	left, got atomic.Int64
	total     int64
}

func newBudget(n uint64) *budget {
	b := &budget{total: int64(n)}
	b.left.Store(b.total)
	return b
}

// claim takes up to want packets of the budget and returns how many.
func (b *budget) claim(want int) int {
	for {
		l := b.left.Load()
		if l <= 0 {
			return 0
		}
		k := min(int64(want), l)
		if b.left.CompareAndSwap(l, l-k) {
			return int(k)
		}
	}
}

// settle returns the unused part of a claim and counts what was received.
func (b *budget) settle(claimed, used int) {
	if claimed > used {
		b.left.Add(int64(claimed - used))
	}
	b.got.Add(int64(used))
}

// done reports whether the whole count has been received.
func (b *budget) done() bool { return b.got.Load() >= b.total }
