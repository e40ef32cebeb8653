package video

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// benchStreams returns n 1080p59.94 streams on templates, sharing one test
// pattern, as nmbench -f vtx -streams n sends them.
func benchStreams(b *testing.B, n int) []TxStream {
	pat, err := NewPattern(&fmt1080p)
	if err != nil {
		b.Fatal(err)
	}
	var streams []TxStream
	for k := range n {
		tmpl, err := packet.NewTemplate(&packet.TemplateConfig{
			SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
			Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.AddrPortFrom(netip.MustParseAddr("239.0.0.1"), uint16(5004+k)),
			PayloadType: 96, RFC4175: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		streams = append(streams, TxStream{Format: fmt1080p, Frames: pat, Packetizer: &PacketizerConfig{Template: tmpl}})
	}
	return streams
}

// BenchmarkTransmitter measures Step per packet: pacing, packetizing into
// the queue's buffers, and (analyze) the self-check, for 1 and 16 streams
// whose packets are interleaved.
func BenchmarkTransmitter(b *testing.B) {
	for _, c := range []struct {
		name    string
		streams int
		analyze bool
	}{{"1-stream", 1, false}, {"16-streams", 16, false}, {"16-streams-analyze", 16, true}} {
		b.Run(c.name, func(b *testing.B) {
			tx, err := NewTransmitter(&TransmitterConfig{Streams: benchStreams(b, c.streams), Analyze: c.analyze, MaxLag: -1}) // the old workload: every packet sent, none skipped
			if err != nil {
				b.Fatal(err)
			}
			now := int64(1_800_000_000_000_000_000)
			if err := tx.Start(now, 0); err != nil {
				b.Fatal(err)
			}
			q := newMemQueue(256, 2048, false)
			b.ReportAllocs()
			pkts := 0
			for b.Loop() {
				now += int64(200 * time.Microsecond)
				n, _, err := tx.Step(q, now, 256)
				if err != nil {
					b.Fatal(err)
				}
				pkts += n
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
		})
	}
}

// BenchmarkTransmitReceive measures a packet's way through both ends:
// Step into a queue, then Drain of the queue into a Receiver (demultiplexing
// the Ethernet frame by UDP port, the analysis, depacketizing into the
// frame). Less BenchmarkTransmitter's time per packet, it is the receiver's.
func BenchmarkTransmitReceive(b *testing.B) {
	const streams = 4
	tx, err := NewTransmitter(&TransmitterConfig{Streams: benchStreams(b, streams)})
	if err != nil {
		b.Fatal(err)
	}
	now := int64(1_800_000_000_000_000_000)
	if err := tx.Start(now, 0); err != nil {
		b.Fatal(err)
	}
	var rs []RxStream
	for k := range streams {
		rs = append(rs, RxStream{Format: fmt1080p, Port: uint16(5004 + k)})
	}
	r, err := NewReceiver(&ReceiverConfig{Streams: rs})
	if err != nil {
		b.Fatal(err)
	}
	q := newMemQueue(256, 2048, false)
	rq := &replayQueue{q: q}
	b.ReportAllocs()
	pkts := 0
	for b.Loop() {
		now += int64(200 * time.Microsecond)
		n, _, err := tx.Step(rq, now, 256)
		if err != nil {
			b.Fatal(err)
		}
		if m, err := r.Drain(rq, now, n); m != n || err != nil {
			b.Fatalf("drained %d of %d: %v", m, n, err)
		}
		pkts += n
	}
	if st := r.Stats(0); st.Lost != 0 || st.Complete != st.Frames {
		b.Errorf("stream 0: %+v", st)
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(pkts, 1)), "ns/pkt")
}

// replayQueue is a TxQueue over q's buffers that hands the packets last
// published back out as an RxQueue, without copies.
type replayQueue struct {
	q *memQueue
	n int
}

func (r *replayQueue) Reserve(n int) (int, error)   { return r.q.Reserve(n) }
func (r *replayQueue) Buf(i int) []byte             { return r.q.Buf(i) }
func (r *replayQueue) SetLen(i, n int)              { r.q.SetLen(i, n) }
func (r *replayQueue) Publish(n int)                { r.q.Publish(n); r.n = n }
func (r *replayQueue) Acquire(n int) (int, error)   { return min(n, r.n), nil }
func (r *replayQueue) Packet(i int) ([]byte, error) { return r.q.bufs[i][:r.q.lens[i]], nil }
func (r *replayQueue) Release(n int)                { r.n = 0 }
