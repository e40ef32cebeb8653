package rings_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"testing"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

func region(t testing.TB, cfg *heapmem.Config) *heapmem.Region {
	t.Helper()
	r, err := heapmem.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.CheckGuards(); err != nil {
			t.Error(err)
		}
	})
	return r
}

func txRing(t testing.TB, r *heapmem.Region, i int) *rings.TxRing {
	t.Helper()
	tx, err := rings.NewTxRing(r.Mem, r.TxRingOff(i))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func rxRing(t testing.TB, r *heapmem.Region, i int) *rings.RxRing {
	t.Helper()
	rx, err := rings.NewRxRing(r.Mem, r.RxRingOff(i))
	if err != nil {
		t.Fatal(err)
	}
	return rx
}

func isIntegrity(t testing.TB, err error, field string) {
	t.Helper()
	var ie *rings.IntegrityError
	if !errors.Is(err, rings.ErrIntegrity) || !errors.As(err, &ie) {
		t.Fatalf("got %v, want an integrity error on %s", err, field)
	}
	if ie.Field != field {
		t.Fatalf("got %v, want an integrity error on %s", err, field)
	}
}

// payload returns a recognisable packet of n bytes for sequence number seq.
func payload(seq, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(seq*31 + i*7)
	}
	if n >= 4 {
		binary.BigEndian.PutUint32(p, uint32(seq))
	}
	return p
}

func TestNewRingHeaders(t *testing.T) {
	base := &heapmem.Config{TxSlots: 8, RxSlots: 8, BufSize: 256}
	type corrupt func(r *heapmem.Region, off int)
	cases := []struct {
		name  string
		field string
		off   func(r *heapmem.Region) int // ring offset passed in, default tx 0
		mem   func(r *heapmem.Region) []byte
		c     corrupt
	}{
		{name: "negative offset", field: "ring offset", off: func(*heapmem.Region) int { return -256 }},
		{name: "offset past end", field: "ring offset", off: func(r *heapmem.Region) int { return len(r.Mem) - 100 }},
		{name: "misaligned", field: "ring offset", off: func(r *heapmem.Region) int { return r.TxRingOff(0) + 4 }},
		{name: "huge offset", field: "ring offset", off: func(*heapmem.Region) int { return math.MaxInt }},
		{name: "truncated region", field: "num_slots", mem: func(r *heapmem.Region) []byte { return r.Mem[:r.TxRingOff(0)+abi.RingSlots+16] }},
		{name: "zero slots", field: "num_slots", c: func(r *heapmem.Region, o int) { r.PutU32(o+abi.RingNumSlots, 0) }},
		{name: "huge slots", field: "num_slots", c: func(r *heapmem.Region, o int) { r.PutU32(o+abi.RingNumSlots, math.MaxUint32) }},
		{name: "slots past end", field: "num_slots", c: func(r *heapmem.Region, o int) { r.PutU32(o+abi.RingNumSlots, 1<<20) }},
		{name: "buf size 0", field: "nr_buf_size", c: func(r *heapmem.Region, o int) { r.PutU32(o+abi.RingBufSize, 0) }},
		{name: "buf size big", field: "nr_buf_size", c: func(r *heapmem.Region, o int) { r.PutU32(o+abi.RingBufSize, 1<<17) }},
		{name: "offset mask", field: "offset_mask", c: func(r *heapmem.Region, o int) { r.PutU64(o+abi.RingOffsetMask, 0xff) }},
		{name: "buf_ofs before region", field: "buf_ofs", c: func(r *heapmem.Region, o int) { r.PutU64(o+abi.RingBufOfs, uint64(int64(-o-1))) }},
		{name: "buf_ofs min int", field: "buf_ofs", c: func(r *heapmem.Region, o int) { r.PutU64(o+abi.RingBufOfs, 1<<63) }},
		{name: "buf_ofs max int", field: "buf_ofs", c: func(r *heapmem.Region, o int) { r.PutU64(o+abi.RingBufOfs, math.MaxInt64) }},
		{name: "buf_ofs over ring", field: "buf_ofs", c: func(r *heapmem.Region, o int) { r.PutU64(o+abi.RingBufOfs, 0) }},
		{name: "buf_ofs at end", field: "buf_ofs", c: func(r *heapmem.Region, o int) { r.PutU64(o+abi.RingBufOfs, uint64(len(r.Mem)-o-256)) }},
		{name: "head out of range", field: "head", c: func(r *heapmem.Region, o int) { r.SetHead(o, 8) }},
		{name: "cur out of range", field: "cur", c: func(r *heapmem.Region, o int) { r.SetCur(o, 1<<31) }},
		{name: "tail out of range", field: "tail", c: func(r *heapmem.Region, o int) { r.SetTail(o, 9) }},
		{name: "cur past tail", field: "cur", c: func(r *heapmem.Region, o int) { r.SetTail(o, 2); r.SetCur(o, 3) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := region(t, base)
			off := r.TxRingOff(0)
			if c.off != nil {
				off = c.off(r)
			}
			mem := r.Mem
			if c.mem != nil {
				mem = c.mem(r)
			}
			if c.c != nil {
				c.c(r, r.TxRingOff(0))
			}
			_, err := rings.NewTxRing(mem, off)
			isIntegrity(t, err, c.field)
			_, err = rings.NewRxRing(mem, off)
			isIntegrity(t, err, c.field)
			if msg := err.Error(); msg == "" {
				t.Fatal("empty message")
			}
		})
	}
	// A region of a few bytes or none at all.
	for _, mem := range [][]byte{nil, {}, make([]byte, 255)} {
		if _, err := rings.NewTxRing(mem, 0); !errors.Is(err, rings.ErrIntegrity) {
			t.Errorf("NewTxRing(%d bytes): %v", len(mem), err)
		}
	}
}

func TestIntegrityErrorText(t *testing.T) {
	e := &rings.IntegrityError{Dir: "rx", Ring: 2, Slot: 5, Field: "buf_idx", Value: 1, Reason: "is outside the buffer pool"}
	if got, want := e.Error(), "rings: rx ring 2 slot 5: buf_idx 1 is outside the buffer pool"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	e = &rings.IntegrityError{Dir: "tx", Ring: -1, Slot: -1, Field: "tail", Value: 9, Reason: "is out of range"}
	if got, want := e.Error(), "rings: tx: tail 9 is out of range"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

// TestTxRx sends batches through a TX ring linked to an RX ring and checks
// every byte, counters and cursors.
func TestTxRx(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 16, RxSlots: 16, BufSize: 128})
	if err := r.Connect(0, r, 0, heapmem.Copy); err != nil {
		t.Fatal(err)
	}
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	if tx.NumSlots() != 16 || tx.BufSize() != 128 || rx.NumSlots() != 16 || rx.BufSize() != 128 {
		t.Fatal("geometry")
	}
	if s := tx.Space(); s != 15 {
		t.Fatalf("Space %d, want 15", s)
	}
	if f := tx.InFlight(); f != 0 {
		t.Fatalf("InFlight %d", f)
	}
	n, err := tx.Reserve(10)
	if n != 10 || err != nil {
		t.Fatalf("Reserve: %d %v", n, err)
	}
	for i := range n {
		b := tx.Buf(i)
		if len(b) != 128 || cap(b) != 128 {
			t.Fatalf("Buf len %d cap %d", len(b), cap(b))
		}
		tx.SetLen(i, copy(b, payload(i, 20+i)))
	}
	tx.Publish(7) // the last 3 are dropped from the batch
	if h := r.U32(r.TxRingOff(0) + abi.RingHead); h != 7 {
		t.Fatalf("head %d after Publish(7)", h)
	}
	if c := r.U32(r.TxRingOff(0) + abi.RingCur); c != 7 {
		t.Fatalf("cur %d after Publish(7)", c)
	}
	if s, f := tx.Space(), tx.InFlight(); s != 8 || f != 7 {
		t.Fatalf("before sync: Space %d InFlight %d", s, f)
	}
	if err := r.TxSync(0); err != nil {
		t.Fatal(err)
	}
	if s, f := tx.Space(), tx.InFlight(); s != 15 || f != 0 {
		t.Fatalf("after sync: Space %d InFlight %d", s, f)
	}

	if p := rx.Pending(); p != 0 {
		t.Fatalf("Pending %d before RxSync", p)
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	if p := rx.Pending(); p != 7 {
		t.Fatalf("Pending %d", p)
	}
	n, err = rx.Acquire(100)
	if n != 7 || err != nil {
		t.Fatalf("Acquire: %d %v", n, err)
	}
	for i := range n {
		p, err := rx.Packet(i)
		if err != nil || !bytes.Equal(p, payload(i, 20+i)) || cap(p) != len(p) {
			t.Fatalf("packet %d: %v %x", i, err, p)
		}
		if rx.Flags(i) != 0 {
			t.Fatalf("flags %#x", rx.Flags(i))
		}
	}
	rx.Release(3)
	if p := rx.Pending(); p != 4 {
		t.Fatalf("Pending %d after Release(3)", p)
	}
	n, _ = rx.Acquire(100)
	if p, _ := rx.Packet(0); n != 4 || !bytes.Equal(p, payload(3, 23)) {
		t.Fatalf("reacquire: %d %x", n, p)
	}
	rx.Release(n)
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	if ts := rx.Timestamp(); ts.Unix() < 1_700_000_000 {
		t.Fatalf("timestamp %v", ts)
	}
	if _, _, reinits := r.Stats(false, 0); reinits != 0 {
		t.Fatalf("%d reinits", reinits)
	}
}

// TestWrap runs many rounds of varying batch sizes through rings whose size
// is not a power of two (and some that are), TX linked to RX, checking
// order and content of every packet and the cursors' wrap-around.
func TestWrap(t *testing.T) {
	for _, slots := range []int{2, 3, 7, 1000, 1024} {
		t.Run(fmt.Sprint(slots), func(t *testing.T) {
			r := region(t, &heapmem.Config{TxSlots: slots, RxSlots: slots, BufSize: 64})
			if err := r.Connect(0, r, 0, heapmem.Copy); err != nil {
				t.Fatal(err)
			}
			tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
			sent, recv := 0, 0
			total := 5*slots + 50
			for round := 0; recv < total; round++ {
				want := 1 + (round*7+3)%(slots+2)
				n, err := tx.Reserve(min(want, total-sent))
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					tx.SetLen(i, copy(tx.Buf(i), payload(sent+i, 4+(sent+i)%60)))
				}
				tx.Publish(n)
				sent += n
				// Reclaim only part of the slots sometimes.
				if round%3 == 0 {
					err = r.TxSyncLimit(0, round%5)
				} else {
					err = r.TxSync(0)
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := r.RxSync(0); err != nil {
					t.Fatal(err)
				}
				m, err := rx.Acquire(1 + round%(slots+1))
				if err != nil {
					t.Fatal(err)
				}
				for i := range m {
					p, err := rx.Packet(i)
					if err != nil || !bytes.Equal(p, payload(recv+i, 4+(recv+i)%60)) {
						t.Fatalf("round %d packet %d: %v %x", round, recv+i, err, p)
					}
				}
				packetsAsPacket(t, rx, m)
				rx.Release(m)
				recv += m
				if round > 100*total {
					t.Fatalf("stuck: sent %d received %d", sent, recv)
				}
			}
			if _, dropped, _ := r.Stats(true, 0); dropped != 0 {
				t.Fatalf("%d dropped", dropped)
			}
		})
	}
}

// packetsAsPacket checks that Packets, from every first and into buffers
// shorter than the rest of the acquisition, as long and longer, hands out
// what Packet does for each of the m acquired slots of rx: the same slice
// of the same buffer, or nil where Packet gives an error.
func packetsAsPacket(t *testing.T, rx *rings.RxRing, m int) {
	t.Helper()
	buf := make([][]byte, m+2)
	for first := range m + 1 {
		rest := m - first
		for _, size := range []int{0, 1, max(0, rest-1), rest, rest + 1} {
			for i := range buf {
				buf[i] = []byte{0xee} // not a slot's: Packets must overwrite it
			}
			k := rx.Packets(first, buf[:size])
			if want := min(size, m-first); k != want {
				t.Fatalf("Packets(%d, [%d]) = %d of %d acquired, want %d", first, size, k, m, want)
			}
			for i, got := range buf[:k] {
				p, err := rx.Packet(first + i)
				if err != nil && got != nil || err == nil && (got == nil || unsafe.SliceData(got) != unsafe.SliceData(p) || len(got) != len(p) || cap(got) != cap(p)) {
					t.Fatalf("Packets(%d): slot %d gives %p len %d cap %d; Packet %p len %d cap %d, %v",
						first, first+i, got, len(got), cap(got), p, len(p), cap(p), err)
				}
			}
			if size > k && (len(buf[k]) != 1 || buf[k][0] != 0xee) {
				t.Fatalf("Packets(%d, [%d]) wrote past the %d it returned", first, size, k)
			}
		}
	}
}

func TestOneSlotRing(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 1, RxSlots: 1, BufSize: 64})
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	if n, err := tx.Reserve(5); n != 0 || err != nil {
		t.Fatalf("Reserve on a 1-slot ring: %d %v", n, err)
	}
	if r.Inject(0, []byte{1}) {
		t.Fatal("1-slot RX ring accepted a packet")
	}
	if n, err := rx.Acquire(5); n != 0 || err != nil {
		t.Fatalf("Acquire on a 1-slot ring: %d %v", n, err)
	}
}

// TestZeroCopyBridge forwards packets from an RX ring to a TX ring of the
// same region by swapping buffers, and checks that the bytes arrive intact
// and that no buffer is lost or duplicated.
func TestZeroCopyBridge(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 33, RxSlots: 50, BufSize: 256})
	var out [][]byte
	r.Capture(0, func(f []byte) { out = append(out, append([]byte(nil), f...)) })
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	bufs := func() []uint32 {
		var l []uint32
		for _, ro := range []int{r.TxRingOff(0), r.RxRingOff(0)} {
			n := int(r.U32(ro + abi.RingNumSlots))
			for s := range n {
				l = append(l, r.U32(heapmem.SlotOff(ro, s)))
			}
		}
		slices.Sort(l)
		return l
	}
	before := bufs()
	var in [][]byte
	seq := 0
	for round := range 40 {
		for range round % 9 {
			p := payload(seq, 1+seq*13%256)
			if r.Inject(0, p) {
				in = append(in, p)
			}
			seq++
		}
		if err := r.RxSync(0); err != nil {
			t.Fatal(err)
		}
		n, err := rx.Acquire(64)
		if err != nil {
			t.Fatal(err)
		}
		m, err := tx.Reserve(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			old := r.U32(heapmem.SlotOff(r.TxRingOff(0), int((r.U32(r.TxRingOff(0)+abi.RingHead)+uint32(i))%33)))
			if err := tx.Swap(i, rx, i); err != nil {
				t.Fatal(err)
			}
			if f := rx.Flags(i); f&abi.NS_BUF_CHANGED == 0 {
				t.Fatal("rx slot lacks NS_BUF_CHANGED")
			}
			if p, _ := rx.Packet(i); &r.Buf(old)[0] != &p[:1][0] {
				t.Fatal("rx slot did not get the tx buffer")
			}
		}
		tx.Publish(m)
		rx.Release(m)
		if err := r.TxSync(0); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != len(in) || len(in) < 100 {
		t.Fatalf("forwarded %d of %d", len(out), len(in))
	}
	for i := range in {
		if !bytes.Equal(in[i], out[i]) {
			t.Fatalf("packet %d differs", i)
		}
	}
	if after := bufs(); !slices.Equal(before, after) {
		t.Fatal("buffer indices were lost or duplicated by the swaps")
	}

	// Rings of different regions cannot swap.
	r2 := region(t, &heapmem.Config{TxSlots: 4, RxSlots: 4, BufSize: 256})
	r2.Inject(0, []byte{1})
	_ = r2.RxSync(0)
	rx2 := rxRing(t, r2, 0)
	if n, _ := rx2.Acquire(1); n != 1 {
		t.Fatal("no packet")
	}
	if n, _ := tx.Reserve(1); n != 1 {
		t.Fatal("no space")
	}
	if err := tx.Swap(0, rx2, 0); err != rings.ErrOtherRegion {
		t.Fatalf("cross-region Swap: %v", err)
	}
}

func TestSwapBad(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 4, RxSlots: 4, BufSize: 256})
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	r.Inject(0, []byte{1, 2})
	r.Inject(0, []byte{3})
	_ = r.RxSync(0)
	if n, _ := rx.Acquire(2); n != 2 {
		t.Fatal("acquire")
	}
	if n, _ := tx.Reserve(2); n != 2 {
		t.Fatal("reserve")
	}
	ro, to := r.RxRingOff(0), r.TxRingOff(0)
	// Everything from the first ring to the buffer pool: headers and slots.
	snap := func() []byte { return append([]byte(nil), r.Mem[to:r.BufOff]...) }
	check := func(i, j int, field string) {
		t.Helper()
		before := snap()
		isIntegrity(t, tx.Swap(i, rx, j), field)
		if !bytes.Equal(before, snap()) {
			t.Fatal("a failed Swap changed the rings")
		}
	}
	r.SetLen(ro, 0, 257)
	check(0, 0, "len")
	r.SetLen(ro, 0, 2)
	r.SetBufIdx(ro, 1, uint32(r.NumBufs))
	check(0, 1, "buf_idx")
	r.SetBufIdx(to, 1, 1)
	check(1, 0, "buf_idx")
	if err := tx.Swap(0, rx, 0); err != nil {
		t.Fatal(err)
	}
}

// TestMoreFrag sends packets larger than a buffer as NS_MOREFRAG chains and
// reassembles them on the RX side, with the error cases of both.
func TestMoreFrag(t *testing.T) {
	const bs = 128
	r := region(t, &heapmem.Config{TxSlots: 100, RxSlots: 150, BufSize: bs})
	if err := r.Connect(0, r, 0, heapmem.Copy); err != nil {
		t.Fatal(err)
	}
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	sizes := []int{0, 1, bs - 1, bs, bs + 1, 3*bs + 5, 10 * bs}
	n, err := tx.Reserve(99)
	if n != 99 || err != nil {
		t.Fatal(n, err)
	}
	i := 0
	for k, sz := range sizes {
		used, err := tx.WritePacket(i, payload(k, sz))
		if want := max(1, (sz+bs-1)/bs); err != nil || used != want {
			t.Fatalf("WritePacket(%d bytes) = %d, %v; want %d slots", sz, used, err, want)
		}
		i += used
	}
	if _, err := tx.WritePacket(i, make([]byte, 65*bs)); err != rings.ErrTooLarge {
		t.Fatalf("65 fragments: %v", err)
	}
	if _, err := tx.WritePacket(n-1, make([]byte, 2*bs)); err != rings.ErrNoSpace {
		t.Fatalf("past the reservation: %v", err)
	}
	if _, err := tx.WritePacket(n, nil); err != rings.ErrNoSpace {
		t.Fatalf("at the end of the reservation: %v", err)
	}
	// A 64-fragment packet does not fit the ring; after the rest it is
	// sent on its own below.
	tx.Publish(i)
	if err := r.TxSync(0); err != nil {
		t.Fatal(err)
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 64*bs)
	got, err := rx.Acquire(1000)
	if err != nil || got != i {
		t.Fatalf("Acquire %d, %v; want %d", got, err, i)
	}
	j := 0
	for k, sz := range sizes {
		nb, used, err := rx.ReadPacket(j, dst)
		if err != nil || nb != sz || !bytes.Equal(dst[:nb], payload(k, sz)) {
			t.Fatalf("ReadPacket %d: %d bytes, %d slots, %v", k, nb, used, err)
		}
		// Short destination: full length reported, prefix copied.
		if sz > 1 {
			short := make([]byte, sz-1)
			nb2, used2, err := rx.ReadPacket(j, short)
			if err != io.ErrShortBuffer || nb2 != sz || used2 != used || !bytes.Equal(short, payload(k, sz)[:sz-1]) {
				t.Fatalf("short ReadPacket %d: %d %d %v", k, nb2, used2, err)
			}
		}
		j += used
	}
	// Release the first packet (one slot), then acquire all but the last
	// 3 slots: the last packet (10 slots) is cut by the end of the batch.
	rx.Release(1)
	if n, _ := rx.Acquire(got - 4); n != got-4 {
		t.Fatal(n)
	}
	last := got - 1 - 10 // where the 10-slot packet starts now
	if nb, used, err := rx.ReadPacket(last, dst); err != rings.ErrIncomplete || nb != 0 || used != 0 {
		t.Fatalf("cut chain: %d %d %v", nb, used, err)
	}
	if nb, _, err := rx.ReadPacket(last-4, dst); err != nil || nb != 3*bs+5 {
		t.Fatalf("packet before the cut: %d %v", nb, err)
	}
	n, _ = rx.Acquire(1000)
	rx.Release(n)
	_ = r.RxSync(0)

	// The largest packet: 64 fragments.
	big := payload(99, 64*bs)
	n, err = tx.Reserve(99)
	if err != nil || n < 64 {
		t.Fatal(n, err)
	}
	if used, err := tx.WritePacket(0, big); used != 64 || err != nil {
		t.Fatal(used, err)
	}
	tx.Publish(64)
	_ = r.TxSync(0)
	_ = r.RxSync(0)
	n, _ = rx.Acquire(1000)
	if nb, used, err := rx.ReadPacket(0, dst); n != 64 || nb != len(big) || used != 64 || err != nil || !bytes.Equal(dst, big) {
		t.Fatalf("64 fragments: acquired %d, %d %d %v", n, nb, used, err)
	}
	// Corrupt: all 64 slots with NS_MOREFRAG is a chain that is too long.
	ro := r.RxRingOff(0)
	h := int(r.U32(ro + abi.RingHead))
	r.SetFlags(ro, (h+63)%150, abi.NS_MOREFRAG)
	nb, used, err := rx.ReadPacket(0, dst)
	isIntegrity(t, err, "flags")
	if nb != 0 || used != 64 {
		t.Fatalf("too long: %d %d", nb, used)
	}
	// Corrupt: a bad fragment in the middle.
	r.SetFlags(ro, (h+63)%150, 0)
	r.SetLen(ro, (h+5)%150, bs+1)
	nb, used, err = rx.ReadPacket(0, dst)
	isIntegrity(t, err, "len")
	if nb != 0 || used != 6 {
		t.Fatalf("bad fragment: %d bytes %d slots", nb, used)
	}
	rx.Release(n)
}

func TestTailCorruption(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 10, RxSlots: 10, BufSize: 64})
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	to, ro := r.TxRingOff(0), r.RxRingOff(0)

	n, _ := tx.Reserve(4)
	tx.Publish(n)
	_ = r.TxSyncLimit(0, 0) // nothing reclaimed: tail stays at 9
	r.SetTail(to, 10)
	if _, err := tx.Reserve(1); err == nil {
		t.Fatal("tail == num_slots accepted")
	} else {
		isIntegrity(t, err, "tail")
	}
	if tx.Space() != 0 || tx.InFlight() != 0 {
		t.Fatal("bad tail gives space")
	}
	r.SetTail(to, 1<<31)
	_, err := tx.Reserve(1)
	isIntegrity(t, err, "tail")
	// Backwards: tail moves into the slots already handed out. The user
	// owns [4, 9); a tail of 6 takes slots back.
	r.SetTail(to, 6)
	_, err = tx.Reserve(1)
	isIntegrity(t, err, "tail")
	if tx.Space() != 0 {
		t.Fatal("backwards tail gives space")
	}
	// The same violation twice returns the same error value.
	_, err2 := tx.Reserve(1)
	if err2 != err {
		t.Fatal("repeated violation allocated a new error")
	}
	// The kernel repairs the tail; the ring goes on.
	_ = r.TxSync(0)
	if n, err := tx.Reserve(100); n != 9 || err != nil {
		t.Fatalf("after repair: %d %v", n, err)
	}
	tx.Publish(0)

	// RX: a tail past the ring, then one moving backwards.
	for range 3 {
		r.Inject(0, []byte{1})
	}
	_ = r.RxSync(0)
	if n, _ := rx.Acquire(1); n != 1 {
		t.Fatal("acquire")
	}
	rx.Release(1)
	r.SetTail(ro, 0) // head is 1, user owns [1, 3): tail 0 wraps to 9 slots
	if n, err := rx.Acquire(100); err != nil || n != 9 {
		// 0 is "ahead" of head by 9, which is legal cyclically; only a
		// tail that lost slots is backwards.
		t.Fatalf("cyclic tail: %d %v", n, err)
	}
	r.SetTail(ro, 2)
	_, err = rx.Acquire(100)
	isIntegrity(t, err, "tail")
	if rx.Pending() != 0 {
		t.Fatal("Pending on backwards tail")
	}
	r.SetTail(ro, 11)
	_, err = rx.Acquire(100)
	isIntegrity(t, err, "tail")
	// Reset adopts the shared state once it is consistent.
	r.SetTail(ro, 3)
	if err := rx.Reset(); err != nil {
		t.Fatal(err)
	}
	if n, err := rx.Acquire(100); n != 2 || err != nil {
		t.Fatalf("after Reset: %d %v", n, err)
	}
	r.SetTail(ro, 12)
	isIntegrity(t, rx.Reset(), "tail")
	r.SetHead(ro, 12)
	isIntegrity(t, rx.Reset(), "head")
	r.SetHead(ro, 1)
	r.SetCur(ro, 10)
	isIntegrity(t, rx.Reset(), "cur")
}

func TestBadSlots(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 10, RxSlots: 10, BufSize: 64})
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	to, ro := r.TxRingOff(0), r.RxRingOff(0)

	// TX: Reserve stops before a slot with a bad buffer index.
	r.SetBufIdx(to, 3, 1)
	n, err := tx.Reserve(8)
	isIntegrity(t, err, "buf_idx")
	if n != 3 {
		t.Fatalf("reserved %d before the bad slot", n)
	}
	var ie *rings.IntegrityError
	if errors.As(err, &ie); ie.Slot != 3 || ie.Dir != "tx" || ie.Value != 1 {
		t.Fatalf("%+v", ie)
	}
	// A buffer index that goes bad after Reserve: Buf gives nil,
	// WritePacket an error.
	r.SetBufIdx(to, 1, uint32(r.NumBufs)+5)
	if b := tx.Buf(1); b != nil {
		t.Fatal("Buf on a bad index")
	}
	_, err = tx.WritePacket(1, []byte{1})
	isIntegrity(t, err, "buf_idx")
	if _, err := tx.SwapBuf(1, 2); err == nil {
		t.Fatal("SwapBuf evicted a bad index")
	}
	if _, err := tx.SwapBuf(0, 0); err == nil {
		t.Fatal("SwapBuf took buffer 0")
	}

	// RX: a bad index or length is an error for that packet only.
	for i := range 4 {
		r.Inject(0, []byte{byte(i)})
	}
	r.SetBufIdx(ro, 1, 0)
	r.SetLen(ro, 2, 65)
	_ = r.RxSync(0)
	n, _ = rx.Acquire(10)
	if n != 4 {
		t.Fatal(n)
	}
	for i, want := range []string{"", "buf_idx", "len", ""} {
		p, err := rx.Packet(i)
		if want == "" {
			if err != nil || len(p) != 1 || p[0] != byte(i) {
				t.Fatalf("packet %d: %v %v", i, p, err)
			}
			continue
		}
		if p != nil {
			t.Fatalf("packet %d: slice from a bad slot", i)
		}
		isIntegrity(t, err, want)
	}
	// Len reads lengths without touching buffers: only the bad length
	// is an error (slot 1's bad buffer index is not its business).
	for i, want := range []int{1, 1, -1, 1} {
		l, err := rx.Len(i)
		if want < 0 {
			isIntegrity(t, err, "len")
			continue
		}
		if err != nil || l != want {
			t.Fatalf("Len(%d) = %d, %v", i, l, err)
		}
	}
	// Bytes sums lengths up to the first bad length.
	if b, err := rx.Bytes(); b != 2 {
		t.Fatalf("Bytes = %d, %v; want 2 before the bad length", b, err)
	} else {
		isIntegrity(t, err, "len")
	}
	// Packets: Packet's slices, nil for the bad slots.
	packetsAsPacket(t, rx, n)
	// View: nil entries for the bad slots, the first one's error, and
	// every slot counted.
	pkts := make([][]byte, 10)
	n, err = rx.View(pkts)
	isIntegrity(t, err, "buf_idx")
	if n != 4 || pkts[1] != nil || pkts[2] != nil || len(pkts[0]) != 1 || pkts[3][0] != 3 {
		t.Fatalf("View: %d %v", n, pkts[:n])
	}
	rx.Release(n)
	// A bad tail: nothing.
	r.SetTail(ro, 99)
	if n, err := rx.View(pkts); n != 0 {
		t.Fatalf("View on a bad tail: %d", n)
	} else {
		isIntegrity(t, err, "tail")
	}
}

func TestMisusePanics(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 10, RxSlots: 10, BufSize: 64})
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	n, _ := tx.Reserve(2)
	mustPanic(t, "Buf(n)", func() { tx.Buf(n) })
	mustPanic(t, "Buf(-1)", func() { tx.Buf(-1) })
	mustPanic(t, "SetLen too long", func() { tx.SetLen(0, 65) })
	mustPanic(t, "Publish(n+1)", func() { tx.Publish(n + 1) })
	mustPanic(t, "WritePacket(n+1)", func() { _, _ = tx.WritePacket(n+1, nil) })
	mustPanic(t, "Packet without Acquire", func() { _, _ = rx.Packet(0) })
	mustPanic(t, "Release without Acquire", func() { rx.Release(1) })
	mustPanic(t, "Packets(1) without Acquire", func() { rx.Packets(1, make([][]byte, 1)) })
	if k := rx.Packets(0, make([][]byte, 1)); k != 0 {
		t.Fatalf("Packets(0) without Acquire = %d", k)
	}
	_ = r.Inject(0, []byte{1})
	_ = r.RxSync(0)
	if n, _ := rx.Acquire(5); n != 1 {
		t.Fatalf("acquired %d of 1", n)
	}
	mustPanic(t, "Packets(2) of 1", func() { rx.Packets(2, make([][]byte, 1)) })
	mustPanic(t, "Packets(-1)", func() { rx.Packets(-1, make([][]byte, 1)) })
}

func TestExtraBufs(t *testing.T) {
	r := region(t, &heapmem.Config{TxSlots: 8, RxSlots: 8, BufSize: 64, ExtraBufs: 4})
	x, err := rings.NewExtraBufs(r.Mem, r.IfOff, r.TxRingOff(0), 0)
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 4 || x.BufSize() != 64 {
		t.Fatal(x.Len(), x.BufSize())
	}
	list := r.ExtraList()
	// Draw one, write into it, swap it into a TX slot, send it, put the
	// evicted buffer back.
	idx, err := x.Get()
	if err != nil || idx != list[0] || r.BufsHead() != list[1] || x.Len() != 3 {
		t.Fatalf("Get: %d %v", idx, err)
	}
	b, err := x.Buf(idx)
	if err != nil || len(b) != 64 {
		t.Fatal(err)
	}
	copy(b, "extra")
	tx := txRing(t, r, 0)
	var sent []byte
	r.Capture(0, func(f []byte) { sent = append([]byte(nil), f...) })
	n, _ := tx.Reserve(1)
	old, err := tx.SwapBuf(0, idx)
	if n != 1 || err != nil {
		t.Fatal(err)
	}
	tx.SetLen(0, 5)
	tx.Publish(1)
	_ = r.TxSync(0)
	if string(sent) != "extra" {
		t.Fatalf("sent %q", sent)
	}
	if err := x.Put(old); err != nil || x.Len() != 4 || r.BufsHead() != old {
		t.Fatal(err)
	}
	isIntegrity(t, x.Put(old), "buf_idx") // twice
	isIntegrity(t, x.Put(1), "buf_idx")
	isIntegrity(t, x.Put(uint32(r.NumBufs)), "buf_idx")
	if _, err := x.Buf(0); err == nil {
		t.Fatal("Buf(0)")
	}
	// RX: keep a received packet by swapping an extra buffer in.
	rx := rxRing(t, r, 0)
	r.Inject(0, []byte("held"))
	_ = r.RxSync(0)
	rx.Acquire(1)
	p, _ := rx.Packet(0)
	ln := len(p)
	spare, _ := x.Get()
	held, err := rx.SwapBuf(0, spare)
	if err != nil {
		t.Fatal(err)
	}
	rx.Release(1)
	hb, _ := x.Buf(held)
	if string(hb[:ln]) != "held" {
		t.Fatalf("held %q", hb[:ln])
	}
	if err := x.Put(held); err != nil {
		t.Fatal(err)
	}
	// Drain.
	for x.Len() > 0 {
		if _, err := x.Get(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.Get(); err != rings.ErrNoBuffers {
		t.Fatalf("empty: %v", err)
	}
	if r.BufsHead() != 0 {
		t.Fatal("ni_bufs_head not 0 when empty")
	}
}

func TestExtraBufsCorrupt(t *testing.T) {
	cfg := &heapmem.Config{TxSlots: 8, RxSlots: 8, BufSize: 64, ExtraBufs: 5}
	link := func(r *heapmem.Region, idx uint32) int { return r.BufOff + int(idx)*r.BufSize }
	t.Run("construction", func(t *testing.T) {
		for _, c := range []struct {
			name, field string
			f           func(r *heapmem.Region, l []uint32)
		}{
			{"head out of pool", "buf_idx", func(r *heapmem.Region, _ []uint32) { r.SetBufsHead(uint32(r.NumBufs)) }},
			{"head reserved", "buf_idx", func(r *heapmem.Region, _ []uint32) { r.SetBufsHead(1) }},
			{"link out of pool", "buf_idx", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[2]), math.MaxUint32) }},
			{"loop", "buf_idx", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[4]), l[1]) }},
			{"self loop", "buf_idx", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[0]), l[0]) }},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := region(t, cfg)
				c.f(r, r.ExtraList())
				_, err := rings.NewExtraBufs(r.Mem, r.IfOff, r.TxRingOff(0), 0)
				isIntegrity(t, err, c.field)
			})
		}
		r := region(t, cfg)
		for _, c := range []struct{ ifOff, ringOff, max int }{
			{-8, r.TxRingOff(0), 0}, {len(r.Mem), r.TxRingOff(0), 0}, {r.IfOff + 4, r.TxRingOff(0), 0},
			{r.IfOff, -1, 0}, {r.IfOff, r.TxRingOff(0), 2},
		} {
			if _, err := rings.NewExtraBufs(r.Mem, c.ifOff, c.ringOff, c.max); !errors.Is(err, rings.ErrIntegrity) {
				t.Errorf("NewExtraBufs(%d, %d, %d): %v", c.ifOff, c.ringOff, c.max, err)
			}
		}
		// A pool limit below the extra buffers' indices.
		if _, err := rings.NewExtraBufs(r.Mem, r.IfOff, r.TxRingOff(0), int(r.ExtraHead)); !errors.Is(err, rings.ErrIntegrity) {
			t.Errorf("limit below the list: %v", err)
		}
	})
	t.Run("after construction", func(t *testing.T) {
		for _, c := range []struct {
			name string
			f    func(r *heapmem.Region, l []uint32)
			good int // Gets that succeed before the error
		}{
			{"link out of pool", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[2]), 1) }, 2},
			{"loop back", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[3]), l[0]) }, 3},
			{"self loop", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[1]), l[1]) }, 1},
			{"truncated", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[1]), 0) }, 1},
			{"extended", func(r *heapmem.Region, l []uint32) { r.PutU32(link(r, l[4]), 3) }, 4},
			{"head overwritten", func(r *heapmem.Region, l []uint32) { r.SetBufsHead(1) }, 5},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := region(t, cfg)
				x, err := rings.NewExtraBufs(r.Mem, r.IfOff, r.TxRingOff(0), 0)
				if err != nil {
					t.Fatal(err)
				}
				c.f(r, r.ExtraList())
				seen := map[uint32]bool{}
				for i := range c.good {
					idx, err := x.Get()
					if err != nil || seen[idx] {
						t.Fatalf("Get %d: %d %v", i, idx, err)
					}
					seen[idx] = true
				}
				if c.good == 5 {
					if _, err := x.Get(); err != rings.ErrNoBuffers {
						t.Fatal(err)
					}
					return
				}
				_, err = x.Get()
				isIntegrity(t, err, "next")
				_, err2 := x.Get()
				if err2 != err {
					t.Fatal("list changed after an integrity error")
				}
			})
		}
	})
}

// TestSetLens checks that SetLens writes the length of exactly the first n
// reserved slots, across the ring's wrap, clears NS_MOREFRAG, keeps the
// other flags, and that the frames go out with those lengths.
func TestSetLens(t *testing.T) {
	const slots, bs = 7, 64
	r := region(t, &heapmem.Config{TxSlots: slots, RxSlots: 16, BufSize: bs})
	if err := r.Connect(0, r, 0, heapmem.Copy); err != nil {
		t.Fatal(err)
	}
	to := r.TxRingOff(0)
	tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
	// Move head to slot 4 so that the next reservation wraps.
	n, err := tx.Reserve(4)
	if n != 4 || err != nil {
		t.Fatal(n, err)
	}
	tx.SetLens(n, 10)
	tx.Publish(n)
	if err := r.TxSync(0); err != nil {
		t.Fatal(err)
	}
	if n, err = tx.Reserve(slots); n != slots-1 || err != nil {
		t.Fatalf("Reserve after a sync: %d, %v; want %d", n, err, slots-1)
	}
	for s := range slots {
		r.SetLen(to, s, 999)
		r.SetFlags(to, s, abi.NS_MOREFRAG|abi.NS_REPORT)
	}
	const k = 5 // slots 4, 5, 6, 0, 1; slot 2 is reserved but not set
	tx.SetLens(k, bs)
	for i := range slots {
		s := (4 + i) % slots
		ln := r.U16(heapmem.SlotOff(to, s) + abi.SlotLen)
		fl := r.U16(heapmem.SlotOff(to, s) + abi.SlotFlags)
		want, wantFl := uint16(bs), uint16(abi.NS_REPORT)
		if i >= k {
			want, wantFl = 999, abi.NS_MOREFRAG|abi.NS_REPORT
		}
		if ln != want || fl != wantFl {
			t.Errorf("slot %d: len %d flags %#x, want %d %#x", s, ln, fl, want, wantFl)
		}
	}
	tx.SetLens(0, 1) // a no-op
	if got := r.U16(heapmem.SlotOff(to, 4) + abi.SlotLen); got != bs {
		t.Errorf("SetLens(0, 1) wrote slot 4: len %d", got)
	}
	tx.Publish(k)
	if err := r.TxSync(0); err != nil {
		t.Fatal(err)
	}
	if err := r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	m, err := rx.Acquire(100)
	if err != nil || m != 4+k {
		t.Fatalf("Acquire: %d, %v; want %d", m, err, 4+k)
	}
	for i := range m {
		want := 10
		if i >= 4 {
			want = bs
		}
		if l, err := rx.Len(i); err != nil || l != want {
			t.Errorf("frame %d: len %d, %v; want %d", i, l, err, want)
		}
	}
	rx.Release(m)

	n, _ = tx.Reserve(3)
	mustPanic(t, "SetLens(n+1)", func() { tx.SetLens(n+1, 1) })
	mustPanic(t, "SetLens(-1)", func() { tx.SetLens(-1, 1) })
	mustPanic(t, "SetLens too long", func() { tx.SetLens(1, bs+1) })
	mustPanic(t, "SetLens negative length", func() { tx.SetLens(1, -1) })
}

// mustPanic fails t unless f panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	f()
}
