package nmsys

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/handoff"
)

// waitSlice bounds one netpoller wait. netmap can in principle lose a
// wake-up when epoll's poll of the fd races with our own sync of the same
// ring (netmap_poll skips a ring busy in a sync without a word); waking at
// least this often and syncing again
// turns such a loss into a short delay instead of a hang.
const waitSlice = 200 * time.Millisecond

func (p *Port) rxWaitCB(fd uintptr) bool {
	if !p.enter() {
		return true
	}
	p.rxWaitErr = ioctlSync(fd, abi.NIOCRXSYNC)
	ready := p.rxWaitErr != 0 || p.rxReady()
	p.exit()
	return ready
}

func (p *Port) txWaitCB(fd uintptr) bool {
	if !p.enter() {
		return true
	}
	p.txWaitErr = ioctlSync(fd, abi.NIOCTXSYNC)
	ready := p.txWaitErr != 0 || p.txReady()
	p.exit()
	return ready
}

// WaitRx syncs the bound RX rings and, if none holds packets (past cur:
// slots held with rings.RxRing.ReleaseHold do not count), blocks in
// Go's netpoller until one does, the read deadline passes
// (os.ErrDeadlineExceeded) or the port is closed ([ErrClosed]). A ring
// stopped while it waits (its NIC resetting) gives the sync's error, EIO,
// as in [Port.WaitTx]. It does not allocate. Call it from the goroutine
// that drives RX.
func (p *Port) WaitRx() error {
	if len(p.rxOffs) == 0 {
		return &Error{Op: "wait rx", Port: p.name, Err: errors.New("no RX rings bound")}
	}
	return p.wait(&p.rdeadline, p.rxWaitFn, &p.rxWaitErr, "wait rx", pollIn)
}

// WaitTx syncs the bound TX rings and, if none has free slots, blocks until
// one does, the write deadline passes (os.ErrDeadlineExceeded) or the port
// is closed ([ErrClosed]). A ring stopped while it waits (its NIC
// resetting) gives the sync's error, EIO. It does not allocate. Call it
// from the goroutine that drives TX.
func (p *Port) WaitTx() error {
	if len(p.txOffs) == 0 {
		return &Error{Op: "wait tx", Port: p.name, Err: errors.New("no TX rings bound")}
	}
	return p.wait(&p.wdeadline, p.txWaitFn, &p.txWaitErr, "wait tx", pollOut)
}

// PollRx waits the way netmap's own tools do: it blocks the calling OS
// thread in poll(2), inside which the kernel syncs the bound RX rings and,
// if none holds packets, sleeps until one does or timeout passes. It
// returns nil in both cases; look at the rings to tell them apart. A
// timeout <= 0 syncs without sleeping. If poll(2) reports POLLERR (netmap
// rejects a ring's head or cur, which it tells no other way), PollRx
// returns an error naming the rings' cursors. A ring stopped while its
// NIC resets gives POLLERR too, and the same error: netmap reports a
// rejected head once, adopting it, so that PollRx cannot sync again to
// tell the two apart (a sync would have the kernel act on that head), as
// [Port.WaitRx] does (EIO); take that error as the ring's, not always
// the caller's.
//
// Unlike [Port.WaitRx], PollRx parks the OS thread rather than the
// goroutine, and the kernel wakes it straight from the forwarding path:
// the cheapest wake-up there is, meant for a goroutine locked to its thread
// (runtime.LockOSThread) that does nothing but drive RX rings. It returns
// [ErrClosed] within about 20 ms of Close (not on a NIC whose link is
// down: see [Port.Close]). It does not allocate.
func (p *Port) PollRx(timeout time.Duration) error {
	return p.pollRx(timeout, nil, 0)
}

// pollRx is PollRx; with a hand-off clock ho, its first poll(2) gives the
// goroutine's P to the runtime for the call if ho says so at now
// (Idler.NextBatchAt).
func (p *Port) pollRx(timeout time.Duration, ho *handoff.Clock, now int64) error {
	if len(p.rxOffs) == 0 {
		return &Error{Op: "poll rx", Port: p.name, Err: errors.New("no RX rings bound")}
	}
	tm := pollTimer{timeout: timeout}
	for {
		if p.closed.Load() {
			return ErrClosed
		}
		ms, ok := tm.next()
		if !ok {
			return nil
		}
		p.rxPoll.ms = ms
		p.rxPoll.handOff = ho != nil && ho.Due(now)
		ho = nil
		if err := p.rc.Control(p.rxPoll.pollFn); err != nil {
			return p.ctlErr(err)
		}
		if p.closed.Load() {
			return ErrClosed
		}
		if p.rxPoll.err != 0 {
			return p.syncErr("poll rx", "poll", p.rxPoll.err)
		}
		if p.rxPoll.rings.n != 0 {
			return p.pollErrError("poll rx", pollIn, &p.rxPoll.rings)
		}
		if ms == 0 || p.rxPoll.ready {
			return nil
		}
		tm.slept(ms)
	}
}

// pollSlice bounds one poll(2) in PollRx, so that Close is noticed.
const pollSlice = 20 * time.Millisecond

// pollTimer splits a wait of timeout into poll(2) calls of at most
// pollSlice. The clock is read only after the first empty poll: the fast
// path reads none.
type pollTimer struct {
	timeout time.Duration
	until   time.Time
}

// next returns the milliseconds of the next poll (0: sync only), or false
// once the timeout has passed.
func (t *pollTimer) next() (int, bool) {
	if t.timeout <= 0 {
		return 0, true
	}
	left := t.timeout
	if !t.until.IsZero() {
		if left = time.Until(t.until); left <= 0 {
			return 0, false
		}
	}
	return int(min(left+time.Millisecond-1, pollSlice) / time.Millisecond), true
}

// slept records a poll of ms milliseconds that found nothing.
func (t *pollTimer) slept(ms int) {
	if t.until.IsZero() {
		t.until = time.Now().Add(t.timeout - time.Duration(ms)*time.Millisecond)
	}
}

func (p *Port) wait(deadline *atomic.Int64, fn func(uintptr) bool, errno *syscall.Errno, op string, ev int16) error {
	for {
		if p.closed.Load() {
			return ErrClosed
		}
		// The slice ends at the user's deadline if that comes first:
		// time.Now's monotonic reading carries the time left.
		left, ok := handoff.Left(deadline.Load())
		if !ok {
			return os.ErrDeadlineExceeded
		}
		slice := time.Now().Add(min(left, waitSlice))
		w := &p.rxPoll
		if ev != pollIn {
			w = &p.txPoll
		}
		if p.threadWait {
			if err := p.pollWait(slice, w, errno, op); err != os.ErrDeadlineExceeded {
				return err
			}
			continue
		}
		var err error
		if ev == pollIn {
			if err = p.file.SetReadDeadline(slice); err == nil {
				err = p.rc.Read(fn)
			}
		} else {
			if err = p.file.SetWriteDeadline(slice); err == nil {
				err = p.rc.Write(fn)
			}
		}
		if p.closed.Load() {
			return ErrClosed
		}
		switch {
		case err == nil:
			if *errno != 0 {
				return p.syncErr(op, "ioctl", *errno)
			}
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue // re-check the user's deadline, sync again
		case errors.Is(err, os.ErrClosed):
			return ErrClosed
		case err.Error() == "not pollable":
			// epoll reported a lone EPOLLERR (ring reinitialised by
			// the kernel); fall back to poll(2) for this wait.
			if err := p.pollWait(slice, w, errno, op); err != os.ErrDeadlineExceeded {
				return err
			}
		default:
			return &Error{Op: op, Port: p.name, Err: err}
		}
	}
}

// pollState is one direction's poll(2) wait: the callbacks are bound once
// so that a wait does not allocate.
type pollState struct {
	p       *Port
	sync    func(uintptr) bool // rxWaitCB or txWaitCB: sync, report readiness
	ready   bool
	ev      int16
	ms      int
	handOff bool // the poll gives the goroutine's P to the runtime (pollOneHandOff)
	err     syscall.Errno
	rings   ringStates // the rings' cursors when poll reported POLLERR
	syncFn  func(uintptr)
	pollFn  func(uintptr)
}

func (w *pollState) init(p *Port, sync func(uintptr) bool, ev int16) {
	w.p, w.sync, w.ev = p, sync, ev
	w.syncFn = func(fd uintptr) { w.ready = w.sync(fd) }
	w.pollFn = w.poll
}

// poll is one poll(2); it reports the rings' readiness in ready, read
// while the port's memory cannot be unmapped.
func (w *pollState) poll(fd uintptr) {
	w.ready, w.rings.n = false, 0
	if !w.p.enter() {
		return
	}
	var rev int16
	if w.handOff {
		rev, w.err = pollOneHandOff(fd, w.ev, w.ms)
	} else {
		rev, w.err = pollOne(fd, w.ev, w.ms)
	}
	if rev&pollErr != 0 {
		w.p.ringStates(w.ev, &w.rings)
	}
	if w.ev == pollIn {
		w.ready = w.p.rxReady()
	} else {
		w.ready = w.p.txReady()
	}
	w.p.exit()
}

// pollWait syncs and waits with poll(2) until until, in steps of at most
// pollSlice so that Close is seen.
func (p *Port) pollWait(until time.Time, w *pollState, errno *syscall.Errno, op string) error {
	errs := 0 // consecutive POLLERRs whose sync worked, with cursors that look right
	for {
		if err := p.rc.Control(w.syncFn); err != nil {
			return p.ctlErr(err)
		}
		if p.closed.Load() {
			return ErrClosed
		}
		if w.ready {
			if *errno != 0 {
				return p.syncErr(op, "ioctl", *errno)
			}
			return nil
		}
		ms := time.Until(until).Milliseconds()
		if ms <= 0 {
			return os.ErrDeadlineExceeded
		}
		w.ms = int(min(ms, int64(pollSlice/time.Millisecond)))
		// These polls keep the P: pollRx sets handOff for its own first
		// poll and leaves it set.
		w.handOff = false
		if err := p.rc.Control(w.pollFn); err != nil {
			return p.ctlErr(err)
		}
		if w.err != 0 {
			return p.syncErr(op, "poll", w.err)
		}
		if w.rings.n != 0 {
			// A ring stopped while poll waited (its NIC resetting:
			// netmap stops its rings) gives POLLERR too, and its sync
			// then fails (EIO): that is the error, not the cursors.
			if err := p.rc.Control(w.syncFn); err != nil {
				return p.ctlErr(err)
			}
			if *errno != 0 {
				return p.syncErr(op, "ioctl", *errno)
			}
			// A sync that works, with cursors in order: the ring came
			// back between the poll and the sync (a reset that ended),
			// and the wait goes on; only a POLLERR that keeps coming
			// (maxPollErrs times) is the kernel rejecting cursors that
			// look right from here (past the last head it saw).
			if errs++; errs < maxPollErrs && w.rings.inOrder() {
				continue
			}
			return p.pollErrError(op, w.ev, &w.rings)
		}
		errs = 0
	}
}

// maxPollErrs is the POLLERRs in a row, each with a sync that works and
// cursors in order, after which pollWait gives the cursors' error: a
// ring that stopped and came back gives one; one whose cursors netmap
// rejects gives one at every poll, and must not keep the wait spinning.
const maxPollErrs = 3

// ringStates is the cursors of up to four bound rings of one direction,
// read when poll(2) reported POLLERR: netmap reports a ring whose cursors
// its sync prologue rejects only there (the sync ioctl returns 0, and the
// ring is reinitialised only when head or cur is out of range).
type ringStates struct {
	n     int // rings recorded; 0: no POLLERR
	total int // bound rings of the direction
	r     [4]struct{ ring, head, cur, tail, slots uint32 }
}

// inOrder tells whether every recorded ring's cursors are as a ring
// library keeps them (abi.CursorsInOrder, the check of rings' reset).
// netmap may still reject them (head before the last head it saw, which
// only the kernel knows); with a ring not recorded (more than four) it
// tells only of those recorded.
func (st *ringStates) inOrder() bool {
	for i := range st.n {
		s := &st.r[i]
		if !abi.CursorsInOrder(s.head, s.cur, s.tail, s.slots) {
			return false
		}
	}
	return true
}

// ringStates records the cursors of the bound rings of direction ev in
// st. The caller holds enter.
func (p *Port) ringStates(ev int16, st *ringStates) {
	offs, first := p.rxOffs, p.info.FirstRx
	if ev != pollIn {
		offs, first = p.txOffs, p.info.FirstTx
	}
	st.total = len(offs)
	st.n = min(len(offs), len(st.r))
	for i := range st.n {
		off := offs[i]
		s := &st.r[i]
		s.ring = uint32(first + i)
		s.head = ringWord(p.mem, off, abi.RingHead).Load()
		s.cur = ringWord(p.mem, off, abi.RingCur).Load()
		s.tail = ringWord(p.mem, off, abi.RingTail).Load()
		s.slots = ringWord(p.mem, off, abi.RingNumSlots).Load()
	}
}

// pollErrError is the error for a poll(2) that reported POLLERR.
func (p *Port) pollErrError(op string, ev int16, st *ringStates) error {
	if p.closed.Load() {
		return ErrClosed
	}
	dir := "rx"
	if ev != pollIn {
		dir = "tx"
	}
	var b strings.Builder
	for i := range st.n {
		s := &st.r[i]
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s ring %d: head %d cur %d tail %d of %d slots", dir, s.ring, s.head, s.cur, s.tail, s.slots)
	}
	if st.total > st.n {
		fmt.Fprintf(&b, "; %d more", st.total-st.n)
	}
	return &Error{Op: op, Port: p.name, Err: fmt.Errorf("poll reported POLLERR: netmap rejects the cursors of a ring (%s): head and cur must stay between the last head the kernel saw and tail, cur not before head", b.String())}
}
