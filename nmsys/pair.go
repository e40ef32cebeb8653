package nmsys

import (
	"errors"
	"syscall"
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
)

// RxPair waits for packets on the RX rings of two Ports at once, with one
// poll(2) over both descriptors: for a goroutine that drives rings of two
// registrations, such as one NIC ring pair (ModeOneNIC) and the host ring
// pair of the same index (ModeOneSW), which no single registration binds
// without binding every ring. It is [Port.PollRx] for two Ports, and
// like it meant for a goroutine locked to its OS thread.
//
// An RxPair belongs to one goroutine, the one that drives both Ports' RX
// rings. It does not allocate.
type RxPair struct {
	a, b         *Port
	fa           uintptr
	ms           int
	err          syscall.Errno
	ready        bool       // a ring of either port holds packets, read inside the poll
	sa, sb       ringStates // a's and b's RX cursors when poll reported POLLERR
	ctlErr       error
	outer, inner func(uintptr)
	handOff      bool          // this poll gives the goroutine's P to the runtime
	ho           handoff.Clock // PollAt's hand-offs
}

// NewRxPair returns the waiter of the RX rings of a and b, which must both
// bind RX rings.
func NewRxPair(a, b *Port) (*RxPair, error) {
	for _, p := range []*Port{a, b} {
		if len(p.rxOffs) == 0 {
			return nil, &Error{Op: "poll rx pair", Port: p.name, Err: errors.New("no RX rings bound")}
		}
	}
	w := &RxPair{a: a, b: b}
	w.inner = w.pollBoth
	w.outer = func(fa uintptr) {
		w.fa = fa
		w.ctlErr = w.b.rc.Control(w.inner)
	}
	return w, nil
}

func (w *RxPair) pollBoth(fb uintptr) {
	if !w.a.enter() {
		return
	}
	if w.b.enter() {
		var ra, rb int16
		if w.handOff {
			ra, rb, w.err = pollTwoHandOff(w.fa, fb, pollIn, w.ms)
		} else {
			ra, rb, w.err = pollTwo(w.fa, fb, pollIn, w.ms)
		}
		if ra&pollErr != 0 {
			w.a.ringStates(pollIn, &w.sa)
		}
		if rb&pollErr != 0 {
			w.b.ringStates(pollIn, &w.sb)
		}
		w.ready = w.a.rxReady() || w.b.rxReady()
		w.b.exit()
	}
	w.a.exit()
}

// Poll syncs the RX rings of both Ports inside poll(2) and, if none holds
// packets, sleeps until one does or timeout passes, as [Port.PollRx] does
// for one. It returns nil in both cases, [ErrClosed] within about 20 ms
// of either Port's Close (not on a NIC whose link is down: see
// [Port.Close]), and an error naming the rings' cursors if poll(2)
// reports POLLERR for either Port (a ring stopped while its NIC resets
// too, as with [Port.PollRx]).
func (w *RxPair) Poll(timeout time.Duration) error {
	return w.poll(timeout, nil, 0)
}

// PollAt is [RxPair.Poll] for a loop that read a clock for its pass (now,
// in nanoseconds on that clock): its poll(2), if it comes a millisecond or
// more after the last that did, gives the goroutine's P to the runtime
// for the call, as [Idler.NextBatchAt] does for one Port's waits, and
// for the same reason. It does not allocate.
func (w *RxPair) PollAt(timeout time.Duration, now int64) error {
	return w.poll(timeout, &w.ho, now)
}

// HandOffs returns how many polls [RxPair.PollAt] has made with the
// goroutine's P given to the runtime.
func (w *RxPair) HandOffs() uint64 { return w.ho.Count() }

func (w *RxPair) poll(timeout time.Duration, ho *handoff.Clock, now int64) error {
	tm := pollTimer{timeout: timeout}
	for {
		if w.a.closed.Load() || w.b.closed.Load() {
			return ErrClosed
		}
		ms, ok := tm.next()
		if !ok {
			return nil
		}
		w.ms, w.err, w.ready, w.ctlErr = ms, 0, false, nil
		w.handOff = ho != nil && ho.Due(now)
		ho = nil
		w.sa.n, w.sb.n = 0, 0
		if err := w.a.rc.Control(w.outer); err != nil {
			return w.a.ctlErr(err)
		}
		if w.ctlErr != nil {
			return w.b.ctlErr(w.ctlErr)
		}
		if w.a.closed.Load() || w.b.closed.Load() {
			return ErrClosed
		}
		if w.err != 0 {
			return w.a.syncErr("poll rx pair", "poll", w.err)
		}
		if w.sa.n != 0 {
			return w.a.pollErrError("poll rx pair", pollIn, &w.sa)
		}
		if w.sb.n != 0 {
			return w.b.pollErrError("poll rx pair", pollIn, &w.sb)
		}
		if ms == 0 || w.ready {
			return nil
		}
		tm.slept(ms)
	}
}
