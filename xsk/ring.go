package xsk

import (
	"sync/atomic"
	"unsafe"
)

// RingLayout is where one ring's parts lie inside its mapping, as the
// kernel reports them (getsockopt XDP_MMAP_OFFSETS, struct
// xdp_ring_offset): byte offsets of the producer index, the consumer
// index, the flags word and the first descriptor.
type RingLayout struct {
	Producer, Consumer, Desc, Flags uint64
}

// Descriptor sizes: struct xdp_desc (addr u64, len u32, options u32) on the
// RX and TX rings, a bare u64 address on the fill and completion rings.
const (
	descSize = 16
	addrSize = 8
)

// Limits.
const (
	maxRingSize = 1 << 24 // far above the kernel's rings; keeps index sums in uint32
	needWakeup  = 1       // XDP_RING_NEED_WAKEUP in a ring's flags word
	// packetHeadroom is XDP_PACKET_HEADROOM: where the kernel puts a
	// received packet inside its frame, in copy mode.
	packetHeadroom = 256
)

// ring is the validated view of one AF_XDP ring inside its mapping, plus
// the private cursors. AF_XDP indices run freely over uint32 and are masked
// with size-1 to find an entry.
//
// local is this side's index (the producer of a ring the user produces, the
// consumer of one it consumes); it lives here and is only ever stored to
// shared memory, never read back from it. cached is the other side's index
// as last read and validated.
type ring struct {
	errSink
	mem    []byte
	prod   *atomic.Uint32
	cons   *atomic.Uint32
	flags  *atomic.Uint32
	desc   unsafe.Pointer
	mask   uint32
	size   uint32
	local  uint32
	cached uint32
}

// newRing validates the layout of a ring of size entries of esize bytes in
// mem and returns a view of it. produce says which side the user is on.
// The indices found are adopted if they are consistent.
func newRing(name string, mem []byte, lay RingLayout, size uint32, esize int, produce bool) (ring, error) {
	r := ring{errSink: errSink{ring: name}, mem: mem}
	if size == 0 || size > maxRingSize || size&(size-1) != 0 {
		return r, r.fail(-1, "size", whySize, uint64(size))
	}
	ml := uint64(len(mem))
	for _, f := range [...]struct {
		name string
		off  uint64
	}{{"producer offset", lay.Producer}, {"consumer offset", lay.Consumer}, {"flags offset", lay.Flags}} {
		if f.off >= ml || ml-f.off < 4 {
			return r, r.fail(-1, f.name, whyMapping, f.off)
		}
		if f.off%4 != 0 {
			return r, r.fail(-1, f.name, whyAlign, f.off)
		}
	}
	if lay.Desc%8 != 0 {
		return r, r.fail(-1, "desc offset", whyAlign, lay.Desc)
	}
	if lay.Desc > ml || (ml-lay.Desc)/uint64(esize) < uint64(size) {
		return r, r.fail(-1, "desc offset", whyMapping, lay.Desc)
	}
	if len(mem) == 0 || uintptr(unsafe.Pointer(&mem[0]))%8 != 0 {
		return r, r.fail(-1, "mapping", whyAlign, 0)
	}
	base := unsafe.Pointer(&mem[0])
	r.prod = (*atomic.Uint32)(unsafe.Add(base, lay.Producer))
	r.cons = (*atomic.Uint32)(unsafe.Add(base, lay.Consumer))
	r.flags = (*atomic.Uint32)(unsafe.Add(base, lay.Flags))
	r.desc = unsafe.Add(base, lay.Desc)
	r.size, r.mask = size, size-1
	p, c := r.prod.Load(), r.cons.Load()
	if p-c > size {
		return r, r.fail(-1, "producer", whyAhead, uint64(p))
	}
	if produce {
		r.local, r.cached = p, c
	} else {
		r.local, r.cached = c, p
	}
	return r, nil
}

// available reads the producer once and returns how many entries are
// ready to consume. A producer more than the ring size ahead, or one that
// moved backwards past entries already seen, is an integrity error, and the
// view is left unchanged.
func (r *ring) available() (uint32, error) {
	p, n, err := r.ready()
	if err != nil {
		return 0, err
	}
	r.cached = p
	return n, nil
}

// ready reads the producer once and returns it and how many entries are
// ready to consume, checked as available checks them, without taking
// them: the view is left unchanged.
func (r *ring) ready() (p, n uint32, err error) {
	p = r.prod.Load()
	n = p - r.local
	if n > r.size {
		return p, 0, r.fail(-1, "producer", whyAhead, uint64(p))
	}
	if n < r.cached-r.local {
		return p, 0, r.fail(-1, "producer", whyBackwards, uint64(p))
	}
	return p, n, nil
}

// consume hands n consumed entries back: one atomic store of the consumer.
func (r *ring) consume(n uint32) {
	if n == 0 {
		return
	}
	r.local += n
	r.cons.Store(r.local)
}

// free reads the consumer once and returns how many entries may be
// produced. A consumer ahead of the producer, more than the ring size
// behind it, or moved backwards, is an integrity error.
func (r *ring) free() (uint32, error) {
	c := r.cons.Load()
	used := r.local - c
	if used > r.size {
		return 0, r.fail(-1, "consumer", whyBehind, uint64(c))
	}
	if used > r.local-r.cached {
		return 0, r.fail(-1, "consumer", whyBackwards, uint64(c))
	}
	r.cached = c
	return r.size - used, nil
}

// produce publishes n produced entries: one atomic store of the producer.
func (r *ring) produce(n uint32) {
	if n == 0 {
		return
	}
	r.local += n
	r.prod.Store(r.local)
}

// xdpDesc mirrors struct xdp_desc.
type xdpDesc struct {
	Addr    uint64
	Len     uint32
	Options uint32
}

// descAt returns RX/TX descriptor idx (masked).
func (r *ring) descAt(idx uint32) *xdpDesc {
	return (*xdpDesc)(unsafe.Add(r.desc, uintptr(idx&r.mask)*descSize))
}

// addrAt returns fill/completion entry idx (masked).
func (r *ring) addrAt(idx uint32) *uint64 {
	return (*uint64)(unsafe.Add(r.desc, uintptr(idx&r.mask)*addrSize))
}

// wantsWakeup reports whether the kernel set XDP_RING_NEED_WAKEUP.
func (r *ring) wantsWakeup() bool { return r.flags.Load()&needWakeup != 0 }

// Frame ownership, one byte per UMEM frame. Every frame belongs to exactly
// one party at a time; a frame the kernel hands back must be one it holds.
const (
	ownNone     uint8 = iota // not part of any queue
	ownTxFree                // TX frame on the free stack
	ownTxUser                // TX frame in the user's reservation
	ownTxKernel              // TX frame published, until its completion
	ownRxPend                // RX frame released, not yet on the fill ring
	ownRxKernel              // RX frame on the fill ring or being filled
	ownRxUser                // RX frame acquired by the user
)

// umem is the packet buffer area shared by the queues of a socket, split
// into frames of size bytes (a power of two).
type umem struct {
	mem   []byte
	size  uint64 // frame size
	shift uint   // log2(size)
	owner []uint8
}

// newUmem checks the geometry: frame size a power of two in [2048, 65536],
// mem a whole number of frames.
func newUmem(mem []byte, frameSize int) (*umem, error) {
	fs := uint64(frameSize)
	if fs < 2048 || fs > 65536 || fs&(fs-1) != 0 || len(mem) == 0 || uint64(len(mem))%fs != 0 {
		return nil, &IntegrityError{Ring: "umem", Index: -1, Field: "frame size", Value: fs, Reason: whyGeometry}
	}
	u := &umem{mem: mem, size: fs, owner: make([]uint8, uint64(len(mem))/fs)}
	for 1<<u.shift != fs {
		u.shift++
	}
	return u, nil
}
