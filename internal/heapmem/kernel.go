package heapmem

import (
	"encoding/binary"
	"errors"

	"github.com/nmgo/nmgo/internal/abi"
)

// The kernel simulator. It follows netmap's ring rules (netmap.h, and the
// kernel's netmap_ring_reinit): the kernel owns [tail, head) of every ring, touches rings only
// inside a sync, keeps hwcur/hwtail privately, validates head and cur in a
// sync prologue and reinitialises a ring it finds inconsistent.

var ne = binary.NativeEndian

// next and dist are the cyclic helpers.
func next(i, n uint32) uint32 {
	if i+1 == n {
		return 0
	}
	return i + 1
}

func dist(from, to, n uint32) uint32 {
	if to >= from {
		return to - from
	}
	return to + n - from
}

func (r *Region) ring(tx bool, i int) *kring {
	if tx {
		return &r.tx[i]
	}
	return &r.rx[i]
}

func (r *Region) u32(off int) uint32      { return ne.Uint32(r.Mem[off:]) }
func (r *Region) put32(off int, v uint32) { ne.PutUint32(r.Mem[off:], v) }

func (r *Region) slot(k *kring, s uint32) (idx uint32, ln, fl uint16) {
	so := SlotOff(k.off, int(s))
	return ne.Uint32(r.Mem[so:]), ne.Uint16(r.Mem[so+abi.SlotLen:]), ne.Uint16(r.Mem[so+abi.SlotFlags:])
}

func (r *Region) setSlot(k *kring, s uint32, idx uint32, ln, fl uint16) {
	so := SlotOff(k.off, int(s))
	ne.PutUint32(r.Mem[so:], idx)
	ne.PutUint16(r.Mem[so+abi.SlotLen:], ln)
	ne.PutUint16(r.Mem[so+abi.SlotFlags:], fl)
}

func (r *Region) validBuf(idx uint32) bool { return idx >= 2 && int64(idx) < int64(r.NumBufs) }

// HW returns the kernel's private cursors of a ring: hwcur (first slot not
// yet processed, TX; first slot not yet returned, RX) and hwtail (the
// tail last given to the user).
func (r *Region) HW(tx bool, i int) (hwcur, hwtail uint32) {
	mu.Lock()
	defer mu.Unlock()
	k := r.ring(tx, i)
	return k.hwcur, k.hwtail
}

// Stats returns, for TX ring i, the frames sent and the frames dropped (a
// bad buffer index, too many fragments); for an RX ring, the frames
// injected and the ones refused (no room, a bad buffer index). Reinits
// counts prologue failures.
func (r *Region) Stats(tx bool, i int) (frames, dropped, reinits int) {
	mu.Lock()
	defer mu.Unlock()
	k := r.ring(tx, i)
	return k.frames, k.dropped, k.reinits
}

// Connect makes TxSync on TX ring tx hand its frames to RX ring rx of dst,
// by copy or, within one Region, by swapping buffers like a pipe.
func (r *Region) Connect(tx int, dst *Region, rx int, mode LinkMode) error {
	mu.Lock()
	defer mu.Unlock()
	if mode == Swap && (dst != r || dst.BufSize != r.BufSize) {
		return errors.New("heapmem: Swap links need both rings in one region")
	}
	if mode != Copy && mode != Swap {
		return errors.New("heapmem: bad link mode")
	}
	k := &r.tx[tx]
	k.peer, k.peerRing, k.mode = dst, rx, mode
	return nil
}

// Capture makes TxSync on TX ring tx call fn with every frame it sends
// (reassembled from its fragments; fn must not keep the slice). It is
// called in addition to any Connect delivery.
func (r *Region) Capture(tx int, fn func(frame []byte)) {
	mu.Lock()
	defer mu.Unlock()
	r.tx[tx].capture = fn
}

// prologue validates head and cur against the kernel's view, like
// netmap's sync prologues: head in [hwcur, hwtail], cur in [head, hwtail]
// (cyclically, all below num_slots). On TX a tail the user overwrote is
// silently restored.
func (r *Region) prologue(k *kring) (head uint32, ok bool) {
	h := r.u32(k.off + abi.RingHead)
	c := r.u32(k.off + abi.RingCur)
	n := k.n
	if h >= n || c >= n {
		return 0, false
	}
	span := dist(k.hwcur, k.hwtail, n)
	if dist(k.hwcur, h, n) > span || dist(h, c, n) > dist(h, k.hwtail, n) {
		return 0, false
	}
	return h, true
}

// reinit repairs the ring like netmap_ring_reinit: bad buffer indices
// become 0 with len 0, lengths beyond the buffer 0, and the cursors are
// reset to the kernel's view if any is out of range.
func (r *Region) reinit(k *kring) {
	k.reinits++
	for s := range k.n {
		idx, ln, fl := r.slot(k, s)
		if !r.validBuf(idx) {
			idx, ln = 0, 0
		} else if int(ln) > r.BufSize {
			ln = 0
		}
		r.setSlot(k, s, idx, ln, fl)
	}
	h := r.u32(k.off + abi.RingHead)
	c := r.u32(k.off + abi.RingCur)
	t := r.u32(k.off + abi.RingTail)
	if h >= k.n || c >= k.n || t >= k.n {
		r.put32(k.off+abi.RingHead, k.hwcur)
		r.put32(k.off+abi.RingCur, k.hwcur)
		r.put32(k.off+abi.RingTail, k.hwtail)
	}
}

// TxSync is NIOCTXSYNC on TX ring i: it takes the slots published in
// [hwcur, head), sends every complete packet (a trailing chain of
// NS_MOREFRAG slots waits for its last fragment; a packet for a connected
// RX ring that is full waits too, as in a netmap pipe), and reclaims
// everything it sent, so tail becomes hwcur-1.
func (r *Region) TxSync(i int) error { return r.TxSyncLimit(i, -1) }

// TxSyncLimit is TxSync reclaiming at most max slots (max < 0: all), like
// a NIC that has not finished transmitting: slots sent but not reclaimed
// stay kernel-owned until a later sync.
func (r *Region) TxSyncLimit(i, max int) error {
	mu.Lock()
	defer mu.Unlock()
	k := &r.tx[i]
	if _, ok := r.prologue(k); !ok {
		r.reinit(k)
		return ErrReinit
	}
	r.put32(k.off+abi.RingTail, k.hwtail) // restore a tail the user wrote
	head := r.u32(k.off + abi.RingHead)

	// Send complete packets from hwcur.
	for k.hwcur != head {
		s, cnt := k.hwcur, uint32(0)
		complete := false
		for s != head {
			_, _, fl := r.slot(k, s)
			cnt++
			s = next(s, k.n)
			if fl&abi.NS_MOREFRAG == 0 {
				complete = true
				break
			}
		}
		if !complete || !r.send(k, k.hwcur, cnt) {
			break
		}
		// The driver clears these once it has seen them.
		for j, s := uint32(0), k.hwcur; j < cnt; j, s = j+1, next(s, k.n) {
			idx, ln, fl := r.slot(k, s)
			r.setSlot(k, s, idx, ln, fl&^(abi.NS_BUF_CHANGED|abi.NS_REPORT))
		}
		k.hwcur = s
	}

	// Reclaim.
	want := (k.hwcur + k.n - 1) % k.n // one slot always stays empty
	d := dist(k.hwtail, want, k.n)
	if max >= 0 && uint32(max) < d {
		d = uint32(max)
	}
	k.hwtail = (k.hwtail + d) % k.n
	r.put32(k.off+abi.RingTail, k.hwtail)
	return nil
}

// send hands on the packet in cnt slots from s. It reports false, leaving
// the slots in the TX ring for a later sync, when the connected RX ring
// has no room (netmap pipes do the same; they never drop).
func (r *Region) send(k *kring, s, cnt uint32) bool {
	if cnt > abi.NETMAP_MAX_FRAGS {
		k.dropped++
		return true
	}
	// Gather, validating like a driver: a bad index drops the packet,
	// an oversized len is clamped.
	frame := r.scratch[:0]
	for j, p := uint32(0), s; j < cnt; j, p = j+1, next(p, k.n) {
		idx, ln, _ := r.slot(k, p)
		if !r.validBuf(idx) {
			k.dropped++
			return true
		}
		l := min(int(ln), r.BufSize)
		o := r.bufOff(idx)
		frame = append(frame, r.Mem[o:o+l]...)
	}
	r.scratch = frame[:0]
	switch {
	case k.peer == nil:
	case k.mode == Copy:
		q := &k.peer.rx[k.peerRing]
		if !k.peer.fits(q, frame) {
			return false
		}
		if !k.peer.inject(q, frame) {
			k.dropped++
			return true
		}
	case k.mode == Swap:
		q := &r.rx[k.peerRing]
		if dist(q.hwtail, (q.hwcur+q.n-1)%q.n, q.n) < cnt {
			return false
		}
		if !r.swapInto(k, s, cnt, q) {
			k.dropped++
			return true
		}
	}
	k.frames++
	if k.capture != nil {
		k.capture(frame)
	}
	return true
}

// fits reports whether RX ring q has free slots for pkt.
func (r *Region) fits(q *kring, pkt []byte) bool {
	fs := min(r.BufSize, 65535)
	cnt := max(1, (len(pkt)+fs-1)/fs)
	return cnt > abi.NETMAP_MAX_FRAGS || uint32(cnt) <= dist(q.hwtail, (q.hwcur+q.n-1)%q.n, q.n)
}

// swapInto moves cnt TX slot descriptors from s into free slots of RX ring
// q, taking q's buffers in exchange, as netmap pipes do.
func (r *Region) swapInto(k *kring, s, cnt uint32, q *kring) bool {
	// All RX buffers that would come back must be valid, or the TX ring
	// would inherit garbage.
	for j, d := uint32(0), q.hwtail; j < cnt; j, d = j+1, next(d, q.n) {
		if idx, _, _ := r.slot(q, d); !r.validBuf(idx) {
			return false
		}
	}
	for j := uint32(0); j < cnt; j, s = j+1, next(s, k.n) {
		tidx, tln, tfl := r.slot(k, s)
		ridx, _, _ := r.slot(q, q.hwtail)
		r.setSlot(q, q.hwtail, tidx, uint16(min(int(tln), r.BufSize)), tfl&abi.NS_MOREFRAG|abi.NS_BUF_CHANGED)
		r.setSlot(k, s, ridx, uint16(min(r.BufSize, 65535)), abi.NS_BUF_CHANGED)
		q.hwtail = next(q.hwtail, q.n)
	}
	return true
}

// RxSync is NIOCRXSYNC on RX ring i: it takes back the slots released in
// [hwcur, head) and publishes everything injected since the last sync by
// moving tail to hwtail. It also stamps ring.ts.
func (r *Region) RxSync(i int) error {
	mu.Lock()
	defer mu.Unlock()
	k := &r.rx[i]
	var err error
	if h, ok := r.prologue(k); ok {
		k.hwcur = h
	} else {
		r.reinit(k)
		err = ErrReinit
	}
	r.put32(k.off+abi.RingTail, k.hwtail)
	r.clock++
	ne.PutUint64(r.Mem[k.off+abi.RingTsSec:], uint64(1_700_000_000+r.clock/1_000_000))
	ne.PutUint64(r.Mem[k.off+abi.RingTsUsec:], uint64(r.clock%1_000_000))
	return err
}

// Inject plays the NIC (or the peer port): it writes pkt into the free
// kernel-owned slots of RX ring i, split into NS_MOREFRAG fragments if it
// is larger than a buffer, and reports whether there was room (at most
// NETMAP_MAX_FRAGS fragments). The packet becomes visible at the next
// RxSync.
func (r *Region) Inject(i int, pkt []byte) bool {
	mu.Lock()
	defer mu.Unlock()
	return r.inject(&r.rx[i], pkt)
}

func (r *Region) inject(k *kring, pkt []byte) bool {
	fs := min(r.BufSize, 65535) // slot.len is 16 bits
	cnt := max(1, (len(pkt)+fs-1)/fs)
	free := dist(k.hwtail, (k.hwcur+k.n-1)%k.n, k.n)
	if cnt > abi.NETMAP_MAX_FRAGS || uint32(cnt) > free {
		k.dropped++
		return false
	}
	for j, d := 0, k.hwtail; j < cnt; j, d = j+1, next(d, k.n) {
		if idx, _, _ := r.slot(k, d); !r.validBuf(idx) {
			k.dropped++ // a NIC would reinit the ring here
			return false
		}
	}
	for j := range cnt {
		idx, _, _ := r.slot(k, k.hwtail)
		frag := pkt[min(j*fs, len(pkt)):min((j+1)*fs, len(pkt))]
		copy(r.Mem[r.bufOff(idx):], frag)
		var fl uint16
		if j < cnt-1 {
			fl = abi.NS_MOREFRAG
		}
		r.setSlot(k, k.hwtail, idx, uint16(len(frag)), fl)
		k.hwtail = next(k.hwtail, k.n)
	}
	k.frames++
	return true
}

// RxReady reports what netmap's poll reports as POLLIN for RX ring i
// after its sync: cur != tail, that is packets after the slots the user
// holds (cur beyond head holds them without being woken for them).
func (r *Region) RxReady(i int) bool {
	mu.Lock()
	defer mu.Unlock()
	k := &r.rx[i]
	return r.u32(k.off+abi.RingCur) != r.u32(k.off+abi.RingTail)
}

// InjectFrags plays a hostile (or slow) peer: it writes frags into the
// free kernel-owned slots of RX ring i, one slot each, chained with
// NS_MOREFRAG, and sets NS_MOREFRAG on the last one too when more is true:
// a packet whose end comes later, or never. Unlike Inject it takes any
// number of fragments. It reports whether there was room; frags visible at
// the next RxSync.
func (r *Region) InjectFrags(i int, frags [][]byte, more bool) bool {
	mu.Lock()
	defer mu.Unlock()
	k := &r.rx[i]
	free := dist(k.hwtail, (k.hwcur+k.n-1)%k.n, k.n)
	if uint32(len(frags)) > free {
		k.dropped++
		return false
	}
	for j, d := 0, k.hwtail; j < len(frags); j, d = j+1, next(d, k.n) {
		if idx, _, _ := r.slot(k, d); !r.validBuf(idx) || len(frags[j]) > min(r.BufSize, 65535) {
			k.dropped++
			return false
		}
	}
	for j, f := range frags {
		idx, _, _ := r.slot(k, k.hwtail)
		copy(r.Mem[r.bufOff(idx):], f)
		var fl uint16
		if j < len(frags)-1 || more {
			fl = abi.NS_MOREFRAG
		}
		r.setSlot(k, k.hwtail, idx, uint16(len(f)), fl)
		k.hwtail = next(k.hwtail, k.n)
	}
	return true
}
