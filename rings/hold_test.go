package rings_test

import (
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
)

// TestReleaseHold: ReleaseHold returns the first slots and holds the rest
// with cur at the end of the acquisition; netmap's poll (RxReady) then
// reports the ring ready only once more packets arrive, the kernel's sync
// prologue accepts the cursors, and a later Release moves cur back to head.
func TestReleaseHold(t *testing.T) {
	r := region(t, &heapmem.Config{RxSlots: 8, BufSize: 256})
	rx := rxRing(t, r, 0)
	off := r.RxRingOff(0)
	for i := range 3 {
		r.Inject(0, payload(i, 100))
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	if n, err := rx.Acquire(8); n != 3 || err != nil {
		t.Fatalf("acquired %d, %v", n, err)
	}
	rx.ReleaseHold(1)
	if h, c := r.U32(off+abi.RingHead), r.U32(off+abi.RingCur); h != 1 || c != 3 {
		t.Fatalf("head %d cur %d after ReleaseHold(1) of 3, want 1 and 3", h, c)
	}
	if err := r.RxSync(0); err != nil {
		t.Fatalf("the kernel rejects the held ring: %v", err)
	}
	if r.RxReady(0) {
		t.Fatal("poll would wake for the slots held")
	}
	if n := rx.Pending(); n != 2 {
		t.Fatalf("%d pending, want the 2 held", n)
	}
	r.Inject(0, payload(3, 100))
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	if !r.RxReady(0) {
		t.Fatal("poll would not wake for a new packet")
	}
	if n, _ := rx.Acquire(8); n != 3 {
		t.Fatalf("acquired %d after the new packet, want 3", n)
	}
	if p, _ := rx.Packet(0); string(p) != string(payload(1, 100)) {
		t.Fatal("the held slot lost its packet")
	}
	rx.Release(3)
	if h, c := r.U32(off+abi.RingHead), r.U32(off+abi.RingCur); h != 4 || c != 4 {
		t.Fatalf("head %d cur %d after Release(3), want 4 and 4", h, c)
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	if _, _, reinits := r.Stats(false, 0); reinits != 0 {
		t.Fatalf("%d ring reinits", reinits)
	}
}

// Release(0) after ReleaseHold keeps the hold, as ReleaseHold's doc says
// (packet.Source relies on it when nothing came after a held chain), and
// Release of one slot or more moves cur back to head.
func TestReleaseZeroAfterHold(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 8, RxSlots: 8, BufSize: 256})
	rx := rxRing(t, r, 0)
	for i := range 3 {
		r.Inject(0, payload(i, 60))
	}
	r.RxSync(0)
	off := r.RxRingOff(0)
	if n, _ := rx.Acquire(8); n != 3 {
		t.Fatalf("acquired %d", n)
	}
	rx.ReleaseHold(0)
	if c := r.U32(off + abi.RingCur); c != 3 {
		t.Fatalf("cur %d after ReleaseHold(0) of 3, want 3", c)
	}
	rx.Acquire(8)
	rx.Release(0)
	if h, c := r.U32(off+abi.RingHead), r.U32(off+abi.RingCur); h != 0 || c != 3 {
		t.Errorf("Release(0) after ReleaseHold: head %d cur %d, want the hold kept (0 and 3)", h, c)
	}
	rx.Acquire(8)
	rx.Release(1)
	if h, c := r.U32(off+abi.RingHead), r.U32(off+abi.RingCur); h != 1 || c != 1 {
		t.Errorf("Release(1) after ReleaseHold: head %d cur %d, want 1 and 1", h, c)
	}
}
