package video

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// mergeBench is one frame of f as Ethernet frames on one or two paths,
// path p to UDP port 5004+2p, and the receivers the benchmarks push them
// into.
type mergeBench struct {
	f     Format
	per   int           // packets a frame
	paths [2][][]byte   // the frames of each path
	qs    [2]sliceQueue // each path's frames as a ring a Receiver drains
	seq   uint16
	ts    uint32
	at    int64
}

// benchSlot is the buffer of one packet of a mergeBench: netmap's
// default buffer size.
const benchSlot = 2048

// newMergeBench makes the packets of one frame of f on the first npaths
// paths. Each path's packets lie one after the other in buffers of
// benchSlot octets in an array of their own, as in a ring: how packets lie
// in memory moves what a receive costs in time more than any per-packet
// code does (docs/benchmarks.md, issue 17), and a receiver of one path
// never has another path's packets between its own.
func newMergeBench(tb testing.TB, f Format, npaths int) *mergeBench {
	mb := &mergeBench{f: f, at: 1e18}
	p := mustPacketizer(tb, mb.f, &PacketizerConfig{})
	pkts := packetize(tb, p, randomFrame(&mb.f, 1), 0)
	mb.per = len(pkts)
	for path := range npaths {
		ring := make([]byte, mb.per*benchSlot)
		for i, s := range pkts {
			slot := ring[i*benchSlot : i*benchSlot : (i+1)*benchSlot]
			fr := append(append(slot, udpFrameHeader(uint16(5004+2*path))...), s.b...)
			if &fr[0] != &slot[:1][0] {
				tb.Fatalf("a packet of %d octets does not fit a %d-octet buffer", len(fr), benchSlot)
			}
			binary.BigEndian.PutUint16(fr[16:], uint16(len(fr)-14))
			binary.BigEndian.PutUint16(fr[38:], uint16(len(fr)-34))
			mb.paths[path] = append(mb.paths[path], fr)
		}
		mb.qs[path].pkts = mb.paths[path]
	}
	return mb
}

// sliceQueue is an RxQueue over one path's frames, as a ring: the frames
// up to end have arrived, those from next on are not yet taken.
type sliceQueue struct {
	pkts           [][]byte
	next, end, got int // got: acquired
}

func (q *sliceQueue) Acquire(n int) (int, error) {
	q.got = max(0, min(n, q.end-q.next))
	return q.got, nil
}
func (q *sliceQueue) Packet(i int) ([]byte, error) {
	return q.pkts[q.next:][:q.got][i], nil
}
func (q *sliceQueue) Packets(first int, pkts [][]byte) int {
	return copy(pkts, q.pkts[q.next:][first:q.got])
}
func (q *sliceQueue) Release(n int) { q.next += n }

// frameDrain receives the next frame as frameBatches does with batches of
// n (or, pre, with the whole frame written first), but each path's
// Receiver takes its batches through Drain from its queue, as a ring
// reader does: the packets of a batch arrive on every path, then rs[0]
// drains its n, then rs[1] its copies, all at one time.
func (mb *mergeBench) frameDrain(rs []*Receiver, n int, pre bool) {
	mb.ts += 1501
	for p := range rs {
		mb.qs[p].next, mb.qs[p].end = 0, 0
	}
	arrive := func(k, e int) {
		seq := mb.seq + uint16(k)
		for i := k; i < e; i++ {
			for p := range rs {
				binary.BigEndian.PutUint16(mb.paths[p][i][42+2:], seq)
				binary.BigEndian.PutUint32(mb.paths[p][i][42+4:], mb.ts)
			}
			seq++
		}
		for p := range rs {
			mb.qs[p].end = e
		}
	}
	if pre {
		arrive(0, mb.per)
	}
	for k := 0; k < mb.per; k += n {
		e := min(k+n, mb.per)
		if !pre {
			arrive(k, e)
		}
		mb.at += int64(e-k) * 3000
		for p, r := range rs {
			if got, err := r.Drain(&mb.qs[p], mb.at, n); got != e-k || err != nil {
				panic(fmt.Sprintf("drained %d of %d: %v", got, e-k, err))
			}
		}
	}
	mb.seq += uint16(mb.per)
}

// frameUDP pushes the next frame's packets as frame does (each packet
// arrives on every path, then rs[0] takes it, then rs[1] its copy), but
// as UDP datagrams read from sockets: each packet's UDP payload, from a
// source to the path's group and port, through PushUDPCut. Its loop is
// frameBatches' for batches of 1, written out the same way for one path
// and for two (a harness that differs from it in how it writes the
// headers changed the merge's time by a quarter, its instructions not).
func (mb *mergeBench) frameUDP(rs []*Receiver) {
	mb.ts += 1501
	src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), 5000)
	dst0 := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 1, 1, 1}), 5004)
	dst1 := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 1, 1, 1}), 5006)
	seq, ts, at := mb.seq, mb.ts, mb.at
	p0 := mb.paths[0][:mb.per]
	r0 := rs[0]
	if len(rs) == 1 {
		for _, a := range p0 {
			ha := (*[packet.UDPHdrLen + 8]byte)(a)
			binary.BigEndian.PutUint16(ha[packet.UDPHdrLen+2:], seq)
			binary.BigEndian.PutUint32(ha[packet.UDPHdrLen+4:], ts)
			seq++
			at += 3000
			r0.PushUDPCut(src, dst0, a[packet.UDPHdrLen:], len(a)-packet.UDPHdrLen, at)
		}
	} else {
		p1 := mb.paths[1][:mb.per]
		r1 := rs[1]
		for i, a := range p0 {
			b := p1[i]
			ha := (*[packet.UDPHdrLen + 8]byte)(a)
			hb := (*[packet.UDPHdrLen + 8]byte)(b)
			binary.BigEndian.PutUint16(ha[packet.UDPHdrLen+2:], seq)
			binary.BigEndian.PutUint32(ha[packet.UDPHdrLen+4:], ts)
			binary.BigEndian.PutUint16(hb[packet.UDPHdrLen+2:], seq)
			binary.BigEndian.PutUint32(hb[packet.UDPHdrLen+4:], ts)
			seq++
			at += 3000
			r0.PushUDPCut(src, dst0, a[packet.UDPHdrLen:], len(a)-packet.UDPHdrLen, at)
			r1.PushUDPCut(src, dst1, b[packet.UDPHdrLen:], len(b)-packet.UDPHdrLen, at)
		}
	}
	mb.seq, mb.at = seq, at
}

// frame pushes the next frame's packets, each into rs[0], then its copy
// into rs[1] if there are two.
func (mb *mergeBench) frame(rs []*Receiver) { mb.frameBatches(rs, 1) }

// frameBatches pushes the next frame's packets in batches of n: the
// packets of a batch arrive (the harness writes their sequence numbers and
// timestamps, on every path), then rs[0] takes the batch, then rs[1] its
// copies, as the readers of two rings each drain what came since they last
// looked. With n 1, each packet arrives just before it is pushed; with n
// prewritten, the whole frame arrives (every header of every path is
// written) before the first is pushed, then they are pushed packet by
// packet, each packet's copies in turn: the packets came long before they
// are read, as a NIC's writes into memory that a receiver catches up with.
func (mb *mergeBench) frameBatches(rs []*Receiver, n int) {
	mb.ts += 1501
	if n == prewritten {
		seq := mb.seq
		for i := range mb.per {
			for p := range rs {
				binary.BigEndian.PutUint16(mb.paths[p][i][42+2:], seq)
				binary.BigEndian.PutUint32(mb.paths[p][i][42+4:], mb.ts)
			}
			seq++
		}
		for i := range mb.per {
			mb.at += 3000
			for p, r := range rs {
				r.Push(mb.paths[p][i], mb.at)
			}
		}
		mb.seq = seq
		return
	}
	if n == 1 && len(rs) <= 2 {
		// Packet by packet, written out for one path and for two alike,
		// so that what the harness itself does a copy (write the
		// sequence number and timestamp, push) is a few instructions
		// and the same for both.
		seq, ts, at := mb.seq, mb.ts, mb.at
		p0 := mb.paths[0][:mb.per]
		r0 := rs[0]
		if len(rs) == 1 {
			for _, a := range p0 {
				ha := (*[packet.UDPHdrLen + 8]byte)(a)
				binary.BigEndian.PutUint16(ha[packet.UDPHdrLen+2:], seq)
				binary.BigEndian.PutUint32(ha[packet.UDPHdrLen+4:], ts)
				seq++
				at += 3000
				r0.Push(a, at)
			}
		} else {
			p1 := mb.paths[1][:mb.per]
			r1 := rs[1]
			for i, a := range p0 {
				b := p1[i]
				ha := (*[packet.UDPHdrLen + 8]byte)(a)
				hb := (*[packet.UDPHdrLen + 8]byte)(b)
				binary.BigEndian.PutUint16(ha[packet.UDPHdrLen+2:], seq)
				binary.BigEndian.PutUint32(ha[packet.UDPHdrLen+4:], ts)
				binary.BigEndian.PutUint16(hb[packet.UDPHdrLen+2:], seq)
				binary.BigEndian.PutUint32(hb[packet.UDPHdrLen+4:], ts)
				seq++
				at += 3000
				r0.Push(a, at)
				r1.Push(b, at)
			}
		}
		mb.seq, mb.at = seq, at
		return
	}
	for k := 0; k < mb.per; k += n {
		e := min(k+n, mb.per)
		seq := mb.seq
		for i := k; i < e; i++ {
			for p := range rs {
				binary.BigEndian.PutUint16(mb.paths[p][i][42+2:], seq)
				binary.BigEndian.PutUint32(mb.paths[p][i][42+4:], mb.ts)
			}
			seq++
		}
		for p, r := range rs {
			at := mb.at
			for i := k; i < e; i++ {
				at += 3000
				r.Push(mb.paths[p][i], at)
			}
		}
		mb.seq = seq
		mb.at += int64(e-k) * 3000
	}
}

// single returns a Receiver of path 0's packets.
func (mb *mergeBench) single(b testing.TB, got *int) []*Receiver {
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: 5004, Format: mb.f, OnFrame: func([]byte, *FrameStats) { *got++ }}}})
	if err != nil {
		b.Fatal(err)
	}
	r.AllocFrames()
	return []*Receiver{r}
}

// merged returns the Receivers of both paths, feeding one Merge.
func (mb *mergeBench) merged(b testing.TB, got *int) ([]*Receiver, *Merge) {
	m, err := NewMerge(&MergeConfig{Format: mb.f, OnFrame: func([]byte, *FrameStats) { *got++ }})
	if err != nil {
		b.Fatal(err)
	}
	var rs []*Receiver
	for p := range 2 {
		r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: m, Path: p}}})
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs, m
}

// BenchmarkMergeReceive receives one 1080p59.94 frame per op as Ethernet
// frames through Receivers: "single" is one path, one Receiver; "merge"
// is ST 2022-7, every packet on two paths, a Receiver each feeding one
// Merge (the first copy taken, the second absorbed); "merge-one-path" is
// the Merge with only path 0's packets. The -drain32 cases take the
// same packets through Receiver.Drain, in batches of 32 a path, as ring
// readers do (frameDrain); the -udp cases take their UDP payloads through
// Receiver.PushUDPCut, as st2110's socket readers do (frameUDP).
func BenchmarkMergeReceive(b *testing.B) {
	for _, way := range []string{"", "-drain32", "-udp"} {
		benchMergeReceive(b, way)
	}
}

func benchMergeReceive(b *testing.B, suffix string) {
	mb := newMergeBench(b, bench1080p, 2)
	run := func(b *testing.B, rs []*Receiver, got *int) {
		b.SetBytes(int64(mb.f.FrameSize()))
		b.ReportAllocs()
		for b.Loop() {
			switch suffix {
			case "-drain32":
				mb.frameDrain(rs, 32, false)
			case "-udp":
				mb.frameUDP(rs)
			default:
				mb.frame(rs)
			}
		}
		if *got != b.N {
			b.Fatalf("%d frames for %d ops", *got, b.N)
		}
		b.ReportMetric(float64(b.N)*float64(mb.per)/b.Elapsed().Seconds(), "pkts/s")
	}
	b.Run("single"+suffix, func(b *testing.B) {
		got := 0
		run(b, mb.single(b, &got), &got)
	})
	b.Run("merge"+suffix, func(b *testing.B) {
		got := 0
		rs, m := mb.merged(b, &got)
		run(b, rs, &got)
		if d, want := m.PathStats(1).Duplicates, uint64(b.N)*uint64(mb.per); d != want {
			b.Fatalf("path 1: %d copies absorbed, want %d: every packet of path 1 a copy", d, want)
		}
	})
	b.Run("merge-one-path"+suffix, func(b *testing.B) {
		got := 0
		rs, _ := mb.merged(b, &got)
		run(b, rs[:1], &got)
	})
}

// BenchmarkMergeRatio receives, in each op, one 1080p59.94 frame on a
// single path and one over two paths merged (every packet twice), timing
// each, and reports their ratios, taken in one run with the two
// interleaved (which goes first alternates from op to op), so that a busy
// host's drift weighs on both alike: merge/single of the total times
// (ratio), of the fastest frames (min-ratio, the ones other processes
// disturbed least), of the median frames, and the median of each op's own
// ratio (paired-ratio: the two frames of an op ran back to back, under the
// same load); on Linux also of the CPU time the benchmark's thread spent
// on each (cpu-ratio, which time spent waiting for a core does not move).
//
// The packets arrive one by one, each just before it is pushed (batch01),
// or in batches of 32 (batch32), each path's reader draining a batch in
// turn, or all of a frame's before the first is pushed (prewritten: as a
// NIC wrote them into memory long before the receiver reads them; the
// header lines are no longer in the CPU's nearest caches): in time the
// three differ by far more than the merge's code (its instruction count
// does not move), because a copy that arrives just before it is read is a
// cache line the reader waits for, and a batch's arrivals overlap.
//
// The drain cases take the packets as ring readers do, each path's
// Receiver draining its batches of 32 from a queue over its buffers
// (Receiver.Drain): batch32-drain as batch32, prewritten-drain32 with the
// whole frame written first. The udp case takes them as batch01 does, but
// as datagrams from sockets (Receiver.PushUDPCut, frameUDP).
func BenchmarkMergeRatio(b *testing.B) {
	for _, n := range []int{1, 32, prewritten} {
		name := fmt.Sprintf("batch%02d", n)
		if n == prewritten {
			name = "prewritten"
		}
		b.Run(name, func(b *testing.B) {
			benchMergeRatio(b, func(mb *mergeBench, rs []*Receiver) { mb.frameBatches(rs, n) })
		})
	}
	b.Run("batch32-drain", func(b *testing.B) {
		benchMergeRatio(b, func(mb *mergeBench, rs []*Receiver) { mb.frameDrain(rs, 32, false) })
	})
	b.Run("prewritten-drain32", func(b *testing.B) {
		benchMergeRatio(b, func(mb *mergeBench, rs []*Receiver) { mb.frameDrain(rs, 32, true) })
	})
	b.Run("udp", func(b *testing.B) {
		benchMergeRatio(b, func(mb *mergeBench, rs []*Receiver) { mb.frameUDP(rs) })
	})
}

// prewritten is the frameBatches batch that writes a whole frame's
// headers before it pushes the first packet.
const prewritten = -1

func benchMergeRatio(b *testing.B, arrive func(*mergeBench, []*Receiver)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mbS, mbM := newMergeBench(b, bench1080p, 1), newMergeBench(b, bench1080p, 2) // each its own packets and sequence numbers
	var gotS, gotM int
	single := mbS.single(b, &gotS)
	merged, m := mbM.merged(b, &gotM)
	arrive(mbS, single) // the first frame of each: buffers touched
	arrive(mbM, merged)
	gotS, gotM = 0, 0
	ts, tm := make([]time.Duration, 0, 1<<16), make([]time.Duration, 0, 1<<16)
	var cpuS, cpuM time.Duration
	_, cpuOK := threadCPU()
	timed := func(mb *mergeBench, rs []*Receiver, cpu *time.Duration) time.Duration {
		var c0, c1 time.Duration
		if cpuOK {
			c0, _ = threadCPU()
		}
		t0 := time.Now()
		arrive(mb, rs)
		d := time.Since(t0)
		if cpuOK {
			c1, _ = threadCPU()
		}
		*cpu += c1 - c0
		return d
	}
	b.ReportAllocs()
	for op := 0; b.Loop(); op++ {
		var s, mt time.Duration
		if op%2 == 0 {
			s = timed(mbS, single, &cpuS)
			mt = timed(mbM, merged, &cpuM)
		} else {
			mt = timed(mbM, merged, &cpuM)
			s = timed(mbS, single, &cpuS)
		}
		if len(ts) < cap(ts) {
			ts, tm = append(ts, s), append(tm, mt)
		}
	}
	if gotS != b.N || gotM != b.N || m.Stats().Lost != 0 || m.PathStats(1).Duplicates != uint64(b.N+1)*uint64(mbM.per) {
		b.Fatalf("%d and %d frames for %d ops; %+v; path 1 %+v", gotS, gotM, b.N, m.Stats(), m.PathStats(1))
	}
	var sumS, sumM time.Duration
	paired := make([]float64, len(ts))
	for i := range ts {
		sumS, sumM = sumS+ts[i], sumM+tm[i]
		paired[i] = float64(tm[i]) / float64(ts[i])
	}
	slices.Sort(ts)
	slices.Sort(tm)
	slices.Sort(paired)
	b.ReportMetric(float64(ts[0].Nanoseconds()), "single-min-ns")
	b.ReportMetric(float64(tm[0].Nanoseconds()), "merge-min-ns")
	b.ReportMetric(float64(sumM)/float64(sumS), "ratio")
	b.ReportMetric(float64(tm[0])/float64(ts[0]), "min-ratio")
	b.ReportMetric(float64(tm[len(tm)/2])/float64(ts[len(ts)/2]), "median-ratio")
	b.ReportMetric(paired[len(paired)/2], "paired-ratio")
	if cpuOK && cpuS > 0 {
		b.ReportMetric(float64(cpuM)/float64(cpuS), "cpu-ratio")
	}
}

// BenchmarkMergeTimestampStorm pushes, per op, one packet of a 1080p59.94
// flow on both paths into a Merge ("merge") or on one into a Receiver
// ("single"): an ordinary flow, or one whose RTP timestamp changes with
// every packet ("storm", every packet a frame of its own, which the merge
// opens a slot for and hands out). What the storm costs against the
// ordinary flow is what a hostile sender can make a receiver pay.
func BenchmarkMergeTimestampStorm(b *testing.B) {
	for _, c := range []struct {
		name          string
		storm, single bool
	}{{"merge/ordinary", false, false}, {"merge/storm", true, false}, {"single/ordinary", false, true}, {"single/storm", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			mb := newMergeBench(b, bench1080p, 2)
			got := 0
			var rs []*Receiver
			if c.single {
				rs = mb.single(b, &got)
			} else {
				rs, _ = mb.merged(b, &got)
			}
			mb.frame(rs)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				k := i % mb.per
				if k == 0 || c.storm {
					mb.ts += 1501
				}
				for p := range rs {
					binary.BigEndian.PutUint16(mb.paths[p][k][42+2:], mb.seq)
					binary.BigEndian.PutUint32(mb.paths[p][k][42+4:], mb.ts)
				}
				mb.seq++
				mb.at += 3000
				for p, r := range rs {
					r.Push(mb.paths[p][k], mb.at)
				}
			}
			b.ReportMetric(float64(got)/float64(b.N), "frames/op")
		})
	}
}
