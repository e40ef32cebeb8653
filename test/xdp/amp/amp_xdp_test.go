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

// TestAmplify: with amp on G2 (-n 8) sending out of B, each datagram G1
// sends arrives at A, B's peer, 8 times; amp detaches when its context
// ends. A has an AF_XDP socket: its XDP program gives the veth the NAPI
// that takes frames from the peer's ndo_xdp_xmit.
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- xdptest.In(m.NsB, func() error {
			return run(ctx, []string{"-i", g.B, "-o", m.B, "-n", strconv.Itoa(copies)}, io.Discard)
		})
	}()
	for xdptest.XDP(t, m.NsB, g.B) == "" {
		select {
		case err := <-errc:
			t.Fatalf("amp: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}

	var s *xsk.Socket
	if err := xdptest.In(m.NsA, func() (err error) {
		s, err = xsk.Open(m.A, &xsk.Config{RxOnly: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

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
	want := before + sent*copies
	var got uint64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = rxPackets(t, m.NsA, m.A); got >= want {
			break
		}
	}
	time.Sleep(50 * time.Millisecond)
	if got = rxPackets(t, m.NsA, m.A); got != want {
		t.Errorf("A received %d frames, want %d (%d datagrams x %d copies)", got-before, want-before, sent, copies)
	}

	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("amp: %v", err)
	}
	if x := xdptest.XDP(t, m.NsB, g.B); x != "" {
		t.Errorf("after amp returned, %s still has %q", g.B, x)
	}
}
