//go:build linux

package xsk_test

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/xsk"
	"golang.org/x/sys/unix"
)

// open opens a socket on dev inside namespace ns and closes it when t ends.
func open(t testing.TB, ns, dev string, cfg *xsk.Config) *xsk.Socket {
	t.Helper()
	var s *xsk.Socket
	err := xdptest.In(ns, func() (err error) {
		s, err = xsk.Open(dev, cfg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// udpFrames returns a function that writes frame seq (a UDP datagram from
// A to B with seq in its first payload octets) of n octets into b.
func udpFrames(t testing.TB, p *xdptest.Pair) func(b []byte, seq uint64, n int) int {
	t.Helper()
	tpl, err := packet.NewUDPTemplate(&packet.UDPConfig{SrcMAC: p.MacA, DstMAC: p.MacB, SrcIP: p.IPA, DstIP: p.IPB, SrcPort: 4000, DstPort: 5000})
	if err != nil {
		t.Fatal(err)
	}
	src, dst := p.IPA.As4(), p.IPB.As4()
	return func(b []byte, seq uint64, n int) int {
		tpl.Write(b, n, src, dst, 4000, 5000, uint16(seq))
		binary.BigEndian.PutUint64(b[packet.UDPHdrLen:], seq)
		return n
	}
}

// frameSeq returns the sequence number of a frame udpFrames wrote.
func frameSeq(pkt []byte) (uint64, bool) {
	if len(pkt) < packet.UDPHdrLen+8 || binary.BigEndian.Uint16(pkt[36:]) != 5000 {
		return 0, false
	}
	return binary.BigEndian.Uint64(pkt[packet.UDPHdrLen:]), true
}

// TestSendReceive sends sequence-numbered frames from an AF_XDP socket on
// A to one on B and checks that each arrives, once and in order. The
// sender keeps at most a window of frames unreceived (credit pacing: the
// receiver's count is shared memory in this process), which keeps the
// receiver's rings from overflowing; the kernel drops nothing then.
func TestSendReceive(t *testing.T) {
	p := xdptest.NewPair(t)
	rxs := open(t, p.NsB, p.B, nil)
	txs := open(t, p.NsA, p.A, &xsk.Config{TxOnly: true})
	t.Logf("rx: %+v", rxs.Info())
	if x := xdptest.XDP(t, p.NsB, p.B); !strings.Contains(x, "nmgo_xsk") {
		t.Fatalf("no nmgo_xsk program on %s: %q", p.B, x)
	}
	for _, c := range []struct {
		n    uint64
		size int
	}{{1000000, 60}, {100000, 1500}} {
		if testing.Short() || raceEnabled {
			c.n /= 100
		}
		res := sendReceive(t, p, txs, rxs, c.n, c.size, 1024)
		t.Logf("%d-octet frames: sent %d, received %d, lost %d, reordered %d, other %d, in %v (%.0f pps)",
			c.size, c.n, res.received, res.lost, res.reordered, res.other, res.elapsed, float64(c.n)/res.elapsed.Seconds())
		if res.lost != 0 || res.reordered != 0 || res.received != c.n {
			t.Fatalf("sent %d, received %d, lost %d, reordered %d", c.n, res.received, res.lost, res.reordered)
		}
	}
	st, err := rxs.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rx stats %+v", st)
	if st.Rx.Integrity != 0 || st.Kernel.RxDropped+st.Kernel.RxRingFull+st.Kernel.RxFillRingEmpty != 0 {
		t.Fatalf("drops or integrity errors: %+v", st)
	}
}

type result struct {
	received, lost, reordered, other uint64
	elapsed                          time.Duration
}

// sendReceive sends n frames of size octets from txs to rxs with at most
// window frames unreceived, and counts what rxs gets.
func sendReceive(t testing.TB, p *xdptest.Pair, txs, rxs *xsk.Socket, n uint64, size, window int) result {
	t.Helper()
	var got atomicU64
	done := make(chan result, 1)
	go func() {
		var r result
		rx := rxs.Rx()
		next := uint64(0)
		_ = rxs.SetReadDeadline(time.Now().Add(60 * time.Second))
		for next < n {
			k, err := rx.Acquire(64)
			if err != nil {
				t.Error(err)
				break
			}
			if k == 0 {
				if err := rxs.WaitRx(); err != nil {
					t.Errorf("WaitRx after %d frames: %v", r.received, err)
					break
				}
				continue
			}
			for i := range k {
				pkt, err := rx.Packet(i)
				if err != nil {
					t.Error(err)
					continue
				}
				s, ok := frameSeq(pkt)
				if !ok {
					r.other++
					continue
				}
				r.received++
				switch {
				case s > next:
					r.lost += s - next
				case s < next:
					r.reordered++
				}
				next = max(next, s+1)
			}
			rx.Release(k)
			got.Store(r.received)
		}
		done <- r
	}()
	tx := txs.Tx()
	write := udpFrames(t, p)
	start := time.Now()
	var seq uint64
	for seq < n {
		credit := int(min(uint64(window)-min(seq-got.Load(), uint64(window)), n-seq))
		if credit == 0 {
			if err := txs.Kick(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		k, err := tx.Reserve(min(credit, 64))
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			if err := txs.WaitTx(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for i := range k {
			tx.SetLen(i, write(tx.Buf(i), seq, size))
			seq++
		}
		tx.Publish(k)
		if err := txs.Kick(); err != nil {
			t.Fatal(err)
		}
	}
	for tx.InFlight() > 0 {
		if err := txs.WaitTx(); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Reserve(0); err != nil {
			t.Fatal(err)
		}
	}
	r := <-done
	r.elapsed = time.Since(start)
	return r
}

type atomicU64 struct{ v uint64 }

func (a *atomicU64) Store(v uint64) { atomicStore(&a.v, v) }
func (a *atomicU64) Load() uint64   { return atomicLoad(&a.v) }

// TestCloseWhileWaiting closes a socket while another goroutine waits in
// WaitRx: the wait returns an error matching os.ErrClosed, the program is
// detached from the link, and no file descriptor or socket mapping is
// left.
func TestCloseWhileWaiting(t *testing.T) {
	p := xdptest.NewPair(t)
	fds := xdptest.FDs(t)
	maps := len(xdptest.SocketMaps(t))
	var s *xsk.Socket
	if err := xdptest.In(p.NsA, func() (err error) { s, err = xsk.Open(p.A, nil); return }); err != nil {
		t.Fatal(err)
	}
	if x := xdptest.XDP(t, p.NsA, p.A); !strings.Contains(x, "nmgo_xsk") {
		t.Fatalf("no nmgo_xsk program on %s after Open: %q", p.A, x)
	}
	if m := xdptest.SocketMaps(t); len(m) <= maps {
		t.Fatalf("no socket mappings after Open: %q", m)
	}
	errc := make(chan error)
	go func() {
		for { // a stray packet ends a wait: take it and wait again
			if err := s.WaitRx(); err != nil {
				errc <- err
				return
			}
			k, _ := s.Rx().Acquire(64)
			s.Rx().Release(k)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, os.ErrClosed) || !errors.Is(err, xsk.ErrClosed) {
			t.Fatalf("WaitRx returned %v, want ErrClosed", err)
		}
		t.Logf("WaitRx returned %q %v after Close began", err, time.Since(start))
	case <-time.After(2 * time.Second):
		t.Fatal("WaitRx still blocked 2 s after Close")
	}
	if x := xdptest.XDP(t, p.NsA, p.A); x != "" {
		t.Fatalf("XDP program left on %s after Close: %q", p.A, x)
	}
	if n := xdptest.FDs(t); n != fds {
		t.Fatalf("%d file descriptors after Close, %d before Open", n, fds)
	}
	if m := xdptest.SocketMaps(t); len(m) != maps {
		t.Fatalf("socket mappings left after Close: %q", m)
	}
	if err := s.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Rx().Acquire(1); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
	if err := s.Kick(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Kick after Close: %v", err)
	}
}

// TestZeroCopyVeth: veth has no zero-copy: BindZeroCopy says so, and
// BindZeroCopyOrCopy falls back to copy mode.
func TestZeroCopyVeth(t *testing.T) {
	p := xdptest.NewPair(t)
	err := xdptest.In(p.NsA, func() error {
		s, err := xsk.Open(p.A, &xsk.Config{Bind: xsk.BindZeroCopy})
		if err == nil {
			s.Close()
		}
		return err
	})
	if !errors.Is(err, xsk.ErrNotSupported) || !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "zero-copy") {
		t.Fatalf("zero-copy bind on veth: %v", err)
	}
	t.Logf("BindZeroCopy: %v", err)
	if x := xdptest.XDP(t, p.NsA, p.A); x != "" {
		t.Fatalf("XDP program left after a failed Open: %q", x)
	}
	s := open(t, p.NsA, p.A, &xsk.Config{Bind: xsk.BindZeroCopyOrCopy})
	if s.Info().ZeroCopy {
		t.Fatal("veth bound in zero-copy mode")
	}
}

// TestReopen closes a socket and opens one on the same queue at once: the
// kernel answers EBUSY for a while, which Open retries.
func TestReopen(t *testing.T) {
	p := xdptest.NewPair(t)
	for i := range 3 {
		start := time.Now()
		var s *xsk.Socket
		if err := xdptest.In(p.NsA, func() (err error) { s, err = xsk.Open(p.A, nil); return }); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Logf("open %d took %v", i, time.Since(start))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	err := xdptest.In(p.NsA, func() error {
		_, err := xsk.Open(p.A, &xsk.Config{Queue: 5})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "queue 5") {
		t.Fatalf("bind to a queue veth does not have: %v", err)
	}
	t.Logf("queue 5: %v", err)
	_, err = xsk.Open("nmxs-no-such", nil)
	if err == nil {
		t.Fatal("opened an interface that does not exist")
	}
	t.Logf("no such interface: %v", err)
}

// TestXDPModes attaches the program in native and in generic mode
// explicitly, checks that packets arrive either way, and that a program
// attached by someone else makes Open fail with an error naming both
// modes.
func TestXDPModes(t *testing.T) {
	p := xdptest.NewPair(t)
	txs := open(t, p.NsA, p.A, &xsk.Config{TxOnly: true})
	for _, mode := range []xsk.XDPMode{xsk.XDPNative, xsk.XDPGeneric} {
		var rxs *xsk.Socket
		if err := xdptest.In(p.NsB, func() (err error) { rxs, err = xsk.Open(p.B, &xsk.Config{XDP: mode, RxOnly: true}); return }); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if got := rxs.Info().XDP; got != mode {
			t.Fatalf("asked for %s, got %s", mode, got)
		}
		x := xdptest.XDP(t, p.NsB, p.B)
		t.Logf("%s: ip link: %s", mode, x)
		if want := map[xsk.XDPMode]string{xsk.XDPNative: "xdp ", xsk.XDPGeneric: "xdpgeneric"}[mode]; !strings.Contains(x+" ", want) {
			t.Fatalf("%s: ip link shows %q", mode, x)
		}
		res := sendReceive(t, p, txs, rxs, 10000, 60, 512)
		if res.received != 10000 || res.lost != 0 {
			t.Fatalf("%s: %+v", mode, res)
		}
		if err := rxs.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Someone else's program: a bare XDP_PASS attached with ip link would
	// need an object file; attach one through a link from here.
	release := attachPass(t, p.NsB, p.B)
	defer release()
	err := xdptest.In(p.NsB, func() error {
		s, err := xsk.Open(p.B, &xsk.Config{RxOnly: true})
		if err == nil {
			s.Close()
		}
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "native mode") || !strings.Contains(err.Error(), "generic mode") {
		t.Fatalf("Open over another program: %v", err)
	}
	t.Logf("over another program: %v", err)
}

// TestSocketAllocs: the send path (Reserve, Buf, SetLen, Publish, Kick,
// WaitTx) and the receive path (PollRx, Acquire, Packet, Release) of a real
// socket do not allocate.
func TestSocketAllocs(t *testing.T) {
	p := xdptest.NewPair(t)
	rxs := open(t, p.NsB, p.B, &xsk.Config{RxOnly: true})
	txs := open(t, p.NsA, p.A, &xsk.Config{TxOnly: true})
	tx, rx := txs.Tx(), rxs.Rx()
	write := udpFrames(t, p)
	var seq uint64
	var got int
	send := func() {
		k, err := tx.Reserve(32)
		if err != nil {
			panic(err)
		}
		if k == 0 {
			if err := txs.WaitTx(); err != nil {
				panic(err)
			}
			return
		}
		for i := range k {
			tx.SetLen(i, write(tx.Buf(i), seq, 60))
			seq++
		}
		tx.Publish(k)
		if err := txs.Kick(); err != nil {
			panic(err)
		}
	}
	recv := func() {
		if err := rxs.PollRx(time.Millisecond); err != nil {
			panic(err)
		}
		k, err := rx.Acquire(64)
		if err != nil {
			panic(err)
		}
		for i := range k {
			if pkt, err := rx.Packet(i); err != nil || len(pkt) != 60 {
				panic("bad packet")
			}
		}
		rx.Release(k)
		got += k
	}
	if n := testing.AllocsPerRun(2000, send); n != 0 {
		t.Errorf("send path: %v allocations per batch", n)
	}
	if n := testing.AllocsPerRun(2000, recv); n != 0 {
		t.Errorf("receive path: %v allocations per batch", n)
	}
	if n := testing.AllocsPerRun(500, func() { send(); recv() }); n != 0 {
		t.Errorf("send and receive: %v allocations per batch", n)
	}
	if got == 0 {
		t.Fatal("nothing received")
	}
	t.Logf("%d frames sent, %d received", seq, got)
}

// TestTxBudget: Config.TxBudget sets XDP_MAX_TX_SKB_BUDGET (Linux 6.17 and
// later), and frames still arrive whole with it.
func TestTxBudget(t *testing.T) {
	p := xdptest.NewPair(t)
	rxs := open(t, p.NsB, p.B, &xsk.Config{RxOnly: true})
	txs := open(t, p.NsA, p.A, &xsk.Config{TxOnly: true, TxBudget: 256})
	res := sendReceive(t, p, txs, rxs, 20000, 60, 1024)
	if res.received != 20000 || res.lost != 0 || res.reordered != 0 {
		t.Fatalf("with a TX budget of 256: %+v", res)
	}
	st, err := txs.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("20000 frames in %d kicks (%d answered EAGAIN)", st.Kicks, st.KickAgain)
}

// TestIdlerLinger: with Linger set, a pass that took packets but not all
// it asked for sleeps at least Linger, one that took all does not (it
// goes on to Next's own waiting, which a pass that took packets skips),
// a Linger beyond MaxLinger sleeps MaxLinger, and a linger allocates
// nothing.
func TestIdlerLinger(t *testing.T) {
	d := xsk.Idler{Linger: xsk.MaxLinger}
	t0 := time.Now()
	if err := d.NextBatch(nil, 5, false, 300); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el < d.Linger {
		t.Errorf("a partial batch lingered %v, want at least %v", el, d.Linger)
	}
	if n, l := d.Lingers(); n != 1 || l != xsk.MaxLinger {
		t.Errorf("a partial batch: %d lingers, %v in all; want 1 of %v", n, l, xsk.MaxLinger)
	}
	// Counted, not timed: 100 full batches once had to take less than 100
	// lingers of real time, which a host stall of 100 ms failed.
	for range 100 {
		if err := d.NextBatch(nil, 64, true, 3840); err != nil { // a full batch: Next with got, no wait
			t.Fatal(err)
		}
	}
	if n, _ := d.Lingers(); n != 1 {
		t.Errorf("100 full batches lingered %d times", n-1)
	}
	d.Linger = time.Hour
	t0 = time.Now()
	if err := d.NextBatch(nil, 5, false, 300); err != nil {
		t.Fatal(err)
	}
	if n, l := d.Lingers(); n != 2 || l != 2*xsk.MaxLinger {
		t.Errorf("a linger of an hour asked for %v, want MaxLinger (%v)", l-xsk.MaxLinger, xsk.MaxLinger)
	}
	if el := time.Since(t0); el < xsk.MaxLinger {
		t.Errorf("a linger of an hour slept %v, want at least MaxLinger (%v)", el, xsk.MaxLinger)
	}
	d.Linger = time.Microsecond
	if n := testing.AllocsPerRun(100, func() { d.NextBatch(nil, 5, false, 300) }); n != 0 {
		t.Errorf("%v allocations per linger", n)
	}
}

// TestSocketGarbage: a Socket dropped without Close is released when it
// is garbage, as an os.File is: its file descriptor is closed and the XDP
// program detached. Left open, the kernel went on redirecting the queue's
// packets into a UMEM that the Go heap had freed and could reuse.
func TestSocketGarbage(t *testing.T) {
	p := xdptest.NewPair(t)
	runtime.GC()
	fds := xdptest.FDs(t)
	func() {
		var s *xsk.Socket
		if err := xdptest.In(p.NsA, func() (err error) { s, err = xsk.Open(p.A, nil); return }); err != nil {
			t.Fatal(err)
		}
		if x := xdptest.XDP(t, p.NsA, p.A); !strings.Contains(x, "nmgo_xsk") || s.Info().XDP == xsk.XDPNone {
			t.Fatalf("no nmgo_xsk program on %s after Open: %q", p.A, x)
		}
	}()
	var n int
	var x string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		runtime.GC()
		if n, x = xdptest.FDs(t), xdptest.XDP(t, p.NsA, p.A); n == fds && x == "" {
			return
		}
	}
	t.Fatalf("a Socket dropped without Close, collected: %d file descriptors (%d before Open), XDP on %s: %q", n, fds, p.A, x)
}
