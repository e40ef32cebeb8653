package video

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// memQueue is a TxQueue and TxStamper over a fixed number of buffers; Publish
// appends the published packets (and their stamps) to sent, and it is also an
// RxQueue over sent, so a Receiver can drain what a Transmitter wrote.
type memQueue struct {
	bufs     [][]byte
	lens     []int
	stamps   []int64
	reserved int
	room     int // free buffers; -1 means always len(bufs)

	sent  [][]byte
	at    []int64
	taken int // packets of sent already acquired by a drain
	keep  bool
}

func newMemQueue(n, size int, keep bool) *memQueue {
	q := &memQueue{bufs: make([][]byte, n), lens: make([]int, n), stamps: make([]int64, n), room: -1, keep: keep}
	for i := range q.bufs {
		q.bufs[i] = make([]byte, size)
	}
	return q
}

func (q *memQueue) Reserve(n int) (int, error) {
	room := len(q.bufs)
	if q.room >= 0 {
		room = q.room
	}
	q.reserved = min(n, room)
	return q.reserved, nil
}
func (q *memQueue) Buf(i int) []byte         { return q.bufs[i] }
func (q *memQueue) SetLen(i, n int)          { q.lens[i] = n }
func (q *memQueue) Stamp(i, _ int, at int64) { q.stamps[i] = at }
func (q *memQueue) Publish(n int) {
	if n > q.reserved {
		panic("publish past the reservation")
	}
	if q.room >= 0 {
		q.room -= n
	}
	if q.keep {
		for i := range n {
			q.sent = append(q.sent, append([]byte(nil), q.bufs[i][:q.lens[i]]...))
			q.at = append(q.at, q.stamps[i])
		}
	}
	q.reserved = 0
}

func (q *memQueue) Acquire(n int) (int, error) { return min(n, len(q.sent)-q.taken), nil }
func (q *memQueue) Packet(i int) ([]byte, error) {
	return q.sent[q.taken+i], nil
}
func (q *memQueue) Release(n int) { q.taken += n }

// randomFrames returns n frames of f with pseudo-random content.
func randomFrames(f *Format, n int, seed uint64) []byte {
	var b []byte
	for i := range n {
		b = append(b, randomFrame(f, seed*1000+uint64(i))...)
	}
	return b
}

// runVirtual steps t on a virtual clock that jumps to each due time, until
// it is done or limit packets are out, and returns the packets' stamps.
func runVirtual(t testing.TB, tx *Transmitter, q *memQueue, batch, limit int) {
	t.Helper()
	now := tx.Next()
	for sent := 0; !tx.Done() && sent < limit; {
		n, next, err := tx.Step(q, now, batch)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
		if n == 0 {
			if next <= now {
				t.Fatalf("nothing written at %d with a packet due at %d", now, next)
			}
			now = next
		}
	}
}

var (
	fmt64x32  = Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate25}
	fmt64x32i = Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Interlaced, Rate: Rate29_97}
	fmt1080p  = Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate59_94}
)

// One narrow stream on a virtual clock: every packet is stamped with its
// schedule, frames carry the timestamps of their alignment points, and the
// stream stops after Count frames.
func TestTransmitterSchedule(t *testing.T) {
	for _, f := range []Format{fmt64x32, fmt64x32i} {
		frames := randomFrames(&f, 3, 1)
		loop, err := NewFrameLoop(&f, frames)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop, Count: 5}}, Analyze: true})
		if err != nil {
			t.Fatal(err)
		}
		start := int64(1_763_000_000_000_000_000)
		if err := tx.Start(start, 0); err != nil {
			t.Fatal(err)
		}
		n0, _ := tx.Pacer(0).Pos()
		q := newMemQueue(4, 2048, true)
		runVirtual(t, tx, q, 4, 1e6)
		p := tx.Packetizer(0)
		per := p.PacketsPerFrame()
		if len(q.sent) != 5*per || tx.Stats(0).Frames != 5 || tx.Stats(0).Packets != uint64(5*per) || tx.Stats(0).Late != 0 {
			t.Fatalf("%v: %d packets, stats %+v; want 5 frames of %d", f, len(q.sent), tx.Stats(0), per)
		}
		pc := tx.Pacer(0)
		fields, perField := f.Scan.Fields(), p.PacketsPerField()
		for i, pkt := range q.sent {
			k, j := i/per, i%per
			frame := n0 + int64(k*fields+j/perField) // the pacer counts fields
			if want := pc.SendTime(frame, j%perField); q.at[i] != want {
				t.Fatalf("%v: packet %d stamped %d, want %d", f, i, q.at[i], want)
			}
			if q.at[i] < start {
				t.Fatalf("%v: packet %d stamped %d, before the start %d", f, i, q.at[i], start)
			}
			ts := binary.BigEndian.Uint32(pkt[4:])
			// Every field carries the media clock of its own alignment
			// point, the second too (at 59.94 fields per second it is on a
			// half tick, which rounds up as the first field's do).
			if want := Timestamp(pc.FrameTime(frame)); ts != want {
				t.Fatalf("%v: packet %d timestamp %d, want %d", f, i, ts, want)
			}
			if m := pkt[1]&0x80 != 0; m != (j%perField == perField-1) {
				t.Fatalf("%v: packet %d marker %v", f, i, m)
			}
		}
		if a, _ := tx.Analysis(0); a.RTPOffsetMin != 0 || a.RTPOffsetMax != 0 {
			t.Errorf("%v: the self-check finds RTP timestamps %d to %d ticks off their alignment points, want 0", f, a.RTPOffsetMin, a.RTPOffsetMax)
		}
		if !tx.Done() || tx.Next() != math.MaxInt64 {
			t.Errorf("%v: not done after its frames", f)
		}
		if n, _, err := tx.Step(q, math.MaxInt64-1, 4); n != 0 || err != nil {
			t.Errorf("%v: step after done: %d %v", f, n, err)
		}
	}
}

// Streams of different formats and rates interleave in the order their
// packets are due, each in its own sequence, and each frame is what its
// source gave.
func TestTransmitterInterleave(t *testing.T) {
	fs := []Format{fmt64x32, fmt64x32i, {Sampling: RGB, Depth: Depth8, Width: 48, Height: 16, Scan: Progressive, Rate: Rate59_94}}
	var streams []TxStream
	for i, f := range fs {
		loop, err := NewFrameLoop(&f, randomFrames(&f, 2, uint64(i)))
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, TxStream{Format: f, Frames: loop, Count: 3, TP: []Sender{SenderNarrow, SenderNarrowLinear, SenderWide}[i],
			Packetizer: &PacketizerConfig{SSRC: uint32(i), NoRandom: true}})
	}
	tx, err := NewTransmitter(&TransmitterConfig{Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Start(5e17, 0); err != nil {
		t.Fatal(err)
	}
	q := newMemQueue(16, 2048, true)
	runVirtual(t, tx, q, 16, 1e6)
	next := make([]uint16, len(fs))
	total := 0
	for i, pkt := range q.sent {
		if i > 0 && q.at[i] < q.at[i-1] {
			t.Fatalf("packet %d stamped %d, before packet %d (%d)", i, q.at[i], i-1, q.at[i-1])
		}
		s := binary.BigEndian.Uint32(pkt[8:])
		if seq := binary.BigEndian.Uint16(pkt[2:]); seq != next[s] {
			t.Fatalf("stream %d: sequence %d, want %d", s, seq, next[s])
		}
		next[s]++
	}
	for i := range fs {
		total += 3 * tx.Packetizer(i).PacketsPerFrame()
		if got := tx.Stats(i); got.Frames != 3 {
			t.Errorf("stream %d: %+v", i, got)
		}
	}
	if len(q.sent) != total {
		t.Errorf("%d packets, want %d", len(q.sent), total)
	}
	// The streams' frames reassemble to their sources.
	checkReceived(t, fs, streams, q)
}

// checkReceived pushes q's RTP packets through a Receiver, by SSRC, and
// compares each delivered frame with the stream's source.
func checkReceived(t *testing.T, fs []Format, streams []TxStream, q *memQueue) {
	t.Helper()
	got := make([][][]byte, len(fs))
	var rs []RxStream
	for i, f := range fs {
		rs = append(rs, RxStream{Format: f, OnFrame: func(b []byte, st *FrameStats) {
			if !st.Complete || !st.Marker {
				t.Errorf("stream %d: frame %+v", i, st)
			}
			got[i] = append(got[i], append([]byte(nil), b...))
		}})
	}
	r, err := NewReceiver(&ReceiverConfig{Streams: rs})
	if err != nil {
		t.Fatal(err)
	}
	for i, pkt := range q.sent {
		r.PushRTP(int(binary.BigEndian.Uint32(pkt[8:])), pkt, q.at[i])
	}
	for i := range fs {
		if len(got[i]) != 3 {
			t.Fatalf("stream %d: %d frames", i, len(got[i]))
		}
		for k, b := range got[i] {
			if string(b) != string(streams[i].Frames.Frame(uint64(k))) {
				t.Errorf("stream %d: frame %d differs", i, k)
			}
		}
	}
}

// MaxRate slows the transmitter's clock: the stamps (the caller's clock)
// spread the packets at the capped rate, the timestamps stay.
func TestTransmitterMaxRate(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 2, 1))
	for _, rate := range []float64{0, 500} {
		tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop, Count: 4, TP: SenderNarrowLinear}}, MaxRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		natural := tx.Rate()
		if err := tx.Start(1e18, 0); err != nil {
			t.Fatal(err)
		}
		q := newMemQueue(1, 2048, true)
		runVirtual(t, tx, q, 1, 1e6)
		n := len(q.sent)
		got := float64(n-1) / (float64(q.at[n-1]-q.at[0]) / 1e9)
		want := natural
		if rate != 0 {
			want = rate
		}
		if math.Abs(got-want)/want > 0.02 {
			t.Errorf("MaxRate %v: %.1f packets/s, want %.1f (natural %.1f)", rate, got, want, natural)
		}
		// Timestamps still a frame period apart.
		per := tx.Packetizer(0).PacketsPerFrame()
		d := binary.BigEndian.Uint32(q.sent[per][4:]) - binary.BigEndian.Uint32(q.sent[0][4:])
		if d != 3600 {
			t.Errorf("MaxRate %v: frames %d ticks apart, want 3600", rate, d)
		}
	}
}

// A full queue holds packets back; packets written long after they were
// due count as late.
func TestTransmitterFullAndLate(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 2, 1))
	tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop}}, Slack: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tx.Step(newMemQueue(1, 2048, false), 0, 1); !errors.Is(err, ErrNotStarted) {
		t.Errorf("step before start: %v", err)
	}
	if err := tx.Start(1e18, 0); err != nil {
		t.Fatal(err)
	}
	q := newMemQueue(8, 2048, true)
	q.room = 3
	now := tx.Next() + int64(10*time.Millisecond) // behind, by less than the 40 ms frame period
	n, next, err := tx.Step(q, now, 8)
	if n != 3 || err != nil || next > now {
		t.Fatalf("step into 3 free buffers: %d, next %d (now %d), %v", n, next, now, err)
	}
	if n, _, _ := tx.Step(q, now, 8); n != 0 {
		t.Fatalf("step into a full queue wrote %d", n)
	}
	if st := tx.Stats(0); st.Late != 3 || st.Packets != 3 {
		t.Errorf("stats %+v, want 3 late packets", st)
	}
	// Buffers too short for a packet are an error.
	short := newMemQueue(2, 100, false)
	if _, _, err := tx.Step(short, now, 2); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffers: %v", err)
	}
}

func TestTransmitterConfigErrors(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 2, 1))
	noRate := f
	noRate.Rate = Rate{}
	for _, c := range []*TransmitterConfig{
		nil,
		{},
		{Streams: []TxStream{{Format: noRate, Frames: loop}}},
		{Streams: []TxStream{{Format: f}}},
		{Streams: []TxStream{{Format: f, Frames: loop, TP: 9}}},
		{Streams: []TxStream{{Format: f, Frames: loop}}, MaxRate: -1},
		{Streams: []TxStream{{Format: f, Frames: loop, Packetizer: &PacketizerConfig{PayloadSize: 20}}}},
	} {
		if _, err := NewTransmitter(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if _, err := NewFrameLoop(&f, make([]byte, f.FrameSize()+1)); err == nil {
		t.Error("frame loop of a partial frame: no error")
	}
	// A stream's error says the package once, and is still the error of
	// the part that refused.
	_, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop}, {Format: f, Frames: loop, Pacing: &PacerConfig{Burst: 99}}}})
	if err == nil || !strings.HasPrefix(err.Error(), "video: stream 1: pacer: burst of 99 above CMAX ") || strings.Count(err.Error(), "video:") != 1 {
		t.Errorf("a burst above CMAX in stream 1: %v", err)
	}
	var se *streamError
	if !errors.As(err, &se) || !strings.HasPrefix(se.err.Error(), "video: pacer: ") {
		t.Errorf("a burst above CMAX in stream 1: %#v does not wrap the pacer's error", err)
	}
}

// Whole Ethernet frames from templates, one UDP port per stream, into
// a Receiver that tells the streams apart by port (one fixed, one found).
func TestTransmitterReceiverEthernet(t *testing.T) {
	wide := fmt64x32i
	wide.Width = 640 // rows long enough for BPM blocks
	fs := []Format{fmt64x32, wide}
	var streams []TxStream
	var rs []RxStream
	got := make([][][]byte, len(fs))
	for i, f := range fs {
		tmpl, err := packet.NewTemplate(&packet.TemplateConfig{
			SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
			Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.AddrPortFrom(netip.MustParseAddr("239.0.0.1"), uint16(6000+i)),
			VLAN: uint16(i * 10), PayloadType: 96, RFC4175: true, UDPChecksum: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		pat, err := NewPattern(&f)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, TxStream{Format: f, Frames: pat, Count: 4, Packetizer: &PacketizerConfig{Template: tmpl, Packing: []Packing{GPM, BPM}[i]}})
		port := uint16(6000)
		if i == 1 {
			port = 0
		}
		rs = append(rs, RxStream{Format: f, Port: port, Count: 3, OnFrame: func(b []byte, st *FrameStats) {
			got[i] = append(got[i], append([]byte(nil), b...))
		}})
	}
	tx, err := NewTransmitter(&TransmitterConfig{Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Start(1e18, 0); err != nil {
		t.Fatal(err)
	}
	q := newMemQueue(32, 2048, true)
	runVirtual(t, tx, q, 32, 1e6)
	r, err := NewReceiver(&ReceiverConfig{Streams: rs})
	if err != nil {
		t.Fatal(err)
	}
	r.Push([]byte{1, 2, 3}, 0) // not a frame of any stream
	for q.taken < len(q.sent) {
		if _, err := r.Drain(q, 0, 7); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Done() {
		t.Error("receiver not done after the frames it wanted")
	}
	for i := range fs {
		st := r.Stats(i)
		if len(got[i]) != 3 || st.Delivered != 3 || st.Frames != 4 || st.Lost != 0 || st.Port != uint16(6000+i) {
			t.Errorf("stream %d: %d frames, stats %+v", i, len(got[i]), st)
		}
		for k, b := range got[i] {
			if string(b) != string(streams[i].Frames.Frame(uint64(k))) {
				t.Errorf("stream %d: frame %d differs", i, k)
			}
		}
		if want := tx.Packetizer(i).PacketsPerField(); st.PacketsPerField != want {
			t.Errorf("stream %d: %d packets per field, want %d", i, st.PacketsPerField, want)
		}
		if want := []Packing{GPM, BPM}[i]; st.Packing != want {
			t.Errorf("stream %d: packing %v, want %v", i, st.Packing, want)
		}
	}
	if r.Other() != 1 {
		t.Errorf("%d other packets, want 1", r.Other())
	}
}

func TestPattern(t *testing.T) {
	for _, f := range allFormats() {
		f.Width = 64 // every pgroup width divides it; keeps the test fast
		p, err := NewPattern(&f)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		a, b := p.Frame(0), p.Frame(1)
		if len(a) != f.FrameSize() || len(b) != f.FrameSize() {
			t.Fatalf("%v: frames of %d and %d octets", f, len(a), len(b))
		}
		if string(a) == string(b) {
			t.Errorf("%v: the pattern does not move", f)
		}
		if string(p.Frame(p.period)) != string(a) {
			t.Errorf("%v: frame %d is not frame 0", f, p.period)
		}
	}
	// The picture is deterministic: two patterns of a format agree.
	p1, _ := NewPattern(&fmt1080p)
	p2, _ := NewPattern(&fmt1080p)
	if string(p1.Frame(7)) != string(p2.Frame(7)) {
		t.Error("two patterns of one format differ")
	}
}

// NewPattern draws and packs its picture a strip at a time: the picture
// is the one drawn whole and packed at once, byte for byte, in every
// format (a picture of 264 lines: four whole strips and part of one), at
// widths whose pgroup rows are an even and an odd number of octets (4:2:0
// 10-bit at 68, 12-bit at 66: a strip's offset is not a row's bytes over
// the pgroup's height times the strip).
func TestPatternStrips(t *testing.T) {
	n, odd := 0, 0
	for _, f := range allFormats() {
		for _, w := range []int{64, 66, 68} {
			f.Width = w
			if f.Validate() != nil {
				continue
			}
			if checkPatternStrips(t, f) {
				n++
				if f.RowBytes()%f.Pgroup().Height != 0 {
					odd++
				}
			}
		}
	}
	if n == 0 || odd == 0 {
		t.Fatalf("%d formats with a planar picture, %d of them with odd pgroup rows: want some of both", n, odd)
	}
}

// checkPatternStrips compares f's pattern with its picture packed whole;
// false if f's pattern is drawn in pgroup bytes (no strips).
func checkPatternStrips(t *testing.T, f Format) bool {
	t.Helper()
	tall, _ := patternFormat(&f)
	pf, err := PixelFormatFor(&tall)
	if err != nil {
		return false // drawn in the pgroup bytes, no strips
	}
	size, err := PlanarSize(&tall, pf)
	if err != nil {
		t.Fatal(err)
	}
	planar := make([]byte, size)
	patternPlanar(planar, &tall, pf, 0)
	want := make([]byte, tall.FrameSize())
	if err := Pack(want, planar, &tall, pf); err != nil {
		t.Fatal(err)
	}
	p, err := NewPattern(&f)
	if err != nil {
		t.Fatal(err)
	}
	if tall.Height <= patternStrip || !bytes.Equal(p.pic, want) {
		t.Errorf("%v: the picture of %d lines differs from the one packed whole", f, tall.Height)
	}
	return true
}

func TestParseFmtp(t *testing.T) {
	s, err := ParseFmtp("sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=30000/1001; interlace; PM=2110BPM; TP=2110TPNL; MAXUDP=8960")
	if err != nil {
		t.Fatal(err)
	}
	want := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Interlaced, Rate: Rate29_97}
	if s.Format != want || s.Packing != BPM || s.Sender != SenderNarrowLinear || s.MaxUDP != 8960 {
		t.Errorf("got %+v", s)
	}
	for _, bad := range []string{
		"",
		"sampling=YCbCr-4:2:2; width=1920; height=1080",
		"sampling=YCbCr-4:2:7; width=1920; height=1080; depth=10",
		"sampling=YCbCr-4:2:2; width=1921; height=1080; depth=10",
		"sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=0",
		"sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; TP=2110TPX",
	} {
		if _, err := ParseFmtp(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// MaxRate below the streams' rate over MaxStretch is refused, naming the
// minimum; at the minimum, a schedule stretched past the end of int64
// nanoseconds is due never (math.MaxInt64), not at a wrapped negative time
// that a virtual clock would chase forever.
func TestTransmitterMaxRateBounds(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 2, 1))
	streams := []TxStream{{Format: f, Frames: loop, Count: 4}}
	probe, err := NewTransmitter(&TransmitterConfig{Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	low := probe.Rate() / MaxStretch
	for _, rate := range []float64{1e-9, low * 0.99} {
		_, err := NewTransmitter(&TransmitterConfig{Streams: streams, MaxRate: rate})
		if err == nil || !strings.Contains(err.Error(), "MaxRate") || !strings.Contains(err.Error(), "MaxStretch") {
			t.Errorf("MaxRate %v (minimum %v): error %v", rate, low, err)
		}
	}
	tx, err := NewTransmitter(&TransmitterConfig{Streams: streams, MaxRate: low * 1.01})
	if err != nil {
		t.Fatalf("MaxRate %v (minimum %v): %v", low*1.01, low, err)
	}
	// 100 s before the end: the first packet, some milliseconds of
	// schedule away, is stretched to hours.
	if err := tx.Start(math.MaxInt64-100e9, 0); err != nil {
		t.Fatal(err)
	}
	if next := tx.Next(); next != math.MaxInt64 || tx.Done() {
		t.Fatalf("next packet at %d, done %v; want never (math.MaxInt64), not done", next, tx.Done())
	}
	q := newMemQueue(4, 2048, true)
	n, next, err := tx.Step(q, math.MaxInt64-1, 4)
	if n != 0 || next != math.MaxInt64 || err != nil {
		t.Errorf("step at the end: %d packets, next %d, %v", n, next, err)
	}
	// Within range it keeps the stretched rate.
	if err := tx.Start(1e18, 0); err != nil {
		t.Fatal(err)
	}
	per := tx.Packetizer(0).PacketsPerFrame()
	runVirtual(t, tx, q, 1, per+1)
	want := float64(40*time.Millisecond) * MaxStretch / 1.01 // a frame period of 25 Hz, stretched
	if len(q.sent) != per+1 || math.Abs(float64(q.at[per]-q.at[0])-want)/want > 0.01 {
		t.Errorf("frames %v apart, want %v", time.Duration(q.at[per]-q.at[0]), time.Duration(want))
	}
}

// Start refuses a lead beyond MaxLead, and a start time plus lead past the
// end of int64 nanoseconds, which once wrapped negative and sent every
// packet at once.
func TestTransmitterStartLead(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 2, 1))
	tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop, Count: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		now  int64
		lead time.Duration
		want string
	}{{1e18, 1<<63 - 1, "MaxLead"}, {1e18, MaxLead + 1, "MaxLead"}, {math.MaxInt64 - 1e9, MaxLead, "int64"}} {
		if err := tx.Start(c.now, c.lead); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Start(%d, %v): %v, want an error naming %s", c.now, c.lead, err, c.want)
		}
	}
	if err := tx.Start(1e18, MaxLead); err != nil {
		t.Fatal(err)
	}
	if next := tx.Next(); next < 1e18+int64(MaxLead) || next > 1e18+int64(MaxLead+time.Second) {
		t.Errorf("lead %v: first packet %d ns after start", MaxLead, next-1e18)
	}
	// A clock a millisecond before the end of int64 nanoseconds: the
	// next frame's first packet is due after it, never, and not at a
	// time wrapped negative that would make every packet due at once.
	now := int64(math.MaxInt64 - 1e6)
	if err := tx.Start(now, 0); err != nil {
		t.Fatal(err)
	}
	if next := tx.Next(); next < now {
		t.Errorf("started at %d: first packet due at %d, before it", now, next)
	}
	q := newMemQueue(4, 2048, false)
	if n, next, err := tx.Step(q, now, 4); n != 0 || next < now || err != nil {
		t.Errorf("started at %d: Step wrote %d packets, next at %d, %v; want none", now, n, next, err)
	}
}

// shortSource is a FrameSource whose frames are one octet short.
type shortSource struct{ f *Format }

func (s shortSource) Frame(uint64) []byte { return make([]byte, s.f.FrameSize()-1) }

// A source's frame that is too short stops Step with an error naming the
// stream and the frame, not one a caller of many streams cannot place.
func TestTransmitterShortFrame(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 1, 1))
	tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop}, {Format: f, Frames: shortSource{&f}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Start(1e18, 0); err != nil {
		t.Fatal(err)
	}
	q := newMemQueue(64, 2048, true)
	_, _, err = tx.Step(q, tx.Next()+int64(time.Second), 64)
	want := "video: stream 1: frame 0 of its source: frame of " + strconv.Itoa(f.FrameSize()-1) + " octets, want " + strconv.Itoa(f.FrameSize())
	if err == nil || err.Error() != want {
		t.Errorf("Step over a short frame of stream 1: %v, want %q", err, want)
	}
}

// A stream that falls more than a frame period behind its schedule (a
// process descheduled for several frame periods) gives up the frames it
// missed, the one it was sending included, and resumes at the first frame
// of its schedule not yet due, with the RTP timestamp of that frame's own
// alignment point: it never sends what it missed in a burst at line rate,
// nor frames with old timestamps. The clock is the caller's now: no wall
// clock is read.
func TestTransmitterFallsBehind(t *testing.T) {
	for _, f := range []Format{fmt64x32, fmt64x32i} {
		loop, _ := NewFrameLoop(&f, randomFrames(&f, 3, 1))
		tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Start(1e18, 0); err != nil {
			t.Fatal(err)
		}
		pc, p := tx.Pacer(0), tx.Packetizer(0)
		tf, per, fields := int64(pc.Params().TFrame), p.PacketsPerFrame(), int64(f.Scan.Fields())
		q := newMemQueue(1<<14, 2048, true)
		runVirtual(t, tx, q, 4, 2*per+per/2+1) // two frames and a half, on time
		before := len(q.sent)
		from, _ := pc.Pos()
		now := q.at[before-1] + 10*tf + tf/2 // the sender wakes up 10.5 frame periods later
		n, next, err := tx.Step(q, now, 1<<14)
		if err != nil {
			t.Fatal(err)
		}
		for i := before; i < len(q.sent); i++ {
			if now-q.at[i] > tf {
				t.Fatalf("%v: woken %v behind, it sent packet %d of its schedule %v late (%d packets at once): a burst of what it missed",
					f, time.Duration(now-q.at[before-1]), i, time.Duration(now-q.at[i]), n)
			}
		}
		to, k := pc.Pos()
		st := tx.Stats(0)
		if want := uint64(to/fields - from/fields); k != 0 || st.Skipped != want || st.Resyncs != 1 || st.Frames != 2 {
			t.Errorf("%v: after the stall at frame %d (stats %+v) it goes on at frame %d packet %d: want %d frames skipped in 1 resync, 2 sent",
				f, from, st, to, k, want)
		}
		if next < now-tf || next > now+2*tf {
			t.Errorf("%v: next packet at %v from now, want within a frame period or two", f, time.Duration(next-now))
		}
		// It goes on from there on its schedule: the next frame's packets
		// carry the timestamp of its alignment point, near now.
		runVirtual(t, tx, q, 4, len(q.sent)+per)
		ts := binary.BigEndian.Uint32(q.sent[before+n][4:])
		if want := Timestamp(pc.FrameTime(to)); ts != want {
			t.Errorf("%v: first frame after the stall has timestamp %d, want %d (frame %d)", f, ts, want, to)
		}
		if d := pc.FrameTime(to) - now; d < -tf || d > 2*tf {
			t.Errorf("%v: first frame after the stall is %v from now", f, time.Duration(d))
		}
		if q.at[before+n] < now {
			t.Errorf("%v: first packet after the stall stamped %v before now", f, time.Duration(now-q.at[before+n]))
		}
	}
}

// MaxLag sets the bound: a stream exactly MaxLag behind still catches up;
// a nanosecond more and it skips ahead; negative never skips and sends
// every packet due at once.
func TestTransmitterMaxLag(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 2, 1))
	for _, c := range []struct {
		lag    time.Duration
		behind int64
		skip   bool
	}{
		{0, int64(40 * time.Millisecond), false}, // zero: one frame period of 25 Hz
		{0, int64(40*time.Millisecond) + 1, true},
		{5 * time.Millisecond, int64(5 * time.Millisecond), false},
		{5 * time.Millisecond, int64(5*time.Millisecond) + 1, true},
		{-1, int64(time.Hour), false},
	} {
		tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop}}, MaxLag: c.lag})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Start(1e18, 0); err != nil {
			t.Fatal(err)
		}
		q := newMemQueue(64, 2048, false)
		n, _, err := tx.Step(q, tx.Next()+c.behind, 64)
		if err != nil {
			t.Fatal(err)
		}
		st := tx.Stats(0)
		if skipped := st.Resyncs != 0; skipped != c.skip || !c.skip && n == 0 || c.lag < 0 && n != 64 {
			t.Errorf("MaxLag %v, %v behind: %d packets written, stats %+v; want skipped %v", c.lag, time.Duration(c.behind), n, st, c.skip)
		}
	}
}

// Frames skipped count towards Count: a stream whose output cannot keep up
// still ends after Count frames of its schedule, no more skipped than it
// had left.
func TestTransmitterSkipEndsCount(t *testing.T) {
	f := fmt64x32
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 2, 1))
	tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop, Count: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Start(1e18, 0); err != nil {
		t.Fatal(err)
	}
	q := newMemQueue(64, 2048, false)
	per := tx.Packetizer(0).PacketsPerFrame()
	runVirtual(t, tx, q, 4, per+1)
	n, next, err := tx.Step(q, tx.Next()+int64(time.Second), 64)
	if st := tx.Stats(0); n != 0 || err != nil || !tx.Done() || next != math.MaxInt64 || st.Frames != 1 || st.Skipped != 2 || st.Resyncs != 1 {
		t.Errorf("a second behind after 1 frame of 3: %d written, next %d, %v, done %v, stats %+v; want done, 1 sent and 2 skipped", n, next, err, tx.Done(), st)
	}
}

// TestReceiverAfterSenderSkip: a Transmitter that stalls mid-frame
// (progressive) or mid second field (interlaced) and skips ahead sends a
// frame cut short; a Receiver's analysis does not take the marker pair
// across it for one frame's packets (NPACKETS, the rate check).
func TestReceiverAfterSenderSkip(t *testing.T) {
	for _, c := range []struct {
		f    Format
		stop func(per int) int // packets sent on time before the stall
	}{
		{fmt64x32, func(per int) int { return per + per/2 }},
		{fmt64x32i, func(per int) int { return per + per/2 + per/4 }}, // picture 1, second field half sent
	} {
		f := c.f
		loop, _ := NewFrameLoop(&f, randomFrames(&f, 4, 1))
		tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop, Count: 12}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Start(1e18, 0); err != nil {
			t.Fatal(err)
		}
		per := tx.Packetizer(0).PacketsPerFrame()
		tf := int64(tx.Pacer(0).Params().TFrame)
		q := newMemQueue(1<<14, 2048, true)
		runVirtual(t, tx, q, 1, c.stop(per))
		now := q.at[len(q.sent)-1] + 3*tf
		tx.Step(q, now, 0) // the resync
		runVirtual(t, tx, q, 4, 1<<20)
		var got []FrameStats
		r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, OnFrame: func(b []byte, st *FrameStats) {
			got = append(got, *st)
		}}}})
		if err != nil {
			t.Fatal(err)
		}
		for i, pkt := range q.sent {
			r.PushRTP(0, pkt, q.at[i])
		}
		r.Flush()
		t.Logf("%v: tx %+v", f.Scan, tx.Stats(0))
		for i, st := range got {
			t.Logf("  frame %d: ts %d packets %d lost %d marker %v complete %v", i, st.Timestamp, st.Packets, st.Lost, st.Marker, st.Complete)
		}
		t.Logf("  rx %+v", r.Stats(0))
		an, ok := r.Analysis(0)
		t.Logf("  analysis %v %v", an, ok)
		if an.PacketsPerFrame != per/int(f.Scan.Fields()) || r.Stats(0).RateCheck != RateMatches {
			t.Errorf("%v: a sender skip between the first two markers: analysis NPACKETS %d (want %d), rate check %v", f.Scan, an.PacketsPerFrame, per/int(f.Scan.Fields()), r.Stats(0).RateCheck)
		}
	}
}

// TestReceiverMarkerReordered: each frame's marker packet arriving just
// before the packet sent before it (the frame's last two swapped) still
// makes marker pairs: the analysis starts, with the frame's packet count
// and a rate that matches the timestamps.
func TestReceiverMarkerReordered(t *testing.T) {
	f := fmt64x32
	p := mustPacketizer(t, f, &PacketizerConfig{})
	period := int64(f.Rate.Period())
	var pkts [][]byte
	for k := range 12 {
		ss := packetize(t, p, randomFrame(&f, uint64(k)+1), int64(1e18)+int64(k)*period)
		n := len(ss)
		ss[n-1], ss[n-2] = ss[n-2], ss[n-1]
		for _, s := range ss {
			pkts = append(pkts, s.b)
		}
	}
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f}}})
	if err != nil {
		t.Fatal(err)
	}
	per := len(pkts) / 12
	for i, pkt := range pkts {
		r.PushRTP(0, pkt, int64(1e18)+int64(i)*period/int64(per))
	}
	an, ok := r.Analysis(0)
	if st := r.Stats(0); !ok || an.PacketsPerFrame != per || st.PacketsPerField != per || st.RateCheck != RateMatches {
		t.Errorf("analysis %v (ok %v), PacketsPerField %d, rate check %v; want %d packets a frame, a matching rate", an, ok, st.PacketsPerField, st.RateCheck, per)
	}
}
