package st2110

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/nmgo/nmgo/video"
)

// runSender runs tx in a goroutine; wait returns Run's error.
func runSender(t testing.TB, tx *Sender) (wait func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- tx.Run(context.Background()) }()
	return func() error {
		select {
		case err := <-errc:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("Run did not return within 30 s")
		}
	}
}

// Over UDP on the loopback interface: flows to two addresses on one port
// (127.0.0.1 and 127.0.0.2, told apart by IP_PKTINFO) and a third on
// another port arrive byte for byte.
func TestUDPLoopback(t *testing.T) {
	p := freePorts(t, 2) // and p+1
	sess := session("",
		flow(fmtSD, fmt.Sprintf("127.0.0.1:%d", p), ""),
		flow(fmtSD, fmt.Sprintf("127.0.0.2:%d", p), ""),
		flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p+1), ""))
	const n = 3
	frames := [][]byte{randomFrames(fmtSD, n, 1), randomFrames(fmtSD, n, 2), randomFrames(fmtSmall, n, 3)}
	rx, err := Listen("udp", sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	var srcs []video.FrameSource
	for k := range frames {
		srcs = append(srcs, loopOf(t, sess.Streams[k].Format, frames[k]))
	}
	tx, err := Dial("udp", sess, &SendConfig{Sources: srcs, Count: n, MaxRate: 100e3, MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	wait := runSender(t, tx)
	got := collect(t, rx, n, 20*time.Second)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	for k := range frames {
		st := rx.Stats(k)
		if !bytes.Equal(got[k], frames[k]) {
			t.Errorf("flow %d: %d octets, not the %d sent; %+v", k, len(got[k]), len(frames[k]), st)
		}
		if st.Port != uint16(p)+uint16(k/2) {
			t.Errorf("flow %d on port %d", k, st.Port)
		}
	}
	if rx.Other() != 0 {
		t.Errorf("%d datagrams of no flow", rx.Other())
	}
}

// The transport's udp:ADDR:PORT puts flow k on PORT+k, for sender and
// receiver alike; a unicast sender without a listener goes on sending.
func TestUDPAddressAndNoListener(t *testing.T) {
	p := freePorts(t, 2) // flow 1 on p+1
	sess := session("", flow(fmtSmall, "", ""), flow(fmtSmall, "", ""))
	name := fmt.Sprintf("udp:127.0.0.1:%d", p)
	rx, err := Listen(name, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := randomFrames(fmtSmall, 2, 9)
	tx, err := Dial(name, sess, &SendConfig{Source: loopOf(t, fmtSmall, frames), Count: 2, MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	if fs := tx.Flows(); fs[1].Dst.Port() != p+1 {
		t.Errorf("flow 1 goes to %v", fs[1].Dst)
	}
	wait := runSender(t, tx)
	got := collect(t, rx, 2, 10*time.Second)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	tx.Close()
	rx.Close()
	if !bytes.Equal(got[0], frames) || !bytes.Equal(got[1], frames) {
		t.Errorf("flows got %d and %d octets of %d", len(got[0]), len(got[1]), len(frames))
	}
	// Nobody listens now: every packet still goes, and Run ends well.
	tx, err = Dial(name, sess, &SendConfig{Count: 5, MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := tx.Run(context.Background()); err != nil {
		t.Fatalf("without a listener: %v", err)
	}
	if st := tx.Stats(0); st.Frames != 5 || st.Packets != 5*32 {
		t.Errorf("without a listener: %+v", st)
	}
}

// flushTx opens a UDP sender's socket with a batch of 8 datagrams, to a
// port of 127.0.0.1, for tests of flush through its sendHook.
func flushTx(t *testing.T) *udpTx {
	t.Helper()
	sess := session("", flow(fmtSmall, "127.0.0.1:9", ""))
	ep, _ := parseName("udp")
	fs, _ := flows(sess, &ep, true)
	q, err := openUDPTx(&ep, fs, &SendConfig{Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.close() })
	return q
}

// flush counts the errors of a full device queue and of a unicast peer
// that does not listen, and goes on.
func TestUDPFlushErrors(t *testing.T) {
	q := flushTx(t)
	for _, tc := range []struct {
		errs            []error
		noBufs, refused uint64
		fail            bool
	}{
		{[]error{errRefused, nil}, 0, 1, false},
		{[]error{errNoBufs, errNoBufs, nil}, 0, 0, false},
		{repeat(errNoBufs, 1000), 8, 0, false},
		{[]error{errors.New("boom")}, 0, 0, true},
	} {
		q.cnt.noBufs.Store(0)
		q.cnt.refused.Store(0)
		calls := 0
		q.sendHook = func(from int) (int, error) {
			err := tc.errs[min(calls, len(tc.errs)-1)]
			calls++
			if err != nil {
				return 0, err
			}
			return 8 - from, nil
		}
		q.mm.pending = 8
		err := q.flush(context.Background())
		if (err != nil) != tc.fail || q.cnt.noBufs.Load() != tc.noBufs || q.cnt.refused.Load() != tc.refused {
			t.Errorf("%v: error %v, %d no buffers, %d refused", tc.errs[0], err, q.cnt.noBufs.Load(), q.cnt.refused.Load())
		}
	}
}

var errRefused, errNoBufs error = syscall.ECONNREFUSED, syscall.ENOBUFS

// A flush retrying a full device queue (ENOBUFS) stops once its context
// has ended: it returns the context's error, at the next retry, and
// counts what it did not send.
func TestUDPFlushContext(t *testing.T) {
	q := flushTx(t)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	q.sendHook = func(from int) (int, error) {
		if calls++; calls == 3 {
			cancel() // while the queue stays full
		}
		if from == 0 {
			return 2, errNoBufs
		}
		return 0, errNoBufs
	}
	q.mm.pending = 8
	if err := q.flush(ctx); !errors.Is(err, context.Canceled) || calls != 3 || q.cnt.noBufs.Load() != 6 {
		t.Errorf("flush: %v after %d sends, %d counted; want context.Canceled after 3, 6 counted", err, calls, q.cnt.noBufs.Load())
	}
	if q.mm.pending != 0 {
		t.Errorf("%d datagrams still pending", q.mm.pending)
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

// A consumer that holds every buffer of a live flow makes the receiver
// drop frames, counted; kept frames stay valid until released.
func TestFramesKeepAndDrop(t *testing.T) {
	p := freePort(t)
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""))
	rx, err := Listen("udp", sess, &ListenConfig{FrameBuffers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	frames := randomFrames(fmtSmall, 8, 3)
	tx, err := Dial("udp", sess, &SendConfig{Source: loopOf(t, fmtSmall, frames), Count: 8, MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var kept []*Frame
	var copies [][]byte
	wait := runSender(t, tx)
	for f, err := range rx.Frames(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		f.Keep()
		kept, copies = append(kept, f), append(copies, bytes.Clone(f.Data))
		if len(kept) == 2 {
			break
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	// Both buffers are held: every later frame is dropped.
	deadline := time.Now().Add(5 * time.Second)
	for rx.Stats(0).Delivered < 8 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := rx.Stats(0)
	if st.Dropped == 0 || st.Dropped+2 != st.Delivered {
		t.Errorf("%d frames delivered, %d dropped with both buffers held", st.Delivered, st.Dropped)
	}
	for i, f := range kept {
		if !bytes.Equal(f.Data, copies[i]) {
			t.Errorf("kept frame %d changed", i)
		}
		f.Release()
	}
}

// Close ends a Frames loop and leaves the groups; Frames ends when its
// context does.
func TestFramesEnd(t *testing.T) {
	p := freePort(t)
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""))
	rx, err := Listen("udp", sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	for range rx.Frames(ctx) {
		t.Fatal("a frame from nowhere")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range rx.Frames(context.Background()) {
		}
	}()
	// The loop waits for a frame (a Close that came earlier would not
	// test that it ends the wait).
	waitBlocked(t, "select", "(*Receiver).Frames.") // its iterator, maybe inlined
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := rx.Close(); err != nil || rx.Err() != nil {
		t.Errorf("second Close %v, Err %v", err, rx.Err())
	}
	// The port is free again.
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv4Unspecified(), p)))
	if err != nil {
		t.Fatalf("port %d still taken: %v", p, err)
	}
	c.Close()
}

// The UDP receive path allocates nothing per datagram or per frame:
// recvmmsg into preallocated buffers, the demultiplexer, the depacketizer,
// the hand-over to the consumer and the consumer's loop; with a PHC, the
// read deadline that makes an idle reader read it (clockWatch) too.
func TestUDPReceiveAllocs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("batched, allocation-free socket reads are Linux's (recvmmsg)")
	}
	t.Run("system-clock", func(t *testing.T) { testUDPReceiveAllocs(t, nil) })
	var gone atomic.Bool // never set
	t.Run("phc", func(t *testing.T) { testUDPReceiveAllocs(t, goneClock(&gone)) })
}

func testUDPReceiveAllocs(t *testing.T, clk *Clock) {
	p := freePort(t)
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""), flow(fmtSmall, fmt.Sprintf("127.0.0.2:%d", p), ""))
	rx, err := Listen("udp", sess, &ListenConfig{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// The packets of two frames of both flows per round, sent with a
	// plain socket (WriteToUDPAddrPort does not allocate), each round
	// with later timestamps and sequence numbers.
	const rounds = 22
	all := rtpDatagrams(t, sess, 2*rounds)
	per := len(all) / rounds
	conn, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frames := drainFrames(rx)
	var sent uint64
	round := 0
	send := func() {
		for _, d := range all[round*per : (round+1)*per] {
			if _, err := conn.WriteToUDPAddrPort(d.payload, d.dst); err != nil {
				t.Fatal(err)
			}
			sent++
		}
		round++
		deadline := time.Now().Add(10 * time.Second)
		for rx.Stats(0).Packets+rx.Stats(1).Packets < sent {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d datagrams received", rx.Stats(0).Packets+rx.Stats(1).Packets, sent)
			}
			runtime.Gosched()
		}
	}
	send() // the first frames allocate nothing either, but warm up
	if n := testing.AllocsPerRun(20, send); n != 0 {
		t.Errorf("%v allocations per round of %d datagrams", n, per)
	}
	if n := closeDrained(rx, frames); n == 0 {
		t.Error("no frames reached the consumer")
	}
	if st := rx.Stats(0); st.Delivered == 0 || st.Lost != 0 {
		t.Errorf("%+v", st)
	}
}

// The UDP send path allocates nothing per packet: Step into the
// sendmmsg batch and flush.
func TestUDPSendAllocs(t *testing.T) {
	p := freePort(t)
	sess := session("", flow(fmtSD, fmt.Sprintf("127.0.0.1:%d", p), ""))
	tx, err := Dial("udp", sess, &SendConfig{Count: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	part := tx.parts[0]
	now := tx.clock.Now()
	if err := part.tx.Start(now, 0); err != nil {
		t.Fatal(err)
	}
	step := func() {
		now = part.tx.Next()
		if _, _, err := part.tx.Step(part.q, now, 64); err != nil {
			t.Fatal(err)
		}
		if err := part.q.flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		tx.publish(part)
	}
	step()
	if n := testing.AllocsPerRun(200, step); n != 0 {
		t.Errorf("%v allocations per step", n)
	}
}

// datagram is an RTP packet and where it goes.
type datagram struct {
	dst     netip.AddrPort
	payload []byte
}

// rtpDatagrams returns the RTP packets of n random frames of each flow
// of sess, the flows' packets interleaved, timestamped from now.
func rtpDatagrams(t testing.TB, sess *video.Session, n int) []datagram {
	t.Helper()
	var per [][]datagram
	tai := time.Now().UnixNano() + LeapSeconds*1e9
	for k, s := range sess.Streams {
		p, err := video.NewPacketizer(&s.Format, &video.PacketizerConfig{SSRC: uint32(k)})
		if err != nil {
			t.Fatal(err)
		}
		frames := randomFrames(s.Format, n, uint64(k))
		size := s.Format.FrameSize()
		var out []datagram
		for i := range n {
			if err := p.Frame(frames[i*size:(i+1)*size], tai+int64(i)*int64(s.Format.Rate.Period())); err != nil {
				t.Fatal(err)
			}
			for {
				buf := make([]byte, p.MaxPacketLen())
				l, err := p.Next(buf)
				if errors.Is(err, video.ErrNoFrame) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, datagram{s.Dst, buf[:l]})
			}
		}
		per = append(per, out)
	}
	var all []datagram
	for i := 0; ; i++ {
		more := false
		for _, d := range per {
			if i < len(d) {
				all, more = append(all, d[i]), true
			}
		}
		if !more {
			return all
		}
	}
}

// Close stops a running sender and waits for it; Run after Close fails.
// The sender is closed once it has handed on a few batches (a fixed head
// start was not enough on a busy host: Run's goroutine, or its first step,
// had not run yet). Close has waited for Run when the counts it leaves are
// Run's last (published as Run returns; the first batch's were published
// at once, the later ones are not until 100 ms have passed), nothing is
// handed on after it, and Run ends without the error a send on the closed
// socket would give.
func TestSenderCloseStopsRun(t *testing.T) {
	p := freePort(t)
	tx, err := Dial(fmt.Sprintf("udp:127.0.0.1:%d", p), session("", flow(fmtSmall, "", "")), nil)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- tx.Run(context.Background()) }()
	for deadline := time.Now().Add(30 * time.Second); tx.Batches() < 3; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Run handed on %d batches in 30 s", tx.Batches())
		}
	}
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	batches, st := tx.Batches(), tx.Stats(0)
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30 s of Close")
	}
	if st.Packets == 0 || st != tx.Stats(0) {
		t.Errorf("counts when Close returned: %+v; when Run returned: %+v", st, tx.Stats(0))
	}
	if b := tx.Batches(); b != batches {
		t.Errorf("%d batches when Close returned, %d after: Run went on sending", batches, b)
	}
	if err := tx.Run(context.Background()); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Run after Close: %v, want an error matching os.ErrClosed", err)
	}
}

// A UDP Batch beyond MaxUDPBatch (what one recvmmsg or sendmmsg call
// takes) fails in Listen and Dial naming the field, instead of being cut
// to it silently; a batch within it gets its buffers, charged to the
// Budget per socket, and one that does not fit the Budget fails naming
// the socket.
func TestUDPBatchBound(t *testing.T) {
	p := freePorts(t, 2) // and p+1
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""), flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p+1), ""))
	rx, err := Listen("udp", sess, &ListenConfig{Batch: MaxUDPBatch + 1})
	if err == nil {
		rx.Close()
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("ListenConfig.Batch %d: more than MaxUDPBatch", MaxUDPBatch+1)) {
		t.Errorf("Listen with a batch of %d: %v", MaxUDPBatch+1, err)
	}
	tx, err := Dial("udp", sess, &SendConfig{Batch: MaxUDPBatch + 1})
	if err == nil {
		tx.Close()
	}
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("SendConfig.Batch %d: more than MaxUDPBatch", MaxUDPBatch+1)) {
		t.Errorf("Dial with a batch of %d: %v", MaxUDPBatch+1, err)
	}

	frames := int64(4 * fmtSmall.FrameSize()) // each flow's pool
	for _, batch := range []int{0, 16, MaxUDPBatch} {
		b, _ := video.NewBudget(1 << 30)
		rx, err := Listen("udp", sess, &ListenConfig{Batch: batch, Budget: b})
		if err != nil {
			t.Fatalf("Listen with a batch of %d: %v", batch, err)
		}
		pools := b.Used()
		rx.Close()
		n := int64(batch)
		if n == 0 {
			n = 64
		}
		want := n * maxDatagram * 2 // two sockets, one per port
		if got := pools - 2*frames; got < want {
			t.Errorf("Listen with a batch of %d: %d octets charged besides the frame pools, want at least %d", batch, got, want)
		}
		b, _ = video.NewBudget(1 << 30)
		tx, err := Dial("udp", sess, &SendConfig{Batch: batch, Budget: b})
		if err != nil {
			t.Fatalf("Dial with a batch of %d: %v", batch, err)
		}
		if want /= 2; b.Used() < want {
			t.Errorf("Dial with a batch of %d: %d octets charged, want at least %d", batch, b.Used(), want)
		}
		tx.Close()
	}
	b, _ := video.NewBudget(2*frames + 64*maxDatagram) // the pools and one socket's batch, not two
	rx, err = Listen("udp", sess, &ListenConfig{Budget: b})
	if err == nil {
		rx.Close()
	}
	if !errors.Is(err, video.ErrBudget) || !strings.Contains(err.Error(), fmt.Sprintf("udp port %d: buffers of a batch of 64 datagrams", p+1)) {
		t.Errorf("Listen over the budget: %v", err)
	}
}

// A frame released twice goes back into its pool once.
func TestFrameReleaseTwice(t *testing.T) {
	p := freePort(t)
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""))
	rx, err := Listen("udp", sess, &ListenConfig{FrameBuffers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := Dial("udp", sess, &SendConfig{Count: 6, MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	wait := runSender(t, tx)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seen := map[*Frame]bool{}
	n := 0
	for f, err := range rx.Frames(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		f.Keep()
		f.Release()
		f.Release() // and the loop must not put it back a third time
		if len(rx.pools[0]) > 2 {
			t.Fatalf("%d frames in a pool of 2", len(rx.pools[0]))
		}
		seen[f] = true
		if n++; n == 5 {
			break
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if len(seen) > 2 {
		t.Errorf("%d distinct frames out of a pool of 2", len(seen))
	}
}

// spinUntil returns once the time has come, or soon when ctx is done, and
// counts what it spun.
func TestSpinUntil(t *testing.T) {
	clock, err := NewClock(nil)
	if err != nil {
		t.Fatal(err)
	}
	before := clock.Now()
	until := before + int64(300*time.Microsecond)
	spun := spinUntil(context.Background(), clock, until, time.Hour)
	after := clock.Now()
	if after < until {
		t.Errorf("returned %v early", time.Duration(until-after))
	}
	if spun <= 0 || spun > after-before {
		t.Errorf("counted %v of spinning in a call of %v", time.Duration(spun), time.Duration(after-before))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	spinUntil(ctx, clock, clock.Now()+int64(time.Hour), time.Hour)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a cancelled spin took %v", d)
	}
}

// A step of the TAI clock while spinUntil spins neither keeps it spinning
// for the step nor shows in what it counts: stepped back an hour, it
// spins to its limit on the monotonic clock (before, until its context
// ended: for the hour), and forward, it counts the time it spun, not the
// hour. The context's deadline, 20 s, is only the test's safety net, far
// above the limit of 5 ms it is expected back by: it must return with the
// context alive. The clock is a PHC that reads the system clock and steps
// at its third read, inside the spin. It spins allocating nothing.
func TestSpinUntilClockSteps(t *testing.T) {
	const limit = 5 * time.Millisecond
	for _, step := range []time.Duration{-time.Hour, time.Hour} {
		reads := 0
		clock := &Clock{src: ClockPHC, leap: 37e9, phc: "/dev/stepped", phcNow: func() (int64, error) {
			reads++
			now := time.Now().UnixNano() + 37e9
			if reads >= 3 {
				now += int64(step)
			}
			return now, nil
		}}
		until := clock.Now() + int64(time.Hour) // not reached before the step, however late the spin starts
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		start := time.Now()
		spun := spinUntil(ctx, clock, until, limit)
		took := time.Since(start)
		err := ctx.Err()
		cancel()
		t.Logf("clock stepped %v: spun %v in %v, %d reads", step, time.Duration(spun), took, reads)
		if err != nil {
			t.Errorf("clock stepped %v: the spin ran until its context ended (%v, after %v), not to its limit of %v", step, err, took, limit)
		}
		if reads < 3 {
			t.Fatalf("clock stepped %v: %d reads of the clock, want the third (the step) among them", step, reads)
		}
		if spun <= 0 || spun > int64(took) {
			t.Errorf("clock stepped %v: counted %v of spinning in a call of %v", step, time.Duration(spun), took)
		}
		if step < 0 && spun < int64(limit) {
			t.Errorf("clock stepped %v: counted %v, short of the limit %v the spin can only have ended by", step, time.Duration(spun), limit)
		}
	}
	clock, err := NewClock(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n := testing.AllocsPerRun(20, func() { spinUntil(ctx, clock, clock.Now()+int64(20*time.Microsecond), limit) }); n != 0 {
		t.Errorf("spinUntil allocates %v times a spin", n)
	}
}

// A sender with SendConfig.Spin spins for the end of its waits and says
// how long (Spun); without it, it does not spin. Batches counts the
// sendmmsg calls. With a Spin of a frame period no wait is slept (none is
// longer), so some spinning is certain; with 2 ms the timer that ends the
// sleep may fire later than the packet was due on a busy host, leaving
// nothing to spin, so only the bound is checked there.
func TestSenderSpin(t *testing.T) {
	p := freePort(t)
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""))
	period := fmtSmall.Rate.Period()
	for _, spin := range []time.Duration{0, 2 * time.Millisecond, period} {
		tx, err := Dial("udp", sess, &SendConfig{Count: 5, Spin: spin, MaxLag: -1})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := tx.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		tx.Close()
		st := tx.Stats(0)
		t.Logf("spin %v: %d packets in %d batches, %v spun in %v", spin, st.Packets, tx.Batches(), tx.Spun(), took)
		if st.Frames != 5 || tx.Batches() == 0 || tx.Batches() > st.Packets {
			t.Errorf("spin %v: %+v in %d batches", spin, st, tx.Batches())
		}
		switch {
		case spin == 0 && tx.Spun() != 0:
			t.Errorf("spun %v without SendConfig.Spin", tx.Spun())
		case spin > 0 && (tx.Spun() < 0 || tx.Spun() > took):
			t.Errorf("spin %v: spun %v in a run of %v", spin, tx.Spun(), took)
		case spin == period && tx.Spun() == 0:
			t.Errorf("spin %v (a frame period): nothing spun in a run of %v", spin, took)
		}
	}
}

// TestUDPSecondLegTTL: a UDP second path's socket sends its legs with one
// multicast TTL, the largest they give, and the session says so.
func TestUDPSecondLegTTL(t *testing.T) {
	p := freePort(t)
	a := flow(fmtSmall, fmt.Sprintf("239.1.1.1:%d", p), "")
	a.Second = video.Leg{Dst: netip.MustParseAddrPort(fmt.Sprintf("239.2.2.1:%d", p+2)), TTL: 3}
	b := flow(fmtSmall, fmt.Sprintf("239.1.1.2:%d", p), "")
	b.Second = video.Leg{Dst: netip.MustParseAddrPort(fmt.Sprintf("239.2.2.2:%d", p+2)), TTL: 32}
	tx, err := Dial("udp", session("", a, b), &SendConfig{Second: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	mttl, err := ipv4.NewPacketConn(tx.parts[0].q.(*dupTx).b.(*udpTx).conn).MulticastTTL()
	if err != nil {
		t.Fatal(err)
	}
	if mttl != 32 {
		t.Errorf("the second path's socket sends with multicast TTL %d, want 32 (the largest of its legs)", mttl)
	}
	for k, st := range tx.Session().Streams {
		if st.Second.TTL != mttl {
			t.Errorf("flow %d: the session says its second leg has TTL %d, sent with %d", k, st.Second.TTL, mttl)
		}
	}
}

// A UDP sender's one socket gives multicast flows the TTL of the
// multicast flows (the SDP's c= .../TTL) and unicast flows the TTL of
// the unicast ones, not the first flow's to all; flows of one kind whose
// TTLs differ share the socket's one TTL, the largest, which the Sender's
// session then gives them.
func TestUDPSenderTTL(t *testing.T) {
	p := freePort(t)
	plain, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defaultTTL, err := ipv4.NewPacketConn(plain).TTL()
	plain.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := flow(fmtSmall, fmt.Sprintf("239.1.1.1:%d", p), "")
	m.TTL = 3
	u := flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p+1), "")
	tx, err := Dial("udp", session("", m, u), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	pc := ipv4.NewPacketConn(tx.parts[0].q.(*udpTx).conn)
	mttl, err1 := pc.MulticastTTL()
	uttl, err2 := pc.TTL()
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if mttl != 3 || uttl != defaultTTL {
		t.Errorf("multicast TTL %d, unicast TTL %d; want 3 (the multicast flow's) and %d (the kernel's default)", mttl, uttl, defaultTTL)
	}
	if got := tx.Session().Streams[0].TTL; got != 3 {
		t.Errorf("the SDP says TTL %d for the multicast flow", got)
	}
	m2 := flow(fmtSmall, fmt.Sprintf("239.1.1.2:%d", p), "")
	m2.TTL = 32
	// Two multicast flows of TTL 3 and 32 on one socket, a unicast one of
	// none: both multicast flows go with 32, which the session says.
	tx2, err := Dial("udp", session("", m, m2, u), &SendConfig{TTL: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Close()
	pc2 := ipv4.NewPacketConn(tx2.parts[0].q.(*udpTx).conn)
	mttl, err1 = pc2.MulticastTTL()
	uttl, err2 = pc2.TTL()
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if mttl != 32 || uttl != defaultTTL {
		t.Errorf("flows of TTL 3, 32 and a unicast one: multicast TTL %d, unicast %d; want 32 and %d", mttl, uttl, defaultTTL)
	}
	for k, want := range []int{32, 32, 0} {
		if got := tx2.Session().Streams[k].TTL; got != want {
			t.Errorf("the session says TTL %d for flow %d, sent with %d", got, k, want)
		}
	}
}

// sleepFor leaves the spin out of a wait and never sleeps a packet that is
// due: with a spin near math.MaxInt64 and the packet's time past, the
// wait less the spin wrapped to a long positive wait (a cut sleep, the
// packet sent maxSleep late).
func TestSleepFor(t *testing.T) {
	const at = int64(1_800_000_000_000_000_000)
	for _, c := range []struct {
		next int64
		spin time.Duration
		want time.Duration
	}{
		{at + 5e6, 0, 5 * time.Millisecond},
		{at + 5e6, time.Millisecond, 4 * time.Millisecond},
		{at + 5e6, time.Hour, 0},
		{at - 5e6, 0, 0},
		{at - 5e6, time.Millisecond, 0},
		{at - 5e6, math.MaxInt64, 0},
		{at, math.MaxInt64, 0},
		{at + 5e6, math.MaxInt64, 0},
	} {
		if got := sleepFor(c.next, at, c.spin); got != c.want {
			t.Errorf("sleepFor(at%+d, at, %v) = %v, want %v", c.next-at, c.spin, got, c.want)
		}
	}
}
