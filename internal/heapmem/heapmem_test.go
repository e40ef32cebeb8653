package heapmem

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
)

func TestLayout(t *testing.T) {
	r := MustNew(&Config{Name: "hm0", TxRings: 2, RxRings: 3, TxSlots: 7, RxSlots: 1000, BufSize: 512, ExtraBufs: 5, Unbound: []int{1}})
	if p := reflect.ValueOf(r.Mem).Pointer(); p%align != 0 {
		t.Fatalf("region base %#x not %d-aligned", p, align)
	}
	m, f := r.Mem, r.IfOff
	if got := string(bytes.TrimRight(m[f:f+16], "\x00")); got != "hm0" {
		t.Errorf("ni_name %q", got)
	}
	want := map[int]uint32{abi.IfTxRings: 2, abi.IfRxRings: 3, abi.IfHostTxRings: 1, abi.IfHostRxRings: 1, abi.IfFlags: abi.NI_PRIV_MEM}
	for off, v := range want {
		if got := r.U32(f + off); got != v {
			t.Errorf("netmap_if +%d = %d, want %d", off, got, v)
		}
	}
	if r.NumTx() != 3 || r.NumRx() != 4 {
		t.Fatalf("rings %d/%d", r.NumTx(), r.NumRx())
	}
	seen := map[uint32]bool{}
	for i := range 7 {
		tx := i < 3
		var off, want int
		if tx {
			off, want = r.TxRingOff(i), 7
		} else {
			off, want = r.RxRingOff(i-3), 1000
		}
		ro := int64(r.U64(f + abi.IfRingOfs + 8*i))
		if i == 1 {
			if ro != 0 {
				t.Errorf("unbound ring_ofs[1] = %d", ro)
			}
		} else if int(ro)+f != off {
			t.Errorf("ring_ofs[%d] = %d, ring at %d", i, ro, off)
		}
		if off%align != 0 {
			t.Errorf("ring %d at %d not aligned", i, off)
		}
		if int(r.U32(off+abi.RingNumSlots)) != want || r.U32(off+abi.RingBufSize) != 512 {
			t.Errorf("ring %d header", i)
		}
		if int64(off)+int64(r.U64(off+abi.RingBufOfs)) != int64(r.BufOff) {
			t.Errorf("ring %d buf_ofs", i)
		}
		h, c, tl := r.U32(off+abi.RingHead), r.U32(off+abi.RingCur), r.U32(off+abi.RingTail)
		if tx && (h != 0 || c != 0 || int(tl) != want-1) || !tx && (h|c|tl) != 0 {
			t.Errorf("ring %d cursors %d %d %d", i, h, c, tl)
		}
		for s := range want {
			idx := r.U32(SlotOff(off, s))
			if idx < 2 || int(idx) >= r.NumBufs || seen[idx] {
				t.Fatalf("ring %d slot %d buf_idx %d", i, s, idx)
			}
			seen[idx] = true
			if r.U16(SlotOff(off, s)+abi.SlotLen) != 512 {
				t.Fatalf("slot len")
			}
		}
	}
	l := r.ExtraList()
	if len(l) != 5 || l[0] != r.ExtraHead || r.BufsHead() != l[0] {
		t.Fatalf("extra list %v head %d", l, r.ExtraHead)
	}
	for _, idx := range l {
		if seen[idx] {
			t.Fatalf("extra buffer %d also in a slot", idx)
		}
	}
	if err := r.CheckGuards(); err != nil {
		t.Fatal(err)
	}
	r.raw[len(r.raw)-1] = 0
	if r.CheckGuards() == nil {
		t.Fatal("guard damage not detected")
	}
}

// TestSim drives the simulator directly through shared memory, as a user
// following the ring rules would.
func TestSim(t *testing.T) {
	r := MustNew(&Config{TxSlots: 5, RxSlots: 5, BufSize: 64})
	tx, rx := r.TxRingOff(0), r.RxRingOff(0)
	if err := r.Connect(0, r, 0, Copy); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	r.Capture(0, func(f []byte) { got = append(got, append([]byte(nil), f...)) })
	// Send a 100-byte packet in two slots and a 3-byte one.
	pkt := bytes.Repeat([]byte{7}, 100)
	for s, fr := range [][]byte{pkt[:64], pkt[64:], {1, 2, 3}} {
		copy(r.Buf(r.U32(SlotOff(tx, s))), fr)
		r.SetLen(tx, s, uint16(len(fr)))
		if s == 0 {
			r.SetFlags(tx, s, abi.NS_MOREFRAG)
		}
	}
	r.SetHead(tx, 3)
	r.SetCur(tx, 3)
	if err := r.TxSync(0); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0], pkt) || !bytes.Equal(got[1], []byte{1, 2, 3}) {
		t.Fatalf("captured %v", got)
	}
	if tl := r.U32(tx + abi.RingTail); tl != 2 {
		t.Fatalf("tx tail %d, want 2", tl)
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	if tl := r.U32(rx + abi.RingTail); tl != 3 {
		t.Fatalf("rx tail %d, want 3", tl)
	}
	if f := r.U16(SlotOff(rx, 0) + abi.SlotFlags); f&abi.NS_MOREFRAG == 0 {
		t.Fatal("fragment flag lost")
	}
	// A head beyond the tail the kernel gave is rejected and repaired.
	r.SetHead(rx, 4)
	if err := r.RxSync(0); !errors.Is(err, ErrReinit) {
		t.Fatalf("RxSync with bad head: %v", err)
	}
	r.SetHead(rx, 7)
	r.SetBufIdx(rx, 1, 1)
	if err := r.RxSync(0); !errors.Is(err, ErrReinit) {
		t.Fatalf("RxSync with head out of range: %v", err)
	}
	if h := r.U32(rx + abi.RingHead); h != 0 {
		t.Fatalf("head not reset: %d", h)
	}
	if idx := r.U32(SlotOff(rx, 1)); idx != 0 {
		t.Fatalf("bad buf_idx not zeroed: %d", idx)
	}
	if err := r.CheckGuards(); err != nil {
		t.Fatal(err)
	}
}

// TestRxReadyInjectFrags: a chain left open by InjectFrags, and poll's
// readiness with cur beyond head.
func TestRxReadyInjectFrags(t *testing.T) {
	r := MustNew(&Config{RxSlots: 8, BufSize: 64})
	rx := r.RxRingOff(0)
	if r.RxReady(0) {
		t.Fatal("empty ring ready")
	}
	if !r.InjectFrags(0, [][]byte{{1}, {2, 3}}, true) {
		t.Fatal("InjectFrags refused")
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	if !r.RxReady(0) {
		t.Fatal("ring with two slots not ready")
	}
	for s, want := range []uint16{1, 2} {
		if l, f := r.U16(SlotOff(rx, s)+abi.SlotLen), r.U16(SlotOff(rx, s)+abi.SlotFlags); l != want || f&abi.NS_MOREFRAG == 0 {
			t.Fatalf("slot %d: len %d flags %#x", s, l, f)
		}
	}
	r.SetCur(rx, 2) // hold both: wake me for later packets only
	if r.RxReady(0) {
		t.Fatal("ready with cur at tail")
	}
	if r.InjectFrags(0, make([][]byte, 6), false) {
		t.Fatal("InjectFrags past the free slots")
	}
	if r.InjectFrags(0, [][]byte{make([]byte, 65)}, false) {
		t.Fatal("InjectFrags of a fragment larger than a buffer")
	}
}
