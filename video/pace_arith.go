package video

import "math/bits"

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
