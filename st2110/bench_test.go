package st2110

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/video"
)

// The benchmarks compare st2110's netmap paths with the bare video
// Transmitter and Receiver over the same heap rings (internal/heapmem), one
// 1080p59.94 4:2:2 10-bit frame (4320 packets, 5,184,000 octets) per op,
// in the same run:
//
//	go test -run '^$' -bench 'Heap' -benchtime 200x ./st2110
//
// Receive: the frame's packets are put into the RX ring (heapmem.Inject,
// the same for both, and measured alone as "inject"), then drained: bare
// is video.Receiver.Drain; st2110 is a ring reader's pass (clock read,
// Drain, the frame handed to the consumer, who loops over Frames in
// another goroutine, counts published); both stamp arrivals with a Clock
// read per batch, which the ST 2110-21 analysis of each stream takes.
// Send: bare is
// video.Transmitter.Step into the TX ring and the TX sync; st2110 is the
// Sender's step (the same, plus counts published), both on a virtual
// clock.

// measureCPU reports the CPU time per op of what runs between its call and
// the call of the function it returns.
func measureCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

var bench1080 = video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
	Scan: video.Progressive, Rate: video.Rate59_94}

// benchFrame returns the Ethernet frames of one 1080p frame to
// 239.1.1.1:5004.
func benchFrame(b *testing.B) [][]byte {
	tmpl, err := packet.NewTemplate(&packet.TemplateConfig{SrcMAC: defaultMAC, DstMAC: net.HardwareAddr{1, 0, 0x5e, 1, 1, 1},
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.1.1.1:5004"), PayloadType: 96, RFC4175: true})
	if err != nil {
		b.Fatal(err)
	}
	p, err := video.NewPacketizer(&bench1080, &video.PacketizerConfig{Template: tmpl})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Frame(randomFrames(bench1080, 1, 1), 1_800_000_000_000_000_000); err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	for {
		buf := make([]byte, p.MaxPacketLen())
		n, err := p.Next(buf)
		if err != nil {
			return out
		}
		out = append(out, buf[:n])
	}
}

func BenchmarkHeapReceive(b *testing.B) {
	pkts := benchFrame(b)
	reg := heapmem.MustNew(&heapmem.Config{Name: "rx", RxSlots: 1024, BufSize: 2048})
	ring, err := rings.NewRxRing(reg.Mem, reg.RxRingOff(0))
	if err != nil {
		b.Fatal(err)
	}
	sess := session("10.0.0.1", flow(bench1080, "239.1.1.1:5004", ""))
	// feed puts the frame's packets into the ring in runs of 512, as the
	// next frame (its sequence numbers and timestamp patched), and calls
	// drain after each run.
	var seq, ts uint32
	feed := func(drain func()) {
		ts += 1502
		for i := 0; i < len(pkts); {
			for j := 0; j < 512 && i < len(pkts); j, i = j+1, i+1 {
				rtp := pkts[i][packet.UDPHdrLen:]
				binary.BigEndian.PutUint16(rtp[2:], uint16(seq))
				binary.BigEndian.PutUint32(rtp[4:], ts)
				binary.BigEndian.PutUint16(rtp[packet.RTPLen:], uint16(seq>>16))
				seq++
				if !reg.Inject(0, pkts[i]) {
					b.Fatal("ring full")
				}
			}
			if err := reg.RxSync(0); err != nil {
				b.Fatal(err)
			}
			drain()
			if err := reg.RxSync(0); err != nil { // the released slots go back
				b.Fatal(err)
			}
		}
	}
	b.Run("inject", func(b *testing.B) {
		b.SetBytes(int64(bench1080.FrameSize()))
		b.ReportAllocs()
		defer measureCPU(b)()
		for b.Loop() {
			feed(func() {
				n, _ := ring.Acquire(512)
				ring.Release(n)
			})
		}
	})
	b.Run("bare", func(b *testing.B) {
		frames := 0
		r, err := video.NewReceiver(&video.ReceiverConfig{Streams: []video.RxStream{{Format: bench1080, Port: 5004,
			OnFrame: func([]byte, *video.FrameStats) { frames++ }}}})
		defer func() {
			if st := r.Stats(0); st.Lost != 0 || frames < b.N-1 {
				b.Fatalf("%d frames, %+v", frames, st)
			}
		}()
		if err != nil {
			b.Fatal(err)
		}
		clk, err := NewClock(nil)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(bench1080.FrameSize()))
		b.ReportAllocs()
		defer measureCPU(b)()
		for b.Loop() {
			// As a ring reader's pass: a clock read per batch, then Drain.
			feed(func() { r.Drain(ring, clk.Now(), 512) })
		}
		b.ReportMetric(float64(b.N)*float64(len(pkts))/b.Elapsed().Seconds(), "pkts/s")
	})
	b.Run("st2110", func(b *testing.B) {
		// Room for a consumer the machine does not schedule for a while:
		// a dropped frame would cost less than one handed over.
		rx, err := newReceiver("vale0:heap", sess, &ListenConfig{FrameBuffers: 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := rx.start(&oneReader{idleReader{}}); err != nil {
			b.Fatal(err)
		}
		defer rx.Close()
		go func() {
			for range rx.Frames(context.Background()) {
			}
		}()
		rd := &ringReader{name: "heap", rings: []video.RxQueue{ring}, batch: 512}
		sink := rx.sinks[0]
		b.SetBytes(int64(bench1080.FrameSize()))
		b.ReportAllocs()
		defer measureCPU(b)()
		for b.Loop() {
			feed(func() { rd.pass(sink) })
		}
		b.ReportMetric(float64(b.N)*float64(len(pkts))/b.Elapsed().Seconds(), "pkts/s")
		b.StopTimer()
		if st := rx.Stats(0); st.Lost != 0 || st.Delivered < uint64(b.N)-1 || st.Dropped > st.Delivered/20 {
			b.Fatalf("%+v", st)
		}
	})
}

func BenchmarkHeapSend(b *testing.B) {
	sess := session("10.0.0.1", flow(bench1080, "239.1.1.1:5004", ""))
	newRing := func() *heapTx {
		reg := heapmem.MustNew(&heapmem.Config{Name: "tx", TxSlots: 1024, BufSize: 2048})
		ring, err := rings.NewTxRing(reg.Mem, reg.TxRingOff(0))
		if err != nil {
			b.Fatal(err)
		}
		return &heapTx{TxRing: ring, reg: reg}
	}
	// Both send a frame per op: Step on a virtual clock until 4320
	// packets are out.
	b.Run("bare", func(b *testing.B) {
		q := newRing()
		s := dialHeap(b, q, sess, nil)
		vt := s.parts[0].tx // the same Transmitter configuration, driven bare
		if err := vt.Start(s.clock.Now(), 0); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(bench1080.FrameSize()))
		b.ReportAllocs()
		defer measureCPU(b)()
		for b.Loop() {
			for sent := 0; sent < 4320; {
				n, _, err := vt.Step(q.TxRing, vt.Next(), 64)
				if err != nil {
					b.Fatal(err)
				}
				q.reg.TxSync(0)
				sent += n
			}
		}
		b.ReportMetric(float64(b.N)*4320/b.Elapsed().Seconds(), "pkts/s")
	})
	b.Run("st2110", func(b *testing.B) {
		q := newRing()
		s := dialHeap(b, q, sess, nil)
		p := s.parts[0]
		if err := p.tx.Start(s.clock.Now(), 0); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(bench1080.FrameSize()))
		b.ReportAllocs()
		defer measureCPU(b)()
		for b.Loop() {
			for sent := 0; sent < 4320; {
				n, _, err := s.step(context.Background(), p, p.tx.Next())
				if err != nil {
					b.Fatal(err)
				}
				sent += n
			}
		}
		b.ReportMetric(float64(b.N)*4320/b.Elapsed().Seconds(), "pkts/s")
	})
}
