package rings_test

import (
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
// tail, cyclically, head == cur on TX; the kernel never rejects what rings published) and
// that no buffer index is lost or duplicated.
func FuzzRingOps(f *testing.F) {
	for _, s := range [][]byte{
		{},
		{7, 9, 0, 0, opReserve, 5, opFill, 60, opPublish, 3, opTxSync, 9, opRxSync, opAcquire, 9, opPackets, opRelease, 9},
		{40, 40, 1, 1, opInject, 100, 1, opInject, 200, 0, opRxSync, opAcquire, 50, opReadPacket, 0, 0, 4, opSwapBuf, 1, 0, opRelease, 50},
		{3, 5, 2, 3, opExtraGet, opReserve, 2, opSwapBuf, 0, 0, opExtraPut, opPublish, 2, opTxSync, 1, opExtraGet, opExtraPut},
		{10, 10, 3, 1, opReserve, 9, opWritePacket, 0, 0, 2, opPublish, 9, opTxSync, 0, opRxSync, opAcquire, 9, opReserve, 9, opSwap, 0, 0, opPublish, 1, opRelease, 1},
		{8, 8, 0, 2, opCorruptCursor, 2, 200, 0, 0, 0, opReserve, 3, opAcquire, 3, opReset, opRebuild, opQuery},
		{8, 8, 0, 2, opCorruptSlot, 1, 3, 1, 0, 0, 0, opInject, 10, 0, opRxSync, opAcquire, 5, opPackets, opReadPacket, 0, 0, 1},
		{8, 8, 0, 4, opCorruptExtra, 1, 7, 0, 0, 0, opExtraGet, opExtraGet, opExtraGet, opCorruptHeader, 3, 1, 0, 0, 0, 0, 0, 0, 0, opRebuild},
		{20, 20, 1, 0, opInject, 100, 1, opInject, 0, 2, opRxSync, opForward, 2, 1, opTxSync, 4, opInject, 44, 0, opRxSync, opForward, 9, 3, opTxSync, 4, opRxSync},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &opStream{b: data}
		cfg := &heapmem.Config{
			TxSlots:   1 + in.u8()%40,
			RxSlots:   1 + in.u8()%40,
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
		n, used, err := s.rx.ReadPacket(i, dst)
		s.allowed(err, "ReadPacket", io.ErrShortBuffer, rings.ErrIncomplete)
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
		take := func(p []byte) bool {
			s.inside(p, "Forward's take")
			return len(p)%3 == sel
		}
		if sel == 3 {
			take = nil
		}
		f, err := rings.Forward(s.tx, s.rx, lim, take)
		s.allowed(err, "Forward")
		// Forward starts again with room for the longest chain when
		// the acquisition ends inside the chain that starts it.
		if f.Acquired < 0 || f.Acquired > max(lim, abi.NETMAP_MAX_FRAGS) ||
			f.Taken+f.Sent+f.Dropped+f.Bad+f.Held != f.Acquired || min(f.Taken, f.Sent, f.Dropped, f.Bad, f.Held) < 0 {
			t.Fatalf("Forward(%d): %+v", lim, f)
		}
		s.tr, s.ra = 0, 0
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
