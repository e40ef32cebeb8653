//go:build linux

package xdp

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
	"github.com/nmgo/nmgo/xsk"
)

// taiNow is the system clock as TAI nanoseconds (37 s ahead of UTC); the
// tests only need a steady clock.
func taiNow() int64 { return time.Now().UnixNano() + 37e9 }

// receive drains rxs into r until r is done, WaitRx fails or the deadline
// passes, and reports the error. It counts the packets it took in got.
func receive(rxs *xsk.Socket, r *video.Receiver, deadline time.Time, got *atomic.Uint64) error {
	_ = rxs.SetReadDeadline(deadline)
	rx := rxs.Rx()
	for !r.Done() {
		n, err := r.Drain(rx, taiNow(), 64)
		if err != nil {
			return err
		}
		got.Add(uint64(n))
		if n == 0 {
			if err := rxs.WaitRx(); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestVideo sends 1080p59.94 4:2:2 10-bit from a video.Transmitter over an
// AF_XDP TX queue on A to a video.Receiver over an AF_XDP RX queue on B,
// and compares every received frame with the one sent, byte for byte. The
// transmitter keeps the ST 2110-21 narrow schedule, stretched to 80 kpps
// (TransmitterConfig.MaxRate), and waits while 4096 of its packets are
// unreceived (credit pacing through the receiver's count), so that a
// receiver starved of CPU on a busy host does not overflow its ring.
func TestVideo(t *testing.T) {
	p := xdptest.NewPair(t)
	rxs := open(t, p.NsB, p.B, &xsk.Config{RxOnly: true, Frames: 8192, RxSize: 8192})
	txs := open(t, p.NsA, p.A, &xsk.Config{TxOnly: true})
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
		Scan: video.Progressive, Rate: video.Rate59_94}
	pattern, err := video.NewPattern(&f)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := packet.NewTemplate(&packet.TemplateConfig{SrcMAC: p.MacA, DstMAC: p.MacB,
		Src: netip.AddrPortFrom(p.IPA, 5004), Dst: netip.AddrPortFrom(p.IPB, 5004),
		PayloadType: 96, SSRC: 0x2110, RFC4175: true})
	if err != nil {
		t.Fatal(err)
	}
	const frames = 12
	tx, err := video.NewTransmitter(&video.TransmitterConfig{MaxRate: 80000, MaxLag: -1, Streams: []video.TxStream{{
		Format: f, Frames: pattern, Count: frames, Packetizer: &video.PacketizerConfig{Template: tpl},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	var got, bad int
	rcv, err := video.NewReceiver(&video.ReceiverConfig{Streams: []video.RxStream{{
		Format: f, Port: 5004, PayloadType: 96, Count: frames,
		OnFrame: func(frame []byte, st *video.FrameStats) {
			if !st.Complete || !bytes.Equal(frame, pattern.Frame(uint64(got))[:f.FrameSize()]) {
				bad++
				t.Errorf("frame %d differs from the one sent (%+v)", got, *st)
			}
			got++
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	var recvd atomic.Uint64
	go func() { errc <- receive(rxs, rcv, time.Now().Add(60*time.Second), &recvd) }()
	if err := sendVideo(txs, tx, &recvd, 4096); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("receiver, %d frames in: %v", got, err)
	}
	st := rcv.Stats(0)
	ts := tx.Stats(0)
	t.Logf("sent %d frames, %d packets (%d late); received %d frames (%d complete), %d packets, %d lost, %d reordered",
		ts.Frames, ts.Packets, ts.Late, st.Delivered, st.Complete, st.Packets, st.Lost, st.Reordered)
	if ks, err := rxs.Stats(); err == nil {
		t.Logf("receiving socket: %+v", ks)
	}
	if got != frames || bad != 0 || st.Lost != 0 || st.Skipped != 0 {
		logLinks(t, p)
		t.Fatalf("%d frames of %d received, %d bad; %+v", got, frames, bad, st)
	}
}

// sendVideo runs tx over the TX queue of s until every stream is done,
// sleeping until the next packet is due and kicking after every batch,
// and waiting while window packets are not in got.
func sendVideo(s *xsk.Socket, tx *video.Transmitter, got *atomic.Uint64, window uint64) error {
	q := s.Tx()
	if err := tx.Start(taiNow(), 2*time.Millisecond); err != nil {
		return err
	}
	sent := uint64(0)
	for !tx.Done() {
		if sent-got.Load() >= window {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		now := taiNow()
		n, next, err := tx.Step(q, now, 64)
		if err != nil {
			return err
		}
		if n > 0 {
			sent += uint64(n)
			if err := s.Kick(); err != nil {
				return err
			}
		}
		switch {
		case next == math.MaxInt64: // every stream done
		case next > now+200_000:
			time.Sleep(time.Duration(next - now - 100_000))
		case n == 0 && next <= now: // no free frame
			if err := s.WaitTx(); err != nil {
				return err
			}
		}
	}
	for q.InFlight() > 0 {
		if err := s.WaitTx(); err != nil {
			return err
		}
	}
	return nil
}

// logLinks logs the counters of both links, for a failure.
func logLinks(t *testing.T, p *xdptest.Pair) {
	for _, l := range [][2]string{{p.NsA, p.A}, {p.NsB, p.B}} {
		if out, err := xdptest.Cmd(l[0], "ip", "-s", "link", "show", l[1]).CombinedOutput(); err == nil {
			t.Logf("%s", out)
		}
	}
}

// TestDialListen sends 1080p59.94 4:2:2 10-bit with st2110.Dial over an
// AF_XDP socket on A to st2110.Listen over an AF_XDP socket on B, on the
// ST 2110-21 narrow schedule, and compares every frame with the one sent,
// byte for byte. A run that loses packets (a receiver starved of CPU on a
// busy host) runs once more with the schedule stretched to an eighth of
// the rate (SendConfig.MaxRate); any other failure is final. The receiver
// has a UMEM of 64 MiB (ListenConfig.ReadBuffer): 32768 frames, 125 ms of
// the flow at full rate.
func TestDialListen(t *testing.T) {
	for try, rate := range []float64{0, 32000} {
		lost, err := dialListen(t, rate)
		if err == nil {
			return
		}
		if !lost || try == 1 {
			t.Fatal(err)
		}
		t.Logf("RETRY at %.0f packets/s after lost packets: %v", rate, err)
	}
}

func dialListen(t *testing.T, rate float64) (bool, error) {
	p := xdptest.NewPair(t)
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
		Scan: video.Progressive, Rate: video.Rate59_94}
	pattern, err := video.NewPattern(&f)
	if err != nil {
		t.Fatal(err)
	}
	const frames = 30
	sess := &video.Session{Name: "xdp", Origin: p.IPA, Streams: []video.Stream{{Format: f, PayloadType: 96, Dst: netip.MustParseAddrPort("239.21.10.1:5004")}}}
	var rx *st2110.Receiver
	if err := xdptest.In(p.NsB, func() (err error) {
		rx, err = st2110.Listen("xdp:"+p.B, sess, &st2110.ListenConfig{ReadBuffer: 64 << 20})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	var tx *st2110.Sender
	if err := xdptest.In(p.NsA, func() (err error) {
		tx, err = st2110.Dial("xdp:"+p.A, sess, &st2110.SendConfig{MaxLag: -1, Source: pattern, Count: frames, MaxRate: rate})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		err := tx.Run(ctx)
		errc <- err
		// The last packets are on their way: the receiver has a second
		// for them, then the frames end.
		time.AfterFunc(time.Second, cancel)
	}()
	// Frames are matched by content, from the one expected on: one the
	// consumer (this loop, on a busy host) was too slow to take is
	// dropped by the receiver and counted (FlowStats.Dropped), and the
	// frame handed out next is a later one of the pattern.
	next, got, bad, skipped := 0, 0, 0, 0
	for fr, err := range rx.Frames(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got++
		n := -1
		if fr.Info.Complete {
			for k := next; k < frames; k++ {
				if bytes.Equal(fr.Data, pattern.Frame(uint64(k))[:f.FrameSize()]) {
					n = k
					break
				}
			}
		}
		if n < 0 {
			bad++
			n = next
		}
		skipped += n - next
		if next = n + 1; next == frames {
			break
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	st, ts := rx.Stats(0), tx.Stats(0)
	t.Logf("sent %d frames, %d packets (%d late); received %d frames (%d complete), %d packets, %d lost, %d dropped; %d packets of no flow",
		ts.Frames, ts.Packets, ts.Late, st.Delivered, st.Complete, st.Packets, st.Lost, st.Dropped, rx.Other())
	if st.Lost > 0 || st.Skipped > 0 || linkDrops(t, p.NsB, p.B) > 0 {
		logLinks(t, p)
		return true, fmt.Errorf("%d packets lost, %d frames skipped", st.Lost, st.Skipped)
	}
	// Every frame reassembled, every one handed out byte-exact, and those
	// not handed out (a few at most) counted as dropped.
	if missing := skipped + frames - next; bad != 0 || st.Delivered != frames || uint64(missing) != st.Dropped || missing > 3 {
		logLinks(t, p)
		return false, fmt.Errorf("%d frames of %d handed out, %d bad, %d not handed out; %+v", got, frames, bad, missing, st)
	}
	return false, nil
}
