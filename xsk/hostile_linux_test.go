//go:build linux

package xsk

import (
	"errors"
	"os"
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
