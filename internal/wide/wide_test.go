package wide

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Int128's sums, quotients, products, comparisons and saturation agree
// with math/big, at the ends of int64 too.
func TestInt128(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ends := []int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}
	pick := func() int64 {
		if r.IntN(3) == 0 {
			return ends[r.IntN(len(ends))]
		}
		return int64(r.Uint64())
	}
	toBig := func(a Int128) *big.Int {
		b := new(big.Int).Lsh(big.NewInt(a.hi), 64)
		return b.Add(b, new(big.Int).SetUint64(a.lo))
	}
	for range 20000 {
		var a, b Int128
		ra, rb := new(big.Int), new(big.Int)
		for range r.IntN(6) {
			v, w := pick(), pick()
			a.Add(v)
			a.Sub(w)
			ra.Add(ra, big.NewInt(v)).Sub(ra, big.NewInt(w))
			b.Add(w)
			rb.Add(rb, big.NewInt(w))
		}
		n := max(1, pick()&math.MaxInt64)
		if r.IntN(2) == 0 {
			n = int64(r.IntN(100) + 1)
		}
		q := a.Quo(n)
		sum := a.Plus(b.Neg())
		want10 := new(big.Int).Mul(new(big.Int).Quo(ra, big.NewInt(n)), big.NewInt(10))
		sat := ra
		if sat.Cmp(big.NewInt(math.MaxInt64)) > 0 {
			sat = big.NewInt(math.MaxInt64)
		} else if sat.Cmp(big.NewInt(math.MinInt64)) < 0 {
			sat = big.NewInt(math.MinInt64)
		}
		switch {
		case toBig(a).Cmp(ra) != 0:
			t.Fatalf("sum %v, want %v", toBig(a), ra)
		case toBig(q).Cmp(new(big.Int).Quo(ra, big.NewInt(n))) != 0:
			t.Fatalf("%v / %d = %v", ra, n, toBig(q))
		case toBig(q.Mul(10)).Cmp(want10) != 0:
			t.Fatalf("10 × (%v / %d) = %v, want %v", ra, n, toBig(q.Mul(10)), want10)
		case toBig(sum).Cmp(new(big.Int).Sub(ra, rb)) != 0:
			t.Fatalf("%v - %v = %v", ra, rb, toBig(sum))
		case a.Less(b) != (ra.Cmp(rb) < 0):
			t.Fatalf("%v < %v: %v", ra, rb, a.Less(b))
		case a.Int64() != sat.Int64():
			t.Fatalf("%v saturated to %d", ra, a.Int64())
		}
	}
}
