package video

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/nmgo/nmgo/internal/wide"
	"github.com/nmgo/nmgo/packet"
)

// The path differential classes of SMPTE ST 2022-7 seamless protection: the
// most a receiver of each class absorbs between the arrival of a packet on
// one path and its copy on the other.
const (
	SkewClassA = 10 * time.Millisecond  // low skew
	SkewClassB = 50 * time.Millisecond  // moderate skew
	SkewClassC = 450 * time.Millisecond // high skew
)

// MaxMergeWindow is the longest [MergeConfig.Window].
const MaxMergeWindow = time.Second

// MergeConfig configures a [Merge].
type MergeConfig struct {
	// Format is the flow's; it must have a frame rate, which turns the
	// window into frames.
	Format Format

	// PayloadType, if not zero, is the only RTP payload type accepted.
	PayloadType uint8

	// TROffset is as [RxStream]'s: TRO_DEFAULT's replacement in the flow's
	// ST 2110-21 analysis (its SDP's TROFF); zero means TRO_DEFAULT.
	TROffset time.Duration

	// Window is the path differential the merge absorbs: a frame that
	// misses packets when it ends on the first path (its marker, or a
	// later frame's packet) waits that long for the other path's copies
	// before it is handed out as it is, and a copy that comes later is
	// late. Zero means [SkewClassA]; at most [MaxMergeWindow].
	Window time.Duration

	// Count, OnFrame and TakeFrame are as [RxStream]'s: the frames, each
	// assembled once from both paths. TakeFrame's arrival is when the
	// frame's first packet arrived, on either path.
	Count     uint64
	OnFrame   func(frame []byte, st *FrameStats)
	TakeFrame func(frame []byte, st *FrameStats, arrival int64) []byte

	// Budget is charged by NewMerge with all the memory the merge may
	// need (a frame buffer and depacketizer for each frame the window may
	// hold open, the sequence window) before anything is allocated; nil
	// means a budget of [DefaultMemory] for this merge alone. The charge
	// is kept for the merge's life: pass a ledger of a shared budget
	// ([Budget.Ledger]) to give it back ([Budget.Unwind]) when the merge
	// is dropped.
	Budget *Budget
}

// PathStats are the counts of one path of a [Merge].
type PathStats struct {
	Packets    uint64 // RTP packets of the flow that came on the path, every copy
	Taken      uint64 // packets whose first copy came on this path: what it gave the flow
	Duplicates uint64 // copies that came after the other path's: absorbed
	Late       uint64 // copies of packets whose frame had been handed out, or too old to tell: dropped
	Lost       uint64 // sequence numbers from the path's lowest to its highest that it never brought (a sender's restart starts another span, added to those before)
	Malformed  uint64 // packets dropped: not RTP version 2, truncated headers, or of another payload type

	// TimeJumps is the arrival times more than [MaxArrivalJump] from the
	// path's latest: a bogus one (a far-future capture time) is taken as
	// the path's latest time instead, so that it does not pin the clock
	// the merge releases frames on; a second in a row, wherever it lands,
	// is a step of the path's clock (a pause, a clock set, a sparse
	// capture), which the merge then follows.
	TimeJumps uint64
}

// MaxArrivalJump is how far an arrival time on a path of a [Merge] may
// lie from the path's latest before it is taken as a jump of its clock
// (PathStats.TimeJumps): the longest window and a second.
const MaxArrivalJump = MaxMergeWindow + time.Second

// Skew is the measured path differential of a [Merge]: for a sample of
// the packets that came on both paths (one in 64 sequence numbers), the
// arrival of the copy on path 1 minus that on path 0. Positive: path 1 is
// behind. A sample beyond the range of time.Duration (arrival times at
// the ends of int64) counts as its end, and so does Sum: Mean is exact.
type Skew struct {
	Samples  uint64
	Min, Max time.Duration
	Sum      time.Duration // saturated at the ends of time.Duration

	sum wide.Int128 // exact: Sum before saturation
}

// Mean returns the mean of the samples, exact (truncated towards zero)
// however far their sum runs past time.Duration; of a Skew whose Sum was
// set or changed by hand, Sum over Samples.
func (s Skew) Mean() time.Duration {
	if s.Samples == 0 {
		return 0
	}
	if time.Duration(s.sum.Int64()) != s.Sum { // made or changed by hand: Sum is what there is
		return s.Sum / time.Duration(min(s.Samples, math.MaxInt64))
	}
	q := s.sum.Quo(int64(min(s.Samples, math.MaxInt64)))
	return time.Duration(q.Int64())
}

func (s Skew) String() string {
	if s.Samples == 0 {
		return "skew: not measured"
	}
	return fmt.Sprintf("skew %v..%v, mean %v over %d samples", s.Min, s.Max, s.Mean(), s.Samples)
}

// add adds sample d (exact: it may be beyond time.Duration).
func (s *Skew) add(d wide.Int128) {
	dd := time.Duration(d.Int64())
	if s.Samples == 0 || dd < s.Min {
		s.Min = dd
	}
	if s.Samples == 0 || dd > s.Max {
		s.Max = dd
	}
	s.Samples++
	s.sum = s.sum.Plus(d)
	s.Sum = time.Duration(s.sum.Int64())
}

// Merge reassembles one ST 2022-7 flow from the copies of its packets that
// two paths bring (SMPTE ST 2022-7 seamless protection): by extended
// sequence number, the first copy of each packet is taken and the second
// dropped (counted as absorbed), and each frame is assembled once. The
// receivers of the two paths feed it: a stream of each with
// [RxStream.Merge] set (and Path 0 or 1), or [Merge.Push] directly.
//
// Frames are held open after they end on the first path for as long as
// the window (MergeConfig.Window, the path differential) says, so that
// the other path's copies of the packets the first lost can fill them; a
// frame that is complete goes at once, and frames go in order. A copy that
// comes after its frame was handed out is late: counted, never written
// into another frame. The frames the window may hold, and the sequence
// numbers they span, are fixed by NewMerge from the format and the window
// and charged to the budget: whatever the packets say, the memory is that
// and the work per packet is bounded by a constant.
//
// A sender that restarts with a sequence number behind its last (RFC
// 3550 draws the first at random) is told from a copy by its timestamp,
// later than any the merge has seen (ST 2110's follow the PTP clock), and
// its packets start the sequence numbers afresh instead of being absorbed
// as copies of the old ones.
//
// A Merge is not safe for concurrent use: whoever feeds it from two
// goroutines must make them take turns (package st2110 holds a lock over
// each batch a reader drains). Push, Expire and the handing out of frames
// do not allocate.
type Merge struct {
	cfg       MergeConfig
	s         rxStream // the flow: its analysis and header counts (no depacketizer of its own)
	window    int64    // ns
	fields    int
	fmask     int // 1 if fields is 2, else 0: a packet's field of a frame is h.field&fmask (&1 too where it indexes: no bounds check)
	gap       uint32
	lateTicks uint32

	slots []mslot
	order []int // slots holding a frame, earliest RTP timestamp first
	cur   int   // the slot of the last packet, or -1
	rel   bool  // the earliest frame held has ended: releasable, kept by settle

	// A packet whose RTP header's first two octets masked by hmask are not
	// hwant takes pushSlow's way: not RTP version 2, of another payload
	// type (if the flow has one), or any before the first sequence number
	// was read (extend) or while a restart's window is open (setOld).
	// hopen is hwant when neither.
	hmask, hwant, hopen uint16

	// The state of pushNext's shortcut for the first copy of the number
	// after the highest, what of its conditions no packet changes, found
	// by refresh after anything else push and release do: fastSl is the
	// slot of the last packet, open, while the earliest frame held has
	// not ended, and fastW the word of maxSeq+1, holding its block with
	// a packet marked. fastSl is nil while any of that is not so; fastW
	// is then &none (never nil: no check of it before its block is
	// read), except after the shortcut took the last number of a word
	// (takeNext clears fastSl and fastTS, not fastW, a store less): the
	// copy checks, which read fastW whether or not fastSl is set
	// (Receiver.push's, Receiver.PushUDPCut's and push's), check its
	// block.
	fastSl *mslot
	fastW  *seqWord
	// fastTS[f] is the RTP timestamp of fastSl's field f, widened, or
	// noTS while it has none or there is no fastSl: one compare tells
	// pushNext both that there is a shortcut and that the packet is of
	// its frame.
	fastTS [2]int64
	// none is the word of no block (math.MinInt64 is no extended
	// number's block, which is at least math.MinInt64>>6), nothing
	// marked: fastW while there is no shortcut, and what the copy checks
	// take when no word holds a number's block. It is never written.
	none seqWord

	// The sequence window: one bit per sequence number, word w holding the
	// 64 of block words[w].blk, as Depacketizer's.
	seqOK  bool
	maxSeq int64
	minSeq int64 // the lowest sequence number marked: Lost counts from it
	words  []seqWord
	mask   int64
	newTS  uint32 // the latest timestamp of a packet marked (tsOK): a copy's is never later
	tsOK   bool

	// After a sender restarted (restart): copies of its packets from
	// before, which the path behind still brings for a window, are
	// dropped by their timestamp (oldTS or earlier) until oldUntil.
	oldOn    bool // set by setOld
	oldTS    uint32
	oldUntil int64
	oldPath  int   // the path that brought the restart
	oldMax   int64 // the old stream's numbers: its highest and lowest
	oldMin   int64
	// The old stream's words of the window that the new stream's
	// numbers took meanwhile (keepOld saves each before it goes),
	// indexed as words: a copy of the old stream finds its number there.
	oldWords []seqWord

	// The last frame handed out.
	haveRel bool
	relTS   uint32 // its latest field's timestamp

	// steps counts the loop iterations over slots (finding, opening and
	// handing out frames), which tests hold to a bound that no sequence
	// number or timestamp changes; the slots' depacketizers count theirs.
	// parsed counts the SRD headers parseHeaders walked (rxStream.parsed's
	// like): with steps and the slots' d.steps, the loop steps a packet
	// costs, which tests hold to one walk of its headers. Both count only
	// in the tests' build (workCount); they are not the last fields, which
	// an empty one would pad.
	steps, parsed workCount

	st    Stats // the flow's counts but those the slots' depacketizers keep and Packets
	paths [2]pathState
	taken [2]uint64 // packets each path gave the frames handed out (PathStats.Taken, Stats.Packets; open slots count theirs)
	skew  Skew
}

// mslot is a frame the merge holds open: its depacketizer writes into its
// buffer; its marker packet is held back (copied), since the depacketizer
// would end the frame with it, and pushed when the frame is handed out.
type mslot struct {
	d        *Depacketizer
	open     bool
	fts      [2]uint32 // RTP timestamps of its fields
	have     [2]bool
	firstAt  int64 // arrival of its first packet
	ended    bool  // ended on some path: its marker, or a later frame's packet
	endAt    int64
	started  bool  // its first packet (line 0, offset 0 of the first field) came...
	startSeq int64 // ... with this sequence number
	marker   bool  // its marker is held...
	markSeq  int64 // ... with this sequence number
	held     []byte
	heldN    int
	paths    [2]int // packets taken from each path, the held marker included
	released bool   // set by the depacketizer's OnFrame
}

// seqWord is 64 sequence numbers of the window, and a sample for the skew:
// the first sequence number of the block taken, when and on which path.
type seqWord struct {
	blk   int64
	seen  uint64
	at    int64
	sbit  uint8 // ext & 63 of the sample; noSample: none
	spath uint8
}

const noSample = 0xff

// noTS is Merge.fastTS's entry for a field without a timestamp (a
// uint32's, widened, is never negative).
const noTS = -1

type pathState struct {
	PathStats
	first, high int64  // the lowest and highest sequence number of the path; math.MaxInt64 and math.MinInt64 before its first
	unread      uint64 // packets dropped before their sequence number was read
	last        int64  // the latest arrival of a packet on the path
	spanDone    uint64 // the sequence numbers of its span before the sender's last restart
	jumpN       uint64 // the Packets count at the path's last jump (TimeJumps)
}

// seqWords returns the 64-bit words of a merge's sequence window for
// nslots open frames of size octets: the sequence numbers they may span,
// at one 180-octet block of sample data a packet (less is not video worth
// the name), at least 2^16, as a power of two. It counts in int64: in a
// 32-bit int a frame just under 2 GiB (which Format.Validate allows)
// rounded up to whole blocks wraps.
func seqWords(nslots int64, size int) int {
	span := max(nslots*((int64(size)+BPMBlock-1)/BPMBlock), 1<<16)
	return 1 << (bits.Len64(uint64(span-1)) - 6)
}

// heldMax is the longest marker packet a merge holds back: ST 2110's
// largest datagram with room to spare. A longer one is dropped as
// malformed.
const heldMax = MaxUDPExtended + 256

// maxHeldFrames bounds the frames a merge holds open: a window of
// MaxMergeWindow at 250 frames a second.
const maxHeldFrames = 252

// Memory a merge charges besides its frame buffers: each held frame's
// depacketizer and marker copy, and each sequence window word (and its
// place in oldWords).
const (
	slotMemory = 20<<10 + heldMax
	wordMemory = 2 * 32
)

// NewMerge checks c, charges its budget and returns a merge of one flow's
// two paths.
func NewMerge(c *MergeConfig) (*Merge, error) {
	if c == nil {
		return nil, errors.New("video: merge without a config")
	}
	m := &Merge{cfg: *c, cur: -1, fastTS: [2]int64{noTS, noTS}, none: seqWord{blk: math.MinInt64}}
	m.fastW = &m.none
	cfg := &m.cfg
	f := &cfg.Format
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("video: merge: %w", err)
	}
	if f.Rate.IsZero() {
		return nil, fmt.Errorf("video: merge of %v: the format needs its frame rate (exactframerate) to size the window", f)
	}
	switch {
	case cfg.Window == 0:
		cfg.Window = SkewClassA
	case cfg.Window < 0 || cfg.Window > MaxMergeWindow:
		return nil, fmt.Errorf("video: merge window %v outside (0, %v]", cfg.Window, MaxMergeWindow)
	}
	m.window = int64(cfg.Window)
	period := f.Rate.Period()
	// Frames open at once: the one being filled, those ended within the
	// window, and one that starts on the other path meanwhile.
	nslots := int64(maxHeldFrames) + 1
	if period > 0 {
		nslots = int64((cfg.Window+period-1)/period) + 2
	}
	if nslots > maxHeldFrames {
		return nil, fmt.Errorf("video: merge of %v: a window of %v holds more than %d frames", *f, cfg.Window, maxHeldFrames)
	}
	nwords := seqWords(nslots, f.FrameSize())
	b := cfg.Budget
	if b == nil {
		b = &Budget{limit: DefaultMemory}
	}
	n := streamMemory + nslots*(int64(f.FrameSize())+slotMemory) + int64(nwords)*wordMemory
	if err := b.Charge(fmt.Sprintf("merge of %v, %v window: %d frames held", *f, cfg.Window, nslots), n); err != nil {
		return nil, err
	}
	m.s.cfg = RxStream{Format: *f, PayloadType: cfg.PayloadType, Count: cfg.Count, OnFrame: cfg.OnFrame, TakeFrame: cfg.TakeFrame, TROffset: cfg.TROffset}
	m.s.blocks = true
	m.hmask = 0xc000
	if cfg.PayloadType != 0 {
		m.hmask |= 0x7f
	}
	m.hopen = packet.RTPVersion<<14 | uint16(cfg.PayloadType) // a type above 127 is no packet's
	m.hwant = 0xffff                                          // no header masked by hmask is this: !seqOK
	m.s.initTiming()
	m.fields = f.Scan.Fields()
	m.fmask = m.fields - 1
	m.gap = uint32((90000*uint64(f.Rate.Den) + uint64(f.Rate.Num) - 1) / uint64(f.Rate.Num))
	m.lateTicks = lateWindow + uint32(cfg.Window/(time.Second/90000))
	m.words = make([]seqWord, nwords)
	m.oldWords = make([]seqWord, nwords)
	m.mask = int64(nwords - 1)
	m.slots = make([]mslot, nslots)
	m.order = make([]int, 0, nslots)
	for p := range m.paths {
		m.paths[p].first, m.paths[p].high = math.MaxInt64, math.MinInt64
	}
	for i := range m.slots {
		sl := &m.slots[i]
		d, err := NewDepacketizer(f, &DepacketizerConfig{PayloadType: cfg.PayloadType,
			OnFrame: func(buf []byte, st *FrameStats) []byte { return m.frame(i, buf, st) }})
		if err != nil {
			return nil, fmt.Errorf("video: merge: %w", err)
		}
		_ = d.SetBuffer(make([]byte, f.FrameSize())) // of the format's size: no error
		sl.d, sl.held = d, make([]byte, heldMax)
	}
	return m, nil
}

// Window returns the path differential the merge absorbs.
func (m *Merge) Window() time.Duration { return m.cfg.Window }

// Held returns how many frames the merge may hold open at once: what its
// window is worth in frames, plus two.
func (m *Merge) Held() int { return len(m.slots) }

// checkPath checks a stream of a Receiver that feeds the merge.
func (m *Merge) checkPath(s *RxStream) error {
	switch {
	case s.Path != 0 && s.Path != 1:
		return fmt.Errorf("merge path %d, want 0 or 1", s.Path)
	case s.Format != m.cfg.Format:
		return fmt.Errorf("format %v, the merge's is %v", s.Format, m.cfg.Format)
	case s.Count != 0 || s.OnFrame != nil || s.TakeFrame != nil:
		return errors.New("a stream of a merge takes its Count, OnFrame and TakeFrame from the merge")
	}
	return nil
}

// Push takes one RTP packet (a UDP payload) of the flow that arrived on
// path (0 or 1) at time at (TAI nanoseconds), as a [Receiver] hands a
// stream's packets to its Merge. Push panics if path is neither.
func (m *Merge) Push(path int, pkt []byte, at int64) {
	m.push(path, &m.paths[path], pkt, len(pkt), at, 0)
}

// arrival is push's way for an arrival at on path ps that is not within
// MaxArrivalJump after the path's latest (push has counted the packet):
// it returns the time the packet is taken to have arrived. The path's
// first packet is taken as it comes; a jump (more than MaxArrivalJump
// either way) is counted (TimeJumps) and the packet taken to arrive at
// the path's latest time, so that one bogus time (a far-future capture
// time, the ends of int64) cannot pin the release clock; a second jump
// in a row, wherever it lands, is a step of the path's clock (a pause, a
// clock set, a sparse capture), which the merge follows.
func (m *Merge) arrival(ps *pathState, at int64) int64 {
	if ps.Packets == 1 { // the path's first: push has counted it
		ps.last = at
		return at
	}
	if !near(at, ps.last) {
		at = m.jump(ps, at)
	}
	ps.last = max(ps.last, at)
	return at
}

// jump is arrival's way for an arrival at that jumps from path ps's
// latest.
func (m *Merge) jump(ps *pathState, at int64) int64 {
	if ps.jumpN != ps.Packets-1 {
		ps.TimeJumps++
		ps.jumpN = ps.Packets
		return ps.last
	}
	// The second in a row: a step of the path's clock, which the merge
	// follows. Back in time, the path's latest goes back with it, and
	// the frames ended since wait their window from now.
	ps.jumpN = 0
	if at < ps.last {
		ps.last = at
		for _, i := range m.order {
			if sl := &m.slots[i]; sl.ended && sl.endAt > at {
				sl.endAt = at
			}
		}
	}
	return at
}

// near reports whether a and b are at most MaxArrivalJump apart.
func near(a, b int64) bool {
	if a < b {
		a, b = b, a
	}
	return uint64(a)-uint64(b) <= uint64(MaxArrivalJump)
}

// push takes pkt, wire octets long as sent, from path (ps is
// &m.paths[path], which a Receiver's stream keeps: it is not computed
// again for every packet).
//
// A copy of a packet the other path brought first is found from the RTP
// header's first 8 octets and dropped at once (counted, and sampled for
// the skew): nothing else of it is read, and push calls nothing for it
// (a call would have it save what it holds in registers first). Only
// first copies have their RFC 4175 headers parsed: the first copy of the
// number after the highest (nearly every one) by pushNext (written out
// here, in Receiver.push and in Receiver.PushUDPCut: see isNext), any
// other past the highest here, and one below it by pushCopy. Every way
// push calls a function and then goes on is reached only from those
// branches, so that a duplicate's way saves no registers either.
func (m *Merge) push(path int, ps *pathState, pkt []byte, wire int, at, ext int64) {
	if path < 4 {
		if path < 2 {
			ps.Packets++
			if at < ps.last || uint64(at)-uint64(ps.last) > uint64(MaxArrivalJump) ||
				len(pkt) < packet.RTPLen || binary.BigEndian.Uint16(pkt)&m.hmask != m.hwant {
				m.pushSlow(path, ps, pkt, wire, at)
				return
			}
			// The common case: at most MaxArrivalJump after the path's
			// latest, RTP of the flow's payload type, the first
			// sequence number read and no restart's window open. The
			// number is extended as extend would, with no check of
			// the first (hwant was it), written out as in
			// Receiver.push.
			ps.last = at
			seq := uint16(pkt[2])<<8 | uint16(pkt[3])
			ext = m.maxSeq + int64(int16(seq-uint16(m.maxSeq)))
		} else {
			ext = m.extend(binary.BigEndian.Uint16(pkt[2:4]))
		}
	}
	// path is 0 or 1 (Push and NewReceiver have checked it), or that plus
	// 2 from pushSlow, or plus 4 from Receiver.push or PushUDPCut, which
	// have done the common case's work and extended the number (ext); the
	// RTP header's length is checked above or by pushSlow or the Receiver.
	path &= 1
	// The path's span of sequence numbers (PathStats.Lost): NewMerge
	// starts first and high at the ends of int64.
	if ext > ps.high {
		ps.high = ext
	}
	if ext < ps.first {
		ps.first = ext
	}
	if ext <= m.maxSeq {
		b := ext >> 6
		w := m.fastW // nearly always the word of a copy's number: then not too old
		if w.blk != b {
			if m.maxSeq>>6-b > m.mask {
				// Its word holds a later block: too old to tell. No
				// caller reaches this today (every ext below the
				// highest is nearestSeq's of it, at most 2^15
				// behind: 512 blocks against a mask of at least
				// 1023); it is kept on purpose, a compare on the way
				// of a copy whose word is not fastW (which holds its
				// block, so no later one), so that push stays right
				// for any ext a later caller hands it and never marks
				// a number in a later block's word.
				ps.Late++
				m.st.Late++
				return
			}
			if w = &m.words[b&m.mask]; w.blk != b {
				w = &m.none // marks nothing
			}
		}
		if ts := binary.BigEndian.Uint32(pkt[4:8]); int32(ts-m.newTS) > 0 {
			// Sent before the highest, yet later: a sender that
			// restarted behind its last number.
			m.pushRestart(path, ps, pkt, wire, at, ext)
			return
		}
		if w.seen&(1<<(ext&63)) != 0 {
			ps.Duplicates++
			if w.sbit == uint8(ext&63) && int(w.spath) != path {
				m.sample(path, w, at)
			}
			return
		}
		// The first copy of a number below the highest: pushFirst's way.
		m.pushCopy(path, ps, pkt, wire, at, ext)
		return
	}
	if ext == m.maxSeq+1 {
		// The first copy of the number after the highest (nearly every
		// one): pushNext (see isNext), written out.
		var h headers
		ok := parseHeaders(&h, pkt)
		m.parsed.add(uint64(h.rows))
		if m.isNext(&h, ok) {
			sl := m.takeNext(path, pkt, wire)
			m.s.note(&h, at)
			sl.d.pushParsed(pkt, &h)
			return
		}
		m.nextSlow(path, pkt, &h, ok, wire, at)
		return
	}
	// The first copy of a number further past the highest (some were
	// lost on both paths). Is it whole? Its headers are read once, here.
	var h headers
	if !parseHeaders(&h, pkt) {
		m.parsed.add(uint64(h.rows))
		ps.Malformed++
		m.st.Malformed++
		return
	}
	m.parsed.add(uint64(h.rows))
	b := ext >> 6
	m.pushFirst(path, ps, pkt, &h, wire, at, ext, &m.words[b&m.mask], b, uint64(1)<<(ext&63))
}

// isNext reports whether pkt, the first copy of the number after the
// highest, whose headers are h (whole if ok), takes pushNext's shortcut
// (takeNext): nearly every such packet is in a word of its block with a
// packet marked already (which took the word's skew sample, if any),
// neither the first nor the marker packet of the frame of the last
// packet, while the earliest frame held has not ended. What of that no
// packet changes refresh has found (fastSl, fastW, fastTS).
//
// pushNext is the way of the first copy of the number after the highest
// (nearly every first copy) once Receiver.push, Receiver.PushUDPCut or
// push has done its common case (counted it, taken its arrival, noted
// its span). All three write it out, for its call would cost nearly
// every first copy a dozen instructions more:
//
//	var h headers
//	ok := parseHeaders(&h, pkt)
//	m.parsed.add(uint64(h.rows))
//	if m.isNext(&h, ok) {
//		sl := m.takeNext(path, pkt, wire)
//		m.s.note(&h, at)
//		sl.d.pushParsed(pkt, &h)
//		return
//	}
//	m.nextSlow(path, pkt, &h, ok, wire, at)
func (m *Merge) isNext(h *headers, ok bool) bool {
	f := h.field & m.fmask & 1
	return ok && m.fastTS[f] == int64(h.ts) && !h.marker && !h.start
}

// takeNext marks and counts taken the packet isNext has let through,
// pkt from path, as pushFirst would but without the checks and searches
// that cannot apply to it, and returns its slot, whose depacketizer the
// caller gives it to once the flow has noted it. isNext and takeNext are
// small enough for the compiler to inline (no call of their own).
func (m *Merge) takeNext(path int, pkt []byte, wire int) *mslot {
	sl := m.fastSl
	ext := m.maxSeq + 1
	m.maxSeq = ext
	m.fastW.seen |= 1 << (ext & 63)
	if ext&63 == 63 {
		// The next number is of another word: refresh finds it.
		m.fastSl, m.fastTS = nil, [2]int64{noTS, noTS}
	}
	m.take(sl, path, pkt, wire)
	return sl
}

// nextSlow is pushNext's way for a packet isNext does not let through:
// malformed (not ok), or one for pushFirst.
func (m *Merge) nextSlow(path int, pkt []byte, h *headers, ok bool, wire int, at int64) {
	if !ok {
		m.paths[path].Malformed++
		m.st.Malformed++
		return
	}
	ext := m.maxSeq + 1
	b := ext >> 6
	m.pushFirst(path, &m.paths[path], pkt, h, wire, at, ext, &m.words[b&m.mask], b, uint64(1)<<(ext&63))
}

// refresh finds the state of pushNext's shortcut (fastSl, fastW,
// fastTS) after anything but the shortcut itself has changed the frames
// held, the sequence window or the highest number.
func (m *Merge) refresh() {
	m.fastSl, m.fastW, m.fastTS = nil, &m.none, [2]int64{noTS, noTS}
	c := m.cur
	if c < 0 || m.rel || !m.seqOK {
		return
	}
	sl := &m.slots[c]
	next := m.maxSeq + 1
	w := &m.words[(next>>6)&m.mask]
	if sl.open && w.blk == next>>6 && w.seen != 0 {
		m.fastSl, m.fastW = sl, w
		for f := range sl.have {
			if sl.have[f] {
				m.fastTS[f] = int64(sl.fts[f])
			}
		}
	}
}

// pushRestart takes pkt, ext before the restart it brings, as the first
// packet of a sender that restarted (a call of its own, so that push
// holds nothing across one).
func (m *Merge) pushRestart(path int, ps *pathState, pkt []byte, wire int, at, ext int64) {
	m.pushCopy(path, ps, pkt, wire, at, m.restart(path, ext, at))
	m.refresh() // if pushCopy dropped it, the restart has still moved the highest
}

// pushSlow is push's way for a packet of path ps (counted) that is not
// the common case: an arrival time not within MaxArrivalJump after the
// path's latest, a packet dropped before its sequence number is read, or
// one that came while a restart's window is open. What is left of its
// work push does, called again with path+2 (which skips what pushSlow
// has done): every call of push, whose common case calls nothing but
// the merge's next step last, stays free of saving its arguments first.
func (m *Merge) pushSlow(path int, ps *pathState, pkt []byte, wire int, at int64) {
	if at >= ps.last && uint64(at)-uint64(ps.last) <= uint64(MaxArrivalJump) {
		ps.last = at
	} else {
		at = m.arrival(ps, at)
	}
	if len(pkt) < packet.RTPLen || pkt[0]>>6 != packet.RTPVersion ||
		m.cfg.PayloadType != 0 && pkt[1]&0x7f != m.cfg.PayloadType {
		m.unread(ps, pkt)
		return
	}
	if m.oldOn && m.old(path, ps, pkt, wire, at) {
		return
	}
	m.push(path|2, ps, pkt, wire, at, 0)
}

// restart starts the sequence numbers afresh from ext, a packet of a
// sender that restarted, which path brought at at, and returns its new
// extended number: the first past the old highest by at least half the
// 16-bit space whose low 16 bits are ext's, so that no word of the window
// (which hold only blocks up to the old highest) reads as having seen it
// or a packet sent just before it, and none needs clearing: the cost of a
// restart is a constant, whatever a hostile sender makes of it. The
// frames held stay, to be handed out as their window passes, and the
// copies of the old stream's packets that the path behind still brings
// are told by their timestamps and go by the old stream's numbers (old)
// for a window; each path's span of sequence numbers (PathStats.Lost)
// starts afresh.
func (m *Merge) restart(path int, ext int64, at int64) int64 {
	base := m.maxSeq + 1<<15 + 1
	next := base + int64(uint16(ext)-uint16(base))
	m.oldMax, m.oldMin = m.maxSeq, m.minSeq
	m.maxSeq, m.minSeq = next-1, next
	m.setOld(true)
	m.oldTS, m.oldPath = m.newTS, path&1
	m.oldUntil = math.MaxInt64
	if at < math.MaxInt64-m.window {
		m.oldUntil = at + m.window
	}
	for p := range m.paths {
		ps := &m.paths[p]
		if ps.high >= ps.first {
			ps.spanDone += uint64(ps.high-ps.first) + 1
		}
		ps.first, ps.high = math.MaxInt64, math.MinInt64
	}
	ps := &m.paths[path&1]
	ps.first, ps.high = next, next
	m.keepOld(next)
	return next
}

// old reports whether pkt, which came on path (ps) at at within a window
// of a sender's restart, is of the old stream (its timestamp not later
// than the latest marked then, and not a second before it), and if so
// takes it by the old stream's numbers: absorbed if its number was seen
// (in its word of the window, or, if the new stream's numbers have taken
// that word since, in oldWords), late if its word holds a later block of
// the old stream, else taken into its frame (one the path ahead lost, for
// a frame still held) as any first copy. The window ends at at+Window, or
// once the other path than the restart's brings a packet of the new
// stream.
func (m *Merge) old(path int, ps *pathState, pkt []byte, wire int, at int64) bool {
	if at >= m.oldUntil {
		m.setOld(false)
		return false
	}
	ts := binary.BigEndian.Uint32(pkt[4:])
	newer := int32(ts-m.oldTS) > 0
	if newer && path&1 != m.oldPath {
		m.setOld(false) // the path behind has caught up
		return false
	}
	if newer || m.oldTS-ts >= m.lateTicks {
		// Of the new stream (or not of the old stream's last window):
		// taken by the new stream's numbers.
		m.keepOld(nearestSeq(m.maxSeq, binary.BigEndian.Uint16(pkt[2:])))
		return false
	}
	ps.unread++ // its sequence number is not the path's span's
	// Of the old stream: a copy, or the first of a packet the path
	// ahead lost, for a frame still held.
	ext := nearestSeq(m.oldMax, binary.BigEndian.Uint16(pkt[2:]))
	b := ext >> 6
	w := &m.words[b&m.mask]
	if w.blk > b {
		// The new stream's numbers took its word: the old stream's
		// block there, if any, is in oldWords.
		w = &m.oldWords[b&m.mask]
	}
	bit := uint64(1) << (ext & 63)
	if w.blk == b && w.seen&bit != 0 {
		ps.Duplicates++
		return true
	} else if w.blk > b || m.oldMax>>6-b > m.mask {
		// Its word holds a later block of the old stream: too old to tell.
		ps.Late++
		m.st.Late++
		return true
	}
	var h headers
	ok := parseHeaders(&h, pkt)
	m.parsed.add(uint64(h.rows))
	if !ok {
		ps.Malformed++
		m.st.Malformed++
		return true
	}
	newMax, newMin := m.maxSeq, m.minSeq
	m.maxSeq, m.minSeq = m.oldMax, m.oldMin
	m.pushFirst(path, ps, pkt, &h, wire, at, ext, w, b, bit)
	m.oldMax, m.oldMin = m.maxSeq, m.minSeq
	m.maxSeq, m.minSeq = newMax, newMin
	m.refresh() // pushFirst's was by the old stream's highest
	return true
}

// setOld opens (on) or closes a restart's window, and with it push's
// way for every packet (hwant: none takes the common case while it is
// open).
func (m *Merge) setOld(on bool) {
	m.oldOn = on
	m.hwant = 0xffff // no header masked by hmask is this
	if !on {
		m.hwant = m.hopen // a restart comes after the first number (seqOK)
	}
}

// keepOld saves, within a restart's window, the word of the window that
// ext of the new stream would take from the old stream (a restart just
// behind the old highest has the new numbers' words be the old ones'):
// the old stream's copies that still come find their numbers in oldWords.
// Every packet of the new stream within the window comes this way (from
// restart or old) before it is marked, so that mark, on push's way, need
// not look.
func (m *Merge) keepOld(ext int64) {
	b := ext >> 6
	if w := &m.words[b&m.mask]; w.blk != b && w.blk <= m.oldMax>>6 {
		m.oldWords[b&m.mask] = *w
	}
}

// unread counts a packet of path ps dropped before its sequence number was
// read: not RTP version 2, or of another payload type.
func (m *Merge) unread(ps *pathState, pkt []byte) {
	ps.Malformed++
	ps.unread++
	if len(pkt) < packet.RTPLen || pkt[0]>>6 != packet.RTPVersion {
		m.st.Malformed++
	} else {
		m.st.WrongPT++
	}
}

// pushCopy takes pkt, the first copy of ext, from path ps by way of
// pushFirst: a first copy of a number not past the highest (reordered,
// or lost on the other path) and the first packet of a restart (old
// takes one of the old stream after a restart to pushFirst itself, with
// its word). (push's way for the next number is a
// shortcut of pushFirst's: pushFirst does to such a packet what it does.)
func (m *Merge) pushCopy(path int, ps *pathState, pkt []byte, wire int, at, ext int64) {
	var h headers
	ok := parseHeaders(&h, pkt)
	m.parsed.add(uint64(h.rows))
	if !ok {
		ps.Malformed++
		m.st.Malformed++
		return
	}
	b := ext >> 6
	m.pushFirst(path, ps, pkt, &h, wire, at, ext, &m.words[b&m.mask], b, uint64(1)<<(ext&63))
}

// take counts the first copy pkt, wire octets long as sent, that path
// brought into the frame of slot sl. The packets each path gave are
// counted in the slot alone, and added to the path's when the frame is
// handed out.
func (m *Merge) take(sl *mslot, path int, pkt []byte, wire int) {
	m.s.stats.Bytes += uint64(wire)
	if wire > len(pkt) {
		m.s.stats.Truncated++
	}
	sl.paths[path&1]++
}

// sample takes the arrival at of the second copy of w's skew sample, which
// came on path.
func (m *Merge) sample(path int, w *seqWord, at int64) {
	var d wide.Int128 // this path's arrival after the other's, exact
	d.Add(at)
	d.Sub(w.at)
	if path == 0 {
		d = d.Neg()
	}
	m.skew.add(d)
	w.sbit = noSample
}

// pushFirst takes the first copy of ext (headers h), bit of word w of
// block b, that path ps brought, and refreshes pushNext's shortcut.
func (m *Merge) pushFirst(path int, ps *pathState, pkt []byte, h *headers, wire int, at, ext int64, w *seqWord, b int64, bit uint64) {
	m.takeFirst(path, ps, pkt, h, wire, at, ext, w, b, bit)
	m.refresh()
}

// takeFirst is pushFirst's work.
func (m *Merge) takeFirst(path int, ps *pathState, pkt []byte, h *headers, wire int, at, ext int64, w *seqWord, b int64, bit uint64) {
	// Of which frame?
	field := 0
	if m.fields == 2 {
		field = h.field
	}
	last := h.marker && field == m.fields-1 // ends the frame
	if last && len(pkt) > heldMax {
		ps.Malformed++ // longer than any ST 2110 datagram: it cannot be held back
		m.st.Malformed++
		return
	}
	if m.releasable() {
		m.release(at, false) // the frames whose window has passed go first
	}
	i := m.find(h.ts, field)
	if i < 0 && !m.late(h.ts) {
		i = m.open(h.ts, field, at)
	}
	m.mark(ext, w, b, bit, at, path, i >= 0, h.ts)
	if i < 0 {
		ps.Late++
		m.st.Late++
		return
	}
	sl := &m.slots[i]
	if last && sl.marker {
		// A second marker for a frame, hostile or from a sender that
		// restarted with the same timestamp: it would end the frame
		// before its time.
		ps.Malformed++
		m.st.Malformed++
		return
	}
	m.take(sl, path, pkt, wire)
	m.s.note(h, at)
	if !sl.have[field] {
		sl.have[field], sl.fts[field] = true, h.ts
	}
	if h.start && !sl.started {
		sl.started, sl.startSeq = true, ext
	}
	if last {
		sl.heldN = copy(sl.held, pkt)
		sl.marker, sl.markSeq = true, ext
		if !sl.ended {
			sl.ended, sl.endAt = true, at
			m.settle()
		}
	} else {
		sl.d.pushParsed(pkt, h) // the headers read once, as a single path does
	}
	// The release above has handed out what the window let go; what this
	// packet can add is a complete first frame, which has its marker.
	if len(m.order) > 0 && m.slots[m.order[0]].marker {
		m.release(at, false)
	}
}

// extend turns a 16-bit sequence number into the extended one nearest the
// highest seen on either path.
func (m *Merge) extend(seq uint16) int64 {
	if !m.seqOK {
		m.seqOK, m.hwant = true, m.hopen
		m.maxSeq, m.minSeq = int64(seq)-1, int64(seq)
		return int64(seq)
	}
	return nearestSeq(m.maxSeq, seq)
}

// mark records the first copy of ext (timestamp ts), bit of word w of
// block b, in the sequence window and, if its frame takes it, the loss counts (a late
// copy stays lost: its frame went without it), and takes it as the
// word's skew sample if it has none.
func (m *Merge) mark(ext int64, w *seqWord, b int64, bit uint64, at int64, path int, taken bool, ts uint32) {
	if !m.tsOK || int32(ts-m.newTS) > 0 {
		m.newTS, m.tsOK = ts, true
	}
	switch {
	case ext > m.maxSeq:
		m.st.Lost += uint64(ext - m.maxSeq - 1)
		m.maxSeq = ext
	default:
		if taken {
			m.st.Reordered++
		}
		m.st.Lost = lostBelow(m.st.Lost, &m.minSeq, ext, taken)
	}
	if w.blk != b {
		w.blk, w.seen, w.sbit = b, 0, noSample
	}
	w.seen |= bit
	if w.sbit == noSample && w.seen == bit {
		w.sbit, w.spath, w.at = uint8(ext&63), uint8(path), at
	}
}

// releasable reports whether release may hand out a frame now: frames go
// in order, and the earliest can go only once it has ended (its marker
// came, which ends it too, or a later frame's packet did). While it has
// not, release would look at it and stop.
func (m *Merge) releasable() bool { return m.rel }

// settle sets what releasable reports, after the frames held or the end
// of one of them changed: once for those changes, rather than for each
// packet that asks.
func (m *Merge) settle() {
	m.rel = len(m.order) > 0 && m.slots[m.order[0]].ended
}

// find returns the open slot whose frame a packet of timestamp ts and
// field f belongs to, or -1: the last packet's slot first, then the others
// (at most Held).
func (m *Merge) find(ts uint32, f int) int {
	if c := m.cur; c >= 0 {
		if sl := &m.slots[c]; sl.open && inFrame(&sl.fts, &sl.have, m.fields, m.gap, ts, f) {
			return c
		}
	}
	return m.findOther(ts, f)
}

// findOther is find's search of the slots held, when the last packet's
// slot does not take the packet.
func (m *Merge) findOther(ts uint32, f int) int {
	for _, i := range m.order {
		m.steps.add(1)
		if sl := &m.slots[i]; inFrame(&sl.fts, &sl.have, m.fields, m.gap, ts, f) {
			m.cur = i
			return i
		}
	}
	return -1
}

// late reports whether a frame of timestamp ts was handed out already:
// at or before the last one handed out, and not so far back (the window
// and a second, as a Depacketizer takes it) that it is a restarted
// sender.
func (m *Merge) late(ts uint32) bool {
	return m.haveRel && m.relTS-ts < m.lateTicks
}

// open opens a slot for a new frame of timestamp ts and field f that
// arrived at at, in timestamp order; a later frame's first packet ends the
// frames before it. With every slot open, the earliest frame is handed out
// as it is first. It returns -1 if ts is late by then.
func (m *Merge) open(ts uint32, f int, at int64) int {
	if len(m.order) == len(m.slots) {
		m.releaseFirst()
		if m.late(ts) {
			return -1
		}
	}
	i := 0
	for m.slots[i].open {
		m.steps.add(1)
		i++
	}
	sl := &m.slots[i]
	sl.d.reset()
	*sl = mslot{d: sl.d, held: sl.held, open: true, firstAt: at}
	sl.fts[f] = ts // have is set by the caller with the packet
	if f == 1 {
		sl.fts[0] = ts // the frame's timestamp until its first field comes
	}
	// In timestamp order, usually last; frames before it have ended.
	k := len(m.order)
	for k > 0 && int32(ts-m.slots[m.order[k-1]].fts[0]) < 0 {
		m.steps.add(1)
		k--
	}
	m.order = append(m.order, 0)
	copy(m.order[k+1:], m.order[k:])
	m.order[k] = i
	for _, j := range m.order[:k] {
		m.steps.add(1)
		if o := &m.slots[j]; !o.ended {
			o.ended, o.endAt = true, at
		}
	}
	m.settle()
	m.cur = i
	return i
}

// Expire hands out, in order, the frames whose window has passed at time
// at: for a receiver to call now and then while no packets come, so that
// the last frames before a pause do not wait for the next packet.
func (m *Merge) Expire(at int64) { m.release(at, false) }

// Flush hands out every frame held, in order, as it is: at the end of the
// input, once both paths have ended.
func (m *Merge) Flush() { m.release(0, true) }

// release hands out, in order, the frames that are complete (their first
// and marker packets and every one between came) or whose window has
// passed at time at, or all of them.
//
// The window is judged on the clock of the path that is behind: the later
// of its latest arrival and at less the window. The two paths' packets
// come to the merge from two readers, which a busy host may schedule
// apart: while the other path's reader lags by less than the window, a
// frame waits for its copies; a path that lags by more (or has stopped)
// holds the frames at most a window longer.
func (m *Merge) release(at int64, all bool) {
	back := at - m.window // at less the window, saturated at the start of int64
	if at < math.MinInt64+m.window {
		back = math.MinInt64
	}
	now := max(min(m.paths[0].last, m.paths[1].last), back)
	for len(m.order) > 0 {
		m.steps.add(1)
		sl := &m.slots[m.order[0]]
		complete := sl.marker && sl.started && int64(sl.paths[0]+sl.paths[1]) == sl.markSeq-sl.startSeq+1
		// now - endAt >= window, in unsigned arithmetic: the difference
		// of two int64 times may not fit one.
		passed := now >= sl.endAt && uint64(now)-uint64(sl.endAt) >= uint64(m.window)
		if !all && !complete && !(sl.ended && passed) {
			break
		}
		m.releaseFirst()
	}
	m.refresh()
}

// releaseFirst hands out the earliest frame held: its marker packet goes
// to its depacketizer, which ends the frame, or, without one, the frame is
// flushed as ended without its marker.
func (m *Merge) releaseFirst() {
	i := m.order[0]
	sl := &m.slots[i]
	if sl.heldN > 0 {
		sl.d.Push(sl.held[:sl.heldN])
	}
	if !sl.released {
		sl.d.Flush()
	}
	m.haveRel, m.relTS = true, sl.fts[0]
	if sl.have[1] && int32(sl.fts[1]-sl.fts[0]) > 0 {
		m.relTS = sl.fts[1]
	}
	sl.open = false
	m.taken[0] += uint64(sl.paths[0])
	m.taken[1] += uint64(sl.paths[1])
	m.order = append(m.order[:0], m.order[1:]...)
	m.settle()
	if m.cur == i {
		m.cur = -1
	}
}

// frame is slot i's depacketizer's OnFrame: the frame goes to the
// consumer, with the paths that brought its packets.
func (m *Merge) frame(i int, buf []byte, st *FrameStats) []byte {
	sl := &m.slots[i]
	sl.released = true
	st.Paths = sl.paths
	if !st.Marker {
		m.st.MissedMarkers++
	}
	return m.s.deliver(buf, st, sl.firstAt)
}

// takenBy returns the packets whose first copy path p brought: those of
// the frames handed out and of the slots still open.
func (m *Merge) takenBy(p int) uint64 {
	n := m.taken[p]
	for _, i := range m.order {
		n += uint64(m.slots[i].paths[p])
	}
	return n
}

// Stats returns the flow's counts: Packets are those taken (first
// copies), Duplicates the copies absorbed, Lost the sequence numbers
// skipped (neither path brought them, or they came only after a later one
// once their frame was handed out, then Late too), Late the copies that
// came after their frame was handed out or too old to tell; frames,
// packing and the analysis's rate as a Receiver's.
func (m *Merge) Stats() RxStats {
	st := m.st
	st.Packets = m.takenBy(0) + m.takenBy(1)
	st.Duplicates = m.paths[0].Duplicates + m.paths[1].Duplicates
	for i := range m.slots {
		d := m.slots[i].d.Stats()
		st.Frames += d.Frames
		st.Complete += d.Complete
		st.BadRows += d.BadRows
		st.Malformed += d.Malformed
		st.NoBuffer += d.NoBuffer
	}
	return m.s.rxStats(st)
}

// PathStats returns the counts of path p (0 or 1).
func (m *Merge) PathStats(p int) PathStats {
	ps := &m.paths[p]
	st := ps.PathStats
	st.Taken = m.takenBy(p)
	if seqd := ps.Packets - ps.unread; seqd > 0 { // packets whose sequence number was read
		span := ps.spanDone
		if ps.high >= ps.first {
			span += uint64(ps.high-ps.first) + 1
		}
		if span > seqd {
			st.Lost = span - seqd
		}
	}
	return st
}

// Skew returns the measured path differential.
func (m *Merge) Skew() Skew { return m.skew }

// Analysis returns the ST 2110-21 analysis of the flow's packets as taken
// (the first copies, at their arrival); see [Receiver.Analysis].
func (m *Merge) Analysis() (a Analysis, ok bool) {
	if an := m.s.an; an != nil {
		return an.Report(), true
	}
	return a, false
}

// Done reports whether the merge has handed out its Count of frames;
// false while it has no limit.
func (m *Merge) Done() bool {
	return m.s.done()
}
