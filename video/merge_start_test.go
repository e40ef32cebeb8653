package video

import (
	"net/netip"
	"testing"
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
