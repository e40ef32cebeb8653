package rings

import (
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
)

// TxRing is the user side of one netmap TX ring: a view over the ring's
// header, slots and buffers inside a mapped region.
//
// A batch is Reserve, then filling the reserved slots (Buf and SetLen,
// WritePacket, or Swap / SwapBuf for zero copy), then Publish. Publish only
// writes head and cur; the kernel sees the packets at the port's next TX
// sync (nmsys Port.TxSync, or a poll), which also reclaims sent slots.
//
// A TxRing is not safe for concurrent use: one goroutine at a time may own
// it, as netmap allows one thread per ring. Different rings, even of the
// same region, may be used concurrently.
type TxRing struct {
	ring
}

// NewTxRing returns a view of the netmap TX ring at byte offset off of the
// mapped region mem (the whole region: netmap_if, rings and buffer pool).
// It checks that the ring header and its slot array lie inside mem, that
// the ring is 8-byte aligned, that num_slots, nr_buf_size and buf_ofs are
// sane and that head <= cur <= tail. Failures are [*IntegrityError]s.
//
// mem must stay valid (mapped) for as long as the TxRing is used.
func NewTxRing(mem []byte, off int) (*TxRing, error) {
	r := new(TxRing)
	if err := parseRing(&r.ring, mem, off, dirTx); err != nil {
		return nil, err
	}
	if err := r.reset(); err != nil {
		return nil, err
	}
	return r, nil
}

// NumSlots returns num_slots, the size of the ring.
func (r *TxRing) NumSlots() int { return int(r.n) }

// BufSize returns the size in bytes of each buffer (nr_buf_size).
func (r *TxRing) BufSize() int { return int(r.size) }

// Space returns the number of free slots, from one read of tail: how many
// Reserve could hand out now. A tail that is out of range or moved
// backwards reads as no space; Reserve reports it as an error.
func (r *TxRing) Space() int { n, _ := r.peek(); return n }

// InFlight returns the number of published slots the kernel has not yet
// reclaimed (netmap's nm_tx_pending, as a count). Drain a ring before
// closing the port by syncing until it is 0. A bad tail reads as 0.
func (r *TxRing) InFlight() int {
	free, ok := r.peek()
	if !ok {
		return 0
	}
	return int(r.n) - 1 - free
}

// Reserve reads tail once and reserves up to n free slots starting at
// head, returning how many it reserved (0 when the ring is full). Reserved
// slots are addressed as 0..reserved-1 by the other methods until Publish.
// A new Reserve replaces an unpublished reservation.
//
// Reserve checks the buffer index of every slot it reserves. If a slot's
// buf_idx is outside the buffer pool, the reservation stops before it and
// an [*IntegrityError] is returned with the count of good slots before it;
// those may be used. A bad tail reserves nothing and returns an
// [*IntegrityError].
func (r *TxRing) Reserve(n int) (int, error) {
	r.batch = nil
	avail, err := r.avail()
	if err != nil || n <= 0 {
		return 0, err
	}
	k := uint32(min(uint(n), uint(avail)))
	// Locals, so that the loop keeps them in registers: per slot it loads
	// buf_idx and nothing else.
	slots, lo, span, ns, p := r.slots, r.lo, r.hi-r.lo, r.n, r.head
	for i := uint32(0); i < k; i++ {
		if idx := slotAt(slots, p).BufIdx; !inPool(idx, lo, span) {
			checkFailed()
			r.batch = r.all[:i:i]
			return int(i), r.bufErr(p, idx)
		}
		if p++; p == ns {
			p = 0
		}
	}
	r.batch = r.all[:k:k]
	return int(k), nil
}

// Buf returns the whole buffer of reserved slot i (len and cap are
// BufSize) for the caller to fill. It aliases ring memory: it is valid
// until Publish (after which the kernel owns it) or the next Reserve, and
// must not be used after that. Buf re-checks the slot's buf_idx and
// returns nil if it has changed to an invalid index since Reserve (which a
// well-behaved kernel never does).
//
// i must be in [0, reserved); otherwise Buf panics.
func (r *TxRing) Buf(i int) []byte {
	// Spelled out so that it inlines: pos, slot and buf.
	_ = r.batch[i]
	p := r.head + uint32(i)
	if p >= r.n {
		p -= r.n
	}
	idx := *(*uint32)(unsafe.Add(r.slots, uintptr(p)*abi.SlotSize))
	if idx-r.lo >= r.hi-r.lo {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(r.bufp, uintptr(idx)*uintptr(r.size))), r.size)
}

// SetLen sets the length of the packet in reserved slot i and marks it as
// a whole packet (or the last fragment): NS_MOREFRAG is cleared, other
// flags are kept. It panics if i is not in [0, reserved) or n is not in
// [0, min(BufSize, 65535)].
func (r *TxRing) SetLen(i, n int) {
	s := r.slot(r.pos(i))
	if uint(n) > uint(r.maxFrag) {
		panic("rings: SetLen length out of range")
	}
	s.Len = uint16(n)
	s.Flags &^= abi.NS_MOREFRAG
}

// SetLens sets the length of each of the first n reserved slots to l, as
// SetLen(i, l) does for each i in [0, n), in one pass: for senders of
// fixed-size frames whose buffers already hold them, this is the whole
// per-packet work. It panics if n is not in [0, reserved] or l is not in
// [0, min(BufSize, 65535)].
func (r *TxRing) SetLens(n, l int) {
	_ = r.batch[:n]
	if uint(l) > uint(r.maxFrag) {
		panic("rings: SetLens length out of range")
	}
	slots, ns, p := r.slots, r.n, r.head
	for range n {
		s := slotAt(slots, p)
		s.Len = uint16(l)
		s.Flags &^= abi.NS_MOREFRAG
		if p++; p == ns {
			p = 0
		}
	}
}

// SetFlags sets the NS_* flags of reserved slot i, for example NS_REPORT.
// NS_BUF_CHANGED, if already set by a swap, is kept so the kernel still
// sees the buffer change. It panics if i is not in [0, reserved).
func (r *TxRing) SetFlags(i int, flags uint16) {
	s := r.slot(r.pos(i))
	s.Flags = flags | s.Flags&abi.NS_BUF_CHANGED
}

// WritePacket copies pkt into the reserved slots starting at i, using as
// many slots as it needs (ceil(len/BufSize), at least one) chained with
// NS_MOREFRAG, and returns that count. It returns ErrNoSpace if the
// reservation has fewer slots left from i (i == reserved is allowed and
// gives ErrNoSpace), ErrTooLarge if pkt needs more than NETMAP_MAX_FRAGS
// slots, and an [*IntegrityError] if a slot's buffer index went bad since
// Reserve. On error nothing is reserved slot-wise; the slots may hold
// partial data and should be overwritten or not published.
func (r *TxRing) WritePacket(i int, pkt []byte) (int, error) {
	_ = r.batch[i:]
	fs := int(r.maxFrag)
	cnt := (len(pkt) + fs - 1) / fs
	if cnt == 0 {
		cnt = 1
	}
	if cnt > abi.NETMAP_MAX_FRAGS {
		return 0, ErrTooLarge
	}
	if cnt > len(r.batch)-i {
		return 0, ErrNoSpace
	}
	p := r.pos(i)
	for j := 1; ; j++ {
		s := r.slot(p)
		idx := s.BufIdx
		b := r.buf(idx, fs)
		if b == nil {
			checkFailed()
			return 0, r.bufErr(p, idx)
		}
		m := copy(b, pkt)
		pkt = pkt[m:]
		s.Len = uint16(m)
		if j == cnt {
			s.Flags &^= abi.NS_MOREFRAG
			return cnt, nil
		}
		s.Flags |= abi.NS_MOREFRAG
		if p++; p == r.n {
			p = 0
		}
	}
}

// Swap moves the packet (or fragment) in slot j of rx's acquired batch
// into reserved slot i of r without copying: the two slots exchange buffer
// indices, slot i takes the length and the NS_MOREFRAG flag of slot j, and
// both get NS_BUF_CHANGED. Slot j then holds r's old (free) buffer and is
// returned to the kernel by rx.Release as usual. The rings must share one
// buffer pool (be views of one region), else ErrOtherRegion. A bad buffer
// index or length in either slot gives an [*IntegrityError] and changes
// nothing.
//
// i and j must be inside the current reservation and acquisition, else
// Swap panics.
func (r *TxRing) Swap(i int, rx *RxRing, j int) error {
	if !r.same(&rx.pool) {
		return ErrOtherRegion
	}
	tp, rp := r.pos(i), rx.pos(j)
	ts, rs := r.slot(tp), rx.slot(rp)
	ridx, rlen, rfl := rs.BufIdx, rs.Len, rs.Flags
	if !rx.valid(ridx) || uint32(rlen) > rx.size {
		checkFailed()
		return rx.slotErr(rp, ridx, rlen)
	}
	tidx := ts.BufIdx
	if !r.valid(tidx) {
		checkFailed()
		return r.bufErr(tp, tidx)
	}
	ts.BufIdx, ts.Len, ts.Flags = ridx, rlen, rfl&abi.NS_MOREFRAG|abi.NS_BUF_CHANGED
	rs.BufIdx = tidx
	rs.Flags |= abi.NS_BUF_CHANGED
	return nil
}

// SwapBuf puts buffer idx (for example one taken from [ExtraBufs.Get])
// into reserved slot i, sets NS_BUF_CHANGED, and returns the buffer the
// slot held, which now belongs to the caller (return it with
// [ExtraBufs.Put] or swap it into another slot). Both indices are checked
// against the buffer pool; on error nothing changes. It panics if i is not
// in [0, reserved).
func (r *TxRing) SwapBuf(i int, idx uint32) (uint32, error) {
	return r.swapBuf(r.pos(i), idx)
}

// Publish hands the first n reserved slots to the kernel by advancing head
// and cur past them (two atomic stores) and ends the reservation; the rest
// of it is dropped. The kernel sends them at the next TX sync of the port,
// which the caller must issue (Publish makes no system call). Buffers of
// published slots must no longer be touched. Publish panics if n is not in
// [0, reserved].
func (r *TxRing) Publish(n int) { r.advance(n) }

// Reset adopts head, cur and tail as they now are in shared memory,
// dropping any reservation, after checking them as NewTxRing does. Use it
// after an integrity error once the ring is known to be sane again (for
// example after the kernel reinitialised it).
func (r *TxRing) Reset() error { return r.reset() }
