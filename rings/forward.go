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
	// Held is the slots of an NS_MOREFRAG chain whose end has not
	// arrived yet: left in the RX ring (see [RxRing.ReleaseHold]) for a
	// later call.
	Held int
}

// Forward moves received packets from rx to tx without copying them, as
// netmap's bridge does between a NIC and its host rings: it reads rx's
// tail once and acquires up to max slots (NETMAP_MAX_FRAGS if the chain
// that starts them runs past max), reads tx's tail once and
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
// call. take must not touch rx or tx. An NS_MOREFRAG chain (a packet in
// several slots) is one unit: take sees its first fragment and its answer
// applies to the whole chain; the chain is forwarded whole or, when the
// reserved TX slots cannot hold all of it, dropped whole, so the TX ring
// never gets a chain without its end. A chain whose end is not among the
// acquired slots yet is held in rx ([RxRing.ReleaseHold]) for a later
// call; one longer than NETMAP_MAX_FRAGS slots, or filling the ring
// without an end, is Bad.
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
	for i := 0; i < n; {
		p := rx.pos(i)
		s := rx.slot(p)
		idx, l, fl := s.BufIdx, s.Len, s.Flags
		if fl&abi.NS_MOREFRAG != 0 {
			k, ferr := forwardChain(tx, rx, i, n, &room, &f, take)
			if ferr != nil && err == nil {
				err = ferr
			}
			if k == 0 && i == 0 && n == max && max < abi.NETMAP_MAX_FRAGS {
				// The acquisition ends inside the chain that
				// starts it: nothing moved yet, start again
				// with room for the longest chain.
				return Forward(tx, rx, abi.NETMAP_MAX_FRAGS, take)
			}
			if k == 0 { // the chain's end has not arrived
				f.Held = n - i
				tx.Publish(f.Sent)
				rx.ReleaseHold(i)
				return f, err
			}
			i += k
			continue
		}
		i++
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
		ts.BufIdx, ts.Len, ts.Flags = idx, l, abi.NS_BUF_CHANGED
		s.BufIdx = tidx
		s.Flags |= abi.NS_BUF_CHANGED
		f.Sent++
	}
	tx.Publish(f.Sent)
	rx.Release(n)
	return f, err
}

// frag is one slot of a chain as Forward read it, once.
type frag struct {
	idx, tidx uint32
	len       uint16
	flags     uint16
}

// forwardChain is Forward for the NS_MOREFRAG chain that starts at
// acquired slot i of n: it reads the chain's slots once, then takes,
// forwards, drops or counts as bad the whole chain, and returns how many
// slots it spans, or 0 if its end is not among the n slots yet (and it can
// still come).
func forwardChain(tx *TxRing, rx *RxRing, i, n int, room *int, f *Forwarded, take func([]byte) bool) (int, error) {
	var ch [abi.NETMAP_MAX_FRAGS]frag
	k, bad := 0, -1
	var err error
	for {
		p := rx.pos(i + k)
		s := rx.slot(p)
		c := &ch[k]
		c.idx, c.len, c.flags = s.BufIdx, s.Len, s.Flags
		if bad < 0 && (!rx.valid(c.idx) || uint32(c.len) > rx.size) {
			checkFailed()
			bad, err = k, rx.slotErr(p, c.idx, c.len)
		}
		k++
		if c.flags&abi.NS_MOREFRAG == 0 {
			break
		}
		if k == len(ch) {
			checkFailed()
			f.Bad += k
			return k, rx.fail(int(p), "flags", whyFrags, int64(c.flags))
		}
		if i+k == n {
			if k >= int(rx.n)-1 {
				// The chain holds every slot the user can
				// hold: no later sync can bring its end.
				checkFailed()
				f.Bad += k
				return k, rx.fail(int(p), "flags", whyFillsRing, int64(c.flags))
			}
			return 0, nil
		}
	}
	if bad >= 0 {
		f.Bad++
		f.Dropped += k - 1
		return k, err
	}
	if take != nil && take(rx.buf(ch[0].idx, int(ch[0].len))) {
		f.Taken += k
		return k, nil
	}
	if *room-f.Sent < k {
		f.Dropped += k
		return k, nil
	}
	for j := range k {
		tp := tx.pos(f.Sent + j)
		tidx := tx.slot(tp).BufIdx
		if !tx.valid(tidx) {
			// Reserve checked it; a kernel that changed it since
			// has the slot back: stop using the reservation.
			checkFailed()
			*room = f.Sent
			f.Dropped += k
			return k, tx.bufErr(tp, tidx)
		}
		ch[j].tidx = tidx
	}
	for j := range k {
		ts, s := tx.slot(tx.pos(f.Sent+j)), rx.slot(rx.pos(i+j))
		ts.BufIdx, ts.Len, ts.Flags = ch[j].idx, ch[j].len, ch[j].flags&abi.NS_MOREFRAG|abi.NS_BUF_CHANGED
		s.BufIdx = ch[j].tidx
		s.Flags |= abi.NS_BUF_CHANGED
	}
	f.Sent += k
	return k, nil
}
