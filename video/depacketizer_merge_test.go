package video

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestDepacketizerPushNext: pushNext, the merge's way for the next packet
// of the frame being filled, takes every packet as pushParsed does. Two
// depacketizers are fed the same packets, of frames progressive and
// interlaced, with sequence numbers that skip, repeat and go back,
// timestamps of the next frame, markers, padding, other payload types and
// SRD headers rewritten at random: one through pushParsed, the other
// through pushNext (with the field a merge gives it). Their frames (stats
// and contents), counts and steps are the same.
func TestDepacketizerPushNext(t *testing.T) {
	for _, f := range []Format{
		{Sampling: YCbCr422, Depth: Depth10, Width: 320, Height: 32, Scan: Progressive, Rate: Rate50},
		{Sampling: YCbCr420, Depth: Depth8, Width: 320, Height: 64, Scan: Interlaced, Rate: Rate25},
	} {
		type delivered struct {
			st  FrameStats
			buf []byte
		}
		var got [2][]delivered
		var ds [2]*Depacketizer
		for k := range ds {
			d, err := NewDepacketizer(&f, &DepacketizerConfig{PayloadType: 96, OnFrame: func(buf []byte, st *FrameStats) []byte {
				got[k] = append(got[k], delivered{*st, bytes.Clone(buf)})
				return buf
			}})
			if err != nil {
				t.Fatal(err)
			}
			_ = d.SetBuffer(make([]byte, f.FrameSize()))
			ds[k] = d
		}
		// One key for both, so that their coverage sums compare.
		ds[1].seed, ds[1].whole = ds[0].seed, ds[0].whole
		rng := rand.New(rand.NewPCG(1, uint64(f.Scan)))
		p := mustPacketizer(t, f, &PacketizerConfig{PayloadType: 96})
		var pkts [][]byte
		var whole []bool // each packet's frame is sent as it is
		for fr := range 16 {
			for _, s := range packetize(t, p, randomFrame(&f, uint64(fr)), int64(fr)*int64(f.Rate.Period())) {
				pkts = append(pkts, s.b)
				whole = append(whole, fr%4 == 0 || fr%4 == 3) // and the frame before it, so that no mutation reaches it
			}
		}
		fast := 0
		for i, pkt := range pkts {
			pkt = bytes.Clone(pkt)
			m := rng.IntN(40)
			if whole[i] {
				m = -1
			}
			switch m {
			case 0: // a sequence number that skips, repeats or goes back
				binary.BigEndian.PutUint16(pkt[2:], binary.BigEndian.Uint16(pkt[2:])+uint16(rng.IntN(5))-2)
			case 1: // the next frame's timestamp
				binary.BigEndian.PutUint32(pkt[4:], binary.BigEndian.Uint32(pkt[4:])+uint32(rng.IntN(2))*1800)
			case 2: // a marker
				pkt[1] |= 0x80
			case 3: // another payload type
				pkt[1] ^= 1
			case 4: // padding
				pkt[0] |= 0x20
				pkt[len(pkt)-1] = byte(rng.IntN(8))
			case 5, 6: // an SRD header's octet (length, line, F bit, offset, C bit)
				pkt[12+2+rng.IntN(6*3)] ^= byte(1) << rng.IntN(8)
			}
			var h headers
			if !parseHeaders(&h, pkt) {
				continue
			}
			field := 0
			if f.Scan.Fields() == 2 {
				field = h.field & 1
			}
			if ds[1].active && uint16(ds[1].maxSeq+1) == h.seq {
				fast++
			}
			ds[0].pushParsed(pkt, &h)
			ds[1].pushNext(pkt, &h, field)
			if ds[0].stats != ds[1].stats || ds[0].st != ds[1].st || ds[0].steps != ds[1].steps || ds[0].maxSeq != ds[1].maxSeq ||
				ds[0].cover != ds[1].cover || ds[0].lastEnd != ds[1].lastEnd {
				t.Fatalf("%v packet %d: pushParsed %+v %+v steps %d, pushNext %+v %+v steps %d", f, i,
					ds[0].stats, ds[0].st, ds[0].steps, ds[1].stats, ds[1].st, ds[1].steps)
			}
		}
		if fast < len(pkts)/2 {
			t.Errorf("%v: %d of %d packets the next one: pushNext's own way barely tried", f, fast, len(pkts))
		}
		if len(got[0]) < 4 || len(got[0]) != len(got[1]) {
			t.Fatalf("%v: %d and %d frames", f, len(got[0]), len(got[1]))
		}
		complete := 0
		for i := range got[0] {
			if got[0][i].st.Complete {
				complete++
			}
			if got[0][i].st != got[1][i].st || !bytes.Equal(got[0][i].buf, got[1][i].buf) {
				t.Errorf("%v frame %d: pushParsed %+v, pushNext %+v (or their contents differ)", f, i, got[0][i].st, got[1][i].st)
			}
		}
		if complete < 3 {
			t.Errorf("%v: %d complete frames: the coverage check barely tried", f, complete)
		}
		if ds[0].seen != ds[1].seen || ds[0].blk != ds[1].blk || ds[0].ntouched != ds[1].ntouched {
			t.Errorf("%v: sequence windows differ", f)
		}
	}
}
