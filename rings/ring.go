package rings

import (
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
)

// Limits applied to ring headers at construction.
const (
	maxSlots   = 1 << 24 // far above any netmap ring; keeps cursor sums in uint32
	minBufSize = 64      // netmap's smallest buffer object
	maxBufSize = 65536   // netmap's largest; slot.len is 16 bits anyway
)

// pool is the geometry of a region's buffer pool as one ring header
// describes it, validated against the region.
type pool struct {
	mem     []byte
	bufp    unsafe.Pointer // &mem[base]
	base    int            // offset of buffer 0 in mem
	size    uint32         // nr_buf_size
	lo, hi  uint32         // valid buffer indices are [lo, hi)
	maxFrag uint32         // bytes one slot can carry: min(size, 65535)
}

// valid reports whether idx is a buffer index inside the pool.
func (p *pool) valid(idx uint32) bool { return inPool(idx, p.lo, p.hi-p.lo) }

// inPool reports whether idx is in [lo, lo+span): one compare, for loops
// that keep lo and span in registers.
func inPool(idx, lo, span uint32) bool { return idx-lo < span }

// buf returns buffer idx with len and cap n, or nil if idx is outside the
// pool. n must not exceed p.size. valid(idx) proves the buffer lies inside
// mem: hi was computed as the number of whole buffers between base and
// len(mem).
func (p *pool) buf(idx uint32, n int) []byte {
	if !p.valid(idx) {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(p.bufp, uintptr(idx)*uintptr(p.size))), n)
}

// same reports whether q describes the same buffer pool as p.
func (p *pool) same(q *pool) bool {
	return unsafe.SliceData(p.mem) == unsafe.SliceData(q.mem) && p.base == q.base && p.size == q.size
}

// ring is what TxRing and RxRing share: the validated view of one
// netmap_ring and the private cursors.
type ring struct {
	pool
	errSink
	hdr   *abi.RingHeader
	slots unsafe.Pointer // &slot[0]
	headp *atomic.Uint32
	curp  *atomic.Uint32
	tailp *atomic.Uint32
	n     uint32 // num_slots

	head uint32 // head (and cur) as last published
	tail uint32 // tail as last validated
	// batch has one zero-size element per slot of the current
	// reservation / acquisition (len == cap): indexing it is the bounds
	// check of batch indices (a runtime panic on misuse, and cheap
	// enough for the per-slot methods to inline). all has num_slots
	// elements, and no memory behind them.
	batch []struct{}
	all   []struct{}
}

// parseRing validates the header of the netmap_ring at off in mem and the
// buffer pool it points to; the constructors then check the cursors with
// reset. Everything it reads is hostile: each value is checked before
// any address is derived from it.
func parseRing(r *ring, mem []byte, off int, dir string) error {
	r.errSink = errSink{dir: dir, id: -1}
	if off < 0 || off > len(mem)-abi.RingSlots {
		return r.fail(-1, "ring offset", whyPast, int64(off))
	}
	base := unsafe.Pointer(&mem[off])
	if uintptr(base)%8 != 0 {
		return r.fail(-1, "ring offset", whyAlign, int64(off))
	}
	h := (*abi.RingHeader)(base)
	r.id = int(h.RingID)
	n := h.NumSlots
	if n == 0 || n > maxSlots {
		checkFailed()
		return r.fail(-1, "num_slots", whyRange, int64(n))
	}
	end := int64(off) + abi.RingSlots + int64(n)*abi.SlotSize
	if end > int64(len(mem)) {
		checkFailed()
		return r.fail(-1, "num_slots", whyPast, int64(n))
	}
	bs := h.NrBufSize
	if bs < minBufSize || bs > maxBufSize {
		checkFailed()
		return r.fail(-1, "nr_buf_size", whyBufSize, int64(bs))
	}
	if om := h.OffsetMask; om != 0 {
		checkFailed()
		return r.fail(-1, "offset_mask", whyOffsets, int64(om))
	}
	bo := h.BufOfs
	if bo < -int64(off) || bo >= int64(len(mem)-off) {
		checkFailed()
		return r.fail(-1, "buf_ofs", whyPast, bo)
	}
	bb := int64(off) + bo
	if bb < end {
		// netmap lays the buffer pool out after every ring; a pool
		// starting before this ring's end would let buffer writes land
		// in ring headers or slots.
		checkFailed()
		return r.fail(-1, "buf_ofs", whyOverlap, bo)
	}
	nb := (int64(len(mem)) - bb) / int64(bs)
	nb = min(nb, 1<<32-1)
	if nb <= 2 {
		checkFailed()
		return r.fail(-1, "buf_ofs", whyNoBufs, bo)
	}
	r.pool = pool{mem: mem, bufp: unsafe.Pointer(&mem[bb]), base: int(bb), size: bs, lo: 2, hi: uint32(nb), maxFrag: min(bs, 65535)}
	r.hdr = h
	r.n = n
	r.slots = unsafe.Add(base, abi.RingSlots)
	r.headp = (*atomic.Uint32)(unsafe.Add(base, abi.RingHead))
	r.curp = (*atomic.Uint32)(unsafe.Add(base, abi.RingCur))
	r.tailp = (*atomic.Uint32)(unsafe.Add(base, abi.RingTail))
	r.all = make([]struct{}, n)
	return nil
}

// reset adopts head, cur and tail as they are in shared memory, after
// checking head <= cur <= tail (cyclically, all below num_slots).
func (r *ring) reset() error {
	r.batch = nil
	h, c, t := r.headp.Load(), r.curp.Load(), r.tailp.Load()
	if !abi.CursorsInOrder(h, c, t, r.n) {
		checkFailed()
	}
	switch {
	case h >= r.n:
		return r.fail(-1, "head", whyRange, int64(h))
	case c >= r.n:
		return r.fail(-1, "cur", whyRange, int64(c))
	case t >= r.n:
		return r.fail(-1, "tail", whyRange, int64(t))
	case r.dist(h, c) > r.dist(h, t):
		return r.fail(-1, "cur", whyOrder, int64(c))
	}
	r.head, r.tail = h, t
	return nil
}

// dist is the number of slots from a forward to b, modulo num_slots.
func (r *ring) dist(a, b uint32) uint32 {
	if b >= a {
		return b - a
	}
	return b + r.n - a
}

// avail reads tail once and returns the slots in [head, tail). A tail out
// of range, or one that moved backwards past what was already handed to
// the user, is an integrity error; the private state is left unchanged.
func (r *ring) avail() (uint32, error) {
	t := r.tailp.Load()
	if t >= r.n {
		checkFailed()
		return 0, r.fail(-1, "tail", whyRange, int64(t))
	}
	d := r.dist(r.head, t)
	if d < r.dist(r.head, r.tail) {
		checkFailed()
		return 0, r.fail(-1, "tail", whyBackwards, int64(t))
	}
	r.tail = t
	return d, nil
}

// peek is avail without the side effects, for Space and Pending: the slots
// in [head, tail) from one read of tail, and false for a bad tail.
func (r *ring) peek() (int, bool) {
	t := r.tailp.Load()
	if t >= r.n {
		return 0, false
	}
	d := r.dist(r.head, t)
	if d < r.dist(r.head, r.tail) {
		return 0, false
	}
	return int(d), true
}

// pos maps batch index i to a slot index. i outside [0, len(batch)) is a
// programming error and panics, like an index out of range.
func (r *ring) pos(i int) uint32 {
	_ = r.batch[i]
	p := r.head + uint32(i)
	if p >= r.n {
		p -= r.n
	}
	return p
}

// slot returns slot p, which the caller has proven below num_slots; the
// slot array was checked to lie inside mem at construction.
func (r *ring) slot(p uint32) *abi.Slot { return slotAt(r.slots, p) }

// slotAt returns slot p of the slot array at slots. Loops over a batch call
// it with the array in a local, so that per slot they load only the slot.
func slotAt(slots unsafe.Pointer, p uint32) *abi.Slot {
	return (*abi.Slot)(unsafe.Add(slots, uintptr(p)*abi.SlotSize))
}

// advance moves head and cur forward by k <= batch slots and ends the
// batch: the only stores to the shared cursors. cur is written first, as
// netmap's CSB protocol asks.
func (r *ring) advance(k int) {
	_ = r.batch[:k]
	r.batch = nil
	if k == 0 {
		return
	}
	h := r.head + uint32(k)
	if h >= r.n {
		h -= r.n
	}
	r.head = h
	r.curp.Store(h)
	r.headp.Store(h)
}

// bufErr is the error for a bad buffer index idx in slot p, kept out of
// line so that the fast paths stay small.
//
//go:noinline
func (r *ring) bufErr(p, idx uint32) error {
	return r.fail(int(p), "buf_idx", whyBufIdx, int64(idx))
}

// lenErr is the error for slot p holding length n, over the buffer size.
//
//go:noinline
func (r *ring) lenErr(p uint32, n uint16) error {
	return r.fail(int(p), "len", whyLen, int64(n))
}

// slotErr is the error for slot p holding buffer idx with length n, one
// of which failed the checks.
//
//go:noinline
func (r *ring) slotErr(p, idx uint32, n uint16) error {
	if !r.valid(idx) {
		return r.bufErr(p, idx)
	}
	return r.fail(int(p), "len", whyLen, int64(n))
}

// swapBuf puts buffer idx into slot p and returns the buffer it held.
func (r *ring) swapBuf(p uint32, idx uint32) (uint32, error) {
	if !r.valid(idx) {
		return 0, r.bufErr(p, idx)
	}
	s := r.slot(p)
	old := s.BufIdx
	if !r.valid(old) {
		checkFailed()
		return 0, r.bufErr(p, old)
	}
	s.BufIdx = idx
	s.Flags |= abi.NS_BUF_CHANGED
	return old, nil
}

// timestamp reads ring.ts, which the kernel rewrites at every RX sync,
// also from another thread (poll from the netpoller): atomically, and
// again while the two fields change under the read.
func (r *ring) timestamp() time.Time {
	sec := (*atomic.Int64)(unsafe.Pointer(&r.hdr.TsSec))
	usec := (*atomic.Int64)(unsafe.Pointer(&r.hdr.TsUsec))
	s, u := sec.Load(), usec.Load()
	for range 4 {
		s2, u2 := sec.Load(), usec.Load()
		if s2 == s && u2 == u {
			break
		}
		s, u = s2, u2
	}
	return time.Unix(s, u*1000)
}
