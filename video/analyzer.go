package video

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nmgo/nmgo/internal/wide"
)

// Check is how a stream measures against one sender type's limits.
type Check struct {
	CMax    int  // the type's limit of Cinst
	VRXFull int  // the type's limit of VRX
	VRXMin  int  // lowest VRX under the type's read schedule: below 0 a packet came after its read time
	VRXPeak int  // highest VRX under the type's read schedule
	OK      bool // Cinst ≤ CMax and 0 ≤ VRX ≤ VRXFull at every packet measured; false until a whole frame is (Analysis.Measured)
}

// Analysis is what an [Analyzer] measured. Frame counts are of RTP frames:
// fields when the video is interlaced or PsF.
type Analysis struct {
	Packets     int64 // packets given to Packet
	Frames      int64 // whole frames: from a first packet (after a marker or at a timestamp change) through a marker
	LostMarkers int64 // frames cut short by a timestamp change without a marker
	// Measured is the whole frames the models ran through from their
	// first packet: Frames less those before NPACKETS was known (the
	// first whole frame, where an Analyzer counts it, and any before).
	// The verdict needs one.
	Measured int64

	// PacketsPerFrame is NPACKETS of the model: Timing.Packets, or else the
	// packets of the first whole frame (zero until one is seen; a packet
	// lost there skews the model). MinPackets and MaxPackets are the
	// fewest and most in a whole frame.
	PacketsPerFrame        int
	MinPackets, MaxPackets int

	// Packing is the packing mode by the ST 2110-20 rule as EBU LIST
	// applies it: BPM when the sample data of every packet
	// but the markers is a multiple of 180 octets, else GPM. Zero until
	// [Analyzer.Payload] was called for a packet without the marker (the
	// rule says nothing of the last packet of a field). MaxRows is the most SRD rows in
	// one packet: 1 means no packet spans lines.
	Packing Packing
	MaxRows int

	// Gapped is the read schedule as EBU LIST detects it: the mean spacing
	// after a marker is over 10 times the mean of the other spacings. It
	// picks N or NL, and the TRS of the VRX figures below.
	Gapped bool

	// Sender is the type the measured timing fits, by EBU LIST's verdict:
	// with VRX within the narrow limit, the type follows
	// Cinst (N, or NL if linear, within CMAX narrow; else W within CMAX
	// wide); with VRX only within the wide limit, W at best. Zero when the
	// timing fits no type, or no frame was measured; [Analysis.Verdict]
	// tells them apart.
	Sender Sender

	Cinst       int // peak Cinst (LIST's "Cmax")
	VRX, VRXMin int // peak and lowest VRX under the detected schedule

	// TROffset is the mean measured TRO: the first packet of a frame minus
	// its alignment point N × TFRAME, N = ⌊t / TFRAME⌋ (EBU LIST's
	// troffset_calculator); TROffsetMin and TROffsetMax bound it.
	TROffset, TROffsetMin, TROffsetMax time.Duration

	// RTPOffsetMin and RTPOffsetMax bound the first packets' RTP timestamp
	// minus the media clock of their N × TFRAME (of the picture's first
	// segment for PsF), in 90 kHz ticks: LIST accepts -1 to ⌈TRO_DEFAULT ×
	// 90000⌉ + 1. Meaningful only for a stream timed from TAI.
	RTPOffsetMin, RTPOffsetMax int

	// The limits of each type and how the stream measures against them:
	// Narrow and NarrowLinear on their own schedules (TRS gapped and
	// linear), Wide on the detected one.
	Narrow, NarrowLinear, Wide Check
}

// An Analyzer measures the ST 2110-21 timing of one video stream from the
// arrival (or send) times of its packets, with the measurement models of
// ST 2110-21 as EBU LIST computes them: the network compatibility model
// (Cinst, a leaky bucket drained every T_DRAIN from the first packet), the
// virtual receiver buffer (VRX, drained every TRS from each frame's TVD = N ×
// TFRAME + TROffset, N = ⌊t / TFRAME⌋ of the frame's first packet), the
// measured TROffset, and the verdict of the sender type. It runs the gapped
// and the linear read schedule side by side, so one pass is enough.
//
// Feed packets in arrival order to [Analyzer.Packet], and optionally their
// sample data to [Analyzer.Payload]; read the result with [Analyzer.Report]
// at any time. Frames start after a marker (or at a timestamp change); the
// models start at the first packet once NPACKETS is known (VRX at the first
// frame start), so a stream joined mid-frame is measured from its next
// frame.
//
// An Analyzer is not safe for concurrent use. Packet and Payload do not
// allocate.
type Analyzer struct {
	t     Timing
	g     grid
	ready bool // g is built

	packets     int64
	seen        bool
	lastT       int64
	lastTS      uint32
	lastMarker  bool
	splitN      int64 // a.g.split(lastT), if splitOK
	splitG      int64
	splitOK     bool
	fast        bool // the last packet ran cinst and vrx at lastT
	noFast      bool // tests: never take the way of fast
	inFrame     bool
	count       int
	frames      int64
	measured    int64 // frames ended with vOn
	lostMarkers int64
	minPk       int
	maxPk       int

	// Spacings after a marker, and the others: sums in 128 bits, which
	// no arrival times overflow (two at the ends of int64 are 2^64 apart).
	fsSum, regSum wide.Int128
	fsN, regN     int64

	// Cinst
	cOn       bool
	cN, cG    int64 // previous packet: frame number and grains
	elapsed   int64 // grains since the first packet (rebased)
	cleared   int64
	cur, peak int64

	// VRX, gapped (G) and linear (L)
	vOn        bool
	vN         int64 // N of the current frame
	dG, dL     int64 // drained so far in the frame
	vG, vL     int64
	minG, maxG int64
	minL, maxL int64
	troSum     wide.Int128
	troN       int64
	troMin     int64
	troMax     int64
	rtpMin     int32
	rtpMax     int32

	payloads int64 // non-final packets given to Payload
	general  bool
	maxRows  int
}

// NewAnalyzer returns an analyzer for a stream of timing t. t.Packets may be
// zero: the analyzer then counts the packets of the first whole frame.
func NewAnalyzer(t Timing) (*Analyzer, error) {
	a := &Analyzer{t: t}
	probe := t
	if probe.Packets == 0 {
		probe.Packets = 1
	}
	g, err := probe.grid()
	if err != nil {
		return nil, err
	}
	if t.Packets != 0 {
		a.g, a.ready = g, true
	}
	return a, nil
}

// Packet records one packet: its arrival (or send) time in TAI nanoseconds
// since the PTP epoch, its RTP timestamp and its marker bit. Packets must
// come in arrival order.
func (a *Analyzer) Packet(tai int64, ts uint32, marker bool) {
	if a.fast && tai == a.lastT && ts == a.lastTS && !a.lastMarker {
		// A packet of the same frame at the time of the one before (the
		// packets of a batch read from a ring share their time): no
		// grain has passed, so Cinst and both VRX grow by one and the
		// rest holds, as the whole path below would find.
		a.packets++
		a.regN++
		a.lastMarker = marker
		a.cur++
		a.peak = max(a.peak, a.cur)
		a.count++
		a.vG++
		a.vL++
		a.maxG, a.maxL = max(a.maxG, a.vG), max(a.maxL, a.vL)
		if marker {
			a.frameEnd()
		}
		return
	}
	a.packets++
	start := false
	if a.seen {
		if a.lastMarker {
			a.fsSum.Add(tai)
			a.fsSum.Sub(a.lastT)
			a.fsN++
			start = true
		} else {
			a.regSum.Add(tai)
			a.regSum.Sub(a.lastT)
			a.regN++
			if ts != a.lastTS {
				start = true
				if a.inFrame {
					a.lostMarkers++
				}
			}
		}
	}
	same := a.seen && tai == a.lastT && a.splitOK
	a.seen = true
	a.lastT, a.lastTS, a.lastMarker = tai, ts, marker

	var n, gr int64
	if a.ready {
		// The packets of a batch read from a ring share their time:
		// split it once.
		if same {
			n, gr = a.splitN, a.splitG
		} else {
			n, gr = a.g.split(tai)
			a.splitN, a.splitG, a.splitOK = n, gr, true
		}
		a.cinst(n, gr)
	}
	if start {
		a.inFrame, a.count = true, 0
		if a.ready {
			a.frameStart(tai, ts, n, gr)
		}
	}
	// The next packet may take the way above if this one ran both models.
	a.fast = a.ready && a.inFrame && a.vOn && !a.noFast
	if !a.inFrame {
		return
	}
	a.count++
	if a.vOn {
		a.vrx(n, gr)
	}
	if marker {
		a.frameEnd()
	}
}

// Payload records the sample data of the packet last given to
// [Analyzer.Packet]: octets is the sum of its SRD lengths, rows the number
// of its SRD headers. It feeds the packing-mode detection only.
func (a *Analyzer) Payload(octets, rows int) { a.payload(rows, octets%BPMBlock == 0) }

// payload is Payload with octets%BPMBlock == 0 found by the caller (grid),
// who may have it already.
func (a *Analyzer) payload(rows int, grid bool) {
	a.maxRows = max(a.maxRows, rows)
	if a.lastMarker { // the last packet of a frame may be short: it tells nothing
		return
	}
	a.payloads++
	if !grid {
		a.general = true
	}
}

// maxFrameJump bounds the frames between two packets the models take in one
// step (an hour at 18 frames per second); it keeps the grain arithmetic
// inside 64 bits. Past it the Cinst bucket has long drained, and VRX has
// long underflowed.
const maxFrameJump = 1 << 16

// cinst runs the network compatibility model of ST 2110-21 (as EBU LIST's
// c_calculator.cpp does): cleared = ⌊(t - t0) / T_DRAIN⌋, Cinst = max(0, Cinst' +
// 1 - (cleared - cleared')).
func (a *Analyzer) cinst(n, gr int64) {
	dn := n - a.cN
	if !a.cOn || dn > maxFrameJump || dn < -maxFrameJump {
		a.cOn, a.elapsed, a.cleared, a.cur = true, 0, 0, 0
		a.cN, a.cG = n, gr
		return
	}
	a.elapsed += dn*a.g.f + gr - a.cG
	a.cN, a.cG = n, gr
	cl := floorDiv(a.elapsed, a.g.drain)
	a.cur = max(0, a.cur+1-(cl-a.cleared))
	a.cleared = cl
	a.peak = max(a.peak, a.cur)
	if a.elapsed > 1<<61 { // rebase: only differences of cleared matter
		k := a.elapsed / a.g.drain
		a.elapsed -= k * a.g.drain
		a.cleared -= k
	}
}

// frameStart begins the VRX of a frame and measures its TROffset and RTP
// offset.
func (a *Analyzer) frameStart(tai int64, ts uint32, n, gr int64) {
	a.vN, a.dG, a.dL, a.vG, a.vL = n, 0, 0, 0, 0
	if !a.vOn {
		a.vOn = true
		a.minG, a.maxG, a.minL, a.maxL = math.MaxInt64, math.MinInt64, math.MaxInt64, math.MinInt64
		a.troMin, a.troMax = math.MaxInt64, math.MinInt64
		a.rtpMin, a.rtpMax = math.MaxInt32, math.MinInt32
	}
	if n < 0 {
		return
	}
	tro := tai - a.g.frameTime(n)
	a.troSum.Add(tro)
	a.troN++
	a.troMin, a.troMax = min(a.troMin, tro), max(a.troMax, tro)
	if a.g.psf {
		n -= n % 2
	}
	off := int32(ts - a.g.mediaClock(n))
	a.rtpMin, a.rtpMax = min(a.rtpMin, off), max(a.rtpMax, off)
}

// vrx runs the virtual receiver buffer model of ST 2110-21 (as EBU LIST's
// vrx_calculator.cpp does) for both read schedules: drained = ⌊(t - TVD + TRS) /
// TRS⌋, VRX = VRX' + 1 - (drained - drained').
func (a *Analyzer) vrx(n, gr int64) {
	dn := min(max(n-a.vN, -maxFrameJump), maxFrameJump)
	d := dn*a.g.f + gr - a.g.tro // grains past TVD
	dg := floorDiv(d+a.g.trsG, a.g.trsG)
	dl := floorDiv(d+a.g.trsL, a.g.trsL)
	a.vG += 1 - (dg - a.dG)
	a.vL += 1 - (dl - a.dL)
	a.dG, a.dL = dg, dl
	a.minG, a.maxG = min(a.minG, a.vG), max(a.maxG, a.vG)
	a.minL, a.maxL = min(a.minL, a.vL), max(a.maxL, a.vL)
}

// frameEnd closes a whole frame and, the first time, learns NPACKETS.
func (a *Analyzer) frameEnd() {
	a.inFrame = false
	if a.frames == 0 {
		a.minPk, a.maxPk = a.count, a.count
	}
	a.frames++
	if a.vOn {
		a.measured++
	}
	a.minPk, a.maxPk = min(a.minPk, a.count), max(a.maxPk, a.count)
	if a.ready || a.count > maxPackets {
		return
	}
	t := a.t
	t.Packets = a.count
	if g, err := t.grid(); err == nil {
		a.t, a.g, a.ready = t, g, true
	}
}

// Report returns what was measured so far.
func (a *Analyzer) Report() Analysis {
	r := Analysis{
		Packets:     a.packets,
		Frames:      a.frames,
		Measured:    a.measured,
		LostMarkers: a.lostMarkers,
		MinPackets:  a.minPk,
		MaxPackets:  a.maxPk,
		MaxRows:     a.maxRows,
		Gapped:      a.fsN > 0 && a.regN > 0 && a.regSum.Quo(a.regN).Mul(10).Less(a.fsSum.Quo(a.fsN)),
	}
	if a.payloads > 0 {
		r.Packing = BPM
		if a.general {
			r.Packing = GPM
		}
	}
	if !a.ready {
		return r
	}
	g := &a.g
	r.PacketsPerFrame = g.npkt
	r.Cinst = toInt(a.peak)
	if a.troN > 0 {
		r.TROffset = time.Duration(a.troSum.Quo(a.troN).Int64())
		r.TROffsetMin, r.TROffsetMax = time.Duration(a.troMin), time.Duration(a.troMax)
		r.RTPOffsetMin, r.RTPOffsetMax = int(a.rtpMin), int(a.rtpMax)
	}
	r.Narrow.CMax, r.Narrow.VRXFull = g.narrowLimits(true)
	r.NarrowLinear.CMax, r.NarrowLinear.VRXFull = g.narrowLimits(false)
	r.Wide.CMax, r.Wide.VRXFull = g.wideLimits()
	if !a.vOn {
		return r
	}
	r.Narrow.VRXMin, r.Narrow.VRXPeak = toInt(a.minG), toInt(a.maxG)
	r.NarrowLinear.VRXMin, r.NarrowLinear.VRXPeak = toInt(a.minL), toInt(a.maxL)
	narrow, kind := &r.Narrow, SenderNarrow
	if !r.Gapped {
		narrow, kind = &r.NarrowLinear, SenderNarrowLinear
	}
	r.Wide.VRXMin, r.Wide.VRXPeak = narrow.VRXMin, narrow.VRXPeak
	r.VRX, r.VRXMin = narrow.VRXPeak, narrow.VRXMin
	if a.measured > 0 { // a frame under way judges nothing yet
		for _, c := range []*Check{&r.Narrow, &r.NarrowLinear, &r.Wide} {
			c.OK = r.Cinst <= c.CMax && c.VRXMin >= 0 && c.VRXPeak <= c.VRXFull
		}
		r.Sender = verdict(kind, r.Cinst, r.VRXMin, r.VRX, narrow, &r.Wide)
	}
	return r
}

// verdict is EBU LIST's compliance_checker::check: VRX within the narrow
// limit leaves the verdict to Cinst (kind within CMAX narrow, W within
// CMAX wide); VRX only within the wide limit gives W at best; a VRX below
// zero fits no type. kind is N or NL by the detected schedule, narrow its
// limits.
func verdict(kind Sender, cinst, vrxMin, vrxPeak int, narrow, wide *Check) Sender {
	var v Sender // zero: not compliant
	switch {
	case vrxMin < 0:
	case vrxPeak <= narrow.VRXFull:
		v = kind
	case vrxPeak <= wide.VRXFull:
		v = SenderWide
	}
	var c Sender
	switch {
	case cinst <= narrow.CMax:
		c = kind
	case cinst <= wide.CMax:
		c = SenderWide
	}
	switch v {
	case kind:
		return c
	case SenderWide:
		if c == kind {
			return SenderWide
		}
		return c
	}
	return 0
}

func toInt(v int64) int { return int(min(max(v, math.MinInt32), math.MaxInt32)) }

// TooFew is the verdict of an analysis that has not measured one whole
// frame: what it measured says nothing of the stream.
const TooFew = "too few frames to judge"

// Verdict returns the outcome in words: the sender type ("2110TPN"),
// "not compliant" when the timing fits no type, or [TooFew] when no whole
// frame was measured (a capture of one or two frames: the analysis starts
// once two markers have given the packets per frame, and an Analyzer that
// counts them itself measures from the frame after the first whole one).
func (r Analysis) Verdict() string {
	switch {
	case r.Measured == 0:
		return TooFew
	case r.Sender != 0:
		return r.Sender.String()
	}
	return "not compliant"
}

// String returns a one-line summary of the analysis, such as "4320
// pkts/frame 2110GPM gapped: 2110TPN, Cinst 1, VRX 5..5, TRO 619.137µs",
// or "4320 pkts/frame: too few frames to judge".
func (r Analysis) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d pkts/frame", r.PacketsPerFrame)
	if r.Packing != 0 {
		fmt.Fprintf(&b, " %v", r.Packing)
	}
	if r.Measured == 0 {
		b.WriteString(": " + TooFew)
		return b.String()
	}
	if r.Gapped {
		b.WriteString(" gapped: ")
	} else {
		b.WriteString(" linear: ")
	}
	b.WriteString(r.Verdict())
	fmt.Fprintf(&b, ", Cinst %d, VRX %d..%d, TRO %v", r.Cinst, r.VRXMin, r.VRX, r.TROffset)
	return b.String()
}
