package video

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// capPkt is one packet of a synthetic capture.
type capPkt struct {
	t      int64
	ts     uint32
	marker bool
}

// schedule returns the packets of frames whole frames from pc as capPkt on
// time, each delayed by late(packet) ns (nil: none), starting at taiNow.
func paceCapture(pc *Pacer, frames int, late func(i int) int64) []capPkt {
	pc.Start(taiNow)
	var out []capPkt
	for f := 0; f < frames; {
		n, k := pc.Pos()
		t := pc.Next()
		pc.Due(t, 1)
		if late != nil {
			t += late(len(out))
		}
		marker := k == pc.g.npkt-1
		out = append(out, capPkt{t, Timestamp(pc.FrameTime(n)), marker})
		if marker {
			f++
		}
	}
	return out
}

// polled returns the capture of a software sender that wakes every poll ns,
// late by up to jitter ns, and sends what Due releases back to back at wire
// ns per packet (a full 1500-octet frame is 480 ns at 25 Gb/s).
func pollCapture(pc *Pacer, frames int, poll, jitter, wire int64, rng *rand.Rand) []capPkt {
	pc.Start(taiNow)
	var out []capPkt
	wake, free := int64(taiNow), int64(0)
	for f := 0; f < frames; {
		wake += poll
		now := wake
		if jitter > 0 {
			now += rng.Int64N(jitter)
		}
		for {
			n, k := pc.Pos()
			if pc.Due(now, 1) == 0 {
				break
			}
			t := max(now, free)
			free = t + wire
			marker := k == pc.g.npkt-1
			out = append(out, capPkt{t, Timestamp(pc.FrameTime(n)), marker})
			if marker {
				f++
			}
		}
	}
	return out
}

func analyzeCapture(t testing.TB, tm Timing, pkts []capPkt) Analysis {
	t.Helper()
	a, err := NewAnalyzer(tm)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		a.Packet(p.t, p.ts, p.marker)
	}
	return a.Report()
}

var paceTimings = []struct {
	name string
	tm   Timing
}{
	{"1080p59.94", t1080p59},
	{"1080p50", t1080p50},
	{"2160p59.94", t2160p59},
	{"1080i59.94", t1080i59},
}

// TestAnalyzerClassifiesPacer feeds each pacer's schedule, as capPkt, to an
// analyzer that learns NPACKETS itself: N must come out N, NL NL and W W,
// with the measured TROffset that of the schedule.
func TestAnalyzerClassifiesPacer(t *testing.T) {
	for _, c := range paceTimings {
		for _, s := range []Sender{SenderNarrow, SenderNarrowLinear, SenderWide} {
			pc := mustPacer(t, c.tm, s, nil)
			tm := c.tm
			tm.Packets = 0 // learn it
			r := analyzeCapture(t, tm, paceCapture(pc, 5, nil))
			if r.Sender != s || r.Gapped != (s != SenderNarrowLinear) || r.PacketsPerFrame != c.tm.Packets {
				t.Errorf("%s %v: %v", c.name, s, r)
			}
			// The first frame is not whole to the analyzer: no marker
			// before it.
			if r.Frames != 4 || r.MinPackets != c.tm.Packets || r.MaxPackets != c.tm.Packets || r.LostMarkers != 0 {
				t.Errorf("%s %v: %d frames, %d..%d packets, %d lost markers", c.name, s, r.Frames, r.MinPackets, r.MaxPackets, r.LostMarkers)
			}
			// VRX holds the lead; Cinst stays at 0 or 1 (the drain is
			// faster than TRS).
			if r.VRXMin != pc.Lead() || r.VRX != pc.Lead() || r.Cinst > 1 {
				t.Errorf("%s %v: lead %d, VRX %d..%d, Cinst %d", c.name, s, pc.Lead(), r.VRXMin, r.VRX, r.Cinst)
			}
			// TRO measured = TROffset - Lead × TRS, to the nanosecond
			// (send times round up, LIST rounds N × TFRAME).
			want := pc.g.duration(pc.g.tro - int64(pc.Lead())*pc.trs)
			if d := r.TROffset - want; d < -1 || d > 1 {
				t.Errorf("%s %v: TRO %v, want %v", c.name, s, r.TROffset, want)
			}
			if r.RTPOffsetMin != 0 || r.RTPOffsetMax != 0 {
				t.Errorf("%s %v: RTP offset %d..%d, want 0", c.name, s, r.RTPOffsetMin, r.RTPOffsetMax)
			}
		}
	}
}

// TestAnalyzerBursty: every packet of a frame at once, as a sender without
// pacing does, is far over every limit.
func TestAnalyzerBursty(t *testing.T) {
	for _, c := range paceTimings {
		pc := mustPacer(t, c.tm, SenderWide, nil)
		var pkts []capPkt
		n0, _ := pc.g.split(taiNow)
		for n := n0 + 1; n < n0+5; n++ {
			at := pc.g.time(n, pc.g.tro)
			for k := range c.tm.Packets {
				pkts = append(pkts, capPkt{at, Timestamp(pc.FrameTime(n)), k == c.tm.Packets-1})
			}
		}
		r := analyzeCapture(t, c.tm, pkts)
		if r.Sender != 0 || r.Cinst < c.tm.Packets-2 || r.Cinst <= 10*r.Wide.CMax || r.VRX < c.tm.Packets-1 || r.Wide.OK {
			t.Errorf("%s bursty: %v (CMAX W %d)", c.name, r, r.Wide.CMax)
		}
	}
}

// TestAnalyzerJitter runs a software sender that polls its pacer: fine
// polling keeps N, coarse polling breaks N (late packets underflow its small
// lead), and the wide pacer's lead absorbs the same wake-up latency.
func TestAnalyzerJitter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const wire = 480 // ns, 1500 octets at 25 Gb/s
	for _, c := range []struct {
		name          string
		tm            Timing
		s             Sender
		poll, jitter  int64
		want          Sender
		minCinst      int
		wantUnderflow bool
	}{
		// 1 µs polls, up to 2 µs late: within a lead of 5 × 3.7 µs.
		{"1080p59.94 N fine", t1080p59, SenderNarrow, 1000, 2000, SenderNarrow, 0, false},
		{"1080p59.94 NL fine", t1080p59, SenderNarrowLinear, 1000, 2000, SenderNarrowLinear, 0, false},
		// 20 µs polls, up to 10 µs late: 30 µs > 18.5 µs of lead.
		{"1080p59.94 N coarse", t1080p59, SenderNarrow, 20000, 10000, 0, 5, true},
		// The same wake-ups under W: 137 packets (508 µs) of lead, bursts
		// of 5 to 9 packets ≤ CMAX 16.
		{"1080p59.94 W coarse", t1080p59, SenderWide, 20000, 10000, SenderWide, 5, false},
		{"2160p59.94 W coarse", t2160p59, SenderWide, 20000, 10000, SenderWide, 10, false},
		{"1080i59.94 W coarse", t1080i59, SenderWide, 20000, 10000, SenderWide, 2, false},
		// 100 µs wake-ups: 27+ packets at once, over CMAX W.
		{"1080p59.94 W 100µs", t1080p59, SenderWide, 100000, 0, 0, 17, false},
	} {
		pc := mustPacer(t, c.tm, c.s, nil)
		r := analyzeCapture(t, c.tm, pollCapture(pc, 4, c.poll, c.jitter, wire, rng))
		if r.Sender != c.want || r.Cinst < c.minCinst || (r.VRXMin < 0) != c.wantUnderflow {
			t.Errorf("%s: %v", c.name, r)
		}
	}
}

// refModel is EBU LIST's Cinst and VRX models written out directly in exact
// rationals, the way st2110.md 3.3 states them, to check the grain arithmetic
// of Analyzer against.
type refModel struct {
	tframe, trs, tro, drain *big.Rat // ns

	t0          *big.Rat
	cPrev, cur  int64
	peak        int64
	started     bool
	tvd         *big.Rat
	dPrev, vrx  int64
	vmin, vmax  int64
	troSum, nTR int64
}

func newRef(tm Timing, linear bool) *refModel {
	fields := int64(tm.Scan.Fields())
	ra, tro, _ := rasterConstants(tm.Scan, tm.Height)
	tframe := big.NewRat(1e9*int64(tm.Rate.Den), int64(tm.Rate.Num)*fields)
	m := &refModel{tframe: tframe, vmin: 1 << 62, vmax: -1 << 62}
	npkt := big.NewRat(int64(tm.Packets), 1)
	m.trs = new(big.Rat).Quo(tframe, npkt)
	if !linear {
		m.trs.Mul(m.trs, big.NewRat(int64(ra[0]), int64(ra[1])))
	}
	m.tro = new(big.Rat).Mul(tframe, big.NewRat(int64(tro[0])*fields, int64(tro[1])))
	m.drain = new(big.Rat).Quo(new(big.Rat).Quo(tframe, npkt), big.NewRat(11, 10))
	return m
}

func floorRat(x *big.Rat) int64 {
	q, m := new(big.Int).DivMod(x.Num(), x.Denom(), new(big.Int))
	_ = m
	return q.Int64() // DivMod is Euclidean: floor for a positive divisor
}

func (m *refModel) packet(at int64, frameStart bool) {
	t := big.NewRat(at, 1)
	if m.t0 == nil {
		m.t0 = t
	} else {
		cleared := floorRat(new(big.Rat).Quo(new(big.Rat).Sub(t, m.t0), m.drain))
		m.cur = max(0, m.cur+1-(cleared-m.cPrev))
		m.cPrev = cleared
		m.peak = max(m.peak, m.cur)
	}
	if frameStart {
		n := floorRat(new(big.Rat).Quo(t, m.tframe))
		base := new(big.Rat).Mul(m.tframe, big.NewRat(n, 1))
		m.tvd = new(big.Rat).Add(base, m.tro)
		m.dPrev, m.vrx, m.started = 0, 0, true
		// LIST rounds N × TFRAME to the nanosecond (to_ns).
		r := new(big.Rat).Add(base, big.NewRat(1, 2))
		m.troSum += at - floorRat(r)
		m.nTR++
	}
	if !m.started {
		return
	}
	x := new(big.Rat).Sub(t, m.tvd)
	x.Add(x, m.trs)
	drained := floorRat(x.Quo(x, m.trs))
	m.vrx += 1 - (drained - m.dPrev)
	m.dPrev = drained
	m.vmin, m.vmax = min(m.vmin, m.vrx), max(m.vmax, m.vrx)
}

// TestAnalyzerMatchesModel checks the analyzer against refModel on captures
// with packets early and late by up to 40 TRS (so VRX under- and overflows
// and Cinst climbs), gapped and linear.
func TestAnalyzerMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name string
		tm   Timing
		s    Sender
	}{
		{"1080p59.94 N", t1080p59, SenderNarrow},
		{"1080p50 NL", t1080p50, SenderNarrowLinear},
		{"1080i59.94 W", t1080i59, SenderWide},
		{"576i50 N", Timing{Rate: Rate25, Scan: Interlaced, Height: 576, Packets: 1080}, SenderNarrow},
	} {
		for _, spread := range []int64{0, 4000, 150000} {
			pc := mustPacer(t, c.tm, c.s, &PacerConfig{Burst: 2})
			pkts := paceCapture(pc, 3, func(int) int64 { return rng.Int64N(2*spread+1) - spread })
			// Keep arrival order, as a capture has it.
			for i := 1; i < len(pkts); i++ {
				pkts[i].t = max(pkts[i].t, pkts[i-1].t)
			}
			r := analyzeCapture(t, c.tm, pkts)
			g, l := newRef(c.tm, false), newRef(c.tm, true)
			var lastMarker bool
			for i, p := range pkts {
				start := i > 0 && lastMarker
				g.packet(p.t, start)
				l.packet(p.t, start)
				lastMarker = p.marker
			}
			got := [...]int64{int64(r.Cinst), int64(r.Narrow.VRXMin), int64(r.Narrow.VRXPeak),
				int64(r.NarrowLinear.VRXMin), int64(r.NarrowLinear.VRXPeak), int64(r.TROffset)}
			want := [...]int64{g.peak, g.vmin, g.vmax, l.vmin, l.vmax, g.troSum / g.nTR}
			if got != want {
				t.Errorf("%s spread %d: got Cinst, VRX N, VRX NL, TRO %v, want %v", c.name, spread, got, want)
			}
		}
	}
}

// TestAnalyzerPacking detects the packing mode from the packetizer's own
// plans.
func TestAnalyzerPacking(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate59_94}
	for _, c := range []struct {
		cfg  *PacketizerConfig
		want Packing
		rows int
	}{
		{nil, GPM, 1},
		{&PacketizerConfig{Continuous: true}, GPM, 2},
		{&PacketizerConfig{Packing: BPM}, BPM, 2},
	} {
		p, err := NewPacketizer(&f, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		a, err := NewAnalyzer(Timing{Rate: f.Rate, Scan: f.Scan, Height: f.Height})
		if err != nil {
			t.Fatal(err)
		}
		at := int64(taiNow)
		for range 2 {
			for pk := range p.Packets() {
				octets := 0
				for _, s := range pk.Segments {
					octets += s.Length
				}
				at += 3700
				a.Packet(at, 0, pk.Marker)
				a.Payload(octets, len(pk.Segments))
			}
		}
		r := a.Report()
		if r.Packing != c.want || r.MaxRows != c.rows || r.PacketsPerFrame != p.PacketsPerField() {
			t.Errorf("%+v: packing %v, %d rows, %d packets; want %v, %d, %d", c.cfg, r.Packing, r.MaxRows, r.PacketsPerFrame, c.want, c.rows, p.PacketsPerField())
		}
	}
	a, _ := NewAnalyzer(t1080p59)
	a.Packet(taiNow, 0, false)
	if r := a.Report(); r.Packing != 0 {
		t.Errorf("no payloads: packing %v", r.Packing)
	}
}

// TestAnalyzerFrames covers joining mid-frame, a lost marker, and a short
// frame.
func TestAnalyzerFrames(t *testing.T) {
	pc := mustPacer(t, t1080p59, SenderNarrow, nil)
	pkts := paceCapture(pc, 5, nil)
	pkts = pkts[100:]                                                // join mid-frame: 4220 packets, then 4 whole frames
	pkts[4220+2*4320-1].marker = false                               // lose the marker of the second whole frame
	pkts = append(pkts[:4220+3*4320+100], pkts[4220+3*4320+110:]...) // lose 10 packets of the fourth
	r := analyzeCapture(t, Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080}, pkts)
	// Whole: the first (NPACKETS counted there), the third and the fourth.
	if r.Frames != 3 || r.LostMarkers != 1 || r.PacketsPerFrame != 4320 || r.MinPackets != 4310 || r.MaxPackets != 4320 {
		t.Errorf("frames %d, lost markers %d, NPACKETS %d, %d..%d packets", r.Frames, r.LostMarkers, r.PacketsPerFrame, r.MinPackets, r.MaxPackets)
	}
	// Nothing whole: nothing measured.
	r = analyzeCapture(t, Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080}, pkts[:1000])
	if r.Sender != 0 || r.PacketsPerFrame != 0 || r.Frames != 0 || r.Verdict() != TooFew {
		t.Errorf("partial frame: %v", r)
	}
}

// An analyzer that learns NPACKETS from the first whole frame measures
// nothing there: with only that frame seen its verdict is TooFew, not "not
// compliant" with a VRX of 0..0 and a TRO of 0, as it once said of a
// perfect sender; nor does a frame after it that is not whole yet judge
// the stream.
func TestAnalyzerLearningFrameNotJudged(t *testing.T) {
	pc := mustPacer(t, t1080p59, SenderNarrow, nil)
	pkts := paceCapture(pc, 3, nil)[100:] // joined mid-frame, then two whole frames
	tm := Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080}
	for _, n := range []int{4220 + 4320, 4220 + 4320 + 10} {
		r := analyzeCapture(t, tm, pkts[:n])
		if r.Frames != 1 || r.Measured != 0 || r.Sender != 0 || r.Verdict() != TooFew || !strings.HasSuffix(r.String(), ": "+TooFew) ||
			r.Narrow.OK || r.NarrowLinear.OK || r.Wide.OK {
			t.Errorf("%d packets: frames %d, measured %d, verdict %q, checks OK %v %v %v: %v", n, r.Frames, r.Measured, r.Verdict(),
				r.Narrow.OK, r.NarrowLinear.OK, r.Wide.OK, r)
		}
	}
	r := analyzeCapture(t, tm, pkts)
	if r.Frames != 2 || r.Measured != 1 || r.Sender != SenderNarrow {
		t.Errorf("two whole frames: frames %d, measured %d: %v", r.Frames, r.Measured, r)
	}
}

func TestAnalyzerErrors(t *testing.T) {
	if _, err := NewAnalyzer(Timing{Rate: Rate50, Scan: Progressive}); err == nil {
		t.Error("NewAnalyzer without height: no error")
	}
}

func TestAnalyzerAllocs(t *testing.T) {
	pc := mustPacer(t, t1080p59, SenderNarrow, nil)
	pkts := paceCapture(pc, 2, nil)
	a, err := NewAnalyzer(Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		p := pkts[i%len(pkts)]
		a.Packet(p.t+int64(i/len(pkts))*2*16683334, p.ts, p.marker)
		a.Payload(1200, 1)
		i++
	})
	if allocs != 0 {
		t.Errorf("Analyzer.Packet: %v allocations", allocs)
	}
	if r := a.Report(); r.PacketsPerFrame != 4320 {
		t.Errorf("the allocation run did not learn NPACKETS: %v", r)
	}
}

// TestAnalyzerBatchWay checks that the way Packet takes for a packet at the
// time of the one before (a batch read at once) reports what the whole
// computation reports: batches of 1 to 12 packets at one time, on time,
// late and early, with frames cut short and markers lost.
func TestAnalyzerBatchWay(t *testing.T) {
	const per = 4320
	tm := Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080, Packets: per}
	fast, err := NewAnalyzer(tm)
	if err != nil {
		t.Fatal(err)
	}
	slow, _ := NewAnalyzer(tm)
	slow.noFast = true
	rng := rand.New(rand.NewPCG(1, 2))
	frame := int64(16683333)
	at := int64(1_800_000_000_000_000_000)
	for f := range 12 {
		ts := uint32(f * 1501)
		n := per
		if f == 5 {
			n = per / 2 // cut short: its marker lost
		}
		for k := 0; k < n; {
			b := 1 + rng.IntN(12)
			at += int64(b)*frame*1080/1125/per + int64(rng.IntN(4000)) - 1500
			for j := 0; j < b && k < n; j, k = j+1, k+1 {
				m := k == per-1
				fast.Packet(at, ts, m)
				slow.Packet(at, ts, m)
			}
		}
	}
	if a, b := fast.Report(), slow.Report(); a != b {
		t.Fatalf("batch way:\n%+v\nwhole way:\n%+v", a, b)
	}
	if a := fast.Report(); a.Frames < 10 || a.Cinst < 6 {
		t.Fatalf("the sequence tested little: %+v", a)
	}
}

// gappedRef is the rule of Analysis.Gapped in exact arithmetic: the mean
// spacing after a marker, over 10 times the mean of the other spacings,
// each mean truncated as an integer division.
func gappedRef(pkts []capPkt) bool {
	fs, reg := new(big.Int), new(big.Int)
	var fsN, regN int64
	for i := 1; i < len(pkts); i++ {
		d := new(big.Int).Sub(big.NewInt(pkts[i].t), big.NewInt(pkts[i-1].t))
		if pkts[i-1].marker {
			fs.Add(fs, d)
			fsN++
		} else {
			reg.Add(reg, d)
			regN++
		}
	}
	if fsN == 0 || regN == 0 {
		return false
	}
	fs.Quo(fs, big.NewInt(fsN))
	reg.Quo(reg, big.NewInt(regN))
	return fs.Cmp(reg.Mul(reg, big.NewInt(10))) > 0
}

// Arrival times far apart (a capture whose timestamps jump by centuries,
// hostile ones at the ends of int64) do not overflow the spacing sums
// that decide Gapped: the analyzer finds what exact arithmetic finds.
func TestAnalyzerExtremeTimes(t *testing.T) {
	const lo, hi = math.MinInt64, math.MaxInt64
	frames := func(start, within, after int64, n int) []capPkt {
		var p []capPkt
		at := start
		for i := range n {
			p = append(p, capPkt{at, uint32(i), false}, capPkt{at + within, uint32(i), true})
			at += within + after
		}
		return p
	}
	for _, c := range []struct {
		name string
		pkts []capPkt
		want bool
	}{
		{"frames 4e18 ns apart", frames(-9e18, 1000, 4e18, 5), true},
		{"frames 4e18 ns apart, packets 1e18", frames(-9e18, 1e18, 3e18, 4), false},
		{"packets from one end of time to the other", []capPkt{{lo, 1, false}, {hi, 1, true}, {hi, 2, false}, {hi, 2, true}}, false},
		{"frames from one end of time to the other", []capPkt{{lo, 1, false}, {lo + 10, 1, true}, {hi - 10, 2, false}, {hi, 2, true}}, true},
		{"back and forth", []capPkt{{hi, 1, false}, {lo, 1, true}, {hi, 2, false}, {lo, 2, true}, {hi, 3, false}, {hi, 3, true}}, true},
		{"back and forth after markers", []capPkt{{lo, 1, true}, {hi, 2, true}, {lo, 3, false}, {lo + 5, 3, true}, {hi, 4, false}}, true},
	} {
		a, err := NewAnalyzer(Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080, Packets: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range c.pkts {
			a.Packet(p.t, p.ts, p.marker)
		}
		if ref := gappedRef(c.pkts); ref != c.want {
			t.Fatalf("%s: the reference says gapped %v, the table %v", c.name, ref, c.want)
		}
		if r := a.Report(); r.Gapped != c.want {
			t.Errorf("%s: gapped %v, want %v", c.name, r.Gapped, c.want)
		}
	}
}
