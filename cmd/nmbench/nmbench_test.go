package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-i", "vale0:a", "-f", "txseq", "-l", "60,1500", "-n", "100", "-b", "64",
		"-s", "10.0.0.1:1000-10.0.0.3:1002", "-d", "10.1.0.1", "-S", "02:00:00:00:00:02", "-json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != "vale0:a" || c.fn != "txseq" || c.count != 100 || c.batch != 64 || !c.json {
		t.Errorf("config %+v", c)
	}
	if len(c.lens.list) != 2 || c.lens.max() != 1500 {
		t.Errorf("lengths %+v", c.lens)
	}
	if c.src.ip1 != [4]byte{10, 0, 0, 3} || c.src.port0 != 1000 || c.src.port1 != 1002 || c.dst.port0 != 1234 {
		t.Errorf("endpoints %+v %+v", c.src, c.dst)
	}
	if l, err := parseLengths("64-128"); err != nil || l.lo != 64 || l.hi != 128 {
		t.Errorf("range: %+v %v", l, err)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "-i PORT is required"},
		{[]string{"-i", "vale0:a", "-f", "bogus"}, "function must be one of"},
		{[]string{"-i", "vale0:a", "-l", "59"}, "frame length \"59\""},
		{[]string{"-i", "vale0:a", "-l", "70000"}, "frame length"},
		{[]string{"-i", "vale0:a", "-l", "200-100"}, "backwards"},
		{[]string{"-i", "vale0:a", "-l", "60,x"}, "\"x\""},
		{[]string{"-i", "vale0:a", "-n", "-1"}, "count must be"},
		{[]string{"-i", "vale0:a", "-b", "0"}, "batch must be"},
		{[]string{"-i", "vale0:a", "-R", "-5"}, "rate must be"},
		{[]string{"-i", "vale0:a", "-T", "1ms"}, "at least 10ms"},
		{[]string{"-i", "vale0:a", "-S", "02:00:00:00:00"}, "-S"},
		{[]string{"-i", "vale0:a", "-D", "zz:00:00:00:00:00"}, "-D"},
		{[]string{"-i", "vale0:a", "-s", "10.0.0.300"}, "not an IPv4 address"},
		{[]string{"-i", "vale0:a", "-d", "10.0.0.1:99999"}, "port"},
		{[]string{"-i", "vale0:a", "-d", "10.0.0.5-10.0.0.1"}, "backwards"},
		{[]string{"-i", "vale0:a", "-s", "::1"}, "IPv4"},
		{[]string{"-i", "vale0:a", "extra"}, "unexpected argument"},
		{[]string{"-i", "vale0:a", "-f", "tx", "-pcap", "x.pcap"}, "-pcap"},
		{[]string{"-i", "udp:127.0.0.1:9000", "-pcap", "x.pcap"}, "-pcap"},
		{[]string{"-i", "vale0:a", "-p", "2", "-pcap", "x.pcap"}, "-pcap"},
	}
	for _, c := range cases {
		_, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// The final JSON object is pinned: keys and values for a known sample.
func TestReportJSONGolden(t *testing.T) {
	for _, c := range []struct {
		fn, want string
	}{
		{"tx", `{"func":"tx","final":true,"packets":3000000,"bytes":180000000,"seconds":2,"pps":1500000,"bps":720000000,"avg_batch":500}` + "\n"},
		{"rxseq", `{"func":"rxseq","final":true,"packets":3000000,"bytes":180000000,"seconds":2,"pps":1500000,"bps":720000000,"avg_batch":500,"lost":7,"duplicated":1,"reordered":2}` + "\n"},
	} {
		var out bytes.Buffer
		r := &reporter{cfg: &config{fn: c.fn, json: true}, out: &out}
		t0 := time.Unix(1000, 0)
		r.start = sample{at: t0}
		r.final(sample{packets: 3_000_000, bytes: 180_000_000, batches: 6000, lost: 7, dup: 1, reordered: 2, at: t0.Add(2 * time.Second)})
		if out.String() != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.fn, out.String(), c.want)
		}
	}
}

func TestReportText(t *testing.T) {
	var out bytes.Buffer
	r := &reporter{cfg: &config{fn: "tx"}, out: &out}
	t0 := time.Unix(1000, 0)
	r.start, r.last = sample{at: t0}, sample{at: t0}
	r.tick(sample{packets: 1_500_000, bytes: 90_000_000, batches: 3000, at: t0.Add(time.Second)})
	r.final(sample{packets: 3_000_000, bytes: 180_000_000, batches: 6000, at: t0.Add(2 * time.Second)})
	got := out.String()
	for _, want := range []string{"1.500 Mpps (1500000 pkts 720.000 Mbps in 1000000 usec) 500.00 avg_batch",
		"Sent 3000000 packets 180000000 bytes 6000 events 60 bytes each in 2.00 seconds.",
		"Speed: 1.500 Mpps Bandwidth: 720.000 Mbps (raw 1.008 Gbps). Average batch: 500.00 pkts"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestSeqWindow(t *testing.T) {
	var w seqWindow
	var lost int64
	var dup, reord uint64
	for _, s := range []uint32{10, 11, 12, 15, 13, 13, 16, 14, 20, 5} {
		l, d, o := w.add(s)
		lost, dup, reord = lost+l, dup+d, reord+o
	}
	// 10 11 12 | 15 skips 13,14 (lost 2) | 13 late (reordered, lost 1) |
	// 13 again (dup) | 16 | 14 late (reordered, lost 0) | 20 skips 17-19 (lost 3) | 5 is old: dup
	if lost != 3 || dup != 2 || reord != 2 {
		t.Errorf("lost %d dup %d reordered %d, want 3 2 2", lost, dup, reord)
	}
	// Wrap-around of the 32-bit sequence is in order.
	var w2 seqWindow
	for _, s := range []uint32{^uint32(0) - 1, ^uint32(0), 0, 1} {
		if l, d, o := w2.add(s); l != 0 || d != 0 || o != 0 {
			t.Errorf("wrap at %d: %d %d %d", s, l, d, o)
		}
	}
}

// The send and receive loops' per-batch work allocates nothing, checked on
// a heap region laid out like netmap's: fill, publish, (kernel moves the
// frames to the RX ring), acquire, drain with sequence checks, release.
func TestLoopsAllocs(t *testing.T) {
	reg := heapmem.MustNew(&heapmem.Config{TxSlots: 1024, RxSlots: 1024})
	if err := reg.Connect(0, reg, 0, heapmem.Copy); err != nil {
		t.Fatal(err)
	}
	tx, err := rings.NewTxRing(reg.Mem, reg.TxRingOff(0))
	if err != nil {
		t.Fatal(err)
	}
	rx, err := rings.NewRxRing(reg.Mem, reg.RxRingOff(0))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-i", "x", "-f", "txseq", "-l", "60-1500", "-s", "10.0.0.1:1-10.0.0.9:9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var win seqWindow
	var total batchCounts
	next := uint32(0)
	allocs := testing.AllocsPerRun(100, func() {
		n, err := tx.Reserve(256)
		if err != nil || n == 0 {
			t.Fatalf("Reserve: %d %v", n, err)
		}
		g.fill(tx, n)
		tx.Publish(n)
		if err := reg.TxSync(0); err != nil {
			t.Fatal(err)
		}
		if err := reg.RxSync(0); err != nil {
			t.Fatal(err)
		}
		m, err := rx.Acquire(512)
		if err != nil || m != n {
			t.Fatalf("Acquire: %d of %d, %v", m, n, err)
		}
		// Frames are the template's, with the sequence in place.
		p, _ := rx.Packet(0)
		if binary.BigEndian.Uint32(p[packet.UDPHdrLen:]) != next {
			t.Fatalf("first frame of the batch carries %d, want %d", binary.BigEndian.Uint32(p[packet.UDPHdrLen:]), next)
		}
		next += uint32(n)
		if err := total.drain(rx, m, true, &win); err != nil {
			t.Fatal(err)
		}
		rx.Release(m)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch", allocs)
	}
	if total.lost != 0 || total.dup != 0 || total.reord != 0 || total.bytes == 0 {
		t.Errorf("counts %+v", total)
	}
}

// Without /dev/netmap nmbench says so in one line and exits non-zero.
func TestCLIErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cli(context.Background(), []string{"-i", "vale0:a", "-l", "10"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "frame length") {
		t.Errorf("bad flag: code %d, %q", code, stderr.String())
	}
	stderr.Reset()
	code := cli(context.Background(), []string{"-i", "vale0:a", "-f", "tx", "-n", "1"}, &stdout, &stderr)
	if code == 0 {
		t.Skip("this host has netmap; the error path is not reachable")
	}
	msg := stderr.String()
	if code != 1 || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "nmbench: ") {
		t.Errorf("code %d, stderr %q: want one line and exit 1", code, msg)
	}
}

// The udp: backend carries numbered datagrams over loopback: txseq into
// rxseq, counted, with no loss at a modest rate.
func TestUDPSeqLoopback(t *testing.T) {
	// Find a free port by binding it, then let the receiver take it.
	port := freeUDPPort(t)
	rxArgs := []string{"-i", "udp:127.0.0.1:" + port, "-f", "rxseq", "-n", "20000", "-t", "20s", "-q", "-json"}
	txArgs := []string{"-i", "udp:127.0.0.1:" + port, "-f", "txseq", "-n", "20000", "-R", "20000", "-l", "60,200", "-q"}
	var rxOut bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- cli(context.Background(), rxArgs, &rxOut, io.Discard) }()
	time.Sleep(200 * time.Millisecond)
	var txErr bytes.Buffer
	if code := cli(context.Background(), txArgs, io.Discard, &txErr); code != 0 {
		t.Fatalf("tx exit %d: %s", code, txErr.String())
	}
	if code := <-done; code != 0 {
		t.Fatalf("rx exit %d", code)
	}
	got := rxOut.String()
	if !strings.Contains(got, `"packets":20000,`) || !strings.Contains(got, `"lost":0,"duplicated":0,"reordered":0`) {
		t.Errorf("rxseq final report: %s", got)
	}
}

func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
}

func TestLiveProgressLine(t *testing.T) {
	var out bytes.Buffer
	r := &reporter{cfg: &config{fn: "tx"}, out: &out}
	t0 := time.Unix(1000, 0)
	r.start, r.last = sample{at: t0}, sample{at: t0}
	r.live(sample{packets: 500, at: t0.Add(time.Second)}, 0.5)
	r.final(sample{packets: 1000, bytes: 60000, batches: 2, at: t0.Add(2 * time.Second)})
	got := out.String()
	if !strings.HasPrefix(got, "\r\033[K[===============               ]  50% 500 pkts 500.000 pps avg\r\033[KSent 1000 packets") {
		t.Errorf("progress output %q", got)
	}
}

// TestYielder checks that a yielder reads the clock once every yieldCheck
// passes, or sooner once yieldBytes have gone by, and yields at most once
// per yieldEvery.
func TestYielder(t *testing.T) {
	runtime.LockOSThread() // as in the loops; the yielder unlocks and relocks
	defer runtime.UnlockOSThread()
	var y yielder
	for range yieldCheck - 1 {
		y.pass(yieldBytes / yieldCheck)
	}
	if !y.last.IsZero() {
		t.Fatalf("yielded after %d passes of %d bytes", yieldCheck-1, yieldBytes/yieldCheck)
	}
	y.pass(0)
	first := y.last
	if first.IsZero() {
		t.Fatalf("no yield after %d passes", yieldCheck)
	}
	for range yieldCheck {
		y.pass(yieldBytes)
	}
	if y.last != first && time.Since(first) < yieldEvery {
		t.Fatalf("yielded again within %v", yieldEvery)
	}
	time.Sleep(yieldEvery + time.Millisecond)
	y.pass(yieldBytes)
	second := y.last
	if !second.After(first) {
		t.Fatalf("no yield after one pass of %d bytes, %v after the last yield", yieldBytes, yieldEvery+time.Millisecond)
	}
	time.Sleep(yieldEvery + time.Millisecond)
	for range yieldCheck - 1 {
		y.pass(1)
	}
	if y.last != second {
		t.Fatalf("yielded after %d passes of 1 byte", yieldCheck-1)
	}
	y.pass(1)
	if !y.last.After(second) {
		t.Fatalf("no yield after %d passes", yieldCheck)
	}
}
