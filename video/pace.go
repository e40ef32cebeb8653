package video

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"
)

// This file holds the ST 2110-21 timing model as pure computation: TFRAME,
// RACTIVE, TRS, TRO_DEFAULT, T_DRAIN, CMAX and VRX_FULL as ST 2110-21
// defines them and EBU LIST (d21/settings.cpp) and MTL (tv_init_pacing)
// compute them, exact to the last grain. The
// pacer (pacer.go) and the analyser (analyzer.go) share its grid.

// ParseSender parses an ST 2110-21 sender type: the SDP spelling of fmtp TP
// ("2110TPN", "2110TPNL", "2110TPW") or the short name ("N", "NL", "W"), in
// any case.
func ParseSender(s string) (Sender, error) {
	switch strings.ToUpper(s) {
	case "2110TPN", "N":
		return SenderNarrow, nil
	case "2110TPNL", "NL":
		return SenderNarrowLinear, nil
	case "2110TPW", "W":
		return SenderWide, nil
	}
	return 0, fmt.Errorf("video: unknown sender type %q (want 2110TPN, 2110TPNL or 2110TPW)", s)
}

// Timing is what the ST 2110-21 timing model needs to know about a stream.
// The zero value is invalid.
type Timing struct {
	// Rate is the picture rate as in [Format.Rate]: the frame rate, so
	// 30000/1001 for 1080i59.94. For interlaced video and PsF the model's
	// TFRAME is the field (segment) period, half the picture period.
	Rate Rate
	Scan Scan
	// Height is the lines of the whole picture as in [Format.Height] (1080
	// for 1080i). It picks RACTIVE and TRO_DEFAULT.
	Height int
	// Packets is NPACKETS: the packets of one RTP frame, that is of one
	// picture when progressive and of one field (segment) otherwise, as
	// [Packetizer.PacketsPerField] counts them. An [Analyzer] given zero
	// counts them in the first whole frame of the stream.
	Packets int
	// TROffset replaces TRO_DEFAULT, as SDP's TROFF does (ST 2110-21
	// §8.2); zero means TRO_DEFAULT. (Readers differ on the unit of TROFF
	// in SDP, microseconds for sdpoker: converting it is the SDP reader's
	// business.)
	TROffset time.Duration
}

// Params are the ST 2110-21 constants of one stream and sender type,
// computed by [Timing.Params] with the formulas of ST 2110-21 (listed there).
// The durations are rounded to the nanosecond for display; the [Pacer] and
// the [Analyzer] work on the exact values.
type Params struct {
	Sender  Sender
	Packets int // NPACKETS per frame, or per field when interlaced or PsF

	// RActive is RACTIVE, RActive[0]/RActive[1]: the share of TFRAME the
	// packets are read in. 1080/1125 etc. for the gapped schedules of N
	// and W, 1/1 for the linear schedule of NL.
	RActive [2]int

	TFrame   time.Duration // TFRAME: frame period, or field period when interlaced or PsF
	TRS      time.Duration // TFRAME × RACTIVE / NPACKETS: spacing of the ideal read schedule
	TROffset time.Duration // TRO_DEFAULT, or Timing.TROffset: first read after the frame's alignment point
	TDrain   time.Duration // (TFRAME / NPACKETS) / β, β = 1.1: drain period of the Cinst bucket

	CMax    int // limit of Cinst, the network compatibility model
	VRXFull int // limit of VRX, the virtual receiver buffer

	g grid
}

// Limits of the grid: they keep every product of the hot paths inside 64 bits.
const (
	maxPackets = 1 << 20 // NPACKETS
	maxRate    = 1000    // pictures per second
)

// grid is the exact arithmetic of the model. A grain is TFRAME/f, chosen so
// that TRS (gapped and linear), TRO_DEFAULT and the drain period are whole
// grains: with f = NPACKETS × RACTIVE's denominator × TRO's denominator × 11,
//
//	TRS gapped = RACTIVE's numerator × TRO's denominator × 11
//	TRS linear = RACTIVE's denominator × TRO's denominator × 11
//	TRO        = NPACKETS × RACTIVE's denominator × TRO's numerator × fields × 11
//	T_DRAIN    = RACTIVE's denominator × TRO's denominator × 10
//
// (a 1080p59.94 grain is 0.28 ps). Times are split into a frame number
// N (of the alignment points N × TFRAME on the TAI epoch, ST 2110-10) and
// grains past N × TFRAME, so comparisons with the model are exact integer
// arithmetic whatever the rate (a 59.94 Hz TRS is not a whole nanosecond).
// Flooring a nanosecond time to grains changes no floor((t-X)/Y) of the
// models, X and Y being whole grains.
type grid struct {
	p, q  uint64 // TFRAME = p/q ns in lowest terms
	f     int64  // grains per TFRAME
	pp, s uint64 // one grain = pp/s ns in lowest terms (s = q × f/gcd(p, f))

	trsG, trsL int64 // TRS of the gapped and the linear schedule, grains
	tro        int64 // TROffset, grains
	drain      int64 // T_DRAIN, grains

	npkt   int
	fields int    // 1 progressive, 2 interlaced or PsF
	num    uint64 // picture rate numerator × fields: TFRAME = den/num s
	den    uint64
	ra     [2]int // gapped RACTIVE
	psf    bool
}

// rasterConstants returns the gapped RACTIVE and the TRO_DEFAULT multiplier
// of a raster (ST 2110-21 §6.3.2, §6.3.3 and §6.4, as EBU LIST's
// get_ractive and get_tro_default_multiplier cite them). The
// multiplier applies to the picture period: twice TFRAME when interlaced.
func rasterConstants(s Scan, height int) (ra, tro [2]int, err error) {
	if s == Progressive {
		// 6.3.2 Gapped PRS, progressive images: every raster.
		ra = [2]int{1080, 1125}
		if height < 1080 {
			return ra, [2]int{28, 750}, nil
		}
		return ra, [2]int{43, 1125}, nil
	}
	// 6.3.3 Gapped PRS, interlaced and PsF images.
	switch {
	case height < 576:
		return [2]int{487, 525}, [2]int{20, 525}, nil
	case height < 1080:
		return [2]int{576, 625}, [2]int{26, 625}, nil
	case height == 1080:
		return [2]int{1080, 1125}, [2]int{22, 1125}, nil
	}
	return ra, tro, fmt.Errorf("video: no ST 2110-21 read schedule for %d-line %v video", height, s)
}

var errTiming = errors.New("video: invalid timing")

// grid builds the exact grid of t, which must have Packets set.
func (t *Timing) grid() (grid, error) {
	var g grid
	if t.Rate.IsZero() || uint64(t.Rate.Num) > maxRate*uint64(t.Rate.Den) || uint64(t.Rate.Den) > maxRate*uint64(t.Rate.Num) {
		return g, fmt.Errorf("%w: rate %v (want 1/%d to %d pictures per second)", errTiming, t.Rate, maxRate, maxRate)
	}
	g.fields = t.Scan.Fields()
	if g.fields == 0 {
		return g, fmt.Errorf("%w: scan %v", errTiming, t.Scan)
	}
	if t.Height < 1 || t.Height > MaxDimension {
		return g, fmt.Errorf("%w: height %d", errTiming, t.Height)
	}
	if t.Packets < 1 || t.Packets > maxPackets {
		return g, fmt.Errorf("%w: %d packets per frame (want 1 to %d)", errTiming, t.Packets, maxPackets)
	}
	if t.TROffset < 0 {
		return g, fmt.Errorf("%w: negative TROffset %v", errTiming, t.TROffset)
	}
	ra, tro, err := rasterConstants(t.Scan, t.Height)
	if err != nil {
		return g, err
	}
	g.ra, g.npkt, g.psf = ra, t.Packets, t.Scan == PsF
	g.num, g.den = uint64(t.Rate.Num)*uint64(g.fields), uint64(t.Rate.Den)
	g.p, g.q = reduce(1e9*g.den, g.num)

	n, ran, rad, tron, trod, fl := int64(t.Packets), int64(ra[0]), int64(ra[1]), int64(tro[0]), int64(tro[1]), int64(g.fields)
	g.f = n * rad * trod * 11
	g.trsG = ran * trod * 11
	g.trsL = rad * trod * 11
	g.tro = n * rad * tron * fl * 11
	g.drain = rad * trod * 10

	// One grain is p/(q × f) ns. The grain quantities are not reduced by
	// their common divisor: that would leave grains of some 14 ns, too
	// coarse for a TROFF in nanoseconds.
	c := gcd(g.p, uint64(g.f))
	g.pp = g.p / c
	hi, lo := bits.Mul64(g.q, uint64(g.f)/c)
	if hi != 0 || lo > 1<<62 {
		return g, fmt.Errorf("%w: rate %v too fine-grained for %d packets", errTiming, t.Rate, t.Packets)
	}
	g.s = lo

	if t.TROffset > 0 {
		// Whole grains at or below TROffset: floor(TROffset × s / pp).
		tg, _, ok := mulDiv(uint64(t.TROffset), g.s, g.pp)
		if !ok || tg > uint64(2*g.f) {
			return g, fmt.Errorf("%w: TROffset %v longer than two frames", errTiming, t.TROffset)
		}
		g.tro = int64(tg)
	}
	return g, nil
}

// Params returns the ST 2110-21 constants of the stream for sender type s:
//
//	TFRAME      1/rate, the field period when interlaced or PsF
//	RACTIVE     gapped (N, W): 1080/1125 for progressive; 1080/1125, 576/625 or 487/525 for
//	            interlaced and PsF of 1080, 576..1079 and fewer lines; linear (NL): 1
//	TRS         TFRAME × RACTIVE / NPACKETS
//	TRO_DEFAULT progressive: 43/1125 × TFRAME (1080 lines and more), 28/750 × TFRAME (fewer);
//	            interlaced: 22/1125, 26/625, 20/525 × 2 TFRAME
//	T_DRAIN     (TFRAME / NPACKETS) / 1.1
//	CMAX        N, NL: max(4, ⌊NPACKETS / (43200 × RACTIVE × TFRAME)⌋); W: max(16, ⌊NPACKETS / (21600 × TFRAME)⌋)
//	VRX_FULL    N, NL: max(8, ⌊NPACKETS / (27000 × TFRAME)⌋);         W: max(720, ⌊NPACKETS / (300 × TFRAME)⌋)
//
// with TFRAME in seconds in CMAX and VRX_FULL. The constant terms assume
// MAXIP = 1500 octets, as EBU LIST and MTL do.
func (t Timing) Params(s Sender) (Params, error) {
	if s < SenderNarrow || s > SenderWide {
		return Params{}, fmt.Errorf("video: invalid sender type %v", s)
	}
	g, err := t.grid()
	if err != nil {
		return Params{}, err
	}
	return g.params(s), nil
}

// params computes the constants of sender type s on grid g (s valid).
func (g *grid) params(s Sender) Params {
	p := Params{Sender: s, Packets: g.npkt, RActive: g.ra, g: *g}
	trs := g.trsG
	if s == SenderNarrowLinear {
		p.RActive, trs = [2]int{1, 1}, g.trsL
	}
	p.TFrame = g.duration(g.f)
	p.TRS = g.duration(trs)
	p.TROffset = g.duration(g.tro)
	p.TDrain = g.duration(g.drain)
	if s == SenderWide {
		p.CMax, p.VRXFull = g.wideLimits()
	} else {
		p.CMax, p.VRXFull = g.narrowLimits(s == SenderNarrow)
	}
	return p
}

// narrowLimits returns CMAX and VRX_FULL of the narrow types, gapped (N) or
// linear (NL). NPACKETS / (k × RACTIVE × TFRAME) = NPACKETS × RACTIVE's
// denominator × num / (k × RACTIVE's numerator × den), floored exactly.
func (g *grid) narrowLimits(gapped bool) (cmax, vrxFull int) {
	ra := [2]int{1, 1}
	if gapped {
		ra = g.ra
	}
	cmax = max(4, g.ratio(uint64(g.npkt)*uint64(ra[1]), 43200*uint64(ra[0])))
	return cmax, max(8, g.ratio(uint64(g.npkt), 27000))
}

// wideLimits returns CMAX and VRX_FULL of the wide type.
func (g *grid) wideLimits() (cmax, vrxFull int) {
	return max(16, g.ratio(uint64(g.npkt), 21600)), max(720, g.ratio(uint64(g.npkt), 300))
}

// ratio returns ⌊a / (k × TFRAME)⌋ with TFRAME = den/num seconds.
func (g *grid) ratio(a, k uint64) int {
	hi, lo := bits.Mul64(a, g.num)
	d := k * g.den // ≤ 43200 × 1125 × 2^32
	if hi >= d {
		return 1 << 30
	}
	q, _ := bits.Div64(hi, lo, d)
	return int(min(q, 1<<30))
}

// duration converts grains to nanoseconds, rounded to the nearest.
func (g *grid) duration(grains int64) time.Duration {
	neg := grains < 0
	if neg {
		grains = -grains
	}
	hi, lo := bits.Mul64(uint64(grains), g.pp)
	lo, c := bits.Add64(lo, g.s/2, 0)
	hi += c
	if hi >= g.s {
		return time.Duration(1<<63 - 1)
	}
	q, _ := bits.Div64(hi, lo, g.s)
	if neg {
		return -time.Duration(q)
	}
	return time.Duration(q)
}

// split returns the frame number N = ⌊t / TFRAME⌋ of a TAI time t (ns) and
// the whole grains from N × TFRAME to t.
func (g *grid) split(t int64) (n, grains int64) {
	u := uint64(t)
	if t < 0 {
		u = -u
	}
	hi, lo := bits.Mul64(u, g.q)
	un, r := bits.Div64(hi, lo, g.p) // hi < p: t < TFRAME × 2^64
	if t < 0 && r != 0 {
		un++
		r = g.p - r
	}
	n = int64(un)
	if t < 0 {
		n = -n
	}
	hi, lo = bits.Mul64(r, uint64(g.f))
	gr, _ := bits.Div64(hi, lo, g.p) // r < p
	return n, int64(gr)
}

// alignment returns N × TFRAME = q1 + r1/q ns for n ≥ 0.
func (g *grid) alignment(n int64) (q1, r1 uint64) {
	hi, lo := bits.Mul64(uint64(n), g.p)
	return bits.Div64(hi, lo, g.q) // hi < q while N × TFRAME < 2^64 ns
}

// time returns the TAI time of the instant d grains after N × TFRAME (n, d ≥
// 0), rounded up to the nanosecond; math.MaxInt64 (never) for an instant
// past the end of int64 nanoseconds, which would wrap negative (due at
// once).
func (g *grid) time(n, d int64) int64 {
	q1, r1 := g.alignment(n)
	// N × TFRAME + d grains = q1 + (r1 × s/q + d × pp) / s, with q | s.
	hi, lo := bits.Mul64(uint64(d), g.pp)
	lo, c := bits.Add64(lo, r1*(g.s/g.q), 0)
	hi += c
	q2, r2 := bits.Div64(hi, lo, g.s)
	if r2 != 0 {
		q2++
	}
	if t := q1 + q2; t <= math.MaxInt64 {
		return int64(t)
	}
	return math.MaxInt64
}

// frameTime returns N × TFRAME rounded to the nearest nanosecond (n ≥ 0).
func (g *grid) frameTime(n int64) int64 {
	q1, r1 := g.alignment(n)
	if 2*r1 >= g.q {
		q1++
	}
	return int64(q1)
}

// mediaClock returns the RTP timestamp of N × TFRAME: the 90 kHz media clock
// rounded to the nearest tick, modulo 2^32 (ST 2110-10 with
// a=mediaclk:direct=0, as EBU LIST's calculate_rtp_timestamp and MTL
// round it).
func (g *grid) mediaClock(n int64) uint32 {
	// N × TFRAME × 90000 ticks = N × den × 90000 / num.
	hi, lo := bits.Mul64(uint64(n), g.den*90000)
	lo, c := bits.Add64(lo, g.num/2, 0)
	hi += c
	if hi >= g.num {
		hi %= g.num // only the low 32 bits of the quotient matter
	}
	q, _ := bits.Div64(hi, lo, g.num)
	return uint32(q)
}
