package rings_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// fragSlots is a ring size above NETMAP_MAX_FRAGS+1, so that a chain of
// the limit, and one slot more, fit in the ring with room to spare and
// neither is mistaken for a chain that fills the ring.
const fragSlots = 70

// fragRing is fwdRegion(fragSlots) with the heads of NIC RX ring 0 and
// host TX ring 1 moved to slot start (by forwarding start one-slot
// packets), so that a chain received next starts there.
func fragRing(t *testing.T, start int) (*heapmem.Region, *rings.TxRing, *rings.RxRing) {
	t.Helper()
	r, tx, rx := fwdRegion(t, fragSlots)
	if start > 0 {
		for i := range start {
			if !r.Inject(0, payload(1000+i, 60)) {
				t.Fatal("inject")
			}
		}
		r.RxSync(0)
		if f, err := rings.Forward(tx, rx, fragSlots, nil); err != nil || f.Sent != start {
			t.Fatalf("moving the heads: %+v, %v", f, err)
		}
		if err := r.TxSync(1); err != nil {
			t.Fatal(err)
		}
		if err := r.RxSync(0); err != nil {
			t.Fatal(err)
		}
	}
	return r, tx, rx
}

// fragsOf returns cnt one-slot fragments (full buffers but the last) of
// the packet numbered seq, and the packet they make.
func fragsOf(seq, cnt, bs int) ([][]byte, []byte) {
	frags := make([][]byte, cnt)
	var whole []byte
	for j := range frags {
		frags[j] = payload(seq*100+j, bs)
		if j == cnt-1 {
			frags[j] = frags[j][:bs/2]
		}
		whole = append(whole, frags[j]...)
	}
	return frags, whole
}

// TestFragLimit checks NETMAP_MAX_FRAGS on a ring larger than it: a chain
// of exactly 64 slots is one packet, for ReadPacket and Forward, also when
// it wraps the ring's end; a chain of 65 is an integrity error on its
// first 64 slots (ReadPacket and Forward's Bad), never read or sent as a
// packet, and its last slot, a slot without NS_MOREFRAG, is then a packet
// of its own (the defined way on: skip the slots examined); 64 slots that
// all carry NS_MOREFRAG are already too long, with no need to see more.
func TestFragLimit(t *testing.T) {
	const bs = 256
	for _, start := range []int{0, 40} { // 40: the chains wrap the ring's end
		t.Run(fmt.Sprint("start", start), func(t *testing.T) {
			dst := make([]byte, (abi.NETMAP_MAX_FRAGS+2)*bs)

			// ReadPacket.
			for _, c := range []struct {
				cnt  int
				more bool
			}{{64, false}, {65, false}, {66, false}, {64, true}, {63, true}} {
				r, _, rx := fragRing(t, start)
				frags, whole := fragsOf(c.cnt, c.cnt, bs)
				if !r.InjectFrags(0, frags, c.more) {
					t.Fatal("inject frags")
				}
				r.RxSync(0)
				n, err := rx.Acquire(fragSlots)
				if err != nil || n != c.cnt {
					t.Fatalf("%d frags: Acquire = %d, %v", c.cnt, n, err)
				}
				nb, used, err := rx.ReadPacket(0, dst)
				switch {
				case c.cnt == 64 && !c.more:
					if err != nil || used != 64 || nb != len(whole) || !bytes.Equal(dst[:nb], whole) {
						t.Fatalf("64-slot chain: %d bytes %d slots, %v", nb, used, err)
					}
				case c.cnt == 63 && c.more:
					if err != rings.ErrIncomplete || nb != 0 || used != 0 {
						t.Fatalf("63 slots without an end: %d bytes %d slots, %v; want ErrIncomplete", nb, used, err)
					}
				default: // 64 slots or more, the 64th with NS_MOREFRAG
					isIntegrity(t, err, "flags")
					if nb != 0 || used != 64 {
						t.Fatalf("%d-slot chain: %d bytes %d slots; want 0, 64", c.cnt, nb, used)
					}
					var ie *rings.IntegrityError
					errors.As(err, &ie)
					if want := (start + 63) % fragSlots; ie.Slot != want {
						t.Fatalf("%d-slot chain: error on slot %d, want %d (the 64th)", c.cnt, ie.Slot, want)
					}
					if c.cnt > 64 && !c.more {
						// What follows the 64 skipped slots.
						rest := whole[64*bs:]
						nb, used, err = rx.ReadPacket(64, dst)
						if err != nil || used != c.cnt-64 || !bytes.Equal(dst[:nb], rest) {
							t.Fatalf("after a %d-slot chain: %d bytes %d slots, %v", c.cnt, nb, used, err)
						}
					}
				}
				rx.Release(n)
			}

			// Forward, with max at, below and above the limit.
			for _, c := range []struct {
				cnt, max int
				want     rings.Forwarded
				bad      bool
			}{
				{64, 64, rings.Forwarded{Acquired: 64, Sent: 64}, false},
				{64, 8, rings.Forwarded{Acquired: 64, Sent: 64}, false}, // starts again with room
				{64, 69, rings.Forwarded{Acquired: 64, Sent: 64}, false},
				{65, 64, rings.Forwarded{Acquired: 64, Bad: 64}, true},
				{65, 8, rings.Forwarded{Acquired: 64, Bad: 64}, true},
				{65, 69, rings.Forwarded{Acquired: 65, Bad: 64, Sent: 1}, true},
			} {
				r, tx, rx := fragRing(t, start)
				var sent [][]byte
				r.Capture(1, func(f []byte) { sent = append(sent, bytes.Clone(f)) })
				frags, whole := fragsOf(c.cnt, c.cnt, bs)
				if !r.InjectFrags(0, frags, false) {
					t.Fatal("inject frags")
				}
				r.RxSync(0)
				f, err := rings.Forward(tx, rx, c.max, nil)
				if f != c.want || (err != nil) != c.bad || c.bad && !errors.Is(err, rings.ErrIntegrity) {
					t.Fatalf("Forward(max %d) of a %d-slot chain = %+v, %v; want %+v", c.max, c.cnt, f, err, c.want)
				}
				if c.cnt == 65 && f.Acquired == 64 {
					// The slot after the 64 bad ones comes next,
					// as a packet of its own.
					r.RxSync(0)
					f, err = rings.Forward(tx, rx, c.max, nil)
					if want := (rings.Forwarded{Acquired: 1, Sent: 1}); f != want || err != nil {
						t.Fatalf("Forward after the bad chain = %+v, %v; want %+v", f, err, want)
					}
				}
				if err := r.TxSync(1); err != nil {
					t.Fatal(err)
				}
				want := [][]byte{whole}
				if c.cnt == 65 {
					want = [][]byte{whole[64*bs:]}
				}
				if len(sent) != len(want) {
					t.Fatalf("%d-slot chain: host ring sent %d frames, want %d", c.cnt, len(sent), len(want))
				}
				for k := range want {
					if !bytes.Equal(sent[k], want[k]) {
						t.Fatalf("%d-slot chain: frame %d is %d bytes, want %d", c.cnt, k, len(sent[k]), len(want[k]))
					}
				}
				checkUnique(t, r)
			}

			// A packet, then a 64-slot chain cut by max: the chain
			// is held, then forwarded whole with room for the limit.
			r, tx, rx := fragRing(t, start)
			r.Inject(0, payload(1, 60))
			frags, _ := fragsOf(64, 64, bs)
			r.InjectFrags(0, frags, false)
			r.RxSync(0)
			f, err := rings.Forward(tx, rx, 10, nil)
			if want := (rings.Forwarded{Acquired: 10, Sent: 1, Held: 9}); f != want || err != nil {
				t.Fatalf("Forward(max 10) = %+v, %v; want %+v", f, err, want)
			}
			f, err = rings.Forward(tx, rx, 10, nil)
			if want := (rings.Forwarded{Acquired: 64, Sent: 64}); f != want || err != nil {
				t.Fatalf("Forward(max 10) of the held chain = %+v, %v; want %+v", f, err, want)
			}
			checkUnique(t, r)
		})
	}
}

// foreignFlags are slot flag values other than NS_MOREFRAG that a kernel
// may leave in RX slots: what netmap documents (NS_BUF_CHANGED after a
// pipe's buffer swap, NS_RFRAGS in the high byte on VALE), what it means
// only on TX (NS_REPORT, NS_FORWARD, NS_INDIRECT, NS_TXMON), and bits it
// does not define.
var foreignFlags = []uint16{
	abi.NS_BUF_CHANGED, abi.NS_REPORT, abi.NS_FORWARD, abi.NS_NO_LEARN, abi.NS_INDIRECT,
	abi.NS_TXMON, 0x0080, 0x0100, 0x8000, abi.NS_PORT_MASK, 0xffff &^ abi.NS_MOREFRAG,
}

// TestRxForeignFlags checks that RX flag bits other than NS_MOREFRAG,
// whatever the kernel writes there, change nothing: every read returns
// the packet as if they were clear (Flags and Slot report them as found),
// ReadPacket and Forward join fragments by NS_MOREFRAG alone, and no bit
// but NS_MOREFRAG travels to a TX slot through Swap or Forward (where
// NS_INDIRECT, say, would make a VALE port read the packet from the user
// address in slot.ptr).
func TestRxForeignFlags(t *testing.T) {
	const bs = 256
	for _, ff := range foreignFlags {
		t.Run(fmt.Sprintf("%#04x", ff), func(t *testing.T) {
			// A packet, a 3-slot chain, a packet, all their slots
			// with ff added.
			frags, chain := fragsOf(7, 3, bs)
			want := [][]byte{payload(1, 60), chain, payload(2, 70)}
			more := func(s int) uint16 {
				if s == 1 || s == 2 {
					return abi.NS_MOREFRAG
				}
				return 0
			}
			setup := func() (*heapmem.Region, *rings.TxRing, *rings.RxRing) {
				r, tx, rx := fwdRegion(t, 16)
				r.Inject(0, want[0])
				r.InjectFrags(0, frags, false)
				r.Inject(0, want[2])
				r.RxSync(0)
				ro := r.RxRingOff(0)
				for s := range 5 {
					if fl := r.U16(heapmem.SlotOff(ro, s) + abi.SlotFlags); fl != more(s) {
						t.Fatalf("slot %d: flags %#x as injected", s, fl)
					}
					r.SetFlags(ro, s, more(s)|ff)
				}
				return r, tx, rx
			}

			// The reads.
			r, tx, rx := setup()
			pkts := make([][]byte, 8)
			if m, err := rx.View(pkts); m != 5 || err != nil {
				t.Fatalf("View = %d, %v", m, err)
			}
			for i := range 5 {
				p, err := rx.Packet(i)
				q, fl, serr := rx.Slot(i)
				if err != nil || serr != nil || !bytes.Equal(p, q) || !bytes.Equal(p, pkts[i]) || fl != ff|more(i) || rx.Flags(i) != ff|more(i) {
					t.Fatalf("slot %d: Packet %v, Slot flags %#x %v, Flags %#x", i, err, fl, serr, rx.Flags(i))
				}
			}
			dst := make([]byte, 4*bs)
			for k, i := range []int{0, 1, 4} {
				nb, used, err := rx.ReadPacket(i, dst)
				if err != nil || used != []int{1, 3, 1}[k] || !bytes.Equal(dst[:nb], want[k]) {
					t.Fatalf("ReadPacket(%d) = %d bytes %d slots, %v", i, nb, used, err)
				}
			}

			// Swap: the TX slot gets NS_MOREFRAG and NS_BUF_CHANGED,
			// nothing else.
			if m, err := tx.Reserve(5); m != 5 || err != nil {
				t.Fatalf("Reserve = %d, %v", m, err)
			}
			for i := range 5 {
				if err := tx.Swap(i, rx, i); err != nil {
					t.Fatal(err)
				}
				if fl := r.U16(heapmem.SlotOff(r.TxRingOff(1), i) + abi.SlotFlags); fl != more(i)|abi.NS_BUF_CHANGED {
					t.Fatalf("Swap: TX slot %d flags %#x, want %#x", i, fl, more(i)|abi.NS_BUF_CHANGED)
				}
			}

			// Forward: the same, and the frames that leave are the
			// packets received.
			r2, tx2, rx2 := setup()
			var sent [][]byte
			r2.Capture(1, func(f []byte) { sent = append(sent, bytes.Clone(f)) })
			f, err := rings.Forward(tx2, rx2, 16, nil)
			if want := (rings.Forwarded{Acquired: 5, Sent: 5}); f != want || err != nil {
				t.Fatalf("Forward = %+v, %v; want %+v", f, err, want)
			}
			to := r2.TxRingOff(1)
			for s := range 5 {
				if fl := r2.U16(heapmem.SlotOff(to, s) + abi.SlotFlags); fl != more(s)|abi.NS_BUF_CHANGED {
					t.Fatalf("Forward: TX slot %d flags %#x, want %#x", s, fl, more(s)|abi.NS_BUF_CHANGED)
				}
			}
			if err := r2.TxSync(1); err != nil {
				t.Fatal(err)
			}
			if len(sent) != 3 {
				t.Fatalf("host ring sent %d frames, want 3", len(sent))
			}
			for k := range want {
				if !bytes.Equal(sent[k], want[k]) {
					t.Fatalf("frame %d: %d bytes, want packet %d (%d bytes)", k, len(sent[k]), k, len(want[k]))
				}
			}
			checkUnique(t, r2)
		})
	}
}
