package video

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/nmgo/nmgo/packet"
)

// rtpWith builds an RTP packet by hand: the given SRD headers (length,
// F|line, C|offset words) and data.
func rtpWith(seq uint16, ts uint32, marker bool, srds [][3]uint16, data []byte) []byte {
	b := make([]byte, 14, 14+6*len(srds)+len(data))
	b[0] = 0x80
	b[1] = 96
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	for _, s := range srds {
		b = binary.BigEndian.AppendUint16(b, s[0])
		b = binary.BigEndian.AppendUint16(b, s[1])
		b = binary.BigEndian.AppendUint16(b, s[2])
	}
	return append(b, data...)
}

func TestDepacketizerBadRows(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 4, Scan: Progressive} // rows of 160 octets
	r := newReceiver(t, &f, 0)
	data := make([]byte, 200)
	for i := range data {
		data[i] = byte(i)
	}
	cases := []struct {
		name string
		srd  [3]uint16
		n    int // data octets
	}{
		{"line past the frame", [3]uint16{10, 4, 0}, 10},
		{"offset past the line", [3]uint16{10, 0, 64}, 10},
		{"run past the line end", [3]uint16{20, 0, 58}, 20},
		{"length not whole pgroups", [3]uint16{7, 0, 0}, 7},
		{"offset inside a pgroup", [3]uint16{10, 0, 1}, 10},
		{"F bit on progressive video", [3]uint16{10, 0x8000, 0}, 10},
		{"length beyond the packet", [3]uint16{100, 0, 0}, 50},
		{"15-bit line maximum", [3]uint16{10, 0x7fff, 0}, 10},
	}
	for i, c := range cases {
		r.d.Push(rtpWith(uint16(i), 1000, false, [][3]uint16{c.srd}, data[:c.n]))
		if got := r.d.Stats().BadRows; got != uint64(i+1) {
			t.Fatalf("%s: %d bad rows, want %d", c.name, got, i+1)
		}
	}
	// A good SRD after a bad one in the same packet is still written, and the
	// last row's last pgroup is reachable.
	r.d.Push(rtpWith(100, 1000, true, [][3]uint16{{10, 9, 0x8000}, {10, 3, 60}}, data[:20]))
	if len(r.frames) != 1 {
		t.Fatalf("%d frames", len(r.frames))
	}
	fr, st := r.frames[0], r.stats[0]
	if string(fr[3*160+150:]) != string(data[10:20]) {
		t.Errorf("last pgroups: % x", fr[3*160+150:])
	}
	for i, b := range fr[:3*160+150] {
		if b != fillByte {
			t.Fatalf("byte %d written (%#x) by a bad row", i, b)
		}
	}
	if st.BadRows != len(cases)+1 || st.Bytes != 10 || st.Complete {
		t.Errorf("frame stats %+v", st)
	}
}

func TestDepacketizerMalformed(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 8, Height: 2, Scan: Progressive}
	r := newReceiver(t, &f, 96)
	good := rtpWith(1, 0, false, [][3]uint16{{4, 0, 0}}, []byte{1, 2, 3, 4})
	bad := [][]byte{
		nil,
		good[:11],
		append([]byte{0x40}, good[1:]...),   // version 1
		good[:19],                           // SRD header cut
		rtpWith(1, 0, false, nil, nil),      // no SRD at all
		append([]byte{0x82}, good[1:]...),   // two CSRCs that eat the payload
		append([]byte{0x90}, good[1:16]...), // extension header cut
		append([]byte{0xa0}, good[1:]...),   // padding of 4 octets removes the sample data
		rtpWith(2, 0, false, [][3]uint16{{4, 0, 0x8000}}, nil), // C set on the last header
	}
	for i, b := range bad[:7] {
		r.d.Push(b)
		if got := r.d.Stats().Malformed; got != uint64(i+1) {
			t.Fatalf("packet %d (% x): %d malformed", i, b, got)
		}
	}
	// Padding that removes only sample data leaves a bad row, not a crash.
	r.d.Push(bad[7])
	r.d.Push(bad[8])
	s := r.d.Stats()
	if s.Malformed != 8 || s.BadRows != 1 {
		t.Errorf("stats %+v, want 8 malformed and 1 bad row", s)
	}
	wrongPT := append([]byte(nil), good...)
	wrongPT[1] = 97
	r.d.Push(wrongPT)
	if r.d.Stats().WrongPT != 1 {
		t.Errorf("payload type 97 accepted by a depacketizer for 96")
	}
}

// TestDepacketizerRTPHeaderExtras checks CSRCs, a header extension and
// padding are skipped.
func TestDepacketizerRTPHeaderExtras(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 1, Scan: Progressive}
	r := newReceiver(t, &f, 0)
	p := []byte{0xb2, 0xe0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, // V=2 P X CC=2, M, PT 96
		0, 0, 0, 2, 0, 0, 0, 3, // CSRCs
		0xbe, 0xde, 0, 1, 1, 2, 3, 4, // extension of one word
		0, 0, // ESN
		0, 8, 0, 0, 0, 0, // SRD
		1, 2, 3, 4, 5, 6, 7, 8, // data
		0, 0, 3} // padding
	r.d.Push(p)
	if len(r.frames) != 1 || string(r.frames[0]) != "\x01\x02\x03\x04\x05\x06\x07\x08" || !r.stats[0].Complete {
		t.Fatalf("frames %x stats %+v %+v", r.frames, r.stats, r.d.Stats())
	}
}

// TestDepacketizerSequence checks loss and reordering counts across the
// 16-bit wrap (a late packet, whose frame was delivered, stays lost), and
// that a sender restart (timestamp far back) is a new frame, not a late
// one.
func TestDepacketizerSequence(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 2, Scan: Progressive}
	r := newReceiver(t, &f, 0)
	d := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	push := func(seq uint16, ts uint32, line uint16, marker bool) {
		r.d.Push(rtpWith(seq, ts, marker, [][3]uint16{{8, line, 0}}, d))
	}
	push(65534, 100, 0, false)
	push(1, 100, 1, true) // 65535 and 0 lost, across the wrap
	if s := r.d.Stats(); s.Lost != 2 || r.stats[0].Lost != 2 || !r.stats[0].Complete {
		t.Fatalf("after the wrap: stats %+v, frame %+v", s, r.stats[0])
	}
	push(0, 100, 0, false) // late: its frame went without it, so it stays lost
	if s := r.d.Stats(); s.Lost != 2 || s.Reordered != 0 || s.Late != 1 {
		t.Fatalf("late packet: %+v", s)
	}
	push(2, 100+3003, 0, false)
	push(2, 100+3003, 0, false) // duplicate
	push(3, 100+3003, 1, true)
	if s := r.d.Stats(); s.Duplicates != 1 || s.Frames != 2 || r.stats[1].Duplicates != 1 {
		t.Fatalf("duplicate: %+v %+v", s, r.stats[1])
	}
	// Sender restarts with a timestamp 10 s back: a new frame, not late.
	push(4, 100+(1<<32-900000), 0, false)
	push(5, 100+(1<<32-900000), 1, true)
	if s := r.d.Stats(); s.Frames != 3 || s.Late != 1 || !r.stats[2].Complete {
		t.Fatalf("restart: %+v", s)
	}
	// A frame whose marker was lost ends when the next frame starts; Flush
	// ends the last one.
	push(6, 200000, 0, false)
	push(8, 203003, 1, false)
	r.d.Flush()
	if s := r.d.Stats(); s.Frames != 5 || s.MissedMarkers != 1 || r.stats[3].Marker || r.stats[4].Marker || s.Lost != 3 {
		t.Fatalf("missed markers: %+v %+v", s, r.stats[3:])
	}
}

// TestDepacketizerNoBuffer checks that packets without a buffer are dropped
// and counted, and SetBuffer resumes.
func TestDepacketizerNoBuffer(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 1, Scan: Progressive}
	delivered := 0
	d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: func(buf []byte, st *FrameStats) []byte {
		delivered++
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	pkt := func(seq uint16) []byte {
		return rtpWith(seq, uint32(seq)*3000, true, [][3]uint16{{8, 0, 0}}, make([]byte, 8))
	}
	d.Push(pkt(0))
	if err := d.SetBuffer(make([]byte, 7)); err == nil {
		t.Fatal("short buffer accepted")
	}
	if err := d.SetBuffer(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	d.Push(pkt(1))
	d.Push(pkt(2))
	if s := d.Stats(); delivered != 1 || s.NoBuffer != 2 {
		t.Fatalf("delivered %d, stats %+v", delivered, s)
	}
	// Packets dropped for want of a buffer were received: once a buffer
	// is back, they are neither lost nor new when a copy comes again.
	d.Push(pkt(3))
	if err := d.SetBuffer(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	d.Push(pkt(3)) // a duplicate of one dropped for want of a buffer
	d.Push(pkt(5))
	if s := d.Stats(); delivered != 2 || s.NoBuffer != 3 || s.Duplicates != 1 || s.Lost != 1 || s.Packets != 6 {
		t.Fatalf("after the buffer came back: delivered %d, stats %+v; want 2 delivered, 3 NoBuffer, 1 Duplicate, 1 Lost (seq 4), 6 Packets", delivered, s)
	}
}

// TestDepacketizerSenderRestart: a sender that restarts with a sequence
// number behind its last (RFC 3550 starts it at random) and a new
// timestamp is a new stream, not a run of duplicates of what it sent
// before.
func TestDepacketizerSenderRestart(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 1, Scan: Progressive}
	// newD returns a depacketizer of f with an 8-octet buffer.
	newD := func(onFrame func(buf []byte, st *FrameStats) []byte) *Depacketizer {
		d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: onFrame})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetBuffer(make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	delivered := 0
	d := newD(func(buf []byte, st *FrameStats) []byte {
		delivered++
		return buf
	})
	pkt := func(seq uint16, ts uint32) []byte {
		return rtpWith(seq, ts, true, [][3]uint16{{8, 0, 0}}, make([]byte, 8))
	}
	for i := range 100 { // a frame a packet
		d.Push(pkt(uint16(1000+i), uint32(i)*3000))
	}
	d.Push(pkt(1090, 90*3000)) // a copy, 0.3 s late: a duplicate
	for i := range 20 {        // restarted 50 behind, ten seconds on
		d.Push(pkt(uint16(1050+i), 900000+uint32(i)*3000))
	}
	d.Push(pkt(1060, 900000+10*3000)) // a copy after the restart
	if s := d.Stats(); delivered != 120 || s.Duplicates != 2 || s.Lost != 0 || s.Late != 0 || s.Reordered != 0 {
		t.Fatalf("delivered %d frames, stats %+v; want 120 frames, 2 duplicates (the copies), 0 lost, late or reordered", delivered, s)
	}

	// Back at once with timestamps that follow the clock (ST 2110's
	// follow PTP): 50 frames a second, the restarted stream's first frame
	// due two frame periods after the last one sent.
	delivered = 0
	d = newD(func(buf []byte, st *FrameStats) []byte {
		delivered++
		return buf
	})
	for i := range 100 {
		d.Push(pkt(uint16(1000+i), uint32(i)*1800))
	}
	d.Push(pkt(1099, 99*1800)) // a copy of the last frame's
	for i := range 20 {        // restarted 50 behind
		d.Push(pkt(uint16(1050+i), uint32(101+i)*1800))
	}
	d.Push(pkt(1055, 106*1800)) // a copy of the new stream's
	if s := d.Stats(); delivered != 120 || s.Duplicates != 2 || s.Lost != 0 || s.Late != 0 || s.Reordered != 0 {
		t.Fatalf("back after two frame periods: delivered %d frames, stats %+v; want 120 frames, 2 duplicates (the copies), 0 lost, late or reordered", delivered, s)
	}

	// Copies are never restarts: at 1 frame a second (a frame a
	// lateWindow apart) a copy of the last frame's packet while the next
	// is filled, and a copy 1.8 s late at 50 frames a second.
	var frames []FrameStats
	d = newD(func(buf []byte, st *FrameStats) []byte {
		frames = append(frames, *st)
		return buf
	})
	half := func(seq uint16, ts uint32, second bool) []byte {
		off, data := uint16(0), make([]byte, 4)
		if second {
			off = 2
		}
		return rtpWith(seq, ts, second, [][3]uint16{{4, 0, off}}, data)
	}
	d.Push(half(10, 0, false))
	d.Push(half(11, 0, true))
	d.Push(half(12, 90000, false))
	d.Push(half(11, 0, true)) // a copy of the last frame's, the next being filled
	d.Push(half(13, 90000, true))
	d.Push(half(12, 90000, false)) // a copy of the last frame's
	if s := d.Stats(); len(frames) != 2 || !frames[0].Complete || !frames[1].Complete || s.Duplicates != 2 {
		t.Errorf("1 fps with copies: frames %+v, stats %+v; want 2 complete frames, 2 duplicates", frames, s)
	}
	// Packets dropped for want of a buffer were seen: a copy of one, after
	// two seconds of them, is a copy still.
	starved := 0
	d2 := newD(func(buf []byte, st *FrameStats) []byte {
		starved++
		return nil
	})
	for i := range 101 { // 50 frames a second; no buffer after the first
		d2.Push(pkt(uint16(1000+i), uint32(i)*1800))
	}
	if err := d2.SetBuffer(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	d2.Push(pkt(1098, 98*1800)) // a copy of one dropped for want of a buffer
	if s := d2.Stats(); starved != 1 || s.Duplicates != 1 || s.NoBuffer != 100 || s.Lost != 0 {
		t.Errorf("a copy after 2 s without a buffer: %d frames, stats %+v; want 1 frame, 1 duplicate, 100 NoBuffer, 0 lost", starved, s)
	}
	for i := range 110 { // 50 frames a second, a frame a packet
		d.Push(pkt(uint16(100+i), 200000+uint32(i)*1800))
	}
	d.Push(pkt(119, 200000+19*1800)) // a copy 1.8 s late
	if s := d.Stats(); len(frames) != 112 || s.Duplicates != 3 || s.Lost != 86 {
		t.Errorf("a copy 1.8 s late: %d frames, stats %+v; want 112 frames, 3 duplicates, Lost 86 (the numbers 14 to 99 skipped at the jump)", len(frames), s)
	}
}

// TestDepacketizerInterlacedReorder: field 1 arriving before field 0 of the
// same frame is one frame, and a frame whose field 0 is lost entirely is
// still delivered.
func TestDepacketizerInterlacedReorder(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 2, Scan: Interlaced, Rate: Rate29_97}
	r := newReceiver(t, &f, 0)
	a, b := []byte{1, 1, 1, 1, 1, 1, 1, 1}, []byte{2, 2, 2, 2, 2, 2, 2, 2}
	r.d.Push(rtpWith(1, 1501, false, [][3]uint16{{8, 0x8000, 0}}, b))  // field 1 first
	r.d.Push(rtpWith(0, 0, true, [][3]uint16{{8, 0, 0}}, a))           // field 0, its marker
	r.d.Push(rtpWith(2, 1501, true, [][3]uint16{{0, 0x8000, 0}}, nil)) // field 1 marker
	if len(r.frames) != 1 || string(r.frames[0]) != string(a)+string(b) || !r.stats[0].Complete {
		t.Fatalf("frames %x, stats %+v", r.frames, r.stats)
	}
	r.d.Push(rtpWith(5, 3003+1501, true, [][3]uint16{{8, 0x8000, 0}}, b)) // field 0 of the next frame lost
	if len(r.frames) != 2 || r.stats[1].Complete || !r.stats[1].Marker {
		t.Fatalf("field-1-only frame: %+v", r.stats)
	}
}

// TestDivisionFree checks the division-free pgroup arithmetic against / and
// % for every pgroup size and every 16-bit value.
func TestDivisionFree(t *testing.T) {
	for s := Sampling(1); s < numSampling; s++ {
		for _, dp := range []Depth{Depth8, Depth10, Depth12, Depth16} {
			f := Format{Sampling: s, Depth: dp, Width: 64, Height: 4, Scan: Progressive}
			d, err := NewDepacketizer(&f, nil)
			if err != nil {
				continue // e.g. a colorimetry rule
			}
			p, err := NewPacketizer(&f, nil)
			if err != nil {
				t.Fatal(err)
			}
			size := f.Pgroup().Size
			for n := range 1 << 16 {
				if d.wholePgroups(n) != (n%size == 0) {
					t.Fatalf("size %d: wholePgroups(%d) = %v", size, n, !(n%size == 0))
				}
				if p.pgroups(n) != n/size {
					t.Fatalf("size %d: pgroups(%d) = %d", size, n, p.pgroups(n))
				}
			}
		}
	}
}

// TestDepacketizerResetClears: after frames whose packets take 1 to 200
// words of the sequence window (a sequence step of 64 between packets,
// from block 0, from a negative extended number, around the wrap), reset
// leaves the whole window as NewDepacketizer made it: all zero, whether it
// clears the words it listed or, past 64 of them, everything.
func TestDepacketizerResetClears(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}
	d, err := NewDepacketizer(&f, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, words := range []int{1, 2, 63, 64, 65, 200, 1100} {
		for _, first := range []uint16{0, 10, 65535, 65000, 40000} {
			seq := first
			for k := range words {
				if k == 1 && first == 0 {
					seq = 65535 // extended -1: block -1, the last word
				}
				d.mark(d.extend(seq), 0, 0)
				seq += 64
			}
			d.reset()
			if d.seen != [seqWindow / 64]uint64{} || d.blk != [seqWindow / 64]int64{} {
				t.Fatalf("after a frame of %d words from %d: the window is not clear after reset", words, first)
			}
		}
	}
}

// A frame is complete when every row got exactly its samples, not when
// the octets written add up to a frame: rows sent again under new
// sequence numbers (a hostile or broken sender) fill the count while
// other rows keep what the buffer held. Rows that come out of order, as
// after a path switch of a merge, still make a whole frame.
func TestDepacketizerCompleteRows(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 8, Scan: Progressive, Rate: Rate50} // rows of 160 octets
	var got []FrameStats
	d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: func(b []byte, st *FrameStats) []byte { got = append(got, *st); return b }})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetBuffer(make([]byte, f.FrameSize())); err != nil {
		t.Fatal(err)
	}
	row := make([]byte, f.RowBytes())
	half := uint16(f.RowBytes() / 2) // 80 octets, 16 pgroups
	seq := uint16(0)
	send := func(ts uint32, line, off, n uint16, marker bool) {
		d.Push(rtpWith(seq, ts, marker, [][3]uint16{{n, line, off}}, row[:n]))
		seq++
	}
	rows := uint16(f.Rows())
	// 1: line 0, every packet.
	for i := range rows {
		send(1000, 0, 0, uint16(f.RowBytes()), i == rows-1)
	}
	// 2: every line, in reverse order, each in two halves, the second half first.
	for l := rows; l > 0; l-- {
		send(2000, l-1, half/5*2, half, false) // offsets count pixels: 80 octets are 32 pixels
		send(2000, l-1, 0, half, l == 1)
	}
	// 3: the first half of line 3 twice and its second half never; the
	// total is a frame's.
	for l := range rows {
		if l == 3 {
			send(3000, l, 0, half, false)
			send(3000, l, 0, half, false)
			continue
		}
		send(3000, l, 0, uint16(f.RowBytes()), l == rows-1)
	}
	if len(got) != 3 {
		t.Fatalf("%d frames, want 3", len(got))
	}
	for i, want := range []bool{false, true, false} {
		if got[i].Bytes != f.FrameSize() || got[i].Complete != want {
			t.Errorf("frame %d: %d of %d octets, Complete %v, want %v", i+1, got[i].Bytes, f.FrameSize(), got[i].Complete, want)
		}
	}
	if s := d.Stats(); s.Complete != 1 || s.Frames != 3 {
		t.Errorf("stats: %d of %d frames complete, want 1 of 3", s.Complete, s.Frames)
	}
}

// TestLateStaysLost: a packet that comes after later sequence numbers is
// counted lost until it comes; if its frame takes it, it is Reordered and
// no longer Lost, but if its frame was delivered already it is Late and
// stays Lost (its data reached no frame), as a Merge counts a copy that
// comes after its frame was handed out. The single-path receive (the
// Depacketizer, and a Receiver's stream) counts Lost, Late and Reordered
// as a Merge does with the same packets on one path.
func TestLateStaysLost(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}
	fl := newMergeFlow(t, f, 4)
	held := fl.first[1] + 2    // a packet of frame 1, held back until frame 3 has begun
	swapped := fl.first[2] + 3 // a packet of frame 2 that comes after the next one
	var order []int
	for i := range fl.pkts {
		switch i {
		case held:
			continue
		case swapped:
			order = append(order, i+1, i)
		case swapped + 1:
		case fl.first[3] + 1:
			order = append(order, held, i)
		default:
			order = append(order, i)
		}
	}
	if len(order) != len(fl.pkts) {
		t.Fatalf("%d packets in the order, %d sent", len(order), len(fl.pkts))
	}
	// Arrival times: as sent, the held packet with its neighbour in
	// frame 3 (past the merge's window for frame 1, so late there too).
	at := func(k int) int64 {
		if order[k] == held {
			return fl.send[order[k+1]]
		}
		return fl.send[order[k]]
	}

	d := newReceiver(t, &f, 96)
	rx, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004, PayloadType: 96}}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := newTestMerge(t, fl, SkewClassA)
	for k, i := range order {
		d.d.Push(fl.pkts[i])
		rx.PushRTP(0, fl.pkts[i], at(k))
		m.Push(0, fl.pkts[i], at(k))
	}
	d.d.Flush()
	rx.Flush()
	m.Flush()

	want := Stats{Lost: 1, Late: 1, Reordered: 1}
	counts := func(s Stats) Stats { return Stats{Lost: s.Lost, Late: s.Late, Reordered: s.Reordered} }
	if got := counts(d.d.Stats()); got != want {
		t.Errorf("depacketizer: %+v, want %+v", got, want)
	}
	if got := counts(rx.Stats(0).Stats); got != want {
		t.Errorf("receiver: %+v, want %+v", got, want)
	}
	if got := counts(m.Stats().Stats); got != want {
		t.Errorf("merge: %+v, want %+v", got, want)
	}
	if n := d.d.Stats().Frames; n != 4 || len(d.stats) != 4 || d.stats[1].Lost != 1 || d.stats[2].Lost != 0 {
		t.Errorf("%d frames: %+v", n, d.stats)
	}
}

// TestLostBeforeFirst: a packet that comes after the first one seen but
// was sent before it is reordered, and did not recover a loss: the
// sequence numbers between it and the first one seen that never come are
// lost. Lost once went down for it (hiding a real loss later in the
// frame) and never counted the numbers below the first one seen.
func TestLostBeforeFirst(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}
	fl := newMergeFlow(t, f, 3)
	for _, c := range []struct {
		name  string
		start []int // the order of the first packets; the rest follow in order
		want  Stats
	}{
		{"2 lost after the first", []int{1, 3, 0}, Stats{Lost: 1, Reordered: 1}},
		{"1 and 2 lost below the first", []int{3, 0}, Stats{Lost: 2, Reordered: 1}},
		{"2 lost, 1 below the first", []int{3, 1}, Stats{Lost: 1, Reordered: 1}},
		{"2 lost, 1 then 0 below the first", []int{3, 1, 0}, Stats{Lost: 1, Reordered: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			order := append([]int{}, c.start...)
			for i := slices.Max(c.start) + 1; i < len(fl.pkts); i++ {
				order = append(order, i)
			}
			d := newReceiver(t, &f, 96)
			rx, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004, PayloadType: 96}}})
			if err != nil {
				t.Fatal(err)
			}
			m, _ := newTestMerge(t, fl, SkewClassA)
			for _, i := range order {
				d.d.Push(fl.pkts[i])
				rx.PushRTP(0, fl.pkts[i], fl.send[i])
				m.Push(0, fl.pkts[i], fl.send[i])
			}
			d.d.Flush()
			rx.Flush()
			m.Flush()
			counts := func(s Stats) Stats { return Stats{Lost: s.Lost, Late: s.Late, Reordered: s.Reordered} }
			if got := counts(d.d.Stats()); got != c.want {
				t.Errorf("depacketizer: %+v, want %+v", got, c.want)
			}
			if got := counts(rx.Stats(0).Stats); got != c.want {
				t.Errorf("receiver: %+v, want %+v", got, c.want)
			}
			if got := counts(m.Stats().Stats); got != c.want {
				t.Errorf("merge: %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDepacketizerInterlacedCopy: a copy of a second field's packet
// while that field is filled is a duplicate, not a restart (the first
// field's timestamp is earlier than the copy's).
func TestDepacketizerInterlacedCopy(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 2, Scan: Interlaced}
	var frames []FrameStats
	d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: func(buf []byte, st *FrameStats) []byte {
		frames = append(frames, *st)
		return buf
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetBuffer(make([]byte, f.FrameSize())); err != nil {
		t.Fatal(err)
	}
	pkt := func(seq uint16, ts uint32, marker bool, field, off uint16, n int) []byte {
		return rtpWith(seq, ts, marker, [][3]uint16{{uint16(n), field << 15, off}}, make([]byte, n))
	}
	d.Push(pkt(10, 0, false, 0, 0, 8))    // field 0, its line
	d.Push(pkt(11, 1500, false, 1, 0, 4)) // field 1, first half
	d.Push(pkt(11, 1500, false, 1, 0, 4)) // a copy of it
	d.Push(pkt(12, 1500, true, 1, 2, 4))  // field 1, second half, marker
	if s := d.Stats(); len(frames) != 1 || !frames[0].Complete || s.Duplicates != 1 {
		t.Errorf("frames %+v, stats %+v; want 1 complete frame, 1 duplicate", frames, s)
	}
}

// restartInFrame returns the packets of one interlaced frame whose
// sender restarts between its fields, as they arrive: field 0 with
// numbers from 100 at ts (its 2nd and 3rd lost), then field 1 again from
// 100 at ts+1. The frame lost 2 packets.
func restartInFrame(t *testing.T) (Format, [][]byte) {
	f := mergeFuzzFormats[1]
	var f0, f1 [][]byte
	for _, s := range packetize(t, mustPacketizer(t, f, &PacketizerConfig{}), randomFrame(&f, 1), 0) {
		var h headers
		if !parseHeaders(&h, s.b) {
			t.Fatal("parse")
		}
		if h.field == 0 {
			f0 = append(f0, s.b)
		} else {
			f1 = append(f1, s.b)
		}
	}
	t.Logf("%d + %d packets", len(f0), len(f1))
	const ts = 1000000
	var in [][]byte
	for k, field := range [][][]byte{f0, f1} {
		for i, p := range field {
			binary.BigEndian.PutUint16(p[2:], uint16(100+i))
			binary.BigEndian.PutUint32(p[4:], ts+uint32(k))
			if k == 0 && (i == 1 || i == 2) {
				continue // lost
			}
			in = append(in, p)
		}
	}
	return f, in
}

// checkRestartInFrame checks the frames handed out of restartInFrame's
// packets against the flow's counts.
func checkRestartInFrame(t *testing.T, got []FrameStats, st Stats) {
	t.Helper()
	t.Logf("flow %+v", st)
	for _, g := range got {
		t.Logf("frame %+v", g)
	}
	if len(got) != 1 || got[0].Lost != int(st.Lost) || st.Lost != 2 {
		t.Errorf("frames %+v, flow Lost %d; want one frame with Lost 2, as the flow's", got, st.Lost)
	}
}

// A sender restarts between the fields of an interlaced frame
// (restartInFrame). The frame lost 2 packets, as the flow says: its Lost
// adds up the spans of both numberings (a clamp at 0 of one span's count
// gave 0).
func TestRestartInFrameLost(t *testing.T) {
	f, in := restartInFrame(t)
	var got []FrameStats
	d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: func(b []byte, st *FrameStats) []byte {
		got = append(got, *st)
		return b
	}})
	if err != nil {
		t.Fatal(err)
	}
	d.SetBuffer(make([]byte, f.FrameSize()))
	for _, p := range in {
		d.Push(p)
	}
	d.Flush()
	checkRestartInFrame(t, got, d.Stats())
}

// The same through a Merge (one path): the frame handed out lost 2
// packets, as the flow and the path say.
func TestMergeRestartInFrameLostSpans(t *testing.T) {
	f, in := restartInFrame(t)
	var got []FrameStats
	m, err := NewMerge(&MergeConfig{Format: f, OnFrame: func(_ []byte, st *FrameStats) { got = append(got, *st) }})
	if err != nil {
		t.Fatal(err)
	}
	at := int64(1e18)
	for _, p := range in {
		at += 1000
		m.Push(0, p, at)
	}
	m.Flush()
	t.Logf("path %+v", m.PathStats(0))
	checkRestartInFrame(t, got, m.Stats().Stats)
}

// rfc4175Packets packs frame (of format f) as GStreamer's RFC 4175
// packetizer (rtpvrawpay) does, not as ST 2110-20 allows: lines back to
// back in packets of up to size octets (RTP header on), under as many SRD
// headers as fit, while a header and a pgroup fit (left >= 6+pgroup:
// GStreamer's rule; FFmpeg's rtpenc_rfc4175.c differs at the boundary,
// going on only while left > 6+pgroup). Sequence numbers count from
// seq; the last packet of each field has the marker. It returns the
// packets and the most SRD headers one carries.
func rfc4175Packets(f *Format, frame []byte, size int, seq uint16, ts uint32) ([][]byte, int) {
	pg := f.Pgroup()
	rowBytes, rows, fields := f.RowBytes(), f.Rows(), f.Scan.Fields()
	var out [][]byte
	most := 0
	for fld := range fields {
		row, col := 0, 0
		for row < rows {
			type seg struct{ row, col, n int }
			var segs []seg
			left := size - rtpHeaders
			for row < rows && left >= packet.SRDLen+pg.Size {
				left -= packet.SRDLen
				take := min(rowBytes-col, left/pg.Size*pg.Size)
				segs = append(segs, seg{row, col, take})
				left -= take
				if col += take; col < rowBytes {
					break
				}
				row, col = row+1, 0
			}
			pk := make([]byte, rtpHeaders, size)
			pk[0], pk[1] = 0x80, 96
			if row == rows {
				pk[1] |= 0x80
			}
			binary.BigEndian.PutUint16(pk[2:], seq)
			binary.BigEndian.PutUint32(pk[4:], ts)
			seq++
			for i, s := range segs {
				var h [packet.SRDLen]byte
				packet.PutSRD(h[:], uint16(s.n), fld == 1, uint16(s.row*pg.Height), i < len(segs)-1, uint16(s.col/pg.Size*pg.Width))
				pk = append(pk, h[:]...)
			}
			for _, s := range segs {
				at := (s.row*fields+fld)*rowBytes + s.col
				pk = append(pk, frame[at:at+s.n]...)
			}
			out = append(out, pk)
			most = max(most, len(segs))
		}
	}
	return out, most
}

// TestManyRowsPerPacket: RFC 4175 sets no limit to the SRD headers of a
// packet, and FFmpeg and GStreamer put as many lines as fit when lines are
// short: a narrow stream carries dozens of rows a packet, which our
// packetizer makes by GStreamer's rule (given MaxRows), and the depacketizer, the
// receiver (its headers parsed once for the analysis) and a merge of two
// paths each reassemble byte for byte, frame after frame.
func TestManyRowsPerPacket(t *testing.T) {
	for _, c := range []struct {
		f    Format
		size int
		rows int // SRD headers a packet carries at least
	}{
		{Format{Sampling: YCbCr422, Depth: Depth10, Width: 8, Height: 480, Scan: Progressive, Rate: Rate59_94}, MaxUDP, 55},
		{Format{Sampling: YCbCr420, Depth: Depth8, Width: 2, Height: 1080, Scan: Interlaced, Rate: Rate29_97}, MaxUDP, 120},
		{Format{Sampling: RGB, Depth: Depth8, Width: 4, Height: 2160, Scan: Progressive, Rate: Rate25}, MaxUDPExtended, 400},
	} {
		t.Run(fmt.Sprint(c.f), func(t *testing.T) {
			f := c.f
			frame := randomFrame(&f, 7)
			ref, most := rfc4175Packets(&f, frame, c.size, 65000, 90000)
			if most < c.rows {
				t.Fatalf("%d SRD headers a packet at most, want %d or more", most, c.rows)
			}
			// Our packetizer packs them so too, given MaxRows: the
			// same packets but for the second field's timestamp.
			p := mustPacketizer(t, f, &PacketizerConfig{Continuous: true, MaxRows: 10000, PayloadSize: c.size, Seq: 65000, NoRandom: true})
			var pkts [][]byte
			for _, sn := range packetize(t, p, frame, 1e9) { // 1 s: timestamp 90000
				pkts = append(pkts, sn.b)
			}
			if len(pkts) != len(ref) || p.PacketsPerFrame() != len(ref) {
				t.Fatalf("%d packets (%d a frame), want %d", len(pkts), p.PacketsPerFrame(), len(ref))
			}
			for i, pk := range pkts {
				if len(pk) > c.size || !bytes.Equal(pk[:4], ref[i][:4]) || !bytes.Equal(pk[8:], ref[i][8:]) {
					t.Fatalf("packet %d of %d octets differs from GStreamer's way:\n% x\n% x", i, len(pk), pk[:min(len(pk), 40)], ref[i][:min(len(ref[i]), 40)])
				}
			}
			check := func(how string, got []byte, st *FrameStats) {
				t.Helper()
				if !st.Complete || st.BadRows != 0 || st.Packets != len(pkts) || !bytes.Equal(got, frame) {
					t.Errorf("%s: frame of %d packets (%d sent) differs at %d: %+v", how, st.Packets, len(pkts), firstDiff(got, frame), st)
				}
			}

			n := 0
			d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: func(buf []byte, st *FrameStats) []byte {
				check("depacketizer", buf, st)
				n++
				return filled(len(buf))
			}})
			if err != nil {
				t.Fatal(err)
			}
			_ = d.SetBuffer(filled(f.FrameSize()))

			r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, OnFrame: func(buf []byte, st *FrameStats) {
				check("receiver", buf, st)
				n++
			}}}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMerge(&MergeConfig{Format: f, OnFrame: func(buf []byte, st *FrameStats) {
				check("merge", buf, st)
				n++
			}})
			if err != nil {
				t.Fatal(err)
			}
			period := f.Rate.Period().Nanoseconds()
			step := uint32(int64(90000*f.Rate.Den) / int64(f.Rate.Num))
			const frames = 3
			for k := range frames {
				for i, pk := range pkts {
					if k > 0 { // the next frame
						binary.BigEndian.PutUint16(pk[2:], binary.BigEndian.Uint16(pk[2:])+uint16(len(pkts)))
						binary.BigEndian.PutUint32(pk[4:], binary.BigEndian.Uint32(pk[4:])+step)
					}
					at := int64(1e18) + int64(k)*period + int64(i)*(period/int64(len(pkts)))
					d.Push(pk)
					r.PushRTP(0, pk, at)
					m.Push(0, pk, at)
					m.Push(1, pk, at+1000)
				}
			}
			d.Flush()
			r.Flush()
			m.Flush()
			if n != 3*frames {
				t.Errorf("%d frames handed out, want %d", n, 3*frames)
			}
			for _, st := range []Stats{d.Stats(), r.Stats(0).Stats, m.Stats().Stats} {
				if st.Malformed != 0 || st.BadRows != 0 {
					t.Errorf("%+v", st)
				}
			}
			if a, _ := r.Analysis(0); a.MaxRows != most {
				t.Errorf("analysis: %d rows a packet at most, want %d", a.MaxRows, most)
			}
		})
	}
}

// TestManyRowsWideRows: a packet's SRD headers are bounded by its length
// alone, so the count of rows its data can fill is figured without
// wrapping: in a 32-bit int, 10924 rows of 196596 octets wrap past 2^31,
// and a packet of that many empty rows (65 KiB of headers, which a
// datagram cannot hold but a slice can) would be written row by row
// instead of dropped as bad rows. (GOARCH=386 go test ./video is the
// test; on 64 bits nothing wraps.)
func TestManyRowsWideRows(t *testing.T) {
	f := Format{Sampling: RGB, Depth: Depth16, Width: 32766, Height: 2, Scan: Progressive}
	d, err := NewDepacketizer(&f, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = d.SetBuffer(make([]byte, f.FrameSize()))
	const n = 10926 // (n-2)*196596 = 2147614704 > 2^31
	if f.RowBytes() != 196596 {
		t.Fatalf("%d octets a row", f.RowBytes())
	}
	pk := make([]byte, rtpHeaders+n*packet.SRDLen)
	pk[0], pk[1] = 0x80, 96
	for i := range n {
		packet.PutSRD(pk[rtpHeaders+i*packet.SRDLen:], 0, false, 0, i < n-1, 0)
	}
	d.Push(pk)
	if st := d.Stats(); st.BadRows != n-2 || counting && d.steps.get() != n+2 {
		t.Errorf("%d empty rows: %d loop steps, %+v", n, d.steps.get(), st)
	}
}

// TestDropChainCounts: a packet whose SRD headers run off its end is
// counted by the receiver, which does not walk them a second time, as
// Depacketizer.Push counts it: malformed, or of the wrong payload type
// when its headers before the SRDs are whole, padding taken off.
func TestDropChainCounts(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 8, Scan: Progressive, Rate: Rate50}
	chain := func(pt uint8, n int, ext bool, pad int) []byte {
		b := []byte{0x80, pt, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0}
		if ext {
			b[0] |= 0x10
			b = append(b[:12], 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 0, 0) // one word of extension, then the ESN
		}
		for range n {
			var h [packet.SRDLen]byte
			packet.PutSRD(h[:], 5, false, 1, true, 0)
			b = append(b, h[:]...)
		}
		if pad > 0 {
			b[0] |= 0x20
			b = append(b, make([]byte, 3)...)
			b = append(b, byte(pad))
		}
		return b
	}
	var pkts [][]byte
	for _, pt := range []uint8{96, 97} {
		for _, n := range []int{1, 2, 40} {
			for _, ext := range []bool{false, true} {
				for _, pad := range []int{0, 4, 10, 255} {
					pkts = append(pkts, chain(pt, n, ext, pad))
				}
			}
		}
	}
	d, err := NewDepacketizer(&f, &DepacketizerConfig{PayloadType: 96})
	if err != nil {
		t.Fatal(err)
	}
	_ = d.SetBuffer(make([]byte, f.FrameSize()))
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, PayloadType: 96}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pk := range pkts {
		var h headers
		if parseHeaders(&h, pk) {
			t.Fatalf("% x: parsed", pk)
		}
		d.Push(pk)
		r.PushRTP(0, pk, 1e18)
	}
	want, got := d.Stats(), r.Stats(0).Stats
	if got != want || want.WrongPT == 0 || want.Malformed == 0 || want.Packets != uint64(len(pkts)) {
		t.Errorf("receiver %+v, depacketizer %+v", got, want)
	}
}
