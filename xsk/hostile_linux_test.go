//go:build linux

package xsk

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"golang.org/x/sys/unix"
)

// openIn opens a socket on dev in namespace ns and closes it when t ends.
func openIn(t *testing.T, ns, dev string, cfg *Config) *Socket {
	t.Helper()
	var s *Socket
	if err := xdptest.In(ns, func() (err error) { s, err = Open(dev, cfg); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestWaitRxBadProducer: an RX producer index more than the ring size
// ahead of the consumer makes WaitRx and PollRx return the integrity
// error at once. WaitRx once read it as "no packets" (Pending is 0 for a
// bad producer) and waited for its deadline, or forever without one.
func TestWaitRxBadProducer(t *testing.T) {
	p := xdptest.NewPair(t)
	// No XDP program: nothing but this test writes the RX ring.
	s := openIn(t, p.NsA, p.A, &Config{RxOnly: true, XDP: XDPNone, Frames: 64, RxSize: 64})
	r := &s.rx.rx
	r.prod.Store(r.local + r.size + 1)
	_ = s.SetReadDeadline(time.Now().Add(2 * time.Second))
	start := time.Now()
	err := s.WaitRx()
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("WaitRx over a producer ahead by more than the ring: %v after %v, want an integrity error", err, time.Since(start))
	}
	t.Logf("WaitRx: %v", err)
	if err := s.PollRx(2 * time.Second); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("PollRx over a producer ahead by more than the ring: %v, want an integrity error", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("the waits took %v to report a bad producer", el)
	}
	// A good producer again: the waits wait, and a deadline ends them.
	r.prod.Store(r.local)
	_ = s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if err := s.WaitRx(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("WaitRx on an empty ring: %v, want its deadline", err)
	}
}

// TestBindModeFlags: BindZeroCopyOrCopy leaves the choice to the kernel,
// which binds zero-copy when the driver sets it up and copy mode on any
// failure of the driver's (a zero-copy driver may refuse a configuration,
// as one refuses frames smaller than its MTU needs); a bind that forced
// zero-copy and fell back only on EOPNOTSUPP failed there instead.
func TestBindModeFlags(t *testing.T) {
	for _, c := range []struct {
		mode BindMode
		want uint16
	}{{BindCopy, unix.XDP_COPY}, {BindZeroCopy, unix.XDP_ZEROCOPY}, {BindZeroCopyOrCopy, 0}} {
		if got := bindFlags(c.mode); got != c.want {
			t.Errorf("%v binds with flags %#x, want %#x", c.mode, got, c.want)
		}
	}
}

// TestWaitRxGone: when the interface goes away under a waiting receiver
// (the kernel unbinds the socket), the wait returns an error saying so.
// It used to wait for its deadline, or forever without one: poll(2) on
// an unbound AF_XDP socket reports nothing, ever.
func TestWaitRxGone(t *testing.T) {
	p := xdptest.NewPair(t)
	s := openIn(t, p.NsB, p.B, &Config{RxOnly: true})
	errc := make(chan error, 1)
	go func() {
		_ = s.SetReadDeadline(time.Now().Add(3 * time.Second))
		errc <- s.WaitRx()
	}()
	linkGone(t, p, errc, "WaitRx")
	// Again: the socket stays unbound, and a second wait says so too.
	_ = s.SetReadDeadline(time.Now().Add(2 * time.Second))
	if err := s.WaitRx(); !errors.Is(err, unix.ENXIO) {
		t.Fatalf("a second WaitRx after the interface went: %v, want ENXIO", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close after the interface went: %v", err)
	}
}

// spinUntilErr runs a receive loop that never sleeps (an Idler whose Spin
// has no end, every pass empty) on s until Next returns an error, which
// it sends on the returned channel; it gives up after 10 s.
func spinUntilErr(s *Socket) <-chan error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		d := Idler{Spin: math.MaxInt}
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
			if err := d.Next(s, false, 0); err != nil {
				errc <- err
				return
			}
		}
		errc <- errors.New("no error in 10 s of spinning")
	}()
	return errc
}

// TestSpinGone: a loop that spins instead of waiting learns that the
// interface went away as a waiting one does (TestWaitRxGone), and that
// its socket was closed: a spinning Next makes no wait, so it checks
// each yield period. Before, such a loop spun on until its own end.
func TestSpinGone(t *testing.T) {
	p := xdptest.NewPair(t)
	// Close first, on A: deleting B below takes its peer A with it.
	sa := openIn(t, p.NsA, p.A, &Config{RxOnly: true})
	errc := spinUntilErr(sa)
	time.Sleep(50 * time.Millisecond)
	if err := sa.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("spinning Next after Close: %v, want ErrClosed", err)
	}

	s := openIn(t, p.NsB, p.B, &Config{RxOnly: true})
	errc = spinUntilErr(s)
	linkGone(t, p, errc, "a spinning Next")
}

// linkGone deletes p's B link 100 ms into a wait (or spin) on a socket
// bound to it, whose error comes on errc, and wants that error within a
// second: one naming the link and matching ENXIO (not a deadline's).
func linkGone(t *testing.T, p *xdptest.Pair, errc <-chan error, what string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	if out, err := exec.Command("ip", "-n", p.NsB, "link", "del", p.B).CombinedOutput(); err != nil {
		t.Fatalf("ip link del %s: %v: %s", p.B, err, out)
	}
	start := time.Now()
	err := <-errc
	t.Logf("%s returned %v after the link went: %v", what, time.Since(start), err)
	if errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, unix.ENXIO) || !strings.Contains(err.Error(), p.B) {
		t.Fatalf("%s on a socket whose interface went away: %v, want an error naming %s and ENXIO", what, err, p.B)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("%s took %v to see the interface gone", what, el)
	}
}

// A spinning Next allocates nothing, its checks (each yield period's
// getsockopt among them: every run sleeps past the period) included. And
// on a socket without RX ring it returns the error PollRx gives: it used
// to panic on the fill ring such a socket does not have.
func TestSpinAllocs(t *testing.T) {
	p := xdptest.NewPair(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tx := openIn(t, p.NsA, p.A, &Config{TxOnly: true})
	if err := (&Idler{Spin: 4}).Next(tx, false, 0); err == nil || !strings.Contains(err.Error(), "no RX ring") {
		t.Fatalf("spinning Next on a TX-only socket: %v, want the error of PollRx (no RX ring)", err)
	}
	s := openIn(t, p.NsB, p.B, &Config{RxOnly: true})
	d := Idler{Spin: math.MaxInt}
	var err error
	allocs := testing.AllocsPerRun(20, func() {
		time.Sleep(8 * time.Millisecond) // past the Yielder's period: the next passes check
		for range 16 {
			if e := d.Next(s, false, 0); e != nil && err == nil {
				err = e
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if allocs != 0 {
		t.Fatalf("a spinning Next allocates %v times a run", allocs)
	}
}
