package video

import (
	"encoding/binary"

	"github.com/nmgo/nmgo/packet"
)

// pushNext is pushParsed for a packet that a [Merge] takes as the next of
// the frame it is filling into d: the first copy of the sequence number
// after the highest it has taken, of that frame's field f and timestamp,
// not a marker. Once d agrees (it is filling a frame whose field f has
// that timestamp, the packet's sequence number is the one after its
// highest and in the same word of its sequence window, and neither
// padding, payload type nor buffer stops it), what fill would do with the
// sequence number and the frame is known: the sequence number becomes the
// highest, neither lost nor reordered nor seen before, and the packet
// joins the frame being filled. pushNext does just that and writes the
// sample data as fill does: the merge has extended and de-duplicated the
// sequence number already, and each first copy would otherwise pay for a
// second sequence tracker (about 70 instructions of the merge's 144 a
// packet). Any other packet takes pushParsed's way; the counts, steps and
// frames are the same either way (TestDepacketizerPushNext).
//
// The sample data is written by a copy of fill's loop, not a call to one
// loop both share: the call would cost the single path's every packet
// more than a dozen instructions.
func (d *Depacketizer) pushNext(pkt []byte, h *headers, f int) {
	ext := d.maxSeq + 1
	if !d.active || uint16(ext) != h.seq || ext&63 == 0 || !d.have[f] || d.fts[f] != h.ts ||
		h.marker || pkt[0]&0x20 != 0 || d.pt != 0 && h.pt != d.pt || d.buf == nil {
		d.pushParsed(pkt, h)
		return
	}
	// As mark and fill would: ext is above the highest, so nothing is
	// lost, and it is in the word of the highest (ext&63 != 0), which
	// holds that block and is not empty since the frame began.
	d.maxSeq, d.lastSeq = ext, ext
	d.seen[ext>>6&(seqWindow/64-1)] |= 1 << (ext & 63)
	d.st.Packets++
	// As pushParsed would.
	d.stats.Packets++
	d.steps += uint64(h.rows)
	// The sample data, as fill writes it (the same code, which a test
	// holds to the same frames and counts).
	n := h.rows
	sp := h.hl + packet.ExtSeqLen // SRD header i is at sp + 6i
	dp := sp + n*packet.SRDLen    // the data of the next
	left := len(pkt) - dp         // sample octets not yet taken
	w := n
	if n > 2 && (n-2)*d.rowBytes > left {
		w = 2 + left/d.rowBytes
		d.st.BadRows += n - w
		d.stats.BadRows += uint64(n - w)
	}
	for i := range w {
		d.steps++
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
}
