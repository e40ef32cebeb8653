package rings

import (
	"io"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
)

// RxRing is the user side of one netmap RX ring: a view over the ring's
// header, slots and buffers inside a mapped region.
//
// A batch is Acquire, then reading the acquired slots (Packet, or Packets
// for many in one call, Flags, ReadPacket, or, to take buffers without
// copying, [RxRing.SwapBuf] or a TX ring's [TxRing.Swap]), then Release;
// View does Acquire and Packet for a whole batch at once. Release only
// writes head and cur; the kernel refills the released slots after the
// port's next RX sync (nmsys Port.RxSync, or a poll), which also makes new
// packets visible.
//
// An RxRing is not safe for concurrent use: one goroutine at a time may own
// it. Different rings, even of the same region, may be used concurrently.
type RxRing struct {
	ring
}

// NewRxRing returns a view of the netmap RX ring at byte offset off of the
// mapped region mem, validated like [NewTxRing]. mem must stay valid
// (mapped) for as long as the RxRing is used.
func NewRxRing(mem []byte, off int) (*RxRing, error) {
	r := new(RxRing)
	if err := parseRing(&r.ring, mem, off, dirRx); err != nil {
		return nil, err
	}
	if err := r.reset(); err != nil {
		return nil, err
	}
	return r, nil
}

// NumSlots returns num_slots, the size of the ring.
func (r *RxRing) NumSlots() int { return int(r.n) }

// Capacity returns the most received packets the ring holds at once:
// num_slots - 1, for netmap keeps one slot between tail and head empty.
func (r *RxRing) Capacity() int { return int(r.n) - 1 }

// BufSize returns the size in bytes of each buffer (nr_buf_size).
func (r *RxRing) BufSize() int { return int(r.size) }

// Pending returns the number of received slots waiting in the ring, from
// one read of tail: how many Acquire could hand out now. A tail that is
// out of range or moved backwards reads as 0; Acquire reports it as an
// error.
func (r *RxRing) Pending() int { n, _ := r.peek(); return n }

// Acquire reads tail once and takes up to n received slots starting at
// head, returning how many (0 when the ring is empty). They are addressed
// as 0..acquired-1 by the other methods until Release. A new Acquire
// replaces an unreleased acquisition (starting again at head). A tail that
// is out of range or moved backwards acquires nothing and returns an
// [*IntegrityError].
func (r *RxRing) Acquire(n int) (int, error) {
	r.batch = nil
	avail, err := r.avail()
	if err != nil || n <= 0 {
		return 0, err
	}
	k := min(uint(n), uint(avail))
	r.batch = r.all[:k:k]
	return int(k), nil
}

// Packet returns the payload of acquired slot i: the packet, or one
// fragment of it if Flags(i) has NS_MOREFRAG (see ReadPacket). The slice
// aliases ring memory, has cap == len, and is valid until slot i is
// released: after Release the kernel may overwrite the buffer at the next
// sync, so neither keep nor read the slice after that.
//
// buf_idx and len are checked on every call: a slot whose buffer index is
// outside the pool or whose length exceeds the buffer gives a nil slice
// and an [*IntegrityError]; the slot can still be released. Packet panics
// if i is not in [0, acquired).
func (r *RxRing) Packet(i int) ([]byte, error) {
	p := r.pos(i)
	s := r.slot(p)
	idx, n := s.BufIdx, s.Len
	if !r.valid(idx) || uint32(n) > r.size {
		checkFailed()
		return nil, r.slotErr(p, idx, n)
	}
	return r.buf(idx, int(n)), nil
}

// Len returns the length of acquired slot i (of its fragment, with
// NS_MOREFRAG) without touching the buffer: for receivers that only count.
// A length over the buffer size is an [*IntegrityError]. Len panics if i is
// not in [0, acquired).
func (r *RxRing) Len(i int) (int, error) {
	p := r.pos(i)
	n := r.slot(p).Len
	if uint32(n) <= r.size {
		return int(n), nil
	}
	checkFailed()
	return 0, r.lenErr(p, n)
}

// Bytes returns the total length of the acquired slots (of their
// fragments), reading only slot lengths: the whole work of a receiver that
// counts, in one pass. A length over the buffer size is an
// [*IntegrityError] for the first such slot, with the total of the slots
// before it. Each length is read once: the error is about the value that
// failed the check, whatever the slot holds by then.
func (r *RxRing) Bytes() (int, error) {
	total := 0
	slots, p, n, size := r.slots, r.head, r.n, r.size
	for range len(r.batch) {
		l := slotAt(slots, p).Len
		if uint32(l) > size {
			checkFailed()
			return total, r.lenErr(p, l)
		}
		total += int(l)
		if p++; p == n {
			p = 0
		}
	}
	return total, nil
}

func (r *RxRing) view(p uint32) ([]byte, uint16, error) {
	s := r.slot(p)
	idx, n, fl := s.BufIdx, s.Len, s.Flags
	if !r.valid(idx) || uint32(n) > r.size {
		checkFailed()
		return nil, fl, r.slotErr(p, idx, n)
	}
	return r.buf(idx, int(n)), fl, nil
}

// View acquires up to len(pkts) received slots, as Acquire(len(pkts))
// does, and stores the payload of acquired slot i in pkts[i], returning
// how many slots it acquired. The slices are those Packet would return:
// they alias ring memory, are valid until their slot is released, and hold
// one fragment each for NS_MOREFRAG packets (check Flags).
//
// A slot that fails validation gets a nil entry; View then also returns an
// [*IntegrityError] for the first such slot, with n counting all acquired
// slots: process the non-nil entries and Release(n) as usual. A bad tail
// returns 0 and an [*IntegrityError].
func (r *RxRing) View(pkts [][]byte) (int, error) {
	n, err := r.Acquire(len(pkts))
	if err != nil {
		return 0, err
	}
	pkts = pkts[:n]
	p := r.head
	for i := range pkts {
		s := r.slot(p)
		idx, l := s.BufIdx, s.Len
		if !r.valid(idx) || uint32(l) > r.size {
			checkFailed()
			pkts[i] = nil
			if err == nil {
				err = r.slotErr(p, idx, l)
			}
		} else {
			pkts[i] = r.buf(idx, int(l))
		}
		if p++; p == r.n {
			p = 0
		}
	}
	return n, err
}

// Packets stores the payloads of acquired slots first, first+1, ... in
// pkts, as many as pkts holds and are acquired, and returns how many: what
// Packet returns for each, in one call for a batch (video.Receiver.Drain
// reads a ring this way). Each slot's buf_idx and len are checked as Packet
// checks them; a slot that fails gets a nil entry, and Packet on it gives
// the [*IntegrityError]. Packets panics if first is not in [0, acquired].
func (r *RxRing) Packets(first int, pkts [][]byte) int {
	k := min(len(pkts), len(r.batch[first:]))
	pkts = pkts[:k]
	p := r.head + uint32(first)
	if p >= r.n {
		p -= r.n
	}
	slots, n, size, lo, span := r.slots, r.n, r.size, r.lo, r.hi-r.lo
	for i := range pkts {
		s := slotAt(slots, p)
		idx, l := s.BufIdx, s.Len
		if inPool(idx, lo, span) && uint32(l) <= size {
			pkts[i] = unsafe.Slice((*byte)(unsafe.Add(r.bufp, uintptr(idx)*uintptr(size))), int(l))
		} else {
			checkFailed()
			pkts[i] = nil
		}
		if p++; p == n {
			p = 0
		}
	}
	return k
}

// Slot returns what Packet and Flags return for acquired slot i, from one
// read of the slot: the payload and the flags that say whether more
// fragments follow belong together even if the slot changes underneath.
// A bad slot gives a nil slice, its flags and an [*IntegrityError]. It
// panics if i is not in [0, acquired).
func (r *RxRing) Slot(i int) ([]byte, uint16, error) { return r.view(r.pos(i)) }

// Flags returns the NS_* flags of acquired slot i (NS_MOREFRAG: more
// fragments follow; on VALE ports the high byte counts the remaining
// fragments), as the kernel wrote them. Of the bits, rings reads
// NS_MOREFRAG alone: the others (NS_BUF_CHANGED after a buffer swap,
// bits that mean something only on TX such as NS_INDIRECT, bits netmap
// does not define) change no read, and [TxRing.Swap] and [Forward] carry
// none of them to a TX slot. It panics if i is not in [0, acquired).
func (r *RxRing) Flags(i int) uint16 { return r.slot(r.pos(i)).Flags }

// ReadPacket copies the packet that starts at acquired slot i into dst,
// joining its NS_MOREFRAG fragments, and returns its length n and the
// number of slots it spans. It never allocates.
//
//   - If dst is too short it returns io.ErrShortBuffer with n set to the
//     packet's full length and slots to its span (dst holds a prefix).
//   - If the packet continues past the acquired slots it returns
//     ErrIncomplete and 0, 0: acquire more (after a sync) and retry.
//   - A bad slot in the chain, or a chain longer than NETMAP_MAX_FRAGS,
//     gives an [*IntegrityError] with slots set to the slots examined,
//     which the caller may release to skip them.
//
// ReadPacket panics if i is not in [0, acquired).
func (r *RxRing) ReadPacket(i int, dst []byte) (n, slots int, err error) {
	p := r.pos(i)
	left := len(r.batch) - i
	for j := 1; ; j++ {
		b, fl, err := r.view(p)
		if err != nil {
			return 0, j, err
		}
		copy(dst[min(n, len(dst)):], b)
		n += len(b)
		if fl&abi.NS_MOREFRAG == 0 {
			if n > len(dst) {
				return n, j, io.ErrShortBuffer
			}
			return n, j, nil
		}
		if j == abi.NETMAP_MAX_FRAGS {
			checkFailed()
			return 0, j, r.fail(int(p), "flags", whyFrags, int64(fl))
		}
		if j == left {
			if j >= int(r.n)-1 {
				// The chain holds every slot the user can
				// hold: no later sync can bring its end.
				checkFailed()
				return 0, j, r.fail(int(p), "flags", whyFillsRing, int64(fl))
			}
			return 0, 0, ErrIncomplete
		}
		if p++; p == r.n {
			p = 0
		}
	}
}

// SwapBuf puts buffer idx (for example one taken from [ExtraBufs.Get])
// into acquired slot i, sets NS_BUF_CHANGED, and returns the buffer the
// slot held, which now belongs to the caller together with the packet in
// it (read its length with Packet first). The slot is then released as
// usual and the kernel receives into the new buffer. Both indices are
// checked against the buffer pool; on error nothing changes. It panics if
// i is not in [0, acquired).
func (r *RxRing) SwapBuf(i int, idx uint32) (uint32, error) {
	return r.swapBuf(r.pos(i), idx)
}

// Release returns the first n acquired slots to the kernel by advancing
// head and cur past them (two atomic stores), and ends the acquisition.
// Slices from Packet for those slots must no longer be used. The kernel
// reuses the slots after the port's next RX sync, which the caller issues.
// Release panics if n is not in [0, acquired].
func (r *RxRing) Release(n int) { r.advance(n) }

// ReleaseHold is Release(n) for a caller that keeps the rest of the
// acquisition to read again later, such as an NS_MOREFRAG chain whose end
// has not arrived: head moves past the first n slots and cur to the end of
// the acquisition, which in netmap says "these slots are still mine, wake
// me only for packets after them". A poll or nmsys Port.WaitRx then sleeps
// until the kernel brings more, instead of reporting the held slots again
// at once. The next Release or ReleaseHold of one slot or more moves cur
// back to head; Release(0) ends the acquisition and keeps the hold (cur
// stays where it is), for a caller that found nothing new after the held
// slots. ReleaseHold panics if n is not in [0, acquired].
func (r *RxRing) ReleaseHold(n int) {
	_ = r.batch[:n]
	end, h := r.head+uint32(len(r.batch)), r.head+uint32(n)
	if end >= r.n {
		end -= r.n
	}
	if h >= r.n {
		h -= r.n
	}
	r.batch = nil
	r.head = h
	r.curp.Store(end)
	r.headp.Store(h)
}

// Timestamp returns the ring's timestamp (ring.ts), which the kernel sets
// at every RX sync unless timestamps are disabled. It is whatever the
// kernel wrote; a zero ts gives the Unix epoch. The fields are read
// atomically and read again if they change during the read, so a poll
// running in another thread rarely tears them; netmap has no sequence
// counter, so it cannot be ruled out.
func (r *RxRing) Timestamp() time.Time { return r.timestamp() }

// Reset adopts head, cur and tail as they now are in shared memory,
// dropping any acquisition, after checking them as NewRxRing does.
func (r *RxRing) Reset() error { return r.reset() }
