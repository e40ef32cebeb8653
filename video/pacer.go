package video

import "fmt"

// PacerConfig configures a [Pacer]. A nil config means the defaults.
type PacerConfig struct {
	// Lead is how many packets the sender runs ahead of the ideal read
	// schedule: packet j of frame N goes at N × TFRAME + TROffset +
	// (j - Lead) × TRS. A receiver's VRX then holds about Lead packets,
	// and a packet may leave up to Lead × TRS late before VRX underflows.
	// Zero means the default, as MTL sets its "vrx" (tv_init_pacing): for N
	// and NL, VRXFull - 4 - (Burst - 1), or the packets in TROffset if
	// fewer (few-packet frames of small formats have a TRS too long for
	// more); for W, 0.8 × the packets in TROffset or 0.8 × VRXFull,
	// whichever is fewer. Negative means none: every packet at its ideal
	// read time.
	Lead int

	// Burst is how many packets go together, at the send time of the
	// first: bursts raise Cinst to about Burst and VRX to about Lead +
	// Burst - 1. Zero means 1.
	Burst int
}

// A Pacer is the send schedule of an ST 2110-21 sender:
// frames are aligned to N × TFRAME on the TAI epoch (1970-01-01 00:00:00
// TAI, the PTP epoch), their packets are read at N × TFRAME + TROffset +
// j × TRS, and the pacer sends each a configured lead ahead of its read time.
// [Pacer.Due] releases the packets whose time has come, in batches.
//
// Frame numbers count RTP frames: fields when the video is interlaced or
// PsF, so that even numbers are first fields. All times are TAI nanoseconds
// since the epoch, non-negative, as [Timestamp] takes them; send times are
// rounded up to the nanosecond, never early.
//
// A Pacer is not safe for concurrent use; it never allocates after
// [NewPacer].
type Pacer struct {
	g      grid
	params Params
	first  int64 // grains from N × TFRAME to packet 0's send time
	trs    int64 // grains
	lead   int
	burst  int
	frame  int64
	k      int   // next packet in frame
	next   int64 // its send time, TAI ns

	// The send time of packet aheadK of frame aheadF, which pending
	// computed looking past the current burst: take uses it rather than
	// work it out again (SendTime is a function of frame and packet).
	aheadF int64
	aheadK int // -1: none
	aheadT int64
}

// NewPacer returns a pacer for p, positioned at frame 0; call [Pacer.Start]
// to begin at a given time. It refuses a configuration that is not compliant
// by construction: a burst above CMax, a lead plus burst above VRXFull, or
// a lead that starts a frame before its alignment point.
func NewPacer(p Params, c *PacerConfig) (*Pacer, error) {
	if p.g.npkt == 0 || p.Sender < SenderNarrow || p.Sender > SenderWide {
		return nil, fmt.Errorf("video: pacer: params not made by Timing.Params")
	}
	var cfg PacerConfig
	if c != nil {
		cfg = *c
	}
	pc := &Pacer{g: p.g, params: p, burst: max(cfg.Burst, 1), trs: p.g.trsG, aheadK: -1}
	if p.Sender == SenderNarrowLinear {
		pc.trs = p.g.trsL
	}
	if pc.burst > p.CMax {
		return nil, fmt.Errorf("video: pacer: burst of %d above CMAX %d of %v", pc.burst, p.CMax, p.Sender)
	}
	switch {
	case cfg.Lead < 0:
		pc.lead = 0
	case cfg.Lead > 0:
		pc.lead = cfg.Lead
	case p.Sender == SenderWide:
		pc.lead = int(min(4*(p.g.tro/pc.trs)/5, int64(4*p.VRXFull/5)))
	default:
		pc.lead = p.VRXFull - 4 - (pc.burst - 1)
		if pc.lead < 0 {
			return nil, fmt.Errorf("video: pacer: burst of %d leaves no lead under VRX_FULL %d", pc.burst, p.VRXFull)
		}
		pc.lead = int(min(int64(pc.lead), p.g.tro/pc.trs))
	}
	if pc.lead+pc.burst-1 > p.VRXFull {
		return nil, fmt.Errorf("video: pacer: lead %d and burst %d overflow VRX_FULL %d of %v", pc.lead, pc.burst, p.VRXFull, p.Sender)
	}
	pc.first = p.g.tro - int64(pc.lead)*pc.trs
	if pc.first < 0 {
		return nil, fmt.Errorf("video: pacer: lead %d × TRS %v is longer than TROffset %v", pc.lead, p.TRS, p.TROffset)
	}
	pc.next = pc.SendTime(0, 0)
	return pc, nil
}

// Params returns the parameters the pacer was made with.
func (p *Pacer) Params() Params { return p.params }

// Lead returns the lead in packets, default resolved.
func (p *Pacer) Lead() int { return p.lead }

// Start positions the pacer at the first frame whose first packet goes at or
// after tai, a first field when the video is interlaced or PsF. Call it
// before sending, and again to skip ahead after a stall rather than let
// [Pacer.Due] release the packets missed in one burst.
func (p *Pacer) Start(tai int64) {
	n, _ := p.g.split(max(tai, 0))
	if p.SendTime(n, 0) < tai {
		n++
	}
	if p.g.fields == 2 && n%2 != 0 {
		n++
	}
	p.frame, p.k, p.next = n, 0, p.SendTime(n, 0)
}

// Pos returns the frame number and the index in the frame of the next packet
// [Pacer.Due] will release. When k is 0 a new frame begins: its media clock
// instant is [Pacer.FrameTime](frame).
func (p *Pacer) Pos() (frame int64, k int) { return p.frame, p.k }

// Next returns the send time of the next packet: how long to wait.
func (p *Pacer) Next() int64 { return p.next }

// Due reports how many packets are due at now, at most limit, and counts them
// as sent. It never crosses the end of a frame: after the last packet of a
// frame it returns, and the next call starts the next frame (see
// [Pacer.Pos]). Packets found late go at once, so the caller's wake-up
// latency lands on VRX (the lead absorbs it) and its batching on Cinst.
func (p *Pacer) Due(now int64, limit int) int {
	n := 0
	for n < limit && p.next <= now {
		n++
		p.k++
		if p.k == p.g.npkt {
			p.frame++
			p.k = 0
			p.next = p.SendTime(p.frame, 0)
			break
		}
		if p.k%p.burst == 0 {
			p.next = p.SendTime(p.frame, p.k)
		}
	}
	return n
}

// burstLeft returns the packets of the current burst not yet released: all
// due at [Pacer.Next], none past the end of the frame.
func (p *Pacer) burstLeft() int { return p.burstLeftAt(p.k) }

// burstLeftAt returns the packets of the burst of packet k from k on, none
// past the end of the frame.
func (p *Pacer) burstLeftAt(k int) int {
	return min(p.burst-k%p.burst, p.g.npkt-k)
}

// take counts n packets of the current burst (n ≤ burstLeft()) as sent,
// as Due(now, n) does when they are due at now, with one look at the
// schedule instead of one a packet.
func (p *Pacer) take(n int) {
	if p.k += n; p.k == p.g.npkt {
		p.frame++
		p.k = 0
	} else if p.k%p.burst != 0 {
		return
	}
	if p.k == p.aheadK && p.frame == p.aheadF {
		p.next = p.aheadT
		return
	}
	p.next = p.SendTime(p.frame, p.k)
}

// pending returns how many packets Due(now, limit) would take, without
// taking them: a burst at a time, so that a transmitter reserves queue
// slots for the packets due and no more. It keeps the send time of the
// burst after them, which taking them then uses instead of working it out
// again.
func (p *Pacer) pending(now int64, limit int) int {
	n, frame, k, next := 0, p.frame, p.k, p.next
	for n < limit && next <= now {
		left := min(p.burstLeftAt(k), limit-n)
		n += left
		if k += left; k == p.g.npkt {
			frame, k = frame+1, 0
		} else if k%p.burst != 0 {
			break // limit reached inside a burst
		}
		next = p.SendTime(frame, k)
		if n == left {
			p.aheadF, p.aheadK, p.aheadT = frame, k, next
		}
	}
	return n
}

// SendTime returns the send time of packet k of frame N (k ≥ 0, and N ≥ 0
// of a time before the year 2554, or it panics): N ×
// TFRAME + TROffset + (j - Lead) × TRS with j the first packet of k's burst,
// rounded up to the nanosecond; math.MaxInt64, never, past the end of int64
// nanoseconds (the year 2262).
func (p *Pacer) SendTime(frame int64, k int) int64 {
	j := k - k%p.burst
	return p.g.time(frame, p.first+int64(j)*p.trs)
}

// FrameTime returns the alignment point N × TFRAME of frame N (as for
// [Pacer.SendTime]), rounded
// up to the nanosecond: the sampling instant whose [Timestamp] the frame's
// packets carry (rounding up gives the media clock of the exact instant,
// halves up, for the rates of ST 2110).
func (p *Pacer) FrameTime(frame int64) int64 { return p.g.time(frame, 0) }
