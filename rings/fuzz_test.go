package rings_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// opStream decodes fuzz input; past its end it reads zeros.
type opStream struct{ b []byte }

func (s *opStream) more() bool { return len(s.b) > 0 }

func (s *opStream) u8() int {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return int(v)
}

func (s *opStream) u16() int { return s.u8() | s.u8()<<8 }

func (s *opStream) u32() uint32 { return uint32(s.u16()) | uint32(s.u16())<<16 }

// Fuzz operations.
const (
	opReserve = iota
	opFill
	opWritePacket
	opPublish
	opTxSync
	opRxSync
	opInject
	opAcquire
	opPackets
	opReadPacket
	opRelease
	opSwap
	opExtraGet
	opExtraPut
	opSwapBuf
	opQuery
	opReset
	opRebuild
	opCorruptCursor
	opCorruptSlot
	opCorruptExtra
	opCorruptHeader
	opView
	opReleaseHold
	opForward
	opInjectFrags
	opRxFlags
	opInjectLong
	opAcquireLong
	numOps
)

// fuzzState is the model the fuzz target checks the rings against.
type fuzzState struct {
	t      *testing.T
	r      *heapmem.Region
	tx     *rings.TxRing
	rx     *rings.RxRing
	x      *rings.ExtraBufs
	tr, ra int      // reserved TX slots, acquired RX slots
	held   []uint32 // extra buffers taken and not yet swapped in or put back
	bufs   []uint32 // every buffer index in slots, list and held, sorted

	// What was corrupted: cursor corruption voids the cursor invariants,
	// slot or list corruption voids buffer conservation.
	badCursors, badSlots bool
}

// FuzzRingOps drives a TX ring, an RX ring (linked by copy or by buffer
// swaps, or not at all) and the extra-buffer list with a random sequence
// of user operations, simulated kernel syncs and corruptions of shared
// fields. It checks that nothing panics, that every error from corrupted
// state is an integrity error, that every slice handed out lies inside the
// region, that the guard bytes around the region are intact, and, while
// the state is uncorrupted, the ring invariants (hwcur <= head <= cur <=
// tail, cyclically, head == cur on TX; the kernel never rejects what rings published),
// that no buffer index is lost or duplicated, and that Forward and
// ReadPacket do exactly what a model of them predicts (Forward: counts,
// offers to take, cursors, the cur a hold leaves, every slot of both
// rings). The model splits the received slots into packets by its own
// statement of the rule (splitPkts), not by a copy of forward.go's loop.
// Rings of 62 to 200 slots let chains reach NETMAP_MAX_FRAGS, and the
// "kernel" writes RX flag bits other than NS_MOREFRAG, which must change
// nothing but where chains end.
func FuzzRingOps(f *testing.F) {
	// Each seed: TX slots, RX slots, buffer size, extra buffers, link
	// mode (0 none, 1 copy, 2 swap), then operations.
	for _, s := range [][]byte{
		{},
		{7, 9, 0, 0, 1, opReserve, 5, opFill, 60, opPublish, 3, opTxSync, 9, opRxSync, opAcquire, 9, opPackets, opRelease, 9},
		{40, 40, 1, 1, 0, opInject, 100, 1, opInject, 200, 0, opRxSync, opAcquire, 50, opReadPacket, 0, 0, 4, opSwapBuf, 1, 0, opRelease, 50},
		{3, 5, 2, 3, 0, opExtraGet, opReserve, 2, opSwapBuf, 0, 0, opExtraPut, opPublish, 2, opTxSync, 1, opExtraGet, opExtraPut},
		{10, 10, 3, 1, 2, opReserve, 9, opWritePacket, 0, 0, 2, opPublish, 9, opTxSync, 0, opRxSync, opAcquire, 9, opReserve, 9, opSwap, 0, 0, opPublish, 1, opRelease, 1},
		{8, 8, 0, 2, 0, opCorruptCursor, 2, 200, 0, 0, 0, opReserve, 3, opAcquire, 3, opReset, opRebuild, opQuery},
		{8, 8, 0, 2, 1, opCorruptSlot, 1, 3, 1, 0, 0, 0, opInject, 10, 0, opRxSync, opAcquire, 5, opPackets, opReadPacket, 0, 0, 1},
		{8, 8, 0, 4, 2, opCorruptExtra, 1, 7, 0, 0, 0, opExtraGet, opExtraGet, opExtraGet, opCorruptHeader, 3, 1, 0, 0, 0, 0, 0, 0, 0, opRebuild},
		{20, 20, 1, 0, 0, opInject, 100, 1, opInject, 0, 2, opRxSync, opForward, 2, 1, opTxSync, 4, opInject, 44, 0, opRxSync, opForward, 9, 3, opTxSync, 4, opRxSync},
		// Forward, single packets: take keeps one, the TX ring's 3
		// free slots take three, one is dropped; then, after a sync,
		// the rest go. Then two packets leave too little room for a
		// 3-slot chain, dropped whole.
		{3, 9, 1, 0, 0, opInject, 60, 0, opInject, 61, 0, opInject, 62, 0, opInject, 63, 0, opInject, 64, 0, opRxSync,
			opForward, 9, 2, opTxSync, 4, opRxSync, opInject, 30, 0, opInject, 31, 0, opRxSync, opForward, 9, 3,
			opTxSync, 4, opRxSync, opInject, 60, 0, opInject, 61, 0, opInject, 250, 0, opRxSync, opForward, 9, 3},
		// Forward over a swap link: a chain cut by max is held, then
		// forwarded; it comes back through the link, and Forward
		// starts again with room for it and take keeps it whole.
		{7, 7, 0, 0, 2, opInject, 60, 0, opInject, 150, 0, opInject, 10, 0, opRxSync,
			opForward, 2, 3, opForward, 9, 3, opRxSync, opTxSync, 4, opRxSync,
			opForward, 1, 3, opForward, 1, 1},
		// Forward over a copy link: a chain whose end comes later is
		// held, then forwarded; one that fills the RX ring is bad.
		{5, 5, 1, 0, 1, opInjectFrags, 1, 50, 1, opRxSync, opForward, 9, 3, opInjectFrags, 0, 70, 0, opRxSync, opForward, 9, 3,
			opRxSync, opTxSync, 4, opRxSync, opForward, 9, 0, opRxSync, opInjectFrags, 4, 20, 1, opRxSync, opForward, 9, 3},
		// Forward of a slot the "kernel" corrupted: bad, not offered.
		{7, 7, 1, 0, 0, opInject, 60, 0, opInject, 61, 0, opInject, 62, 0, opRxSync, opCorruptSlot, 1, 1, 0xff, 0xff, 0xff, 0x0f, 0, opForward, 9, 0},
		// 70-slot rings: a 60-slot chain moves the heads to 60, then a
		// 64-slot chain across the ring's end, cut by max 8, is sent
		// whole; a 65-slot chain is read (ReadPacket) and forwarded:
		// 64 bad slots, then its last slot alone.
		{247, 247, 0, 0, 0, opInjectLong, 0, 10, 0, opRxSync, opForward, 64, 3, opTxSync, 4, opRxSync,
			opInjectLong, 4, 20, 0, opRxSync, opForward, 8, 3, opTxSync, 4, opRxSync,
			opInjectLong, 5, 30, 0, opRxSync, opAcquireLong, 20, opReadPacket, 0, 0, 0, 0, opReadPacket, 64, 0, 0, 0,
			opForward, 64, 3, opRxSync, opForward, 64, 3},
		// 64 slots with NS_MOREFRAG and no end on a 65-slot ring: too
		// long; 63 on a 64-slot ring: they fill the ring.
		{243, 243, 0, 0, 0, opInjectLong, 4, 5, 1, opRxSync, opAcquireLong, 20, opReadPacket, 0, 0, 0, 0, opForward, 64, 3},
		{242, 242, 0, 0, 0, opInjectLong, 3, 5, 1, opRxSync, opAcquireLong, 20, opReadPacket, 0, 0, 0, 0, opForward, 9, 3},
		// RX slots with flags other than NS_MOREFRAG (NS_REPORT and a
		// high bit; all of them; NS_INDIRECT with NS_MOREFRAG flipped
		// on, joining two packets), read and forwarded.
		{8, 8, 2, 0, 0, opInject, 60, 0, opInject, 200, 0, opInject, 70, 0, opRxSync,
			opRxFlags, 0, 0x02, 0x80, 1, opRxFlags, 1, 0xff, 0xff, 1, opRxFlags, 2, 0x10, 0, 0,
			opAcquire, 9, opReadPacket, 0, 0, 1, 1, opReadPacket, 1, 0, 4, 0, opForward, 9, 3},
		// NS_INDIRECT alone on a one-slot packet, offered to take: no
		// chain.
		{8, 8, 2, 0, 0, opInject, 60, 0, opInject, 61, 0, opRxSync, opRxFlags, 0, 0x10, 0, 1, opForward, 9, 0, opTxSync, 4},
		// The RX ring's num_slots corrupted to 0, then flags written.
		{0, 0, 0, 0, 0, 0x15, 1, 0, 0, 0, 0, 0, 0x1a, 5, 1, 0, 1},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &opStream{b: data}
		cfg := &heapmem.Config{
			TxSlots:   fuzzSlots(in.u8()),
			RxSlots:   fuzzSlots(in.u8()),
			BufSize:   []int{64, 100, 128, 2048}[in.u8()%4],
			ExtraBufs: in.u8() % 6,
			Guard:     64,
		}
		mode := in.u8() % 3
		r, err := heapmem.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		switch mode {
		case 1:
			err = r.Connect(0, r, 0, heapmem.Copy)
		case 2:
			err = r.Connect(0, r, 0, heapmem.Swap)
		}
		if err != nil {
			t.Fatal(err)
		}
		s := &fuzzState{t: t, r: r, tx: txRing(t, r, 0), rx: rxRing(t, r, 0)}
		if s.x, err = rings.NewExtraBufs(r.Mem, r.IfOff, r.TxRingOff(0), 0); err != nil {
			t.Fatal(err)
		}
		s.bufs = s.allBufs()
		for step := 0; in.more() && step < 2000; step++ {
			s.step(in)
			s.check(step)
		}
		if err := r.CheckGuards(); err != nil {
			t.Fatal(err)
		}
	})
}

// fuzzSlots maps a byte to a ring size: 1 to 40 mostly, and for the top
// 16 values sizes around NETMAP_MAX_FRAGS and beyond, where a chain can
// reach the limit with the ring neither full nor too small for it.
func fuzzSlots(v int) int {
	if v >= 240 {
		return []int{62, 63, 64, 65, 66, 67, 68, 70, 72, 80, 96, 100, 128, 129, 130, 200}[v-240]
	}
	return 1 + v%40
}

// allowed fails the test for an error that corruption cannot explain.
func (s *fuzzState) allowed(err error, what string, also ...error) {
	s.t.Helper()
	if err == nil || errors.Is(err, rings.ErrIntegrity) && (s.badCursors || s.badSlots) {
		return
	}
	for _, a := range also {
		if err == a {
			return
		}
	}
	s.t.Fatalf("%s: unexpected error %v (corrupted cursors %v, slots %v)", what, err, s.badCursors, s.badSlots)
}

// inside fails the test if b does not lie inside the region.
func (s *fuzzState) inside(b []byte, what string) {
	s.t.Helper()
	if len(b) == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(s.r.Mem)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < lo || p+uintptr(cap(b)) > lo+uintptr(len(s.r.Mem)) {
		s.t.Fatalf("%s: slice [%#x, +%d) outside the region [%#x, +%d)", what, p, cap(b), lo, len(s.r.Mem))
	}
	if p < lo+uintptr(s.r.BufOff) {
		s.t.Fatalf("%s: slice in front of the buffer pool", what)
	}
}

func (s *fuzzState) step(in *opStream) {
	t, r := s.t, s.r
	to, ro := r.TxRingOff(0), r.RxRingOff(0)
	switch op := in.u8() % numOps; op {
	case opReserve:
		n, err := s.tx.Reserve(in.u8() % 50)
		s.allowed(err, "Reserve")
		s.tr = n
	case opFill:
		size := in.u8() * 11
		for i := range s.tr {
			b := s.tx.Buf(i)
			s.inside(b, "Buf")
			if b != nil && len(b) != s.tx.BufSize() {
				t.Fatalf("Buf len %d", len(b))
			}
			s.tx.SetLen(i, copy(b[:min(len(b), 65535)], payload(i, size)))
		}
	case opWritePacket:
		i, size := in.u8()%(s.tr+1), in.u16()%(4*r.BufSize+1)
		if in.u8()%8 == 0 {
			size = 65 * r.BufSize
		}
		_, err := s.tx.WritePacket(i, payload(i, size))
		s.allowed(err, "WritePacket", rings.ErrNoSpace, rings.ErrTooLarge)
	case opPublish:
		s.tx.Publish(in.u8() % (s.tr + 1))
		s.tr = 0
	case opTxSync:
		var err error
		if lim := in.u8() % 5; lim == 4 {
			err = r.TxSync(0)
		} else {
			err = r.TxSyncLimit(0, lim)
		}
		if err != nil && !s.badCursors {
			t.Fatalf("the kernel rejected what rings published: %v", err)
		}
	case opRxSync:
		if err := r.RxSync(0); err != nil && !s.badCursors {
			t.Fatalf("the kernel rejected what rings released: %v", err)
		}
	case opInject:
		size := in.u16() % (3*r.BufSize + 1)
		r.Inject(0, payload(size, size))
	case opAcquire:
		n, err := s.rx.Acquire(in.u8() % 50)
		s.allowed(err, "Acquire")
		s.ra = n
	case opPackets:
		for i := range s.ra {
			p, err := s.rx.Packet(i)
			s.allowed(err, "Packet")
			s.inside(p, "Packet")
			if len(p) > r.BufSize || cap(p) != len(p) {
				t.Fatalf("Packet len %d cap %d", len(p), cap(p))
			}
			_ = s.rx.Flags(i)
		}
	case opReadPacket:
		if s.ra == 0 {
			return
		}
		i, dst := in.u8()%s.ra, make([]byte, in.u16()%(4*r.BufSize+1))
		if in.u8()%4 == 0 {
			dst = make([]byte, (abi.NETMAP_MAX_FRAGS+1)*r.BufSize)
		}
		exact := !s.badCursors && !s.badSlots
		var pre ringSnap
		if exact {
			pre = s.snapRing(r.RxRingOff(0))
		}
		n, used, err := s.rx.ReadPacket(i, dst)
		if exact {
			// Integrity errors too: for chains too long or
			// filling the ring.
			s.checkReadPacket(pre, i, dst, n, used, err)
		} else {
			s.allowed(err, "ReadPacket", io.ErrShortBuffer, rings.ErrIncomplete)
		}
		if used < 0 || used > s.ra-i || used > abi.NETMAP_MAX_FRAGS || n < 0 || n > used*r.BufSize {
			t.Fatalf("ReadPacket: %d bytes %d slots from %d of %d", n, used, i, s.ra)
		}
		if err == nil && (n > len(dst) || used == 0) {
			t.Fatalf("ReadPacket: %d bytes %d slots", n, used)
		}
	case opRelease:
		s.rx.Release(in.u8() % (s.ra + 1))
		s.ra = 0
	case opReleaseHold:
		s.rx.ReleaseHold(in.u8() % (s.ra + 1))
		s.ra = 0
	case opSwap:
		if s.tr == 0 || s.ra == 0 {
			return
		}
		s.allowed(s.tx.Swap(in.u8()%s.tr, s.rx, in.u8()%s.ra), "Swap")
	case opExtraGet:
		idx, err := s.x.Get()
		s.allowed(err, "Get", rings.ErrNoBuffers)
		if err == nil {
			b, err := s.x.Buf(idx)
			if err != nil {
				t.Fatalf("Buf of a buffer from Get: %v", err)
			}
			s.inside(b, "ExtraBufs.Buf")
			s.held = append(s.held, idx)
		}
	case opExtraPut:
		if len(s.held) == 0 {
			// Put something that is not ours: always refused.
			if err := s.x.Put(uint32(in.u8() % 2)); err == nil {
				t.Fatal("Put of a reserved buffer accepted")
			}
			return
		}
		idx := s.held[len(s.held)-1]
		err := s.x.Put(idx)
		s.allowed(err, "Put")
		if err == nil {
			s.held = s.held[:len(s.held)-1]
		}
	case opSwapBuf:
		if len(s.held) == 0 {
			return
		}
		idx := s.held[len(s.held)-1]
		var old uint32
		var err error
		if in.u8()%2 == 0 {
			if s.tr == 0 {
				return
			}
			old, err = s.tx.SwapBuf(in.u8()%s.tr, idx)
		} else {
			if s.ra == 0 {
				return
			}
			old, err = s.rx.SwapBuf(in.u8()%s.ra, idx)
		}
		s.allowed(err, "SwapBuf")
		if err == nil {
			s.held[len(s.held)-1] = old
		}
	case opQuery:
		nt, nr := s.tx.NumSlots(), s.rx.NumSlots()
		if sp, fl, pe := s.tx.Space(), s.tx.InFlight(), s.rx.Pending(); sp < 0 || sp >= nt || fl < 0 || fl >= nt || pe < 0 || pe >= nr && nr > 1 {
			t.Fatalf("Space %d InFlight %d Pending %d", sp, fl, pe)
		}
		_ = s.rx.Timestamp()
		_ = s.x.Len()
		if a, b := s.tx.Prefault(), s.rx.Prefault(); a < 0 || a > nt || b < 0 || b > nr {
			t.Fatalf("Prefault: %d of %d TX slots, %d of %d RX slots", a, nt, b, nr)
		}
	case opView:
		pkts := make([][]byte, in.u8()%50)
		for i := range pkts {
			pkts[i] = []byte{1} // must be overwritten
		}
		n, err := s.rx.View(pkts)
		s.allowed(err, "View")
		s.ra = n
		for i, p := range pkts[:n] {
			s.inside(p, "View")
			q, perr := s.rx.Packet(i)
			if len(p) != len(q) || (p == nil) != (perr != nil) || len(p) > 0 && &p[0] != &q[0] {
				t.Fatalf("View[%d] and Packet(%d) differ", i, i)
			}
		}
	case opForward:
		lim, sel := in.u8()%70, in.u8()%4
		// While nothing is corrupted the model predicts the whole call.
		exact := !s.badCursors && !s.badSlots
		var pre fwdSnap
		if exact {
			pre = s.snapForward()
		}
		var offered [][]byte
		take := func(p []byte) bool {
			s.inside(p, "Forward's take")
			offered = append(offered, p)
			return len(p)%3 == sel
		}
		if sel == 3 {
			take = nil
		}
		f, err := rings.Forward(s.tx, s.rx, lim, take)
		if !exact {
			s.allowed(err, "Forward")
		}
		// Forward starts again with room for the longest chain when
		// the acquisition ends inside the chain that starts it.
		if f.Acquired < 0 || f.Acquired > max(lim, abi.NETMAP_MAX_FRAGS) ||
			f.Taken+f.Sent+f.Dropped+f.Bad+f.Held != f.Acquired || min(f.Taken, f.Sent, f.Dropped, f.Bad, f.Held) < 0 {
			t.Fatalf("Forward(%d): %+v", lim, f)
		}
		if exact {
			s.checkForward(pre, lim, sel, f, err, offered)
		}
		s.tr, s.ra = 0, 0
	case opInjectFrags:
		// A chain of one-slot fragments, possibly without its end.
		cnt, size, more := 1+in.u8()%45, in.u8(), in.u8()%2 == 1
		frags := make([][]byte, cnt)
		for j := range frags {
			frags[j] = payload(j, (size+j)%(r.BufSize+1))
		}
		r.InjectFrags(0, frags, more)
	case opRxFlags:
		// The kernel writes flag bits other than NS_MOREFRAG into an
		// RX slot (and sometimes flips NS_MOREFRAG, reshaping the
		// chains): legal states, which change nothing but the chains.
		n := max(int(r.U32(ro+abi.RingNumSlots)), 1) // 0 after opCorruptHeader
		sl, v := in.u8()%n, uint16(in.u16())
		so := heapmem.SlotOff(ro, sl) + abi.SlotFlags
		fl := r.U16(so)&abi.NS_MOREFRAG | v&^abi.NS_MOREFRAG
		if in.u8()%4 == 0 {
			fl ^= abi.NS_MOREFRAG
		}
		r.PutU16(so, fl)
	case opInjectLong:
		// A chain around NETMAP_MAX_FRAGS slots, possibly without its
		// end.
		cnt, size, more := 60+in.u8()%8, in.u8(), in.u8()%2 == 1
		frags := make([][]byte, cnt)
		for j := range frags {
			frags[j] = payload(j, (size+j)%(r.BufSize+1))
		}
		r.InjectFrags(0, frags, more)
	case opAcquireLong:
		n, err := s.rx.Acquire(50 + in.u8()%100)
		s.allowed(err, "Acquire")
		s.ra = n
	case opReset:
		s.allowed(s.tx.Reset(), "TxRing.Reset")
		s.allowed(s.rx.Reset(), "RxRing.Reset")
		s.tr, s.ra = 0, 0
	case opRebuild:
		// Views built afresh over the (possibly corrupted) shared state.
		if tx, err := rings.NewTxRing(r.Mem, to); err == nil {
			s.tx, s.tr = tx, 0
		} else {
			s.allowed(err, "NewTxRing")
		}
		if rx, err := rings.NewRxRing(r.Mem, ro); err == nil {
			s.rx, s.ra = rx, 0
		} else {
			s.allowed(err, "NewRxRing")
		}
		if x, err := rings.NewExtraBufs(r.Mem, r.IfOff, to, 0); err == nil {
			s.x = x
		} else {
			s.allowed(err, "NewExtraBufs")
		}
	case opCorruptCursor:
		off := []int{to, ro}[in.u8()%2] + []int{abi.RingHead, abi.RingCur, abi.RingTail}[in.u8()%3]
		r.PutU32(off, in.u32())
		s.badCursors = true
	case opCorruptSlot:
		ringOff, n := to, r.U32(to+abi.RingNumSlots)
		if in.u8()%2 == 1 {
			ringOff, n = ro, r.U32(ro+abi.RingNumSlots)
		}
		so := heapmem.SlotOff(ringOff, in.u8()%int(max(n, 1)))
		switch v := in.u32(); in.u8() % 3 {
		case 0:
			r.PutU32(so+abi.SlotBufIdx, v)
		case 1:
			r.PutU16(so+abi.SlotLen, uint16(v))
		case 2:
			r.PutU16(so+abi.SlotFlags, uint16(v))
		}
		s.badSlots = true
	case opCorruptExtra:
		v := in.u32()
		if l := r.ExtraList(); len(l) > 0 && in.u8()%2 == 0 {
			r.PutU32(r.BufOff+int(l[int(v)%len(l)])*r.BufSize, in.u32())
		} else {
			r.SetBufsHead(v)
		}
		s.badSlots = true
	case opCorruptHeader:
		// Constant header fields: only views built afterwards read them.
		off := []int{to, ro}[in.u8()%2]
		switch v := in.u32(); in.u8() % 4 {
		case 0:
			r.PutU32(off+abi.RingNumSlots, v)
		case 1:
			r.PutU32(off+abi.RingBufSize, v)
		case 2:
			r.PutU64(off+abi.RingBufOfs, uint64(v)|uint64(in.u32())<<32)
		case 3:
			r.PutU64(off+abi.RingOffsetMask, uint64(v))
		}
		s.badSlots, s.badCursors = true, true // the simulator keeps the old geometry
	}
}

// check verifies the invariants that hold while nothing was corrupted.
func (s *fuzzState) check(step int) {
	t, r := s.t, s.r
	if !s.badCursors {
		for _, c := range []struct {
			tx   bool
			off  int
			name string
		}{{true, r.TxRingOff(0), "tx"}, {false, r.RxRingOff(0), "rx"}} {
			n := r.U32(c.off + abi.RingNumSlots)
			h, cur, tl := r.U32(c.off+abi.RingHead), r.U32(c.off+abi.RingCur), r.U32(c.off+abi.RingTail)
			hwcur, hwtail := r.HW(c.tx, 0)
			d := func(a, b uint32) uint32 { return (b + n - a) % n }
			// tail is the kernel's hwtail as of the last sync; on RX the
			// kernel's hwtail runs ahead as packets arrive.
			if h >= n || cur >= n || tl >= n || c.tx && (h != cur || tl != hwtail) ||
				d(hwcur, h) > d(hwcur, cur) || d(hwcur, cur) > d(hwcur, tl) || d(hwcur, tl) > d(hwcur, hwtail) {
				t.Fatalf("step %d %s: hwcur %d head %d cur %d tail %d hwtail %d (n %d)", step, c.name, hwcur, h, cur, tl, hwtail, n)
			}
			if c.tx && (s.tx.Space() != int(d(h, tl)) || s.tx.InFlight() != int(n-1-d(h, tl))) {
				t.Fatalf("step %d: Space %d InFlight %d, head %d tail %d", step, s.tx.Space(), s.tx.InFlight(), h, tl)
			}
			if !c.tx && s.rx.Pending() != int(d(h, tl)) {
				t.Fatalf("step %d: Pending %d, head %d tail %d", step, s.rx.Pending(), h, tl)
			}
		}
	}
	if !s.badSlots && !s.badCursors {
		if got := s.allBufs(); !slices.Equal(got, s.bufs) {
			t.Fatalf("step %d: buffers lost or duplicated:\n got %v\nwant %v", step, got, s.bufs)
		}
		if s.x.Len() != len(r.ExtraList()) {
			t.Fatalf("step %d: ExtraBufs.Len %d, list %d", step, s.x.Len(), len(r.ExtraList()))
		}
	}
}

// allBufs lists the buffer indices in every slot, in the extra list and
// held by the test, sorted.
func (s *fuzzState) allBufs() []uint32 {
	r := s.r
	var l []uint32
	for i := range r.NumTx() + r.NumRx() {
		off := 0
		if i < r.NumTx() {
			off = r.TxRingOff(i)
		} else {
			off = r.RxRingOff(i - r.NumTx())
		}
		for j := range int(r.U32(off + abi.RingNumSlots)) {
			l = append(l, r.U32(heapmem.SlotOff(off, j)))
		}
	}
	l = append(l, r.ExtraList()...)
	l = append(l, s.held...)
	slices.Sort(l)
	return l
}

// String helps when a fuzz failure is reported.
func (s *fuzzState) String() string {
	return fmt.Sprintf("tr %d ra %d held %v", s.tr, s.ra, s.held)
}

// slotVal is one slot as the model reads it.
type slotVal struct {
	idx        uint32
	len, flags uint16
}

// ringSnap is one ring's cursors and slots as the model reads them.
type ringSnap struct {
	head, cur, tail uint32
	slots           []slotVal
}

func (s *fuzzState) snapRing(off int) ringSnap {
	r := s.r
	rs := ringSnap{head: r.U32(off + abi.RingHead), cur: r.U32(off + abi.RingCur), tail: r.U32(off + abi.RingTail)}
	for j := range int(r.U32(off + abi.RingNumSlots)) {
		so := heapmem.SlotOff(off, j)
		rs.slots = append(rs.slots, slotVal{r.U32(so + abi.SlotBufIdx), r.U16(so + abi.SlotLen), r.U16(so + abi.SlotFlags)})
	}
	return rs
}

// fwdSnap is both rings before a Forward.
type fwdSnap struct{ tx, rx ringSnap }

func (s *fuzzState) snapForward() fwdSnap {
	return fwdSnap{s.snapRing(s.r.TxRingOff(0)), s.snapRing(s.r.RxRingOff(0))}
}

// pkt is one packet of the received slots as the model splits them: it
// starts at slot start (counted from rx head) and spans n slots.
type pkt struct {
	start, n int
	// bad: the chain runs over NETMAP_MAX_FRAGS slots; n is the 64
	// slots that prove it.
	bad bool
	// open: no slot without NS_MOREFRAG ends it among those seen.
	open bool
}

// splitPkts splits the seen slots from slot 0 into packets, by the rule
// and nothing else: a packet ends at its first slot without NS_MOREFRAG;
// 64 slots with NS_MOREFRAG are a bad chain (the next slot starts a new
// packet); slots with NS_MOREFRAG up to the last seen are an open chain.
// It is written apart from Forward and ReadPacket, as an oracle for both.
func splitPkts(more []bool) []pkt {
	var ps []pkt
	for i := 0; i < len(more); {
		p := pkt{start: i}
		for p.n < len(more)-i && p.n < abi.NETMAP_MAX_FRAGS {
			p.n++
			if !more[i+p.n-1] {
				break
			}
		}
		last := more[i+p.n-1]
		p.bad = last && p.n == abi.NETMAP_MAX_FRAGS
		p.open = last && !p.bad
		ps = append(ps, p)
		i += p.n
	}
	return ps
}

// fwdModel is what Forward should do to the rings of pre: the counts, the
// RX slots (positions after rx head) offered to take, and the RX slots
// sent, in TX order. The rule, from Forward's documentation: acquire
// a = min(lim, available) slots; if the first packet does not end inside
// them because lim cut it (lim < 64), acquire min(64, available) instead.
// Then, packet by packet: a bad chain is Bad; a packet take keeps is
// Taken; one the free TX slots cannot hold whole is Dropped whole; the
// rest is Sent. A packet not complete within the acquisition ends the
// batch: Held, unless the slots seen of it fill the ring (num_slots - 1),
// which no sync can change: Bad.
func fwdModel(pre fwdSnap, lim, sel int) (w rings.Forwarded, offered, sent []int) {
	n, nt := len(pre.rx.slots), len(pre.tx.slots)
	avail := int((pre.rx.tail + uint32(n) - pre.rx.head) % uint32(n))
	space := int((pre.tx.tail + uint32(nt) - pre.tx.head) % uint32(nt))
	rx := func(i int) slotVal { return pre.rx.slots[(int(pre.rx.head)+i)%n] }
	takes := func(i int) bool { return sel != 3 && int(rx(i).len)%3 == sel }
	cut := func(p pkt, a int) bool { return p.open || p.start+p.n > a }
	more := make([]bool, avail)
	for i := range more {
		more[i] = rx(i).flags&abi.NS_MOREFRAG != 0
	}
	ps := splitPkts(more)
	a := min(lim, avail)
	if a == 0 {
		return
	}
	if cut(ps[0], a) && a == lim && lim < abi.NETMAP_MAX_FRAGS && a < n-1 {
		a = min(abi.NETMAP_MAX_FRAGS, avail)
	}
	w.Acquired = a
	room := min(a, space)
	for _, p := range ps {
		if p.start >= a {
			break
		}
		if cut(p, a) {
			if seen := a - p.start; seen >= n-1 {
				w.Bad += seen
			} else {
				w.Held = seen
			}
			break
		}
		if p.bad {
			w.Bad += p.n
			continue
		}
		offered = append(offered, p.start)
		switch {
		case takes(p.start):
			w.Taken += p.n
		case room-len(sent) < p.n:
			w.Dropped += p.n
		default:
			for j := range p.n {
				sent = append(sent, p.start+j)
			}
			w.Sent += p.n
		}
	}
	return
}

// checkReadPacket compares ReadPacket(i, dst) over an uncorrupted RX ring
// (pre, with s.ra slots acquired) with the rule: the packet that starts at
// i is read whole, or is a bad chain (an integrity error over its 64
// slots), or is open: ErrIncomplete, unless the slots seen fill the ring.
func (s *fuzzState) checkReadPacket(pre ringSnap, i int, dst []byte, n, used int, err error) {
	t, r := s.t, s.r
	t.Helper()
	ns := len(pre.slots)
	slot := func(j int) slotVal { return pre.slots[(int(pre.head)+j)%ns] }
	more := make([]bool, s.ra-i)
	for j := range more {
		more[j] = slot(i+j).flags&abi.NS_MOREFRAG != 0
	}
	p := splitPkts(more)[0]
	var wn, wused int
	var werr error
	switch {
	case p.bad:
		wused, werr = p.n, rings.ErrIntegrity
	case p.open && p.n >= ns-1:
		wused, werr = p.n, rings.ErrIntegrity
	case p.open:
		werr = rings.ErrIncomplete
	default:
		var whole []byte
		for j := range p.n {
			sv := slot(i + j)
			whole = append(whole, r.Buf(sv.idx)[:sv.len]...)
		}
		wn, wused = len(whole), p.n
		if wn > len(dst) {
			werr = io.ErrShortBuffer
		}
		if !bytes.Equal(dst[:min(wn, len(dst))], whole[:min(wn, len(dst))]) {
			t.Fatalf("ReadPacket(%d): the bytes differ from the packet's fragments", i)
		}
	}
	if n != wn || used != wused || !errors.Is(err, werr) {
		t.Fatalf("ReadPacket(%d) of %d acquired = %d bytes %d slots, %v; the model says %d %d %v", i, s.ra, n, used, err, wn, wused, werr)
	}
}

// checkForward compares a Forward over uncorrupted rings with the model:
// the counts, the error, the packets offered to take, the cursors
// (including the cur a hold leaves) and every slot of both rings.
func (s *fuzzState) checkForward(pre fwdSnap, lim, sel int, f rings.Forwarded, err error, offered [][]byte) {
	t, r := s.t, s.r
	t.Helper()
	w, wOffered, sent := fwdModel(pre, lim, sel)
	if f != w || (err != nil) != (w.Bad > 0) || err != nil && !errors.Is(err, rings.ErrIntegrity) {
		t.Fatalf("Forward(%d, take %d) = %+v, %v; the model says %+v", lim, sel, f, err, w)
	}
	n, nt := len(pre.rx.slots), len(pre.tx.slots)
	rxPos := func(i int) int { return (int(pre.rx.head) + i) % n }
	if sel == 3 {
		wOffered = nil
	}
	if len(offered) != len(wOffered) {
		t.Fatalf("Forward offered %d packets to take, the model %d", len(offered), len(wOffered))
	}
	for j, i := range wOffered {
		sl := pre.rx.slots[rxPos(i)]
		if b := r.Buf(sl.idx)[:sl.len]; len(offered[j]) != len(b) || len(b) > 0 && &offered[j][0] != &b[0] {
			t.Fatalf("offer %d: not the first slot of packet %d", j, i)
		}
	}
	post := s.snapForward()
	// The RX ring: head past what was released; cur past the held
	// slots too.
	wrx := pre.rx
	if w.Acquired > 0 {
		wrx.head = uint32(rxPos(w.Acquired - w.Held))
		wrx.cur = uint32(rxPos(w.Acquired))
		if w.Held == 0 {
			wrx.cur = wrx.head
		}
	}
	wtx := pre.tx
	wtx.head = uint32((int(pre.tx.head) + len(sent)) % nt)
	wtx.cur = wtx.head
	wrx.slots, wtx.slots = slices.Clone(pre.rx.slots), slices.Clone(pre.tx.slots)
	for j, i := range sent {
		tp, rp := (int(pre.tx.head)+j)%nt, rxPos(i)
		ts, rs := pre.tx.slots[tp], pre.rx.slots[rp]
		wtx.slots[tp] = slotVal{rs.idx, rs.len, rs.flags&abi.NS_MOREFRAG | abi.NS_BUF_CHANGED}
		wrx.slots[rp] = slotVal{ts.idx, rs.len, rs.flags | abi.NS_BUF_CHANGED}
	}
	for _, c := range []struct {
		name      string
		got, want ringSnap
	}{{"tx", post.tx, wtx}, {"rx", post.rx, wrx}} {
		if c.got.head != c.want.head || c.got.cur != c.want.cur || c.got.tail != c.want.tail {
			t.Fatalf("after Forward(%d) = %+v: %s head %d cur %d tail %d, the model says %d %d %d",
				lim, f, c.name, c.got.head, c.got.cur, c.got.tail, c.want.head, c.want.cur, c.want.tail)
		}
		for j := range c.got.slots {
			if c.got.slots[j] != c.want.slots[j] {
				t.Fatalf("after Forward(%d) = %+v: %s slot %d is %+v, the model says %+v",
					lim, f, c.name, j, c.got.slots[j], c.want.slots[j])
			}
		}
	}
}
