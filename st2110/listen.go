package st2110

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nmgo/nmgo/internal/wide"
	"github.com/nmgo/nmgo/video"
)

// ListenConfig configures [Listen]. A nil *ListenConfig means the
// defaults.
type ListenConfig struct {
	// Clock stamps the arrival of packets (netmap, AF_XDP and UDP; a
	// capture brings its own times); nil means the system clock as TAI
	// ([NewClock] with a nil config). A Clock not made by NewClock (a
	// zero Clock{}) is refused. A batch whose read of a PHC failed
	// is stamped with the time read last; once every read has failed for
	// a second, the reader ends with the error, which Frames yields,
	// whether packets come or not: a reader reads the clock for each
	// batch and, waiting for packets, at least every 100 ms (a ring
	// reader at each pass, a UDP reader at a read deadline).
	Clock *Clock

	// FrameBuffers is how many frames of each flow may be queued for, or
	// held by, the consumer of [Receiver.Frames]; a frame that finds them
	// all taken is dropped and counted (FlowStats.Dropped). Zero means 4,
	// or, for a flow whose frames are so large that 4 of them and the
	// readers' charges would not fit the room left in the Budget (its
	// limit less what is already charged to it: a Second path's merges,
	// the flows before, other users of a shared Budget; one frame of each
	// flow after it kept) but 1 and the readers' would, as many as would:
	// in the default budget on one
	// path, 3 for 7680x4320 RGBA or BGRA at 16 bits (253 MiB a frame), 2
	// at 8192x4320 (270 MiB), 4 for every other format up to 8192x4320;
	// with a Second path (the merge charges the frames it holds; the
	// readers keep no frame buffer of their own), 1 to 3 for 38 of the
	// largest 4320p formats (4:4:4, RGB, RGBA and BGRA at 10 bits or
	// more), and 8192x4320 RGBA or BGRA at 16 bits does not fit.
	// Where not even 1 fits, zero means 4, and Listen fails with the
	// budget's error before it opens the transport. The readers counted
	// are one a path: a netmap port read per ring pair has a reader a
	// ring, each charging every flow's state (and, on one path, frame
	// buffer) once the port is open, which a default sized this close to
	// the limit may then not leave room for (give a larger Budget). At
	// most MaxFrameBuffers.
	FrameBuffers int

	// Interface is the network interface that UDP joins multicast groups
	// on (a name, as "udp:ADDR:PORT@IFACE" gives it); empty means the
	// kernel's choice by route. It is the first path's: a Second path's
	// interface is the one its name gives.
	Interface string

	// ReadBuffer is the socket receive buffer of a UDP transport; zero
	// means 8 MiB (as root beyond net.core.rmem_max, with
	// SO_RCVBUFFORCE). For an AF_XDP transport it is the UMEM, in frames
	// of 2048 octets (rounded down to a power of two of them, at least
	// 64); zero means 16 MiB, some 30 ms of a 1080p59.94 flow.
	ReadBuffer int

	// Batch is the most packets read from a ring or a socket at a time;
	// zero means 64 for UDP, 512 for netmap and AF_XDP. On a netmap ring
	// or an AF_XDP socket it is at most what the ring holds. Over UDP it
	// is at most MaxUDPBatch (Listen fails beyond), and each socket's
	// batch of datagram buffers is charged to the Budget.
	Batch int

	// Linger, on a netmap port, an AF_XDP socket or UDP sockets: after a
	// pass over the rings (a read of a socket) that took packets but
	// filled no batch, the reader sleeps this long on its thread before it
	// looks again (nmsys.Idler.Linger, xsk.Idler.Linger; over UDP in
	// clock_nanosleep(2) after recvmmsg(2)), so that packets gather into
	// batches instead of waking it every few packets (a paced sender's
	// every burst), which on a CPU that the reader shares with the sender
	// and the kernel saves wake-ups and syncs (over UDP, recvmmsg calls
	// and netpoller wake-ups). What it costs: up to Linger (plus the
	// thread's timer slack, 50 µs by default) more latency for every
	// packet, which Frame.Arrival and Frame.Latency include over netmap
	// and AF_XDP (over UDP they are the kernel's receive time): harmless to
	// frames handed out whole every 16.7 ms (1080p59.94). And the
	// arrival times go with it, since a batch is stamped with the time it
	// is read: the packets of a linger arrive as one burst, so the
	// receiver's ST 2110-21 analysis ([Receiver.Analysis]) finds Cinst at
	// about the packets of a linger (some 20 to 40 at 100 µs and
	// 1080p59.94, beyond a narrow sender's CMAX of 6) and judges the
	// reads, not the sender: keep Linger zero to judge a sender by its
	// arrivals (over UDP, unless Clock reads a PHC, a datagram's arrival
	// is the kernel's receive time, SO_TIMESTAMPNS, which a linger does
	// not move). The reader keeps its P through the sleep, over UDP as
	// over netmap and AF_XDP (see nmsys.Idler.Linger), yielding it before
	// one linger a millisecond so that the process's other goroutines run
	// (nmsys.Idler.NextBatchAt; a UDP reader by runtime.Gosched); the ring
	// (the socket's ReadBuffer) must hold what comes in a linger, and
	// Close waits for the linger under way.
	// Zero means none; at most MaxLinger. Outside Linux a UDP reader takes
	// one datagram at a time, a whole batch, and so never lingers. Listen
	// refuses Linger with a capture (pcap:, on either path), which is
	// read, not waited for, so there is nothing to gather, and with
	// Passthrough (whose host-stack packets, PTP among them, are not held
	// back).
	Linger time.Duration

	// Replay reads a pcap transport at the capture's pace (each packet
	// when its time since the first has passed) instead of as fast as
	// possible. Frames carry the capture's times either way.
	Replay bool

	// LatencyLimit is how far after its RTP time a frame's first packet
	// may arrive (the JT-NM Tested rule: 1 ms); zero means 1 ms.
	LatencyLimit time.Duration

	// Budget bounds the memory the flows' formats make the receiver take
	// (the frame buffers of the pools and of each reader, and the
	// readers' state) and the buffers of each UDP socket's batch
	// (ListenConfig.Batch), charged before anything is allocated: a
	// session that does not fit fails in Listen with a *video.BudgetError
	// naming the flow or the socket. Nil means a budget of
	// video.DefaultMemory for this receiver, which holds one flow of any
	// format up to 8192x4320 with the default FrameBuffers, on one path
	// read by one goroutine (a socket, a ring, a capture; a netmap port
	// opened per ring pair gives each of its goroutines a frame buffer of
	// every flow). A Budget shared with other receivers or senders is
	// charged in turn: the default FrameBuffers take what room its
	// charges so far have left. A Listen that fails gives back all it
	// charged, and Close gives it back too: at once, but for the frame
	// buffers the caller still holds (a Frames loop body under way, a
	// frame kept with Frame.Keep), each given back when it comes back
	// (the body returns, Frame.Release). So a service that opens and
	// closes receivers against one Budget does not exhaust it. Close
	// also lets go of what it gives back (the readers' state and frame
	// buffers, a second path's merges and the frames of their window),
	// keeping the counts and each flow's Analysis: what the budget no
	// longer counts is garbage, whether or not the caller keeps the
	// closed Receiver.
	Budget *video.Budget

	// Second, if set, names the transport of a second path (SMPTE ST
	// 2022-7 seamless protection, see the package documentation): every
	// flow is received on both, each path at its leg's address
	// (video.Stream.Second, else the flow's), and rebuilt once from the
	// first copy of each packet.
	Second string

	// MergeWindow is the path differential a receiver with a Second path
	// absorbs (video.MergeConfig.Window): ST 2022-7 class A
	// (video.SkewClassA, 10 ms), B (50 ms), C (450 ms), or any up to
	// video.MaxMergeWindow. Zero means class A.
	MergeWindow time.Duration

	// Passthrough, on a NIC port ("netmap:eth0"), binds the NIC's host
	// rings as well and gives the host stack the NIC back: every packet
	// that is not a flow's goes to the kernel as if the NIC had received
	// it, and whatever the kernel sends out of the NIC goes on the wire,
	// moved without copying. ARP, IGMP joins, PTP and ssh on that NIC then
	// keep working. Once the flows have stopped (Receiver.Err: a clock
	// or another input failed) every packet goes to the kernel, as
	// without netmap, until Close. See the package documentation, "Host
	// stack", and [Receiver.Passthrough] for its counts. Other transports
	// refuse it. A Second path that is a netmap port gets it too (and so
	// must be a NIC); one of another kind (UDP, AF_XDP, a capture) goes
	// without.
	Passthrough bool
}

// MaxLinger bounds ListenConfig.Linger (as nmsys.MaxLinger and
// xsk.MaxLinger bound theirs): Close waits out a linger under way, and the
// ring must hold what arrives meanwhile, the thread's timer slack (50 µs
// by default) included: a 2160p59.94 flow brings some 1,040 packets a
// millisecond, more than a 1024-slot ring holds, so at that rate take a
// larger ring or a shorter linger.
const MaxLinger = time.Millisecond

// MaxFrameBuffers bounds ListenConfig.FrameBuffers: a second of 1080p50
// is 50 frames, and a consumer that needs more than a thousand frames
// queued keeps its own store; the bound also keeps FrameBuffers times a
// frame's size (at most some 8.6 GB) within int64 for the budget.
const MaxFrameBuffers = 1024

// Frame is one video frame received: its flow, its octets in pgroup
// layout (video.Format.FrameSize octets), its RTP and arrival times, and
// how it and its flow fared.
//
// A Frame handed out by [Receiver.Frames] is valid until the loop body
// returns, when its buffer goes back to the receiver; call [Frame.Keep]
// to keep it longer, and [Frame.Release] when done with it.
type Frame struct {
	// Flow is the index of the frame's flow in the session (the SDP's
	// media descriptions, [Receiver.Flows]).
	Flow int
	// Data is the frame in pgroup wire layout. Parts of a frame that were
	// lost hold whatever the buffer held before (Info.Complete is false).
	// This field and the others are the caller's to reslice or set (the
	// buffer is the receiver's all the same, for as long as the frame
	// is): the next frames do not go by them.
	Data []byte

	// RTPTime is the frame's RTP timestamp (its first field's).
	RTPTime uint32
	// Arrival is when the frame's first packet seen arrived, in TAI
	// nanoseconds ([Clock]); 0 if that packet is not known.
	Arrival int64
	// Time is the RTP timestamp as TAI nanoseconds, the sampling instant
	// that the 90 kHz count nearest Arrival stands for (ST 2110-10); 0
	// when Arrival is.
	Time int64
	// Latency is Arrival - Time: the JT-NM Tested rule wants it in
	// [0, 1 ms] (ListenConfig.LatencyLimit).
	Latency time.Duration

	// Info describes the frame: packets, octets, lost packets, whether it
	// ended with its marker and is complete.
	Info video.FrameStats
	// Stats are the flow's counts when the frame was handed over.
	Stats FlowStats

	rx    *Receiver
	owner atomic.Int32 // who holds the frame: ownPool, ownQueue, ownLoop or ownUser
	// buf is the frame's buffer, whole: in the pool, the spare that the
	// next frame of the flow is written into; handed out, Data's. The
	// caller may reslice or replace Data: the receiver goes by buf.
	buf []byte
	// flow is Flow as the receiver knows it: the caller may change Flow
	// too, and the frame goes back to its own flow's pool all the same.
	flow int
}

// Who holds a Frame. A frame goes from its flow's pool to a reader, which
// fills it and queues it for Frames (ownQueue), whose loop lends it to the
// loop body (ownLoop) and takes it back to the pool after, unless the body
// kept it (ownUser) for Release to put back. Each hand-over is a
// compare-and-swap, so a frame is never in two places: released twice, or
// kept and released within the body, it goes back once.
const (
	ownPool int32 = iota
	ownQueue
	ownLoop
	ownUser
)

// Keep keeps the frame past its loop iteration, until [Frame.Release],
// and reports whether the frame is kept. A kept frame's buffer is not
// reused; the flow's other buffers are (ListenConfig.FrameBuffers).
//
// Keep works only inside the loop body that the frame was handed to:
// called after that body has returned (the loop moved on or ended), or
// after Release, it does nothing and returns false, since the buffer may
// already hold another frame. Called again on a frame kept, it returns
// true. (A Frame is reused for a later frame of its flow: a Keep called
// on it from a body that was handed that later frame keeps the later
// one.)
func (f *Frame) Keep() bool {
	return f.owner.CompareAndSwap(ownLoop, ownUser) || f.owner.Load() == ownUser
}

// Release hands a frame kept with [Frame.Keep] back to the receiver (after
// [Receiver.Close], its buffer's charge back to ListenConfig.Budget). A
// second Release does nothing.
func (f *Frame) Release() { f.rx.recycle(f, ownUser) }

// FlowStats are the counts of one flow of a [Receiver].
type FlowStats struct {
	// RxStats are the video receiver's counts: packets, octets, lost,
	// reordered, duplicate and late packets, frames delivered, complete
	// and skipped (a first frame joined in its middle).
	video.RxStats

	// Dropped is the frames reassembled but not handed out: the consumer
	// held every buffer (ListenConfig.FrameBuffers).
	Dropped uint64

	// Latency measures each frame's first packet against its RTP time.
	Latency Latency
}

// Latency is how a flow's frames arrived after their RTP times (ST
// 2110-10's sampling instants): first packet arrival - RTP time, against
// the JT-NM Tested rule, not in the future and at most a limit (1 ms) in
// the past. A sender and receiver that do not share a clock (PTP) fail
// it.
type Latency struct {
	Frames   uint64        // frames measured (arrival and RTP time known)
	Min, Max time.Duration // of the frames measured
	Sum      time.Duration // saturated at the ends of time.Duration (hostile times: some 380,000 frames each hours off their RTP time); Mean is exact
	Early    uint64        // first packet before the RTP time: the sender's clock runs ahead
	Late     uint64        // first packet more than the limit after it
	Limit    time.Duration // the limit applied

	sum wide.Int128 // exact: Sum before saturation
}

// Mean returns the mean latency of the frames measured, exact (truncated
// towards zero) however far their sum runs past time.Duration; of a
// Latency whose Sum was set or changed by hand, Sum over Frames.
func (l Latency) Mean() time.Duration {
	if l.Frames == 0 {
		return 0
	}
	if time.Duration(l.sum.Int64()) != l.Sum { // made or changed by hand: Sum is what there is
		return l.Sum / time.Duration(min(l.Frames, math.MaxInt64))
	}
	return time.Duration(l.sum.Quo(int64(min(l.Frames, math.MaxInt64))).Int64())
}

// OK reports whether frames were measured and every one kept the rule.
func (l Latency) OK() bool { return l.Frames > 0 && l.Early == 0 && l.Late == 0 }

func (l Latency) String() string {
	if l.Frames == 0 {
		return "latency: not measured"
	}
	verdict := "within"
	if !l.OK() {
		verdict = fmt.Sprintf("%d early, %d late against", l.Early, l.Late)
	}
	return fmt.Sprintf("latency %v..%v, mean %v over %d frames: %s [0, %v]", l.Min, l.Max, l.Mean(), l.Frames, verdict, l.Limit)
}

// add adds the latency of one frame.
func (l *Latency) add(d time.Duration) {
	if l.Frames == 0 || d < l.Min {
		l.Min = d
	}
	if l.Frames == 0 || d > l.Max {
		l.Max = d
	}
	l.Frames++
	l.sum.Add(int64(d))
	l.Sum = time.Duration(l.sum.Int64())
	switch {
	case d < 0:
		l.Early++
	case d > l.Limit:
		l.Late++
	}
}

// merge adds the counts of o (the same flow on another reader).
func (l *Latency) merge(o *Latency) {
	if o.Frames == 0 {
		return
	}
	if l.Frames == 0 {
		*l = *o
		return
	}
	l.Min, l.Max = min(l.Min, o.Min), max(l.Max, o.Max)
	l.Frames, l.Early, l.Late = l.Frames+o.Frames, l.Early+o.Early, l.Late+o.Late
	l.sum = l.sum.Plus(o.sum)
	l.Sum = time.Duration(l.sum.Int64())
}

// rtpTime returns the TAI time of RTP timestamp ts nearest arrival (both
// TAI ns): the 90 kHz count since the PTP epoch whose low 32 bits are ts.
func rtpTime(arrival int64, ts uint32) int64 {
	if arrival <= 0 {
		return 0
	}
	a := uint64(arrival)
	ticks := a/1e9*90000 + (a%1e9)*9/100000
	full := ticks - uint64(int64(int32(uint32(ticks)-ts)))
	return int64(full/90000*1e9 + (full%90000*100000+4)/9)
}

// Receiver receives the frames of a session's flows from one transport:
// a netmap port (every bound RX ring, one goroutine per ring where the
// port has several), an AF_XDP socket, UDP sockets (one per UDP port of
// the flows, joined to their multicast groups) or a pcap file. Its
// goroutines start in [Listen] and run until [Receiver.Close], the end of
// a capture, or the failure of an input ([Receiver.Err]).
//
// Frames, Stats, PathStats, Skew, Other, Batches, Passthrough, Flows,
// Err, Done and Close are safe for concurrent use; one goroutine at a
// time should range over Frames.
//
// Only Listen makes a Receiver: of a zero Receiver{}, Close returns nil
// (it has nothing open) and the other methods may panic or block (a
// zero Receiver's Done is a nil channel). As with any context.Context
// parameter, Frames' ctx must not be nil.
type Receiver struct {
	ep    endpoint
	flows []video.Stream
	cfg   ListenConfig
	clock *Clock

	passFirst atomic.Pointer[passStop] // the first passthrough stop Passthrough reported

	tr    rxTransport
	dup   *dupRx        // the merges of a second path, or nil
	sinks []*rxSink     // per reader
	pools []chan *Frame // per flow: free frames, each with a spare buffer
	nbufs []int         // per flow: its frames (ListenConfig.FrameBuffers or its default)
	out   chan *Frame   // frames for Frames, in arrival order

	// frameBudget is the ledger the pools' frames are charged through
	// (cfg.Budget is that of the rest). Once Close has set shut, under
	// poolMu, a frame coming back (recycle) is not put in its pool but
	// given back to the budget, and Close gives back those in the pools
	// and queued: each frame's charge once, by whoever holds it then.
	frameBudget *video.Budget
	poolMu      sync.Mutex
	shut        bool

	// final is each flow's Analysis, taken by Close once the readers
	// have stopped; Close then drops the readers' video.Receivers and
	// the merges, whose frame buffers it has given back to the budget.
	// Nil until then; under anMu.
	anMu  sync.Mutex
	final []flowAnalysis

	mu    sync.Mutex
	stats [][]FlowStats // per flow, per reader
	other []uint64      // per reader: packets of no flow
	err   error         // the first reader error

	ctx     context.Context // the readers', ended by Close
	cancel  context.CancelFunc
	done    chan struct{} // closed when every reader has returned
	closed  atomic.Bool
	closeMu sync.Mutex
}

// Listen opens the transport named by name and starts receiving the flows
// of sess (each video media description of an SDP: [video.ParseSDP]).
// name is one of:
//
//	netmap:IFNAME, valeX:Y, ...    a netmap port (see nmsys.ParseName)
//	udp, udp:IFACE                 UDP sockets on the SDP's addresses
//	udp:ADDR:PORT[@IFACE]          ... with flow k at ADDR:PORT+k instead
//	pcap:FILE                      a pcap or pcapng capture, read to its end
//	xdp:IFACE, xdp:IFACE-Q         an AF_XDP socket on queue 0 (or Q) of IFACE
//
// Over UDP, Listen joins each flow's multicast group (source-specific,
// IGMPv3 or MLDv2, if the SDP has a=source-filter) on ListenConfig.Interface
// or the name's IFACE. Packets are demultiplexed by destination address
// and port, and source where the SDP names one, so several flows may share
// a port. On a netmap port or an AF_XDP queue nmgo sends no IGMP: the
// switch must forward the groups to the port.
//
// A capture that is a FIFO keeps Listen waiting for its writer and the
// capture's header: [ListenContext] bounds that wait.
func Listen(name string, sess *video.Session, cfg *ListenConfig) (*Receiver, error) {
	return ListenContext(context.Background(), name, sess, cfg)
}

// ListenContext is [Listen] with a context that bounds the opening of the
// transport: once ctx is done, a Listen still waiting (a capture that is
// a FIFO, for its writer and the capture's header) gives up, closes what
// it opened and returns an error that wraps ctx.Err(), its wait released
// and no goroutine left behind; a ctx done before the call fails it at
// once. Once ListenContext has returned a Receiver, ctx does not affect
// it: [Receiver.Close] stops it, and Frames takes a context of its own.
// As with net.ListenConfig.Listen and net.Dialer.DialContext, ctx must not
// be nil. Which waits ctx ends depends on the system: on Linux both, the
// open of a FIFO (for its writer) and the read of the header; on the BSDs
// the read of the header only (the open of a FIFO waits for its writer);
// on macOS, whose poller takes no FIFO, and on Windows, neither: there
// ctx is looked at before the call only. On Linux ctx also ends the wait
// for the header of a capture that is a tty or another device the
// netpoller takes, but not that of a device it refuses, whose read
// blocks in read(2).
func ListenContext(ctx context.Context, name string, sess *video.Session, cfg *ListenConfig) (_ *Receiver, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("st2110: listen %s: %w", name, err)
	}
	r, err := newReceiver(name, sess, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			r.unwind()
		}
	}()
	var tr rxTransport
	if r.dup != nil {
		tr, err = r.dup.open(ctx, r)
	} else {
		tr, err = openRx(ctx, &r.ep, r.flows, &r.cfg)
	}
	if err != nil {
		return nil, err
	}
	if err := r.start(tr); err != nil {
		return nil, err
	}
	return r, nil
}

// openRx opens the transport ep for flows fs.
func openRx(ctx context.Context, ep *endpoint, fs []video.Stream, cfg *ListenConfig) (rxTransport, error) {
	switch ep.kind {
	case kindNetmap:
		return openNetmapRx(ep, cfg)
	case kindUDP:
		return openUDPRx(ep, fs, cfg)
	case kindPcap:
		return openPcapRx(ctx, ep, cfg)
	case kindXDP:
		return openXDPRx(ep, cfg)
	}
	return nil, fmt.Errorf("st2110: listen %s: transport kind %d", ep.name, ep.kind)
}

// newReceiver checks what Listen was given and sets the receiver up,
// without a transport. What it charges goes through two ledgers of the
// budget (r.cfg.Budget and r.frameBudget), which it unwinds if it fails;
// once it has returned a receiver, r.unwind does.
func newReceiver(name string, sess *video.Session, cfg *ListenConfig) (_ *Receiver, err error) {
	ep, err := parseName(name)
	if err != nil {
		return nil, err
	}
	fs, err := flows(sess, &ep, false)
	if err != nil {
		return nil, err
	}
	r := &Receiver{ep: ep, flows: fs, done: make(chan struct{})}
	if cfg != nil {
		r.cfg = *cfg
	}
	for _, v := range []struct {
		field string
		v     int64
	}{{"FrameBuffers", int64(r.cfg.FrameBuffers)}, {"Batch", int64(r.cfg.Batch)}, {"ReadBuffer", int64(r.cfg.ReadBuffer)},
		{"LatencyLimit", int64(r.cfg.LatencyLimit)}, {"Linger", int64(r.cfg.Linger)}} {
		if v.v < 0 {
			return nil, fmt.Errorf("st2110: listen %s: ListenConfig.%s is negative (%d)", name, v.field, v.v)
		}
	}
	if r.cfg.Linger > MaxLinger {
		return nil, fmt.Errorf("st2110: listen %s: ListenConfig.Linger %v: more than MaxLinger (%v)", name, r.cfg.Linger, MaxLinger)
	}
	if r.cfg.FrameBuffers > MaxFrameBuffers {
		return nil, fmt.Errorf("st2110: listen %s: ListenConfig.FrameBuffers %d: more than MaxFrameBuffers (%d)", name, r.cfg.FrameBuffers, MaxFrameBuffers)
	}
	if r.cfg.Linger > 0 && r.cfg.Passthrough {
		return nil, fmt.Errorf("st2110: listen %s: ListenConfig.Linger with Passthrough: a passthrough reader does not linger (the host stack's packets, PTP among them, are not held back)", name)
	}
	if r.cfg.Linger > 0 && ep.kind == kindPcap {
		return nil, fmt.Errorf("st2110: listen %s: ListenConfig.Linger with a capture: a capture is read, not waited for, so a linger has nothing to gather", name)
	}
	if r.cfg.Passthrough && ep.kind != kindNetmap {
		return nil, fmt.Errorf("st2110: listen %s: passthrough is for netmap NIC ports (netmap:eth0)", name)
	}
	if r.cfg.LatencyLimit == 0 {
		r.cfg.LatencyLimit = time.Millisecond
	}
	if r.cfg.Interface == "" {
		r.cfg.Interface = ep.iface
	}
	if r.clock = r.cfg.Clock; r.clock == nil {
		if r.clock, err = defaultClock(); err != nil {
			return nil, err
		}
	} else if r.clock.Source() == 0 {
		return nil, fmt.Errorf("st2110: listen %s: ListenConfig.Clock %w", name, errZeroClock)
	}
	b := r.cfg.Budget
	if b == nil {
		if b, err = video.NewBudget(video.DefaultMemory); err != nil {
			return nil, err
		}
	}
	// The frames of the pools are charged through a ledger of their own,
	// since Close gives each back when it is free, which for a frame the
	// caller holds is after Close (recycle); the rest, through
	// r.cfg.Budget, Close gives back at once.
	r.cfg.Budget, r.frameBudget = b.Ledger(), b.Ledger()
	defer func() {
		if err != nil {
			r.unwind()
		}
	}()
	if r.cfg.Second != "" || r.cfg.MergeWindow != 0 {
		if r.dup, err = newDupRx(r, sess); err != nil {
			return nil, err
		}
	}
	// The pools' frames are charged before the transport is opened: a
	// session that does not fit fails before a socket, port or file is.
	// The default buffers are sized from the budget's room left (the
	// merges, earlier flows' pools, other receivers' charges), less what
	// the readers will charge.
	// Room is kept for one frame of every flow after this one, so that an
	// earlier flow does not take what a later one needs for its first.
	r.nbufs = make([]int, len(r.flows))
	var readers, later int64
	for k := range r.flows {
		readers += readerMemory(&r.flows[k].Format, r.dup != nil)
		later += int64(r.flows[k].Format.FrameSize())
	}
	for k := range r.flows {
		size := int64(r.flows[k].Format.FrameSize())
		later -= size
		nb := r.cfg.FrameBuffers
		if nb == 0 {
			nb = defaultFrameBuffers(size, readers+later, r.cfg.Budget.Limit()-r.cfg.Budget.Used())
		}
		r.nbufs[k] = nb
		n := int64(nb) * size
		if err := r.frameBudget.Charge(fmt.Sprintf("flow %d (%v): %d frame buffers", k, r.flows[k].Format, nb), n); err != nil {
			return nil, fmt.Errorf("st2110: listen %s: %w", r.ep.name, err)
		}
	}
	return r, nil
}

// readerMemory is what the readers of a flow of format f charge the
// budget (newSink): on one path, one reader's video.ReceiverMemory (its
// own frame buffer, tables and state); on two (dup), each path's reader's
// tables and state, its stream a path of the flow's merge, which has
// charged the frames it holds (newDupRx), with no frame buffer of its own
// (video.RxStream.Merge).
func readerMemory(f *video.Format, dup bool) int64 {
	if dup {
		return 2 * (video.ReceiverMemory(f) - int64(f.FrameSize()))
	}
	return video.ReceiverMemory(f)
}

// defaultFrameBuffers is the frame buffers of a flow of frames of size
// octets (ListenConfig.FrameBuffers zero) in a budget with room octets
// left: 4, or as many as leave reserve octets: the readers' charge, made
// once the transport is open (readerMemory), and one frame of each flow
// still to be sized. A 4320p RGBA flow at
// 16 bits (253 or 270 MiB a frame) on one path does not fit
// video.DefaultMemory 5 times over; every other 4320p format does. A flow
// whose readers and one frame buffer do not fit gets 4: Listen refuses
// their charge before it opens the transport, as it would any session
// too large (with fewer, the pool's charge could pass and the readers',
// made once the transport is open, fail).
func defaultFrameBuffers(size, reserve, room int64) int {
	n := (room - reserve) / max(size, 1)
	if n < 1 {
		return 4
	}
	return int(min(4, n))
}

// prefault writes a zero to every page of b, a buffer just made: a large
// buffer comes straight from the operating system, which gives each page
// its memory at the first write to it, a page fault of some thousand
// instructions. Done in Listen, it keeps those faults (over a thousand per
// 1080p frame buffer) out of the receive loop.
func prefault(b []byte) {
	for i := 0; i < len(b); i += 4096 { // the smallest page size there is
		b[i] = 0
	}
}

// start allocates the frame pools and a sink per reader of tr, and starts
// the readers. On error it closes tr.
func (r *Receiver) start(tr rxTransport) error {
	r.tr = tr
	total := 0
	r.pools = make([]chan *Frame, len(r.flows))
	for k := range r.flows {
		r.pools[k] = make(chan *Frame, r.nbufs[k])
		size := r.flows[k].Format.FrameSize()
		for range r.nbufs[k] {
			f := &Frame{Flow: k, flow: k, buf: make([]byte, size), rx: r}
			prefault(f.buf)
			r.pools[k] <- f
		}
		total += r.nbufs[k]
	}
	r.out = make(chan *Frame, total)
	readers := tr.readers()
	sinks := make([]*rxSink, len(readers))
	r.stats = make([][]FlowStats, len(r.flows))
	for k := range r.stats {
		r.stats[k] = make([]FlowStats, len(readers))
	}
	r.other = make([]uint64, len(readers))
	if r.dup != nil {
		if err := r.dup.prepare(r, readers); err != nil {
			tr.close()
			return err
		}
	}
	for i, rd := range readers {
		var err error
		if sinks[i], err = newSink(r, i, rd.flows(), len(readers)); err != nil {
			tr.close()
			return err
		}
	}
	r.sinks = sinks
	if r.dup != nil {
		r.dup.begin(r)
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, rd := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := rd.run(r.ctx, sinks[i])
			if err == errClosedInput {
				err = nil
			}
			sinks[i].finish()
			if errors.Is(err, io.EOF) || r.closed.Load() {
				err = nil
			}
			r.mu.Lock()
			first := err != nil && r.err == nil
			if first {
				r.err = err
				if r.dup != nil {
					r.err = r.dup.named(r, i, err)
				}
			}
			// The other inputs stop too, so that Frames ends with
			// the error instead of going on with their flows alone,
			// the failed input's flows silent. A path of two (ST
			// 2022-7) fails alone, since the other path carries the
			// flows, until a flow has lost both paths.
			stop := first && r.dup == nil
			if r.dup != nil && !r.closed.Load() {
				if fe := r.dup.stopped(r, i, err); fe != nil {
					r.err, stop = fe, true
				}
			}
			r.mu.Unlock()
			if stop {
				r.cancel()
				r.tr.wake()
			}
		}()
	}
	go func() {
		wg.Wait()
		if r.dup != nil {
			r.dup.wait() // the expiry goroutine, which the readers' end ended
		}
		// Done first: once Frames has ended, Done is closed (and
		// Analysis has its answer).
		close(r.done)
		close(r.out)
	}()
	return nil
}

// Flows returns the flows the receiver takes, in session order: the SDP's
// media descriptions with the transport's address, if it gave one.
func (r *Receiver) Flows() []video.Stream { return append([]video.Stream(nil), r.flows...) }

// Clock returns the clock that stamps arrivals.
func (r *Receiver) Clock() *Clock { return r.clock }

// Inputs returns how many inputs the transport has, each drained by its
// own goroutine: the ring pairs of a netmap port opened per ring (else 1),
// the sockets of a UDP transport (one per UDP port and IP version), 1 for
// a capture.
func (r *Receiver) Inputs() int { return len(r.sinks) }

// Frames returns the frames as they are completed, in order per flow,
// until ctx is done, the receiver is closed, or the transport's input
// ends (the end of a capture) or fails (a capture cut short; with two
// paths, a flow's input on both, [FlowError]): the frames
// being filled are handed out then, as they are, and the error, if any,
// is yielded once, last. Once ctx is done or the receiver closed, no
// frame is handed out, not even one that was queued before.
// Each frame is valid until the loop body returns (see [Frame.Keep]), or
// panics: a frame not kept goes back to its pool either way, so that a
// loop resumed after a recovered panic gets the flow's frames still.
// Frames does not allocate per frame.
func (r *Receiver) Frames(ctx context.Context) iter.Seq2[*Frame, error] {
	return func(yield func(*Frame, error) bool) {
		// The frame lent to the loop body goes back to its pool even if
		// the body panics (and a supervisor recovers): else its reader,
		// short of buffers, would wait for it forever. One defer per
		// Frames, none per frame.
		var lent *Frame
		defer func() {
			if lent != nil {
				r.recycle(lent, ownLoop) // unless kept
			}
		}()
		for {
			// A select with a frame queued and ctx done picks either:
			// a context done before the loop would not end it.
			if ctx.Err() != nil {
				return
			}
			var f *Frame
			var ok bool
			select {
			case f, ok = <-r.out:
			case <-ctx.Done():
				return
			}
			if !ok {
				if err := r.Err(); err != nil {
					yield(nil, err)
				}
				return
			}
			if r.closed.Load() {
				// Closed: the frames still queued go back to their
				// pools, until the readers have stopped and out is
				// closed (Close waits for that too).
				r.recycle(f, ownQueue)
				continue
			}
			f.owner.Store(ownLoop)
			lent = f
			more := yield(f, nil)
			lent = nil
			r.recycle(f, ownLoop) // unless kept
			if !more {
				return
			}
		}
	}
}

// recycle puts a frame held by from back into its flow's pool or, once
// the receiver is closed (Close has drained the pools), gives its buffer's
// charge back to the budget.
func (r *Receiver) recycle(f *Frame, from int32) {
	if !f.owner.CompareAndSwap(from, ownPool) {
		return
	}
	r.poolMu.Lock()
	shut := r.shut
	if !shut {
		r.pools[f.flow] <- f // never blocks: the pool has room for all its frames
	}
	r.poolMu.Unlock()
	if shut {
		r.frameBudget.Release(int64(r.flows[f.flow].Format.FrameSize()))
	}
}

// freeFrames gives the budget back the frames in the pools and queued for
// Frames, and makes recycle give back the others (held by a Frames loop
// body or kept) as they come back; the receiver's readers have stopped
// and out is closed (Close after done), so nothing else takes from the
// pools or out. A frame that Close takes from out and one that a Frames
// loop takes are each given back once: Close's here, the loop's by
// recycle.
func (r *Receiver) freeFrames() {
	r.poolMu.Lock()
	r.shut = true
	r.poolMu.Unlock()
	var n int64
	for k, p := range r.pools {
		size := int64(r.flows[k].Format.FrameSize())
	drain:
		for {
			select {
			case <-p:
				n += size
			default:
				break drain
			}
		}
	}
	for f := range r.out {
		if f.owner.CompareAndSwap(ownQueue, ownPool) {
			n += int64(r.flows[f.flow].Format.FrameSize())
		}
	}
	r.frameBudget.Release(n)
}

// unwind gives back all the receiver charged: for a Listen that failed.
func (r *Receiver) unwind() {
	r.cfg.Budget.Unwind()
	r.frameBudget.Unwind()
}

// checkFlow panics, as an index out of range does but naming the method,
// for a flow k out of [0, n): the methods of Receiver and Sender taking a
// flow (but Analysis, whose ok is false) call it before they take any
// lock, so that a caller recovering the panic (net/http recovers a
// handler's) finds them as they were.
func checkFlow(typ, method string, k, n int) {
	if uint(k) >= uint(n) {
		panic(fmt.Sprintf("st2110: %s.%s(%d): flow out of range [0, %d)", typ, method, k, n))
	}
}

// Stats returns the counts of flow k, summed over the transport's
// readers; they are brought up to date at each frame and when the
// receiver stops. It panics for k out of range, as the other methods
// taking a flow do but Analysis (ok false).
func (r *Receiver) Stats(k int) FlowStats {
	checkFlow("Receiver", "Stats", k, len(r.flows))
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sumLocked(k)
}

// sumLocked sums the counts of flow k over the readers that saw it:
// usually one, whose counts are copied whole.
func (r *Receiver) sumLocked(k int) FlowStats {
	var s FlowStats
	first := true
	for i := range r.stats[k] {
		o := &r.stats[k][i]
		switch {
		case first:
			s, first = *o, o.Packets == 0
		case o.Packets != 0:
			addStats(&s, o)
		}
	}
	return s
}

// Batches returns how many batches of packets the transport's readers
// have taken, as they take them: passes over a netmap port's rings that
// found packets, recvmmsg(2) calls (single reads where there is no
// recvmmsg), packets of a capture. The packets received over the batches
// is the mean batch.
func (r *Receiver) Batches() uint64 {
	var n uint64
	for _, s := range r.sinks {
		n += s.batches.Load()
	}
	return n
}

// Analysis returns the ST 2110-21 analysis of the arrival times of flow
// k's packets (video.Receiver.Analysis): Cinst, VRX, TROffset and the
// sender type they fit. ok is false while the receiver runs (call it once
// [Receiver.Done] is closed: after Close, or at the end of a capture),
// and for a flow whose analysis did not start (it needs the frame rate
// and two frames' markers), or out of range (the methods taking a flow
// panic for one, but Analysis, whose ok says so). Where several readers
// took the flow's packets, it is the analysis of the one that took the
// most.
func (r *Receiver) Analysis(k int) (a video.Analysis, ok bool) {
	if uint(k) >= uint(len(r.flows)) {
		return video.Analysis{}, false
	}
	select {
	case <-r.done:
	default:
		return video.Analysis{}, false
	}
	r.anMu.Lock()
	defer r.anMu.Unlock()
	if r.final != nil {
		return r.final[k].a, r.final[k].ok
	}
	return r.analysisLocked(k)
}

// flowAnalysis is what Analysis returns for a flow.
type flowAnalysis struct {
	a  video.Analysis
	ok bool
}

// analysisLocked is Analysis of flow k, in range, of a receiver whose
// readers have stopped and that Close has not dropped; under anMu.
func (r *Receiver) analysisLocked(k int) (a video.Analysis, ok bool) {
	if r.dup != nil {
		return r.dup.analysis(k)
	}
	var most uint64
	for _, s := range r.sinks {
		for j, fk := range s.flows {
			if fk != k {
				continue
			}
			if an, aok := s.r.Analysis(j); aok {
				if p := s.r.Stats(j).Packets; !ok || p > most {
					a, ok, most = an, true, p
				}
			}
		}
	}
	return a, ok
}

// Other returns the packets the transport brought that belong to no flow.
func (r *Receiver) Other() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n uint64
	for _, o := range r.other {
		n += o
	}
	return n
}

// Err returns the error that stopped a reader of the transport, nil if
// none did (an end of input or Close is not an error). In a receiver of
// one path a failed input stops the other inputs too, so that Frames ends
// with the error; with Passthrough the host stack keeps the NIC: each
// ring pair's forwarding goes on until Close, unless its own rings or
// waits failed (a failed clock, which forwarding does not need, stops
// only the flows); [Receiver.Passthrough] reports the ring pairs whose
// forwarding stopped, and why (PassStats.Stopped and Err). In a receiver
// of two paths (ListenConfig.Second) a failed reader stops alone and the
// other path's readers go on with the flows (Err is then the first such
// error, which names its path: "st2110: path 1 (udp:eth1): ...");
// where one reader serves both paths (two captures, read in step) its
// failure ends both. Once a flow has lost both paths (its readers failed
// on both, or failed on one and stopped on the other) the receiver stops
// as a receiver of one path does, and Err is a *[FlowError] naming the
// flow and each path's error, which Frames yields last.
func (r *Receiver) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Done is closed when every reader of the transport has stopped (with a
// Second path, the goroutine that expires the merges' frames too): after
// Close, at the end of a capture, or when a failed input stopped them
// (Err; in a receiver of two paths, once every reader has stopped). A
// Frames loop that ended because the readers stopped finds it closed.
// With Passthrough (ListenConfig.Passthrough), a ring pair's forwarding
// between the NIC and the host stack may go on after its reader has
// stopped (see Err): Done closed does not mean it has, only Close ends it.
func (r *Receiver) Done() <-chan struct{} { return r.done }

// Close stops the receiver: it stops its goroutines (closing the sockets
// and files they wait on, which leaves the multicast groups), waits for
// them, then releases the transport (a netmap port is unmapped only when
// no goroutine reads its rings) and returns its close error. With
// Passthrough it also stops the forwarding that went on after the readers
// stopped (Done) and waits for its goroutines, each of which leaves
// within one wait of at most 20 ms. It gives back what Listen charged to
// ListenConfig.Budget, but for the frames the caller still holds, whose
// charges go back as each does (see ListenConfig.Budget), and lets go of
// that memory: Stats, PathStats, Skew and Analysis answer as they did
// when the readers stopped. It may be called more than once.
func (r *Receiver) Close() error {
	if r.tr == nil { // a zero Receiver, not made by Listen (set before Listen returns, never after)
		return nil
	}
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.closed.Swap(true) {
		<-r.done
		return nil
	}
	r.cancel()
	r.tr.wake()
	<-r.done
	err := r.tr.close()
	r.freeFrames()
	r.dropReaders()
	r.cfg.Budget.Unwind() // the readers, the merges, the sockets' buffers
	return err
}

// dropReaders keeps each flow's Analysis and lets go of what the readers
// filled, once they and the transport have stopped: each reader's
// video.Receiver (a frame buffer of each of its flows) and the merges of
// a second path (the frames of their window), so that the memory Close
// gives back to the budget is free once the caller drops its frames,
// whether or not it keeps the Receiver. The counts (Stats, PathStats,
// Skew, Other, Batches) were published when the readers stopped.
func (r *Receiver) dropReaders() {
	r.anMu.Lock()
	defer r.anMu.Unlock()
	final := make([]flowAnalysis, len(r.flows))
	for k := range final {
		final[k].a, final[k].ok = r.analysisLocked(k)
	}
	r.final = final
	for _, s := range r.sinks {
		s.r, s.merges = nil, nil
	}
	if d := r.dup; d != nil {
		d.sink.merges, d.merges = nil, nil
	}
}

// addStats adds the counts of o to s: one flow seen by several readers.
func addStats(s, o *FlowStats) {
	a, b := &s.RxStats, &o.RxStats
	a.Packets += b.Packets
	a.Frames += b.Frames
	a.Complete += b.Complete
	a.Lost += b.Lost
	a.Reordered += b.Reordered
	a.Duplicates += b.Duplicates
	a.Late += b.Late
	a.BadRows += b.BadRows
	a.Malformed += b.Malformed
	a.WrongPT += b.WrongPT
	a.MissedMarkers += b.MissedMarkers
	a.NoBuffer += b.NoBuffer
	a.Bytes += b.Bytes
	a.Truncated += b.Truncated
	a.Delivered += b.Delivered
	a.Skipped += b.Skipped
	if b.Port != 0 {
		a.Port = b.Port
	}
	if b.PacketsPerField != 0 {
		a.PacketsPerField = b.PacketsPerField
	}
	if b.Packing != 0 {
		a.Packing = b.Packing
	}
	s.Dropped += o.Dropped
	limit := s.Latency.Limit
	s.Latency.merge(&o.Latency)
	s.Latency.Limit = max(limit, o.Latency.Limit)
}
