package video

import (
	"math"
	"math/bits"
)

// Exact integer helpers of the ST 2110-21 model. The model's times are
// rational (a 59.94 Hz frame is 50050000/3 ns), so they are kept as whole
// grains and converted with 128-bit intermediates rather than float64, which
// has no nanosecond resolution at today's TAI (2^53 ns is 104 days).

// mulDiv returns ⌊a × b / d⌋ and the remainder; ok is false if the quotient
// does not fit in 64 bits.
func mulDiv(a, b, d uint64) (q, r uint64, ok bool) {
	hi, lo := bits.Mul64(a, b)
	if hi >= d {
		return 0, 0, false
	}
	q, r = bits.Div64(hi, lo, d)
	return q, r, true
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// reduce returns a/b in lowest terms.
func reduce(a, b uint64) (uint64, uint64) {
	c := gcd(a, b)
	return a / c, b / c
}

// floorDiv returns ⌊a / b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// int128 is a signed 128-bit integer in two's complement: a sum of int64
// values, or of differences of them, that cannot overflow (2^63 terms of
// up to 2^64 each stay below 2^127).
type int128 struct {
	hi int64
	lo uint64
}

// add adds v.
func (a *int128) add(v int64) {
	var c uint64
	a.lo, c = bits.Add64(a.lo, uint64(v), 0)
	a.hi += int64(c) + v>>63
}

// sub subtracts v.
func (a *int128) sub(v int64) {
	var b uint64
	a.lo, b = bits.Sub64(a.lo, uint64(v), 0)
	a.hi -= int64(b) + v>>63
}

// plus returns a + b.
func (a int128) plus(b int128) int128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	return int128{a.hi + b.hi + int64(c), lo}
}

// neg returns -a (a above the least int128).
func (a int128) neg() int128 {
	lo, b := bits.Sub64(0, a.lo, 0)
	return int128{-a.hi - int64(b), lo}
}

// quo returns a / n truncated towards zero, as Go's integer division, for
// n > 0.
func (a int128) quo(n int64) int128 {
	neg := a.hi < 0
	if neg {
		a = a.neg()
	}
	d := uint64(n)
	hi := uint64(a.hi)
	qh, r := hi/d, hi%d
	ql, _ := bits.Div64(r, a.lo, d) // r < d
	q := int128{int64(qh), ql}
	if neg {
		q = q.neg()
	}
	return q
}

// mul returns a × k, for a product within int128.
func (a int128) mul(k uint64) int128 {
	hi, lo := bits.Mul64(a.lo, k)
	return int128{int64(uint64(a.hi)*k + hi), lo}
}

// less reports whether a < b.
func (a int128) less(b int128) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	return a.lo < b.lo
}

// int64 returns a saturated to int64.
func (a int128) int64() int64 {
	switch {
	case a.hi > 0 || a.hi == 0 && a.lo > math.MaxInt64:
		return math.MaxInt64
	case a.hi < -1 || a.hi == -1 && a.lo < 1<<63:
		return math.MinInt64
	}
	return int64(a.lo)
}
