package heapmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/nmgo/nmgo/internal/abi"
)

// Defaults for a zero Config field.
const (
	DefaultSlots   = 1024
	DefaultBufSize = 2048
	DefaultGuard   = 256
)

// align is the alignment of the region base and of every object in it
// (NM_CACHE_ALIGN in netmap).
const align = abi.NM_CACHE_ALIGN

// guardByte fills the guard areas around the region.
const guardByte = 0xA5

// Config describes the region to build. A nil *Config means one NIC ring
// and one host ring per direction, 1024 slots each, 2048-byte buffers.
type Config struct {
	// Name is written into ni_name (truncated to 15 bytes).
	Name string
	// NIC rings per direction; 0 means 1.
	TxRings, RxRings int
	// Host rings per direction; 0 means 1, as API 14 kernels report.
	HostTxRings, HostRxRings int
	// Slots per ring (any value >= 1, not only powers of two); 0 means
	// DefaultSlots.
	TxSlots, RxSlots int
	// BufSize is the buffer size (nr_buf_size); 0 means DefaultBufSize.
	BufSize int
	// ExtraBufs is the length of the extra-buffer free list.
	ExtraBufs int
	// SpareBufs adds buffers to the pool that belong to nobody.
	SpareBufs int
	// Unbound lists ring_ofs indices written as 0 (rings not bound to
	// this registration). The rings still exist in the region.
	Unbound []int
	// Guard is the number of guard bytes on each side; 0 means
	// DefaultGuard.
	Guard int
}

// Region is a netmap-layout memory region on the heap plus the simulated
// kernel state of its rings. Its methods may be called from several
// goroutines (they share one lock), but each ring follows netmap's rule:
// its user side and its syncs belong to one goroutine at a time.
type Region struct {
	// Mem is the region, as nmsys's Port.Mem would return it. Its base
	// is 128-byte aligned.
	Mem []byte
	// IfOff is the offset of the netmap_if (nr_offset).
	IfOff int
	// BufOff is the offset of buffer 0; BufSize the size of a buffer;
	// NumBufs the number of buffers in the pool, including the reserved
	// buffers 0 and 1.
	BufOff, BufSize, NumBufs int
	// ExtraHead is the first buffer of the extra-buffer list as built
	// (0 if none).
	ExtraHead uint32

	raw     []byte // guard | Mem | guard
	lo      int    // offset of Mem in raw
	tx, rx  []kring
	scratch []byte
	clock   int64
}

type kring struct {
	off           int    // ring offset in Mem
	n             uint32 // num_slots, as built
	hwcur, hwtail uint32 // kernel private state
	id            int
	tx            bool

	// TX delivery.
	peer     *Region
	peerRing int
	mode     LinkMode
	capture  func([]byte)

	// Counters.
	frames, dropped, reinits int
}

// LinkMode says how TxSync hands frames to a connected RX ring.
type LinkMode int

const (
	_ LinkMode = iota
	// Copy copies the bytes into the RX ring's buffers (VALE-like).
	Copy
	// Swap exchanges slot buffers between the TX and the RX ring, the way
	// netmap pipes do; both rings must be in the same Region.
	Swap
)

// ErrReinit is returned by a sync whose prologue found the ring in a state
// netmap rejects. Like netmap, the simulator then reinitialises the ring
// (bad buffer indices become 0, oversized lengths 0, cursors out of range
// are reset); netmap's ioctl returns 0 in that case and poll reports
// POLLERR.
var ErrReinit = errors.New("heapmem: ring reinitialised")

// mu serialises every simulator operation, across Regions: it plays the
// role of the kring locks.
var mu sync.Mutex

// New builds a region.
func New(cfg *Config) (*Region, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.TxRings, 1)
	def(&c.RxRings, 1)
	def(&c.HostTxRings, 1)
	def(&c.HostRxRings, 1)
	def(&c.TxSlots, DefaultSlots)
	def(&c.RxSlots, DefaultSlots)
	def(&c.BufSize, DefaultBufSize)
	def(&c.Guard, DefaultGuard)
	for _, v := range []int{c.TxRings, c.RxRings, c.HostTxRings, c.HostRxRings} {
		if v < 0 || v > 64 {
			return nil, fmt.Errorf("heapmem: ring count %d out of range", v)
		}
	}
	if c.TxSlots < 1 || c.RxSlots < 1 || c.TxSlots > 1<<16 || c.RxSlots > 1<<16 {
		return nil, fmt.Errorf("heapmem: slot counts %d/%d out of range", c.TxSlots, c.RxSlots)
	}
	if c.BufSize < 8 || c.BufSize > 65536 {
		return nil, fmt.Errorf("heapmem: buffer size %d out of range", c.BufSize)
	}
	if c.ExtraBufs < 0 || c.SpareBufs < 0 || c.Guard < 0 {
		return nil, errors.New("heapmem: negative count")
	}

	ntx, nrx := c.TxRings+c.HostTxRings, c.RxRings+c.HostRxRings
	nrings := ntx + nrx
	roundup := func(v int) int { return (v + align - 1) &^ (align - 1) }

	// Layout: one cache line of padding (so nr_offset is not 0), the
	// netmap_if, the rings, the buffer pool.
	ifOff := align
	off := roundup(ifOff + abi.IfRingOfs + 8*nrings)
	r := &Region{IfOff: ifOff, BufSize: c.BufSize}
	nbufs := 2
	for i := range nrings {
		k := kring{off: off, tx: i < ntx, id: i}
		if k.tx {
			k.n = uint32(c.TxSlots)
		} else {
			k.n = uint32(c.RxSlots)
			k.id = i - ntx
		}
		nbufs += int(k.n)
		off = roundup(off + abi.RingSlots + abi.SlotSize*int(k.n))
		if k.tx {
			r.tx = append(r.tx, k)
		} else {
			r.rx = append(r.rx, k)
		}
	}
	r.BufOff = off
	nbufs += c.ExtraBufs + c.SpareBufs
	r.NumBufs = nbufs
	size := off + nbufs*c.BufSize

	// Allocate with room to align the base and the guards around it.
	r.raw = make([]byte, c.Guard+align+size+c.Guard)
	base := reflect.ValueOf(r.raw).Pointer() + uintptr(c.Guard)
	r.lo = c.Guard + int((align-base%align)%align)
	r.Mem = r.raw[r.lo : r.lo+size : r.lo+size]
	for i := range r.raw[:r.lo] {
		r.raw[i] = guardByte
	}
	for i := r.lo + size; i < len(r.raw); i++ {
		r.raw[i] = guardByte
	}

	m := r.Mem
	ne := binary.NativeEndian
	// netmap_if.
	copy(m[ifOff+abi.IfName:ifOff+abi.IfName+abi.IFNAMSIZ-1], c.Name)
	if c.Name == "" {
		copy(m[ifOff+abi.IfName:], "heapmem")
	}
	ne.PutUint32(m[ifOff+abi.IfFlags:], abi.NI_PRIV_MEM)
	ne.PutUint32(m[ifOff+abi.IfTxRings:], uint32(c.TxRings))
	ne.PutUint32(m[ifOff+abi.IfRxRings:], uint32(c.RxRings))
	ne.PutUint32(m[ifOff+abi.IfHostTxRings:], uint32(c.HostTxRings))
	ne.PutUint32(m[ifOff+abi.IfHostRxRings:], uint32(c.HostRxRings))
	unbound := map[int]bool{}
	for _, u := range c.Unbound {
		unbound[u] = true
	}
	all := append(append([]kring(nil), r.tx...), r.rx...)
	for i, k := range all {
		v := int64(k.off - ifOff)
		if unbound[i] {
			v = 0
		}
		ne.PutUint64(m[ifOff+abi.IfRingOfs+8*i:], uint64(v))
	}

	// Rings, each slot with its own buffer.
	next := uint32(2)
	for _, ks := range [][]kring{r.tx, r.rx} {
		for j := range ks {
			k := &ks[j]
			h := m[k.off:]
			ne.PutUint64(h[abi.RingBufOfs:], uint64(int64(r.BufOff-k.off)))
			ne.PutUint32(h[abi.RingNumSlots:], k.n)
			ne.PutUint32(h[abi.RingBufSize:], uint32(c.BufSize))
			ne.PutUint16(h[abi.RingRingID:], uint16(k.id))
			if k.tx { // the kernel writes kring->tx here (ref §4.2)
				ne.PutUint16(h[abi.RingDir:], 1)
				k.hwtail = k.n - 1
			}
			ne.PutUint32(h[abi.RingTail:], k.hwtail)
			for s := range int(k.n) {
				so := k.off + abi.RingSlots + abi.SlotSize*s
				ne.PutUint32(m[so+abi.SlotBufIdx:], next)
				ne.PutUint16(m[so+abi.SlotLen:], uint16(min(c.BufSize, 65535)))
				next++
			}
		}
	}
	// Extra buffers: a list through the first word of each buffer.
	if c.ExtraBufs > 0 {
		r.ExtraHead = next
		ne.PutUint32(m[ifOff+abi.IfBufsHead:], next)
		for i := range c.ExtraBufs {
			nx := next + 1
			if i == c.ExtraBufs-1 {
				nx = 0
			}
			ne.PutUint32(m[r.bufOff(next):], nx)
			next++
		}
	}
	return r, nil
}

// MustNew is New for tests: it panics on a bad Config.
func MustNew(cfg *Config) *Region {
	r, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return r
}

func (r *Region) bufOff(idx uint32) int { return r.BufOff + int(idx)*r.BufSize }

// TxRingOff returns the offset of TX ring i (NIC rings first, then host
// rings), whether or not it is bound.
func (r *Region) TxRingOff(i int) int { return r.tx[i].off }

// RxRingOff returns the offset of RX ring i.
func (r *Region) RxRingOff(i int) int { return r.rx[i].off }

// NumTx returns the number of TX rings, host rings included.
func (r *Region) NumTx() int { return len(r.tx) }

// NumRx returns the number of RX rings, host rings included.
func (r *Region) NumRx() int { return len(r.rx) }

// Buf returns buffer idx of the pool, or nil if idx is outside it.
func (r *Region) Buf(idx uint32) []byte {
	if int64(idx) >= int64(r.NumBufs) {
		return nil
	}
	o := r.bufOff(idx)
	return r.Mem[o : o+r.BufSize : o+r.BufSize]
}

// CheckGuards reports an error if any guard byte around the region changed.
func (r *Region) CheckGuards() error {
	for i, b := range r.raw[:r.lo] {
		if b != guardByte {
			return fmt.Errorf("heapmem: guard byte %d before the region overwritten (%#x)", r.lo-i, b)
		}
	}
	hi := r.lo + len(r.Mem)
	for i, b := range r.raw[hi:] {
		if b != guardByte {
			return fmt.Errorf("heapmem: guard byte %d after the region overwritten (%#x)", i, b)
		}
	}
	return nil
}

// Raw accessors in host byte order. Out-of-range offsets are ignored (Put*)
// or read as 0, so fuzzers can aim them anywhere. Writers take the
// simulator's lock; readers do not, so read from the goroutine that owns
// the ring (or after synchronising with it).

// U16 reads a uint16 at off.
func (r *Region) U16(off int) uint16 {
	if off < 0 || off+2 > len(r.Mem) {
		return 0
	}
	return binary.NativeEndian.Uint16(r.Mem[off:])
}

// U32 reads a uint32 at off.
func (r *Region) U32(off int) uint32 {
	if off < 0 || off+4 > len(r.Mem) {
		return 0
	}
	return binary.NativeEndian.Uint32(r.Mem[off:])
}

// U64 reads a uint64 at off.
func (r *Region) U64(off int) uint64 {
	if off < 0 || off+8 > len(r.Mem) {
		return 0
	}
	return binary.NativeEndian.Uint64(r.Mem[off:])
}

// PutU16 writes v at off.
func (r *Region) PutU16(off int, v uint16) {
	mu.Lock()
	defer mu.Unlock()
	if off >= 0 && off+2 <= len(r.Mem) {
		binary.NativeEndian.PutUint16(r.Mem[off:], v)
	}
}

// PutU32 writes v at off.
func (r *Region) PutU32(off int, v uint32) {
	mu.Lock()
	defer mu.Unlock()
	if off >= 0 && off+4 <= len(r.Mem) {
		binary.NativeEndian.PutUint32(r.Mem[off:], v)
	}
}

// PutU64 writes v at off.
func (r *Region) PutU64(off int, v uint64) {
	mu.Lock()
	defer mu.Unlock()
	if off >= 0 && off+8 <= len(r.Mem) {
		binary.NativeEndian.PutUint64(r.Mem[off:], v)
	}
}

// SlotOff returns the offset of slot s of the ring at ringOff.
func SlotOff(ringOff, s int) int { return ringOff + abi.RingSlots + abi.SlotSize*s }

// Corruption helpers: each writes one shared field of the ring at ringOff.

// SetHead writes ring.head.
func (r *Region) SetHead(ringOff int, v uint32) { r.PutU32(ringOff+abi.RingHead, v) }

// SetCur writes ring.cur.
func (r *Region) SetCur(ringOff int, v uint32) { r.PutU32(ringOff+abi.RingCur, v) }

// SetTail writes ring.tail.
func (r *Region) SetTail(ringOff int, v uint32) { r.PutU32(ringOff+abi.RingTail, v) }

// SetBufIdx writes slot s's buf_idx.
func (r *Region) SetBufIdx(ringOff, s int, v uint32) {
	r.PutU32(SlotOff(ringOff, s)+abi.SlotBufIdx, v)
}

// SetLen writes slot s's len.
func (r *Region) SetLen(ringOff, s int, v uint16) { r.PutU16(SlotOff(ringOff, s)+abi.SlotLen, v) }

// SetFlags writes slot s's flags.
func (r *Region) SetFlags(ringOff, s int, v uint16) {
	r.PutU16(SlotOff(ringOff, s)+abi.SlotFlags, v)
}

// SetBufsHead writes ni_bufs_head.
func (r *Region) SetBufsHead(v uint32) { r.PutU32(r.IfOff+abi.IfBufsHead, v) }

// BufsHead reads ni_bufs_head.
func (r *Region) BufsHead() uint32 { return r.U32(r.IfOff + abi.IfBufsHead) }

// ExtraList walks the extra-buffer list from ni_bufs_head and returns its
// indices; it stops at 0, at an index outside the pool, or after NumBufs
// steps (a loop).
func (r *Region) ExtraList() []uint32 {
	mu.Lock()
	defer mu.Unlock()
	var l []uint32
	for idx := r.U32(r.IfOff + abi.IfBufsHead); idx >= 2 && int64(idx) < int64(r.NumBufs) && len(l) <= r.NumBufs; {
		l = append(l, idx)
		idx = binary.NativeEndian.Uint32(r.Mem[r.bufOff(idx):])
	}
	return l
}
