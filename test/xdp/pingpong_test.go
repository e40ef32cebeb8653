//go:build linux

package xdp

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/xsk"
)

// pong echoes every frame it receives on s back to its sender (Ethernet
// and IPv4 addresses and UDP ports swapped; the IPv4 checksum does not
// change and the UDP checksum is 0) until stop is closed, spinning between
// polls as a latency-bound loop does.
func pong(s *xsk.Socket, stop chan struct{}) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rx, tx := s.Rx(), s.Tx()
	idle := xsk.Idler{Spin: 256, Poll: time.Millisecond}
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		k, err := rx.Acquire(32)
		if err != nil {
			return err
		}
		sent := 0
		if k > 0 {
			m, err := tx.Reserve(k)
			if err != nil {
				return err
			}
			for i := range m {
				pkt, err := rx.Packet(i)
				if err != nil {
					return err
				}
				b := tx.Buf(i)
				n := copy(b, pkt)
				copy(b[0:6], pkt[6:12])
				copy(b[6:12], pkt[0:6])
				copy(b[26:30], pkt[30:34])
				copy(b[30:34], pkt[26:30])
				copy(b[34:36], pkt[36:38])
				copy(b[36:38], pkt[34:36])
				tx.SetLen(i, n)
			}
			tx.Publish(m)
			sent = m
			rx.Release(k)
			if err := s.Kick(); err != nil {
				return err
			}
		}
		if err := idle.Next(s, sent > 0, 0); err != nil {
			return err
		}
	}
}

// TestPingPong sends one frame at a time from A to an echo responder on B
// and waits for it to come back, both ends AF_XDP, and reports the round
// trip times.
func TestPingPong(t *testing.T) {
	p := xdptest.NewPair(t)
	a := open(t, p.NsA, p.A, &xsk.Config{Frames: 256, RxSize: 128, TxSize: 128})
	b := open(t, p.NsB, p.B, &xsk.Config{Frames: 256, RxSize: 128, TxSize: 128})
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- pong(b, stop) }()
	defer func() {
		close(stop)
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()
	write := frameWriter(t, p)
	rx, tx := a.Rx(), a.Tx()
	const n = 20000
	rtts := make([]time.Duration, 0, n)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = a.SetReadDeadline(time.Now().Add(60 * time.Second))
	for seq := uint64(0); seq < n; seq++ {
		k, err := tx.Reserve(1)
		if err != nil || k != 1 {
			if err == nil {
				err = a.WaitTx()
			}
			if err != nil {
				t.Fatal(err)
			}
			seq--
			continue
		}
		tx.SetLen(0, write(tx.Buf(0), seq, 64))
		start := time.Now()
		tx.Publish(1)
		if err := a.Kick(); err != nil {
			t.Fatal(err)
		}
		for back := false; !back; {
			k, err := rx.Acquire(8)
			if err != nil {
				t.Fatal(err)
			}
			for i := range k {
				pkt, err := rx.Packet(i)
				if err != nil {
					t.Fatal(err)
				}
				// The echo goes to port 4000 (ports swapped).
				if len(pkt) == 64 && pkt[36] == srcPort>>8 && pkt[37] == srcPort&0xff {
					s := uint64(0)
					for _, c := range pkt[seqOff : seqOff+8] {
						s = s<<8 | uint64(c)
					}
					if s != seq {
						t.Fatalf("echo of %d while waiting for %d", s, seq)
					}
					if [6]byte(pkt[0:6]) != [6]byte(p.MacA) {
						t.Fatalf("echo to %x", pkt[0:6])
					}
					back = true
				}
			}
			rx.Release(k)
			if !back && k == 0 {
				if err := a.WaitRx(); err != nil {
					t.Fatalf("waiting for echo %d: %v", seq, err)
				}
			}
		}
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	t.Logf("%d round trips AF_XDP -> AF_XDP echo -> AF_XDP: median %v, p99 %v, max %v",
		n, rtts[n/2], rtts[n*99/100], rtts[n-1])
}
