//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
)

// cliIn runs nmbench with args in network namespace ns (the socket is
// made there) and returns its exit code.
func cliIn(t *testing.T, ns string, args []string, out, errOut io.Writer) int {
	t.Helper()
	code := -1
	if err := xdptest.In(ns, func() error { code = cli(context.Background(), args, out, errOut); return nil }); err != nil {
		t.Fatal(err)
	}
	return code
}

// The xdp: backend: txseq on one end of a veth pair into rxseq on the
// other, both over AF_XDP, 5*10^4 frames counted with no loss at 20 kpps;
// then ping against pong. Needs root (NMTEST_XDP=1 makes that a failure).
func TestXDPBackend(t *testing.T) {
	p := xdptest.NewPair(t)
	const n = "50000"
	// -R paces the sender open loop: a receiver starved of CPU on a busy
	// host loses frames from a full ring. A run with losses runs once
	// more at half the rate (logged as RETRY); a second loss fails.
	for try, rate := range []string{"20000", "10000"} {
		rxArgs := []string{"-i", "xdp:" + p.B, "-f", "rxseq", "-n", n, "-t", "30s", "-q", "-json"}
		txArgs := []string{"-i", "xdp:" + p.A + "-0", "-f", "txseq", "-n", n, "-R", rate, "-D", p.MacB.String(), "-q"}
		var rxOut, rxErr bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- cliIn(t, p.NsB, rxArgs, &rxOut, &rxErr) }()
		time.Sleep(500 * time.Millisecond)
		var txErr bytes.Buffer
		if code := cliIn(t, p.NsA, txArgs, io.Discard, &txErr); code != 0 {
			t.Fatalf("txseq exit %d: %s", code, txErr.String())
		}
		if code := <-done; code != 0 {
			t.Fatalf("rxseq exit %d: %s", code, rxErr.String())
		}
		lines := strings.Split(strings.TrimSpace(rxOut.String()), "\n")
		final := lines[len(lines)-1]
		t.Logf("rxseq at %s pps: %s", rate, final)
		if strings.Contains(final, `"final":true`) && strings.Contains(final, `"packets":`+n+`,`) && strings.Contains(final, `"lost":0,"duplicated":0,"reordered":0`) {
			break
		}
		if try == 1 || !strings.Contains(final, `"duplicated":0,"reordered":0`) {
			t.Fatalf("rxseq final report: %s", final)
		}
		t.Logf("RETRY at half the rate")
	}

	ctx, cancel := context.WithCancel(context.Background())
	pongDone := make(chan int, 1)
	go func() {
		code := -1
		_ = xdptest.In(p.NsB, func() error {
			code = cli(ctx, []string{"-i", "xdp:" + p.B, "-f", "pong", "-q"}, io.Discard, io.Discard)
			return nil
		})
		pongDone <- code
	}()
	time.Sleep(500 * time.Millisecond)
	var pingOut, pingErr bytes.Buffer
	if code := cliIn(t, p.NsA, []string{"-i", "xdp:" + p.A, "-f", "ping", "-n", "2000", "-D", p.MacB.String(), "-q", "-json"}, &pingOut, &pingErr); code != 0 {
		t.Fatalf("ping exit %d: %s", code, pingErr.String())
	}
	cancel()
	if code := <-pongDone; code != 0 {
		t.Fatalf("pong exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(pingOut.String()), "\n")
	final := lines[len(lines)-1]
	t.Logf("ping: %s", final)
	if !strings.Contains(final, `"final":true`) || !strings.Contains(final, `"packets":2000,`) {
		t.Errorf("ping final report: %s", final)
	}
}

func TestXDPFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "xdp:eth0", "-p", "2"}, "one socket"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-pcap", "x.pcap"}, "-pcap"},
		{[]string{"-i", "xdp:eth0", "-f", "vtx", "-fmt", "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=25"}, "xdp: backend"},
	} {
		_, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
