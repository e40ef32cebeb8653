package video

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/nmgo/nmgo/packet"
)

// RxQueue is what a [Receiver] drains: received packets handed out in
// batches, as a netmap RX ring hands out its slots. The methods are those of
// *rings.RxRing, which satisfies RxQueue as it is. Syncing with the kernel
// and waiting for packets are the queue owner's.
type RxQueue interface {
	// Acquire takes up to n received packets, addressed as 0..k-1, and
	// returns k (0 when there are none).
	Acquire(n int) (int, error)
	// Packet returns acquired packet i: a whole Ethernet frame.
	Packet(i int) ([]byte, error)
	// Release hands the first n acquired packets back.
	Release(n int)
}

// RxBatchQueue is an [RxQueue] that also hands out its acquired packets
// several at a time, as *rings.RxRing and *xsk.RxQueue do. [Receiver.Drain]
// takes them that way from a queue that has the method: one call a batch
// instead of one a packet.
type RxBatchQueue interface {
	RxQueue
	// Packets stores acquired packets first, first+1, ... in pkts, as
	// many as pkts holds and are acquired, and returns how many it
	// stored. A packet that Packet would refuse is nil there (Packet
	// tells why). Drain hands it no room past the packets acquired,
	// takes a count past len(pkts) as len(pkts), reads room left
	// unstored as nil (Packet's then), and takes a count of 0 or less as
	// no batch: Packet gives it the rest.
	Packets(first int, pkts [][]byte) int
}

// RxStream is one stream of a [Receiver].
type RxStream struct {
	Format Format

	// Port is the UDP destination port of the stream's packets, for
	// [Receiver.Push], [Receiver.PushIP] and [Receiver.PushUDP]; zero takes
	// the first port, not claimed by another stream, that brings an RTP
	// packet.
	Port uint16

	// Addr, if valid, is the destination address of the stream's packets
	// (an ST 2110 flow's multicast group, the SDP's c= line): the stream
	// takes only packets to Addr and Port, so that several streams may
	// share a port. It needs Port.
	Addr netip.Addr

	// Source, if valid, is the only source address the stream takes (the
	// a=source-filter of a source-specific multicast flow). It needs Port.
	Source netip.Addr

	// PayloadType, if not zero, is the only RTP payload type accepted.
	PayloadType uint8

	// TROffset replaces TRO_DEFAULT in the stream's ST 2110-21 analysis
	// (the virtual receiver's read schedule), as its SDP's TROFF does;
	// zero means TRO_DEFAULT, as does one the timing model cannot take.
	TROffset time.Duration

	// Count is how many frames are given to OnFrame; zero means no end.
	// [Receiver.Done] reports when every stream has had its Count.
	Count uint64

	// OnFrame, if set, is called with each frame as it is reassembled
	// (see [DepacketizerConfig.OnFrame]), in pgroup wire layout; frame and
	// st are only valid during the call. A first frame that began before
	// the first packet received (the receiver started in the middle of it)
	// is not handed over but counted as skipped.
	OnFrame func(frame []byte, st *FrameStats)

	// TakeFrame, if set, is called instead of OnFrame and may keep frame:
	// it returns the buffer the next frame is written into (frame itself,
	// or another of at least [Format.FrameSize] octets; nil means frame).
	// arrival is when the frame's first packet seen arrived (the at of the
	// Push that brought it), or 0 if that packet is not known.
	TakeFrame func(frame []byte, st *FrameStats, arrival int64) []byte

	// Merge, if set, takes the stream's packets instead of a depacketizer
	// of the stream's own: the stream is path Path (0 or 1) of an ST
	// 2022-7 flow whose other path another Receiver, or this one, takes
	// too, and the Merge reassembles the frames once, from whichever copy
	// of each packet comes first. Format must be the Merge's or zero (the
	// Merge's is taken); Count, OnFrame and TakeFrame are the Merge's, so
	// must be unset here. The stream's [Receiver.Stats] then has the
	// path's Port, Bytes and Truncated only, its Analysis nothing: the
	// Merge has the flow's counts and analysis. The callers of the
	// receivers that feed one Merge must take turns (see [Merge]).
	Merge *Merge
	Path  int
}

// ReceiverConfig configures a [Receiver].
type ReceiverConfig struct {
	Streams []RxStream

	// Budget is charged by NewReceiver with all the memory the streams
	// may need (each stream's frame buffer and state, the receiver's
	// tables) before anything is allocated; a configuration that does not
	// fit is refused with a [*BudgetError] naming the stream. Nil means a
	// budget of [DefaultMemory] for this receiver alone. The charge is
	// kept for the receiver's life: share a Budget between receivers to
	// bound them together, through a ledger of it ([Budget.Ledger]) to
	// give the charge back ([Budget.Unwind]) when the receiver is dropped.
	Budget *Budget
}

// Memory the receiver charges besides frame buffers: its port table, and
// the state of each stream (the depacketizer's sequence window, the
// analyzer), rounded up.
const (
	receiverMemory = 2 << 16
	streamMemory   = 24 << 10
)

// ReceiverMemory returns what [NewReceiver] charges its budget for a
// receiver of one stream of format f that keeps its own frame buffer (not
// a path of a [Merge]): its tables, the stream's state and the frame
// buffer. A caller that sizes other buffers in the same budget (st2110's
// Listen, its frame pools) leaves this much room for the receiver.
func ReceiverMemory(f *Format) int64 {
	return receiverMemory + streamMemory + int64(f.FrameSize())
}

// RxStats are the counts of one stream of a [Receiver], with what its
// headers tell of it; [Receiver.Analysis] has its timing.
type RxStats struct {
	Stats // the depacketizer's counts

	Port      uint16 // UDP destination port, if received through Push or PushIP
	Bytes     uint64 // RTP packet octets, as sent (the UDP length less its 8-octet header, also for a truncated capture)
	Truncated uint64 // packets shorter than their UDP length (a capture with a short snap length, a datagram cut: PushUDPCut)
	Delivered uint64 // frames handed to OnFrame
	Skipped   uint64 // a first frame that began before the first packet received

	// PacketsPerField is the packets of one field (of the frame, if
	// progressive) from the extended sequence numbers of the last two
	// markers; 0 until two markers were seen.
	PacketsPerField int
	// Packing is the packing mode by the rule of ST 2110-20: block packing
	// if the sample data of every packet but the last of a field is
	// a multiple of 180 octets, general packing otherwise; 0 before the
	// first such packet.
	Packing Packing

	// Rate is the frame rate the analysis uses, RateCheck why, and RTPStep
	// the RTP timestamp step between the two markers the analysis started
	// from; all zero until it starts. See [RateCheck].
	Rate      Rate
	RateCheck RateCheck
	RTPStep   uint32
}

// RateCheck is how the frame rate of a stream's format compares with the
// RTP timestamps that arrive, which step by one field (or frame) period of
// the 90 kHz clock from marker to marker. The analysis uses the rate the
// check settles on.
type RateCheck uint8

const (
	RateUnchecked RateCheck = iota // the analysis has not started, or PsF (whose two segments share a timestamp)
	RateMatches                    // the timestamps step as the format's rate says: that rate is used
	// RateFieldRate: interlaced, and the timestamps of consecutive fields
	// are one period of the format's rate apart, so the rate is the
	// field rate, which some SDP writers put in exactframerate (EBU LIST
	// does) where ST 2110-20 means the frame rate: half of it is used.
	RateFieldRate
	RateMismatch // the timestamps fit neither: the format's rate is used
)

var rateChecks = [...]string{
	RateUnchecked: "unchecked",
	RateMatches:   "matches the RTP timestamps",
	RateFieldRate: "field rate: the RTP timestamps step a frame period of it per field",
	RateMismatch:  "does not match the RTP timestamps",
}

// String says what the check found.
func (c RateCheck) String() string {
	if int(c) < len(rateChecks) {
		return rateChecks[c]
	}
	return fmt.Sprintf("RateCheck(%d)", uint8(c))
}

// rxStream is a stream's state.
type rxStream struct {
	cfg    RxStream
	dst4   v4Filter // cfg.Addr and cfg.Source as IPv4 packets meet them
	src4   v4Filter
	d      *Depacketizer
	mps    *pathState // the path of cfg.Merge that it is (cfg.Path), if any
	an     *Analyzer  // from the second marker on; nil without a frame rate
	timing Timing     // the analyzer's, Packets aside; zero Rate: no analysis
	buf    []byte     // the frame buffer, made at the stream's first packet
	stats  RxStats
	// parsed counts the SRD headers pushOne's parseHeaders walked: with
	// d.steps, the loop steps a packet costs, which tests hold to one
	// walk of its headers.
	parsed workCount

	// leading frame
	haveStart bool
	startTS   uint32 // timestamp of the first packet seen with line 0, offset 0 of field 0

	// first arrivals of the latest timestamp seen and the one before
	haveTS        bool
	curTS, prevTS uint32
	curAt, prevAt int64

	// analysis
	seqOK     bool
	maxSeq    int64
	marked    bool
	markSeq   int64  // extended sequence number of the last marker
	markTS    uint32 // its RTP timestamp
	blocks    bool   // no non-final packet so far had data off the 180-octet grid
	nonFinals uint64
}

// Receiver receives many streams in one goroutine: it demultiplexes
// Ethernet frames (802.1Q tagged or not, IPv4 or IPv6) by UDP destination
// port, and where streams say so by destination and source address, into
// one [Depacketizer] per stream, hands whole frames to each stream's
// OnFrame, and keeps per-stream counts ([RxStats]) and an ST 2110-21
// analysis ([Receiver.Analysis]). Packets it cannot place are counted by
// [Receiver.Other].
// Arrival times are TAI nanoseconds, as the [Transmitter]'s.
//
// Whatever the packets say (sequence gaps, timestamp jumps, markers, SRD
// chains, ports), the work per packet is bounded by a constant, and the
// memory by what NewReceiver charged to the budget.
//
// A Receiver is not safe for concurrent use. Its per-packet methods do not
// allocate, except each stream's frame buffer at its first packet.
type Receiver struct {
	streams []rxStream
	sets    [][]uint16 // streams sharing a port or filtering by address, most specific first
	anyPort bool       // some stream takes the first port seen
	// Streams that take the first port seen and have none yet, in index
	// order: those that take any payload type, and those that take one,
	// by type. claim looks at the head of two lists, never at all streams.
	freeAny []int
	freePT  map[uint8][]int
	other   uint64

	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	ip4    layers.IPv4
	ip6    layers.IPv6
	udp    packet.UDP
	parser [3]*gopacket.DecodingLayerParser // from Ethernet, IPv4, IPv6
	layers []gopacket.LayerType
	depth  int // 802.1Q and IP layers of the packet being decoded

	// By UDP port: stream index, or shared|k for sets[k], or noPort.
	// In the Receiver itself, last, not behind a pointer: a packet's
	// look-up then reads neither a pointer nor checks it.
	byPort [1 << 16]uint16

	// Drain's batch from an RxBatchQueue, cleared before Drain returns.
	batch [drainBatch][]byte
}

// drainBatch is the most packets Drain takes from an RxBatchQueue in one
// call of its Packets: a batch beyond it takes more calls.
const drainBatch = 64

// maxSlowLayers bounds the layers udpSlow decodes in one packet: Ethernet,
// UDP and up to six 802.1Q tags and IP headers between them (QinQ, IP in
// IP). A packet nested deeper is not one of ours; decoding it on would
// cost what its nesting chooses and grow the list of decoded layers.
const maxSlowLayers = 8

// nested is a decoder of a layer that may repeat in a packet (802.1Q, IPv4,
// IPv6): it counts the layers in *depth and refuses the one past
// maxSlowLayers less Ethernet and UDP.
type nested struct {
	gopacket.DecodingLayer
	depth *int
}

func (n nested) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if *n.depth++; *n.depth > maxSlowLayers-2 {
		return errTooDeep
	}
	return n.DecodingLayer.DecodeFromBytes(data, df)
}

var errTooDeep = errors.New("video: more than 6 802.1Q and IP headers in one packet")

// NewReceiver checks c, charges its budget with what the streams may need
// and returns a receiver for them. A stream's frame buffer is made when its
// first packet arrives.
func NewReceiver(c *ReceiverConfig) (*Receiver, error) {
	if c == nil || len(c.Streams) == 0 {
		return nil, errors.New("video: receiver without streams")
	}
	if len(c.Streams) >= shared {
		return nil, fmt.Errorf("video: %d streams, at most %d", len(c.Streams), shared-1)
	}
	c = &ReceiverConfig{Streams: slices.Clone(c.Streams), Budget: c.Budget}
	for i := range c.Streams {
		s := &c.Streams[i]
		if s.Port == 0 && (s.Addr.IsValid() || s.Source.IsValid()) {
			return nil, fmt.Errorf("video: stream %d: an address (%v, source %v) needs a UDP port", i, s.Addr, s.Source)
		}
		if m := s.Merge; m != nil {
			if s.Format == (Format{}) {
				s.Format = m.cfg.Format
			}
			if err := m.checkPath(s); err != nil {
				return nil, streamErr(i, err)
			}
		}
	}
	if err := charge(c); err != nil {
		return nil, err
	}
	r := &Receiver{streams: make([]rxStream, len(c.Streams)),
		layers: make([]gopacket.LayerType, 0, maxSlowLayers)}
	for p := range r.byPort {
		r.byPort[p] = noPort
	}
	for i := range c.Streams {
		s := &r.streams[i]
		s.cfg = c.Streams[i]
		s.cfg.Addr, s.cfg.Source = s.cfg.Addr.Unmap(), s.cfg.Source.Unmap()
		s.dst4, s.src4 = newV4Filter(s.cfg.Addr), newV4Filter(s.cfg.Source)
		s.blocks = true
		if p := s.cfg.Port; p != 0 {
			s.stats.Port = p
		} else {
			r.anyPort = true
			if pt := s.cfg.PayloadType; pt != 0 {
				if r.freePT == nil {
					r.freePT = map[uint8][]int{}
				}
				r.freePT[pt] = append(r.freePT[pt], i)
			} else {
				r.freeAny = append(r.freeAny, i)
			}
		}
		if s.cfg.Merge != nil {
			// The Merge reassembles and analyses. checkPath has made
			// Path 0 or 1.
			s.mps = &s.cfg.Merge.paths[s.cfg.Path&1]
			continue
		}
		d, err := NewDepacketizer(&s.cfg.Format, &DepacketizerConfig{PayloadType: s.cfg.PayloadType, OnFrame: s.frame})
		if err != nil {
			return nil, streamErr(i, err)
		}
		s.d = d
		s.initTiming()
	}
	if err := r.route(); err != nil {
		uncharge(c)
		return nil, err
	}
	decoders := []gopacket.DecodingLayer{&r.eth, nested{&r.dot1q, &r.depth}, nested{&r.ip4, &r.depth}, nested{&r.ip6, &r.depth}, &r.udp}
	for i, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, decoders...)
		p.IgnoreUnsupported = true // stop after UDP: the RTP packet is ours to read
		r.parser[i] = p
	}
	return r, nil
}

// initTiming sets the timing of the stream's ST 2110-21 analysis from its
// format, if the format has a frame rate the timing model covers.
func (s *rxStream) initTiming() {
	f := &s.cfg.Format
	if !f.Rate.IsZero() {
		s.timing = Timing{Rate: f.Rate, Scan: f.Scan, Height: f.Height, TROffset: s.cfg.TROffset}
		_, err := NewAnalyzer(s.timing)
		if err != nil && s.timing.TROffset != 0 {
			s.timing.TROffset = 0 // one the model cannot take: TRO_DEFAULT
			_, err = NewAnalyzer(s.timing)
		}
		if err != nil {
			s.timing = Timing{} // a format the timing model does not cover
		}
	}
}

// charge checks the streams' formats and charges c's budget with the
// receiver's memory, stream by stream, so that the error names the stream
// that does not fit; on error nothing stays charged.
func charge(c *ReceiverConfig) error {
	b := c.Budget
	if b == nil {
		b = &Budget{limit: DefaultMemory}
	}
	if err := b.Charge("receiver tables", receiverMemory); err != nil {
		return err
	}
	total := int64(receiverMemory)
	for i := range c.Streams {
		s := &c.Streams[i]
		if err := s.Format.Validate(); err != nil {
			b.Release(total)
			return streamErr(i, err)
		}
		n := streamMemory + s.frameMemory()
		if err := b.Charge(s.name(i)+": frame buffer and state", n); err != nil {
			b.Release(total)
			return err
		}
		total += n
	}
	return nil
}

// uncharge gives back what charge took, for a receiver that is not made
// after all.
func uncharge(c *ReceiverConfig) {
	if c.Budget == nil {
		return
	}
	n := int64(receiverMemory)
	for i := range c.Streams {
		n += streamMemory + c.Streams[i].frameMemory()
	}
	c.Budget.Release(n)
}

// frameMemory is the frame buffer a stream charges: none for a path of a
// Merge, which has charged its own.
func (s *RxStream) frameMemory() int64 {
	if s.Merge != nil {
		return 0
	}
	return int64(s.Format.FrameSize())
}

// shared marks a byPort entry that indexes sets; noPort is the entry of
// a port without a stream (shared|k for no k: route keeps k below
// shared-1).
const (
	shared = 0x8000
	noPort = 0xffff
)

// route fills byPort: a port with one stream that takes every packet to
// it points at the stream; a port with several streams, or one that
// filters by address, points at a set of them ordered most specific first
// (address and source, address, source, neither). Two streams that would
// take the same packets are an error.
func (r *Receiver) route() error {
	byPort := map[uint16][]uint16{}
	var ports []uint16
	for i := range r.streams {
		p := r.streams[i].cfg.Port
		if p == 0 {
			continue
		}
		if byPort[p] == nil {
			ports = append(ports, p)
		}
		byPort[p] = append(byPort[p], uint16(i))
	}
	for _, p := range ports {
		set := byPort[p]
		for a, i := range set {
			for _, j := range set[a+1:] {
				x, y := &r.streams[i].cfg, &r.streams[j].cfg
				if x.Addr == y.Addr && x.Source == y.Source {
					return fmt.Errorf("video: streams %d and %d both take UDP port %d%s", i, j, p, x.filterText())
				}
			}
		}
		if c := &r.streams[set[0]].cfg; len(set) == 1 && !c.Addr.IsValid() && !c.Source.IsValid() {
			r.byPort[p] = set[0]
			continue
		}
		slices.SortStableFunc(set, func(i, j uint16) int {
			return r.streams[j].cfg.specificity() - r.streams[i].cfg.specificity()
		})
		if len(r.sets) == shared-1 {
			return errors.New("video: too many shared ports")
		}
		r.byPort[p] = shared | uint16(len(r.sets))
		r.sets = append(r.sets, set)
	}
	return nil
}

// name names stream i for errors: its index, format and port.
func (s *RxStream) name(i int) string {
	if s.Port != 0 {
		return fmt.Sprintf("stream %d (%v, UDP port %d)", i, s.Format, s.Port)
	}
	return fmt.Sprintf("stream %d (%v)", i, s.Format)
}

// specificity orders the streams of a port: address and source first,
// then address, then source, then neither.
func (c *RxStream) specificity() int {
	n := 0
	if c.Addr.IsValid() {
		n += 2
	}
	if c.Source.IsValid() {
		n++
	}
	return n
}

func (c *RxStream) filterText() string {
	s := ""
	if c.Addr.IsValid() {
		s += " of " + c.Addr.String()
	}
	if c.Source.IsValid() {
		s += " from " + c.Source.String()
	}
	return s
}

// NumStreams returns the number of streams.
func (r *Receiver) NumStreams() int { return len(r.streams) }

// Stats returns the counts and analysis of stream i.
func (r *Receiver) Stats(i int) RxStats {
	s := &r.streams[i]
	if s.cfg.Merge != nil {
		return s.stats // the Merge counts the rest
	}
	return s.rxStats(s.d.Stats())
}

// rxStats returns the stream's counts with the depacketizer's d.
func (s *rxStream) rxStats(d Stats) RxStats {
	st := s.stats
	st.Stats = d
	if s.nonFinals > 0 {
		st.Packing = GPM
		if s.blocks {
			st.Packing = BPM
		}
	}
	return st
}

// Analysis returns the ST 2110-21 analysis of stream i's arrival times
// ([Analyzer]): Cinst, VRX, TROffset and the sender type they fit. It
// starts once two markers have given the packets per field (from their
// extended sequence numbers, so a lost packet does not skew it), with the
// frame after the second. ok is false until then, and always for a format without
// a frame rate or one the timing model does not cover. The analysis is as
// good as the arrival times: a capture's per-packet timestamps, or one time
// per batch read from a ring or a socket, which makes a batch look like
// a burst.
func (r *Receiver) Analysis(i int) (a Analysis, ok bool) {
	if an := r.streams[i].an; an != nil {
		return an.Report(), true
	}
	return a, false
}

// Other returns the number of packets pushed that belong to no stream: not
// UDP, or to a port, address or from a source no stream takes.
func (r *Receiver) Other() uint64 { return r.other }

// Done reports whether every stream has handed its Count of frames to
// OnFrame; it is false while some stream has no limit.
func (r *Receiver) Done() bool {
	for i := range r.streams {
		s := &r.streams[i]
		if !s.done() {
			return false
		}
	}
	return true
}

// Flush delivers every frame being filled, as ended without its marker (at
// the end of the input). The frames of a Merge are its own to flush
// ([Merge.Flush]), once every path has ended.
func (r *Receiver) Flush() {
	for i := range r.streams {
		if r.streams[i].cfg.Merge == nil {
			r.streams[i].d.Flush()
		}
	}
}

// Push takes one Ethernet frame received at time at (TAI nanoseconds) and
// hands its RTP packet to the stream of its UDP destination port. It
// reports whether the frame belonged to a stream. A frame cut short (a
// capture with a short snap length) is still analysed; only its sample
// data is missing.
func (r *Receiver) Push(frame []byte, at int64) bool { return r.push(frame, at) != pushedNone }

// PushIP is Push for an IPv4 or IPv6 packet without a link-layer header
// (a raw-IP or Linux cooked capture).
func (r *Receiver) PushIP(pkt []byte, at int64) bool {
	if len(pkt) == 0 {
		r.other++
		return false
	}
	switch pkt[0] >> 4 {
	case 4:
		return r.pushSlow(1, pkt, at)
	case 6:
		return r.pushSlow(2, pkt, at)
	}
	r.other++
	return false
}

// push is Push: an Ethernet frame. It tells Drain whether the frame was
// a stream's, and whether it was a copy of a merge path's packet that push
// counted in its own way (a run of copies may follow: Drain's copies).
func (r *Receiver) push(data []byte, at int64) pushed {
	// Not >=: the payload's slice then needs no care for an empty one. A
	// frame of 42 octets, UDP with no payload, takes pushSlow's way
	// (gopacket), which finds the same port and stream.
	if len(data) > packet.UDPHdrLen {
		if port, size, wire := udp4Fast((*[packet.UDPHdrLen]byte)(data), len(data)); size >= 0 {
			payload := data[packet.UDPHdrLen:][:size]
			// A port with one stream (its index in byPort, neither
			// noPort nor shared|k: one compare tells, as fewer than
			// shared streams are, NewReceiver's limit): rxStream.push,
			// written out here to spare every packet a call.
			if i := int(r.byPort[port]); uint(i) < uint(len(r.streams)) {
				s := &r.streams[i]
				s.stats.Bytes += uint64(wire) // count, written out (see nearestSeq's below)
				if wire > len(payload) {
					s.stats.Truncated++
				}
				m := s.cfg.Merge
				if m == nil {
					s.pushOne(payload, at)
					return pushedOne
				}
				// A path of a merge. Half its packets are copies of
				// those the other path brought first, which Merge.push
				// would only count: its common case (the arrival, the
				// RTP header, extending the sequence number) and its
				// way for such a copy are written out here, to spare
				// them the call. So is the merge's pushNext, the way of
				// the first copy of the number after the highest (nearly
				// every other packet), its path's span noted here; any
				// other packet goes to Merge.push, with path+4 and its
				// extended number if its common case has been done
				// here. (The path, 0 or 1, is read only where it is
				// passed on: a copy needs none.) PushUDPCut writes the
				// same out again: what changes here changes there.
				ps := s.mps
				if len(payload) >= packet.RTPLen && at >= ps.last && uint64(at)-uint64(ps.last) <= uint64(MaxArrivalJump) &&
					binary.BigEndian.Uint16(payload)&m.hmask == m.hwant {
					ps.Packets++
					ps.last = at
					rtp := (*[packet.RTPLen]byte)(payload)
					// nearestSeq, written out: the first number was
					// read (hwant). (Inlined calls here would each
					// leave a NOP marking where they were, on every
					// packet: their code carries none of this line.)
					seq := uint16(rtp[2])<<8 | uint16(rtp[3])
					ext := m.maxSeq + int64(int16(seq-uint16(m.maxSeq)))
					// The path's span, as push notes it (again, and
					// alike, for a packet handed to it below).
					if ext > ps.high {
						ps.high = ext
					}
					if ext < ps.first {
						ps.first = ext
					}
					if ext <= m.maxSeq && int32(binary.BigEndian.Uint32(rtp[4:])-m.newTS) <= 0 {
						// Not a restarted sender's: a copy if its
						// number was seen, unless it is its word's
						// skew sample. (Never too old to tell: an
						// extended number is at most 2^15 behind the
						// highest, int16 -32768: at most 512 blocks,
						// against a mask of at least 1023.)
						b := ext >> 6
						w := m.fastW // nearly always the word of a copy's number
						if w.blk != b {
							if w = &m.words[b&m.mask]; w.blk != b {
								w = &m.none // marks nothing
							}
						}
						if w.seen&(1<<(ext&63)) != 0 && w.sbit != uint8(ext&63) {
							ps.Duplicates++
							return pushedCopy
						}
					} else if ext == m.maxSeq+1 {
						// The next number: a first copy.
						// Merge's pushNext, written out (see
						// Merge.isNext).
						var h headers
						ok := parseHeaders(&h, payload)
						m := s.cfg.Merge // read again, not kept across the call: every packet would save it
						m.parsed.add(uint64(h.rows))
						if m.isNext(&h, ok) {
							sl := m.takeNext(s.cfg.Path, payload, wire)
							m.s.note(&h, at)
							sl.d.pushParsed(payload, &h)
							return pushedOne
						}
						m.nextSlow(s.cfg.Path, payload, &h, ok, wire, at)
						return pushedOne
					}
					m.push(s.cfg.Path|4, ps, payload, wire, at, ext)
					return pushedOne
				}
				m.push(s.cfg.Path, ps, payload, wire, at, 0)
				return pushedOne
			}
			if r.pushPort(data, true, port, payload, wire, at) {
				return pushedOne
			}
			return pushedNone
		}
	}
	if r.pushSlow(0, data, at) {
		return pushedOne
	}
	return pushedNone
}

// pushed is what push did with a frame.
type pushed uint8

const (
	pushedNone pushed = iota // not a stream's
	pushedOne                // a stream's
	// A merge path's copy of a packet the merge has, counted in push's
	// way for a copy: one that passed udp4Fast, on a port of one stream,
	// with the common case's arrival and RTP header and the number's word
	// found in the merge.
	pushedCopy
)

// pushSlow takes data, an Ethernet frame (first 0) that udp4Fast does not
// take, or an IPv4 (1) or IPv6 (2) packet from PushIP. It is push's way
// for what is not its common case, in a function of its own so that push,
// which calls it last, need not save its arguments before that case.
func (r *Receiver) pushSlow(first int, data []byte, at int64) bool {
	port, payload, wire, ok := r.udpSlow(first, data)
	taken := ok && r.pushPort(data, false, port, payload, wire, at)
	if !ok {
		r.other++
	}
	r.forget()
	return taken
}

// pushPort hands payload, the UDP payload of frame data (found by
// udp4Fast if fast, else by udpSlow) to port, wire octets long as sent, to
// the stream of port that takes it.
func (r *Receiver) pushPort(data []byte, fast bool, port uint16, payload []byte, wire int, at int64) bool {
	e := r.byPort[port]
	i := int(e)
	switch {
	case e == noPort:
		i = r.claim(port, payload)
	case e&shared != 0:
		if fast {
			i = r.match4(r.sets[e&^shared], binary.BigEndian.Uint32(data[packet.EthLen+12:]), binary.BigEndian.Uint32(data[packet.EthLen+16:]))
			break
		}
		src, dst := r.slowAddrs()
		i = r.match(r.sets[e&^shared], src, dst)
	}
	if i < 0 {
		r.other++
		return false
	}
	r.streams[i].push(payload, wire, at)
	return true
}

// v4Filter is an address filter of a stream as an IPv4 packet meets it:
// any address (no filter), only one, or none (an IPv6 filter).
type v4Filter struct {
	kind uint8 // v4Any, v4One, v4None
	addr uint32
}

const (
	v4Any = iota
	v4One
	v4None
)

func newV4Filter(a netip.Addr) v4Filter {
	switch {
	case !a.IsValid():
		return v4Filter{kind: v4Any}
	case a.Is4():
		return v4Filter{kind: v4One, addr: binary.BigEndian.Uint32(a.AsSlice())}
	}
	return v4Filter{kind: v4None}
}

func (f v4Filter) takes(a uint32) bool { return f.kind == v4Any || f.kind == v4One && f.addr == a }

// match4 is match for an IPv4 packet from src to dst (the addresses as
// they are on the wire, big-endian), without making netip.Addrs.
func (r *Receiver) match4(set []uint16, src, dst uint32) int {
	for _, i := range set {
		s := &r.streams[i]
		if s.dst4.takes(dst) && s.src4.takes(src) {
			return int(i)
		}
	}
	return -1
}

// match returns the first stream of set whose address and source filters
// take a packet from src to dst, or -1.
func (r *Receiver) match(set []uint16, src, dst netip.Addr) int {
	for _, i := range set {
		c := &r.streams[i].cfg
		if (!c.Addr.IsValid() || c.Addr == dst) && (!c.Source.IsValid() || c.Source == src) {
			return int(i)
		}
	}
	return -1
}

// slowAddrs returns the addresses of the IP layer udpSlow decoded last.
func (r *Receiver) slowAddrs() (src, dst netip.Addr) {
	for k := len(r.layers) - 1; k >= 0; k-- {
		switch r.layers[k] {
		case layers.LayerTypeIPv4:
			src, _ = netip.AddrFromSlice(r.ip4.SrcIP)
			dst, _ = netip.AddrFromSlice(r.ip4.DstIP)
			return src.Unmap(), dst.Unmap()
		case layers.LayerTypeIPv6:
			src, _ = netip.AddrFromSlice(r.ip6.SrcIP)
			dst, _ = netip.AddrFromSlice(r.ip6.DstIP)
			return src.Unmap(), dst.Unmap()
		}
	}
	return src, dst
}

// PushUDP takes the payload of a UDP datagram from src to dst received at
// time at (TAI nanoseconds), as a socket reads it (with the destination
// from IP_PKTINFO), and hands it to the stream of its destination port and
// addresses. It reports whether the datagram belonged to a stream.
func (r *Receiver) PushUDP(src, dst netip.AddrPort, payload []byte, at int64) bool {
	return r.PushUDPCut(src, dst, payload, len(payload), at)
}

// PushUDPCut is PushUDP for a datagram of wire octets of payload read cut
// to payload, the start of it (into a buffer shorter than the datagram):
// it is counted as truncated, with its whole length in Bytes. A wire of
// len(payload) or less is a datagram read whole (PushUDP).
func (r *Receiver) PushUDPCut(src, dst netip.AddrPort, payload []byte, wire int, at int64) bool {
	e := r.byPort[dst.Port()]
	i := int(e)
	switch {
	case e == noPort:
		i = r.claim(dst.Port(), payload)
	case e&shared != 0:
		i = r.match(r.sets[e&^shared], src.Addr().Unmap(), dst.Addr().Unmap())
	}
	if i < 0 {
		r.other++
		return false
	}
	// rxStream.push, written out: its call would cost every datagram a
	// dozen instructions more.
	s := &r.streams[i]
	wire = max(wire, len(payload))
	s.stats.Bytes += uint64(wire)
	if wire > len(payload) {
		s.stats.Truncated++
	}
	m := s.cfg.Merge
	if m == nil {
		s.pushOne(payload, at)
		return true
	}
	// A path of a merge: Receiver.push's way, written out again as it is
	// there (its comments say why each step is as it is), so that a copy
	// and nearly every first copy are spared Merge.push's call, about 20
	// instructions each. Nothing shared does that for free: the way calls
	// too much to be inlined whole, and its pieces that can be (the
	// common case, the copy check), inlined into both, cost Receiver.push
	// about two instructions a first copy in what it saves on the stack.
	ps := s.mps
	if len(payload) >= packet.RTPLen && at >= ps.last && uint64(at)-uint64(ps.last) <= uint64(MaxArrivalJump) &&
		binary.BigEndian.Uint16(payload)&m.hmask == m.hwant {
		ps.Packets++
		ps.last = at
		rtp := (*[packet.RTPLen]byte)(payload)
		seq := uint16(rtp[2])<<8 | uint16(rtp[3])
		ext := m.maxSeq + int64(int16(seq-uint16(m.maxSeq)))
		if ext > ps.high {
			ps.high = ext
		}
		if ext < ps.first {
			ps.first = ext
		}
		if ext <= m.maxSeq && int32(binary.BigEndian.Uint32(rtp[4:])-m.newTS) <= 0 {
			b := ext >> 6
			w := m.fastW
			if w.blk != b {
				if w = &m.words[b&m.mask]; w.blk != b {
					w = &m.none
				}
			}
			if w.seen&(1<<(ext&63)) != 0 && w.sbit != uint8(ext&63) {
				ps.Duplicates++
				return true
			}
		} else if ext == m.maxSeq+1 {
			var h headers
			ok := parseHeaders(&h, payload)
			m := s.cfg.Merge
			m.parsed.add(uint64(h.rows))
			if m.isNext(&h, ok) {
				sl := m.takeNext(s.cfg.Path, payload, wire)
				m.s.note(&h, at)
				sl.d.pushParsed(payload, &h)
				return true
			}
			m.nextSlow(s.cfg.Path, payload, &h, ok, wire, at)
			return true
		}
		m.push(s.cfg.Path|4, ps, payload, wire, at, ext)
		return true
	}
	m.push(s.cfg.Path, ps, payload, wire, at, 0)
	return true
}

// udpSlow finds the UDP destination port and payload of a packet with
// gopacket (802.1Q, IPv6, IPv4 options, ...), starting at the link layer
// (first 0) or at IPv4 (1) or IPv6 (2). wire is the payload's length as sent.
func (r *Receiver) udpSlow(first int, data []byte) (port uint16, payload []byte, wire int, ok bool) {
	r.depth = 0
	if err := r.parser[first].DecodeLayers(data, &r.layers); err != nil || len(r.layers) == 0 ||
		r.layers[len(r.layers)-1] != layers.LayerTypeUDP {
		return 0, nil, 0, false
	}
	payload = r.udp.Payload
	wire = max(int(r.udp.Length)-packet.UDPLen, len(payload)) // a UDP length of 0 (jumbo) or one that lies
	return uint16(r.udp.DstPort), payload, wire, true
}

// forget drops what the decoded layers hold of the frame udpSlow read,
// once pushSlow is done with it: slices of it, which may be a ring's
// memory that the Receiver outlives (a ring unmapped, its addresses
// reused by the Go heap). The IPv4 options' array stays, cleared, for
// the next frame with options.
func (r *Receiver) forget() {
	clear(r.ip4.Options)
	r.eth = layers.Ethernet{}
	r.dot1q = layers.Dot1Q{}
	r.ip4 = layers.IPv4{Options: r.ip4.Options[:0]}
	r.ip6 = layers.IPv6{}
	r.udp = packet.UDP{}
}

// udp4Fast is udpSlow's result for the frames ST 2110 senders send, found
// by hand from h, the first octets of a frame n octets long: untagged
// Ethernet, IPv4 without options and not a fragment, UDP with a length of
// at least its header. The payload is the frame's size octets from
// packet.UDPHdrLen on; wire is its length as sent (the UDP length less
// its header: the payload, cut to the frame and the IP length, is never
// longer). size is negative for anything else, which takes udpSlow's
// way; for n >= packet.UDPHdrLen it is not negative exactly when the IP
// and UDP lengths have room for their headers. It is small enough for the
// compiler to inline into Receiver.push, which saves the call and what
// push would have to save around it, on every packet.
func udp4Fast(h *[packet.UDPHdrLen]byte, n int) (port uint16, size, wire int) {
	const ip, udp = packet.EthLen, packet.EthLen + packet.IPv4Len
	// EtherType IPv4, version 4 and a 20-octet header, any TOS; no
	// fragment offset or more-fragments flag, any TTL, protocol UDP.
	// (Read little-endian, octet 0 lowest: no byte swap to compare.)
	if binary.LittleEndian.Uint32(h[12:])&0x00_ff_ff_ff != 0x45_00_08 || binary.LittleEndian.Uint32(h[ip+6:])&0xff_00_ff_3f != 0x11_00_00_00 {
		return 0, -1, 0
	}
	ipLen := int(binary.BigEndian.Uint16(h[ip+2:]))
	udpLen := int(binary.BigEndian.Uint16(h[udp+4:]))
	size = min(n-packet.UDPHdrLen, ipLen-(packet.IPv4Len+packet.UDPLen), udpLen-packet.UDPLen)
	return binary.BigEndian.Uint16(h[udp+2:]), size, udpLen - packet.UDPLen
}

// claim gives port to the first stream that takes any port and the
// payload type of pkt, if pkt looks like RTP video; it returns the stream
// or -1. Its cost does not depend on the number of streams.
func (r *Receiver) claim(port uint16, pkt []byte) int {
	if !r.anyPort || len(pkt) < packet.RTPLen+packet.ExtSeqLen+packet.SRDLen || pkt[0]>>6 != 2 {
		return -1
	}
	pt := pkt[1] & 0x7f
	typed := r.freePT[pt]
	var i int
	switch {
	case len(r.freeAny) > 0 && (len(typed) == 0 || r.freeAny[0] < typed[0]):
		i, r.freeAny = r.freeAny[0], r.freeAny[1:]
	case len(typed) > 0:
		i, typed = typed[0], typed[1:]
		if len(typed) == 0 {
			delete(r.freePT, pt)
		} else {
			r.freePT[pt] = typed
		}
	default:
		return -1
	}
	s := &r.streams[i]
	s.stats.Port = port
	r.byPort[port] = uint16(i)
	r.anyPort = len(r.freeAny) > 0 || len(r.freePT) > 0
	return i
}

// PushRTP hands an RTP packet (a UDP payload) received at time at to
// stream i, as a socket bound to the stream's port reads it.
func (r *Receiver) PushRTP(i int, pkt []byte, at int64) {
	r.streams[i].push(pkt, len(pkt), at)
}

// Drain acquires up to max packets from q, pushes each as an Ethernet frame
// received at time at, releases them, and returns how many it took. Its
// arguments are in the order of [Transmitter.Step]'s: the queue, the time,
// the most packets.
// A packet q cannot read is skipped and its error returned after the batch.
// From an [RxBatchQueue] it takes the packets with Packets, a batch at a
// time, into an array of the Receiver's, which it clears before it
// returns: OnFrame and TakeFrame (the streams' or their Merges') must not
// call Drain on the same Receiver, which would overwrite the batch.
func (r *Receiver) Drain(q RxQueue, at int64, max int) (int, error) {
	n, err := q.Acquire(max)
	if n == 0 {
		return 0, err
	}
	first := 0
	if bq, ok := q.(RxBatchQueue); ok {
		for first < n {
			// Packets is handed no room past what was acquired, nor past
			// the batch (a full slice expression: not past it by its
			// capacity either), and what it says it stored is taken as
			// no more than that.
			m := min(n-first, len(r.batch))
			if first > 0 {
				// The piece before left its packets here: a count past
				// what Packets stored would push them again. Unstored,
				// the room is nil, which Packet reads.
				clear(r.batch[:m])
			}
			k := min(bq.Packets(first, r.batch[:m:m]), m)
			if k <= 0 {
				break // Packets broke its word: Packet takes the rest
			}
			for i, pkt := range r.batch[:k] {
				if pkt == nil {
					r.drainBad(q, first+i, at, &err)
					continue
				}
				if r.push(pkt, at) == pushedCopy {
					r.drainCopies(q, first, i, k, at, &err)
					break
				}
			}
			first += k
		}
		// The batch's slices address the queue's memory, which the
		// Receiver may outlive (a ring unmapped, its addresses reused by
		// the Go heap): none is kept past the Drain. The first piece
		// had the most room.
		clear(r.batch[:min(n, len(r.batch))])
	}
	for i := first; i < n; i++ {
		pkt, perr := q.Packet(i)
		if perr != nil {
			err = perr
			continue
		}
		r.Push(pkt, at)
	}
	q.Release(n)
	return n, err
}

// copies counts the run of copies that follows r.batch[i], a copy push
// counted in its way for one (pushedCopy), among r.batch[:k]; it returns
// the index of the run's last. The run goes on while the next frame is one
// udp4Fast takes, whole, to the same port, with the merge's RTP header and
// the number after the last: the same stream and merge path, which the
// copy before left at the batch's arrival time, so push's arrival checks
// hold and its extended number is the last one's plus one. That number is
// a copy as push tells one (not a restarted sender's, seen, not the skew
// sample), in the last one's word: a number past the last of the word
// reads as not seen. The run ends at the highest number, for push takes a
// number past it as new whatever its word holds: after a sender's
// restart, the old stream's copies mark numbers by the old highest, and
// those can lie past the new stream's. Push's counts follow, once for the
// run: the stream's, and the path's packets, span and copies. Anything
// else is left to push.
//
// copies reads the first copy's frame again and trusts nothing of what
// push found there: the frame is in memory others can write (a ring's
// buffer), and may hold another port or number now. So it checks, once
// for the run, what it relies on: a stream of a merge's path for the
// port, the path's latest arrival at (the run's arrival checks), a number
// not past the highest. A packet of the run is then counted as push
// counts it from its own octets, whatever the first frame holds.
func (r *Receiver) copies(i, k int, at int64) int {
	data := r.batch[i]
	port := binary.LittleEndian.Uint16(data[packet.EthLen+packet.IPv4Len+2:]) // as it lies: no byte swap
	j := int(r.byPort[port>>8|port<<8])
	if j >= len(r.streams) { // shared, noPort
		return i
	}
	s := &r.streams[j]
	m := s.cfg.Merge
	if m == nil || s.mps.last != at {
		return i
	}
	seq := binary.BigEndian.Uint16(data[packet.UDPHdrLen+2:])
	ext := m.maxSeq + int64(int16(seq-uint16(m.maxSeq)))
	if ext > m.maxSeq {
		return i
	}
	w := m.fastW // the number's word, found as push found it
	if w.blk != ext>>6 {
		if w = &m.words[(ext>>6)&m.mask]; w.blk != ext>>6 {
			w = &m.none
		}
	}
	// What the loop keeps in registers: the numbers seen after ext (less
	// the skew sample's), bit 0 for ext+1 (none past the word's last),
	// the RTP header's first four octets' mask and the value they must
	// have (the number in the low half, one more for each packet: it
	// wraps only past a word's last, where the numbers seen have ended
	// the run), the restart's timestamp.
	seen := w.seen
	if w.sbit != noSample {
		seen &^= 1 << (w.sbit & 63)
	}
	seen >>= ext&63 + 1
	mask, want := uint32(m.hmask)<<16|0xffff, uint32(m.hwant)<<16|uint32(uint16(ext))
	newTS := m.newTS
	run := r.batch[i+1 : min(k, i+1+int(m.maxSeq-ext))]
	n, bytes := 0, 0
	for n < len(run) {
		data := run[n]
		if len(data) < packet.UDPHdrLen+packet.RTPLen {
			break
		}
		h := (*[packet.UDPHdrLen + packet.RTPLen]byte)(data)
		// udp4Fast's checks, and a payload of an RTP header at least,
		// not cut short: the UDP length less its header (wire) is the
		// payload's size.
		wire := int(binary.BigEndian.Uint16(h[packet.EthLen+packet.IPv4Len+4:])) - packet.UDPLen
		want++
		if binary.LittleEndian.Uint32(h[12:])&0x00_ff_ff_ff != 0x45_00_08 || binary.LittleEndian.Uint32(h[packet.EthLen+6:])&0xff_00_ff_3f != 0x11_00_00_00 ||
			binary.LittleEndian.Uint16(h[packet.EthLen+packet.IPv4Len+2:]) != port ||
			wire < packet.RTPLen || wire > len(data)-packet.UDPHdrLen || wire > int(binary.BigEndian.Uint16(h[packet.EthLen+2:]))-(packet.IPv4Len+packet.UDPLen) ||
			binary.BigEndian.Uint32(h[packet.UDPHdrLen:])&mask != want || int32(binary.BigEndian.Uint32(h[packet.UDPHdrLen+4:])-newTS) > 0 ||
			seen&1 == 0 {
			break
		}
		seen >>= 1
		bytes += wire
		n++
	}
	if n > 0 {
		s.stats.Bytes += uint64(bytes)
		ps := s.mps
		ps.Packets += uint64(n)
		ps.Duplicates += uint64(n)
		ps.first = min(ps.first, ext+1)
		ps.high = max(ps.high, ext+int64(n))
	}
	return i + n
}

// drainCopies is Drain's loop over r.batch[:k], the packets first on of
// q, from r.batch[i] on, a copy push counted in its way for one: it counts
// the run of copies that follows it (copies), pushes the packets after
// the run, and so on, to the batch's end. In a function of its own, so
// that Drain's loop for the packets before the first copy (all of them,
// on a single path) is not longer for the runs.
func (r *Receiver) drainCopies(q RxQueue, first, i, k int, at int64, err *error) {
	for i < k {
		for i = r.copies(i, k, at) + 1; i < k; i++ {
			pkt := r.batch[i]
			if pkt == nil {
				r.drainBad(q, first+i, at, err)
				continue
			}
			if r.push(pkt, at) == pushedCopy {
				break
			}
		}
	}
}

// drainBad is Drain's way for acquired packet i of q, which Packets gave
// as nil: Packet gives its error, kept in *err, as it does without
// Packets (or the packet, pushed, should the slot have become good since).
// err is in memory, not in a register of Drain's loop: every packet would
// otherwise save it around its push.
//
//go:noinline
func (r *Receiver) drainBad(q RxQueue, i int, at int64, err *error) {
	pkt, perr := q.Packet(i)
	if perr != nil {
		*err = perr
		return
	}
	r.push(pkt, at)
}

// push takes the stream's RTP packet pkt, wire octets long as sent. The
// first one makes the frame buffer, which NewReceiver has charged.
func (s *rxStream) push(pkt []byte, wire int, at int64) {
	s.count(pkt, wire)
	if m := s.cfg.Merge; m != nil {
		m.push(s.cfg.Path, s.mps, pkt, wire, at, 0)
		return
	}
	s.pushOne(pkt, at)
}

// count counts the stream's RTP packet pkt, wire octets long as sent.
func (s *rxStream) count(pkt []byte, wire int) {
	s.stats.Bytes += uint64(wire)
	if wire > len(pkt) {
		s.stats.Truncated++
	}
}

// alloc makes the stream's frame buffer, which NewReceiver has charged,
// and writes to each of its pages.
func (s *rxStream) alloc() {
	s.buf = make([]byte, s.cfg.Format.FrameSize())
	prefault(s.buf)
	_ = s.d.SetBuffer(s.buf) // of the format's size: no error
}

// prefault writes a zero to every page of b, a buffer just made and all
// zero: a large buffer comes straight from the operating system, which
// gives each page its memory at the first write to it, a page fault of
// some thousand instructions. Done once when a frame buffer is made, it
// keeps those faults (a thousand and more per 1080p frame) out of the
// receive loop that fills the buffer first.
func prefault(b []byte) {
	for i := 0; i < len(b); i += pageSize {
		b[i] = 0
	}
}

// pageSize is the smallest page size of the platforms Go runs on; a
// larger page is written more than once, which is harmless.
const pageSize = 4096

// AllocFrames makes the frame buffer of every stream that has none yet,
// as each stream's first packet would (NewReceiver has charged them all):
// for a caller that expects every stream and wants the allocation, and
// the garbage collection it may start, done before its receive loop rather
// than in it. Other callers let the buffers come with the packets.
func (r *Receiver) AllocFrames() {
	for i := range r.streams {
		if s := &r.streams[i]; s.buf == nil && s.cfg.Merge == nil {
			s.alloc()
		}
	}
}

// observe analyses one packet, whose headers parseHeaders read (ok), before
// the depacketizer takes it.
func (s *rxStream) observe(h *headers, ok bool, at int64) {
	if !ok || s.cfg.PayloadType != 0 && h.pt != s.cfg.PayloadType {
		return
	}
	s.note(h, at)
}

// pushOne analyses pkt and gives it to the depacketizer, its headers read
// once for both. The first packet makes the frame buffer.
func (s *rxStream) pushOne(pkt []byte, at int64) {
	if s.buf == nil {
		s.alloc()
	}
	var h headers
	ok := parseHeaders(&h, pkt)
	s.parsed.add(uint64(h.rows))
	s.observe(&h, ok, at)
	switch {
	case ok:
		s.d.pushParsed(pkt, &h)
	case h.rows > 0:
		s.d.dropChain(pkt, &h) // not walked again
	default:
		s.d.Push(pkt) // counts what is wrong with it
	}
}

// note analyses a packet whose headers are h.
func (s *rxStream) note(h *headers, at int64) {
	ext := s.extend(h.seq)
	if !s.haveTS || int32(h.ts-s.curTS) > 0 {
		if s.haveTS && s.markTS != s.curTS {
			// The frame before ended without its marker coming (lost,
			// or the sender cut the frame short to catch up with its
			// schedule): a marker pair across it would count two
			// frames' packets as one's. (Its marker reordered after
			// this packet costs the pair too.)
			s.marked = false
		}
		s.prevTS, s.prevAt = s.curTS, s.curAt
		s.haveTS, s.curTS, s.curAt = true, h.ts, at
	}
	if h.start && !s.haveStart {
		s.haveStart, s.startTS = true, h.ts
	}
	grid := true // the packet's data a multiple of BPMBlock, found once for both counts
	if h.marker {
		if s.marked && ext > s.markSeq {
			s.stats.PacketsPerField = int(min(ext-s.markSeq, math.MaxInt))
			if s.an == nil && !s.timing.Rate.IsZero() {
				s.checkRate(h.ts - s.markTS)
				s.startAnalysis()
			}
		}
		s.marked, s.markSeq, s.markTS = true, ext, h.ts
	} else {
		s.nonFinals++
		if grid = h.data%BPMBlock == 0; !grid {
			s.blocks = false
		}
	}
	if s.an != nil {
		s.an.Packet(at, h.ts, h.marker)
		s.an.payload(h.rows, grid)
	}
}

// checkRate compares the format's rate with step, the RTP timestamp step
// from one marker to the next, and settles the rate the analysis uses.
func (s *rxStream) checkRate(step uint32) {
	st, r := &s.stats, s.timing.Rate
	st.RTPStep, st.Rate = step, r
	// Ticks of the 90 kHz clock per field (frame), times 2 for rounding.
	fields := uint64(s.timing.Scan.Fields())
	want2 := 2 * 90000 * uint64(r.Den) / (uint64(r.Num) * fields)
	near := func(want2 uint64) bool { d := int64(2*uint64(step)) - int64(want2); return d >= -4 && d <= 4 } // ±2 ticks
	switch {
	case s.timing.Scan == PsF:
		st.RateCheck = RateUnchecked
	case near(want2):
		st.RateCheck = RateMatches
	case s.timing.Scan == Interlaced && near(2*want2):
		st.RateCheck = RateFieldRate
		half := Rate{r.Num, 2 * r.Den}
		if half.Num%2 == 0 {
			half = Rate{r.Num / 2, r.Den}
		}
		st.Rate, s.timing.Rate = half, half
	default:
		st.RateCheck = RateMismatch
	}
}

// startAnalysis starts the ST 2110-21 analysis with NPACKETS from the
// sequence numbers of two markers, which a lost packet does not change (an
// Analyzer left to count the packets of a first frame would count fewer).
// The analysis begins with this marker, so that the next packet starts a
// frame.
func (s *rxStream) startAnalysis() {
	t := s.timing
	t.Packets = s.stats.PacketsPerField
	if an, err := NewAnalyzer(t); err == nil {
		s.an = an
	} else {
		s.timing = Timing{}
	}
}

// extend turns a 16-bit sequence number into the extended one nearest the
// highest seen (the RFC 4175 extension is 0 from GStreamer and FFmpeg).
func (s *rxStream) extend(seq uint16) int64 {
	if !s.seqOK {
		s.seqOK, s.maxSeq = true, int64(seq)
		return s.maxSeq
	}
	ext := nearestSeq(s.maxSeq, seq)
	s.maxSeq = max(s.maxSeq, ext)
	return ext
}

// frame is the depacketizer's OnFrame: the frame's arrival is that of
// the packets of its timestamp, where the stream still knows it.
func (s *rxStream) frame(buf []byte, st *FrameStats) []byte {
	var at int64
	switch {
	case !s.haveTS:
	case st.Timestamp == s.curTS:
		at = s.curAt
	case st.Timestamp == s.prevTS:
		at = s.prevAt
	}
	return s.deliver(buf, st, at)
}

// deliver hands a finished frame that arrived at at to TakeFrame or
// OnFrame, or skips it: the frames before the first whole one, and those
// past Count. It returns the buffer to assemble the next frame into.
func (s *rxStream) deliver(buf []byte, st *FrameStats, at int64) []byte {
	if s.stats.Delivered+s.stats.Skipped == 0 && !(s.haveStart && st.Timestamp == s.startTS) {
		s.stats.Skipped++
		return buf
	}
	if s.done() {
		return buf
	}
	s.stats.Delivered++
	if s.cfg.TakeFrame != nil {
		if next := s.cfg.TakeFrame(buf, st, at); next != nil {
			return next
		}
		return buf
	}
	if s.cfg.OnFrame != nil {
		s.cfg.OnFrame(buf, st)
	}
	return buf
}

// done reports whether the stream has handed out its Count of frames.
func (s *rxStream) done() bool {
	return s.cfg.Count != 0 && s.stats.Delivered >= s.cfg.Count
}

// headers are the fields of an RTP packet's headers the analysis and the
// depacketizer read.
type headers struct {
	ts     uint32
	seq    uint16
	pt     uint8
	marker bool
	start  bool // its first SRD is line 0, offset 0 of the first field
	field  int  // its first SRD's F bit
	data   int  // sample octets its SRD headers announce
	rows   int  // SRD headers
	hl     int  // length of the RTP header, extension included
}

// parseHeaders reads the RTP header and the RFC 4175 payload header of pkt,
// which may be cut short after them, into h, and reports whether they are
// whole: RTP version 2, SRD headers within the packet (as many as it
// holds), the last without its continuation bit. When they are not,
// h.rows is not zero only if the SRD headers alone ran off the packet's
// end: it is then how many were walked, and the RTP header's fields are
// set. h is written through, not returned, so that a caller that hands it
// on by pointer has it in place.
func parseHeaders(h *headers, pkt []byte) bool {
	if len(pkt) < packet.RTPLen+packet.ExtSeqLen+packet.SRDLen || pkt[0]>>6 != packet.RTPVersion {
		return false
	}
	b0 := pkt[0]
	hl := packet.RTPLen + 4*int(b0&0x0f)
	if b0&0x10 != 0 {
		if len(pkt) < hl+4 {
			return false
		}
		hl += 4 + 4*int(binary.BigEndian.Uint16(pkt[hl+2:]))
	}
	if len(pkt) < hl+packet.ExtSeqLen+packet.SRDLen {
		return false
	}
	b1 := pkt[1]
	h.marker, h.pt = b1&0x80 != 0, b1&0x7f
	h.seq, h.ts, h.hl = binary.BigEndian.Uint16(pkt[2:]), binary.BigEndian.Uint32(pkt[4:]), hl
	q := hl + packet.ExtSeqLen
	srd := (*[packet.SRDLen]byte)(pkt[q : q+packet.SRDLen])
	h.start = srd[2]|srd[3]|srd[4]&0x7f|srd[5] == 0 // line 0, offset 0, first field
	h.field = int(srd[2] >> 7)
	data := int(binary.BigEndian.Uint16(srd[:]))
	if srd[4]&0x80 == 0 { // one SRD, as most packets have
		h.data, h.rows = data, 1
		return true
	}
	// The others, by offset: the start of header n+1.
	for n, i := 1, q+packet.SRDLen; ; n, i = n+1, i+packet.SRDLen {
		if i+packet.SRDLen > len(pkt) {
			h.rows = n // the SRD headers walked: see dropChain
			return false
		}
		s := (*[packet.SRDLen]byte)(pkt[i : i+packet.SRDLen])
		data += int(s[0])<<8 | int(s[1])
		if s[4]&0x80 == 0 {
			h.data, h.rows = data, n+1
			return true
		}
	}
}
