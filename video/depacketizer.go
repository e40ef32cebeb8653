package video

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/nmgo/nmgo/packet"
)

// DepacketizerConfig configures a [Depacketizer]. A nil config means no
// callback and any payload type.
type DepacketizerConfig struct {
	// OnFrame is called from [Depacketizer.Push] (or Flush) with each frame
	// as it ends: when the marker of its last field arrives, or when a
	// packet of a later frame shows that marker was lost. buf is the filled
	// frame buffer and st describes it; both are only valid during the call.
	// OnFrame returns the buffer for the next frame: buf itself once the
	// caller is done with it, another buffer of at least [Format.FrameSize]
	// octets, or nil to drop packets until [Depacketizer.SetBuffer]. Parts of
	// a frame that were lost keep whatever the buffer held before.
	OnFrame func(buf []byte, st *FrameStats) []byte

	// PayloadType, if not zero, is the only RTP payload type accepted.
	PayloadType uint8
}

// FrameStats describes one reassembled frame.
type FrameStats struct {
	Timestamp  uint32 // RTP timestamp of its first field seen
	Packets    int    // packets taken into the frame (duplicates excluded)
	Bytes      int    // sample octets written
	Lost       int    // sequence numbers missing between its first and last packet (a sender that restarted within the frame starts another span: each counted)
	Duplicates int    // packets seen twice
	BadRows    int    // SRDs dropped: line, offset, length or field outside the frame, or more than the packet's data can fill
	Marker     bool   // ended by the marker of its last field
	Complete   bool   // its SRDs covered every row of the frame, each octet once
	// Paths are the packets of the frame that each path brought first,
	// for a frame of two paths merged by a [Merge] (ST 2022-7); zero
	// otherwise.
	Paths [2]int
}

// Stats are a depacketizer's running counts since it was made.
type Stats struct {
	Packets       uint64 // RTP packets pushed
	Frames        uint64 // frames ended and handed out by the depacketizer (in a Receiver's or a Merge's RxStats, a leading frame it then skipped included: RxStats.Delivered, Skipped)
	Complete      uint64 // of those, the frames whole
	Lost          uint64 // sequence numbers (by the extended sequence) between the lowest and the highest seen that were skipped: never seen, or seen only after a later one once their frame was delivered (then Late too)
	Reordered     uint64 // packets that came after a later sequence number in time for their frame (taken, or dropped for want of a buffer): lost until they came
	Duplicates    uint64 // packets seen before (within the last 65536 sequence numbers)
	Late          uint64 // packets of a frame already delivered, or too far behind to tell: dropped; a skipped sequence number stays Lost
	BadRows       uint64 // SRDs dropped for a line, offset, length or field outside the frame, or past what the packet's data can fill
	Malformed     uint64 // packets dropped: not RTP version 2, or truncated headers
	WrongPT       uint64 // packets dropped for their payload type
	MissedMarkers uint64 // frames ended by a later frame's packet instead of their marker
	NoBuffer      uint64 // packets dropped while OnFrame had returned no buffer
}

// lateWindow is how far (in 90 kHz ticks, 1 s) behind the last delivered
// frame a timestamp counts as late; further back is a restarted sender.
const lateWindow = 90000

// seqWindow is the span of the duplicate detector, in sequence numbers.
const seqWindow = 1 << 16

// Depacketizer reassembles RFC 4175 packets into frames in pgroup wire
// layout (see [Format.FrameSize]). It writes sample data only where an SRD
// says and only inside the frame: a row whose line, offset or length falls
// outside is counted and dropped. Its work per packet is a constant,
// whatever the sequence numbers, timestamps, markers and SRD fields say,
// and a step or two per SRD header: the packet's own length bounds it, 6
// octets a header (ST 2110-20 allows three headers, RFC 4175 sets no
// limit, and FFmpeg and GStreamer put as many short lines in a packet as
// fit). It is not safe for concurrent use.
type Depacketizer struct {
	f        Format
	pg       Pgroup
	rowBytes int
	rows     int
	fields   int
	size     int
	gap      uint32 // largest timestamp step between the fields of a frame
	wShift   uint   // log2 of the pgroup width (1, 2, 4 or 8 pixels)
	wMask    int
	hShift   uint // log2 of the pgroup height (1 or 2 lines)
	hMask    int
	sizeM    uint64 // 2^64 / pgroup size, rounded up
	onFrame  func([]byte, *FrameStats) []byte
	pt       uint8

	buf []byte

	// Whether the SRDs of a frame tile it: each SRD adds edge(its end) -
	// edge(its start) to cover, offsets in the frame buffer, and SRDs
	// that cover the frame once, whatever their order, add up to whole,
	// edge(size) - edge(0). Rows written twice and others not at all
	// (under new sequence numbers: a broken or hostile sender) add up to
	// the octets of a frame but not to whole, except with a chance of
	// about 2^-64 (edge is a hash keyed by seed, not known outside). A
	// sender writes in raster order, so an SRD nearly always starts where
	// the last ended: lastEnd and lastEdge spare that edge's hash.
	seed     uint64
	whole    uint64
	cover    uint64
	lastEnd  int
	lastEdge uint64

	// sequence tracking: seen has one bit per sequence number of the
	// window; word w holds the 64 sequence numbers of block blk[w] (the
	// extended sequence number >> 6), so that a word left over from an
	// older block reads as empty without being cleared: a gap costs
	// nothing, however long.
	started bool
	maxSeq  int64
	minSeq  int64 // the lowest sequence number marked: Lost counts from it
	seen    [seqWindow / 64]uint64
	blk     [seqWindow / 64]int64
	// The words whose seen went from 0 to non-zero since reset (a word
	// may be listed twice): reset clears these, or the whole window when
	// more than len(touched) were recorded.
	touched  [64]uint16
	ntouched int
	cleared  workCount // words reset has cleared, which tests hold to a bound

	// steps counts the loop iterations Push has taken (SRD headers
	// walked and written): the work a packet's contents decide, which
	// tests hold to a bound that no sequence number, timestamp or marker
	// changes. The walks of parseHeaders, for pushParsed and dropChain,
	// are their caller's to count (rxStream.parsed).
	steps workCount

	// the frame being filled
	active    bool
	fts       [2]uint32
	have      [2]bool
	firstSeq  int64
	lastSeq   int64
	spanDone  int64 // the frame's sequence numbers before a sender's restart within it; 0 between frames (finish, reset)
	st        FrameStats
	delivered bool
	lastTS    uint32
	// the newest timestamp of the packets dropped for want of a buffer
	// (since reset): they were received, so a copy of one is no restart
	nbTS  uint32
	nbSet bool

	stats Stats
}

// NewDepacketizer returns a depacketizer for f, which must be valid. Give it
// a frame buffer with [Depacketizer.SetBuffer] before pushing packets.
func NewDepacketizer(f *Format, c *DepacketizerConfig) (*Depacketizer, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	if c == nil {
		c = &DepacketizerConfig{}
	}
	d := &Depacketizer{f: *f, pg: f.Pgroup(), rowBytes: f.RowBytes(), rows: f.Rows(), fields: f.Scan.Fields(),
		size: f.FrameSize(), onFrame: c.OnFrame, pt: c.PayloadType, gap: 4500}
	d.wShift, d.hShift = uint(bits.TrailingZeros(uint(d.pg.Width))), uint(bits.TrailingZeros(uint(d.pg.Height)))
	d.wMask, d.hMask = d.pg.Width-1, d.pg.Height-1
	d.sizeM = ^uint64(0)/uint64(d.pg.Size) + 1
	d.seed = rand.Uint64()
	d.whole = d.edge(d.size) - d.edge(0)
	if !f.Rate.IsZero() {
		// a frame period in ticks, rounded up
		d.gap = uint32((90000*uint64(f.Rate.Den) + uint64(f.Rate.Num) - 1) / uint64(f.Rate.Num))
	}
	return d, nil
}

// SetBuffer sets the buffer the next packets are written into, of at least
// [Format.FrameSize] octets. It does not end the frame being filled.
func (d *Depacketizer) SetBuffer(buf []byte) error {
	if len(buf) < d.size {
		return fmt.Errorf("video: frame buffer of %d octets, want %d", len(buf), d.size)
	}
	d.buf = buf[:d.size]
	return nil
}

// Stats returns the running counts.
func (d *Depacketizer) Stats() Stats { return d.stats }

// Push takes one RTP packet (a UDP payload, starting at the RTP header) and
// writes its sample data into the frame buffer, calling OnFrame when a frame
// ends. pkt is not retained. Push does not allocate.
func (d *Depacketizer) Push(pkt []byte) {
	d.stats.Packets++
	if len(pkt) < packet.RTPLen || pkt[0]>>6 != packet.RTPVersion {
		d.stats.Malformed++
		return
	}
	// RTP header: CSRCs, extension, padding.
	hl := packet.RTPLen + 4*int(pkt[0]&0x0f)
	if pkt[0]&0x10 != 0 {
		if len(pkt) < hl+4 {
			d.stats.Malformed++
			return
		}
		hl += 4 + 4*int(binary.BigEndian.Uint16(pkt[hl+2:]))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 {
		end -= int(pkt[len(pkt)-1])
	}
	if hl+packet.ExtSeqLen+packet.SRDLen > end {
		d.stats.Malformed++
		return
	}
	if d.pt != 0 && pkt[1]&0x7f != d.pt {
		d.stats.WrongPT++
		return
	}
	payload := pkt[hl+packet.ExtSeqLen : end] // after the extended sequence number

	// Walk the SRD headers before touching any state, a step each (fill
	// reads them again from the packet): by offset, the end of header n,
	// whose continuation bit is 2 octets before it. (The check above
	// holds the first.)
	n, i := 1, packet.SRDLen
	for payload[i-2]&0x80 != 0 {
		n, i = n+1, i+packet.SRDLen
		if i > len(payload) {
			d.steps.add(uint64(n - 1))
			d.stats.Malformed++
			return
		}
	}
	d.steps.add(uint64(n))
	h := headers{marker: pkt[1]&0x80 != 0, seq: binary.BigEndian.Uint16(pkt[2:]), ts: binary.BigEndian.Uint32(pkt[4:]),
		field: int(pkt[hl+packet.ExtSeqLen+2] >> 7), rows: n, hl: hl}
	d.fill(pkt[:end], &h, true)
}

// pushParsed is Push for a packet whose headers parseHeaders read (ok),
// without reading them again: the receiver's way, which has parsed them
// for its analysis. It is fill's first part, small enough to be inlined
// into its callers.
func (d *Depacketizer) pushParsed(pkt []byte, h *headers) { d.fill(pkt, h, false) }

// dropChain counts pkt, whose SRD headers parseHeaders walked (h.rows of
// them) and found running off its end, as Push counts it, without walking
// them again (a long chain is the costly part of a hostile packet): Push
// would check the RTP header's length and payload type as here, then walk
// the same headers within a payload no longer than the packet, and fail.
func (d *Depacketizer) dropChain(pkt []byte, h *headers) {
	d.stats.Packets++
	end := len(pkt)
	if pkt[0]&0x20 != 0 {
		end -= int(pkt[len(pkt)-1])
	}
	if h.hl+packet.ExtSeqLen+packet.SRDLen <= end && d.pt != 0 && h.pt != d.pt {
		d.stats.WrongPT++
		return
	}
	d.stats.Malformed++
}

// fill takes a well-formed packet pkt, whose headers are h (of which it
// reads the RTP fields, the RTP header's length, the number of SRD
// headers and the first one's F bit), into the frame; the packet's sample
// data ends at the end of pkt. checked says Push has counted the
// packet and checked its payload type; otherwise (pushParsed's way) fill
// does, and gives a packet with padding or of another payload type to
// Push.
func (d *Depacketizer) fill(pkt []byte, h *headers, checked bool) {
	if !checked {
		if pkt[0]&0x20 != 0 || d.pt != 0 && h.pt != d.pt {
			d.Push(pkt)
			return
		}
		d.stats.Packets++
	}
	field := 0 // routes the packet; for progressive video an F bit only spoils its SRDs
	if d.fields == 2 {
		field = h.field
	}

	// Extended sequence number and duplicates. The next sequence number
	// in a word that has some already is mark's common case, taken here
	// without the call.
	ext := d.extend(h.seq)
	if b := ext >> 6; ext == d.maxSeq+1 && d.blk[b&(seqWindow/64-1)] == b && d.seen[b&(seqWindow/64-1)] != 0 {
		d.maxSeq = ext
		d.seen[b&(seqWindow/64-1)] |= 1 << (ext & 63)
	} else if !d.mark(ext, h.ts, field) {
		return
	}
	// Without a buffer the packet is dropped, but it was received: marked
	// above, it is not counted lost when a buffer comes back, and a copy
	// of it is a duplicate.
	if d.buf == nil {
		d.noBuffer(h.ts)
		return
	}

	// Which frame is it?
	ts := h.ts
	switch {
	case d.active && d.member(ts, field):
	case d.delivered && d.lastTS-ts < lateWindow:
		d.stats.Late++
		return
	default:
		if d.active {
			d.stats.MissedMarkers++
			d.finish(false)
			if d.buf == nil {
				d.noBuffer(ts)
				return
			}
		}
		d.active = true
		d.have = [2]bool{}
		d.st = FrameStats{Timestamp: ts}
		d.cover, d.lastEnd, d.lastEdge = 0, 0, d.edge(0)
		d.firstSeq, d.lastSeq = ext, ext // spanDone is 0: finish and reset leave it so
	}
	if !d.have[field] {
		d.have[field], d.fts[field] = true, ts
	}
	d.st.Packets++
	d.firstSeq, d.lastSeq = min(d.firstSeq, ext), max(d.lastSeq, ext)

	// Sample data. A sender packs rows in raster order, so every SRD of a
	// packet but its first and last covers a whole row: SRDs past the
	// first 2 + data/row of them are not video but small writes scattered
	// over the frame, a cache miss each, and are dropped as bad rows.
	// The packet is read by offsets, not sliced: a slice costs its
	// bounds, its length and its pointer each time.
	n := h.rows
	sp := h.hl + packet.ExtSeqLen // SRD header i is at sp + 6i
	dp := sp + n*packet.SRDLen    // the data of the next
	left := len(pkt) - dp         // sample octets not yet taken
	w := n
	// In uint64: n is bounded by the packet's length alone, and in a
	// 32-bit int (n-2)*rowBytes wraps for a packet over 64 KiB.
	if n > 2 && uint64(n-2)*uint64(d.rowBytes) > uint64(left) {
		w = 2 + left/d.rowBytes
		d.st.BadRows += n - w
		d.stats.BadRows += uint64(n - w)
	}
	for i := range w {
		d.steps.add(1)
		srd := (*[packet.SRDLen]byte)(pkt[sp:])
		sp += packet.SRDLen
		length := int(binary.BigEndian.Uint16(srd[0:]))
		lf, oc := binary.BigEndian.Uint16(srd[2:]), binary.BigEndian.Uint16(srd[4:])
		line, off, f := int(lf&packet.MaxLine), int(oc&packet.MaxOffset), int(lf>>15)
		if length > left {
			d.st.BadRows += w - i
			d.stats.BadRows += uint64(w - i)
			break
		}
		data := pkt[dp : dp+length]
		dp += length
		left -= length
		row := line >> d.hShift
		col := off >> d.wShift * d.pg.Size
		if f >= d.fields || row >= d.rows || line&d.hMask != 0 || off&d.wMask != 0 ||
			!d.wholePgroups(length) || col+length > d.rowBytes {
			d.st.BadRows++
			d.stats.BadRows++
			continue
		}
		at := (row*d.fields+f)*d.rowBytes + col
		copy(d.buf[at:], data)
		d.st.Bytes += length
		start := d.lastEdge
		if at != d.lastEnd {
			start = d.edge(at)
		}
		d.lastEnd = at + length
		d.lastEdge = d.edge(d.lastEnd)
		d.cover += d.lastEdge - start
	}
	if h.marker && field == d.fields-1 {
		d.st.Marker = true
		d.finish(true)
	}
}

// edge is the hash of frame buffer offset x that cover sums: SplitMix64's
// finalizer of x keyed by seed, a bijection, so that no two offsets share
// a value.
func (d *Depacketizer) edge(x int) uint64 {
	z := d.seed + uint64(x)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// wholePgroups reports whether n (< 2^16) is a multiple of the pgroup size,
// without a division (Lemire, Kaser and Kurz, "Faster remainder by direct
// computation", 2019).
func (d *Depacketizer) wholePgroups(n int) bool {
	return uint64(n)*d.sizeM <= d.sizeM-1
}

// member reports whether a packet of timestamp ts and field f belongs to the
// frame being filled.
func (d *Depacketizer) member(ts uint32, f int) bool {
	return inFrame(&d.fts, &d.have, d.fields, d.gap, ts, f)
}

// late reports whether fill drops a packet of timestamp ts and field f
// as Late: not of the frame being filled, and of one delivered already
// (at or up to lateWindow before the last delivered; further back is a
// restarted sender, whose packet starts a frame). fill's switch decides
// the same.
func (d *Depacketizer) late(ts uint32, f int) bool {
	return !(d.active && d.member(ts, f)) && d.delivered && d.lastTS-ts < lateWindow
}

// inFrame reports whether a packet of timestamp ts and field f belongs to
// a frame of the given fields whose fields seen so far (have) have
// timestamps fts; gap is the largest timestamp step between the fields of
// a frame.
func inFrame(fts *[2]uint32, have *[2]bool, fields int, gap uint32, ts uint32, f int) bool {
	if fields == 1 {
		return ts == fts[0]
	}
	if have[f] {
		return ts == fts[f]
	}
	if f == 1 { // second field after the first: same or a later timestamp
		return ts-fts[0] <= gap
	}
	return fts[1]-ts <= gap // first field reordered after the second
}

// reset starts the depacketizer afresh, as NewDepacketizer left it: the
// frame being filled is dropped, not delivered, and the sequence numbers
// and frames seen are forgotten; the buffer and the counts stay. A
// [Merge] reuses one depacketizer for each frame it holds open.
func (d *Depacketizer) reset() {
	d.started, d.active, d.delivered, d.nbSet = false, false, false, false
	d.maxSeq, d.spanDone = 0, 0
	d.forgetSeq()
}

// restarted reports whether a packet of timestamp ts whose sequence
// number was seen before comes from a restarted sender: its timestamp is
// later than every one of the packets marked could have, those of the
// frame being filled (each field's it has), of the last frame delivered
// and of the newest packet dropped for want of a buffer (of those there
// are; with none it is taken for a copy). A copy is of a packet marked
// already, so its timestamp is never later than all of them; a sender
// back with ST 2110's timestamps (which follow the PTP clock) is, as soon
// as a frame's time has passed, and so is one that drew a new random
// timestamp ahead. One whose new timestamps fall behind still has its
// packets taken for copies until its numbers pass the old highest.
func (d *Depacketizer) restarted(ts uint32) bool {
	seen := false
	if d.nbSet {
		if int32(ts-d.nbTS) <= 0 {
			return false
		}
		seen = true
	}
	if d.active {
		for f := range d.fields {
			if d.have[f] && int32(ts-d.fts[f]) <= 0 {
				return false
			}
		}
		seen = true
	}
	if d.delivered {
		if int32(ts-d.lastTS) <= 0 {
			return false
		}
		seen = true
	}
	return seen
}

// noBuffer counts a packet of timestamp ts dropped for want of a buffer.
func (d *Depacketizer) noBuffer(ts uint32) {
	d.stats.NoBuffer++
	if !d.nbSet || int32(ts-d.nbTS) > 0 {
		d.nbTS, d.nbSet = ts, true
	}
}

// forgetSeq empties the sequence window.
func (d *Depacketizer) forgetSeq() {
	if d.ntouched > len(d.touched) {
		clear(d.seen[:])
		clear(d.blk[:])
		d.cleared.add(seqWindow / 64)
	} else {
		// A frame of few packets, as a hostile sender that changes the
		// timestamp with every packet makes: the words they took, not
		// the whole window's 16 KiB.
		for _, w := range d.touched[:d.ntouched] {
			d.seen[w], d.blk[w] = 0, 0
		}
		d.cleared.add(uint64(d.ntouched))
	}
	d.ntouched = 0
}

// extend turns a 16-bit sequence number into the extended one nearest the
// highest seen; it does not trust the RFC 4175 extended sequence number,
// which GStreamer and FFmpeg leave at 0.
func (d *Depacketizer) extend(seq uint16) int64 {
	if !d.started {
		d.started = true
		d.maxSeq, d.minSeq = int64(seq)-1, int64(seq)
		return int64(seq)
	}
	return nearestSeq(d.maxSeq, seq)
}

// nearestSeq returns the extended sequence number whose low 16 bits are
// seq nearest high (within 32767 behind to 32768 ahead).
func nearestSeq(high int64, seq uint16) int64 {
	return high + int64(int16(seq-uint16(high)))
}

// mark records ext, of a packet of timestamp ts and field field, in the
// sequence window and the loss counts; false means a duplicate (or a
// packet too old to tell), which is dropped. Its cost does not depend on
// how far ext is from the sequence numbers before it.
func (d *Depacketizer) mark(ext int64, ts uint32, field int) bool {
	b := ext >> 6
	w := b & (seqWindow/64 - 1)
	bit := uint64(1) << (ext & 63)
	switch {
	case ext > d.maxSeq:
		// The words between the old and the new maximum hold older
		// blocks and read as empty: nothing to clear.
		d.stats.Lost += uint64(ext - d.maxSeq - 1)
		d.maxSeq = ext
	case d.maxSeq>>6-b >= seqWindow/64:
		// Its word now holds a later block.
		d.stats.Late++
		return false
	default:
		if d.blk[w] == b && d.seen[w]&bit != 0 {
			if !d.restarted(ts) {
				d.stats.Duplicates++
				if d.active {
					d.st.Duplicates++
				}
				return false
			}
			// A sequence number seen before, in a packet whose
			// timestamp is later than the frame being filled's and
			// the last delivered's: not a copy but a sender
			// that restarted with a sequence number behind its last
			// (RFC 3550 starts it at random). Its numbers are new from
			// here; without this, every packet up to the old highest
			// was dropped as a duplicate, frames of them. The cost is
			// a reset's, bounded as reset's is.
			d.forgetSeq()
			d.maxSeq, d.minSeq = ext, ext
			if d.active && d.member(ts, field) {
				// It joins the frame being filled: its numbers start
				// another span of the frame's, added to those before.
				d.spanDone += d.lastSeq - d.firstSeq + 1
				d.firstSeq, d.lastSeq = ext, ext
			}
			break
		}
		// After a later sequence number, which counted it lost: taken
		// into a frame, it is found. Of a frame delivered already, fill
		// drops it (Late) and it stays lost, its data in no frame, as a
		// Merge counts such a copy.
		taken := !d.late(ts, field)
		if taken {
			d.stats.Reordered++
		}
		d.stats.Lost = lostBelow(d.stats.Lost, &d.minSeq, ext, taken)
	}
	if d.blk[w] != b {
		// First sequence number of block b seen: the bits above the
		// maximum were never set, and those of an older block are void.
		d.blk[w], d.seen[w] = b, 0
	}
	if d.seen[w] == 0 {
		// seen[w] goes from 0 to non-zero (its first bit since reset,
		// or since a newer block took the word): reset must clear it.
		// Keyed on seen, not on a change of blk, because the words of
		// block 0 take bits without one.
		if d.ntouched < len(d.touched) {
			d.touched[d.ntouched] = uint16(w)
		}
		d.ntouched++
	}
	d.seen[w] |= bit
	return true
}

// lostBelow returns the count lost after a sequence number ext at or
// below the highest came, taken into a frame or not. Above min, the lowest
// before it, ext was counted lost when a later one came: taken, it is
// found. Below min it was not: the numbers between it and min are lost
// now, and so is ext if it was not taken.
func lostBelow(lost uint64, min *int64, ext int64, taken bool) uint64 {
	if ext < *min {
		lost += uint64(*min - ext - 1)
		*min = ext
		if !taken {
			lost++
		}
		return lost
	}
	if taken && lost > 0 {
		lost--
	}
	return lost
}

// finish delivers the frame being filled.
func (d *Depacketizer) finish(marker bool) {
	d.active = false
	d.delivered = true
	d.lastTS = d.st.Timestamp
	for i := range d.fields {
		if d.have[i] && int32(d.fts[i]-d.lastTS) > 0 {
			d.lastTS = d.fts[i]
		}
	}
	d.st.Marker = marker
	// The frame's spans of sequence numbers (one more for each restart of
	// the sender within it, mark) less the packets it took: each span's
	// numbers are distinct, so never below 0.
	d.st.Lost = int(min(d.spanDone+d.lastSeq-d.firstSeq+1, math.MaxInt)) - d.st.Packets // a span a 32-bit int cannot hold (a hostile flow) counts as its largest
	d.spanDone = 0
	d.st.Complete = d.st.Bytes >= d.size && d.cover == d.whole
	d.stats.Frames++
	if d.st.Complete {
		d.stats.Complete++
	}
	if d.onFrame != nil {
		next := d.onFrame(d.buf, &d.st)
		if next != nil && len(next) < d.size {
			next = nil
		}
		if next != nil {
			next = next[:d.size]
		}
		d.buf = next
	}
}

// Flush delivers the frame being filled, if any, as ended without its marker
// (at the end of a stream).
func (d *Depacketizer) Flush() {
	if d.active && d.buf != nil {
		d.finish(false)
	}
}
