package rings

import "sync/atomic"

// pageSize is the step of Prefault's reads: the smallest page of the
// platforms nmgo builds for. Reading more often than the real page size
// costs a few loads, never a missed page.
const pageSize = 4096

// faultSink keeps Prefault's reads: the compiler drops a load whose value
// is not used.
var faultSink atomic.Uint32

// prefault reads one octet of each page of every buffer the ring's slots
// hold. Linux maps a netmap region by page faults, on first touch, and a
// ring's first lap would otherwise take one for each page of its
// buffers while packets flow. Slots holding an index outside the pool are
// skipped: the ring's other methods report them.
func (r *ring) prefault() int {
	var s byte
	n := 0
	for p := uint32(0); p < r.n; p++ {
		b := r.buf(r.slot(p).BufIdx, int(r.size))
		if b == nil {
			continue
		}
		for o := 0; o < len(b); o += pageSize {
			s += b[o]
		}
		s += b[len(b)-1]
		n++
	}
	faultSink.Store(uint32(s))
	return n
}

// Prefault touches every page of the buffers the ring's slots hold now,
// so that the first packets through the ring do not each pay a page
// fault: Linux maps a netmap region on first touch, page by page, and a
// 4096-slot ring of 2048-octet buffers is 2048 faults, taken while the
// first 4096 packets arrive. It reads one octet a page and returns the
// number of buffers touched (slots whose buffer index is outside the pool
// are skipped; Acquire and Packet report them). nmsys calls it when it
// builds a ring's view.
func (r *RxRing) Prefault() int { return r.prefault() }

// Prefault touches every page of the buffers the ring's slots hold now,
// so that the first packets written do not each pay a page fault; see
// [RxRing.Prefault].
func (r *TxRing) Prefault() int { return r.prefault() }
