package st2110

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nmgo/nmgo/video"
)

// rxTransport is the receiving side of a transport: the inputs it opened,
// each drained by one goroutine. A second path of the same flows (ST
// 2022-7) is a second rxTransport whose readers feed the same flows; an
// AF_XDP socket is a reader like a netmap ring's.
type rxTransport interface {
	// readers returns the transport's inputs.
	readers() []rxReader
	// wake makes the readers return soon, once their context is done:
	// it closes sockets and files that readers block on. Ring memory is
	// not unmapped here: a reader may be inside it.
	wake()
	// close releases the inputs, after every reader has returned.
	close() error
}

// rxReader is one input of a transport (a ring, a socket, a file) and the
// loop that drains it.
type rxReader interface {
	// flows returns the flows whose packets the input may bring (indexes
	// into the receiver's flows), or nil for all of them.
	flows() []int
	// run hands every packet to s until ctx ends, the transport is closed
	// (nil) or the input ends (io.EOF), or fails. It owns the input.
	run(ctx context.Context, s *rxSink) error
}

// rxSink is where one reader puts its packets: a video.Receiver over the
// reader's flows, whose frames go to the Receiver's pools and out channel.
// It belongs to the reader's goroutine.
type rxSink struct {
	rx    *Receiver
	idx   int // the reader's index
	r     *video.Receiver
	flows []int       // the Receiver's flow of each stream of r
	st    []FlowStats // per stream: what the sink adds to video's counts
	clock *Clock
	// block makes a frame wait for a free buffer instead of being
	// dropped: input without a pace of its own (a capture read at once)
	// goes as fast as the consumer takes it.
	block bool
	// next is when tick publishes the counts again (the at of a batch).
	next int64
	// batches counts the batches that brought packets (Receiver.Batches).
	batches atomic.Uint64
	// mu, for a reader of one path of two (ST 2022-7), is held over each
	// batch it hands on (enter, leave): the two paths' readers feed the
	// same merges. Nil otherwise.
	mu *sync.Mutex
	// merges, in the sink that hands out the frames of merged flows, is
	// each stream's merge; its r is nil. Nil otherwise.
	merges []*video.Merge
	// lastAt is the last time the clock gave (now); failing, since when
	// its reads have failed.
	lastAt  int64
	failing time.Time
}

// now reads the clock for the arrival of a batch. A read that fails (a
// PHC) gives the last time read again (newSink reads it first), so that
// arrivals stay in order for the timing analysis and none is stamped 0
// (unless no read has yet succeeded), and once the reads have failed for
// maxClockFailure, the error, with which the reader ends (as a sender
// does). It does not allocate while the clock can be read.
func (s *rxSink) now() (int64, error) {
	t, err := s.clock.now()
	if err == nil {
		s.lastAt = t
		if !s.failing.IsZero() {
			s.failing = time.Time{}
		}
		return t, nil
	}
	if s.failing.IsZero() {
		s.failing = time.Now()
	} else if d := time.Since(s.failing); d >= maxClockFailure {
		return 0, s.clock.failedFor(d, err)
	}
	return s.lastAt, nil
}

// waitAt is the time a reader gives its waits and lingers, by which
// they hand its P to the runtime once a millisecond (ringKernel.next,
// udpSock.lingerNow): the last time read (lastAt), and while the clock's
// reads fail, that plus the time since they began to, so that for as long
// as the reader goes on (up to maxClockFailure) its waits still hand off
// (lastAt alone stays where it was, and a hand-off clock never comes
// due). While the clock reads, it costs a comparison.
func (s *rxSink) waitAt() int64 {
	if s.failing.IsZero() {
		return s.lastAt
	}
	return s.lastAt + int64(time.Since(s.failing))
}

// enter is called by a reader before it hands a batch of packets on, and
// leave after: they take turns with the other path's readers, if any.
func (s *rxSink) enter() {
	if s.mu != nil {
		s.mu.Lock()
	}
}

func (s *rxSink) leave() {
	if s.mu != nil {
		s.mu.Unlock()
	}
}

// publishEvery is how often a reader publishes its counts between frames.
const publishEvery = int64(100 * time.Millisecond)

// tick publishes the counts of every stream now and then, so that Stats
// move while no frame completes (packets of no flow, a flow that lost
// its markers). Readers call it after each batch with the batch's time.
func (s *rxSink) tick(at int64) {
	if at < s.next {
		return
	}
	s.next = at + publishEvery
	for j := range s.flows {
		s.publish(j, nil)
	}
	if d := s.rx.dup; d != nil {
		d.tick(at) // under s.mu: readers tick within a batch
	}
}

// newSink builds the sink of reader idx for the given flows (nil: all).
// A reader that takes only some flows, or the one reader of a transport,
// gets its frame buffers at once (video.Receiver.AllocFrames): the
// allocation, and the garbage collection it may start, happen in Listen,
// not when the first packets arrive. The readers of a netmap port opened
// per ring get theirs as their flows' packets come, since a flow arrives
// on one ring only.
func newSink(rx *Receiver, idx int, fl []int, readers int) (*rxSink, error) {
	alloc := fl != nil || readers == 1
	if fl == nil {
		fl = make([]int, len(rx.flows))
		for k := range fl {
			fl[k] = k
		}
	}
	s := &rxSink{rx: rx, idx: idx, flows: fl, st: make([]FlowStats, len(fl)), clock: rx.clock}
	s.lastAt, _ = s.clock.now() // the time for a first read that fails
	streams := make([]video.RxStream, len(fl))
	for j, k := range fl {
		f := &rx.flows[k]
		streams[j] = video.RxStream{Format: f.Format, PayloadType: f.PayloadType, Port: f.Dst.Port(), Source: f.Source, TROffset: trOffset(f.TROff)}
		if a := f.Dst.Addr(); a.IsValid() && !a.IsUnspecified() {
			streams[j].Addr = a
		}
		s.st[j].Latency.Limit = rx.cfg.LatencyLimit
		streams[j].TakeFrame = func(buf []byte, st *video.FrameStats, arrival int64) []byte {
			return s.take(j, buf, st, arrival)
		}
		if d := rx.dup; d != nil {
			d.path(s, idx, k, &streams[j])
		}
	}
	r, err := video.NewReceiver(&video.ReceiverConfig{Streams: streams, Budget: rx.cfg.Budget})
	if err != nil {
		return nil, fmt.Errorf("st2110: %w", err)
	}
	s.r = r
	if alloc {
		r.AllocFrames()
	}
	return s, nil
}

// take is stream j's TakeFrame: it hands the frame to the consumer if a
// buffer is free (swapping that buffer in for the next frame), else drops
// it, and publishes the flow's counts.
func (s *rxSink) take(j int, buf []byte, st *video.FrameStats, arrival int64) []byte {
	k := s.flows[j]
	ts := rtpTime(arrival, st.Timestamp)
	var lat time.Duration
	if ts != 0 {
		lat = time.Duration(arrival - ts)
		s.st[j].Latency.add(lat)
	}
	var f *Frame
	select {
	case f = <-s.rx.pools[k]:
	default:
		if s.block {
			select {
			case f = <-s.rx.pools[k]:
			case <-s.rx.ctx.Done():
				// Closed while waiting: the frame is not handed
				// out, as none is after Close, and was not dropped
				// for want of a buffer (a blocking input drops none).
				return buf
			}
		}
	}
	if f == nil {
		s.st[j].Dropped++
		s.publish(j, nil)
		return buf
	}
	f.owner.Store(ownQueue)
	next := f.buf // not Data, which the caller may have changed
	f.buf = buf
	f.Flow, f.Data, f.RTPTime, f.Arrival, f.Time, f.Latency, f.Info = f.flow, buf, st.Timestamp, arrival, ts, lat, *st
	s.publish(j, f)
	s.rx.out <- f // never blocks: out holds every frame of every pool
	return next
}

// publish brings stream j's counts in the Receiver up to date, and copies
// the flow's totals to f.
func (s *rxSink) publish(j int, f *Frame) {
	k := s.flows[j]
	st := s.st[j]
	if s.merges != nil {
		s.rx.dup.publish(s, j, &st, f)
		return
	}
	st.RxStats = s.r.Stats(j)
	s.rx.mu.Lock()
	s.rx.stats[k][s.idx] = st
	s.rx.other[s.idx] = s.r.Other()
	if f != nil {
		f.Stats = s.rx.sumLocked(k)
	}
	s.rx.mu.Unlock()
}

// finish is called when the reader stops: unless the receiver was
// closed, at the end of its input or when it failed, the frames being
// filled are handed out as they are; the counts are published either way.
func (s *rxSink) finish() {
	if !s.rx.closed.Load() {
		s.r.Flush()
	}
	for j := range s.flows {
		s.publish(j, nil)
	}
	if d := s.rx.dup; d != nil {
		d.finish()
	}
}
