package nmsys

import (
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/rings"
)

// TxRings returns the views of every bound TX ring, in ring order (see
// [Port.TxRing]).
func (p *Port) TxRings() ([]*rings.TxRing, error) {
	var rs []*rings.TxRing
	for i := p.info.FirstTx; i < p.info.LastTx; i++ {
		r, err := p.TxRing(i)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// RxRings returns the views of every bound RX ring, in ring order (see
// [Port.RxRing]).
func (p *Port) RxRings() ([]*rings.RxRing, error) {
	var rs []*rings.RxRing
	for i := p.info.FirstRx; i < p.info.LastRx; i++ {
		r, err := p.RxRing(i)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// Idler paces a receive loop that owns its OS thread and its port (opened
// with [Config.ThreadWait]). With Spin 0, after every pass it calls
// poll(2) ([Port.PollRx]), inside which the kernel syncs the RX rings and
// returns at once if they hold packets, else sleeps for at most Poll: one
// system call per pass, as netmap's pkt-gen makes. With Spin > 0, after a
// pass that found packets it syncs the rings without sleeping
// ([Port.RxSync]), and after an empty pass it syncs again until Spin passes
// in a row have found nothing, then sleeps in poll(2). Every call also
// counts a pass for an [osthread.Yielder].
//
// Throughput receivers should use Spin 0, as pkt-gen does: measured on
// VALE, a receiver that spins spares the sender its wake-ups, the sender
// then outruns it and the switch drops what does not fit (at 1500 B, 256
// spins received 0.47 to 0.88 of what was sent, sleeping at once 0.99, in
// the same runs). A wake-up is a cost the sender pays, which keeps the pair
// in step. And a sync before the sleep is a system call spent on nothing
// when the sender has not run meanwhile: on one CPU, in deterministic
// virtual time (every instruction counted), polling straight after a pass
// instead of syncing first raised what pkt-gen could send to the receiver
// by 0.8% at 60 B and 0.2% at 1500 B on VALE, and 2.4% on a pipe.
// Latency-bound loops (an echo responder) spin.
//
// An Idler belongs to one goroutine; the zero value sleeps at once, for at
// most 20 ms a time, so that a loop looks at its context that often.
type Idler struct {
	Spin int           // empty passes that sync again before sleeping
	Poll time.Duration // the longest sleep; zero means 20 ms
	// Linger, for a loop that reports its batches ([Idler.NextBatch]):
	// after a pass that took packets but not all it asked for, the thread
	// sleeps this long before it syncs the rings again, so that on a CPU
	// it shares with the sender the packets gather into batches: a
	// receiver that polls at once is woken by every TX sync of the sender
	// (on VALE, the sender's sync copies the packets into the receiver's
	// ring and wakes it), and pays a sleep, a wake-up and an RX sync for
	// every few packets. It adds up to Linger (plus the thread's timer
	// slack, 50 µs by default) to a packet's latency, and the ring must
	// hold what comes meanwhile. The goroutine keeps its P through the
	// sleep (a raw system call: the runtime's hand-over of the P for a
	// blocking one costs more than the wake-ups saved), so no other
	// goroutine runs on it meanwhile and a stop of the world waits for
	// the sleep: at most MaxLinger (a longer Linger sleeps MaxLinger);
	// but see [Idler.NextBatchAt]. Zero: no linger.
	Linger time.Duration

	empty int
	y     osthread.Yielder
	ho    handoff.Clock // NextBatchAt's hand-offs of the P
}

// MaxLinger bounds Idler.Linger.
const MaxLinger = time.Millisecond

// NextBatch is [Idler.Next] for a loop pass that took took packets and
// reports whether it took all it asked for (full: more may be waiting):
// with Linger set, after a partial batch (took > 0, not full) it sleeps
// Linger, then syncs the rings (in poll(2) with Spin 0, which returns at
// once if packets came meanwhile). It does not allocate.
func (d *Idler) NextBatch(p *Port, took int, full bool, bytes uint64) error {
	return d.nextBatch(p, took, full, bytes, nil, 0)
}

// NextBatchAt is [Idler.NextBatch] for a loop that read a clock for its
// pass (now, in nanoseconds on that clock, which should not step back
// often: a step back counts as a millisecond gone): once a millisecond it
// lets the process's other goroutines run on the goroutine's P. A wait
// through NextBatch keeps the P: a poll(2) through the runtime's system
// call path unless the runtime's monitor sees the one call span two of
// its looks (20 µs to 10 ms apart, so a receiver woken every few packets
// never does), and a linger always (a raw system call). With every P of
// the process held by such loops, the other goroutines would wait for a
// loop's next yield ([osthread.Yielder], 7 ms): measured
// (docs/benchmarks.md, "The ring readers' waits"; with package xsk's
// Idler, which does the same) with two AF_XDP receivers of a 640x480p50
// flow each (24,000 packets a second) on two Ps, a goroutine sleeping
// 500 µs at a time woke over 2 ms late 168 to 273 times of 268 to 600 in
// 2 s.
//
// The first wait a millisecond or more after the last that did so: a
// sleep in poll(2), which may be long, gives the P to the runtime for
// its length; a linger, short by construction ([MaxLinger]), keeps it,
// and the loop yields before it (runtime.Gosched: the P runs the timers due
// and the goroutines waiting, and comes back). A hand-off costs a thread's
// wake-up, and with nothing else to run the P goes idle, the runtime's
// monitor goes to sleep and the loop's return wakes it, after which it
// looks every 20 µs for a while: with one P and a 200 µs Linger (one
// AF_XDP reader of 24,000 packets a second; the same section), the
// process took 0.12 to 0.22 s of CPU in 2 s keeping the P, 0.26 to 0.67
// handing the lingers off, 0.14 to 0.18 yielding before them; the
// goroutine beside it woke over 2 ms late 189 to 239 times of 226 to 239
// keeping the P, 1 to 43 of 1,481 to 1,846 with the hand-offs, 50 to 60
// of 1,158 to 1,546 with the yields. It does not allocate.
func (d *Idler) NextBatchAt(p *Port, took int, full bool, bytes uint64, now int64) error {
	return d.nextBatch(p, took, full, bytes, &d.ho, now)
}

func (d *Idler) nextBatch(p *Port, took int, full bool, bytes uint64, ho *handoff.Clock, now int64) error {
	if l := d.lingerAfter(took, full); l > 0 {
		if ho != nil && ho.Due(now) {
			d.y.Yield()
		}
		holdSleep(l)
	}
	return d.next(p, took > 0, bytes, ho, now)
}

// HandOffs returns how many times [Idler.NextBatchAt] has let other
// goroutines run on the P: a poll(2) with the P handed off, or a yield
// before a linger.
func (d *Idler) HandOffs() uint64 { return d.ho.Count() }

// lingerAfter returns how long NextBatch sleeps after a pass that took
// took packets, all it asked for or not (full): Linger, at most
// MaxLinger, after a partial batch; nothing otherwise.
func (d *Idler) lingerAfter(took int, full bool) time.Duration {
	if d.Linger <= 0 || took <= 0 || full {
		return 0
	}
	return min(d.Linger, MaxLinger)
}

// Next syncs or waits on p after a loop pass that found packets (got) or
// not and moved that many bytes. It returns the error of the sync or the
// wait: [ErrClosed] after Close, os.ErrDeadlineExceeded once a deadline
// set on p has passed. The caller holds exactly one runtime.LockOSThread
// (see [osthread.Yielder.Pass]). Next does not allocate.
func (d *Idler) Next(p *Port, got bool, bytes uint64) error {
	return d.next(p, got, bytes, nil, 0)
}

// next is Next; timed, the sleep in poll(2) hands the P off if the
// hand-off clock says so at now (NextBatchAt).
//
// Package xsk's Idler has the same fields Spin, Poll and Linger and the
// same methods Next, NextBatch, NextBatchAt and HandOffs, documented
// alike; it also counts its sleeps (Sleeps) and, for its tests, its
// lingers. Both are built of the same parts, osthread.Yielder,
// handoff.Clock and handoff.HoldSleep, but beyond those they share no
// code, because their next and nextBatch differ on purpose: a netmap RX
// ring shows new slots only after a sync, a system call, which Next makes
// after every pass (in poll(2) with Spin 0, as pkt-gen does) and
// NextBatch after its linger, to take what gathered meanwhile; the kernel
// moves an AF_XDP ring by itself, so xsk's Next goes on at once after a
// pass that found packets, its NextBatch lingers after next, and its
// spinning passes make the checks a wait would (Socket.spinRx). What they
// do share, the linger bound and lingerAfter, is four lines.
func (d *Idler) next(p *Port, got bool, bytes uint64, ho *handoff.Clock, now int64) error {
	d.y.Pass(bytes)
	if d.Spin > 0 {
		if got {
			d.empty = 0
			return p.RxSync()
		}
		if d.empty++; d.empty < d.Spin {
			return p.RxSync()
		}
		d.empty = 0
	}
	poll := d.Poll
	if poll <= 0 {
		poll = 20 * time.Millisecond
	}
	return p.pollRx(poll, ho, now)
}
