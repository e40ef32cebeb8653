package xsk

import (
	"time"

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
	// Linger sleeps MaxLinger). Zero: no linger.
	Linger time.Duration

	empty int
	y     osthread.Yielder

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
	err := d.Next(s, took > 0, bytes) // a pass that took packets: no wait
	if l := d.lingerAfter(took, full); err == nil && l > 0 {
		d.lingers++
		d.lingered += l
		holdSleep(l)
	}
	return err
}

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
	return s.PollRx(poll)
}
