//go:build linux

package xdp

import (
	"bytes"
	"math"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/packet"
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
	tx, err := video.NewTransmitter(&video.TransmitterConfig{MaxRate: 80000, Streams: []video.TxStream{{
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
