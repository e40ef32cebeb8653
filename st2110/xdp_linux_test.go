//go:build linux

package st2110

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/video"
)

// The AF_XDP transport over a veth pair between two network namespaces
// (internal/xdptest): they run with NMTEST_XDP=1 (as root; without root
// that is a failure) and skip without it.

// listenIn is Listen inside network namespace ns (the socket and the XDP
// program belong to it).
func listenIn(t testing.TB, ns, name string, sess *video.Session, cfg *ListenConfig) *Receiver {
	t.Helper()
	var rx *Receiver
	if err := xdptest.In(ns, func() (err error) {
		rx, err = Listen(name, sess, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rx
}

// dialIn is Dial inside network namespace ns.
func dialIn(t testing.TB, ns, name string, sess *video.Session, cfg *SendConfig) *Sender {
	t.Helper()
	var tx *Sender
	if err := xdptest.In(ns, func() (err error) {
		tx, err = Dial(name, sess, cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestXDPRoundTrip: Dial over AF_XDP on one end of a veth pair, Listen
// over AF_XDP on the other: three flows (two groups on one port, one
// source-specific) of random frames, byte for byte, nothing lost; the
// frames carry the sending link's MAC address; Close detaches the XDP
// program and leaves no file descriptor behind.
func TestXDPRoundTrip(t *testing.T) {
	p := xdptest.NewPair(t)
	fds := xdptest.FDs(t)
	sess := session("", flow(fmtSD, "239.1.1.1:5004", ""), flow(fmtSD, "239.1.1.2:5004", ""), flow(fmtSmall, "239.1.1.3:5006", p.IPA.String()))
	const n = 6
	frames := [][]byte{randomFrames(fmtSD, n, 1), randomFrames(fmtSD, n, 2), randomFrames(fmtSmall, n, 3)}
	var srcs []video.FrameSource
	for k := range frames {
		srcs = append(srcs, loopOf(t, sess.Streams[k].Format, frames[k]))
	}
	// A UMEM of 64 MiB (32768 frames) holds every packet of the test
	// (11712), so a receiver that the race detector and a busy host keep
	// from its CPU for a while loses none: what is tested is the transport.
	rx := listenIn(t, p.NsB, "xdp:"+p.B, sess, &ListenConfig{ReadBuffer: 64 << 20})
	defer rx.Close()
	if x := xdptest.XDP(t, p.NsB, p.B); x == "" {
		t.Fatal("Listen attached no XDP program")
	}
	// The source address is A's own (the NIC's), the flows' MAC addresses
	// their groups'.
	// At 20,000 packets a second (the schedule stretched): a receiver
	// slowed by the race detector on a busy host keeps up.
	tx := dialIn(t, p.NsA, "xdp:"+p.A+"-0", sess, &SendConfig{Sources: srcs, Count: n, MaxRate: 20000, MaxLag: -1})
	for k, f := range tx.Flows() {
		if f.Source != p.IPA {
			t.Errorf("flow %d: source %v, want A's address %v", k, f.Source, p.IPA)
		}
	}
	wait := runSender(t, tx)
	got := collect(t, rx, n, 30*time.Second)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for k := range frames {
		t.Logf("flow %d: sent %+v", k, tx.Stats(k))
	}
	for k := range frames {
		st := rx.Stats(k)
		if !bytes.Equal(got[k], frames[k]) || st.Lost != 0 {
			t.Errorf("flow %d: %d octets of %d, %+v", k, len(got[k]), len(frames[k]), st)
		}
	}
	if o := rx.Other(); o != 0 {
		t.Errorf("%d packets of no flow", o)
	}
	if err := tx.Close(); err != nil {
		t.Errorf("sender close: %v", err)
	}
	if err := rx.Close(); err != nil {
		t.Errorf("receiver close: %v", err)
	}
	if x := xdptest.XDP(t, p.NsB, p.B); x != "" {
		t.Errorf("XDP program left attached after Close: %s", x)
	}
	// The UMEM and ring mappings go with the garbage collector; the file
	// descriptors at once.
	runtime.GC()
	if n := xdptest.FDs(t); n != fds {
		t.Errorf("%d file descriptors open after Close, %d before", n, fds)
	}
}

// TestXDPSenderSleeps: an AF_XDP sender sleeps to its send times on its
// own thread in clock_nanosleep(2) with 1 ns timer slack (threadSleeper),
// as a netmap sender does, not on Go's timers, which wake it up to a
// millisecond late: while Run runs, a thread of the process with that
// slack is seen in clock_nanosleep, and none had the slack before. (The
// slack alone would not tell: the sender's thread has it whichever way it
// waits.)
func TestXDPSenderSleeps(t *testing.T) {
	p := xdptest.NewPair(t)
	sess := session("", flow(fmtSD, "239.1.1.1:5004", ""))
	if tids := slackOne(t, false); len(tids) != 0 {
		t.Fatalf("threads %v have 1 ns timer slack before the sender runs", tids)
	}
	// 20,000 packets a second until cancelled (1,000 frames take 30 s).
	tx := dialIn(t, p.NsA, "xdp:"+p.A, sess, &SendConfig{Count: 1000, MaxRate: 20000, MaxLag: -1})
	defer tx.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- tx.Run(ctx) }()
	var tids []string
	for deadline := time.Now().Add(10 * time.Second); len(tids) == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		tids = slackOne(t, true)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Without a priority, its sleeps give the P to the runtime now and
	// then (one a millisecond at most).
	if tx.parts[0].sleep.handOffs() == 0 {
		t.Error("the AF_XDP sender's sleeps never gave its P to the runtime")
	}
	if len(tids) == 0 {
		t.Fatalf("no thread with 1 ns timer slack was seen in clock_nanosleep in 10 s while the AF_XDP sender ran (%d packets sent): it does not sleep in clock_nanosleep on its thread", tx.Stats(0).Packets)
	}
}

// TestXDPReaderHandsOff: an AF_XDP reader lets the process's other
// goroutines run on its P once a millisecond on the receiver's clock
// (xsk.Idler.NextBatchAt: a sleep in poll(2) gives the P to the runtime,
// a linger yields it before): a poll(2) through the runtime's system call
// path keeps the P unless its monitor sees the one call span two of its
// looks, which a reader woken every few packets never makes, and a linger
// is a raw system call. (That a wait told to do so does is xsk's test.)
func TestXDPReaderHandsOff(t *testing.T) {
	for _, linger := range []time.Duration{0, 100 * time.Microsecond} {
		p := xdptest.NewPair(t)
		sess := session("", flow(fmtSD, "239.1.1.1:5004", ""))
		t0 := time.Now()
		rx := listenIn(t, p.NsB, "xdp:"+p.B, sess, &ListenConfig{Linger: linger})
		frames := drainFrames(rx)
		tx := dialIn(t, p.NsA, "xdp:"+p.A, sess, &SendConfig{Count: 1000, MaxRate: 20000, MaxLag: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := tx.Run(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		tx.Close()
		closeDrained(rx, frames) // the reader has ended
		el := time.Since(t0)
		w := rx.tr.readers()[0].(*ringReader).kernel.(*xskWaiter)
		n, max := w.idle.HandOffs(), uint64(el/time.Millisecond)+1
		t.Logf("Linger %v: %d packets, %d of the reader's waits let others run in %v", linger, rx.Stats(0).Packets, n, el)
		if rx.Stats(0).Packets == 0 {
			t.Fatalf("Linger %v: no packet received", linger)
		}
		if n == 0 || n > max {
			t.Errorf("Linger %v: %d of the reader's waits let others run in %v, want one a millisecond at most, and some", linger, n, el)
		}
	}
}

// slackOne returns the ids of the process's threads whose timer slack is
// 1 ns, and, if sleeping, that are in clock_nanosleep(2) at the moment.
// Reading another thread's slack needs CAP_SYS_NICE (root has it, unless a
// container took it away): without it the test fails, saying so.
func slackOne(t *testing.T, sleeping bool) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var tids []string
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/timerslack_ns")
		switch {
		case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH):
			continue // a thread that ended meanwhile
		case err != nil:
			t.Fatalf("reading thread %s's timer slack (another thread's needs CAP_SYS_NICE): %v", e.Name(), err)
		case string(b) != "1\n":
			continue
		}
		if sleeping {
			// The system call the thread is in: its number first, or
			// "running".
			b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/syscall")
			if err != nil {
				continue // ended meanwhile
			}
			if f := strings.Fields(string(b)); len(f) == 0 || f[0] != strconv.Itoa(syscall.SYS_CLOCK_NANOSLEEP) {
				continue
			}
		}
		tids = append(tids, e.Name())
	}
	return tids
}

// TestXDPAllocs: the AF_XDP transport's send path (Step into the TX
// queue, the kicks) and receive path (a reader's pass: clock, Drain,
// demultiplexer, depacketizer, frames handed to the consumer, who loops
// over Frames meanwhile; then its kernel side, which lingers after a
// partial batch, ListenConfig.Linger) allocate nothing, on real sockets.
func TestXDPAllocs(t *testing.T) {
	p := xdptest.NewPair(t)
	sess := session("10.199.0.1", flow(fmtSD, "239.1.1.1:5004", ""), flow(fmtSD, "239.1.1.2:5004", ""))
	rx, err := newReceiver("xdp:"+p.B, sess, &ListenConfig{Linger: 10 * time.Microsecond, Batch: 1024}) // a round brings 512: partial batches
	if err != nil {
		t.Fatal(err)
	}
	var tr rxTransport
	if err := xdptest.In(p.NsB, func() (err error) {
		tr, err = openXDPRx(&rx.ep, &rx.cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rd := tr.readers()[0].(*ringReader)
	if w, ok := rd.kernel.(*xskWaiter); !ok || w.idle.Linger != 10*time.Microsecond {
		t.Fatalf("the reader's waiter is %#v: ListenConfig.Linger did not reach it", rd.kernel)
	}
	// The test drives the reader's pass itself; the transport is closed
	// with the receiver.
	if err := rx.start(&xdpTestRx{xdpRx: tr.(*xdpRx), rd: &idleReader{}}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	frames := drainFrames(rx)
	tx := dialIn(t, p.NsA, "xdp:"+p.A, sess, nil)
	defer tx.Close()
	part := tx.parts[0]
	if err := part.tx.Start(tx.clock.Now(), 0); err != nil {
		t.Fatal(err)
	}
	sink := rx.sinks[0]
	var sent, got, lingers int
	round := func() {
		// Send what is due on a virtual clock 5 ms ahead of the next
		// packet, eight steps of 64 packets, and receive it: the veth
		// delivers in the peer's NAPI, a moment later.
		for range 8 {
			n, _, err := tx.step(context.Background(), part, part.tx.Next()+int64(5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			sent += n
		}
		for deadline := time.Now().Add(5 * time.Second); got < sent && time.Now().Before(deadline); {
			n, full, err := rd.pass(sink)
			if err != nil {
				t.Fatal(err)
			}
			if got += n; n == 0 {
				runtime.Gosched()
				continue
			}
			if !full {
				lingers++
			}
			if err := rd.kernel.next(n, full, uint64(n)*estFrame, sink.lastAt); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 50 {
		round()
	}
	if n := testing.AllocsPerRun(200, round); n != 0 {
		t.Errorf("%v allocations per round of 512 packets", n)
	}
	if got != sent || lingers == 0 {
		t.Errorf("%d packets sent, %d received, %d lingers", sent, got, lingers)
	}
	if n := closeDrained(rx, frames); n == 0 || rx.Stats(0).Lost != 0 || rx.Stats(1).Delivered == 0 {
		t.Errorf("%d frames reached the consumer; %+v", n, rx.Stats(0))
	}
	for k := range 2 {
		st := rx.Stats(k)
		t.Logf("flow %d: %d packets, %d frames complete, %d handed out, %d dropped (the consumer held every buffer)", k, st.Packets, st.Complete, st.Delivered, st.Dropped)
	}
}

// TestXDPLingerClose: Close while the reader lingers returns at once
// after the linger under way: a flow at 20,000 packets a second and a
// linger of MaxLinger (the reader is in a linger most of the time, 20
// packets gathering in each), and Close after the first frame.
func TestXDPLingerClose(t *testing.T) {
	p := xdptest.NewPair(t)
	sess := session("", flow(fmtSD, "239.1.1.1:5004", ""))
	frames := randomFrames(fmtSD, 2, 1)
	rx := listenIn(t, p.NsB, "xdp:"+p.B, sess, &ListenConfig{Linger: MaxLinger})
	defer rx.Close()
	if w, ok := rx.tr.readers()[0].(*ringReader).kernel.(*xskWaiter); !ok || w.idle.Linger != MaxLinger {
		t.Fatalf("the reader's waiter is %#v: ListenConfig.Linger did not reach it", rx.tr.readers()[0].(*ringReader).kernel)
	}
	tx := dialIn(t, p.NsA, "xdp:"+p.A, sess, &SendConfig{Sources: []video.FrameSource{loopOf(t, sess.Streams[0].Format, frames)}, MaxRate: 20000, MaxLag: -1})
	defer tx.Close()
	wait := runSender(t, tx)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, err := range rx.Frames(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if ctx.Err() != nil {
		t.Fatal("no frame in 30 s")
	}
	t0 := time.Now()
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	// A linger (1 ms) and a pass, then the reader sees its context done:
	// a second leaves room for a loaded host.
	if el := time.Since(t0); el > time.Second {
		t.Errorf("Close took %v while the reader lingered %v at a time", el, MaxLinger)
	} else {
		t.Logf("Close took %v while the reader lingered %v at a time; %d packets in %d batches", el, MaxLinger, rx.Stats(0).Packets, rx.Batches())
	}
	tx.Close()
	wait()
	if x := xdptest.XDP(t, p.NsB, p.B); x != "" {
		t.Errorf("XDP program left attached after Close: %s", x)
	}
}

// xdpTestRx is an AF_XDP transport whose reader the test drives.
type xdpTestRx struct {
	*xdpRx
	rd rxReader
}

func (x *xdpTestRx) readers() []rxReader { return []rxReader{x.rd} }

// TestXDPNames: Listen and Dial name the socket that failed.
func TestXDPNames(t *testing.T) {
	xdptest.Require(t)
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	for _, name := range []string{"xdp:nmx2-none", "xdp:lo-3"} {
		if _, err := Listen(name, sess, nil); err == nil || !bytes.Contains([]byte(err.Error()), []byte(name)) {
			t.Errorf("Listen %s: %v, want an error naming it", name, err)
		}
		if _, err := Dial(name, sess, nil); err == nil || !bytes.Contains([]byte(err.Error()), []byte(name)) {
			t.Errorf("Dial %s: %v, want an error naming it", name, err)
		}
	}
}

// policySource is a frame source that records the scheduling policy and
// real-time priority of the thread each frame is asked for on: the
// sender's.
type policySource struct {
	video.FrameSource
	t    *testing.T
	mu   sync.Mutex
	seen map[[2]int]int
}

func (s *policySource) Frame(n uint64) []byte {
	p, r := threadSched(s.t)
	s.mu.Lock()
	s.seen[[2]int{p, r}]++
	s.mu.Unlock()
	return s.FrameSource.Frame(n)
}

// TestXDPPriority: an AF_XDP sender with SendConfig.Priority writes its
// frames on a thread under SCHED_FIFO at that priority, and after Run no
// thread of the process is left at a real-time policy (the thread went
// back to the runtime with its own scheduling, or was ended).
func TestXDPPriority(t *testing.T) {
	p := xdptest.NewPair(t)
	sess := session("", flow(fmtSD, "239.1.1.1:5004", ""))
	src := &policySource{FrameSource: loopOf(t, fmtSD, randomFrames(fmtSD, 2, 1)), t: t, seen: map[[2]int]int{}}
	tx := dialIn(t, p.NsA, "xdp:"+p.A+"-0", sess, &SendConfig{Sources: []video.FrameSource{src}, Count: 40, MaxRate: 20000, Priority: 10})
	defer tx.Close()
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	seen := maps.Clone(src.seen)
	src.mu.Unlock()
	if len(seen) != 1 || seen[[2]int{1, 10}] == 0 {
		t.Errorf("frames asked for at (policy, priority): %v, want all at SCHED_FIFO (1) 10", seen)
	}
	// At a real-time priority the sender keeps its P through every sleep
	// (threadSleeper.keepP).
	if n := tx.parts[0].sleep.handOffs(); n != 0 {
		t.Errorf("a sender at SCHED_FIFO gave its P to the runtime in %d sleeps, want none", n)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads: %v %v", tasks, err)
	}
	for _, task := range tasks {
		if _, err := os.Stat(task); err != nil {
			continue // ended meanwhile
		}
		if p, r := taskSched(t, task); p != 0 {
			t.Errorf("%s after Run: policy %d priority %d, want SCHED_OTHER", task, p, r)
		}
	}
}
