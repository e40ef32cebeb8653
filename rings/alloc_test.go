package rings_test

import (
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// fastKernel plays the kernel side without the simulator's bookkeeping:
// one store makes every slot of a ring available to the user again (TX:
// all sent and reclaimed; RX: all full of the packets already in them).
// It is what benchmarks and allocation tests use between batches.
type fastKernel struct{ r *heapmem.Region }

func (k fastKernel) refill(ringOff int) {
	n := k.r.U32(ringOff + abi.RingNumSlots)
	h := k.r.U32(ringOff + abi.RingHead)
	k.r.PutU32(ringOff+abi.RingTail, (h+n-1)%n)
}

// fillRx writes a packet of size bytes into every slot of RX ring i
// (fragmented in chains of frags slots) and makes them all available.
func fillRx(r *heapmem.Region, i, size, frags int) {
	ro := r.RxRingOff(i)
	n := int(r.U32(ro + abi.RingNumSlots))
	for s := range n {
		idx := r.U32(heapmem.SlotOff(ro, s))
		copy(r.Buf(idx), payload(s, size))
		r.SetLen(ro, s, uint16(size))
		var fl uint16
		if frags > 1 && s%frags != frags-1 {
			fl = abi.NS_MOREFRAG
		}
		r.SetFlags(ro, s, fl)
	}
	fastKernel{r}.refill(ro)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func TestZeroAllocs(t *testing.T) {
	r := region(t, &heapmem.Config{TxRings: 1, RxRings: 2, TxSlots: 1000, RxSlots: 1000, BufSize: 2048, ExtraBufs: 8})
	k := fastKernel{r}
	to, ro := r.TxRingOff(0), r.RxRingOff(0)
	tx, rx, rx4 := txRing(t, r, 0), rxRing(t, r, 0), rxRing(t, r, 1)
	x, err := rings.NewExtraBufs(r.Mem, r.IfOff, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	fillRx(r, 0, 60, 1)
	fillRx(r, 1, 2000, 4) // 4-slot packets; 1000 and 64 are multiples of 4
	pkt := payload(1, 60)
	big := payload(2, 5000)
	dst := make([]byte, 8192)
	views := make([][]byte, 64)
	var sink int

	cases := []struct {
		name string
		f    func()
	}{
		{"TxRing.Reserve/Buf/SetLen/Publish", func() {
			n, _ := tx.Reserve(64)
			for i := range n {
				tx.SetLen(i, copy(tx.Buf(i), pkt))
			}
			tx.Publish(n)
			k.refill(to)
		}},
		{"TxRing.Reserve/SetLens/Publish", func() {
			n, _ := tx.Reserve(64)
			tx.SetLens(n, len(pkt))
			tx.Publish(n)
			k.refill(to)
		}},
		{"TxRing.WritePacket/SetFlags", func() {
			n, _ := tx.Reserve(64)
			i := 0
			for i+3 <= n {
				m, _ := tx.WritePacket(i, big)
				i += m
			}
			tx.SetFlags(i-1, abi.NS_REPORT)
			tx.Publish(i)
			k.refill(to)
		}},
		{"TxRing.Space/InFlight", func() { sink += tx.Space() + tx.InFlight() }},
		{"RxRing.Acquire/Packet/Len/Bytes/Flags/Release", func() {
			n, _ := rx.Acquire(64)
			for i := range n {
				p, _ := rx.Packet(i)
				l, _ := rx.Len(i)
				sink += len(p) + l + int(rx.Flags(i))
			}
			b, _ := rx.Bytes()
			sink += b
			rx.Release(n)
			k.refill(ro)
		}},
		{"RxRing.View/Release", func() {
			n, err := rx.View(views)
			must(err)
			for _, p := range views[:n] {
				sink += len(p)
			}
			rx.Release(n)
			k.refill(ro)
		}},
		{"RxRing.ReadPacket", func() {
			n, _ := rx4.Acquire(64)
			for i := 0; i < n; {
				m, s, err := rx4.ReadPacket(i, dst)
				if err != nil || s != 4 {
					panic(err)
				}
				sink += m
				i += s
			}
			rx4.Release(n)
			k.refill(r.RxRingOff(1))
		}},
		{"RxRing.Pending/Timestamp", func() { sink += rx.Pending() + rx.Timestamp().Nanosecond() }},
		{"TxRing.Swap", func() {
			n, _ := rx.Acquire(64)
			m, _ := tx.Reserve(n)
			for i := range m {
				must(tx.Swap(i, rx, i))
			}
			tx.Publish(m)
			rx.Release(m)
			k.refill(to)
			k.refill(ro)
		}},
		{"ExtraBufs.Get/Buf/Put and SwapBuf", func() {
			idx, err := x.Get()
			must(err)
			b, err := x.Buf(idx)
			must(err)
			copy(b, pkt)
			n, _ := tx.Reserve(1)
			old, err := tx.SwapBuf(0, idx)
			must(err)
			tx.SetLen(0, len(pkt))
			tx.Publish(n)
			must(x.Put(old))
			m, _ := rx.Acquire(1)
			idx, err = x.Get()
			must(err)
			old, err = rx.SwapBuf(0, idx)
			must(err)
			rx.Release(m)
			must(x.Put(old))
			k.refill(to)
			k.refill(ro)
		}},
		{"repeated integrity error", func() {
			r.PutU32(to+abi.RingTail, 5000)
			if _, err := tx.Reserve(1); err == nil {
				panic("no error")
			}
			r.PutU32(to+abi.RingTail, 0)
			_ = tx.Reset()
			k.refill(to)
		}},
	}
	for _, c := range cases {
		c.f() // warm up: the first integrity error is allocated once
		if a := testing.AllocsPerRun(200, c.f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.name, a)
		}
	}
	_ = sink
}
