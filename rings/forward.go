package rings

import "github.com/nmgo/nmgo/internal/abi"

// Forwarded counts what one [Forward] did with the slots it acquired.
type Forwarded struct {
	// Acquired is the slots taken from the RX ring (all of them are
	// released).
	Acquired int
	// Taken is the slots the take function kept for itself.
	Taken int
	// Sent is the slots moved to the TX ring by buffer swap.
	Sent int
	// Dropped is the slots that found no free TX slot.
	Dropped int
	// Bad is the slots whose buffer index or length failed the checks:
	// neither handed to take nor forwarded.
	Bad int
}

// Forward moves received packets from rx to tx without copying them, as
// netmap's bridge does between a NIC and its host rings: it reads rx's
// tail once and acquires up to max slots, reads tx's tail once and
// reserves as many free slots as it can, and then, slot by slot, offers
// the packet to take (if take is not nil): a packet take returns true for
// is the caller's and is only released; any other packet is swapped into
// the next reserved TX slot (buffer indices exchanged, NS_BUF_CHANGED set
// on both, the length and NS_MOREFRAG carried over, as [TxRing.Swap]
// does), or dropped if no reserved slot is left. Finally it publishes the
// swapped TX slots and releases every acquired RX slot. The caller syncs
// both rings' ports: the TX sync sends, the RX sync refills.
//
// The packet take sees aliases ring memory and is valid only during the
// call. take must not touch rx or tx. With NS_MOREFRAG packets, each slot
// (fragment) is offered and forwarded on its own, in order.
//
// Every value read from shared memory is read once and checked, and the
// first bad one is returned as an [*IntegrityError] with the counts of
// the whole batch: a bad RX tail acquires nothing; an RX slot with a bad
// buffer index or length is counted in Bad and released without being
// offered or forwarded; a bad TX tail, or a TX slot whose buffer index is
// bad (at Reserve, or by the time of its swap), ends the TX side there,
// and the packets that would have gone on are Dropped. The rings must share one
// buffer pool (views of one region), else ErrOtherRegion and nothing
// moves. The work of a call is bounded by max and the ring sizes,
// whatever the kernel writes. Forward does not allocate.
func Forward(tx *TxRing, rx *RxRing, max int, take func(pkt []byte) bool) (Forwarded, error) {
	var f Forwarded
	if !tx.same(&rx.pool) {
		return f, ErrOtherRegion
	}
	n, err := rx.Acquire(max)
	if n == 0 {
		return f, err
	}
	f.Acquired = n
	room, terr := tx.Reserve(n)
	if terr != nil && err == nil {
		err = terr
	}
	for i := range n {
		p := rx.pos(i)
		s := rx.slot(p)
		idx, l, fl := s.BufIdx, s.Len, s.Flags
		if !rx.valid(idx) || uint32(l) > rx.size {
			checkFailed()
			f.Bad++
			if err == nil {
				err = rx.slotErr(p, idx, l)
			}
			continue
		}
		if take != nil && take(rx.buf(idx, int(l))) {
			f.Taken++
			continue
		}
		if f.Sent == room {
			f.Dropped++
			continue
		}
		tp := tx.pos(f.Sent)
		ts := tx.slot(tp)
		tidx := ts.BufIdx
		if !tx.valid(tidx) {
			// Reserve checked it; a kernel that changed it since
			// has the slot back: stop using the reservation.
			checkFailed()
			if err == nil {
				err = tx.bufErr(tp, tidx)
			}
			room = f.Sent
			f.Dropped++
			continue
		}
		ts.BufIdx, ts.Len, ts.Flags = idx, l, fl&abi.NS_MOREFRAG|abi.NS_BUF_CHANGED
		s.BufIdx = tidx
		s.Flags |= abi.NS_BUF_CHANGED
		f.Sent++
	}
	tx.Publish(f.Sent)
	rx.Release(n)
	return f, err
}
