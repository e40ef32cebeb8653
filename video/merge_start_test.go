package video

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// A frame-start packet (line 0, offset 0 of the first field) that comes as
// the next number into the frame being filled goes the long way, not
// push's or pushNext's shortcut: only the long way records the frame's
// start (mslot.started, startSeq), by which the release counts a frame
// complete (its marker held, and as many packets taken as numbers from
// the start to the marker) and hands it out before its window passes.
// The flow: seq 10 line 2 (the frame's first packet taken), seq 11 the
// start in mid-frame (forged, or a sender gone wrong), seq 12 lost, seq
// 13 the marker. With the start recorded the frame has 3 packets of the
// 3 numbers from 11 to 13: complete, handed out at the marker's arrival.
// Taken by a shortcut, the start was not recorded, and the frame waited
// for its window (or Flush).
func TestMergeStartInShortcut(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 4, Scan: Progressive, Rate: Rate50} // rows of 8 octets
	const ts = 90000
	row := make([]byte, 8)
	pkts := []struct {
		seq    uint16
		line   uint16
		marker bool
	}{{10, 2, false}, {11, 0, false}, {13, 3, true}}
	rtp := func(i int) []byte {
		p := pkts[i]
		return rtpWith(p.seq, ts, p.marker, [][3]uint16{{8, p.line, 0}}, row)
	}
	// Through Merge.Push (push's shortcut) and through a Receiver's
	// path stream (Receiver.push's fast path, pushNext's shortcut).
	for _, way := range []string{"Merge.Push", "Receiver.Push"} {
		frames := 0
		m, err := NewMerge(&MergeConfig{Format: f, PayloadType: 96, Window: SkewClassA,
			OnFrame: func([]byte, *FrameStats) { frames++ }})
		if err != nil {
			t.Fatal(err)
		}
		push := func(i int, at int64) { m.Push(0, rtp(i), at) }
		if way == "Receiver.Push" {
			r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: 5004, Merge: m, Path: 0}}})
			if err != nil {
				t.Fatal(err)
			}
			dst := netip.MustParseAddrPort("239.1.1.1:5004")
			push = func(i int, at int64) {
				if !r.Push(rxMergeFrame(dst, rtp(i), 0), at) {
					t.Fatalf("%s: packet %d: no stream took it", way, i)
				}
			}
		}
		at := int64(1e15)
		for i := range pkts {
			push(i, at)
			at += 1000
		}
		if frames != 1 {
			t.Errorf("%s: %d frames handed out at the marker, want 1: the start in mid-frame, not recorded, left the frame incomplete", way, frames)
		}
		m.Flush()
	}
}

// Nearly every first copy of a clean flow takes pushNext's shortcut
// (isNext, takeNext): after each first copy the shortcut is armed for the
// next number (fastSl, and fastTS holding the packet's timestamp) but
// after a window word's last number and after a frame's marker (the next
// packet opens a frame: the long way). A refresh that never armed it
// would send every first copy the long way (pushFirst), with the same
// frames and counts: no other test would fail, only the time.
func TestMergeShortcutArmed(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate50}
	fl := newMergeFlow(t, f, 6)
	ev := fl.arrivals([2]func(int) bool{}, [2]time.Duration{0, time.Millisecond})
	for _, way := range []string{"Merge.Push", "Receiver.Push"} {
		m, _ := newTestMerge(t, fl, SkewClassA)
		push := func(e mergeEvent) { m.Push(e.path, fl.pkts[e.pkt], e.at) }
		if way == "Receiver.Push" {
			var rs [2]*Receiver
			for p := range rs {
				r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: m, Path: p}}})
				if err != nil {
					t.Fatal(err)
				}
				rs[p] = r
			}
			push = func(e mergeEvent) {
				dst := netip.AddrPortFrom(netip.MustParseAddr("239.1.1.1"), uint16(5004+2*e.path))
				if !rs[e.path].Push(rxMergeFrame(dst, fl.pkts[e.pkt], 0), e.at) {
					t.Fatalf("%s: packet %d: no stream took it", way, e.pkt)
				}
			}
		}
		firsts, armed := 0, 0
		for _, e := range ev {
			push(e)
			if e.path != 0 { // path 1 brings every packet 1 ms later: copies
				continue
			}
			firsts++
			if ts := int64(binary.BigEndian.Uint32(fl.pkts[e.pkt][4:])); m.fastSl != nil && m.fastTS[0] == ts {
				armed++
			}
		}
		if firsts != len(fl.pkts) {
			t.Fatalf("%s: %d first copies on path 0, want its %d packets", way, firsts, len(fl.pkts))
		}
		// Unarmed: one first copy in 64 (a word's last), and each
		// frame's marker.
		if most := firsts/64 + 1 + len(fl.frames); firsts-armed > most {
			t.Errorf("%s: the shortcut armed after %d of %d first copies; at most %d may leave it unarmed", way, armed, firsts, most)
		}
		m.Flush()
	}
}
