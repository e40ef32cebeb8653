package rings

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
)

// ExtraBufs is the list of extra buffers a registration asked for
// (nr_extra_bufs): a singly linked free list that starts at the
// netmap_if's ni_bufs_head and goes through the first 4 bytes of each
// buffer, 0 ending it. Get takes a buffer, Put returns one; swap them into
// slots with TxRing.SwapBuf and RxRing.SwapBuf, for example to hold on to
// a received packet without copying it.
//
// The kernel frees whatever list ni_bufs_head points to when the port is
// closed, so every buffer taken must be back, either in the list or in a
// slot, by then; a buffer that SwapBuf evicted from a slot is the caller's
// and belongs in the list.
//
// ExtraBufs keeps a private copy of the head and a bitmap of the buffers
// in the list (one bit per buffer of the pool), so a corrupted link, a
// loop, a truncated list or a buffer returned twice is an
// [*IntegrityError], never a wrong buffer handed out twice by the
// package, nor an access outside the region.
//
// Build one ExtraBufs per netmap_if (per registration) and use it from
// one goroutine at a time: it is not safe for concurrent use, and two
// ExtraBufs over one list would hand out the same buffers.
type ExtraBufs struct {
	pool
	errSink
	headp *atomic.Uint32 // ni_bufs_head
	head  uint32
	count int
	in    []uint64 // bitmap: buffer is in the list
}

// NewExtraBufs returns the extra-buffer list of the netmap_if at ifOff in
// mem. ringOff is the offset of any ring of the region; its header gives
// the buffer pool's place and buffer size (netmap_if does not). maxBufs,
// if > 0, is the number of buffers in the pool (nmreq_pools_info's
// nr_buf_pool_objtotal) and further limits the valid indices; 0 means
// every buffer that fits in mem.
//
// NewExtraBufs walks the list once, checking every index and detecting
// loops; a bad list is an [*IntegrityError].
func NewExtraBufs(mem []byte, ifOff, ringOff, maxBufs int) (*ExtraBufs, error) {
	var rg ring
	if err := parseRing(&rg, mem, ringOff, dirExtra); err != nil {
		return nil, err
	}
	x := &ExtraBufs{pool: rg.pool, errSink: errSink{dir: dirExtra, id: -1}}
	if maxBufs > 0 && uint64(maxBufs) < uint64(x.hi) {
		if maxBufs <= int(x.lo) {
			return nil, x.fail(-1, "nr_buf_pool_objtotal", whyNoBufs, int64(maxBufs))
		}
		x.hi = uint32(maxBufs)
	}
	if ifOff < 0 || ifOff > len(mem)-abi.IfRingOfs {
		return nil, x.fail(-1, "netmap_if offset", whyPast, int64(ifOff))
	}
	if uintptr(unsafe.Pointer(&mem[ifOff]))%8 != 0 {
		return nil, x.fail(-1, "netmap_if offset", whyAlign, int64(ifOff))
	}
	x.headp = (*atomic.Uint32)(unsafe.Pointer(&mem[ifOff+abi.IfBufsHead]))
	x.in = make([]uint64, (uint64(x.hi)+63)/64)

	h := x.headp.Load()
	for idx := h; idx != 0; {
		if !x.valid(idx) {
			checkFailed()
			return nil, x.fail(int(idx), "buf_idx", whyBufIdx, int64(idx))
		}
		if x.has(idx) {
			checkFailed()
			return nil, x.fail(int(idx), "buf_idx", whyLoop, int64(idx))
		}
		x.mark(idx, true)
		x.count++
		idx = x.link(idx)
	}
	x.head = h
	return x, nil
}

func (x *ExtraBufs) has(idx uint32) bool { return x.in[idx/64]&(1<<(idx%64)) != 0 }

func (x *ExtraBufs) mark(idx uint32, on bool) {
	if on {
		x.in[idx/64] |= 1 << (idx % 64)
	} else {
		x.in[idx/64] &^= 1 << (idx % 64)
	}
}

// link reads the next pointer stored in valid buffer idx. Buffers need not
// be aligned, so it goes through encoding/binary in host order.
func (x *ExtraBufs) link(idx uint32) uint32 {
	return binary.NativeEndian.Uint32(x.buf(idx, 4))
}

// Len returns the number of buffers in the list.
func (x *ExtraBufs) Len() int { return x.count }

// Get takes the first buffer off the list and returns its index; the
// caller owns it until it is Put back or swapped into a slot. An empty
// list gives ErrNoBuffers. If the stored link to the next buffer is bad
// (outside the pool, already taken, or 0 while buffers remain), Get
// returns an [*IntegrityError] and leaves the list unchanged.
func (x *ExtraBufs) Get() (uint32, error) {
	idx := x.head
	if idx == 0 {
		return 0, ErrNoBuffers
	}
	nx := x.link(idx)
	if nx == 0 && x.count != 1 || nx != 0 && (!x.valid(nx) || nx == idx || !x.has(nx)) {
		checkFailed()
	}
	switch {
	case nx == 0 && x.count != 1:
		return 0, x.fail(int(idx), "next", whyTrunc, 0)
	case nx != 0 && !x.valid(nx):
		return 0, x.fail(int(idx), "next", whyBufIdx, int64(nx))
	case nx != 0 && (nx == idx || !x.has(nx)):
		return 0, x.fail(int(idx), "next", whyLoop, int64(nx))
	}
	x.mark(idx, false)
	x.count--
	x.head = nx
	x.headp.Store(nx)
	return idx, nil
}

// Put returns buffer idx to the front of the list, overwriting its first
// 4 bytes with the link. An index outside the pool or already in the list
// is an [*IntegrityError] and changes nothing.
func (x *ExtraBufs) Put(idx uint32) error {
	if !x.valid(idx) {
		return x.fail(int(idx), "buf_idx", whyBufIdx, int64(idx))
	}
	if x.has(idx) {
		return x.fail(int(idx), "buf_idx", whyTwice, int64(idx))
	}
	binary.NativeEndian.PutUint32(x.buf(idx, 4), x.head)
	x.mark(idx, true)
	x.count++
	x.head = idx
	x.headp.Store(idx)
	return nil
}

// Buf returns the whole buffer idx (len and cap BufSize), for a buffer the
// caller holds (taken with Get, or evicted from a slot by SwapBuf). It
// aliases region memory and is valid while the caller owns the buffer. An
// index outside the pool gives an [*IntegrityError].
func (x *ExtraBufs) Buf(idx uint32) ([]byte, error) {
	if !x.valid(idx) {
		return nil, x.fail(int(idx), "buf_idx", whyBufIdx, int64(idx))
	}
	return x.buf(idx, int(x.size)), nil
}

// BufSize returns the size in bytes of each buffer.
func (x *ExtraBufs) BufSize() int { return int(x.size) }
