package video

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

// Golden ST 2110-21 constants (st2110.md 3.2 formulas, table in 2.3), 4:2:2
// 10-bit GPM single-line packet counts. By hand, TFRAME in ns:
//
//	59.94:  TFRAME = 1001/60000 s = 50050000/3 ns = 16683333.3; × 1080/1125 = 16016000 exactly
//	50:     TFRAME = 20000000 ns; × 1080/1125 = 19200000
//	1080i59.94: field period 1001/60000 s, the same TFRAME as 1080p59.94
//
//	1080p59.94 N   TRS 16016000/4320 = 3707.41  TRO 43/1125 × 16683333.3 = 637674.07  T_DRAIN 50050000/(3×4320×1.1) = 3510.80
//	               CMAX ⌊4320×60000/(43200×0.96×1001)⌋ = ⌊6.244⌋ = 6   VRX ⌊4320×60000/(27000×1001)⌋ = ⌊9.590⌋ = 9
//	           NL  TRS 16683333.3/4320 = 3861.88   CMAX ⌊4320×60000/(43200×1001)⌋ = ⌊5.994⌋ = 5   VRX 9
//	           W   CMAX max(16, ⌊11.99⌋) = 16       VRX ⌊4320×60000/(300×1001)⌋ = ⌊863.1⌋ = 863
//	1080p50    N   TRS 19200000/4320 = 4444.44  TRO 43/1125 × 2e7 = 764444.4  T_DRAIN 2e7/(4320×1.1) = 4208.75
//	               CMAX ⌊4320/(43200×0.96×0.02)⌋ = ⌊5.208⌋ = 5   VRX ⌊4320/(27000×0.02)⌋ = 8 (exactly 8.0)
//	           NL  TRS 4629.63   CMAX ⌊4320/864⌋ = 5 (exactly 5.0)   VRX 8
//	           W   CMAX max(16, 10) = 16   VRX ⌊4320/6⌋ = 720 (exactly)
//	2160p59.94 N   TRS 16016000/15120 = 1059.26  TRO 637674.07  T_DRAIN 50050000/49896 = 1003.09
//	               CMAX ⌊21.85⌋ = 21   VRX ⌊907200000/27027000⌋ = ⌊33.57⌋ = 33
//	           NL  TRS 1103.40   CMAX ⌊907200000/43243200⌋ = ⌊20.98⌋ = 20
//	           W   CMAX ⌊41.96⌋ = 41   VRX ⌊3020.98⌋ = 3020
//	1080i59.94 N   TRS 16016000/2160 = 7414.81  TRO 22/1125 × 2 × 16683333.3 = 652503.70  T_DRAIN 7021.60
//	               CMAX max(4, ⌊3.12⌋) = 4   VRX max(8, ⌊4.795⌋) = 8
//	           NL  TRS 7723.77   CMAX max(4, ⌊2.997⌋) = 4   VRX 8
//	           W   CMAX 16   VRX max(720, ⌊431.6⌋) = 720
//
// They agree with st2110.md's table (TRS 3.707/4.444/1.059/7.415 µs, TRO
// 637.7/764.4/637.7/652.5 µs, CMAX N/W 6/16, 5/16, 21/41, 4/16, VRX_FULL
// 9/863, 8/720, 33/3020, 8/720) and with EBU LIST's oracle for the eemebe
// 1080i59.94 capture (TRS 7414.8 ns, TRO_DEFAULT 652504 ns).
var paramsGolden = []struct {
	name   string
	timing Timing
	sender Sender
	ra     [2]int
	tframe time.Duration
	trs    time.Duration
	tro    time.Duration
	drain  time.Duration
	cmax   int
	vrx    int
}{
	{"1080p59.94", t1080p59, SenderNarrow, [2]int{1080, 1125}, 16683333, 3707, 637674, 3511, 6, 9},
	{"1080p59.94", t1080p59, SenderNarrowLinear, [2]int{1, 1}, 16683333, 3862, 637674, 3511, 5, 9},
	{"1080p59.94", t1080p59, SenderWide, [2]int{1080, 1125}, 16683333, 3707, 637674, 3511, 16, 863},
	{"1080p50", t1080p50, SenderNarrow, [2]int{1080, 1125}, 20000000, 4444, 764444, 4209, 5, 8},
	{"1080p50", t1080p50, SenderNarrowLinear, [2]int{1, 1}, 20000000, 4630, 764444, 4209, 5, 8},
	{"1080p50", t1080p50, SenderWide, [2]int{1080, 1125}, 20000000, 4444, 764444, 4209, 16, 720},
	{"2160p59.94", t2160p59, SenderNarrow, [2]int{1080, 1125}, 16683333, 1059, 637674, 1003, 21, 33},
	{"2160p59.94", t2160p59, SenderNarrowLinear, [2]int{1, 1}, 16683333, 1103, 637674, 1003, 20, 33},
	{"2160p59.94", t2160p59, SenderWide, [2]int{1080, 1125}, 16683333, 1059, 637674, 1003, 41, 3020},
	{"1080i59.94", t1080i59, SenderNarrow, [2]int{1080, 1125}, 16683333, 7415, 652504, 7022, 4, 8},
	{"1080i59.94", t1080i59, SenderNarrowLinear, [2]int{1, 1}, 16683333, 7724, 652504, 7022, 4, 8},
	{"1080i59.94", t1080i59, SenderWide, [2]int{1080, 1125}, 16683333, 7415, 652504, 7022, 16, 720},
}

var (
	t1080p59 = Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080, Packets: 4320}
	t1080p50 = Timing{Rate: Rate50, Scan: Progressive, Height: 1080, Packets: 4320}
	t2160p59 = Timing{Rate: Rate59_94, Scan: Progressive, Height: 2160, Packets: 15120}
	t1080i59 = Timing{Rate: Rate29_97, Scan: Interlaced, Height: 1080, Packets: 2160}
)

func TestParamsGolden(t *testing.T) {
	for _, c := range paramsGolden {
		p, err := c.timing.Params(c.sender)
		if err != nil {
			t.Fatalf("%s %v: %v", c.name, c.sender, err)
		}
		got := [...]any{p.Sender, p.Packets, p.RActive, p.TFrame, p.TRS, p.TROffset, p.TDrain, p.CMax, p.VRXFull}
		want := [...]any{c.sender, c.timing.Packets, c.ra, c.tframe, c.trs, c.tro, c.drain, c.cmax, c.vrx}
		if got != want {
			t.Errorf("%s %v:\n got %v\nwant %v", c.name, c.sender, got, want)
		}
	}
}

// TestGridExact checks the grid against the formulas in exact rationals:
// every constant in grains times the grain equals the formula's value.
func TestGridExact(t *testing.T) {
	timings := []Timing{t1080p59, t1080p50, t2160p59, t1080i59,
		{Rate: Rate25, Scan: Interlaced, Height: 576, Packets: 1080},
		{Rate: Rate29_97, Scan: Interlaced, Height: 486, Packets: 1080},
		{Rate: Rate59_94, Scan: Progressive, Height: 720, Packets: 2160},
		{Rate: Rate23_98, Scan: PsF, Height: 1080, Packets: 2058},
		{Rate: Rate{120000, 1001}, Scan: Progressive, Height: 4320, Packets: 60480},
	}
	for _, tm := range timings {
		g, err := tm.grid()
		if err != nil {
			t.Fatal(err)
		}
		ra, tro, _ := rasterConstants(tm.Scan, tm.Height)
		fields := int64(tm.Scan.Fields())
		tframe := big.NewRat(1e9*int64(tm.Rate.Den), int64(tm.Rate.Num)*fields) // ns
		grain := new(big.Rat).Quo(tframe, big.NewRat(g.f, 1))
		if pp := big.NewRat(int64(g.pp), int64(g.s)); pp.Cmp(grain) != 0 {
			t.Errorf("%+v: grain %v, pp/s %v", tm, grain, pp)
		}
		check := func(name string, grains int64, want *big.Rat) {
			got := new(big.Rat).Mul(grain, big.NewRat(grains, 1))
			if got.Cmp(want) != 0 {
				t.Errorf("%+v: %s = %v ns, want %v", tm, name, got.FloatString(3), want.FloatString(3))
			}
		}
		npkt := big.NewRat(int64(tm.Packets), 1)
		mul := func(xs ...*big.Rat) *big.Rat {
			r := big.NewRat(1, 1)
			for _, x := range xs {
				r.Mul(r, x)
			}
			return r
		}
		inv := func(x *big.Rat) *big.Rat { return new(big.Rat).Inv(x) }
		check("TRS gapped", g.trsG, mul(tframe, big.NewRat(int64(ra[0]), int64(ra[1])), inv(npkt)))
		check("TRS linear", g.trsL, mul(tframe, inv(npkt)))
		check("TRO", g.tro, mul(tframe, big.NewRat(int64(tro[0])*fields, int64(tro[1]))))
		check("T_DRAIN", g.drain, mul(tframe, inv(npkt), big.NewRat(10, 11)))
	}
}

func TestTimingErrors(t *testing.T) {
	for _, c := range []struct {
		t    Timing
		s    Sender
		want string
	}{
		{Timing{Scan: Progressive, Height: 1080, Packets: 4320}, SenderNarrow, "rate"},
		{Timing{Rate: Rate{5000, 1}, Scan: Progressive, Height: 1080, Packets: 4320}, SenderNarrow, "rate"},
		{Timing{Rate: Rate50, Height: 1080, Packets: 4320}, SenderNarrow, "scan"},
		{Timing{Rate: Rate50, Scan: Progressive, Packets: 4320}, SenderNarrow, "height"},
		{Timing{Rate: Rate50, Scan: Progressive, Height: 1080}, SenderNarrow, "packets"},
		{Timing{Rate: Rate50, Scan: Progressive, Height: 1080, Packets: maxPackets + 1}, SenderNarrow, "packets"},
		{Timing{Rate: Rate25, Scan: Interlaced, Height: 2160, Packets: 4320}, SenderNarrow, "2160-line interlaced"},
		{Timing{Rate: Rate50, Scan: Progressive, Height: 1080, Packets: 4320, TROffset: -1}, SenderNarrow, "TROffset"},
		{Timing{Rate: Rate50, Scan: Progressive, Height: 1080, Packets: 4320, TROffset: time.Second}, SenderNarrow, "TROffset"},
		{t1080p50, 0, "sender"},
		{t1080p50, SenderWide + 1, "sender"},
	} {
		_, err := c.t.Params(c.s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v %v: error %v, want one about %q", c.t, c.s, err, c.want)
		}
	}
}

func TestTimingTROffset(t *testing.T) {
	tm := t1080p59
	tm.TROffset = 500 * time.Microsecond
	p, err := tm.Params(SenderNarrow)
	if err != nil {
		t.Fatal(err)
	}
	if p.TROffset != 500*time.Microsecond {
		t.Errorf("TROffset %v, want 500µs", p.TROffset)
	}
}

func TestParseSender(t *testing.T) {
	for in, want := range map[string]Sender{
		"2110TPN": SenderNarrow, "2110TPNL": SenderNarrowLinear, "2110TPW": SenderWide,
		"n": SenderNarrow, "NL": SenderNarrowLinear, "w": SenderWide,
	} {
		if got, err := ParseSender(in); got != want || err != nil {
			t.Errorf("ParseSender(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, s := range []Sender{SenderNarrow, SenderNarrowLinear, SenderWide} {
		if got, err := ParseSender(s.String()); got != s || err != nil {
			t.Errorf("ParseSender(%q) = %v, %v", s.String(), got, err)
		}
	}
	for _, in := range []string{"", "2110TP", "TPN", "narrow"} {
		if _, err := ParseSender(in); err == nil {
			t.Errorf("ParseSender(%q): no error", in)
		}
	}
}

// TestGridSplit checks split and time against exact rationals around
// today's TAI, where float64 has no nanosecond resolution.
func TestGridSplit(t *testing.T) {
	for _, tm := range []Timing{t1080p59, t1080i59, t1080p50, {Rate: Rate23_98, Scan: PsF, Height: 1080, Packets: 2058}} {
		g, err := tm.grid()
		if err != nil {
			t.Fatal(err)
		}
		tframe := big.NewRat(1e9*int64(tm.Rate.Den), int64(tm.Rate.Num)*int64(tm.Scan.Fields()))
		grain := new(big.Rat).Quo(tframe, big.NewRat(g.f, 1))
		for _, at := range []int64{0, 1, taiNow, taiNow + 1, taiNow + 16683333, taiNow + 16683334, -1, -16683334} {
			n, gr := g.split(at)
			// N × TFRAME + gr grains ≤ at < N × TFRAME + (gr+1) grains
			lo := new(big.Rat).Add(new(big.Rat).Mul(tframe, big.NewRat(n, 1)), new(big.Rat).Mul(grain, big.NewRat(gr, 1)))
			hi := new(big.Rat).Add(lo, grain)
			x := big.NewRat(at, 1)
			if lo.Cmp(x) > 0 || hi.Cmp(x) <= 0 || gr < 0 || gr >= g.f {
				t.Errorf("%+v: split(%d) = %d, %d", tm, at, n, gr)
			}
			if n < 0 {
				continue
			}
			// time rounds up: time(n, gr) - 1 < lo ≤ time(n, gr)
			back := g.time(n, gr)
			if big.NewRat(back, 1).Cmp(lo) < 0 || big.NewRat(back-1, 1).Cmp(lo) >= 0 {
				t.Errorf("%+v: time(%d, %d) = %d, want ⌈%v⌉", tm, n, gr, back, lo.FloatString(3))
			}
		}
	}
}

// taiNow is a TAI time in 2026, in nanoseconds since the PTP epoch.
const taiNow = 1_780_000_000_123_456_789
