package rings_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// fwdRegion is a NIC with host rings, as netmap:eth0* binds it: TX ring 0
// (NIC) and 1 (host), RX ring 0 (NIC) and 1 (host).
func fwdRegion(t testing.TB, slots int) (*heapmem.Region, *rings.TxRing, *rings.RxRing) {
	t.Helper()
	r := region(t, &heapmem.Config{TxSlots: slots, RxSlots: slots, BufSize: 256})
	return r, txRing(t, r, 1), rxRing(t, r, 0) // NIC RX -> host TX
}

// Forward keeps what take keeps and moves the rest by buffer swap: the
// host TX ring sends the very bytes the NIC received, in order, no buffer
// ends up in two slots, and what does not fit is dropped and counted.
func TestForward(t *testing.T) {
	r, hostTx, nicRx := fwdRegion(t, 8)
	var sent [][]byte
	r.Capture(1, func(f []byte) { sent = append(sent, bytes.Clone(f)) })
	for i := range 6 {
		if !r.Inject(0, payload(i, 60+i)) {
			t.Fatal("inject")
		}
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	var offered []int
	take := func(pkt []byte) bool {
		seq := int(binary.BigEndian.Uint32(pkt))
		offered = append(offered, seq)
		return seq%3 == 0 // 0 and 3 are "flows"
	}
	f, err := rings.Forward(hostTx, nicRx, 64, take)
	if err != nil {
		t.Fatal(err)
	}
	want := rings.Forwarded{Acquired: 6, Taken: 2, Sent: 4}
	if f != want {
		t.Errorf("Forward = %+v, want %+v", f, want)
	}
	if len(offered) != 6 {
		t.Errorf("take saw %v", offered)
	}
	if err := r.TxSync(1); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 4 {
		t.Fatalf("host ring sent %d frames, want 4", len(sent))
	}
	for k, seq := range []int{1, 2, 4, 5} {
		if !bytes.Equal(sent[k], payload(seq, 60+seq)) {
			t.Errorf("frame %d: % x, want packet %d", k, sent[k][:8], seq)
		}
	}
	checkUnique(t, r)
	if nicRx.Pending() != 0 {
		t.Errorf("%d slots left in the RX ring", nicRx.Pending())
	}

	// A full TX ring: 7 free slots, 10 packets in two batches; the
	// second batch finds no free slot and drops all 3.
	r.RxSync(0) // the kernel takes the released slots back
	for i := range 7 {
		r.Inject(0, payload(10+i, 80))
	}
	r.RxSync(0)
	if f, err := rings.Forward(hostTx, nicRx, 64, nil); err != nil || f.Sent != 7 || f.Dropped != 0 {
		t.Fatalf("Forward = %+v, %v", f, err)
	}
	r.RxSync(0)
	for i := range 3 {
		r.Inject(0, payload(20+i, 80))
	}
	r.RxSync(0)
	// No TX sync: the TX ring has 0 free slots (its 7 are in flight).
	f, err = rings.Forward(hostTx, nicRx, 64, nil)
	if err != nil || f != (rings.Forwarded{Acquired: 3, Dropped: 3}) {
		t.Fatalf("Forward into a full ring = %+v, %v", f, err)
	}
	checkUnique(t, r)
}

// Rings of two regions cannot swap: ErrOtherRegion, and nothing moves.
func TestForwardOtherRegion(t *testing.T) {
	_, tx, _ := fwdRegion(t, 8)
	r2 := region(t, &heapmem.Config{TxSlots: 8, RxSlots: 8, BufSize: 256})
	r2.Inject(0, payload(1, 60))
	r2.RxSync(0)
	rx := rxRing(t, r2, 0)
	if _, err := rings.Forward(tx, rx, 8, nil); !errors.Is(err, rings.ErrOtherRegion) {
		t.Fatalf("err = %v", err)
	}
	if rx.Pending() != 1 {
		t.Error("the packet was consumed")
	}
}

// checkUnique fails if a buffer index sits in two slots of the region.
func checkUnique(t testing.TB, r *heapmem.Region) {
	t.Helper()
	seen := map[uint32]string{}
	for _, rg := range []struct {
		n   int
		off func(int) int
		dir string
	}{{r.NumTx(), r.TxRingOff, "tx"}, {r.NumRx(), r.RxRingOff, "rx"}} {
		for i := range rg.n {
			off := rg.off(i)
			ns := int(r.U32(off + 8))
			for s := range ns {
				idx := r.U32(heapmem.SlotOff(off, s))
				if where, dup := seen[idx]; dup {
					t.Fatalf("buffer %d in %s and %s ring %d slot %d", idx, where, rg.dir, i, s)
				}
				seen[idx] = rg.dir
			}
		}
	}
}

// Forward over a kernel that writes anything into both rings' cursors and
// slots between calls: it never panics, never writes outside the region,
// never does more than max slots of work, and reports every bad value as
// an integrity error.
func TestForwardHostile(t *testing.T) {
	const slots = 16
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 2000 {
		r := region(t, &heapmem.Config{TxSlots: slots, RxSlots: slots, BufSize: 256})
		tx, err := rings.NewTxRing(r.Mem, r.TxRingOff(1))
		if err != nil {
			t.Fatal(err)
		}
		rx, err := rings.NewRxRing(r.Mem, r.RxRingOff(0))
		if err != nil {
			t.Fatal(err)
		}
		for step := range 8 {
			for range rng.IntN(6) {
				r.Inject(0, payload(step, 20+rng.IntN(200)))
			}
			r.RxSync(0)
			r.TxSync(1)
			for _, off := range []int{r.RxRingOff(0), r.TxRingOff(1)} {
				if rng.IntN(3) == 0 {
					r.Scramble(rng, off)
				}
			}
			calls := 0
			limit := 1 + rng.IntN(2*slots)
			f, err := rings.Forward(tx, rx, limit, func(pkt []byte) bool {
				calls++
				if len(pkt) > 256 {
					t.Fatalf("round %d: take got %d octets", round, len(pkt))
				}
				return rng.IntN(2) == 0
			})
			// take sees one fragment per NS_MOREFRAG chain; a
			// chain may stretch the acquisition past limit.
			if f.Acquired > slots || f.Acquired > max(limit, abi.NETMAP_MAX_FRAGS) || f.Taken+f.Sent+f.Dropped+f.Bad+f.Held != f.Acquired || calls > f.Taken+f.Sent+f.Dropped {
				t.Fatalf("round %d: %+v after %d calls of take", round, f, calls)
			}
			if f.Bad > 0 && !errors.Is(err, rings.ErrIntegrity) {
				t.Fatalf("round %d: %d bad slots, err %v", round, f.Bad, err)
			}
			if err != nil && !errors.Is(err, rings.ErrIntegrity) {
				t.Fatalf("round %d: %v", round, err)
			}
			if err != nil {
				// What a user does after an integrity error:
				// adopt the rings again (or give up).
				_ = tx.Reset()
				_ = rx.Reset()
			}
		}
		if err := r.CheckGuards(); err != nil {
			t.Fatal(err)
		}
	}
}

// Forward allocates nothing.
func TestForwardAllocs(t *testing.T) {
	r, tx, rx := fwdRegion(t, 64)
	pkt := payload(1, 100)
	take := func(p []byte) bool { return p[3]&1 == 0 }
	n := testing.AllocsPerRun(200, func() {
		for range 8 {
			r.Inject(0, pkt)
		}
		r.RxSync(0)
		r.TxSync(1)
		if _, err := rings.Forward(tx, rx, 64, take); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per round", n)
	}
}

// BenchmarkForward moves batches of packets from an RX ring to a TX ring
// of the same region, as passthrough does between a NIC and its host
// rings: by buffer swap (Forward), and by copy (Acquire, Reserve, copy,
// Publish, Release) for comparison. An instant "kernel" makes every slot
// of both rings available again between batches.
//
//	go test -run '^$' -bench Forward -count 10 ./rings | benchstat -
func BenchmarkForward(b *testing.B) {
	for _, size := range benchSizes {
		for _, how := range []string{"swap", "copy"} {
			b.Run(fmt.Sprintf("%s/%d", how, size), func(b *testing.B) {
				r := benchRegion(b)
				tx, rx := txRing(b, r, 1), rxRing(b, r, 0)
				to, ro := r.TxRingOff(1), r.RxRingOff(0)
				n := uint32(r.U32(ro + abi.RingNumSlots))
				for s := range int(n) {
					r.SetLen(ro, s, uint16(size))
				}
				refill := func() {
					h := headOf(r, ro).Load()
					tailOf(r, ro).Store((h + n - 1) % n)
					h = headOf(r, to).Load()
					tailOf(r, to).Store((h + n - 1) % n)
				}
				refill()
				b.SetBytes(int64(benchBatch * size))
				b.ReportAllocs()
				pkts := 0
				for b.Loop() {
					if how == "swap" {
						f, err := rings.Forward(tx, rx, benchBatch, nil)
						if err != nil || f.Sent != benchBatch {
							b.Fatal(f, err)
						}
					} else {
						k, _ := rx.Acquire(benchBatch)
						m, _ := tx.Reserve(k)
						for i := range m {
							p, _ := rx.Packet(i)
							tx.SetLen(i, copy(tx.Buf(i), p))
						}
						tx.Publish(m)
						rx.Release(k)
						if m != benchBatch {
							b.Fatal(m)
						}
					}
					pkts += benchBatch
					refill()
				}
				reportPkts(b, pkts)
			})
		}
	}
}

// An NS_MOREFRAG chain that does not fit in the TX ring's free slots is
// dropped whole: the kernel never gets a published chain without its end
// (a NIC would glue the next packet onto it).
func TestForwardChainNoRoom(t *testing.T) {
	r, hostTx, nicRx := fwdRegion(t, 8)
	// Fill 5 of the 7 free TX slots without a TX sync.
	for i := range 5 {
		r.Inject(0, payload(i, 60))
	}
	r.RxSync(0)
	if f, err := rings.Forward(hostTx, nicRx, 64, nil); err != nil || f.Sent != 5 {
		t.Fatalf("Forward = %+v, %v", f, err)
	}
	r.RxSync(0)
	if !r.InjectFrags(0, [][]byte{payload(10, 200), payload(11, 200), payload(12, 60)}, false) {
		t.Fatal("inject frags")
	}
	r.RxSync(0)
	txOff := r.TxRingOff(1)
	f, err := rings.Forward(hostTx, nicRx, 64, nil)
	if want := (rings.Forwarded{Acquired: 3, Dropped: 3}); f != want || err != nil {
		t.Errorf("Forward = %+v, %v; want %+v", f, err, want)
	}
	newHead := r.U32(txOff + abi.RingHead)
	last := (newHead + 8 - 1) % 8
	if fl := r.U16(heapmem.SlotOff(txOff, int(last)) + abi.SlotFlags); fl&abi.NS_MOREFRAG != 0 {
		t.Errorf("last published TX slot %d carries NS_MOREFRAG (flags %#x): an unterminated chain went to the kernel", last, fl)
	}
}

// take sees only the first fragment of a chain, and its answer applies to
// the whole chain: no fragment is kept while the others go out.
func TestForwardTakeChain(t *testing.T) {
	r, hostTx, nicRx := fwdRegion(t, 8)
	var sent [][]byte
	r.Capture(1, func(f []byte) { sent = append(sent, bytes.Clone(f)) })
	r.Inject(0, payload(1, 60))
	if !r.InjectFrags(0, [][]byte{payload(10, 256), payload(11, 256), payload(12, 60)}, false) {
		t.Fatal("inject frags")
	}
	r.Inject(0, payload(2, 60))
	r.RxSync(0)
	var offered []uint32
	take := func(pkt []byte) bool {
		offered = append(offered, binary.BigEndian.Uint32(pkt))
		return len(offered) == 2 // the chain
	}
	f, err := rings.Forward(hostTx, nicRx, 64, take)
	if want := (rings.Forwarded{Acquired: 5, Taken: 3, Sent: 2}); f != want || err != nil {
		t.Errorf("Forward = %+v, %v; want %+v", f, err, want)
	}
	if fmt.Sprint(offered) != "[1 10 2]" {
		t.Errorf("take was offered %v, want [1 10 2] (one call per packet)", offered)
	}
	// Forwarded whole, the chain arrives as one packet.
	r.RxSync(0)
	r.InjectFrags(0, [][]byte{payload(20, 256), payload(21, 60)}, false)
	r.RxSync(0)
	if f, err := rings.Forward(hostTx, nicRx, 64, nil); f.Sent != 2 || err != nil {
		t.Errorf("Forward = %+v, %v", f, err)
	}
	r.TxSync(1)
	if len(sent) != 3 || len(sent[2]) != 256+60 || !bytes.Equal(sent[2][:256], payload(20, 256)) || !bytes.Equal(sent[2][256:], payload(21, 60)) {
		t.Errorf("host ring sent %d frames, want 3, the last the 316-octet chain", len(sent))
	}
}

// A chain whose end has not arrived stays in the RX ring (held, not
// released) until it has: it is neither forwarded in part nor dropped.
func TestForwardIncompleteChain(t *testing.T) {
	r, hostTx, nicRx := fwdRegion(t, 8)
	r.Inject(0, payload(1, 60))
	r.InjectFrags(0, [][]byte{payload(10, 256)}, true)
	r.RxSync(0)
	f, err := rings.Forward(hostTx, nicRx, 64, nil)
	if want := (rings.Forwarded{Acquired: 2, Sent: 1, Held: 1}); f != want || err != nil {
		t.Errorf("Forward = %+v, %v; want %+v", f, err, want)
	}
	r.InjectFrags(0, [][]byte{payload(11, 60)}, false)
	r.RxSync(0)
	f, err = rings.Forward(hostTx, nicRx, 64, nil)
	if want := (rings.Forwarded{Acquired: 2, Sent: 2}); f != want || err != nil {
		t.Errorf("Forward = %+v, %v; want %+v", f, err, want)
	}
	// A chain longer than max: Forward takes more slots for it rather
	// than hold it forever.
	r.RxSync(0)
	r.TxSync(1)
	r.InjectFrags(0, [][]byte{payload(12, 256), payload(13, 256), payload(14, 60)}, false)
	r.RxSync(0)
	f, err = rings.Forward(hostTx, nicRx, 2, nil)
	if want := (rings.Forwarded{Acquired: 3, Sent: 3}); f != want || err != nil {
		t.Errorf("Forward(max 2) of a 3-slot chain = %+v, %v; want %+v", f, err, want)
	}
	// A chain that fills the ring can never end: dropped as bad.
	r.TxSync(1)
	r.RxSync(0)
	r.InjectFrags(0, [][]byte{payload(1, 60), payload(2, 60), payload(3, 60), payload(4, 60), payload(5, 60), payload(6, 60), payload(7, 60)}, true)
	r.RxSync(0)
	f, err = rings.Forward(hostTx, nicRx, 64, nil)
	if f.Bad != 7 || !errors.Is(err, rings.ErrIntegrity) {
		t.Errorf("Forward of a 7-slot chain without end on an 8-slot ring = %+v, %v; want 7 bad and an integrity error", f, err)
	}
}
