// Package wide is a signed 128-bit integer for exact sums of int64 values
// and of their differences: video's analyzer and merge (gaps, offsets,
// skews), st2110's latency. Std only; the methods are small enough to
// inline on video's per-packet path.
package wide

import (
	"math"
	"math/bits"
)

// Int128 is a signed 128-bit integer in two's complement: a sum of int64
// values, or of differences of them, that cannot overflow (2^63 terms of
// up to 2^64 each stay below 2^127). The zero Int128 is 0.
type Int128 struct {
	hi int64
	lo uint64
}

// Add adds v.
func (a *Int128) Add(v int64) {
	var c uint64
	a.lo, c = bits.Add64(a.lo, uint64(v), 0)
	a.hi += int64(c) + v>>63
}

// Sub subtracts v.
func (a *Int128) Sub(v int64) {
	var b uint64
	a.lo, b = bits.Sub64(a.lo, uint64(v), 0)
	a.hi -= int64(b) + v>>63
}

// Plus returns a + b.
func (a Int128) Plus(b Int128) Int128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	return Int128{a.hi + b.hi + int64(c), lo}
}

// Neg returns -a (a above the least Int128).
func (a Int128) Neg() Int128 {
	lo, b := bits.Sub64(0, a.lo, 0)
	return Int128{-a.hi - int64(b), lo}
}

// Quo returns a / n truncated towards zero, as Go's integer division, for
// n > 0.
func (a Int128) Quo(n int64) Int128 {
	neg := a.hi < 0
	if neg {
		a = a.Neg()
	}
	d := uint64(n)
	hi := uint64(a.hi)
	qh, r := hi/d, hi%d
	ql, _ := bits.Div64(r, a.lo, d) // r < d
	q := Int128{int64(qh), ql}
	if neg {
		q = q.Neg()
	}
	return q
}

// Mul returns a × k, for a product within Int128.
func (a Int128) Mul(k uint64) Int128 {
	hi, lo := bits.Mul64(a.lo, k)
	return Int128{int64(uint64(a.hi)*k + hi), lo}
}

// Less reports whether a < b.
func (a Int128) Less(b Int128) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	return a.lo < b.lo
}

// Int64 returns a saturated to int64.
func (a Int128) Int64() int64 {
	switch {
	case a.hi > 0 || a.hi == 0 && a.lo > math.MaxInt64:
		return math.MaxInt64
	case a.hi < -1 || a.hi == -1 && a.lo < 1<<63:
		return math.MinInt64
	}
	return int64(a.lo)
}
