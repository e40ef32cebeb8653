//go:build linux

package main

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/xsk"
)

// rxPackets returns the rx_packets counter of link dev in namespace ns.
func rxPackets(t *testing.T, ns, dev string) uint64 {
	t.Helper()
	out, err := xdptest.Cmd(ns, "cat", "/sys/class/net/"+dev+"/statistics/rx_packets").Output()
	if err != nil {
		t.Fatalf("rx_packets of %s: %v", dev, err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("rx_packets of %s: %v", dev, err)
	}
	return n
}

// start runs amp with args in namespace ns until the test (or stop)
// ends it, once its programs are attached to dev; wait returns run's
// error.
func start(t *testing.T, ns, dev string, args ...string) (stop func(), wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() {
		errc <- xdptest.In(ns, func() error { return run(ctx, args, io.Discard) })
	}()
	for xdptest.XDP(t, ns, dev) == "" {
		select {
		case err := <-errc:
			t.Fatalf("amp %q: %v", args, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return cancel, func() error { return <-errc }
}

// expect sends sent datagrams from G1 (g.A) and checks that A (m.A)
// receives want frames.
func expect(t *testing.T, m, g *xdptest.Pair, sent int, want uint64) {
	t.Helper()
	before := rxPackets(t, m.NsA, m.A)
	if err := xdptest.In(g.NsA, func() error {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(g.IPB, 9)))
		if err != nil {
			return err
		}
		defer c.Close()
		for range sent {
			if _, err := c.Write(make([]byte, 18)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("send from G1: %v", err)
	}
	var got uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = rxPackets(t, m.NsA, m.A) - before; got >= want {
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	if got = rxPackets(t, m.NsA, m.A) - before; got != want {
		t.Errorf("A received %d frames, want %d", got, want)
	}
}

// TestAmplify: with amp on G2 (-n 8) sending out of B, each datagram G1
// sends arrives at A, B's peer, 8 times, whether A's NAPI comes from an
// AF_XDP socket's program or from amp -pass; each amp detaches its
// programs when its context ends.
func TestAmplify(t *testing.T) {
	m := xdptest.NewPair(t) // the measured pair: A receives
	g := xdptest.NewPair(t) // the feed: G1 = g.A sends, G2 = g.B moves next to B
	for _, s := range [][]string{
		{"-n", g.NsB, "link", "set", g.B, "netns", m.NsB},
		{"-n", m.NsB, "link", "set", g.B, "up"},
	} {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	const copies, sent = 8, 10
	stop, wait := start(t, m.NsB, g.B, "-i", g.B, "-o", m.B, "-n", strconv.Itoa(copies))

	// A's NAPI from an AF_XDP socket's program.
	var s *xsk.Socket
	if err := xdptest.In(m.NsA, func() (err error) {
		s, err = xsk.Open(m.A, &xsk.Config{RxOnly: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, m, g, sent, sent*copies)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A's NAPI from amp -pass.
	pstop, pwait := start(t, m.NsA, m.A, "-pass", m.A)
	expect(t, m, g, sent, sent*copies)
	pstop()
	if err := pwait(); err != nil {
		t.Fatalf("amp -pass: %v", err)
	}
	if x := xdptest.XDP(t, m.NsA, m.A); x != "" {
		t.Errorf("after amp -pass returned, %s still has %q", m.A, x)
	}

	stop()
	if err := wait(); err != nil {
		t.Fatalf("amp: %v", err)
	}
	if x := xdptest.XDP(t, m.NsB, g.B); x != "" {
		t.Errorf("after amp returned, %s still has %q", g.B, x)
	}
}
