package xsk

import (
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
	"github.com/nmgo/nmgo/osthread"
)

// Idler paces a receive loop that owns its OS thread
// (runtime.LockOSThread) and its socket, as nmsys's Idler does for a
// netmap port: after a pass that found packets the loop goes on at once
// (AF_XDP rings need no sync: the kernel moves them by itself); after an
// empty pass it looks again until Spin passes in a row have found nothing,
// then sleeps in poll(2) ([Socket.PollRx]) for at most Poll. Every call
// also counts a pass for an [osthread.Yielder].
//
// Throughput receivers should use Spin 0 and sleep at once; latency-bound
// loops (an echo responder) spin, and so does a receiver that owns its
// CPU and must not pay for wake-ups (Spin without end: math.MaxInt), as
// DPDK's poll-mode drivers do. After an empty spinning pass Next does
// what the wait would: it returns ErrClosed after Close, wakes the driver
// when the fill ring asks for it (a system call then, else none), and,
// once a yield period (one getsockopt), returns an error once the kernel
// unbound the socket.
//
// An Idler belongs to one goroutine; the zero value sleeps at once, for at
// most 20 ms a time, so that a loop looks at its context that often.
type Idler struct {
	Spin int           // empty passes that look again before sleeping
	Poll time.Duration // the longest sleep; zero means 20 ms
	// Linger, for a loop that reports its batches ([Idler.NextBatch]):
	// after a pass that took packets but not all it asked for, the thread
	// sleeps this long before the next pass. On a CPU that the receiver
	// shares with the sender (the kernel copies each frame into the UMEM
	// in the sender's transmit), the packets then gather into batches,
	// where a receiver that looks again at once, or sleeps in poll(2), is
	// woken for each: measured in a one-vCPU VM at 60-byte frames, 100 µs
	// took the receiver from 6,887 to 674 ns of CPU a packet. It adds up
	// to Linger (plus the thread's timer slack, 50 µs by default) to a
	// packet's latency, and the RX ring must hold what comes meanwhile.
	// The goroutine keeps its P through the sleep (a raw system call:
	// the runtime's hand-over of the P for a blocking one costs more than
	// the wake-ups saved), so no other goroutine runs on it meanwhile and
	// a stop of the world waits for the sleep: at most MaxLinger (a longer
	// Linger sleeps MaxLinger); but see [Idler.NextBatchAt]. Zero: no
	// linger.
	Linger time.Duration

	empty int
	y     osthread.Yielder
	ho    handoff.Clock // NextBatchAt's hand-offs of the P

	// lingers and lingered count the lingers and their time asked for,
	// which tests read (timing a loaded host's sleeps proves nothing).
	lingers  int
	lingered time.Duration
	sleeps   uint64
}

// Sleeps returns how many times Next has gone to wait for packets in
// [Socket.PollRx] (poll(2), unless packets came or the socket closed
// first; lingers not counted): 0 for an Idler that never sleeps (Spin
// math.MaxInt).
func (d *Idler) Sleeps() uint64 { return d.sleeps }

// MaxLinger bounds Idler.Linger.
const MaxLinger = time.Millisecond

// NextBatch is [Idler.Next] for a loop pass that took took packets and
// reports whether it took all it asked for (full: more may be waiting):
// with Linger set, after a partial batch (took > 0, not full) it sleeps
// Linger before it returns. It does not allocate.
func (d *Idler) NextBatch(s *Socket, took int, full bool, bytes uint64) error {
	return d.nextBatch(s, took, full, bytes, nil, 0)
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
// (docs/benchmarks.md, "The ring readers' waits") with two AF_XDP
// receivers of a 640x480p50 flow each (24,000 packets a second) on two
// Ps, a goroutine sleeping 500 µs at a time woke over 2 ms late 168 to
// 273 times of 268 to 600 in 2 s.
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
func (d *Idler) NextBatchAt(s *Socket, took int, full bool, bytes uint64, now int64) error {
	return d.nextBatch(s, took, full, bytes, &d.ho, now)
}

func (d *Idler) nextBatch(s *Socket, took int, full bool, bytes uint64, ho *handoff.Clock, now int64) error {
	err := d.next(s, took > 0, bytes, ho, now) // a pass that took packets: no wait
	if l := d.lingerAfter(took, full); err == nil && l > 0 {
		d.lingers++
		d.lingered += l
		if ho != nil && ho.Due(now) {
			d.y.Yield()
		}
		holdSleep(l)
	}
	return err
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

// Next waits, if it should, after a loop pass that found packets (got) or
// not and moved that many bytes. It returns [ErrClosed] after Close, or the
// error of the wait, or of a spinning pass's checks (the interface gone, no
// RX ring). The caller holds exactly one runtime.LockOSThread
// (see [osthread.Yielder.Pass]). Next does not allocate.
func (d *Idler) Next(s *Socket, got bool, bytes uint64) error {
	return d.next(s, got, bytes, nil, 0)
}

// next is Next; timed, the sleep in poll(2) hands the P off if the
// hand-off clock says so at now (NextBatchAt).
//
// Package nmsys's Idler has the same fields Spin, Poll and Linger and the
// same methods Next, NextBatch, NextBatchAt and HandOffs, documented
// alike; this one also counts its sleeps (sleeps, Sleeps) and, for its
// tests, its lingers (lingers, lingered). Both are built of the same parts,
// osthread.Yielder, handoff.Clock and handoff.HoldSleep, but beyond those
// they share no code, because their next and nextBatch differ on purpose:
// a netmap RX ring shows new slots only after a sync, a system call,
// which nmsys makes after every pass, and after a linger, before the sync
// that takes what gathered; an AF_XDP ring needs none, so here a pass
// that found packets goes on at once, the linger comes after next (none
// once next failed), and a spinning pass makes the checks a wait would
// (spinRx). What they do share, the linger bound and lingerAfter, is four
// lines.
func (d *Idler) next(s *Socket, got bool, bytes uint64, ho *handoff.Clock, now int64) error {
	due := d.y.Due(bytes)
	if due {
		d.y.Yield()
	}
	if got {
		d.empty = 0
		return nil
	}
	if d.empty++; d.empty < d.Spin {
		// What the wait would have told: the fill ring's wake-up, Close,
		// and (each yield period) whether the interface went away.
		return s.spinRx(due)
	}
	d.empty = 0
	poll := d.Poll
	if poll <= 0 {
		poll = 20 * time.Millisecond
	}
	d.sleeps++
	return s.pollRx(poll, ho, now)
}
