package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/ipv4"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/internal/porttest"
	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-i", "vale0:a", "-f", "txseq", "-l", "60,1500", "-n", "100", "-b", "64",
		"-s", "10.0.0.1:1000-10.0.0.3:1002", "-d", "10.1.0.1", "-S", "02:00:00:00:00:02", "-json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != "vale0:a" || c.mode.name != "txseq" || c.count != 100 || c.batch != 64 || !c.json {
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
	// pkt-gen reads -l with atoi, which takes a leading '+'.
	if l, err := parseLengths("60-+70"); err != nil || l.lo != 60 || l.hi != 70 {
		t.Errorf("-l 60-+70: %+v %v", l, err)
	}
	if l, err := parseLengths("+60"); err != nil || l.max() != 60 {
		t.Errorf("-l +60: %+v %v", l, err)
	}
	if l, err := parseLengths("+60,+61"); err != nil || len(l.list) != 2 || l.max() != 61 {
		t.Errorf("-l +60,+61: %+v %v", l, err)
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
		{[]string{"-i", "vale0:a", "-l", "-1"}, "frame length \"-1\" must be"},
		{[]string{"-i", "vale0:a", "-l", "-1-70"}, "frame length \"-1\" must be"},
		{[]string{"-i", "vale0:a", "-l", "60--1"}, "frame length \"-1\" must be"},
		{[]string{"-i", "vale0:a", "-l", "60,-1"}, "frame length \"-1\" must be"},
		{[]string{"-i", "vale0:a", "-l", "-"}, "frame length \"-\" must be"},
		{[]string{"-i", "vale0:a", "-l", "60-"}, "-l \"60-\": a frame length is missing"},
		{[]string{"-i", "vale0:a", "-l", "60,"}, "-l \"60,\": a frame length is missing"},
		{[]string{"-i", "vale0:a", "-l", ",60"}, "-l \",60\": a frame length is missing"},
		{[]string{"-i", "vale0:a", "-l", ""}, "-l \"\": a frame length is missing"},
		{[]string{"-i", "vale0:a", "-n", "-1"}, "count must be"},
		{[]string{"-i", "vale0:a", "-b", "0"}, "batch must be"},
		{[]string{"-i", "udp:127.0.0.1:9", "-f", "tx", "-b", "4096"}, "-b 4096: over udp: at most 1024 datagrams per sendmmsg or recvmmsg"},
		{[]string{"-i", "udp:127.0.0.1:9", "-f", "rxseq", "-b", "1025"}, "-b 1025: over udp: at most 1024"},
		{[]string{"-i", "vale0:a", "-R", "-5"}, "rate must be"},
		{[]string{"-i", "vale0:a", "-R", "Inf"}, "-R +Inf: rate must be 0 (no limit) or in 0.001..1e+09"},
		{[]string{"-i", "vale0:a", "-R", "-Inf"}, "-R -Inf: rate must be"},
		{[]string{"-i", "vale0:a", "-R", "NaN"}, "-R NaN: rate must be"},
		{[]string{"-i", "vale0:a", "-R", "1e-300"}, "-R 1e-300: rate must be"},
		{[]string{"-i", "vale0:a", "-R", "1e12"}, "-R 1e+12: rate must be"},
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
		{[]string{"-i", "udp:127.0.0.1:0", "-f", "tx"}, "-i udp:127.0.0.1:0: port 0; want udp:HOST:PORT with PORT in 1..65535"},
		{[]string{"-i", "udp:127.0.0.1:0", "-f", "rxseq"}, "port 0"},
		{[]string{"-i", "udp:localhost:00", "-f", "rx"}, "port 0"},
		{[]string{"-i", "udp:[::1]:9000", "-f", "tx"}, "-i udp:[::1]:9000: ::1 is an IPv6 address: tx, rx, txseq and rxseq over udp: are IPv4 only (vtx and vrx take IPv6)"},
		{[]string{"-i", "udp:[ff02::1]:9000", "-f", "rxseq"}, "ff02::1 is an IPv6 address: tx, rx, txseq and rxseq over udp: are IPv4 only"},
		{[]string{"-i", "vale0:a", "-p", "2", "-pcap", "x.pcap"}, "-pcap"},
		{[]string{"-i", "udp:127.0.0.1:9000", "-f", "rx", "-linger", "100us"}, "-linger 100µs: -f rx over udp does not linger"},
		{[]string{"-i", "udp:127.0.0.1:9000", "-f", "rxseq", "-linger", "100us"}, "-linger 100µs: -f rxseq over udp does not linger"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vrx", "-fmt", fmt64x32, "-linger", "100us"}, "not with -i pcap:FILE: a capture is read"},
		{[]string{"-i", "udp:239.1.1.1:5004", "-i", "pcap:y.pcap", "-f", "vrx", "-fmt", fmt64x32, "-linger", "100us"}, "not with -i pcap:FILE"},
		{[]string{"-i", "vale0:a", "-i", "pcap:y.pcap", "-f", "vrx", "-fmt", fmt64x32, "-linger", "100us"}, "not with -i pcap:FILE"},
		{[]string{"-i", "vale0:a", "-f", "tx", "-linger", "100us"}, "-linger"},
		{[]string{"-i", "xdp:eth0", "-f", "tx", "-linger", "100us"}, "-linger"},
		{[]string{"-i", "vale0:a", "-f", "vtx", "-fmt", fmt64x32, "-linger", "100us"}, "-linger"},
		{[]string{"-i", "vale0:a", "-f", "vrx", "-fmt", fmt64x32, "-linger", "2ms"}, "-linger"},
		{[]string{"-i", "vale0:a", "-f", "rx", "-linger", "2ms"}, "-linger"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-linger", "-1ms"}, "-linger"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-linger", "2s"}, "-linger"},
		{[]string{"-i", "xdp:eth0", "-f", "tx", "-busy"}, "-busy: only for rx and rxseq over an xdp: port"},
		{[]string{"-i", "xdp:eth0", "-f", "vrx", "-fmt", fmt64x32, "-busy"}, "-busy: only for rx and rxseq over an xdp: port"},
		{[]string{"-i", "udp:127.0.0.1:9000", "-f", "rx", "-busy"}, "-busy: only for rx and rxseq over an xdp: port"},
		{[]string{"-i", "vale0:a", "-f", "rx", "-busy"}, "-busy: only for rx and rxseq over an xdp: port"},
		{[]string{"-i", "pcap:x.pcap", "-f", "rx", "-busy"}, "-i pcap:FILE"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-busy", "-linger", "100us"}, "-busy with -linger 100µs"},
		{[]string{"-i", "vale0:a", "-f", "rx", "-xdp-frames", "2048"}, "-xdp-frames 2048: only for rx and rxseq over an xdp: port"},
		{[]string{"-i", "xdp:eth0", "-f", "tx", "-xdp-frames", "2048"}, "-xdp-frames 2048: only for rx and rxseq over an xdp: port"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-xdp-frames", "3000"}, "-xdp-frames 3000: must be a power of two in 64..65536"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-xdp-frames", "32"}, "power of two"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-xdp-frames", "131072"}, "power of two"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-xdp-frames", "-2048"}, "power of two"},
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

// -linger is taken by the receivers that linger: rx, rxseq and vrx over
// netmap and xdp:, and vrx over udp (st2110's reader), up to 1 ms.
func TestParseFlagsLinger(t *testing.T) {
	for _, args := range [][]string{
		{"-i", "vale0:a", "-f", "rx", "-linger", "100us"},
		{"-i", "netmap:eth0", "-f", "rxseq", "-linger", "1ms"},
		{"-i", "xdp:eth0", "-f", "rx", "-linger", "100us"},
		{"-i", "vale0:b", "-f", "vrx", "-fmt", fmt64x32, "-linger", "1ms"},
		{"-i", "xdp:eth0", "-f", "vrx", "-fmt", fmt64x32, "-linger", "100us"},
		{"-i", "udp:239.1.1.1:5004", "-f", "vrx", "-fmt", fmt64x32, "-linger", "100us"},
		{"-i", "udp:239.1.1.1:5004", "-i", "udp:239.2.1.1:5004", "-f", "vrx", "-fmt", fmt64x32, "-linger", "100us"},
	} {
		c, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", args, err)
			continue
		}
		if want, _ := time.ParseDuration(args[len(args)-1]); c.linger != want {
			t.Errorf("%q: linger %v", args, c.linger)
		}
	}
}

// vtx and vrx take an IPv6 udp: address (st2110's transport), which the
// IPv4 sockets of tx, rx, txseq and rxseq refuse (TestParseFlags).
func TestUDPIPv6Video(t *testing.T) {
	for _, f := range []string{"vtx", "vrx"} {
		if _, err := parseFlags([]string{"-i", "udp:[::1]:9000", "-f", f, "-fmt", fmt64x32}, io.Discard); err != nil {
			t.Errorf("-f %s -i udp:[::1]:9000: %v", f, err)
		}
	}
}

// -busy and -xdp-frames are taken by rx and rxseq over xdp:, and reach the
// socket's configuration.
func TestParseFlagsBusy(t *testing.T) {
	for _, c := range []struct {
		args   []string
		frames int
	}{
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-busy"}, 0},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-busy", "-xdp-frames", "2048"}, 2048},
		{[]string{"-i", "xdp:eth0-1", "-f", "rxseq", "-busy", "-xdp-frames", "64"}, 64},
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if !cfg.busy || cfg.xdpFrames != c.frames {
			t.Errorf("%q: busy %v, xdp frames %d", c.args, cfg.busy, cfg.xdpFrames)
		}
	}
	for _, c := range []struct {
		args           []string
		frames, rxSize int
		txOnly         bool
	}{
		{[]string{"-i", "xdp:eth0", "-f", "rx"}, xdpRxFrames, xdpRxFrames, false},
		{[]string{"-i", "xdp:eth0", "-f", "rxseq", "-xdp-frames", "1024"}, 1024, 1024, false},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-xdp-frames", "65536"}, 65536, 65536, false},
		{[]string{"-i", "xdp:eth0", "-f", "tx"}, 0, 0, true}, // the library's defaults
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		x := xdpSocketConfig(cfg, 3)
		if x.Queue != 3 || x.Frames != c.frames || x.RxSize != c.rxSize || x.TxOnly != c.txOnly || x.RxOnly == c.txOnly {
			t.Errorf("%q: socket config %+v, want %d frames, RX ring %d, TX only %v", c.args, x, c.frames, c.rxSize, c.txOnly)
		}
	}
}

// The final JSON object is pinned: keys and values for a known sample.
func TestReportJSONGolden(t *testing.T) {
	for _, c := range []struct {
		fn, want string
		cpu      bool
	}{
		{"tx", `{"func":"tx","final":true,"packets":3000000,"bytes":180000000,"seconds":2,"pps":1500000,"bps":720000000,"avg_batch":500,"heap_allocs":42,"cpu_ns":1500000000}` + "\n", true},
		{"rxseq", `{"func":"rxseq","final":true,"packets":3000000,"bytes":180000000,"seconds":2,"pps":1500000,"bps":720000000,"avg_batch":500,"lost":7,"duplicated":1,"reordered":2,"heap_allocs":42}` + "\n", false},
	} {
		var out bytes.Buffer
		r := &reporter{cfg: &config{mode: modeOf(c.fn), json: true}, out: &out}
		t0 := time.Unix(1000, 0)
		r.start = sample{at: t0, allocs: 100, cpu: 500_000_000, cpuOK: c.cpu}
		r.final(sample{packets: 3_000_000, bytes: 180_000_000, batches: 6000, lost: 7, dup: 1, reordered: 2, allocs: 142,
			cpu: 2_000_000_000, cpuOK: c.cpu, at: t0.Add(2 * time.Second)})
		if out.String() != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.fn, out.String(), c.want)
		}
	}
}

// processCPU counts the CPU time of the process's threads on Linux.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("processCPU reads Linux's /proc/self/task/*/schedstat")
	}
	a, ok := processCPU()
	if !ok {
		t.Fatal("processCPU: no figure on Linux")
	}
	// Spin (CPU time, not sleep) until it has gone up by a millisecond; on
	// a loaded host that takes longer than a millisecond of wall time,
	// but not ten seconds.
	start := time.Now()
	for b := a; b < a+1_000_000; b, _ = processCPU() {
		if b < a {
			t.Fatalf("CPU time went back from %d to %d ns", a, b)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("10 s of spinning moved the CPU time from %d to %d ns", a, b)
		}
	}
}

func TestReportText(t *testing.T) {
	var out bytes.Buffer
	r := &reporter{cfg: &config{mode: modeOf("tx")}, out: &out}
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
	var dup, reord int64
	for _, s := range []uint32{10, 11, 12, 15, 13, 13, 16, 14, 20, 5} {
		l, d, o := w.add(s)
		lost, dup, reord = lost+l, dup+d, reord+o
	}
	// 10 11 12 | 15 skips 13,14 (lost 2) | 13 late (reordered, lost 1) |
	// 13 again (dup) | 16 | 14 late (reordered, lost 0) | 20 skips 17-19 (lost 3) |
	// 5 is before the first, by less than the run spans: old, a dup
	// (further before, it would be held as a stale start's: TestSeqStaleStart)
	if lost != 3 || dup != 2 || reord != 2 {
		t.Errorf("lost %d dup %d reordered %d, want 3 2 2", lost, dup, reord)
	}
	// A jump of a window or more counts once the next packet follows it:
	// a stray frame read as a number far ahead is not taken, a real
	// jump is, with the held packet received.
	var w3 seqWindow
	var l3 int64
	var d3, o3 int64
	for _, s := range []uint32{0, 1, 2, 305431552, 3, 4, 70004, 70005, 70006} {
		l, d, o := w3.add(s)
		l3, d3, o3 = l3+l, d3+d, o3+o
	}
	if l3 != 69999 || d3 != 0 || o3 != 0 || w3.span != 70007 {
		t.Errorf("a stray number then a real jump: lost %d dup %d reordered %d span %d, want 69999 0 0 70007", l3, d3, o3, w3.span)
	}
	// clearRange forgets exactly the numbers a bit-by-bit loop would.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var a, b seqBitmap
		for i := range a.seen {
			a.seen[i] = rng.Uint64()
		}
		b.seen = a.seen
		s, n := rng.Uint32(), rng.Uint32N(seqWin)
		if rng.IntN(4) == 0 {
			n = rng.Uint32N(130)
		}
		a.clearRange(s, n)
		for k := uint32(0); k < n; k++ {
			wd, bit := b.bit(s + k)
			*wd &^= bit
		}
		if a.seen != b.seen {
			t.Fatalf("clearRange(%d, %d) differs from clearing bit by bit", s, n)
		}
	}
	// Wrap-around of the 32-bit sequence is in order.
	var w2 seqWindow
	for _, s := range []uint32{^uint32(0) - 1, ^uint32(0), 0, 1} {
		if l, d, o := w2.add(s); l != 0 || d != 0 || o != 0 {
			t.Errorf("wrap at %d: %d %d %d", s, l, d, o)
		}
	}
}

// seqRun adds nums to a window that takes need numbers (-n) and returns
// the sums of the counters it changed.
func seqRun(need uint64, nums ...uint32) (w *seqWindow, lost, dup, reord int64) {
	w = &seqWindow{need: need}
	for _, s := range nums {
		l, d, o := w.add(s)
		lost, dup, reord = lost+l, dup+d, reord+o
	}
	return w, lost, dup, reord
}

// seqCase is numbers given to a seqWindow (with -n need) and what it must
// count of them: lost, duplicated, reordered, and the numbers it spans.
type seqCase struct {
	name       string
	need       uint64
	nums       []uint32
	lost       int64
	dup, reord int64
	span       uint64
}

// checkSeqCases runs each case through a new window (seqRun) and checks
// its counts.
func checkSeqCases(t *testing.T, cases []seqCase) {
	t.Helper()
	for _, c := range cases {
		w, lost, dup, reord := seqRun(c.need, c.nums...)
		if lost != c.lost || dup != c.dup || reord != c.reord || w.span != c.span {
			t.Errorf("%s, %v: lost %d dup %d reordered %d span %d, want %d %d %d %d", c.name, c.nums, lost, dup, reord, w.span, c.lost, c.dup, c.reord, c.span)
		}
	}
}

// A number is believed once another follows it (RFC 3550, appendix A.1),
// the run's first number too: a stray frame before the sender's first
// packet (another sender's, or an old one left in a ring) is not taken
// for the start, which would count every real packet stale (a stray
// ahead) or as a jump of up to 2^31 lost (a stray behind).
func TestSeqProbation(t *testing.T) {
	const stray = 305431552
	checkSeqCases(t, []seqCase{
		{"a stray ahead before the first", 0, []uint32{stray, 0, 1, 2, 3}, 0, 0, 0, 4},
		{"a stray behind before the first", 0, []uint32{0x80000100, 0, 1, 2, 3}, 0, 0, 0, 4},
		{"the first lost", 0, []uint32{1, 2, 3}, 0, 0, 0, 3},
		{"the first two swapped", 0, []uint32{1, 0, 2, 3}, 0, 0, 1, 4},
		{"the first three after the fourth", 0, []uint32{3, 0, 1, 2, 4}, 0, 0, 3, 5},
		{"a lone number, held", 0, []uint32{7}, 0, 0, 0, 0},
		{"a lone number with -n 1, taken", 1, []uint32{7}, 0, 0, 0, 1},
		// Two strays in sequence (another sender's run) pass for a jump,
		// until the numbers before it go on: the jump is taken back.
		{"two strays in sequence between 2 and 3", 0, []uint32{0, 1, 2, stray, stray + 1, 3, 4, 5}, 0, 0, 0, 6},
		{"two strays in sequence, then a real jump", 0, []uint32{0, 1, 2, stray, stray + 1, 3, 4, 70004, 70005}, 69999, 0, 0, 70006},
		// A jump is confirmed by a number near it: the held packet is
		// received, the numbers between it and the next lost.
		{"the second packet lost", 0, []uint32{0, 2, 3}, 1, 0, 0, 4},
		{"a jump whose follower is lost", 0, []uint32{0, 1, 2, 70000, 70002, 70003}, 69998, 0, 0, 70004},
		{"a jump whose follower came first", 0, []uint32{0, 1, 2, 70001, 70000, 70002}, 69997, 0, 1, 70003},
		// A jump to the run's last number (-n) has no follower: taken.
		{"a jump to -n's last number", 70001, []uint32{0, 1, 2, 70000}, 69997, 0, 0, 70001},
		{"a jump not to -n's last number", 70002, []uint32{0, 1, 2, 70000}, 0, 0, 0, 3},
	})
}

// The numbers rxseq counts are the wire's: whatever they are, the window
// neither panics nor counts more than came. Each 4 octets are a number:
// with the top two bits clear, a step of -128..127 from the last (runs,
// gaps, reordering), else the octets themselves (strays, jumps). Lost
// never goes below 0 nor above the numbers spanned, and the numbers
// received (spanned less lost) are at most the packets given.
func FuzzSeqWindow(f *testing.F) {
	f.Add(uint8(0), []byte{0, 0, 0, 128, 0, 0, 0, 129, 0, 0, 0, 130})
	f.Add(uint8(0), []byte{0x50, 0, 0, 0, 0, 0, 0, 128, 0, 0, 0, 129, 0x50, 0, 0, 0, 0, 0, 0, 129, 0, 0, 0, 129})
	f.Add(uint8(3), []byte{0, 0, 0, 129, 0, 0, 0, 127, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	// As seqModel reads it: 0, 1, 3, 2, 4, 4, 0, 4, 8 (-n 6: 8 is past its last).
	f.Add(uint8(6), []byte{130, 127, 130, 128, 120, 136, 132, 1, 1, 1})
	f.Fuzz(func(t *testing.T, need uint8, b []byte) {
		b = b[:min(len(b), 4096)] // a jump clears 8 KiB: keep an input's cost small
		b0 := b
		w := &seqWindow{need: uint64(need)}
		var lost, dup, reord, packets int64
		last := uint32(0)
		for ; len(b) >= 4; b = b[4:] {
			v := binary.BigEndian.Uint32(b)
			s := v
			if v>>30 == 0 {
				s = last + v&0xff - 128
			}
			last = s
			l, d, o := w.add(s)
			lost, dup, reord, packets = lost+l, dup+d, reord+o, packets+1
			if lost < 0 || dup < 0 || reord < 0 || uint64(lost) > w.span || w.span-uint64(lost) > uint64(packets) || dup+reord > packets {
				t.Fatalf("after %d packets, the last %d: lost %d dup %d reordered %d span %d", packets, s, lost, dup, reord, w.span)
			}
		}
		seqModel(t, need, b0)
	})
}

// seqModel feeds a window 0, 1, then up to 254 numbers each a step of
// -128..127 (a byte of b) from the last, but never further before 0 (the
// run's first) than the run spans (further, a number is held as a stale
// start's: TestSeqStaleStart): a run that stays within the window, jumps
// none, so its counts are exactly a set's. The model: a number at or
// after the next expected skips the numbers between (lost) unless it is
// past -n's last (a frame only); one before the run's first is a
// duplicate; one behind the next is a duplicate if it came, else
// reordered and one less lost.
func seqModel(t *testing.T, need uint8, b []byte) {
	w := &seqWindow{need: uint64(need)}
	seen := map[int]bool{}
	next := 0
	var lost, mlost int64
	var dup, reord, mdup, mreord int64
	steps := b[:min(len(b), 254)]
	var nums []int
	for i := range len(steps) + 2 {
		v := i // 0, 1
		if i >= 2 {
			// Never further before the run's first (0) than the run
			// spans (next): a number there, and one near it, restart the
			// run (a stale start's, TestSeqStaleStart).
			v = max(nums[i-1]+int(steps[i-2])-128, -next)
		}
		nums = append(nums, v)
		l, d, o := w.add(uint32(int32(v)))
		lost, dup, reord = lost+l, dup+d, reord+o
		switch {
		case i == 0: // held until 1 confirms it, or taken with -n 1
			seen[0], next = true, 1
		case v >= next && need != 0 && v >= int(need):
		case v >= next:
			mlost += int64(v - next)
			seen[v], next = true, v+1
		case v < 0 || seen[v]:
			mdup++
		default:
			seen[v] = true
			mlost--
			mreord++
		}
		if i > 0 && (lost != mlost || dup != mdup || reord != mreord || w.span != uint64(next)) {
			t.Fatalf("%v, -n %d, after %d: lost %d dup %d reordered %d span %d, want %d %d %d %d", nums[:i+1], need, v, lost, dup, reord, w.span, mlost, mdup, mreord, next)
		}
	}
}

// txseqGen is txseq's frame generator with -l and -s ranges.
func txseqGen(t *testing.T) *gen {
	t.Helper()
	cfg, err := parseFlags([]string{"-i", "x", "-f", "txseq", "-l", "60-1500", "-s", "10.0.0.1:1-10.0.0.9:9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	g, err := newGen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The send and receive loops' per-batch work allocates nothing, checked on
// a heap region laid out like netmap's: fill, publish, (kernel moves the
// frames to the RX ring), acquire, drain with sequence checks, release.
func TestLoopsAllocs(t *testing.T) {
	tx, rx, sync := txRingPair(t)
	g := txseqGen(t)
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
		sync()
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
// rxseq, counted. Loopback loses a datagram only when the receiver's
// socket buffer is full (a receiver the host keeps off its CPU, as the
// race detector on a loaded host does at 20,000 packets/s), and the kernel
// counts each (RcvbufErrors): so every packet missing must be one the
// kernel dropped, rxseq's lost count must agree with what is missing,
// and nothing may be duplicated or reordered. rxseq -n ends at the
// sender's last packet, the lost ones counted; when the last ones are
// lost it would wait for them, so the test ends it as a signal does, once
// its socket's queue has been empty for a second, and reads the final
// report it prints then.
func TestUDPSeqLoopback(t *testing.T) {
	const n = 20000
	port := freeUDPPort(t)
	rxArgs := []string{"-i", "udp:127.0.0.1:" + port, "-f", "rxseq", "-n", strconv.Itoa(n), "-q", "-json"}
	txArgs := []string{"-i", "udp:127.0.0.1:" + port, "-f", "txseq", "-n", strconv.Itoa(n), "-R", "20000", "-l", "60,200", "-q"}
	drops := udpRcvbufErrors()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rxOut, rxErr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- cli(ctx, rxArgs, &rxOut, &rxErr) }()
	waitUDPBound(t, port)
	var txErr bytes.Buffer
	if code := cli(context.Background(), txArgs, io.Discard, &txErr); code != 0 {
		t.Fatalf("tx exit %d: %s", code, txErr.String())
	}
	code, ended := waitDrained(t, port, done, cancel)
	if code != 0 {
		t.Fatalf("rx exit %d: %s", code, rxErr.String())
	}
	counted := udpRcvbufErrors() - drops
	var rep struct {
		Final                 bool
		Packets, Lost         uint64
		Duplicated, Reordered uint64
	}
	if err := json.Unmarshal(bytes.TrimSpace(rxOut.Bytes()), &rep); err != nil || !rep.Final {
		t.Fatalf("rxseq final report %q: %v", rxOut.String(), err)
	}
	missing := n - int64(rep.Packets)
	t.Logf("rxseq (ended by its count: %v): %s; the kernel counted %d receive buffer drops meanwhile", ended, bytes.TrimSpace(rxOut.Bytes()), counted)
	switch {
	case rep.Duplicated != 0 || rep.Reordered != 0 || missing < 0:
		t.Errorf("rxseq saw %d packets of %d, %d duplicated, %d reordered: loopback does neither", rep.Packets, n, rep.Duplicated, rep.Reordered)
	case int64(rep.Lost) > missing || ended && int64(rep.Lost) != missing:
		t.Errorf("rxseq counted %d lost; %d of %d are missing", rep.Lost, missing, n)
	case missing == 0 && !ended:
		t.Errorf("rxseq got all %d packets and did not end by its count (-n)", n)
	case missing > 0 && counted < missing:
		t.Errorf("%d of %d packets missing, and the kernel counted %d dropped for a full receive buffer: lost elsewhere", missing, n, counted)
	}
}

// waitDrained waits for a udp: receiver on port that sends its exit code
// to done, after its sender has finished: it ends by itself, or it is
// ended (cancel, as a signal would) once its socket's receive queue has
// been empty for a second, for it waits for packets that were lost.
// ended says whether it ended by itself.
func waitDrained(t *testing.T, port string, done <-chan int, cancel func()) (code int, ended bool) {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	empty := time.Now()
	for deadline := time.Now().Add(60 * time.Second); ; {
		select {
		case code := <-done:
			return code, true
		case <-time.After(10 * time.Millisecond):
		}
		if fs := procUDP(t, p); fs != nil && !strings.HasSuffix(fs[4], ":00000000") {
			empty = time.Now()
		}
		if time.Since(empty) > time.Second {
			cancel()
			return <-done, false
		}
		if time.Now().After(deadline) {
			t.Fatal("the receiver's socket queue did not empty in 60 s")
		}
	}
}

// freeUDPPort returns a UDP port that was free a moment ago, reserved for
// t until it ends (internal/porttest): no other test of this process, nor
// of another using porttest, is handed it, and it is below the ephemeral
// range. Before, it was a port of 127.0.0.1 the kernel had found free and
// the test closed before nmbench bound it: the kernel could give it to any
// other socket meanwhile.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	return strconv.Itoa(int(porttest.UDP(t, 1)))
}

// waitUDPBound waits until a UDP socket of this network namespace is
// bound to port (a receiver started in a goroutine of this process), as
// /proc/self/net/udp shows: a fixed head start was not enough on a busy
// host.
func waitUDPBound(t *testing.T, port string) {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if procUDP(t, p) != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no UDP socket bound to port %d after 30 s", p)
		}
	}
}

// procUDP returns the fields of the line of /proc/self/net/udp whose
// socket is bound to port, nil if there is none: sl local_address
// rem_address st tx_queue:rx_queue ..., the addresses and queues in hex.
func procUDP(t *testing.T, port int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/net/udp")
	if err != nil {
		t.Fatal(err)
	}
	hexPort := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		if fs := strings.Fields(line); len(fs) > 4 && strings.HasSuffix(fs[1], hexPort) {
			return fs
		}
	}
	return nil
}

func TestLiveProgressLine(t *testing.T) {
	var out bytes.Buffer
	r := &reporter{cfg: &config{mode: modeOf("tx")}, out: &out}
	t0 := time.Unix(1000, 0)
	r.start, r.last = sample{at: t0}, sample{at: t0}
	r.live(sample{packets: 500, at: t0.Add(time.Second)}, 0.5)
	r.final(sample{packets: 1000, bytes: 60000, batches: 2, at: t0.Add(2 * time.Second)})
	got := out.String()
	if !strings.HasPrefix(got, "\r\033[K[===============               ]  50% 500 pkts 500.000 pps avg\r\033[KSent 1000 packets") {
		t.Errorf("progress output %q", got)
	}
}

// txRingPair is a 1024-slot TX ring connected to an RX ring on a heap
// region laid out like netmap's, with a sync that moves the frames.
func txRingPair(t *testing.T) (*rings.TxRing, *rings.RxRing, func()) {
	t.Helper()
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
	sync := func() {
		if err := reg.TxSync(0); err != nil {
			t.Fatal(err)
		}
		if err := reg.RxSync(0); err != nil {
			t.Fatal(err)
		}
	}
	return tx, rx, sync
}

// Frames stay valid and walk their address ranges from the first packet
// on, over the first lap of the ring (whole frames) and the later ones
// (patched), with and without -r, which leaves the payload unwritten.
func TestGenFrames(t *testing.T) {
	for _, z := range []bool{false, true} {
		args := []string{"-i", "x", "-f", "tx", "-l", "60,100,140", "-s", "10.0.0.1:1-10.0.0.2:3", "-d", "10.1.0.1:7"}
		if z {
			args = append(args, "-r")
		}
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		g, err := newGen(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tx, rx, sync := txRingPair(t)
		g.warm = tx.NumSlots()
		i := 0
		for lap := 0; lap < 3*tx.NumSlots()/256; lap++ {
			n, err := tx.Reserve(256)
			if err != nil || n != 256 {
				t.Fatalf("Reserve: %d %v", n, err)
			}
			g.fill(tx, n)
			tx.Publish(n)
			sync()
			m, err := rx.Acquire(256)
			if err != nil || m != n {
				t.Fatalf("Acquire: %d of %d, %v", m, n, err)
			}
			for k := range m {
				p, err := rx.Packet(k)
				if err != nil {
					t.Fatal(err)
				}
				wantLen := []int{60, 100, 140}[i%3]
				wantSrc := []string{"10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3", "10.0.0.2:1", "10.0.0.2:2", "10.0.0.2:3"}[i%6]
				pkt := gopacket.NewPacket(p, layers.LayerTypeEthernet, gopacket.Default)
				ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
				if ip == nil || udp == nil || pkt.ErrorLayer() != nil {
					t.Fatalf("-r %v, packet %d: not Ethernet/IPv4/UDP: %v", z, i, pkt)
				}
				src := fmt.Sprintf("%v:%d", ip.SrcIP, udp.SrcPort)
				if len(p) != wantLen || int(ip.Length) != wantLen-14 || int(udp.Length) != wantLen-34 || src != wantSrc {
					t.Fatalf("-r %v, packet %d: %d bytes, IPv4 length %d, UDP length %d, from %s; want %d bytes from %s",
						z, i, len(p), ip.Length, udp.Length, src, wantLen, wantSrc)
				}
				if got := ip.Checksum; got != ipv4Checksum(p[14:34]) {
					t.Fatalf("-r %v, packet %d: IPv4 checksum %#04x is wrong", z, i, got)
				}
				payload := p[packet.UDPHdrLen:]
				if written := payload[0] != 0; written == z {
					t.Fatalf("-r %v, packet %d: payload starts %q", z, i, payload[:8])
				}
				i++
			}
			rx.Release(m)
		}
	}
}

// ipv4Checksum returns the checksum the header h should carry.
func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		if i != 10 {
			sum += uint32(h[i])<<8 | uint32(h[i+1])
		}
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// pkt-gen's flag forms: -T in plain milliseconds (pkt-gen's report_ms),
// -t and -w in plain seconds, all three also as durations with a unit;
// errors are one line that points at -h, not the usage, which gives each
// default once.
func TestFlagForms(t *testing.T) {
	for _, c := range []struct {
		args     []string
		interval time.Duration
		duration time.Duration
		wait     time.Duration
	}{
		{[]string{"-T", "2000", "-t", "0.5", "-w", "1.5"}, 2 * time.Second, 500 * time.Millisecond, 1500 * time.Millisecond},
		{[]string{"-T", "250ms", "-t", "1m", "-w", "100ms"}, 250 * time.Millisecond, time.Minute, 100 * time.Millisecond},
		{[]string{"-T", "12.5", "-w", "0"}, 12500 * time.Microsecond, 0, 0},
		{nil, time.Second, 0, 0},
	} {
		cfg, err := parseFlags(append([]string{"-i", "vale0:a"}, c.args...), io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		if cfg.interval != c.interval || cfg.duration != c.duration || cfg.wait != c.wait {
			t.Errorf("%q: -T %v -t %v -w %v, want %v %v %v", c.args, cfg.interval, cfg.duration, cfg.wait, c.interval, c.duration, c.wait)
		}
	}
	if cfg, err := parseFlags([]string{"-i", "netmap:eth0"}, io.Discard); err != nil || cfg.wait != 2*time.Second {
		t.Errorf("a NIC: -w %v (%v), want 2s by default", cfg.wait, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-T", "x"}, "-T"},
		{[]string{"-T", "2"}, "-T 2ms: report interval must be at least 10ms"},
		{[]string{"-w", "-1"}, "-w -1s: must be >= 0"},
		{[]string{"-w", "x"}, "-w"},
		{[]string{"-t", "NaN"}, "-t"},
		{[]string{"-t", "1e300"}, "-t"},
		// The largest float64 under math.MaxInt64 ns: times 1e9 it
		// rounds to 2^63, once converted to a negative duration, which
		// was refused as "-t -2562047h47m16.854775808s: duration must
		// be >= 0" (and -T's as "at least 10ms").
		{[]string{"-t", "9223372036.854776"}, "flag -t: not a number of seconds"},
		{[]string{"-T", "9223372036854.776"}, "flag -T: not a number of milliseconds"},
		{[]string{"-n", "abc"}, "-n"},
		{[]string{"-bogus"}, "-bogus"},
		{[]string{"-r", "-f", "txseq"}, "-r: txseq writes its sequence numbers"},
		// pkt-gen's -z and -Z (random source and destination) are not
		// nmbench's; its rubbish payload is -r, as pkt-gen's.
		{[]string{"-Z", "-f", "tx"}, "-Z: random destination addresses and ports (pkt-gen's -Z) are not supported: -d takes a range, walked in order; a payload left unwritten (rubbish) is -r"},
		{[]string{"-z", "-f", "tx"}, "-z: random source addresses and ports (pkt-gen's -z) are not supported: -s takes a range"},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), append([]string{"-i", "vale0:a"}, c.args...), &stdout, &stderr)
		msg := stderr.String()
		if code != 2 || strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "nmbench: ") || !strings.Contains(msg, c.want) {
			t.Errorf("%q: exit %d, stderr %q: want one line naming %s and exit 2", c.args, code, msg, c.want)
		}
	}
	var stderr bytes.Buffer
	if code := cli(context.Background(), []string{"-h"}, io.Discard, &stderr); code != 0 || !strings.Contains(stderr.String(), "-T milliseconds") {
		t.Errorf("-h: exit %d, usage %q", code, stderr.String())
	}
	_, w, _ := strings.Cut(stderr.String(), "\n  -w ")
	w, _, _ = strings.Cut(w, "\n  -")
	if strings.Count(w, "default") != 1 || !strings.Contains(w, "default 2 for a NIC") {
		t.Errorf("-h: the -w entry gives its default %d times: %q", strings.Count(w, "default"), w)
	}
	// Every backend that defaults to 0 is named in the entry.
	w = strings.Join(strings.Fields(w), " ")
	for _, c := range []struct{ port, name string }{{"udp:127.0.0.1:9", "udp:"}, {"pcap:x", "pcap:"}, {"xdp:eth0", "xdp:"}, {"vale0:a", "VALE"}} {
		args := []string{"-i", c.port}
		if strings.HasPrefix(c.port, "pcap:") {
			args = append(args, "-f", "vrx", "-fmt", fmt64x32)
		}
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatalf("-i %s: %v", c.port, err)
		}
		if cfg.wait != 0 || !strings.Contains(w, c.name) {
			t.Errorf("-i %s: -w %v; want 0 and %q named in -h's -w entry %q", c.port, cfg.wait, c.name, w)
		}
	}
}

// A paced sender sends its first packet at once and, at a low rate,
// still stops within a sleep's bound when its run ends.
func TestPacer(t *testing.T) {
	cfg := &config{rate: 0.01}
	p := newPacer(cfg)
	if n := p.next(512, 0); n != 1 {
		t.Fatalf("first call allows %d packets, want 1", n)
	}
	start := time.Now()
	if n := p.next(512, 1); n != 0 {
		t.Fatalf("second call allows %d packets, want 0", n)
	}
	if d := time.Since(start); d > 50*maxPaceSleep {
		t.Fatalf("a paced wait took %v", d)
	}
	// Over udp, -R 0.01 -t 300ms ends in well under the 100 s between packets.
	port := freeUDPPort(t)
	start = time.Now()
	var out, errOut bytes.Buffer
	if code := cli(context.Background(), []string{"-i", "udp:127.0.0.1:" + port, "-f", "tx", "-R", "0.01", "-t", "300ms", "-q", "-json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the run took %v", d)
	}
	if !strings.Contains(out.String(), `"packets":1,`) {
		t.Errorf("want one packet sent: %s", out.String())
	}

	// A sender 10 s behind its schedule of 1000 packets a second makes up
	// one batch, then keeps the rate.
	p = newPacer(&config{rate: 1000})
	p.start = p.start.Add(-10 * time.Second)
	if n := p.next(64, 0); n != 64 {
		t.Fatalf("behind: %d packets allowed, want one batch of 64", n)
	}
	if n := p.next(64, 64); n > 2 {
		t.Fatalf("after the batch that catches up: %d packets allowed at once", n)
	}

	// A rate whose period overflows a Duration (parseFlags refuses it;
	// the pacer must not turn it into a negative sleep and spin) still
	// sleeps its bound.
	p = newPacer(&config{rate: 1e-300})
	p.next(512, 0)
	start = time.Now()
	if n := p.next(512, 1); n != 0 {
		t.Fatalf("rate 1e-300: second call allows %d packets", n)
	}
	if d := time.Since(start); d < maxPaceSleep {
		t.Errorf("rate 1e-300: the paced wait slept %v, want %v", d, maxPaceSleep)
	}
}

// -cpuprofile writes a profile that go tool pprof reads (gzipped protobuf).
func TestCPUProfile(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	var out, errOut bytes.Buffer
	args := []string{"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "tx", "-t", "200ms", "-q", "-cpuprofile", prof}
	if code := cli(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("%s: %d bytes, not gzip: % x", prof, len(b), b[:min(len(b), 8)])
	}
	args[len(args)-1] = filepath.Join(t.TempDir(), "no", "such", "dir")
	if code := cli(context.Background(), args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "-cpuprofile") {
		t.Errorf("unwritable profile: exit %d, %q", code, errOut.String())
	}
}

// rx -n stops at the count even when a batch brings more.
func TestUDPRxCount(t *testing.T) {
	port := freeUDPPort(t)
	var rxOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "udp:127.0.0.1:" + port, "-f", "rx", "-n", "100", "-t", "20s", "-q", "-json"}, &rxOut, io.Discard)
	}()
	waitUDPBound(t, port)
	if code := cli(context.Background(), []string{"-i", "udp:127.0.0.1:" + port, "-f", "tx", "-n", "5000", "-q"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("tx exit %d", code)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("rx exit %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rx did not end")
	}
	if !strings.Contains(rxOut.String(), `"packets":100,`) {
		t.Errorf("rx -n 100: %s", rxOut.String())
	}
}

// The udp: backend's send loop allocates nothing per packet, and its
// receive loop nothing beyond x/net's ReadBatch, which parses each
// datagram's source address into a new net.UDPAddr (two allocations): a
// run of many packets allocates that much more than a run of few. Loopback
// may drop datagrams, so the receiver counts what it got and the run ends
// a moment after the sender. The figure needs the long run to deliver
// 20,000 more packets than the short one; a receiver the host keeps off
// its CPU for longer than the socket's buffer lasts (some 10,000 of these
// datagrams, 50 ms at 200,000 packets/s) loses more, so such a pair of
// runs is measured again, at half the rate, up to three times.
//
// Not under the race detector, whose sync.Pool drops objects on purpose
// (raceEnabled): x/net's batches then allocate a few objects per batch
// of send and receive (0.1 to 0.25 per packet seen for the plain Read
// loop, whose sender uses WriteBatch), which are not nmbench's.
func TestUDPLoopsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts through sync.Pool (x/net's sendmmsg/recvmmsg temporaries) are not the program's under the race detector, whose Pool drops a quarter of the objects put back")
	}
	port := freeUDPPort(t)
	// run sends txseq -n n at rate into rxseq (ours, or a plain Read loop,
	// which allocates nothing) and returns the allocations of the run and
	// the packets received.
	run := func(n, rate int, ours bool) (allocs float64, got uint64) {
		tcfg, err := parseFlags([]string{"-i", "udp:127.0.0.1:" + port, "-f", "txseq", "-n", strconv.Itoa(n), "-R", strconv.Itoa(rate), "-l", "60,200"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		rcfg, err := parseFlags([]string{"-i", "udp:127.0.0.1:" + port, "-f", "rxseq"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := udpAddr(rcfg.port)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, maxFrame)
		allocs = testing.AllocsPerRun(1, func() {
			var tst, rst stats
			rc, err := net.ListenUDP("udp4", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			_ = rc.SetReadBuffer(8 << 20) // as udpRecv
			tc, err := net.DialUDP("udp4", nil, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer tc.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			defer context.AfterFunc(ctx, func() { rc.SetReadDeadline(time.Unix(1, 0)) })()
			done := make(chan struct{})
			go func() {
				defer close(done)
				if ours {
					if err := udpRx(ctx, rcfg, rc, &rst); err != nil {
						t.Error(err)
					}
					got = rst.packets.Load()
					return
				}
				for got = 0; ; got++ {
					if _, err := rc.Read(buf); err != nil {
						return
					}
				}
			}()
			if err := udpTx(ctx, tcfg, tc, &tst); err != nil {
				t.Error(err)
			}
			time.Sleep(100 * time.Millisecond)
			cancel()
			<-done
		})
		return allocs, got
	}
	for _, c := range []struct {
		ours bool
		max  float64 // allocations per packet received
	}{{false, 0.01}, {true, 2.01}} {
		var few, many float64
		var gotFew, gotMany uint64
		for try, rate := 1, 200000; ; try, rate = try+1, rate/2 {
			drops := udpRcvbufErrors()
			few, gotFew = run(1000, rate, c.ours)
			many, gotMany = run(41000, rate, c.ours)
			if gotMany >= gotFew+20000 {
				break
			}
			counted := udpRcvbufErrors() - drops
			missed := 42000 - int64(gotFew) - int64(gotMany)
			msg := fmt.Sprintf("udpRx %v at %d packets/s: received %d of 1000 and %d of 41000 packets (the kernel counted %d receive buffer drops meanwhile)",
				c.ours, rate, gotFew, gotMany, counted)
			if try == 3 || counted < missed {
				t.Fatal(msg) // after three tries, or packets missing that the kernel did not drop
			}
			t.Log(msg + "; again at half the rate")
		}
		per := (many - few) / float64(gotMany-gotFew)
		t.Logf("udpRx %v: %v allocations for %d packets, %v for %d: %.4f per packet", c.ours, few, gotFew, many, gotMany, per)
		if per > c.max {
			t.Errorf("udpRx %v: %.4f allocations per packet, want at most %v", c.ours, per, c.max)
		}
	}
}

// udpRcvbufErrors returns the kernel's count of UDP datagrams dropped
// for a full receive buffer (RcvbufErrors in /proc/net/snmp), -1 if it
// cannot be read.
func udpRcvbufErrors() int64 {
	b, _ := os.ReadFile("/proc/net/snmp")
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) == 0 || fs[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = fs
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(fs) {
				if n, err := strconv.ParseInt(fs[i], 10, 64); err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// Receivers on several rings share rx's -n: whatever ring the packets
// arrive on, together they take exactly the count, and a ring whose
// packets stop does not hold the others' part.
func TestBudget(t *testing.T) {
	b := newBudget(100_000)
	var wg sync.WaitGroup
	var got [4]int64
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Ring i gets i+1 of every 10 packets it could take (at least
			// one); ring 0 gets nothing after its first 1000.
			for seen := 0; !b.done() && seen < 1_000_000; seen++ { // bounded: a lost claim fails, not hangs
				k := b.claim(512)
				used := min(k, max(1, k*(i+1)/10))
				if i == 0 && got[0] >= 1000 {
					used = 0
				}
				got[i] += int64(used)
				b.settle(k, used)
				if k == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	if sum := got[0] + got[1] + got[2] + got[3]; sum != 100_000 || b.left.Load() != 0 {
		t.Errorf("rings took %v, %d in all, %d left; want 100000 and 0", got, sum, b.left.Load())
	}
}

// tx to a UDP port where nothing listens: every datagram draws an ICMP port
// unreachable, which the next send reports as ECONNREFUSED. The sender
// skips and counts those sends instead of stopping after the first
// packet, and says so.
func TestUDPTxNoListener(t *testing.T) {
	port := freeUDPPort(t)
	var out, errOut bytes.Buffer
	args := []string{"-i", "udp:127.0.0.1:" + port, "-f", "tx", "-n", "50", "-R", "1000", "-t", "20s", "-q"}
	if code := cli(context.Background(), append(args, "-json"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var r report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r.Packets != 50 || r.Refused == nil || *r.Refused == 0 {
		t.Errorf("sent %d packets, %v refused; want 50 and some refused: %s", r.Packets, r.Refused, out.String())
	}
	out.Reset()
	if code := cli(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if want := "refused (ECONNREFUSED: nothing listens at 127.0.0.1:" + port + ")"; !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, out.String())
	}
}

// A send error that ends the run names the destination, not the local
// address x/net's error carries.
func TestSendErrNamesDestination(t *testing.T) {
	port := freeUDPPort(t)
	dst, _ := net.ResolveUDPAddr("udp4", "127.0.0.1:"+port)
	c, err := net.DialUDP("udp4", nil, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	msgs := []ipv4.Message{{Buffers: [][]byte{[]byte("x")}}}
	var werr error
	for i := 0; i < 100 && werr == nil; i++ { // the second send reports the first's ICMP error
		_, werr = pc.WriteBatch(msgs, 0)
		time.Sleep(time.Millisecond)
	}
	if werr == nil {
		t.Fatal("no send error from a port where nothing listens")
	}
	local := c.LocalAddr().String()
	if !strings.Contains(werr.Error(), local) {
		t.Logf("x/net's error %q does not name the local address %s any more", werr, local)
	}
	msg := sendErr(c.RemoteAddr(), werr).Error()
	if !strings.Contains(msg, "send to 127.0.0.1:"+port) || strings.Contains(msg, local) || !errors.Is(sendErr(dst, werr), syscall.ECONNREFUSED) {
		t.Errorf("error %q: want the destination 127.0.0.1:%s named, not %s, and ECONNREFUSED wrapped", msg, port, local)
	}
}

// Exit statuses are the same for every function: 2 for a usage error (a
// bad flag or value), 1 for an error at run time, each with one line on
// stderr; with -json, a run whose command line parsed ends its stdout with
// the final object and the error, whether it failed as it opened or
// later; one that did not parse prints nothing there.
func TestExitCodes(t *testing.T) {
	_, err := os.Stat("/dev/netmap")
	haveNetmap := err == nil
	busy, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := "udp:" + busy.LocalAddr().String()
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, make([]byte, 100), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		args := func(port string, more ...string) []string {
			a := []string{"-i", port, "-f", m.name}
			if m.video {
				a = append(a, "-fmt", fmt64x32)
			}
			return append(a, more...)
		}
		type run struct {
			args []string
			code int
		}
		runs := []run{
			{args("vale0:a", "-b", "0"), 2},
			{args("netmap:"), 2},
			{args("udp:127.0.0.1:99999"), 2},
			{append(args("vale0:a"), "-bogus"), 2},
		}
		if !haveNetmap {
			runs = append(runs, run{args("vale0:a"), 1})
		}
		switch {
		case m.name == "vtx":
			runs = append(runs, run{args("pcap:"+filepath.Join(dir, "no", "such", "dir.pcap"), "-frames", "1"), 1},
				run{args("pcap:"+filepath.Join(dir, "x.pcap"), "-frames", "1", "-in", filepath.Join(dir, "none")), 1},
				run{args("pcap:"+filepath.Join(dir, "x.pcap"), "-frames", "1", "-in", short), 2})
		case m.name == "vrx":
			runs = append(runs, run{args("pcap:" + filepath.Join(dir, "none.pcap")), 1}, run{args("pcap:" + short), 1},
				run{args(busyPort), 1})
		case m.udp != nil && !m.send:
			runs = append(runs, run{args(busyPort), 1})
		}
		for _, r := range runs {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			code := cli(ctx, r.args, &stdout, &stderr)
			cancel()
			if code != r.code || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("nmbench %q: exit %d, stderr %q; want %d and one line", r.args, code, stderr.String(), r.code)
			}
			jargs := append(r.args[:len(r.args):len(r.args)], "-json")
			stdout.Reset()
			stderr.Reset()
			ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			code = cli(ctx, jargs, &stdout, &stderr)
			cancel()
			if code != r.code || strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("nmbench %q: exit %d, stderr %q; want %d and one line", jargs, code, stderr.String(), r.code)
			}
			if _, perr := parseFlags(jargs, io.Discard); perr != nil {
				if stdout.Len() != 0 {
					t.Errorf("nmbench %q: stdout %q for a command line that does not parse, want nothing", jargs, stdout.String())
				}
				continue
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			var rep report
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil ||
				!rep.Final || rep.Func != m.name || rep.Error == "" || !strings.Contains(stderr.String(), rep.Error) {
				t.Errorf("nmbench %q: stdout %q (%v), stderr %q; want a last line, the final object, whose \"error\" is stderr's", jargs, stdout.String(), err, stderr.String())
			}
		}
	}
}

// -p beyond the port's rings is a usage error naming the port and its
// rings in the direction the function drives, checked on the first
// ring's registration (the kernel answers the ring it lacks with EINVAL).
func TestCheckRings(t *testing.T) {
	info := nmsys.Info{Name: "vale8:a", TxRings: 2, RxRings: 1}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "vale8:a", "-f", "tx", "-p", "3"}, "-p 3: vale8:a has 2 TX rings"},
		{[]string{"-i", "vale8:a", "-f", "rx", "-p", "2"}, "-p 2: vale8:a has 1 RX ring"},
		{[]string{"-i", "vale8:a", "-f", "tx", "-p", "2"}, ""},
		{[]string{"-i", "vale8:a", "-f", "rx"}, ""},
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		err = checkRings(cfg, info)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.want != "" && (err == nil || err.Error() != c.want || !errors.As(err, new(usageError))):
			t.Errorf("%q: %v, want the usage error %q", c.args, err, c.want)
		}
	}
}
