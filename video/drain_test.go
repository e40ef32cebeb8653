package video

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/xsk"
)

// The queues that hand out batches: Drain takes them that way.
var (
	_ RxBatchQueue = (*rings.RxRing)(nil)
	_ RxBatchQueue = (*xsk.RxQueue)(nil)
	_ RxBatchQueue = (*drainQueue)(nil)
	_ RxBatchQueue = (*sliceQueue)(nil)
	_ RxBatchQueue = lyingQueue{}
)

// drainQueue is an RxBatchQueue over frames in memory: frames up to end
// have arrived, those from next on are not yet taken. A frame with an
// error in bad is a corrupt slot: nil from Packets, its error from Packet.
type drainQueue struct {
	frames    [][]byte
	bad       []error
	next, end int
	got       int // acquired
}

func (q *drainQueue) Acquire(n int) (int, error) {
	q.got = max(0, min(n, q.end-q.next))
	return q.got, nil
}

func (q *drainQueue) Packet(i int) ([]byte, error) {
	i = q.next + i
	_ = q.frames[:q.next+q.got][i]
	if q.bad[i] != nil {
		return nil, q.bad[i]
	}
	return q.frames[i], nil
}

func (q *drainQueue) Packets(first int, pkts [][]byte) int {
	k := copy(pkts, q.frames[q.next : q.next+q.got][first:])
	for i := range k {
		if q.bad[q.next+first+i] != nil {
			pkts[i] = nil
		}
	}
	return k
}

func (q *drainQueue) Release(n int) {
	_ = q.frames[q.next : q.next+q.got][:n]
	q.next += n
	q.got = 0
}

// plainQueue is a drainQueue without Packets: Drain takes it packet by
// packet.
type plainQueue struct{ q *drainQueue }

func (p plainQueue) Acquire(n int) (int, error)   { return p.q.Acquire(n) }
func (p plainQueue) Packet(i int) ([]byte, error) { return p.q.Packet(i) }
func (p plainQueue) Release(n int)                { p.q.Release(n) }

// stingyQueue is a drainQueue whose Packets breaks its word: it hands out
// nothing. Drain takes its packets with Packet.
type stingyQueue struct{ plainQueue }

func (stingyQueue) Packets(first int, pkts [][]byte) int { return 0 }

// lyingQueue is a drainQueue whose Packets claims extra packets more than
// it stored, having stored after them, where pkts has room, packets that
// arrived but are not acquired (Drain gives it no such room: a Drain that
// did would push them).
type lyingQueue struct {
	*drainQueue
	extra int
}

func (q lyingQueue) Packets(first int, pkts [][]byte) int {
	k := q.drainQueue.Packets(first, pkts)
	copy(pkts[k:min(k+q.extra, len(pkts))], q.frames[q.next+q.got:q.end])
	return k + q.extra
}

// drainSide is one of TestDrainAsPush's two receiving sides: two merges
// (flows A and B) and two Receivers. rs[0] takes flow A's path 0 (port
// 5004) and both paths of flow B (5008, 5010); rs[1] takes flow A's path
// 1 (5006) and, on 5100, a stream of its own, not merged. w gets what the
// merges hand out and, after each batch, what they and the Receivers show.
type drainSide struct {
	ms [2]*Merge
	rs [2]*Receiver
	w  bytes.Buffer
}

func newDrainSide(t *testing.T, f Format, window time.Duration) *drainSide {
	s := &drainSide{}
	for k := range s.ms {
		s.ms[k] = newTracedMerge(t, f, window, &s.w, fmt.Sprintf("  merge %d ", k))
	}
	mA, mB := s.ms[0], s.ms[1]
	for p, streams := range [][]RxStream{
		{{Port: 5004, Merge: mA, Path: 0}, {Port: 5008, Merge: mB, Path: 0}, {Port: 5010, Merge: mB, Path: 1}},
		{{Port: 5006, Merge: mA, Path: 1}, {Port: 5100, Format: f, PayloadType: 96}},
	} {
		r, err := NewReceiver(&ReceiverConfig{Streams: streams})
		if err != nil {
			t.Fatal(err)
		}
		s.rs[p] = r
	}
	return s
}

// state writes what the merges and the Receivers show and keep to s.w
// (traceState's, which also checks the merges' counts), and returns all
// that s.w got since the last call.
func (s *drainSide) state(t *testing.T) string {
	for _, m := range s.ms {
		traceState(t, &s.w, m, [2]*Receiver{}, [2]uint64{m.PathStats(0).Packets, m.PathStats(1).Packets})
	}
	for _, r := range s.rs {
		for i := range r.streams {
			fmt.Fprintf(&s.w, " rx %+v", r.Stats(i))
		}
		fmt.Fprintf(&s.w, " other %d\n", r.Other())
	}
	st := s.w.String()
	s.w.Reset()
	return st
}

// TestDrainAsPush: Receiver.Drain does what Push does, packet by packet at
// the batch's time. TestMergeTrace's flows, made hostile the same way (its
// rewrites, loss, reordering, skew, frames cut short), and a flow whose
// sender restarts, are cut into batches of 1 to 64 packets, each with the
// arrival time of its first; besides the flows' frames the batches bring
// frames that are not UDP, frames too short for their headers, the same
// frame twice in a row, frames udp4Fast does not take (IP options, a
// fragment, TCP), IP and UDP lengths that lie and corrupt slots (nil from
// Packets, an error from Packet), to two merges and a stream of its own
// through two Receivers, one of which takes both paths of a merge and a
// path of the other interleaved. One side drains each Receiver's frames of the batch from a
// queue (with Packets, without, with a Packets that hands out nothing;
// sometimes in several Drains of fewer), the other pushes them one by
// one; after every batch both show the same (the merges' frames, counts
// and state, the Receivers' counts), and each Drain returns how many it
// took and the last corrupt slot's error, and keeps none of the queue's
// packets in its batch.
func TestDrainAsPush(t *testing.T) {
	flows := []*mergeFlow{
		newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 40),
		newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth8, Width: 32, Height: 16, Scan: Interlaced, Rate: Rate29_97}, 40),
	}
	// A sender that restarts 50 numbers behind its last, timestamps on.
	restart := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}, 20)
	restart.add(t, 20, uint16(65500+len(restart.pkts)-1-50), 20)
	flows = append(flows, restart)
	for fi, fl := range flows {
		for seed := range uint64(16) {
			t.Run(fmt.Sprintf("flow%d/seed%d", fi, seed), func(t *testing.T) {
				drainAsPush(t, fl, seed)
			})
		}
	}
}

// drainFrame is a frame of a batch of TestDrainAsPush, to Receiver rx, or
// a corrupt slot (bad).
type drainFrame struct {
	rx  int
	fr  []byte
	bad error
}

func drainAsPush(t *testing.T, fl *mergeFlow, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 27))
	windows := []time.Duration{SkewClassA, 2 * time.Millisecond, SkewClassB}
	drain, push := newDrainSide(t, fl.f, windows[seed%3]), newDrainSide(t, fl.f, windows[seed%3])
	// Flow A as TestMergeTrace's; flow B the same packets, other losses
	// and skew.
	type event struct {
		mergeEvent
		flow int
	}
	var ev []event
	for flow := range 2 {
		d0, _ := randomDrops(len(fl.pkts), int(seed%4)*5, seed+100+uint64(flow)*1000)
		d1, _ := randomDrops(len(fl.pkts), int(seed%3)*5, seed+200+uint64(flow)*1000)
		skew := [2]time.Duration{0, time.Duration(seed%5) * time.Millisecond}
		if flow == 1 {
			skew = [2]time.Duration{time.Duration(seed%3) * time.Millisecond, 0}
		}
		for _, e := range fl.arrivals([2]func(int) bool{d0, d1}, skew) {
			ev = append(ev, event{e, flow})
		}
	}
	slices.SortStableFunc(ev, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	hostile := seed % 4
	nbad := 0
	var at int64
	for len(ev) > 0 {
		n := 1 + r.IntN(64)
		if r.IntN(4) == 0 {
			n = 1 + r.IntN(4)
		}
		batch := ev[:min(n, len(ev))]
		ev = ev[len(batch):]
		var frames []drainFrame
		for k, e := range batch {
			pkt, eat := hostileRewrite(r, hostile, append([]byte(nil), fl.pkts[e.pkt]...), e.at)
			if k == 0 && r.IntN(20) != 0 { // else: the last batch's time again
				at = eat
			}
			rx, port := e.path, uint16(5004+2*e.path)
			if e.flow == 1 {
				rx, port = 0, uint16(5008+2*e.path)
				if r.IntN(8) == 0 {
					rx, port = 1, 5100
				}
			}
			fr := traceFrame(r, port, pkt)
			switch r.IntN(50) {
			case 0:
				fr[12], fr[13] = 0x08, 0x06 // ARP
			case 1:
				fr = fr[:r.IntN(43)] // too short for its headers (42 octets: no payload)
			case 2:
				nbad++
				frames = append(frames, drainFrame{rx: rx, bad: fmt.Errorf("corrupt slot %d", nbad)})
			case 3:
				frames = append(frames, drainFrame{rx: rx, fr: fr}) // and again
			case 4:
				fr[14] = 0x46 // IP options
			case 5:
				fr[20] |= 0x20 // more fragments
			case 6:
				fr[23] = 6 // TCP
			case 7: // an IP length that lies
				binary.BigEndian.PutUint16(fr[16:], binary.BigEndian.Uint16(fr[16:])+uint16(r.IntN(41))-20)
			case 8: // a UDP length that lies
				binary.BigEndian.PutUint16(fr[38:], binary.BigEndian.Uint16(fr[38:])+uint16(r.IntN(41))-20)
			case 9: // a UDP length too short for an RTP header
				binary.BigEndian.PutUint16(fr[38:], uint16(8+r.IntN(12)))
			}
			frames = append(frames, drainFrame{rx: rx, fr: fr})
		}
		order := []int{0, 1}
		if r.IntN(2) == 0 {
			order = []int{1, 0}
		}
		for _, rx := range order {
			q := &drainQueue{}
			for _, f := range frames {
				if f.rx == rx {
					q.frames, q.bad = append(q.frames, f.fr), append(q.bad, f.bad)
				}
			}
			q.end = len(q.frames)
			for q.next < q.end || q.end == 0 {
				left, max := q.end-q.next, q.end-q.next
				if r.IntN(3) == 0 {
					max = r.IntN(left + 2)
				}
				var wantErr error
				for _, e := range q.bad[q.next:][:min(max, left)] {
					if e != nil {
						wantErr = e
					}
				}
				var dq RxQueue = q
				switch r.IntN(8) {
				case 0, 1:
					dq = plainQueue{q}
				case 2:
					dq = stingyQueue{plainQueue{q}}
				}
				if n, err := drain.rs[rx].Drain(dq, at, max); n != min(max, left) || !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
					t.Fatalf("Drain of %d (%d left) = %d, %v; want %d, %v", max, left, n, err, min(max, left), wantErr)
				}
				if i := slices.IndexFunc(drain.rs[rx].batch[:], func(b []byte) bool { return b != nil }); i >= 0 {
					t.Fatalf("Drain of %d (%d left) keeps packet %d of its batch", max, left, i)
				}
				if q.end == 0 {
					break
				}
			}
			for i, fr := range q.frames {
				if q.bad[i] == nil {
					push.rs[rx].Push(fr, at)
				}
			}
		}
		if d, p := drain.state(t), push.state(t); d != p {
			t.Fatalf("after a batch of %d at %d, %s", len(batch), at, firstLineDiff(d, p, "drained", "pushed"))
		}
	}
	for _, s := range []*drainSide{drain, push} {
		for _, m := range s.ms {
			m.Flush()
		}
	}
	if d, p := drain.state(t), push.state(t); d != p {
		t.Fatalf("after Flush, %s", firstLineDiff(d, p, "drained", "pushed"))
	}
}

// firstLineDiff returns the first line in which a and b, what two sides
// (named an and bn) showed, differ, as each has it.
func firstLineDiff(a, b, an, bn string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d %s:\n%s\n%s:\n%s", i, an, al[i], bn, bl[i])
		}
	}
	return fmt.Sprintf("%s %d lines, %s %d", an, len(al), bn, len(bl))
}

// TestDrainAllocs: Drain allocates nothing, from a queue with Packets or
// without, for a merge's paths and a stream of its own.
func TestDrainAllocs(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 10)
	bufs := [][]byte{make([]byte, f.FrameSize()), make([]byte, f.FrameSize())}
	n := 0
	m, err := NewMerge(&MergeConfig{Format: f, TakeFrame: func(buf []byte, st *FrameStats, at int64) []byte {
		n++
		return bufs[n%2]
	}})
	if err != nil {
		t.Fatal(err)
	}
	var rs [2]*Receiver
	for p := range rs {
		if rs[p], err = NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: m, Path: p}, {Port: 5100, Format: f}}}); err != nil {
			t.Fatal(err)
		}
	}
	var qs [2]drainQueue
	for _, e := range fl.arrivals([2]func(int) bool{nil, nil}, [2]time.Duration{0, time.Millisecond}) {
		port := uint16(5004 + 2*e.path)
		if e.pkt%5 == 0 {
			port = 5100
		}
		fr := append(udpFrameHeader(port), fl.pkts[e.pkt]...)
		qs[e.path].frames, qs[e.path].bad = append(qs[e.path].frames, fr), append(qs[e.path].bad, nil)
	}
	rs[0].AllocFrames()
	rs[1].AllocFrames()
	at := fl.send[0]
	round := 0
	a := testing.AllocsPerRun(12, func() {
		for p := range qs {
			q := &qs[p]
			q.end = min(q.end+32, len(q.frames))
			var dq RxQueue = q
			if round%2 == 1 {
				dq = plainQueue{q}
			}
			if k, err := rs[p].Drain(dq, at, 32); k != 32 || err != nil {
				panic(fmt.Sprint(k, err))
			}
		}
		at += 1_000_000
		round++
	})
	if a != 0 {
		t.Fatalf("%v allocations a batch", a)
	}
	if m.PathStats(1).Duplicates < 300 || rs[0].Stats(1).Bytes == 0 || n == 0 {
		t.Fatalf("the batches did not reach the merge and the stream: %+v %+v, %d frames", m.PathStats(1), rs[0].Stats(1), n)
	}
}

// TestDrainCopiesRun: a batch of copies, each the number after the last,
// is one run: push counts the first in its way for a copy, and copies the
// rest up to the first that is not a copy (here the next number, which
// the merge has not seen; all within a word, numbers 65501 to 65521, the
// word ending the run at 65535). What Drain does with them
// TestDrainAsPush checks; this, that the short way is taken.
func TestDrainCopiesRun(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 2)
	s := newDrainSide(t, f, SkewClassA)
	at := fl.send[0]
	const n = 20
	for i := range n + 1 { // path 0: packets 0 to n
		s.rs[0].Push(udpFrame(5004, fl.pkts[i]), at)
	}
	r := s.rs[1]
	r.Push(udpFrame(5006, fl.pkts[0]), at) // path 1's first: the arrival's long way
	for i := range n + 1 {                 // packets 1 to n, copies, and n+1
		r.batch[i] = udpFrame(5006, fl.pkts[i+1])
	}
	if got := r.push(r.batch[0], at); got != pushedCopy {
		t.Fatalf("push of packet 1 on path 1: %d, want pushedCopy", got)
	}
	if last := r.copies(0, n+1, at); last != n-1 {
		t.Fatalf("the run ends at %d, want %d", last, n-1)
	}
	if ps := s.ms[0].PathStats(1); ps.Packets != n+1 || ps.Duplicates != n+1 {
		t.Fatalf("path 1: %+v, want %d packets, all copies", ps, n+1)
	}
}

// rtpFrame returns a frame to port whose payload is pkt with its sequence
// number and timestamp rewritten to seq and ts, its lengths as sent.
func rtpFrame(port uint16, pkt []byte, seq uint16, ts uint32) []byte {
	h := udpFrameHeader(port)
	fr := append(h, pkt...)
	binary.BigEndian.PutUint16(fr[len(h)+2:], seq)
	binary.BigEndian.PutUint32(fr[len(h)+4:], ts)
	binary.BigEndian.PutUint16(fr[16:], uint16(len(fr)-14))
	binary.BigEndian.PutUint16(fr[38:], uint16(len(fr)-34))
	return fr
}

// TestDrainRestartPastHighest: after a sender's restart, the copies of
// the old stream's packets that the path behind brings are marked by the
// old stream's numbers, which climb past the new stream's highest in its
// word. A run of copies ends at the highest: the number after it is new
// to push, whatever its word holds, and Drain takes it as push does.
func TestDrainRestartPastHighest(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 3)
	ts0 := binary.BigEndian.Uint32(fl.pkts[fl.first[0]][4:])
	ts1 := binary.BigEndian.Uint32(fl.pkts[fl.first[1]][4:])
	old := func(i int) []byte { return fl.pkts[fl.first[0]+i] }
	young := func(i int) []byte { return fl.pkts[fl.first[1]+i] }
	at := fl.send[0]
	drain, push := newDrainSide(t, f, SkewClassA), newDrainSide(t, f, SkewClassA)
	both := func(rx int, fr []byte) {
		drain.rs[rx].Push(fr, at)
		push.rs[rx].Push(fr, at)
	}
	// Path 0: frame 0's first ten packets, numbers 65500 to 65509. The
	// sender restarts 50 numbers behind, with frame 1's timestamp: the
	// new stream's numbers go from 130995 (block 2046, bit 51) on.
	for i := range 10 {
		both(0, rtpFrame(5004, old(i), uint16(65500+i), ts0))
	}
	both(0, rtpFrame(5004, young(0), 65459, ts1))
	both(0, rtpFrame(5004, young(1), 65460, ts1))
	// Path 1 brings the old stream's packets, whose numbers, each by the
	// old highest, climb to 97509, 129509 and 130997: past the new
	// highest (130996), in its word. Then the new stream's 130995, which
	// closes the restart's window.
	both(1, rtpFrame(5006, old(20), 31973, ts0))
	both(1, rtpFrame(5006, old(21), 63973, ts0))
	both(1, rtpFrame(5006, old(22), 65461, ts0))
	both(1, rtpFrame(5006, young(0), 65459, ts1))
	if d, p := drain.state(t), push.state(t); d != p {
		t.Fatalf("before the batch, %s", firstLineDiff(d, p, "drain's side", "push's side"))
	}
	m := drain.ms[0]
	if w := m.words[(m.maxSeq>>6)&m.mask]; m.maxSeq != 130996 || w.seen&(1<<(130997&63)) == 0 {
		t.Fatalf("highest %d, its word %#x: 130997 should be marked past the highest 130996", m.maxSeq, w.seen)
	}
	// Path 1's batch: 130996, a copy, and 130997, new to the merge.
	batch := [][]byte{rtpFrame(5006, young(1), 65460, ts1), rtpFrame(5006, young(2), 65461, ts1)}
	q := &drainQueue{frames: batch, bad: make([]error, len(batch)), end: len(batch)}
	if n, err := drain.rs[1].Drain(q, at, 64); n != len(batch) || err != nil {
		t.Fatalf("Drain = %d, %v; want %d, nil", n, err, len(batch))
	}
	for _, fr := range batch {
		push.rs[1].Push(fr, at)
	}
	if d, p := drain.state(t), push.state(t); d != p {
		t.Fatalf("after the batch, %s", firstLineDiff(d, p, "drained", "pushed"))
	}
}

// TestDrainCopiesRereads: copies reads the first copy's frame again, in
// memory others can write, and trusts nothing of what push found there.
// A first frame rewritten after push read it, to a port of no stream, of
// a stream not merged, of another merge path whose latest arrival is not
// the batch's, or to a number past the highest, counts nothing and ends
// no run; one rewritten to another merge path that arrived at the
// batch's time has its run counted as push counts those packets from
// their own octets.
func TestDrainCopiesRereads(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 2)
	const n = 8
	at := fl.send[0] + 1000
	// Merge A's path 1 and merge B's path 1 bring packets 0 to n, merge
	// A's path 0 and the stream not merged packet 0, merge B's path 0
	// packet n, all before at.
	setup := func(s *drainSide) {
		for i := range n + 1 {
			s.rs[1].Push(udpFrame(5006, fl.pkts[i]), at-1000)
			s.rs[0].Push(udpFrame(5010, fl.pkts[i]), at-1000)
		}
		s.rs[1].Push(udpFrame(5100, fl.pkts[0]), at-1000)
		s.rs[0].Push(udpFrame(5004, fl.pkts[0]), at-1000)
		s.rs[0].Push(udpFrame(5008, fl.pkts[n]), at-1000)
	}
	for _, c := range []struct {
		name  string
		rx    int
		copy  []byte // the frame push reads: a copy
		port  uint16 // the first frame's and its run's, after push read it
		first int    // the first frame's packet after push read it
	}{
		{"no stream", 1, udpFrame(5006, fl.pkts[1]), 5200, 1},
		{"not merged", 1, udpFrame(5006, fl.pkts[1]), 5100, 1},
		{"path not at the batch's time", 0, udpFrame(5008, fl.pkts[1]), 5004, 1},
		{"past the highest", 0, udpFrame(5008, fl.pkts[1]), 5008, n + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newDrainSide(t, f, SkewClassA)
			setup(s)
			r := s.rs[c.rx]
			if got := r.push(c.copy, at); got != pushedCopy {
				t.Fatalf("push of the first frame: %d, want pushedCopy", got)
			}
			before := s.state(t)
			for i := range n {
				r.batch[i] = udpFrame(c.port, fl.pkts[c.first+i])
			}
			if last := r.copies(0, n, at); last != 0 {
				t.Fatalf("copies = %d, want 0", last)
			}
			if after := s.state(t); after != before {
				t.Fatalf("copies counted: %s", firstLineDiff(before, after, "before", "after"))
			}
		})
	}
	// Push reads merge A's path 0's copy of packet 1; the frame then holds
	// merge B's path 0's, which has brought packet n-1 at at, and the run
	// after it packets 2 to 4 of that path, copies there. They are counted
	// as push counts them: the path's first number lowered too (its span,
	// 2 to n, shows 5 to n-2 lost).
	drain, push := newDrainSide(t, f, SkewClassA), newDrainSide(t, f, SkewClassA)
	for _, s := range []*drainSide{drain, push} {
		setup(s)
		s.rs[0].Push(udpFrame(5008, fl.pkts[n-1]), at)
	}
	if d, p := drain.state(t), push.state(t); d != p {
		t.Fatalf("before the batch, %s", firstLineDiff(d, p, "drain's side", "push's side"))
	}
	r := drain.rs[0]
	if got := r.push(udpFrame(5004, fl.pkts[1]), at); got != pushedCopy {
		t.Fatalf("push of the first frame: %d, want pushedCopy", got)
	}
	push.rs[0].Push(udpFrame(5004, fl.pkts[1]), at)
	for i := range 4 {
		r.batch[i] = udpFrame(5008, fl.pkts[1+i])
	}
	if last := r.copies(0, 4, at); last != 3 {
		t.Fatalf("copies = %d, want 3", last)
	}
	for i := 2; i <= 4; i++ {
		push.rs[0].Push(udpFrame(5008, fl.pkts[i]), at)
	}
	if d, p := drain.state(t), push.state(t); d != p {
		t.Fatalf("after the run, %s", firstLineDiff(d, p, "drained", "pushed"))
	}
	if ps := drain.ms[1].PathStats(0); ps.Duplicates != 5 || ps.Lost != n-6 {
		t.Fatalf("merge B's path 0: %+v, want 5 copies and %d lost", ps, n-6)
	}
}

// TestDrainLyingCount: Drain takes no more of a batch than Packets can
// have stored, whatever count it returns: a count past the packets
// acquired pushes none of those that are not, and one past the batch's
// room (64) neither panics nor loses a packet. Drain does what Push does
// with the packets acquired, and keeps none in its batch (here of two
// pieces, the first the longer).
func TestDrainLyingCount(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 3)
	// Path 0 brings packets 0 to 99; path 1's queue, 0 to 199, the
	// first 100 copies.
	drain, push := newDrainSide(t, f, SkewClassA), newDrainSide(t, f, SkewClassA)
	at := fl.send[0]
	for i := range 100 {
		drain.rs[0].Push(udpFrame(5004, fl.pkts[i]), at)
		push.rs[0].Push(udpFrame(5004, fl.pkts[i]), at)
	}
	q := &drainQueue{}
	for i := range 200 {
		q.frames, q.bad = append(q.frames, udpFrame(5006, fl.pkts[i])), append(q.bad, nil)
	}
	q.end = len(q.frames)
	for _, c := range []struct{ max, extra int }{{10, 5}, {100, 10}, {30, 40}} {
		from := q.next
		if n, err := drain.rs[1].Drain(lyingQueue{q, c.extra}, at, c.max); n != c.max || err != nil {
			t.Fatalf("Drain of %d, %d more claimed = %d, %v; want %d, nil", c.max, c.extra, n, err, c.max)
		}
		if i := slices.IndexFunc(drain.rs[1].batch[:], func(b []byte) bool { return b != nil }); i >= 0 {
			t.Fatalf("Drain of %d, %d more claimed, keeps packet %d of its batch", c.max, c.extra, i)
		}
		for _, fr := range q.frames[from:q.next] {
			push.rs[1].Push(fr, at)
		}
		if d, p := drain.state(t), push.state(t); d != p {
			t.Fatalf("Drain of %d, %d more claimed: %s", c.max, c.extra, firstLineDiff(d, p, "drained", "pushed"))
		}
	}
}

// shortQueue's Packets stores, for a piece after the first, at most 10
// packets, yet says it stored as many as pkts holds: a count within
// Drain's bound, past what it stored.
type shortQueue struct{ *drainQueue }

func (q shortQueue) Packets(first int, pkts [][]byte) int {
	if first == 0 {
		return q.drainQueue.Packets(first, pkts)
	}
	q.drainQueue.Packets(first, pkts[:min(10, len(pkts))])
	return len(pkts)
}

// TestDrainShortStore: a Packets that says it stored more than it did,
// in a piece after the first, has Drain push none of the piece before
// again: the room it did not fill reads as nil, which Packet gives.
func TestDrainShortStore(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 3)
	drain, push := newDrainSide(t, f, SkewClassA), newDrainSide(t, f, SkewClassA)
	at := fl.send[0]
	q := &drainQueue{}
	for i := range 100 {
		q.frames, q.bad = append(q.frames, udpFrame(5004, fl.pkts[i])), append(q.bad, nil)
	}
	q.end = len(q.frames)
	if n, err := drain.rs[0].Drain(shortQueue{q}, at, 100); n != 100 || err != nil {
		t.Fatalf("Drain = %d, %v; want 100, nil", n, err)
	}
	for _, fr := range q.frames {
		push.rs[0].Push(fr, at)
	}
	if d, p := drain.state(t), push.state(t); d != p {
		t.Fatalf("%s", firstLineDiff(d, p, "drained", "pushed"))
	}
}

// TestDrainRunEdges: path 0 brings numbers 65500 to 65500+n, path 1 in
// batches of 64 their copies from the start'th, then the number after
// the highest: runs cross the 16-bit wrap and the end of a word of 64
// numbers (65535), and one ends at the highest.
func TestDrainRunEdges(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 3)
	for _, n := range []int{35, 36, 37, 60, 100, 163} {
		for _, start := range []int{0, 1, 35, 36} {
			drain, push := newDrainSide(t, f, SkewClassA), newDrainSide(t, f, SkewClassA)
			at := fl.send[0]
			for i := range n + 1 {
				drain.rs[0].Push(udpFrame(5004, fl.pkts[i]), at)
				push.rs[0].Push(udpFrame(5004, fl.pkts[i]), at)
			}
			q := &drainQueue{}
			for i := start; i <= n+1; i++ {
				q.frames, q.bad = append(q.frames, udpFrame(5006, fl.pkts[i])), append(q.bad, nil)
			}
			q.end = len(q.frames)
			for q.next < q.end {
				if _, err := drain.rs[1].Drain(q, at, 64); err != nil {
					t.Fatal(err)
				}
			}
			for _, fr := range q.frames {
				push.rs[1].Push(fr, at)
			}
			if d, p := drain.state(t), push.state(t); d != p {
				t.Fatalf("n %d start %d: %s", n, start, firstLineDiff(d, p, "drained", "pushed"))
			}
		}
	}
}
