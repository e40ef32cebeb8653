package ringstest_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/rings/ringstest"
)

// Frames sent on one port's TX ring arrive, byte for byte and in order, on
// a connected port's RX ring, across many laps of both rings, with the
// sender and the receiver in their own goroutines and the receiver
// blocking in WaitRx.
func TestConnectedPorts(t *testing.T) {
	a := newPort(t, &ringstest.Config{TxSlots: 64})
	b := newPort(t, &ringstest.Config{RxSlots: 256})
	if err := ringstest.Connect(a, 0, b, 0); err != nil {
		t.Fatal(err)
	}
	const n = 5000
	frame := func(k int) []byte { return []byte(fmt.Sprintf("frame %d %s", k, bytes.Repeat([]byte{byte(k)}, k%300))) }
	// At most 128 frames in flight, so that the receiver's 256 slots never
	// fill (a full ring drops, as a VALE port does).
	credits := make(chan struct{}, 128)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tx, _ := a.TxRing(0)
		for k := 0; k < n; {
			m, err := tx.Reserve(min(32, n-k))
			if err != nil {
				t.Error(err)
				return
			}
			for i := range m {
				credits <- struct{}{}
				tx.SetLen(i, copy(tx.Buf(i), frame(k+i)))
			}
			tx.Publish(m)
			k += m
			if err := a.TxSync(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	rx, _ := b.RxRing(0)
	for k := 0; k < n; {
		if err := b.WaitRx(); err != nil {
			t.Fatal(err)
		}
		m, err := rx.Acquire(256)
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			p, err := rx.Packet(i)
			if err != nil || !bytes.Equal(p, frame(k)) {
				t.Fatalf("frame %d: %q, %v", k, p[:min(len(p), 20)], err)
			}
			<-credits
			k++
		}
		rx.Release(m)
	}
	wg.Wait()
}

// WaitRx blocks until a frame is injected from another goroutine, returns
// os.ErrDeadlineExceeded at the read deadline, and ErrClosed (matching
// os.ErrClosed) once the port is closed, also when closed while waiting.
func TestWaitRx(t *testing.T) {
	p := newPort(t, nil)
	go func() {
		time.Sleep(20 * time.Millisecond)
		p.Inject(0, []byte("late"))
	}()
	if err := p.WaitRx(); err != nil {
		t.Fatal(err)
	}
	rx, _ := p.RxRing(0)
	if n, _ := rx.Acquire(8); n != 1 {
		t.Fatalf("%d frames after WaitRx, want 1", n)
	}
	rx.Release(1)

	p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if err := p.WaitRx(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past the deadline: %v", err)
	}
	p.SetReadDeadline(time.Time{})

	go func() {
		time.Sleep(20 * time.Millisecond)
		p.Close()
	}()
	if err := p.WaitRx(); !errors.Is(err, ringstest.ErrClosed) || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("closed while waiting: %v", err)
	}
	if err := p.RxSync(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("RxSync after Close: %v", err)
	}
	if err := p.Close(); !errors.Is(err, ringstest.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// Ring views, offsets and the extra-buffer list are those of a netmap
// region: rings.NewExtraBufs works on Mem and the offsets.
func TestLayout(t *testing.T) {
	p := newPort(t, &ringstest.Config{TxRings: 2, RxRings: 3, TxSlots: 8, RxSlots: 16, BufSize: 256, ExtraBufs: 4})
	txs, _ := p.TxRings()
	rxs, _ := p.RxRings()
	if len(txs) != 2 || len(rxs) != 3 || txs[1].NumSlots() != 8 || rxs[2].NumSlots() != 16 || rxs[0].BufSize() != 256 {
		t.Fatalf("%d tx, %d rx rings", len(txs), len(rxs))
	}
	if _, err := p.TxRing(2); err == nil {
		t.Error("TX ring 2 of 2: no error")
	}
	if _, err := p.RxRingOffset(-1); err == nil {
		t.Error("RX ring -1: no error")
	}
	off, _ := p.RxRingOffset(1)
	x, err := rings.NewExtraBufs(p.Mem(), p.IfOffset(), off, 0)
	if err != nil || x.Len() != 4 {
		t.Fatalf("extra buffers: %v, %d", err, x.Len())
	}
	if _, err := ringstest.NewPort(&ringstest.Config{TxSlots: -1}); err == nil {
		t.Error("-1 slots: no error")
	}
}

// Frames larger than a buffer span several slots, as netmap chains them.
func TestInjectMoreFrag(t *testing.T) {
	p := newPort(t, &ringstest.Config{BufSize: 64, RxSlots: 8})
	if !p.Inject(0, bytes.Repeat([]byte("y"), 200)) || p.Inject(0, make([]byte, 64*8)) {
		t.Fatal("a 4-slot frame refused, or an 8-slot one taken by an 8-slot ring")
	}
	p.RxSync()
	rx, _ := p.RxRing(0)
	n, _ := rx.Acquire(8)
	buf := make([]byte, 1024)
	size, slots, err := rx.ReadPacket(0, buf)
	if n != 4 || size != 200 || slots != 4 || err != nil {
		t.Fatalf("%d slots acquired; packet %d octets in %d slots, %v", n, size, slots, err)
	}
}

func newPort(t *testing.T, c *ringstest.Config) *ringstest.Port {
	t.Helper()
	p, err := ringstest.NewPort(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Slots the user holds (RxRing.ReleaseHold: an NS_MOREFRAG chain whose
// end has not come) do not end a WaitRx, as they do not end nmsys's: like
// netmap's poll (cur != tail), only frames after them do, and meanwhile
// the deadline and Close are honoured. A WaitRx that returned at once for
// held slots would spin a receiver that waits for the rest of its chain,
// past any deadline.
func TestWaitRxHeld(t *testing.T) {
	p := newPort(t, nil)
	rx, _ := p.RxRing(0)
	if !p.Inject(0, []byte("held")) {
		t.Fatal("Inject failed")
	}
	if err := p.RxSync(); err != nil {
		t.Fatal(err)
	}
	if n, err := rx.Acquire(1); n != 1 || err != nil {
		t.Fatalf("Acquire = %d, %v", n, err)
	}
	rx.ReleaseHold(0)
	wait := func() error {
		done := make(chan error, 1)
		go func() { done <- p.WaitRx() }()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			t.Fatal("WaitRx did not return")
			return nil
		}
	}
	_ = p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if err := wait(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitRx with only held slots = %v, want the deadline", err)
	}
	_ = p.SetReadDeadline(time.Time{})
	if !p.Inject(0, []byte("more")) {
		t.Fatal("Inject failed")
	}
	if err := wait(); err != nil {
		t.Fatalf("WaitRx with a frame after the held slots = %v", err)
	}
	if n, err := rx.Acquire(2); n != 2 || err != nil {
		t.Fatalf("Acquire after the wait = %d, %v; want the held slot and the new one", n, err)
	}
	rx.Release(2)
	_ = p.SetReadDeadline(time.Time{})
	go func() { time.Sleep(time.Millisecond); p.Close() }()
	if err := wait(); !errors.Is(err, ringstest.ErrClosed) {
		t.Fatalf("WaitRx across Close = %v, want ErrClosed", err)
	}
}
