package video

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"
	"time"
)

// TestMergeTrace drives merges with flows ordinary and hostile (random
// loss, reordering and skew; then sequence numbers, timestamps, markers,
// payload types, versions, lengths and arrival times rewritten at random;
// directly and through two Receivers, as Ethernet frames with captures
// cut short and as those frames' UDP payloads, the way socket readers push
// them: feeds) and checks, after every packet, that each copy was counted
// once (taken, absorbed, late or malformed), what the flow took adds up,
// and push's shortcut state (fastSl, fastW, fastTS) is what refresh finds
// then (and fastTS what the slot has): a call of refresh missed shows at
// the packet after it, whether or not the counts ever do. The two
// Receivers' feeds get the same packets and must show the same after
// every one (traceSum): each has the merge's common case written out.
// (pushRestart's is the one it cannot reach: a restart whose first packet
// is malformed takes two rewrites of one packet, which its flows never
// make; TestMergeRestartMalformedFirst pins it.)
//
// It also writes, with NMTEST_MERGE_TRACE=FILE, everything a merge shows
// after every packet (flow and path counts, skew, the frames handed out
// with their stats and a checksum of their contents) and the sequence and
// frame state the merge keeps, to FILE: run with one version of the merge
// and another, the two files must be the same for a change that is meant
// not to change what the merge does (docs/benchmarks.md, issue 17, has the
// run that compared the merge before and after the duplicate's and first
// copy's shorter ways).
func TestMergeTrace(t *testing.T) {
	var w io.Writer // nil: no trace written, the counts checked
	if name := os.Getenv("NMTEST_MERGE_TRACE"); name != "" {
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	formats := []Format{
		{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50},
		{Sampling: YCbCr422, Depth: Depth8, Width: 32, Height: 16, Scan: Interlaced, Rate: Rate29_97},
	}
	n := 0
	for fi, f := range formats {
		fl := newMergeFlow(t, f, 40)
		for seed := range uint64(24) {
			var sums [len(feeds)]uint32
			for feed := range feeds {
				if w != nil {
					fmt.Fprintf(w, "flow %d format %d seed %d feed %s\n", n, fi, seed, feeds[feed])
				}
				sums[feed] = traceSum(t, w, fl, seed, feed)
				n++
			}
			if sums[feedPush] != sums[feedUDPCut] {
				var a, b bytes.Buffer
				traceMerge(t, &a, fl, seed, feedPush)
				traceMerge(t, &b, fl, seed, feedUDPCut)
				t.Errorf("format %d seed %d: the merge fed through PushUDPCut differs from the one fed through Push at %s", fi, seed, firstLineDiff(a.String(), b.String(), "through Push", "through PushUDPCut"))
			}
		}
	}
}

// traceSum runs traceMerge, writing its trace to w if w is not nil, and
// returns the CRC-32 of the trace of the receivers' feeds: Receiver.Push
// and Receiver.PushUDPCut each have the merge's common case written out
// (as Merge.push has), so TestMergeTrace compares the two (their flows
// are the same packets, the same frames cut short) and a change to one
// that the other lacks fails it, whether or not the counts show it.
func traceSum(t *testing.T, w io.Writer, fl *mergeFlow, seed uint64, feed int) uint32 {
	if feed == feedMerge {
		traceMerge(t, w, fl, seed, feed)
		return 0
	}
	h := crc32.NewIEEE()
	if w != nil {
		w = io.MultiWriter(w, h)
	} else {
		w = h
	}
	traceMerge(t, w, fl, seed, feed)
	return h.Sum32()
}

// The ways traceMerge's packets reach the merge (feeds, their names in
// the trace): Merge.Push; Receiver.Push, an Ethernet frame from
// udpFrameHeader; Receiver.PushUDPCut, that frame's UDP payload with its
// addresses and the UDP length less its header as wire, as a socket
// reader pushes what it reads (a frame cut short is a datagram read into
// a buffer too short for it). Every frame traceMerge makes is IPv4 and
// UDP, at least udpFrameHeader's 42 octets, so a socket would read each:
// none is skipped.
const (
	feedMerge = iota
	feedPush
	feedUDPCut
)

var feeds = [...]string{feedMerge: "Merge.Push", feedPush: "Receiver.Push", feedUDPCut: "Receiver.PushUDPCut"}

// traceMerge runs one flow of fl's packets, made hostile by seed (0:
// loss and skew only), through a merge, fed as feed (feedMerge, ...).
func traceMerge(t *testing.T, w io.Writer, fl *mergeFlow, seed uint64, feed int) {
	r := rand.New(rand.NewPCG(seed, 17))
	windows := []time.Duration{SkewClassA, 2 * time.Millisecond, SkewClassB}
	m := newTracedMerge(t, fl.f, windows[seed%3], w, "  ")
	var rs [2]*Receiver
	if feed != feedMerge {
		for p := range 2 {
			var err error
			if rs[p], err = NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: m, Path: p}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	d0, _ := randomDrops(len(fl.pkts), int(seed%4)*5, seed+100)
	d1, _ := randomDrops(len(fl.pkts), int(seed%3)*5, seed+200)
	ev := fl.arrivals([2]func(int) bool{d0, d1}, [2]time.Duration{0, time.Duration(seed%5) * time.Millisecond})
	hostile := seed % 4 // 0: none; then more and more packets rewritten
	var pushed [2]uint64
	for k, e := range ev {
		pkt := append([]byte(nil), fl.pkts[e.pkt]...)
		at := e.at
		if k > 0 && r.IntN(20) == 0 { // swap with the next arrival
			at += int64(r.IntN(3_000_000))
		}
		pkt, at = hostileRewrite(r, hostile, pkt, at)
		if feed != feedMerge {
			fr := traceFrame(r, uint16(5004+2*e.path), pkt)
			if feed == feedPush {
				rs[e.path].Push(fr, at)
			} else {
				src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(fr[26:30])), binary.BigEndian.Uint16(fr[34:]))
				dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(fr[30:34])), binary.BigEndian.Uint16(fr[36:]))
				rs[e.path].PushUDPCut(src, dst, fr[42:], int(binary.BigEndian.Uint16(fr[38:]))-8, at)
			}
		} else {
			m.Push(e.path, pkt, at)
		}
		pushed[e.path]++
		traceState(t, w, m, rs, pushed)
	}
	m.Flush()
	traceState(t, w, m, rs, pushed)
}

// hostileRewrite rewrites pkt, an RTP packet that arrives at time at, at
// random as traceMerge does (the more often the higher hostile, 0 to 3: a
// sequence number, a timestamp, the marker, the payload type, the version,
// the length, the arrival time or the first SRD), and returns it and its
// arrival time.
func hostileRewrite(r *rand.Rand, hostile uint64, pkt []byte, at int64) ([]byte, int64) {
	if hostile > 0 && r.IntN(16) < int(hostile) {
		switch r.IntN(10) {
		case 0:
			binary.BigEndian.PutUint16(pkt[2:], uint16(r.Uint32()))
		case 1:
			binary.BigEndian.PutUint16(pkt[2:], binary.BigEndian.Uint16(pkt[2:])+uint16(r.IntN(40000)))
		case 2:
			binary.BigEndian.PutUint32(pkt[4:], r.Uint32())
		case 3:
			binary.BigEndian.PutUint32(pkt[4:], binary.BigEndian.Uint32(pkt[4:])+uint32(r.IntN(5000)))
		case 4:
			pkt[1] ^= 0x80 // marker
		case 5:
			pkt[1] ^= byte(1 + r.IntN(127)) // payload type
		case 6:
			pkt[0] ^= byte(0x40 << r.IntN(2)) // version
		case 7:
			pkt = pkt[:r.IntN(len(pkt)+1)]
		case 8:
			at -= int64(r.IntN(100_000_000))
		case 9:
			pkt[16+r.IntN(4)] ^= byte(r.Uint32()) // the first SRD's field, line, continuation, offset
		}
	}
	return pkt, at
}

// traceFrame returns pkt in an Ethernet frame to UDP port port, as
// traceMerge pushes it to a Receiver: one in 50 cut short, as a capture
// cuts it.
func traceFrame(r *rand.Rand, port uint16, pkt []byte) []byte {
	fr := udpFrame(port, pkt)
	if r.IntN(50) == 0 {
		fr = fr[:max(42, len(fr)-r.IntN(100))] // a capture cut short: wire > len
	}
	return fr
}

// newTracedMerge makes a merge of f's flows (payload type 96) with the
// window given, whose slots and TakeFrame hand out filled buffers; each
// frame handed out is written to w, if not nil, after prefix: its number,
// stats, arrival and a checksum of its contents.
func newTracedMerge(t *testing.T, f Format, window time.Duration, w io.Writer, prefix string) *Merge {
	size := f.FrameSize()
	frames := 0
	m, err := NewMerge(&MergeConfig{Format: f, PayloadType: 96, Window: window,
		TakeFrame: func(buf []byte, st *FrameStats, at int64) []byte {
			if w != nil {
				fmt.Fprintf(w, "%sframe %d %+v at %d crc %08x\n", prefix, frames, *st, at, crc32.ChecksumIEEE(buf))
			}
			frames++
			return filled(size)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.slots {
		_ = m.slots[i].d.SetBuffer(filled(size))
	}
	return m
}

// traceState writes what m shows and keeps, and checks its counts.
func traceState(t *testing.T, w io.Writer, m *Merge, rs [2]*Receiver, pushed [2]uint64) {
	st := m.Stats()
	p0, p1 := m.PathStats(0), m.PathStats(1)
	if w != nil {
		fmt.Fprintf(w, "%+v\n p0 %+v\n p1 %+v\n %v max %d cur %d order %v", st, p0, p1, m.Skew(), m.maxSeq, m.cur, m.order)
		for _, i := range m.order {
			sl := &m.slots[i]
			fmt.Fprintf(w, " [%d %v %v %d %v %d %d %v %d %v %d %d %v]", i, sl.fts, sl.have, sl.firstAt, sl.ended, sl.endAt,
				sl.paths[0]+sl.paths[1], sl.started, sl.startSeq, sl.marker, sl.markSeq, sl.heldN, sl.paths)
		}
		for _, r := range rs {
			if r != nil {
				fmt.Fprintf(w, " rx %+v %d", r.Stats(0), r.Other())
			}
		}
		fmt.Fprintln(w)
	}
	// push's shortcut state must be what refresh would find now: a
	// stale one (a call of refresh missed) takes a packet into the wrong
	// word or frame, which the counts may not show for long; one left
	// nil where refresh finds one would only send packets the long way,
	// and is held to the same (these flows never leave one).
	c := *m // refresh on a copy: the slots and words are shared, m keeps its state
	c.refresh()
	if m.fastSl != c.fastSl || m.fastSl != nil && m.fastW != c.fastW || m.fastTS != c.fastTS {
		t.Fatalf("push's shortcut state %p %p %v, refresh finds %p %p %v (max %d cur %d rel %v)",
			m.fastSl, m.fastW, m.fastTS, c.fastSl, c.fastW, c.fastTS, m.maxSeq, m.cur, m.rel)
	}
	// And, not by refresh: a field's timestamp in fastTS is that of a
	// field the shortcut's slot has; noTS without one, or without a slot.
	for f, ts := range m.fastTS {
		sl := m.fastSl
		switch {
		case sl == nil && ts != noTS:
			t.Fatalf("fastTS %v without a shortcut slot", m.fastTS)
		case sl != nil && sl.have[f] && int64(sl.fts[f]) != ts, sl != nil && !sl.have[f] && ts != noTS:
			t.Fatalf("fastTS %v, field %d: the shortcut slot has %v, %v", m.fastTS, f, sl.have, sl.fts)
		}
	}
	if rel := len(m.order) > 0 && m.slots[m.order[0]].ended; m.releasable() != rel {
		t.Fatalf("releasable %v, the frames held say %v", m.releasable(), rel)
	}
	taken := uint64(0)
	for p, ps := range []PathStats{p0, p1} {
		if ps.Packets != pushed[p] || ps.Taken+ps.Duplicates+ps.Late+ps.Malformed != ps.Packets {
			t.Fatalf("path %d: %+v after %d packets", p, ps, pushed[p])
		}
		taken += ps.Taken
	}
	if st.Packets != taken || st.Duplicates != p0.Duplicates+p1.Duplicates {
		t.Fatalf("flow %+v, paths %+v and %+v", st, p0, p1)
	}
}
