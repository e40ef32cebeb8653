package video

import (
	"encoding/binary"
	"testing"
)

// The per-packet benchmarks time what one ST 2110-20 packet costs the
// sender and the receiver in user space, in the shapes a paced netmap
// sender and receiver have: the Transmitter steps once per burst of a
// 1080p59.94 narrow schedule (Pacing.Burst packets, written into ring-like
// slots), and the Receiver drains the Ethernet frames a few at a time, as
// a receiver woken per burst reads them. ns/pkt is the figure; run inside
// the netmap VM under test/vale/vm/run --icount it is instructions per
// packet (one instruction per virtual ns).

// ringQueue is a TxQueue and RxQueue shaped like a netmap ring: slots of
// 2048 octets, lengths kept per slot, no per-packet stamps.
type ringQueue struct {
	bufs [][]byte
	lens []int
	head int // first reserved slot
	k    int // reserved
	// RX side: the frames published last, handed back out.
	avail, taken int
}

func newRingQueue(n int) *ringQueue {
	q := &ringQueue{bufs: make([][]byte, n), lens: make([]int, n)}
	for i := range q.bufs {
		q.bufs[i] = make([]byte, 2048)
	}
	return q
}

func (q *ringQueue) slot(i int) int {
	i += q.head
	if i >= len(q.bufs) {
		i -= len(q.bufs)
	}
	return i
}

func (q *ringQueue) Reserve(n int) (int, error) { q.k = min(n, len(q.bufs)); return q.k, nil }
func (q *ringQueue) Buf(i int) []byte {
	if uint(i) >= uint(q.k) {
		return nil
	}
	return q.bufs[q.slot(i)]
}
func (q *ringQueue) SetLen(i, n int) { q.lens[q.slot(i)] = n }
func (q *ringQueue) Publish(n int)   { q.avail, q.taken = n, 0 }

func (q *ringQueue) Acquire(n int) (int, error) { return min(n, q.avail-q.taken), nil }
func (q *ringQueue) Packet(i int) ([]byte, error) {
	s := q.slot(q.taken + i)
	return q.bufs[s][:q.lens[s]], nil
}
func (q *ringQueue) Release(n int) { q.taken += n }

// advance moves the ring past the slots published last.
func (q *ringQueue) advance() { q.head = q.slot(q.avail) }

// BenchmarkSendPacket times Transmitter.Step per packet, one Step per
// burst of 6 (CMAX of 1080p59.94 narrow), stepping at each due time as a
// paced sender does: pacing, packetizing into the slots and (analyze) the
// self-check.
func BenchmarkSendPacket(b *testing.B) {
	for _, c := range []struct {
		name           string
		streams, burst int
		analyze        bool
	}{
		{"1-stream-burst6", 1, 6, false},
		{"1-stream-burst6-analyze", 1, 6, true},
		{"1-stream-burst1", 1, 1, false},
		{"2-streams-burst6", 2, 6, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			streams := benchStreams(b, c.streams)
			for i := range streams {
				streams[i].Pacing = &PacerConfig{Burst: c.burst}
			}
			tx, err := NewTransmitter(&TransmitterConfig{Streams: streams, Analyze: c.analyze})
			if err != nil {
				b.Fatal(err)
			}
			if err := tx.Start(1_800_000_000_000_000_000, 0); err != nil {
				b.Fatal(err)
			}
			q := newRingQueue(1024)
			b.ReportAllocs()
			pkts := 0
			for b.Loop() {
				n, _, err := tx.Step(q, tx.Next(), 64)
				if err != nil {
					b.Fatal(err)
				}
				q.Publish(n)
				q.advance()
				pkts += n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
			b.ReportMetric(float64(pkts)/float64(b.N), "pkts/step")
		})
	}
}

// benchFrame writes one 1080p59.94 frame's Ethernet frames with a
// Transmitter (bursts of 6) into a ring of as many slots, and returns the
// transmitter, the ring and each packet's send time.
func benchFrame(b *testing.B) (*Transmitter, *ringQueue, []int64) {
	streams := benchStreams(b, 1)
	for i := range streams {
		streams[i].Pacing = &PacerConfig{Burst: 6}
	}
	tx, err := NewTransmitter(&TransmitterConfig{Streams: streams})
	if err != nil {
		b.Fatal(err)
	}
	if err := tx.Start(1_800_000_000_000_000_000, 0); err != nil {
		b.Fatal(err)
	}
	per := tx.Packetizer(0).PacketsPerFrame()
	q := newRingQueue(per)
	var at []int64
	for len(at) < per {
		now := tx.Next()
		n, _, err := tx.Step(q, now, min(64, per-len(at)))
		if err != nil {
			b.Fatal(err)
		}
		q.head = q.slot(n)
		for range n {
			at = append(at, now)
		}
	}
	q.head = 0
	return tx, q, at
}

// BenchmarkReceivePacket times Receiver.Drain per packet: one 1080p59.94
// stream's Ethernet frames (the Transmitter's, replayed with new sequence
// numbers and timestamps each frame), drained 6 at a time: the demux by
// UDP port, the analysis of the arrival times and depacketizing into the
// frame.
func BenchmarkReceivePacket(b *testing.B) {
	for _, batch := range []int{6, 64} {
		b.Run("batch"+string(rune('0'+batch/10))+string(rune('0'+batch%10)), func(b *testing.B) {
			tx, q, at := benchFrame(b)
			start, per := at[0], len(at)
			frames := 0
			r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: fmt1080p, Port: 5004,
				OnFrame: func([]byte, *FrameStats) { frames++ }}}})
			if err != nil {
				b.Fatal(err)
			}
			r.AllocFrames()
			period := tx.Pacer(0).FrameTime(1) - tx.Pacer(0).FrameTime(0)
			rtp := tx.Packetizer(0).HeaderLen() - rtpHeaders
			var seq uint32
			ts := Timestamp(start)
			b.ReportAllocs()
			for op := 0; b.Loop(); op++ {
				// The next frame: new sequence numbers and timestamp.
				ts += 1501
				for i := range per {
					pk := q.bufs[i][rtp:]
					binary.BigEndian.PutUint16(pk[2:], uint16(seq))
					binary.BigEndian.PutUint32(pk[4:], ts)
					binary.BigEndian.PutUint16(pk[12:], uint16(seq>>16))
					seq++
				}
				q.avail, q.taken = per, 0
				for i := 0; i < per; {
					n, err := r.Drain(q, at[i]+int64(op)*period, batch)
					if err != nil || n == 0 {
						b.Fatalf("drained %d: %v", n, err)
					}
					i += n
				}
			}
			if st := r.Stats(0); st.Lost != 0 || frames < b.N-1 {
				b.Fatalf("%d frames of %d ops: %+v", frames, b.N, st)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/pkt")
		})
	}
}

// BenchmarkReceiveParts splits BenchmarkReceivePacket's cost per packet
// into its parts, each over the same 1080p59.94 packets: the sample copy
// alone (1200 octets into a frame buffer), parsing the headers, the
// ST 2110-21 analysis of one arrival (six to a time, as a ring's batches
// come) and the depacketizer (its copy included). Under
// test/vale/vm/run --icount ns/op is instructions.
func BenchmarkReceiveParts(b *testing.B) {
	tx, q, at := benchFrame(b)
	start, per := at[0], len(at)
	rtp := tx.Packetizer(0).HeaderLen() - rtpHeaders
	pkt := func(i int) []byte { return q.bufs[i%per][:q.lens[i%per]] }
	b.Run("copy", func(b *testing.B) {
		frame := make([]byte, fmt1080p.FrameSize())
		off := 0
		for i := 0; b.Loop(); i++ {
			p := pkt(i)
			copy(frame[off:], p[len(p)-1200:])
			if off += 1200; off+1200 > len(frame) {
				off = 0
			}
		}
	})
	b.Run("parseHeaders", func(b *testing.B) {
		n := 0
		for i := 0; b.Loop(); i++ {
			var h headers
			if parseHeaders(&h, pkt(i)[rtp:]) {
				n += h.data
			}
		}
		sink = n
	})
	b.Run("analyzer", func(b *testing.B) {
		tm := Timing{Rate: fmt1080p.Rate, Scan: fmt1080p.Scan, Height: fmt1080p.Height, Packets: per}
		an, err := NewAnalyzer(tm)
		if err != nil {
			b.Fatal(err)
		}
		period := tx.Pacer(0).FrameTime(1) - tx.Pacer(0).FrameTime(0)
		at := start
		for i := 0; b.Loop(); i++ {
			if i%6 == 0 {
				at += period / int64(per) * 6
			}
			an.Packet(at, uint32(i/per), i%per == per-1)
			an.Payload(1200, 1)
		}
	})
	b.Run("depacketizer", func(b *testing.B) {
		d, err := NewDepacketizer(&fmt1080p, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.SetBuffer(make([]byte, fmt1080p.FrameSize())); err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			// Each packet its sequence number and its frame's
			// timestamp (a few instructions of the figure).
			p := pkt(i)[rtp:]
			binary.BigEndian.PutUint16(p[2:], uint16(i))
			binary.BigEndian.PutUint32(p[4:], uint32(i/per))
			d.Push(p)
		}
		if st := d.Stats(); st.Lost != 0 || st.Duplicates != 0 || st.Frames < uint64(b.N/per) {
			b.Fatalf("%+v", st)
		}
	})
}

var sink int
