package video

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TxQueue is where a [Transmitter] writes packets: free packet buffers
// handed out in batches, as a netmap TX ring hands out its slots. The
// methods are those of *rings.TxRing, which satisfies TxQueue as it is;
// adapters give the same shape to a socket's sendmmsg batch or a capture
// file. Package video only fills buffers: syncing with the kernel, waiting
// for room and sending datagrams are the queue owner's.
type TxQueue interface {
	// Reserve makes up to n buffers available, addressed as 0..k-1, and
	// returns k (0 when the queue is full).
	Reserve(n int) (int, error)
	// Buf returns reserved buffer i (nil if it went bad since Reserve).
	Buf(i int) []byte
	// SetLen sets the length of the packet in reserved buffer i.
	SetLen(i, n int)
	// Publish hands the first n reserved buffers on, in order, and drops
	// the rest of the reservation.
	Publish(n int)
}

// TxStamper is implemented by a [TxQueue] that needs to know, per packet,
// which stream it belongs to or when it is due: a socket that sends each
// stream to its own address, a capture file. For each packet it writes,
// a [Transmitter] calls Stamp(i, stream, at) with the reserved buffer i,
// the stream's index and the packet's scheduled send time (TAI nanoseconds,
// the caller's clock) before Publish.
type TxStamper interface {
	Stamp(i, stream int, at int64)
}

// FrameSource supplies the frames of a stream.
type FrameSource interface {
	// Frame returns frame n (0, 1, 2, ... of the stream) in pgroup wire
	// layout, at least [Format.FrameSize] octets. The transmitter reads
	// it until the frame's last packet is written and does not change it;
	// the source must not change it either while it may be read. A
	// shorter frame (or nil) stops [Transmitter.Step] with an error
	// naming the stream and n.
	Frame(n uint64) []byte
}

// TxStream is one stream of a [Transmitter].
type TxStream struct {
	Format Format // must have a frame rate

	// Packetizer configures the stream's packetizer: packing, payload
	// size, and either a packet.Template (whole Ethernet frames, for a
	// netmap ring) or payload type and SSRC (RTP packets, for a socket).
	// nil means the defaults of [NewPacketizer].
	Packetizer *PacketizerConfig

	// TP is the ST 2110-21 sender type whose schedule the stream keeps
	// ([Pacer]); zero means narrow (2110TPN).
	TP Sender
	// TROffset replaces TRO_DEFAULT (see [Timing]); zero means the default.
	TROffset time.Duration
	// Pacing tunes the stream's [Pacer]; nil means its defaults.
	Pacing *PacerConfig

	Frames FrameSource
	Count  uint64 // frames of the schedule to send, those skipped (TxStats.Skipped) included; 0 means no end
}

// TransmitterConfig configures a [Transmitter].
type TransmitterConfig struct {
	Streams []TxStream

	// MaxRate, if not zero, caps the packets per second of all streams
	// together. When the schedules need more, the transmitter's clock
	// runs slower than the caller's: frames keep their timestamps and
	// schedule, stretched in time (for peers that cannot keep up, or
	// tests). It may stretch them at most MaxStretch times: MaxRate must
	// be at least the streams' rate ([Transmitter.Rate]) over MaxStretch.
	MaxRate float64

	// Slack is how long after its due time a packet may be written before
	// it counts as late; zero means one millisecond.
	Slack time.Duration

	// MaxLag is how far behind its schedule a stream may fall (its next
	// packet that long overdue, on the transmitter's clock) before
	// [Transmitter.Step] gives up the frames it missed and resumes at the
	// first frame of its schedule not yet due (counted in
	// [TxStats.Skipped]). Zero means one frame period of the stream
	// (TFRAME, a field period when interlaced or PsF): by then the
	// frame's whole read window has passed, and sending what was missed
	// would be a burst at line rate that ST 2110-21 forbids and no
	// receiver's VRX buffer absorbs. Negative means never: every packet
	// is sent, late ones at once (for a peer that wants every frame
	// whole, however late). The frame a stream resumes at is sent whole
	// however late it falls, so that a sender that cannot keep up still
	// sends whole frames (every other one, or fewer) rather than only
	// frames cut short. A frame cut short reaches receivers as an
	// incomplete frame without its marker (MissedMarkers), its sequence
	// numbers continuous (packets never sent take none).
	MaxLag time.Duration

	// Analyze runs an [Analyzer] per stream over the times the packets are
	// written (the now of [Transmitter.Step]): a self-check of the
	// schedule as kept, batching and lateness included, which
	// [Transmitter.Analysis] reports.
	Analyze bool
}

// TxStats are the counts of one stream of a [Transmitter].
type TxStats struct {
	Frames  uint64 // frames whose last packet was written
	Packets uint64
	Bytes   uint64 // octets written: whole Ethernet frames with a template, else RTP packets
	Late    uint64 // packets written more than Slack after they were due

	// Skipped is the frames (pictures) of the schedule not sent, or cut
	// short, because the stream fell more than TransmitterConfig.MaxLag
	// behind it (a descheduled process, a stalled queue): rather than
	// send what it missed in a burst at line rate, which ST 2110-21
	// forbids and a receiver's VRX buffer cannot absorb, the stream
	// skipped to the first frame of its schedule not yet due. Resyncs is
	// how many times it did so.
	Skipped uint64
	Resyncs uint64
}

// txStream is a stream's state.
type txStream struct {
	p     *Packetizer
	pacer *Pacer
	an    *Analyzer // with TransmitterConfig.Analyze
	rtp   int       // offset of the RTP header in a packet
	src   FrameSource
	count uint64
	done  bool
	stats TxStats
	fresh bool  // the frame in progress was begun right after a resync: finished, however late
	lag   int64 // how far behind its schedule the stream may fall (MaxLag), on the transmitter's clock
}

// Transmitter sends the frames of many streams from one goroutine, each
// stream with its own [Packetizer] on its own ST 2110-21 schedule, the
// streams' packets interleaved in the order they are due. It is pure
// computation: [Transmitter.Step] writes the packets due by a given time
// into a [TxQueue], and the caller's loop decides how to wait and when to
// flush. Times are TAI nanoseconds (PTP epoch), the timescale of the RTP
// timestamps; a caller without PTP may use the system clock plus the
// UTC-TAI offset.
//
// A Transmitter is not safe for concurrent use.
type Transmitter struct {
	streams []txStream
	due     []int64 // each stream's next send time (its pacer's Next), MaxInt64 when done: one dense scan per burst
	scale   float64 // transmitter time per caller time, <= 1
	start   int64   // caller time of Start (= transmitter time)
	slack   int64
	started bool
	rate    float64
}

// MaxStretch is the most TransmitterConfig.MaxRate may slow a
// transmitter's clock down: a millionfold makes a second of the schedule
// last 11.6 days. The caller's times are int64 nanoseconds, some 236 years
// from today's TAI to their end: a schedule stretched further would run
// past it within a few hours of video, and the times that do not fit
// would wrap.
const MaxStretch = 1e6

// MaxLead bounds the lead of [Transmitter.Start]: a first packet more than
// an hour away is a mistake, and the start time plus the lead must stay
// within int64 nanoseconds.
const MaxLead = time.Hour

// ErrNotStarted is returned by [Transmitter.Step] before [Transmitter.Start].
var ErrNotStarted = errors.New("video: transmitter not started")

// NewTransmitter checks c and returns a transmitter for its streams.
func NewTransmitter(c *TransmitterConfig) (*Transmitter, error) {
	if c == nil || len(c.Streams) == 0 {
		return nil, errors.New("video: transmitter without streams")
	}
	if c.MaxRate < 0 || math.IsNaN(c.MaxRate) {
		return nil, fmt.Errorf("video: transmitter rate %v", c.MaxRate)
	}
	t := &Transmitter{streams: make([]txStream, len(c.Streams)), due: make([]int64, len(c.Streams)), scale: 1, slack: int64(c.Slack)}
	if t.slack <= 0 {
		t.slack = int64(time.Millisecond)
	}
	for i := range c.Streams {
		sc := &c.Streams[i]
		if sc.Format.Rate.IsZero() {
			return nil, fmt.Errorf("video: stream %d: a transmitter needs the frame rate", i)
		}
		if sc.Frames == nil {
			return nil, fmt.Errorf("video: stream %d: no frames", i)
		}
		tp := sc.TP
		if tp == 0 {
			tp = SenderNarrow
		}
		p, err := NewPacketizer(&sc.Format, sc.Packetizer)
		if err != nil {
			return nil, streamErr(i, err)
		}
		tm := Timing{Rate: sc.Format.Rate, Scan: sc.Format.Scan, Height: sc.Format.Height,
			Packets: p.PacketsPerField(), TROffset: sc.TROffset}
		params, err := tm.Params(tp)
		if err != nil {
			return nil, streamErr(i, err)
		}
		pacer, err := NewPacer(params, sc.Pacing)
		if err != nil {
			return nil, streamErr(i, err)
		}
		t.streams[i] = txStream{p: p, pacer: pacer, src: sc.Frames, count: sc.Count, rtp: p.HeaderLen() - rtpHeaders,
			lag: int64(c.MaxLag)}
		switch {
		case c.MaxLag == 0:
			t.streams[i].lag = int64(params.TFrame)
		case c.MaxLag < 0:
			t.streams[i].lag = math.MaxInt64
		}
		if c.Analyze {
			if t.streams[i].an, err = NewAnalyzer(tm); err != nil {
				return nil, streamErr(i, err)
			}
		}
		t.rate += float64(p.PacketsPerFrame()) * float64(sc.Format.Rate.Num) / float64(sc.Format.Rate.Den)
	}
	if c.MaxRate > 0 && c.MaxRate < t.rate {
		if c.MaxRate < t.rate/MaxStretch {
			return nil, fmt.Errorf("video: transmitter MaxRate %v packets/s: below %v, the streams' %v packets/s over MaxStretch (%v): the schedule's times would run past the end of int64 nanoseconds",
				c.MaxRate, t.rate/MaxStretch, t.rate, MaxStretch)
		}
		t.scale = c.MaxRate / t.rate
	}
	return t, nil
}

// Rate returns the packets per second the streams' schedules add up to,
// before MaxRate.
func (t *Transmitter) Rate() float64 { return t.rate }

// NumStreams returns the number of streams.
func (t *Transmitter) NumStreams() int { return len(t.streams) }

// Packetizer returns stream i's packetizer, for its plan and counts; do not
// call its Frame or Next.
func (t *Transmitter) Packetizer(i int) *Packetizer { return t.streams[i].p }

// Pacer returns stream i's pacer, for its parameters and send times; do not
// call its Start or Due.
func (t *Transmitter) Pacer(i int) *Pacer { return t.streams[i].pacer }

// Start sets the transmitter's clock to now (TAI nanoseconds) and positions
// each stream at the first frame whose first packet goes at least lead after
// now; lead is at most [MaxLead]. A frame still being sent is abandoned. It
// may be called again to start over, after a stall; counts are kept.
func (t *Transmitter) Start(now int64, lead time.Duration) error {
	if now < 0 {
		return fmt.Errorf("video: start time %d before the TAI epoch", now)
	}
	if lead > MaxLead {
		return fmt.Errorf("video: start lead %v: more than MaxLead (%v)", lead, MaxLead)
	}
	first, ok := addTime(now, int64(max(lead, 0)))
	if !ok {
		return fmt.Errorf("video: start time %d plus lead %v: past the end of int64 nanoseconds (year 2262)", now, lead)
	}
	t.start, t.started = now, true
	for i := range t.streams {
		s := &t.streams[i]
		s.pacer.Start(first)
		s.p.frame = nil
		s.fresh = false
		s.done = s.finished()
		t.due[i] = s.pacer.Next()
		if s.done {
			t.due[i] = math.MaxInt64
		}
	}
	return nil
}

// addTime returns a + d for d >= 0, saturated at math.MaxInt64; ok is
// false if it was.
func addTime(a, d int64) (int64, bool) {
	if a > math.MaxInt64-d {
		return math.MaxInt64, false
	}
	return a + d, true
}

// local converts the caller's time to the transmitter's: the latest
// transmitter time whose caller time is not after now, so that a packet due
// at caller(due) is due at local(caller(due)). Before Start's time (a
// clock that went back) nothing is due, and now is returned; at
// math.MaxInt64, the end of time, so is now.
func (t *Transmitter) local(now int64) int64 {
	if t.scale == 1 || now <= t.start || now == math.MaxInt64 {
		return now
	}
	l := t.start + int64(float64(now-t.start)*t.scale)
	for t.caller(l+1) <= now {
		l++
	}
	for l > t.start && t.caller(l) > now {
		l--
	}
	return l
}

// caller converts the transmitter's time to the caller's, rounded up, and
// saturated at math.MaxInt64: a time stretched past the end of int64
// nanoseconds is never.
func (t *Transmitter) caller(at int64) int64 {
	if t.scale == 1 || at <= t.start || at == math.MaxInt64 {
		return at
	}
	d := math.Ceil(float64(at-t.start) / t.scale)
	if d >= float64(math.MaxInt64-t.start) {
		return math.MaxInt64
	}
	c, _ := addTime(t.start, int64(d)) // d may round up to just past the end
	return c
}

// Step writes the packets due at or before now (TAI nanoseconds, the
// caller's clock), at most max of them and no more than q has room for,
// into q, earliest first, and publishes them. It returns how many it wrote
// and when the next packet is due (math.MaxInt64 when every stream is
// done, or when MaxRate stretched it past the end of int64 nanoseconds). When it writes fewer packets than are due, q was full: the caller
// waits for room (or flushes) and steps again; packets written later than
// Slack after their due time count as late. A stream found more than
// TransmitterConfig.MaxLag behind its schedule first skips to the first
// frame of its schedule not yet due (see [TxStats.Skipped]): it never
// catches up in a burst. A packet that does not fit its buffer is an
// error matching [ErrShortBuffer]. Step does not allocate.
func (t *Transmitter) Step(q TxQueue, now int64, max int) (int, int64, error) {
	if !t.started {
		return 0, 0, ErrNotStarted
	}
	sentAt := now
	now = t.local(now)
	for i, d := range t.due {
		// d >= 0 (a TAI time, or math.MaxInt64): now-d does not overflow.
		if d < now && now-d > t.streams[i].lag && !t.streams[i].fresh {
			t.resync(i, now)
		}
	}
	if _, due := t.earliest(); due > now || max <= 0 {
		return 0, t.caller(due), nil
	}
	// Reserve the slots of the packets due and no more: a ring checks
	// every slot it reserves.
	want := 0
	for i, d := range t.due {
		if d <= now && want < max {
			want += t.streams[i].pacer.pending(now, max-want)
		}
	}
	k, err := q.Reserve(want)
	if k == 0 {
		return 0, t.next(), err
	}
	stamp, _ := q.(TxStamper)
	i := 0
	// A burst at a time: the packets of a stream's burst are due together,
	// so the stream stays the earliest (the lowest index of those due
	// together) until its burst is written, and its pacer moves once.
	for i < k {
		si, due := t.earliest()
		if due > now {
			break
		}
		s := &t.streams[si]
		if s.p.frame == nil { // the pacer is at the first packet of a picture
			frame, _ := s.pacer.Pos()
			if err = s.p.Frame(s.src.Frame(s.stats.Frames), s.pacer.FrameTime(frame)); err != nil {
				err = &streamError{i: si, at: fmt.Sprintf("frame %d of its source: ", s.stats.Frames), err: err}
				break
			}
			if s.p.half != 0 {
				// The second field's media clock is that of its own
				// alignment point, as the pacer and an analyser have
				// it: the first field's time plus half a frame period,
				// rounded to the nanosecond twice, is one tick short
				// on the half ticks of 59.94 fields per second.
				s.p.ts[1] = Timestamp(s.pacer.FrameTime(frame + 1))
			}
		}
		late := now-due > t.slack
		var at int64
		if stamp != nil {
			at = t.caller(due)
		}
		m := min(s.pacer.burstLeft(), k-i)
		j := 0
		for ; j < m; j++ {
			buf := q.Buf(i + j)
			if buf == nil {
				err = errBadBuf
				break
			}
			var n int
			if n, err = s.p.Next(buf); err != nil {
				break
			}
			q.SetLen(i+j, n)
			if s.an != nil {
				var h headers
				if parseHeaders(&h, buf[s.rtp:n]) {
					s.an.Packet(sentAt, h.ts, h.marker)
					s.an.Payload(h.data, h.rows)
				}
			}
			if stamp != nil {
				stamp.Stamp(i+j, si, at)
			}
			s.stats.Bytes += uint64(n)
		}
		if j > 0 {
			s.pacer.take(j)
			t.due[si] = s.pacer.Next()
			s.stats.Packets += uint64(j)
			if late {
				s.stats.Late += uint64(j)
			}
			i += j
		}
		if s.p.frame == nil {
			s.fresh = false
			s.stats.Frames++
			if s.done = s.finished(); s.done {
				t.due[si] = math.MaxInt64
			}
		}
		if err != nil {
			break
		}
	}
	q.Publish(i)
	return i, t.next(), err
}

var errBadBuf = errors.New("video: transmit queue gave no buffer")

// resync moves stream i, found more than its lag behind its schedule at
// now (transmitter time), to the first frame of its schedule whose first
// packet is not due before now (a first field when interlaced or PsF; at
// most a frame period or two away): that frame carries the RTP
// timestamp of its own alignment point, as every frame does, never an old
// one. The frames passed over, the one being sent included, count as
// skipped, and towards Count: a stream whose output cannot keep up ends
// after its Count of frame periods all the same. The source is asked for
// the next frame after the last one sent, as ever.
func (t *Transmitter) resync(i int, now int64) {
	s := &t.streams[i]
	fields := int64(s.p.fields)
	from, _ := s.pacer.Pos()
	s.pacer.Start(now)
	to, _ := s.pacer.Pos()
	s.p.frame = nil
	n := uint64((to - from + fields - 1) / fields)
	if s.count != 0 {
		n = min(n, s.count-s.stats.Frames-s.stats.Skipped)
	}
	s.stats.Skipped += n
	s.stats.Resyncs++
	s.fresh = true
	t.due[i] = s.pacer.Next()
	if s.done = s.finished(); s.done {
		t.due[i] = math.MaxInt64
	}
}

// finished reports whether the stream has had its Count of frames, sent
// or skipped.
func (s *txStream) finished() bool {
	return s.count != 0 && s.stats.Frames+s.stats.Skipped >= s.count
}

// earliest returns the index of the stream whose next packet is due first
// (the lowest index of those due together), and when; -1 and math.MaxInt64
// when every stream is done.
func (t *Transmitter) earliest() (int, int64) {
	best, due := -1, int64(math.MaxInt64)
	for i, d := range t.due {
		if d < due {
			best, due = i, d
		}
	}
	return best, due
}

// next returns when the next packet is due, on the caller's clock.
func (t *Transmitter) next() int64 {
	_, due := t.earliest()
	return t.caller(due)
}

// Next returns when the next packet is due (TAI nanoseconds, the caller's
// clock), or math.MaxInt64 when every stream is done or MaxRate stretched
// the schedule past the end of int64 nanoseconds (see [Transmitter.Done]).
func (t *Transmitter) Next() int64 {
	if !t.started {
		return math.MaxInt64
	}
	return t.next()
}

// Done reports whether every stream has had its Count frames, sent or
// skipped.
func (t *Transmitter) Done() bool {
	i, _ := t.earliest()
	return t.started && i < 0
}

// Stats returns the counts of stream i.
func (t *Transmitter) Stats(i int) TxStats { return t.streams[i].stats }

// Analysis returns the ST 2110-21 analysis of the times stream i's packets
// were written; ok is false without TransmitterConfig.Analyze.
func (t *Transmitter) Analysis(i int) (a Analysis, ok bool) {
	if an := t.streams[i].an; an != nil {
		return an.Report(), true
	}
	return a, false
}

// streamError is the error err of stream number i of a transmitter,
// receiver or session, said once with the package's prefix: err's own
// "video: " is left out of the message (it is still err, for errors.Is
// and errors.As). at, if not "", says where in the stream, before err.
type streamError struct {
	i   int
	at  string
	err error
}

func streamErr(i int, err error) error { return &streamError{i: i, err: err} }

func (e *streamError) Error() string {
	return "video: stream " + strconv.Itoa(e.i) + ": " + e.at + strings.TrimPrefix(e.err.Error(), "video: ")
}

func (e *streamError) Unwrap() error { return e.err }
