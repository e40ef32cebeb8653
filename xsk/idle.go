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
// loops (an echo responder) spin.
//
// An Idler belongs to one goroutine; the zero value sleeps at once, for at
// most 20 ms a time, so that a loop looks at its context that often.
type Idler struct {
	Spin int           // empty passes that look again before sleeping
	Poll time.Duration // the longest sleep; zero means 20 ms

	empty int
	y     osthread.Yielder
}

// Next waits, if it should, after a loop pass that found packets (got) or
// not and moved that many bytes. It returns [ErrClosed] after Close, or the
// error of the wait. The caller holds exactly one runtime.LockOSThread
// (see [osthread.Yielder.Pass]). Next does not allocate.
func (d *Idler) Next(s *Socket, got bool, bytes uint64) error {
	d.y.Pass(bytes)
	if got {
		d.empty = 0
		return nil
	}
	if d.empty++; d.empty < d.Spin {
		return nil
	}
	d.empty = 0
	poll := d.Poll
	if poll <= 0 {
		poll = 20 * time.Millisecond
	}
	return s.PollRx(poll)
}
