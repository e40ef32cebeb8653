package st2110

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/video"
)

// The netmap transport's loops over heap regions laid out like netmap's
// (internal/heapmem), with its simulated kernel: what runs on a netmap
// port, without one.

// heapTx is a txConn over TX ring 0 of a heap region.
type heapTx struct {
	*rings.TxRing
	reg *heapmem.Region
}

func (h *heapTx) flush(context.Context) error { return h.reg.TxSync(0) }
func (h *heapTx) keepsFailed()                {} // as a netmap ring
func (h *heapTx) wait(context.Context) error {
	time.Sleep(20 * time.Microsecond)
	return h.reg.TxSync(0)
}
func (h *heapTx) close() error { h.drain(); return nil }

func (h *heapTx) drain() {
	for deadline := time.Now().Add(10 * time.Second); h.InFlight() > 0 && time.Now().Before(deadline); {
		h.reg.TxSync(0)
		time.Sleep(50 * time.Microsecond)
	}
}
func (h *heapTx) counts() *txCounts { return nil }

// heapKernel is the ringKernel of RX ring 0 of a heap region.
type heapKernel struct {
	reg    *heapmem.Region
	closed atomic.Bool
}

func (k *heapKernel) next(took int, _ bool, _ uint64, _ int64) error {
	if k.closed.Load() {
		return errRingClosed
	}
	if took == 0 {
		time.Sleep(20 * time.Microsecond)
	}
	return k.reg.RxSync(0)
}

// heapRx is an rxTransport of one ringReader over a heap RX ring.
type heapRx struct {
	rd *ringReader
	k  *heapKernel
}

func (h *heapRx) readers() []rxReader { return []rxReader{h.rd} }
func (h *heapRx) wake()               { h.k.closed.Store(true) }
func (h *heapRx) close() error        { return nil }

// heapLink returns a TX ring connected to an RX ring (VALE's copy), both
// of slots slots.
func heapLink(t testing.TB, slots int) (*heapTx, *heapRx) {
	t.Helper()
	txr := heapmem.MustNew(&heapmem.Config{Name: "tx", TxSlots: slots, BufSize: 2048})
	rxr := heapmem.MustNew(&heapmem.Config{Name: "rx", RxSlots: slots, BufSize: 2048})
	if err := txr.Connect(0, rxr, 0, heapmem.Copy); err != nil {
		t.Fatal(err)
	}
	tr, err := rings.NewTxRing(txr.Mem, txr.TxRingOff(0))
	if err != nil {
		t.Fatal(err)
	}
	rr, err := rings.NewRxRing(rxr.Mem, rxr.RxRingOff(0))
	if err != nil {
		t.Fatal(err)
	}
	k := &heapKernel{reg: rxr}
	return &heapTx{TxRing: tr, reg: txr}, &heapRx{rd: &ringReader{name: "heap", rings: []video.RxQueue{rr}, kernel: k, batch: 512}, k: k}
}

// dialHeap is Dial over a heap TX ring; listenHeap is Listen over a heap
// RX ring.
func dialHeap(t testing.TB, q *heapTx, sess *video.Session, cfg *SendConfig) *Sender {
	t.Helper()
	s, sources, err := newSenderFrames("vale0:heap", sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	eth := &ethInfo{srcMAC: defaultMAC}
	if err := s.build([]txConn{q}, eth, sources); err != nil {
		t.Fatal(err)
	}
	return s
}

func listenHeap(t testing.TB, tr *heapRx, sess *video.Session, cfg *ListenConfig) *Receiver {
	t.Helper()
	r, err := newReceiver("vale0:heap", sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.start(tr); err != nil {
		t.Fatal(err)
	}
	return r
}

// Dial -> Listen through the netmap transport's loops over heap rings:
// whole Ethernet frames from templates, demultiplexed by group, byte for
// byte, nothing lost.
func TestHeapRoundTrip(t *testing.T) {
	q, tr := heapLink(t, 1024)
	sess := session("10.0.0.1", flow(fmtSD, "239.1.1.1:5004", ""), flow(fmtSD, "239.1.1.2:5004", ""), flow(fmtSmall, "239.1.1.3:5004", "10.0.0.1"))
	const n = 4
	frames := [][]byte{randomFrames(fmtSD, n, 1), randomFrames(fmtSD, n, 2), randomFrames(fmtSmall, n, 3)}
	var srcs []video.FrameSource
	for k := range frames {
		srcs = append(srcs, loopOf(t, sess.Streams[k].Format, frames[k]))
	}
	rx := listenHeap(t, tr, sess, nil)
	defer rx.Close()
	tx := dialHeap(t, q, sess, &SendConfig{Sources: srcs, Count: n, MaxLag: -1})
	wait := runSender(t, tx)
	got := collect(t, rx, n, 20*time.Second)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for k := range frames {
		st := rx.Stats(k)
		if !bytes.Equal(got[k], frames[k]) || st.Lost != 0 {
			t.Errorf("flow %d: %d octets of %d, %+v", k, len(got[k]), len(frames[k]), st)
		}
	}
}

// The netmap transport's receive path allocates nothing per packet or per
// frame: a pass over the rings (clock, Drain, demultiplexer, depacketizer,
// hand-over of frames to the consumer, who loops over Frames meanwhile);
// its send path neither: Step into the ring, TX sync, counts.
func TestHeapAllocs(t *testing.T) {
	q, tr := heapLink(t, 1024)
	sess := session("10.0.0.1", flow(fmtSD, "239.1.1.1:5004", ""), flow(fmtSD, "239.1.1.2:5004", ""))
	idle := &idleReader{}
	rx, err := newReceiver("vale0:heap", sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rx.start(&oneReader{idle}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	frames := drainFrames(rx)
	tx := dialHeap(t, q, sess, nil)
	part := tx.parts[0]
	now := tx.clock.Now()
	if err := part.tx.Start(now, 0); err != nil {
		t.Fatal(err)
	}
	sink := rx.sinks[0]
	round := func() {
		// Send what is due on a virtual clock, eight steps of up to 64
		// packets, and receive it.
		for range 8 {
			if _, _, err := tx.step(context.Background(), part, part.tx.Next()); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.k.reg.RxSync(0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tr.rd.pass(sink); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		round()
	}
	if n := testing.AllocsPerRun(200, round); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
	if n := closeDrained(rx, frames); n == 0 || rx.Stats(0).Lost != 0 || rx.Stats(1).Delivered == 0 {
		t.Errorf("%d frames reached the consumer; %+v", n, rx.Stats(0))
	}
}

// idleReader is a reader that receives nothing: the test drives its sink.
type idleReader struct{}

func (idleReader) flows() []int { return nil }
func (idleReader) run(ctx context.Context, _ *rxSink) error {
	<-ctx.Done()
	return nil
}

type oneReader struct{ rd rxReader }

func (o *oneReader) readers() []rxReader { return []rxReader{o.rd} }
func (o *oneReader) wake()               {}
func (o *oneReader) close() error        { return nil }

// failKernel is the kernel side of rings whose sync fails.
type failKernel struct{}

func (failKernel) next(int, bool, uint64, int64) error { return errors.New("rx sync: no such device") }

// readersOf is an rxTransport of the given readers.
type readersOf []rxReader

func (t readersOf) readers() []rxReader { return t }
func (readersOf) wake()                 {}
func (readersOf) close() error          { return nil }

// An input that fails stops the receiver, whose other inputs would
// otherwise go on with their flows alone: Frames ends with the error
// (naming the input), at once rather than when its context ends.
func TestReaderFailureEndsFrames(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	rx, err := newReceiver("vale0:heap", sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rx.start(readersOf{&ringReader{name: "vale0:heap-0", kernel: failKernel{}, batch: 1}, idleReader{}}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	var got error
	for _, err := range rx.Frames(ctx) {
		got = err
	}
	if got == nil || !strings.Contains(got.Error(), "vale0:heap-0: rx sync: no such device") || ctx.Err() != nil {
		t.Errorf("Frames ended after %v with %v, want the failed input's error at once", time.Since(start), got)
	}
	select {
	case <-rx.Done():
	default:
		t.Error("Done is not closed once an input has failed")
	}
	if err := rx.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// flowReader is a reader of the given flows that fails at once with err,
// or, with a nil err, receives nothing until the receiver stops.
type flowReader struct {
	fl  []int
	err error
}

func (f flowReader) flows() []int { return f.fl }
func (f flowReader) run(ctx context.Context, _ *rxSink) error {
	if f.err != nil {
		return f.err
	}
	<-ctx.Done()
	return nil
}

// A receiver of two paths goes on while each flow has a path, and stops
// once a flow has lost both: Frames ends (at once, not when its context
// ends) with a *FlowError naming the flow and both paths' errors, which
// Err returns too. Here flow 0 comes on its own socket on each path, and
// both fail; flow 1's sockets stay up.
func TestDupFlowLostOnBothPaths(t *testing.T) {
	// Flow 0 is a DUP pair: its copies go to another group on path 1.
	f0 := flow(fmtSmall, "239.1.1.1:5004", "")
	f0.Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5004")}
	sess := session("10.0.0.1", f0, flow(fmtSmall, "239.1.1.2:5006", ""))
	errA, errB := errors.New("st2110: udp port 5004: read: path a down"), errors.New("st2110: udp port 5004: read: path b down")
	for _, c := range []struct {
		name string
		a, b readersOf
		want [2]error
	}{
		{"both failed", readersOf{flowReader{fl: []int{0}, err: errA}, flowReader{fl: []int{1}}},
			readersOf{flowReader{fl: []int{1}}, flowReader{fl: []int{0}, err: errB}}, [2]error{errA, errB}},
		// A reader of every flow (a netmap ring) that fails takes
		// every flow's path with it.
		{"all flows", readersOf{flowReader{err: errA}},
			readersOf{flowReader{fl: []int{1}}, flowReader{fl: []int{0}, err: errB}}, [2]error{errA, errB}},
		// A path whose input ended (a capture read to its end) and
		// one that failed: the flow has no input left.
		{"ended and failed", readersOf{flowReader{fl: []int{0}, err: io.EOF}, flowReader{fl: []int{1}}},
			readersOf{flowReader{fl: []int{0}, err: errB}, flowReader{fl: []int{1}}}, [2]error{nil, errB}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rx, err := newReceiver("vale0:a", sess, &ListenConfig{Second: "vale1:b"})
			if err != nil {
				t.Fatal(err)
			}
			if err := rx.start(&pathsRx{a: c.a, b: c.b}); err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var got error
			for _, err := range rx.Frames(ctx) {
				got = err
			}
			if ctx.Err() != nil {
				t.Fatalf("Frames ended with its context (20 s), not with the lost flow; Err: %v", rx.Err())
			}
			var fe *FlowError
			if !errors.As(got, &fe) || fe.Flow != 0 || fe.Err != c.want || fe.Paths != [2]string{"vale0:a", "vale1:b"} {
				t.Fatalf("Frames ended with %v, want a *FlowError of flow 0 with %v", got, c.want)
			}
			for p, e := range c.want {
				if e != nil && (!errors.Is(got, e) || !strings.Contains(got.Error(), e.Error())) {
					t.Errorf("%v does not name path %d's error %v", got, p, e)
				}
			}
			if fe.Dst != [2]netip.AddrPort{netip.MustParseAddrPort("239.1.1.1:5004"), netip.MustParseAddrPort("239.2.1.1:5004")} || !strings.Contains(got.Error(), "flow 0 (239.1.1.1:5004 and 239.2.1.1:5004) lost on both paths") {
				t.Errorf("error %q", got)
			}
			if rx.Err() != got {
				t.Errorf("Err: %v, want what Frames yielded", rx.Err())
			}
			select {
			case <-rx.Done():
			default:
				t.Error("Done is not closed once a flow has lost both paths")
			}
		})
	}
}

// A flow that keeps a path keeps the receiver going: with each flow
// failed on one path only, no flow is lost.
func TestDupFlowOnePathFailed(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""), flow(fmtSmall, "239.1.1.2:5006", ""))
	rx, err := newReceiver("vale0:a", sess, &ListenConfig{Second: "vale1:b"})
	if err != nil {
		t.Fatal(err)
	}
	a := readersOf{flowReader{fl: []int{0}, err: errors.New("a down")}, flowReader{fl: []int{1}}}
	b := readersOf{flowReader{fl: []int{0}}, flowReader{fl: []int{1}, err: errors.New("b down")}}
	if err := rx.start(&pathsRx{a: a, b: b}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// Both failures recorded: the receiver goes on, as no flow lost both.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		rx.mu.Lock()
		n := 0
		for _, e := range rx.dup.failure {
			if e != nil {
				n++
			}
		}
		rx.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reader failures recorded in 20 s", n)
		}
	}
	// A lost flow would have been recorded with the second failure, in
	// the same critical section.
	rx.mu.Lock()
	lost, err := rx.dup.lost, rx.err
	rx.mu.Unlock()
	var fe *FlowError
	if lost || errors.As(err, &fe) {
		t.Errorf("a flow lost, Err %v, although each flow has a path", err)
	}
	select {
	case <-rx.Done():
		t.Fatalf("the receiver stopped with %v, although each flow has a path", rx.Err())
	default:
	}
}

// A FlowError's message: the flow by its destinations (both when they
// differ, "any address" for a flow without one), and each path's error.
func TestFlowErrorText(t *testing.T) {
	a, b := netip.MustParseAddrPort("239.1.1.1:5004"), netip.MustParseAddrPort("239.2.1.1:5004")
	for _, c := range []struct {
		e    FlowError
		want string
	}{
		{FlowError{Flow: 1, Dst: [2]netip.AddrPort{a, b}, Paths: [2]string{"udp:eth0", "udp:eth1"}, Err: [2]error{nil, errors.New("boom")}},
			"st2110: flow 1 (239.1.1.1:5004 and 239.2.1.1:5004) lost on both paths; path 0 (udp:eth0): input ended; path 1 (udp:eth1): boom"},
		{FlowError{Flow: 0, Dst: [2]netip.AddrPort{a, a}, Paths: [2]string{"vale0:a", "vale1:b"}},
			"st2110: flow 0 (239.1.1.1:5004) lost on both paths; path 0 (vale0:a): input ended; path 1 (vale1:b): input ended"},
		{FlowError{Flow: 2, Dst: [2]netip.AddrPort{{}, b}, Paths: [2]string{"netmap:eth0", "udp:eth1"}},
			"st2110: flow 2 (any address and 239.2.1.1:5004) lost on both paths; path 0 (netmap:eth0): input ended; path 1 (udp:eth1): input ended"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

// Frame.Data is the caller's to reslice or replace within the loop body
// (a parser that moves it on, a caller that sets it to nil when done):
// the receiver's buffers are its own, so that none of this stalls the
// flow (a short buffer would take no frame) or writes a later frame into
// a buffer the caller holds (nil, or the caller's own slice). Frame.Flow
// likewise: the frame goes back to its own flow's pool (another index
// was a panic in the receiver, or a buffer of another size in a pool).
func TestFrameDataChangedByCaller(t *testing.T) {
	const n = 8
	frames := randomFrames(fmtSmall, 2, 1)
	size := fmtSmall.FrameSize()
	// From a capture, whose reader waits for a free buffer where a live
	// one would drop the frame: the test does not depend on how soon the
	// loop body comes round.
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	name, _ := writeCapture(t, sess, [][]byte{frames}, n)
	for _, c := range []struct {
		name   string
		change func(f *Frame, own []byte)
	}{
		{"resliced", func(f *Frame, _ []byte) { f.Data = f.Data[:1] }},
		{"nil", func(f *Frame, _ []byte) { f.Data = nil }},
		{"own buffer", func(f *Frame, own []byte) { f.Data = own }},
		// Flow too: a frame goes back to its own flow's pool.
		{"flow", func(f *Frame, _ []byte) { f.Flow = 7 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			rx, err := Listen("pcap:"+name, sess, &ListenConfig{FrameBuffers: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			own := make([]byte, size)
			var kept *Frame
			got := 0
			for f, err := range rx.Frames(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if got++; got == n {
					break
				}
				if got == n-1 {
					// Kept as it came, while the last frame arrives.
					if !f.Keep() {
						t.Fatal("Keep")
					}
					kept = f
					continue
				}
				c.change(f, own)
			}
			if got != n || rx.Stats(0).Dropped != 0 {
				t.Fatalf("%d frames of %d; %+v", got, n, rx.Stats(0))
			}
			if i := n - 2; !bytes.Equal(kept.Data, frames[(i%2)*size:][:size]) {
				t.Errorf("kept frame %d changed after its loop body returned", i)
			}
			if !bytes.Equal(own, make([]byte, size)) {
				t.Error("the receiver wrote into the caller's own buffer")
			}
		})
	}
}

// A reader of one path of two that fails alone (the other path carries
// its flows) leaves its error in Err, named by its path: over UDP the
// reader's error names only the port, which both paths may share.
func TestDupOnePathErrNamesPath(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	down := errors.New("st2110: udp port 5004: read: down")
	for p, want := range []string{"path 0 (udp:eth0)", "path 1 (udp:eth1)"} {
		rx, err := newReceiver("udp:eth0", sess, &ListenConfig{Second: "udp:eth1"})
		if err != nil {
			t.Fatal(err)
		}
		paths := [2]readersOf{{flowReader{fl: []int{0}}}, {flowReader{fl: []int{0}}}}
		paths[p] = readersOf{flowReader{fl: []int{0}, err: down}}
		if err := rx.start(&pathsRx{a: paths[0], b: paths[1]}); err != nil {
			t.Fatal(err)
		}
		var got error
		for deadline := time.Now().Add(20 * time.Second); got == nil && time.Now().Before(deadline); got = rx.Err() {
			time.Sleep(time.Millisecond)
		}
		if !errors.Is(got, down) || !strings.Contains(got.Error(), want) {
			t.Errorf("path %d failed: Err %v, want it named %q", p, got, want)
		}
		select {
		case <-rx.Done():
			t.Errorf("the receiver stopped, although the other path has the flow")
		default:
		}
		rx.Close()
	}
}

// A receiver of two paths is done once Close has returned: its expiry
// goroutine (dupRx.expireLoop, which reads the clock a few times per
// window while the readers wait) has ended too, as a user that closes
// the receiver and then its PHC expects. Here that goroutine is caught
// in a read of the clock as Close is called. Before, Close waited for
// the readers only and returned with the read still held, and the
// goroutine then read the clock once more.
func TestDupCloseWaitsExpiry(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	var (
		shut    atomic.Bool // hold the next read
		after   atomic.Bool // Close has returned
		late    atomic.Int32
		left    atomic.Bool // the held read has returned
		once    sync.Once
		entered = make(chan struct{})
		open    = make(chan struct{})
	)
	clk := &Clock{src: ClockPHC, leap: 37e9, phc: "/dev/held", phcNow: func() (int64, error) {
		if after.Load() {
			late.Add(1)
		}
		if shut.Load() {
			once.Do(func() {
				close(entered)
				<-open
				left.Store(true)
			})
		}
		return time.Now().UnixNano() + 37e9, nil
	}}
	rx, err := newReceiver("vale0:a", sess, &ListenConfig{Second: "vale1:b", Clock: clk, MergeWindow: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Readers that read nothing, and not the clock: the expiry goroutine
	// is the clock's only reader.
	if err := rx.start(&pathsRx{a: readersOf{flowReader{}}, b: readersOf{flowReader{}}}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	shut.Store(true)
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the expiry goroutine did not read the clock in 10 s")
	}
	closed := make(chan bool, 1)
	go func() {
		rx.Close()
		l := left.Load()
		after.Store(true)
		closed <- l
	}()
	select {
	case <-closed:
		close(open)
		t.Fatal("Close returned while the expiry goroutine was reading the clock")
	case <-time.After(100 * time.Millisecond):
	}
	close(open)
	if l := <-closed; !l {
		t.Error("Close returned before the expiry goroutine's read of the clock")
	}
	if err := rx.Close(); err != nil { // again: returns at once
		t.Errorf("second Close: %v", err)
	}
	// A goroutine left running would read the clock every millisecond.
	time.Sleep(20 * time.Millisecond)
	if n := late.Load(); n != 0 {
		t.Errorf("%d reads of the clock after Close returned", n)
	}
}
