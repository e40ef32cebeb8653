package vale_test

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestWaitRxHeldSlots: slots held with RxRing.ReleaseHold (cur at the end
// of the acquisition) do not wake WaitRx, with netmap's own poll: a reader
// waiting for the end of an NS_MOREFRAG chain sleeps instead of spinning.
// The next packet wakes it.
func TestWaitRxHeldSlots(t *testing.T) {
	sw := uniq("vale")
	a, b := open(t, sw+":a", nil), open(t, sw+":b", nil)
	rx, err := b.RxRing(b.Info().FirstRx)
	if err != nil {
		t.Fatal(err)
	}
	send(t, a, 0, frame(60, 0), frame(60, 1), frame(60, 2))
	if err := b.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitRx(); err != nil {
		t.Fatal(err)
	}
	if n, err := rx.Acquire(rx.NumSlots()); n != 3 || err != nil {
		t.Fatalf("acquired %d, %v", n, err)
	}
	rx.ReleaseHold(1)

	const wait = 300 * time.Millisecond
	start := time.Now()
	b.SetReadDeadline(start.Add(wait))
	if err := b.WaitRx(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitRx with only held slots returned after %v: %v; want it to sleep until the deadline",
			time.Since(start), err)
	}
	if n := rx.Pending(); n != 2 {
		t.Fatalf("%d pending, want the 2 held", n)
	}

	send(t, a, 0, frame(60, 3))
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := b.WaitRx(); err != nil {
		t.Fatalf("WaitRx after a new packet: %v", err)
	}
	n, err := rx.Acquire(rx.NumSlots())
	if n != 3 || err != nil {
		t.Fatalf("acquired %d after the new packet, %v; want the 2 held and the new one", n, err)
	}
	for i, seq := range []byte{1, 2, 3} {
		if p, err := rx.Packet(i); err != nil || p[17] != seq {
			t.Fatalf("slot %d: %v, seq %d, want %d", i, err, p[17], seq)
		}
	}
	rx.Release(n)
}
