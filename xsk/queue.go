package xsk

import (
	"sync/atomic"
)

// QueueStats are the counts a queue keeps. They are updated once per batch
// with atomic adds, so [Socket.Stats] may read them from any goroutine.
type QueueStats struct {
	Packets   uint64 // published (TX) or acquired (RX)
	Bytes     uint64 // their lengths
	Completed uint64 // TX: frames the kernel handed back as sent
	Integrity uint64 // ring entries refused as integrity errors
}

type queueStats struct {
	packets, bytes, completed, integrity atomic.Uint64
}

func (s *queueStats) load() QueueStats {
	return QueueStats{Packets: s.packets.Load(), Bytes: s.bytes.Load(), Completed: s.completed.Load(), Integrity: s.integrity.Load()}
}

// TxQueue is the transmit side of a socket: the TX ring, the completion
// ring and the UMEM frames set aside for sending. It has the shape of
// package video's TxQueue (and of rings.TxRing): Reserve hands out free
// frames, the caller fills them (Buf, SetLen), Publish puts them on the TX
// ring. The kernel sends them when kicked ([Socket.Kick]); Reserve reclaims
// the frames it has sent from the completion ring.
//
// A TxQueue is not safe for concurrent use: one goroutine at a time drives
// it. Its methods do not allocate.
type TxQueue struct {
	tx, comp ring
	um       *umem
	free     []uint64 // stack of free frame addresses
	addr     []uint64 // the reservation's frames
	lens     []uint32
	n        int // reserved
	first    int // the first of the queue's frames in the UMEM
	frames   int // TX frames in all
	closed   *atomic.Bool
	stats    queueStats
}

// init builds the TX side in place over the given rings, owning the frames
// [first, first+count) of um. closed is the socket's closed flag.
func (q *TxQueue) init(tx, comp ring, um *umem, first, count int, closed *atomic.Bool) {
	*q = TxQueue{tx: tx, comp: comp, um: um, first: first, frames: count, closed: closed,
		free: make([]uint64, 0, count), addr: make([]uint64, count), lens: make([]uint32, count)}
	for f := first + count - 1; f >= first; f-- {
		um.owner[f] = ownTxFree
		q.free = append(q.free, uint64(f)<<um.shift)
	}
}

// FrameSize returns the size of a frame: the longest packet Buf can hold.
func (q *TxQueue) FrameSize() int { return int(q.um.size) }

// Frames returns the number of UMEM frames the queue sends from.
func (q *TxQueue) Frames() int { return q.frames }

// InFlight returns the number of frames published and not yet handed back
// on the completion ring (it does not read the ring: call Reserve(0) or
// [Socket.WaitTx] first). Drain a queue before Close by kicking until
// it is 0.
func (q *TxQueue) InFlight() int { return q.frames - len(q.free) - q.n }

// Unsent returns the number of published frames the kernel has not yet
// taken off the TX ring, from one read of its consumer (0 after Close, or
// if the consumer is bad: Reserve reports that). In copy mode one
// [Socket.Kick] takes at most the kernel's TX budget: a caller that wants
// everything published on its way kicks again while Unsent is not 0.
func (q *TxQueue) Unsent() int {
	if q.closed.Load() {
		return 0
	}
	n := q.tx.local - q.tx.cons.Load()
	if n > q.tx.size {
		return 0
	}
	return int(n)
}

// reclaim reads the completion ring once and puts every completed frame
// back on the free stack. A completion for a frame the kernel was not
// sending is an integrity error; it is skipped. It returns the frames
// reclaimed and the completions refused, for Reserve to count once it
// knows the ring was not Close's placeholder.
func (q *TxQueue) reclaim() (done, nbad uint64, err error) {
	n, err := q.comp.available()
	if err != nil || n == 0 {
		return 0, 0, err
	}
	u := q.um
	nf := uint64(len(u.owner))
	var bad error
	idx := q.comp.local
	for i := uint32(0); i < n; i++ {
		a := *q.comp.addrAt(idx + i)
		f := a >> u.shift
		switch {
		case f >= nf:
			bad = q.comp.fail(int64(idx+i), "addr", whyOutside, a)
		case a&(u.size-1) != 0:
			bad = q.comp.fail(int64(idx+i), "addr", whyNotBase, a)
		case u.owner[f] != ownTxKernel:
			bad = q.comp.fail(int64(idx+i), "addr", whyNotLent, a)
		default:
			u.owner[f] = ownTxFree
			q.free = append(q.free, a)
			done++
			continue
		}
		nbad++
	}
	q.comp.consume(n)
	return done, nbad, bad
}

// Reserve reclaims sent frames, then reserves up to n free frames for the
// caller to fill, returning how many (0 when every frame is in flight or
// the TX ring is full). They are addressed as 0..k-1 by Buf and SetLen
// until Publish; a new Reserve replaces an unpublished reservation.
//
// A completion ring or TX ring whose indices break the rules gives an
// [*IntegrityError]; so does a completion naming a frame that was not in
// flight, which is skipped (the rest of the batch is still reclaimed and
// the reservation made). After Close, also one that runs during the call,
// it returns [ErrClosed].
func (q *TxQueue) Reserve(n int) (int, error) {
	q.unreserve()
	if q.closed.Load() {
		return 0, ErrClosed
	}
	lastComp, lastTx, top0 := q.comp.last, q.tx.last, len(q.free)
	if hookQueue != nil {
		hookQueue(hookBeforeReclaim)
	}
	done, nbad, err := q.reclaim()
	space, ferr := q.tx.free()
	if q.closed.Load() {
		// Close sets the flag before it swaps in its placeholders, which
		// read as zeros (and zeros often pass the checks): with the flag
		// clear here every read above was of the real rings. With it set
		// nothing read is trusted: the frames reclaimed go back in flight,
		// and no count moves and no error is kept. The ring cursors are
		// not restored: nothing reads them after ErrClosed (the flag is
		// never cleared).
		for _, a := range q.free[top0:] {
			q.um.owner[a>>q.um.shift] = ownTxKernel
		}
		q.free = q.free[:top0]
		q.comp.last, q.tx.last = lastComp, lastTx
		return 0, ErrClosed
	}
	if done != 0 {
		q.stats.completed.Add(done)
	}
	if nbad != 0 {
		q.stats.integrity.Add(nbad)
	}
	if ferr != nil {
		return 0, ferr
	}
	if n <= 0 {
		return 0, err
	}
	k := min(n, int(space), len(q.free))
	top := len(q.free)
	for i := range k {
		a := q.free[top-1-i]
		q.addr[i] = a
		q.lens[i] = 0
		q.um.owner[a>>q.um.shift] = ownTxUser
	}
	q.free = q.free[:top-k]
	q.n = k
	return k, err
}

// unreserve returns an unpublished reservation to the free stack.
func (q *TxQueue) unreserve() {
	for i := q.n - 1; i >= 0; i-- {
		a := q.addr[i]
		q.um.owner[a>>q.um.shift] = ownTxFree
		q.free = append(q.free, a)
	}
	q.n = 0
}

// Buf returns reserved frame i, whole (len and cap are FrameSize), for the
// caller to fill from its start. It aliases the UMEM: it is valid until
// Publish (after which the kernel reads it) or the next Reserve. It panics
// if i is not in [0, reserved).
func (q *TxQueue) Buf(i int) []byte {
	a := q.addr[:q.n][i]
	return q.um.mem[a : a+q.um.size : a+q.um.size]
}

// Frame returns which of the queue's frames reserved slot i holds, a
// number in [0, Frames()): frames come back from the completion ring in
// the kernel's order, so a caller that writes each frame whole once and
// afterwards patches only what changes keeps its record by this number.
// It panics if i is not in [0, reserved).
func (q *TxQueue) Frame(i int) int {
	return int(q.addr[:q.n][i]>>q.um.shift) - q.first
}

// SetLen sets the length of the packet in reserved frame i. It panics if i
// is not in [0, reserved) or n is not in [0, FrameSize].
func (q *TxQueue) SetLen(i, n int) {
	if uint64(n) > q.um.size {
		panic("xsk: SetLen length out of range")
	}
	q.lens[:q.n][i] = uint32(n)
}

// SetLens sets the length of each of the first n reserved frames to l, as
// SetLen does, in one pass.
func (q *TxQueue) SetLens(n, l int) {
	if uint64(l) > q.um.size {
		panic("xsk: SetLens length out of range")
	}
	for i := range q.lens[:q.n][:n] {
		q.lens[i] = uint32(l)
	}
}

// Publish puts the first n reserved frames on the TX ring, in order (one
// atomic store of the producer), and returns the rest of the reservation
// to the free stack. A frame of length 0 is not put on the ring but goes
// back to the free stack too: there is nothing to send, and since Linux
// 6.6 the kernel takes such a descriptor as invalid, in some versions
// without handing the frame back (copy mode releasing it without a
// completion, zero-copy batches skipping it). The kernel sends them when kicked: call
// [Socket.Kick]. It panics if n is not in [0, reserved].
func (q *TxQueue) Publish(n int) {
	_ = q.addr[:q.n][:n]
	idx := q.tx.local
	bytes := uint64(0)
	put := uint32(0)
	for i := range n {
		a, l := q.addr[i], q.lens[i]
		if l == 0 {
			q.um.owner[a>>q.um.shift] = ownTxFree
			q.free = append(q.free, a) // it was reserved: within cap
			continue
		}
		d := q.tx.descAt(idx + put)
		d.Addr, d.Len, d.Options = a, l, 0
		q.um.owner[a>>q.um.shift] = ownTxKernel
		bytes += uint64(l)
		put++
	}
	q.tx.produce(put)
	// The rest goes back; move the published ones out of the way first.
	rest := q.n - n
	copy(q.addr, q.addr[n:q.n])
	q.n = rest
	q.unreserve()
	if put > 0 {
		q.stats.packets.Add(uint64(put))
		q.stats.bytes.Add(bytes)
	}
}

// Stats returns the queue's counts.
func (q *TxQueue) Stats() QueueStats { return q.stats.load() }

// RxQueue is the receive side of a socket: the RX ring, the fill ring and
// the UMEM frames set aside for receiving. It has the shape of package
// video's RxQueue (and of rings.RxRing): Acquire takes received packets,
// Packet reads them in place, Release gives their frames back to the
// kernel through the fill ring.
//
// An RxQueue is not safe for concurrent use: one goroutine at a time drives
// it. Its methods do not allocate.
type RxQueue struct {
	rx, fill ring
	um       *umem
	pend     []uint64 // released frames not yet on the fill ring
	addr     []uint64 // the acquisition: frame address, or badAddr
	lens     []uint32
	errs     []error // per acquired entry, nil if good
	n        int
	frames   int
	closed   *atomic.Bool
	stats    queueStats
}

// badAddr marks an acquired descriptor that failed validation.
const badAddr = ^uint64(0)

// init builds the RX side in place, owning frames [first, first+count) of
// um, and puts as many of them on the fill ring as it takes. closed is the
// socket's closed flag.
func (q *RxQueue) init(rx, fill ring, um *umem, first, count int, closed *atomic.Bool) error {
	*q = RxQueue{rx: rx, fill: fill, um: um, frames: count, closed: closed,
		pend: make([]uint64, 0, count), addr: make([]uint64, rx.size), lens: make([]uint32, rx.size), errs: make([]error, rx.size)}
	for f := first + count - 1; f >= first; f-- {
		um.owner[f] = ownRxPend
		q.pend = append(q.pend, uint64(f)<<um.shift)
	}
	return q.refill()
}

// refill moves released frames onto the fill ring, as many as it has room
// for (one read of the consumer, one store of the producer).
func (q *RxQueue) refill() error {
	if len(q.pend) == 0 {
		return nil
	}
	space, err := q.fill.free()
	if err != nil {
		return err
	}
	k := min(int(space), len(q.pend))
	top := len(q.pend)
	idx := q.fill.local
	for i := range k {
		a := q.pend[top-1-i]
		*q.fill.addrAt(idx + uint32(i)) = a
		q.um.owner[a>>q.um.shift] = ownRxKernel
	}
	q.pend = q.pend[:top-k]
	q.fill.produce(uint32(k))
	return nil
}

// FrameSize returns the size of a frame.
func (q *RxQueue) FrameSize() int { return int(q.um.size) }

// Frames returns the number of UMEM frames the queue receives into.
func (q *RxQueue) Frames() int { return q.frames }

// Pending returns the number of received packets waiting on the RX ring,
// acquired ones included, from one read of its producer (0 if the producer
// is bad; Acquire reports that).
func (q *RxQueue) Pending() int {
	n := q.rx.prod.Load() - q.rx.local
	if n > q.rx.size {
		return 0
	}
	return int(n)
}

// waiting reads the RX ring's producer once and reports whether it holds
// packets not yet acquired. A producer more than the ring size ahead, or
// one that moved backwards past entries already seen, is the integrity
// error Acquire would report (the waits return it rather than wait for
// packets that a bad producer hides); after Close, whose placeholder
// mappings read as zeros, it is ErrClosed.
func (q *RxQueue) waiting() (bool, error) {
	_, n, err := q.rx.ready()
	if err == nil {
		return int(n) > q.n, nil
	}
	if q.closed.Load() {
		return false, ErrClosed
	}
	return false, err
}

// Acquire reads the RX ring's producer once and takes up to n received
// packets, returning how many (0 when there are none). They are addressed
// as 0..k-1 by Packet until Release; a new Acquire replaces an unreleased
// acquisition (starting again at the same packets).
//
// Every descriptor is checked as it is taken: its address and length must
// lie inside one frame of the UMEM, and that frame must be one the kernel
// was given to receive into. A bad descriptor is still acquired (so that
// Release steps over it) but Packet reports it. The descriptor's options
// word is not read: the socket is bound without XDP_USE_SG, so the kernel
// sends no multi-buffer packets, and a descriptor that has XDP_PKT_CONTD
// (or any option bit) anyway is a packet of its own, checked like any
// other. A bad producer index gives
// 0 and an [*IntegrityError]. After Close, also one that runs during the
// call, it returns 0 and [ErrClosed].
func (q *RxQueue) Acquire(n int) (int, error) {
	q.unacquire()
	if q.closed.Load() {
		return 0, ErrClosed
	}
	lastRx, lastFill := q.rx.last, q.fill.last
	err := q.refill()
	var avail uint32
	if err == nil {
		avail, err = q.rx.available()
	}
	if hookQueue != nil {
		hookQueue(hookAfterAvailable)
	}
	k := uint32(0)
	if err == nil && n > 0 {
		k = uint32(min(n, int(avail))) // n in int: uint32(n) drops its high bits
	}
	u := q.um
	nf := uint64(len(u.owner))
	idx := q.rx.local
	bytes, nbad := uint64(0), uint64(0)
	// The descriptor is kept before it is checked, and a failed check is
	// told apart in bad, called out of the loop: a call in the loop would
	// keep the loop's values in memory across every packet.
	for i := uint32(0); ; i++ {
		for ; i < k; i++ {
			d := q.rx.descAt(idx + i)
			a, l := d.Addr, d.Len
			q.addr[i], q.lens[i] = a, l
			f := a >> u.shift
			if f >= nf || a&(u.size-1)+uint64(l) > u.size || u.owner[f] != ownRxKernel {
				break
			}
			u.owner[f] = ownRxUser
			bytes += uint64(l)
		}
		if i >= k {
			break
		}
		q.bad(i)
		nbad++
	}
	q.n = int(k)
	if q.closed.Load() {
		// Close sets the flag before it swaps in its placeholders, which
		// read as zeros (and zeros often pass the checks: a zeroed
		// descriptor names frame 0): with the flag clear here every read
		// above was of the real rings. With it set nothing read is
		// trusted: the acquisition is dropped, and no count moves and no
		// error is kept. The refill is not undone: it wrote the fill ring,
		// which may have been the real one (Close parks the rings only
		// after its wait), so the kernel may hold those frames; put back
		// in pend, a later Release would give them to it twice. The ring
		// cursors are not restored: nothing reads them after ErrClosed
		// (the flag is never cleared).
		q.unacquire()
		q.rx.last, q.fill.last = lastRx, lastFill
		return 0, ErrClosed
	}
	if nbad != 0 {
		q.stats.integrity.Add(nbad)
	}
	if k > 0 {
		q.stats.packets.Add(uint64(k))
		q.stats.bytes.Add(bytes)
	}
	return int(k), err
}

// bad marks acquired descriptor i, kept as read, as failing Acquire's
// checks, and keeps the error. It is not inlined: Acquire calls it rarely.
//
//go:noinline
func (q *RxQueue) bad(i uint32) {
	u, a, l, at := q.um, q.addr[i], q.lens[i], int64(q.rx.local+i)
	switch {
	case a>>u.shift >= uint64(len(u.owner)):
		q.errs[i] = q.rx.fail(at, "addr", whyOutside, a)
	case a&(u.size-1)+uint64(l) > u.size:
		q.errs[i] = q.rx.fail(at, "len", whyCrosses, uint64(l))
	default:
		q.errs[i] = q.rx.fail(at, "addr", whyNotLent, a)
	}
	q.addr[i], q.lens[i] = badAddr, 0
}

// unacquire drops an unreleased acquisition: its frames go back to the
// kernel's side, as they still are on the RX ring.
func (q *RxQueue) unacquire() {
	for i := range q.n {
		if a := q.addr[i]; a != badAddr {
			q.um.owner[a>>q.um.shift] = ownRxKernel
		}
	}
	q.n = 0
}

// Packet returns acquired packet i: a whole Ethernet frame, in place in
// the UMEM (cap == len). It is valid until Release (after which the kernel
// may receive into it again). A descriptor that failed Acquire's checks
// gives nil and its [*IntegrityError]. Packet panics if i is not in [0,
// acquired).
func (q *RxQueue) Packet(i int) ([]byte, error) {
	a := q.addr[:q.n][i]
	if a == badAddr {
		return nil, q.errs[i]
	}
	e := a + uint64(q.lens[i])
	return q.um.mem[a:e:e], nil
}

// Packets stores acquired packets first, first+1, ... in pkts, as many as
// pkts holds and are acquired, and returns how many: what Packet returns
// for each, in one call for a batch (video.Receiver.Drain reads a queue
// this way). A descriptor that failed Acquire's checks gets a nil entry,
// and Packet on it gives the [*IntegrityError]. Packets panics if first is
// not in [0, acquired].
func (q *RxQueue) Packets(first int, pkts [][]byte) int {
	addr := q.addr[:q.n][first:]
	k := min(len(pkts), len(addr))
	pkts, addr = pkts[:k], addr[:k]
	lens := q.lens[first:][:k]
	mem := q.um.mem
	for i, a := range addr {
		if a == badAddr {
			pkts[i] = nil
			continue
		}
		e := a + uint64(lens[i])
		pkts[i] = mem[a:e:e]
	}
	return k
}

// Len returns the length of acquired packet i without touching it (0 for a
// bad descriptor). It panics if i is not in [0, acquired).
func (q *RxQueue) Len(i int) int { return int(q.lens[:q.n][i]) }

// Release gives the frames of the first n acquired packets back to the
// kernel: it moves the RX ring's consumer past them (one atomic store) and
// puts the frames on the fill ring (one more). The rest of the acquisition
// is dropped and will be acquired again. It panics if n is not in [0,
// acquired].
func (q *RxQueue) Release(n int) {
	_ = q.addr[:q.n][:n]
	u := q.um
	for i := range n {
		if a := q.addr[i]; a != badAddr {
			u.owner[a>>u.shift] = ownRxPend
			q.pend = append(q.pend, a&^(u.size-1))
		}
	}
	q.rx.consume(uint32(n))
	copy(q.addr, q.addr[n:q.n])
	q.n -= n
	q.unacquire()
	// A fill ring gone bad shows at the next Acquire, which refills too.
	_ = q.refill()
}

// Stats returns the queue's counts.
func (q *RxQueue) Stats() QueueStats { return q.stats.load() }
