package video

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"math/rand/v2"

	"github.com/nmgo/nmgo/packet"
)

// Packing is the ST 2110-20 packing mode (fmtp "PM"). The zero value is
// invalid; a nil or zero PacketizerConfig means GPM.
type Packing uint8

const (
	_   Packing = iota
	GPM         // general packing mode, "2110GPM"
	BPM         // block packing mode, "2110BPM": sample data in multiples of 180 octets
)

// String returns the SDP spelling: "2110GPM" or "2110BPM".
func (p Packing) String() string {
	switch p {
	case GPM:
		return "2110GPM"
	case BPM:
		return "2110BPM"
	}
	return fmt.Sprintf("Packing(%d)", uint8(p))
}

// UDP payload limits of ST 2110-10 (fmtp MAXUDP).
const (
	MaxUDP         = 1460 // standard UDP size limit
	MaxUDPExtended = 8960 // extended (jumbo) limit
)

// BPMBlock is the unit of block packing: the sample data of every BPM packet
// but the last of a field is a multiple of it.
const BPMBlock = 180

// rtpHeaders is the RTP header and the extended sequence number that open
// every packet.
const rtpHeaders = packet.RTPLen + packet.ExtSeqLen

// maxSRD is the most SRD headers ST 2110-20 allows in one packet.
const maxSRD = 3

// PacketizerConfig configures a [Packetizer]. A nil config means the
// defaults: GPM with one line per packet, UDP payloads up to 1460 octets,
// RTP-only output with payload type 96.
type PacketizerConfig struct {
	Packing Packing // zero means GPM

	// Continuous (GPM only) packs lines back to back as GStreamer and
	// FFmpeg do: a packet that finishes a line goes on with the next one
	// under a second (or third; more with MaxRows) SRD header. Without it each line is split
	// into equal pgroup-aligned packets that never cross a line end (as
	// hardware senders do: 4 x 1200 octets for a 1920-pixel 4:2:2 10-bit
	// line).
	Continuous bool

	// MaxRows, with Continuous, is the most SRD headers (rows or parts
	// of rows) a packet carries; zero means the three ST 2110-20 allows.
	// More packs short rows as FFmpeg and GStreamer do, as many as fit:
	// RFC 4175 sets no limit, so a narrow format (8 pixels of 4:2:2
	// 10-bit, 56 rows in 1460 octets) takes far fewer packets, but the
	// stream is then for RFC 4175 receivers, not ST 2110-20 ones. The
	// rule is GStreamer's (rtpvrawpay): another row while a header and a
	// pgroup fit in what is left. FFmpeg's rtpenc_rfc4175.c differs at
	// the boundary: it goes on only while more than that is left, so
	// where exactly a header and a pgroup are left its packet ends a row
	// sooner.
	MaxRows int

	// PayloadSize is the largest UDP payload (RTP header through the last
	// sample octet), at most MaxUDPExtended; zero means MaxUDP. With BPM the
	// sample data of a packet is the largest multiple of 180 octets that
	// fits with three SRD headers: 1260 for 1460. That size is fixed by
	// MAXUDP (receivers and SDP tools derive NPACKETS from it, as MTL's
	// 1260-octet BPM does), and ST 2110-20 allows at most three SRDs in a
	// packet, so BPM is refused for rows so narrow that such a packet
	// would span more than three of them (below some 630 octets a row, 252
	// pixels of 4:2:2 10-bit): GPM carries them.
	PayloadSize int

	// Template, if set, makes [Packetizer.Next] write whole Ethernet frames:
	// the template writes the Ethernet, IP, UDP and RTP headers and the
	// extended sequence number (its config must have RFC4175 set;
	// NewPacketizer refuses a template without it). PayloadType
	// and SSRC below are then unused. Without it Next writes the RTP packet
	// (the UDP payload) alone, for a UDP socket.
	Template *packet.Template

	PayloadType uint8 // RTP payload type without a template; zero means 96

	// SSRC is the RTP SSRC without a template (a template carries its
	// own). Zero means a random one, as RFC 3550 §8.1 has SSRCs chosen.
	SSRC uint32
	// Seq is the extended sequence number of the first packet. Zero means
	// a random RTP sequence number (RFC 3550 §5.1 wants the initial one
	// random) with the RFC 4175 extension starting at 0, as GStreamer and
	// FFmpeg start it.
	Seq uint32
	// NoRandom keeps a zero SSRC and Seq as zero instead of drawing random
	// ones, for output that is the same on every run (tests, golden files).
	NoRandom bool
}

// Errors of the packetizer's per-packet path.
var (
	ErrNoFrame     = errors.New("video: no frame to packetize")
	ErrShortBuffer = errors.New("video: destination buffer too short for the packet")
)

type packMode uint8

const (
	modeLine  packMode = iota // GPM, one line per packet, equal splits
	modeCont                  // GPM, lines packed continuously
	modeBlock                 // BPM
)

// Packetizer turns frames into RFC 4175 packets, one per call to
// [Packetizer.Next], written straight into the caller's buffer. It is not
// safe for concurrent use; run one per stream (they share nothing).
type Packetizer struct {
	pg       Pgroup
	rowBytes int
	rows     int // per field
	fields   int
	mode     packMode
	chunk    int // modeLine: sample octets per packet; modeBlock: block octets
	budget   int // modeCont: octets after RTP header and ESN
	perField int
	maxLen   int
	sizeM    uint64 // 2^64 / pgroup size, rounded up; 0 for size 1

	tmpl   *packet.Template
	hdrLen int // octets before the first SRD header
	pt     uint8
	ssrc   uint32
	seq    uint32

	half int64 // interlaced: half a frame period in ns, rounded, the second field's offset

	frame []byte
	ts    [2]uint32
	fld   int // current field
	row   int // next row in the field
	col   int // next octet in the row
	sent  int // packets sent of the current frame

	// With MaxRows, room for the plan of one packet: one segment more
	// than the SRD headers a packet may carry (MaxRows, or fewer if no
	// packet holds as many; planRows stops at len(segs)-1), which
	// nextRows takes instead of Next's four on the stack. Nil without
	// MaxRows: maxSRD headers at most.
	segs []seg
}

// seg is one SRD: a run of a row.
type seg struct {
	row, col, n int
}

// NewPacketizer returns a packetizer for f, which must be valid.
func NewPacketizer(f *Format, c *PacketizerConfig) (*Packetizer, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if c == nil {
		c = &PacketizerConfig{}
	}
	p := &Packetizer{
		pg: f.Pgroup(), rowBytes: f.RowBytes(), rows: f.Rows(), fields: f.Scan.Fields(),
		tmpl: c.Template, hdrLen: rtpHeaders, pt: c.PayloadType, ssrc: c.SSRC, seq: c.Seq,
	}
	if !c.NoRandom {
		if p.ssrc == 0 {
			p.ssrc = rand.Uint32()
		}
		if p.seq == 0 {
			p.seq = uint32(rand.N(1 << 16))
		}
	}
	p.sizeM = ^uint64(0)/uint64(p.pg.Size) + 1
	if f.Scan == Interlaced && f.Rate.IsZero() {
		return nil, errors.New("video: interlaced video needs a frame rate to timestamp its second field")
	}
	if f.Scan == Interlaced {
		r := f.Rate
		p.half = int64((uint64(1e9)*uint64(r.Den) + uint64(r.Num)) / (2 * uint64(r.Num)))
	}
	if p.pt == 0 {
		p.pt = 96
	}
	if p.pt > 127 {
		return nil, fmt.Errorf("video: payload type %d out of range", p.pt)
	}
	if p.tmpl != nil {
		if !p.tmpl.RFC4175() {
			// The packets would have no extended sequence number, and
			// a receiver would read the first SRD header's first two
			// octets as one: every row misplaced.
			return nil, errors.New("video: the packet template lacks the RFC 4175 extended sequence number (set TemplateConfig.RFC4175)")
		}
		p.hdrLen = p.tmpl.Len()
	}
	size := c.PayloadSize
	if size == 0 {
		size = MaxUDP
	}
	if size > MaxUDPExtended {
		return nil, fmt.Errorf("video: payload size %d over the extended UDP limit %d", size, MaxUDPExtended)
	}
	room := size - rtpHeaders // after RTP header and ESN
	if room < packet.SRDLen+p.pg.Size {
		return nil, fmt.Errorf("video: payload size %d too small for one %d-octet pgroup", size, p.pg.Size)
	}
	maxRows := maxSRD
	if c.MaxRows != 0 {
		if c.MaxRows < 0 || !c.Continuous || c.Packing == BPM {
			return nil, fmt.Errorf("video: MaxRows %d: want a positive count, with Continuous GPM", c.MaxRows)
		}
		// No more than a packet can hold: the plan's segments are
		// made for as many.
		maxRows = min(c.MaxRows, room/(packet.SRDLen+p.pg.Size))
		p.segs = make([]seg, maxRows+1)
	}
	switch c.Packing {
	case 0, GPM:
		if c.Continuous {
			p.mode, p.budget = modeCont, room
			break
		}
		// Equal splits: the fewest packets per row, then as equal as whole
		// pgroups allow, the last one of a row taking the remainder.
		per := (room - packet.SRDLen) / p.pg.Size // pgroups per packet at most
		groups := p.rowBytes / p.pg.Size
		n := (groups + per - 1) / per
		p.mode, p.chunk = modeLine, (groups+n-1)/n*p.pg.Size
	case BPM:
		if BPMBlock%p.pg.Size != 0 {
			return nil, fmt.Errorf("video: BPM not possible for %v %v-bit: its %d-octet pgroup does not divide %d",
				f.Sampling, f.Depth, p.pg.Size, BPMBlock)
		}
		blocks := (room - maxSRD*packet.SRDLen) / BPMBlock
		if blocks < 1 {
			return nil, fmt.Errorf("video: payload size %d too small for a BPM block", size)
		}
		p.mode, p.chunk = modeBlock, blocks*BPMBlock
	default:
		return nil, fmt.Errorf("video: invalid packing %v", c.Packing)
	}
	// Walk one field to count its packets and prove no packet needs more
	// than three SRDs.
	s := make([]seg, maxRows+1)
	for row, col := 0, 0; row < p.rows; p.perField++ {
		var n, data int
		n, data, row, col = p.planAny(s, row, col)
		p.maxLen = max(p.maxLen, p.hdrLen+n*packet.SRDLen+data)
		if n > maxRows {
			return nil, fmt.Errorf("video: %v packets of %d octets would need %d SRD headers with %d-octet rows (ST 2110-20 allows %d): use GPM for rows this narrow",
				c.Packing, p.chunk, n, p.rowBytes, maxSRD)
		}
	}
	return p, nil
}

// planAny is plan, or planRows with MaxRows, into s (of maxRows+1
// segments).
func (p *Packetizer) planAny(s []seg, row, col int) (n, data, nrow, ncol int) {
	if p.segs != nil {
		return p.planRows(s, row, col)
	}
	return p.plan((*[maxSRD + 1]seg)(s), row, col)
}

// planRows is plan in modeCont with MaxRows: GStreamer's rule, at most
// maxRows segments into s. It is a copy of plan's modeCont loop on a
// slice: plan keeps its fixed array (no bounds checks), as routing every
// plan through a slice cost 14.5 instructions a packet (continuous) and
// 9.5 (BPM); only MaxRows users pay for the slice.
func (p *Packetizer) planRows(s []seg, row, col int) (n, data, nrow, ncol int) {
	left := p.budget
	for n < len(s)-1 && row < p.rows && left >= packet.SRDLen+p.pg.Size {
		left -= packet.SRDLen
		take := min(p.rowBytes-col, left/p.pg.Size*p.pg.Size)
		s[n] = seg{row, col, take}
		n, data, left = n+1, data+take, left-take
		if col += take; col < p.rowBytes {
			break
		}
		row, col = row+1, 0
	}
	return n, data, row, col
}

// plan lays out the packet that starts at (row, col) of a field: its
// segments in s, their count, the sample octets, and where the next packet
// starts. s has room for one segment more than allowed so that
// NewPacketizer can detect a BPM packet that would need it.
func (p *Packetizer) plan(s *[maxSRD + 1]seg, row, col int) (n, data, nrow, ncol int) {
	switch p.mode {
	case modeLine:
		take := min(p.chunk, p.rowBytes-col)
		s[0] = seg{row, col, take}
		if col += take; col == p.rowBytes {
			row, col = row+1, 0
		}
		return 1, take, row, col
	case modeBlock:
		left := p.chunk
		for left > 0 && row < p.rows && n <= maxSRD {
			take := min(left, p.rowBytes-col)
			s[n] = seg{row, col, take}
			n, data, left = n+1, data+take, left-take
			if col += take; col == p.rowBytes {
				row, col = row+1, 0
			}
		}
		return n, data, row, col
	default: // modeCont, GStreamer's rule: go on while a header and a pgroup fit
		left := p.budget
		for n < maxSRD && row < p.rows && left >= packet.SRDLen+p.pg.Size {
			left -= packet.SRDLen
			take := min(p.rowBytes-col, left/p.pg.Size*p.pg.Size)
			s[n] = seg{row, col, take}
			n, data, left = n+1, data+take, left-take
			if col += take; col < p.rowBytes {
				break
			}
			row, col = row+1, 0
		}
		return n, data, row, col
	}
}

// Timestamp returns the RTP timestamp of a sampling instant given in TAI
// nanoseconds since 1970-01-01 00:00:00 TAI (the PTP epoch): the 90 kHz media
// clock, rounded to the nearest tick, modulo 2^32 (ST 2110-10 with
// a=mediaclk:direct=0).
func Timestamp(tai int64) uint32 {
	sec, ns := uint64(tai)/1e9, uint64(tai)%1e9
	return uint32(sec*90000 + (ns*9+50000)/100000)
}

// Frame starts packetizing frame, whose picture was sampled at tai (TAI
// nanoseconds, see [Timestamp]). frame is in pgroup wire layout and at least
// [Format.FrameSize] octets; the packetizer reads it until the last packet of
// the frame is written, so the caller must not change it before. A frame
// not finished is abandoned. The second field of interlaced video gets the
// timestamp of tai plus half a frame period; both segments of PsF get tai's.
func (p *Packetizer) Frame(frame []byte, tai int64) error {
	if need := p.rowBytes * p.rows * p.fields; len(frame) < need {
		return fmt.Errorf("video: frame of %d octets, want %d", len(frame), need)
	}
	p.frame = frame
	p.ts[0] = Timestamp(tai)
	p.ts[1] = p.ts[0]
	if p.half != 0 {
		p.ts[1] = Timestamp(tai + p.half)
	}
	p.fld, p.row, p.col, p.sent = 0, 0, 0, 0
	return nil
}

// Next writes the next packet of the current frame into dst and returns its
// length: with a template the whole Ethernet frame, otherwise the RTP packet.
// The last packet of each field (of the frame, if progressive) carries the
// RTP marker. Next returns [ErrNoFrame] when the frame is done (or none was
// given) and [ErrShortBuffer], consuming nothing, if dst cannot hold the
// packet; [Packetizer.MaxPacketLen] octets always suffice. It does not
// allocate.
func (p *Packetizer) Next(dst []byte) (int, error) {
	if p.frame == nil {
		return 0, ErrNoFrame
	}
	if p.mode == modeLine {
		return p.nextLine(dst)
	}
	if p.segs != nil {
		return p.nextRows(dst)
	}
	var s [maxSRD + 1]seg
	n, data, row, col := p.plan(&s, p.row, p.col)
	payload := n*packet.SRDLen + data
	total := p.hdrLen + payload
	if len(dst) < total {
		return 0, ErrShortBuffer
	}
	field := p.fld == 1
	hdr := dst[p.hdrLen : p.hdrLen+n*packet.SRDLen]
	out := dst[p.hdrLen+n*packet.SRDLen : total]
	for i := range n {
		sg := &s[i]
		packet.PutSRD(hdr, uint16(sg.n), field, uint16(sg.row*p.pg.Height), i < n-1, uint16(p.pgroups(sg.col)*p.pg.Width))
		hdr = hdr[packet.SRDLen:]
		src := (sg.row*p.fields+p.fld)*p.rowBytes + sg.col
		out = out[copy(out, p.frame[src:src+sg.n]):]
	}
	return p.finish(dst, payload, row, col), nil
}

// nextRows is Next with MaxRows: a plan of up to maxRows segments, in
// segs, written as Next writes its own.
func (p *Packetizer) nextRows(dst []byte) (int, error) {
	s := p.segs
	n, data, row, col := p.planRows(s, p.row, p.col)
	payload := n*packet.SRDLen + data
	total := p.hdrLen + payload
	if len(dst) < total {
		return 0, ErrShortBuffer
	}
	field := p.fld == 1
	hdr := dst[p.hdrLen : p.hdrLen+n*packet.SRDLen]
	out := dst[p.hdrLen+n*packet.SRDLen : total]
	for i, sg := range s[:n] {
		packet.PutSRD(hdr[i*packet.SRDLen:], uint16(sg.n), field, uint16(sg.row*p.pg.Height), i < n-1, uint16(p.pgroups(sg.col)*p.pg.Width))
		src := (sg.row*p.fields+p.fld)*p.rowBytes + sg.col
		out = out[copy(out, p.frame[src:src+sg.n]):]
	}
	return p.finish(dst, payload, row, col), nil
}

// nextLine is Next in modeLine, the sender's common case: one SRD header,
// a run of one row.
func (p *Packetizer) nextLine(dst []byte) (int, error) {
	row, col := p.row, p.col
	take := min(p.chunk, p.rowBytes-col)
	payload := packet.SRDLen + take
	total := p.hdrLen + payload
	if len(dst) < total {
		return 0, ErrShortBuffer
	}
	packet.PutSRD(dst[p.hdrLen:], uint16(take), p.fld == 1, uint16(row*p.pg.Height), false, uint16(p.pgroups(col)*p.pg.Width))
	src := (row*p.fields+p.fld)*p.rowBytes + col
	copy(dst[p.hdrLen+packet.SRDLen:total], p.frame[src:src+take])
	if col += take; col == p.rowBytes {
		row, col = row+1, 0
	}
	return p.finish(dst, payload, row, col), nil
}

// finish writes the headers before the SRD headers of a packet whose
// payload (SRD headers and sample data) is written, moves on to (row, col)
// and returns the packet's length.
func (p *Packetizer) finish(dst []byte, payload, row, col int) int {
	total := p.hdrLen + payload
	marker := row == p.rows
	ts := p.ts[p.fld]
	if p.tmpl != nil {
		total = p.tmpl.Write(dst, payload, &packet.Fields{Seq: p.seq, Timestamp: ts, Marker: marker, ID: uint16(p.seq)})
	} else {
		h := dst[:rtpHeaders]
		h[0] = 0x80
		h[1] = p.pt
		if marker {
			h[1] |= 0x80
		}
		binary.BigEndian.PutUint16(h[2:], uint16(p.seq))
		binary.BigEndian.PutUint32(h[4:], ts)
		binary.BigEndian.PutUint32(h[8:], p.ssrc)
		binary.BigEndian.PutUint16(h[12:], uint16(p.seq>>16))
	}
	p.seq++
	p.sent++
	p.row, p.col = row, col
	if marker {
		p.row, p.col = 0, 0
		if p.fld++; p.fld == p.fields {
			p.frame = nil
		}
	}
	return total
}

// pgroups returns col/pgroup size without a division (col < 2^32; Lemire,
// Kaser and Kurz 2019).
func (p *Packetizer) pgroups(col int) int {
	if p.sizeM == 0 { // size 1
		return col
	}
	q, _ := bits.Mul64(p.sizeM, uint64(col))
	return int(q)
}

// Remaining returns the packets of the current frame not yet written.
func (p *Packetizer) Remaining() int {
	if p.frame == nil {
		return 0
	}
	return p.perField*p.fields - p.sent
}

// PacketsPerFrame returns the packets of one frame (both fields if
// interlaced or PsF).
func (p *Packetizer) PacketsPerFrame() int { return p.perField * p.fields }

// PacketsPerField returns the packets of one field (the frame, if
// progressive): NPACKETS of ST 2110-21.
func (p *Packetizer) PacketsPerField() int { return p.perField }

// Packing returns the packing mode, GPM or BPM.
func (p *Packetizer) Packing() Packing {
	if p.mode == modeBlock {
		return BPM
	}
	return GPM
}

// Seq returns the extended sequence number of the next packet.
func (p *Packetizer) Seq() uint32 { return p.seq }

// SSRC returns the RTP SSRC the packetizer writes without a template:
// PacketizerConfig.SSRC, or the random one drawn for zero.
func (p *Packetizer) SSRC() uint32 { return p.ssrc }

// HeaderLen returns the octets before the first SRD header: the template's
// length, or 14 (RTP header and extended sequence number).
func (p *Packetizer) HeaderLen() int { return p.hdrLen }

// MaxPacketLen returns the length of the longest packet Next writes.
func (p *Packetizer) MaxPacketLen() int { return p.maxLen }

// Segment is one sample row data header of a packet's plan: the segment
// of a line that the packet carries. [packet.SRD] is the header as it is on
// the wire (16-bit fields and the continuation bit).
type Segment struct {
	Length int  // octets of sample data
	Field  bool // F bit: second field or segment
	Line   int  // line number within the field
	Offset int  // pixel offset of the first pgroup
}

// PacketInfo describes one packet of a frame's plan.
type PacketInfo struct {
	Field    int       // 0 or 1
	Marker   bool      // last packet of its field (of the frame, if progressive)
	Segments []Segment // one to three (to PacketizerConfig.MaxRows with it)
	Len      int       // UDP payload octets: RTP header, ESN, SRD headers and sample data
}

// Packets returns the plan of one frame, packet by packet, without writing
// anything; it allocates, and is meant for tests, tools and examples.
func (p *Packetizer) Packets() iter.Seq[PacketInfo] {
	return func(yield func(PacketInfo) bool) {
		s := p.segs // the plan's scratch, as Next's; Segments are copies
		if s == nil {
			s = make([]seg, maxSRD+1)
		} else {
			s = make([]seg, len(s))
		}
		for fld := range p.fields {
			for row, col := 0, 0; row < p.rows; {
				var n, data int
				n, data, row, col = p.planAny(s, row, col)
				pk := PacketInfo{Field: fld, Marker: row == p.rows, Len: rtpHeaders + n*packet.SRDLen + data}
				for _, sg := range s[:n] {
					pk.Segments = append(pk.Segments, Segment{Length: sg.n, Field: fld == 1, Line: sg.row * p.pg.Height,
						Offset: sg.col / p.pg.Size * p.pg.Width})
				}
				if !yield(pk) {
					return
				}
			}
		}
	}
}
