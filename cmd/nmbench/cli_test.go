package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// A flag that a function or a backend would ignore is refused, naming the
// flag and saying why: a pkt-gen user who gives it expects it to act.
func TestIgnoredFlagsRefused(t *testing.T) {
	const udp = "udp:127.0.0.1:9000"
	for _, c := range []struct {
		args []string
		want string
	}{
		// -spin is vtx's: the packet functions have no clock to spin on.
		{[]string{"-i", "vale0:a", "-f", "tx", "-spin", "1ms"}, "-spin: only for -f vtx and vrx"},
		{[]string{"-i", "vale0:a", "-f", "tx", "-rt", "10"}, "-rt: only for -f vtx and vrx"},
		// The udp: backend's senders write no headers: the kernel does,
		// to -i's HOST:PORT.
		{[]string{"-i", udp, "-f", "tx", "-d", "10.9.9.9:5"}, "-d: "},
		{[]string{"-i", udp, "-f", "txseq", "-s", "10.0.0.1:5-10.0.0.3:9"}, "-s: "},
		{[]string{"-i", udp, "-f", "tx", "-S", "02:00:00:00:00:09"}, "-S: "},
		{[]string{"-i", udp, "-f", "tx", "-D", "02:00:00:00:00:09"}, "-D: "},
		{[]string{"-i", udp, "-f", "vtx", "-fmt", fmt64x32, "-d", "10.9.9.9:5"}, "-d: "},
		{[]string{"-i", "udp", "-f", "vrx", "-fmt", fmt64x32, "-d", "10.9.9.9:5"}, "-d: "},
		{[]string{"-i", udp, "-f", "vtx", "-fmt", fmt64x32, "-S", "02:00:00:00:00:09"}, "-S: "},
		{[]string{"-i", udp, "-f", "vtx", "-fmt", fmt64x32, "-D", "02:00:00:00:00:09"}, "-D: "},
		{[]string{"-i", udp, "-f", "vtx", "-fmt", fmt64x32, "-s", "10.0.0.1:5"}, "-s: "},
		// -R limits a sender's rate; the receivers, pong and ping (one
		// frame at a time, the next when the echo is back) have none.
		{[]string{"-i", "vale0:a", "-f", "rx", "-R", "100"}, "-R 100: "},
		{[]string{"-i", udp, "-f", "rxseq", "-R", "100"}, "-R 100: "},
		{[]string{"-i", "vale0:a", "-f", "pong", "-R", "100"}, "-R 100: "},
		{[]string{"-i", "vale0:a", "-f", "ping", "-R", "100"}, "-R 100: "},
		// -r leaves a sender's payload unwritten; nothing to leave alone
		// in a receiver, and vtx's payload is the video.
		{[]string{"-i", "vale0:a", "-f", "rx", "-r"}, "-r: "},
		{[]string{"-i", "vale0:a", "-f", "pong", "-r"}, "-r: "},
		{[]string{"-i", udp, "-f", "vtx", "-fmt", fmt64x32, "-r"}, "-r: "},
		// pkt-gen's -l given twice is a random size between the two:
		// nmbench's is -l A-B, and a second -l must not silently win.
		{[]string{"-i", "vale0:a", "-f", "tx", "-l", "1514", "-l", "60"}, "-l A-B"},
		// The frame's length and headers are the senders': rx and
		// rxseq count what arrives, pong echoes it as it came.
		{[]string{"-i", "vale0:b", "-f", "rx", "-l", "1514"}, "-l: -f rx writes no frames of its own: it counts"},
		{[]string{"-i", "vale0:b", "-f", "rxseq", "-d", "10.9.9.9:5"}, "-d: -f rxseq writes no frames"},
		{[]string{"-i", "xdp:eth0", "-f", "rx", "-s", "10.0.0.1"}, "-s: -f rx writes no frames"},
		// vtx writes its frames' headers too (not -l: a video frame's
		// packets are as long as its format makes them).
		{[]string{"-i", "vale0:b", "-f", "rx", "-S", "02:00:00:00:00:09"}, "-l is for the senders tx, txseq and ping, -s, -d, -S and -D for those and vtx"},
		{[]string{"-i", "vale0:b", "-f", "pong", "-S", "02:00:00:00:00:09"}, "-S: -f pong writes no frames of its own: it echoes"},
		{[]string{"-i", "vale0:b", "-f", "pong", "-D", "02:00:00:00:00:09"}, "-D: -f pong"},
		{[]string{"-i", udp, "-f", "rx", "-l", "100"}, "-l: -f rx"},
		// ping has one frame in flight: no batch.
		{[]string{"-i", "vale0:a", "-f", "ping", "-b", "64"}, "-b 64: ping sends one frame at a time"},
		{[]string{"-i", "xdp:eth0", "-f", "ping", "-b", "1"}, "-b 1: ping sends one frame at a time"},
	} {
		_, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
	// What stays allowed.
	for _, args := range [][]string{
		{"-i", "vale0:a", "-f", "tx", "-R", "100", "-r", "-d", "10.9.9.9:5", "-S", "02:00:00:00:00:09"},
		{"-i", udp, "-f", "txseq", "-R", "100"},
		{"-i", "vale0:a", "-f", "ping", "-r"},
		{"-i", "vale0:a", "-f", "pong", "-b", "64"},
		{"-i", "vale0:a", "-f", "ping", "-l", "1514", "-s", "10.0.0.9", "-d", "10.0.0.8", "-S", "02:00:00:00:00:09", "-D", "02:00:00:00:00:08"},
		{"-i", "vale0:a", "-f", "txseq", "-l", "60-1514", "-d", "10.0.0.8:5-10.0.0.9:9"},
		{"-i", "vale0:a", "-f", "vtx", "-fmt", fmt64x32, "-spin", "1ms", "-d", "239.1.1.1:5004", "-S", "02:00:00:00:00:09"},
		{"-i", "pcap:x.pcap", "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-s", "10.0.0.1:5"},
		{"-i", udp, "-f", "vtx", "-fmt", fmt64x32, "-spin", "1ms", "-R", "1000"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// -w is a wait before the run, on every backend that takes it, and -t
// the length of the run after it: a run with -w 0.3 -t 0.5 lasts 0.5 s
// (the report's seconds) and ends no sooner than 0.8 s after it started.
// Only lower bounds: a loaded host makes runs longer, never shorter. The
// three runs go side by side, each on a port of its own that stays bound
// until the run starts (the parallel runs start only after all are
// set up), so that no other test or process is given it meanwhile: a
// receiver's by a socket closed just before, a sender's by the socket
// that receives its packets.
func TestWaitThenDuration(t *testing.T) {
	for _, args := range [][]string{
		{"-f", "rx"},
		{"-f", "txseq", "-R", "100"},
		{"-f", "vrx", "-fmt", fmt64x32},
	} {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
		t.Run(args[1], func(t *testing.T) {
			defer c.Close()
			t.Parallel()
			sender := args[1] == "txseq"
			args = append([]string{"-i", "udp:127.0.0.1:" + port, "-w", "0.3", "-t", "0.5", "-q", "-json"}, args...)
			if !sender { // a receiver binds the port itself
				c.Close()
			}
			var out, errOut bytes.Buffer
			start := time.Now()
			code := cli(context.Background(), args, &out, &errOut)
			took := time.Since(start)
			if code != 0 {
				t.Fatalf("%q: exit %d: %s", args, code, errOut.String())
			}
			var rep struct {
				Final   bool    `json:"final"`
				Seconds float64 `json:"seconds"`
			}
			if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil || !rep.Final {
				t.Fatalf("%q: final report %q: %v", args, out.String(), err)
			}
			if rep.Seconds < 0.49 || took < 790*time.Millisecond {
				t.Errorf("%q: a run of %.3f s, ended after %v; want -t's 0.5 s of run after -w's 0.3 s of wait", args, rep.Seconds, took)
			}
		})
	}
}

// rxseq -n counts sequence numbers: a packet lost on the way counts
// toward the count, as one received does, so that a receiver paired with
// txseq -n N ends at the sender's last packet instead of waiting for
// packets that will never come. Here 0..9 with 5 lost: rxseq -n 10 ends
// with 9 packets and 1 lost, long before its -t.
func TestRxseqCountsLost(t *testing.T) {
	rep := rxseqUDP(t, "10", func(send func(seq uint32, size int)) {
		for s := range uint32(10) {
			if s != 5 {
				send(s, 18)
			}
		}
	})
	if rep.Packets != 9 || rep.Lost != 1 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 10 of 0..9 without 5: %+v; want 9 packets, 1 lost, ended before -t", rep)
	}
}

// rxseq -n counts sequence numbers only: a datagram too short to carry
// one (as a frame of another protocol on a netmap port) is received and
// counted, but does not stand for one of the numbers, or rxseq -n 3
// would end before the sender's last packet.
func TestRxseqCountsNumbers(t *testing.T) {
	rep := rxseqUDP(t, "3", func(send func(seq uint32, size int)) {
		send(0, 18)
		send(0, 2) // no number
		send(1, 18)
		send(2, 18)
	})
	if rep.Packets != 4 || rep.Lost != 0 || rep.Duplicated != 0 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 3 of 0, a datagram without a number, 1, 2: %+v; want 4 packets, none lost, ended before -t", rep)
	}
}

// rxseq's first number is held until the next follows it: a stray
// datagram before the sender's first, far ahead of it or far behind, is
// not taken for the run's start, and rxseq -n 10 ends at the sender's
// last packet with nothing lost or duplicated (a stray ahead taken counted
// every real packet stale and waited for -t; one behind counted 2^31 lost
// and ended at once).
func TestRxseqStrayFirst(t *testing.T) {
	for _, stray := range []uint32{0x01000000, 0x80000100} {
		rep := rxseqUDP(t, "10", func(send func(seq uint32, size int)) {
			send(stray, 18)
			for s := range uint32(10) {
				send(s, 18)
			}
		})
		if rep.Packets != 11 || rep.Lost != 0 || rep.Duplicated != 0 || rep.Seconds >= 19 {
			t.Errorf("rxseq -n 10 of %#x, 0..9: %+v; want 11 packets, none lost or duplicated, ended before -t", stray, rep)
		}
	}
}

// A burst of stale datagrams before the sender's first (an earlier run's
// last, left in a ring or a socket buffer: numbers ahead of the new run's
// 0) is not the run's start: rxseq -n 10 ends at the sender's last packet,
// nothing lost or duplicated (it counted every real packet a duplicate,
// before the stale numbers, and waited for -t).
func TestRxseqStaleBurst(t *testing.T) {
	rep := rxseqUDP(t, "10", func(send func(seq uint32, size int)) {
		for s := range uint32(3) {
			send(1000+s, 18)
		}
		for s := range uint32(10) {
			send(s, 18)
		}
	})
	if rep.Packets != 13 || rep.Lost != 0 || rep.Duplicated != 0 || rep.Reordered != 0 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 10 of 1000..1002, 0..9: %+v; want 13 packets, none lost, duplicated or reordered, ended before -t", rep)
	}
}

// Two stray datagrams with numbers in sequence (another sender's) pass
// for a jump until the sender's numbers go on: rxseq -n 10 then takes the
// jump back and ends at the sender's last packet, nothing lost (it counted
// the jump, 2^28 lost, and ended at once).
func TestRxseqStrayPair(t *testing.T) {
	rep := rxseqUDP(t, "10", func(send func(seq uint32, size int)) {
		for s := range uint32(10) {
			if s == 5 {
				send(0x10000000, 18)
				send(0x10000001, 18)
			}
			send(s, 18)
		}
	})
	if rep.Packets != 12 || rep.Lost != 0 || rep.Duplicated != 0 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 10 of 0..4, %#x, %#x, 5..9: %+v; want 12 packets, none lost or duplicated, ended before -t", 0x10000000, 0x10000001, rep)
	}
}

// The stray pair again, each datagram in a batch of its own (the receiver
// waits between them, as at a low rate): the pair confirmed as a jump at
// the end of a batch ended the -n run with 2^28 lost before the numbers
// after it could take it back. A number past -n's last is a frame only.
func TestRxseqStrayPairSplit(t *testing.T) {
	rep := rxseqUDP(t, "10", func(send func(seq uint32, size int)) {
		for s := range uint32(10) {
			if s == 5 {
				send(0x10000000, 18)
				time.Sleep(50 * time.Millisecond)
				send(0x10000001, 18)
				time.Sleep(50 * time.Millisecond)
			}
			send(s, 18)
			time.Sleep(50 * time.Millisecond)
		}
	})
	if rep.Packets != 12 || rep.Lost != 0 || rep.Duplicated != 0 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 10 of 0..4, %#x, %#x, 5..9, paced: %+v; want 12 packets, none lost or duplicated, ended before -t", 0x10000000, 0x10000001, rep)
	}
}

// A jump of a window or more is held until a number near it follows; the
// sender's last packet has none, so a jump to -n's last number is taken
// at once: rxseq -n 70001 of 0, 1, 2, 70000 ends with 69997 lost (it held
// 70000 and waited for -t).
func TestRxseqJumpToLast(t *testing.T) {
	rep := rxseqUDP(t, "70001", func(send func(seq uint32, size int)) {
		for _, s := range []uint32{0, 1, 2, 70000} {
			send(s, 18)
		}
	})
	if rep.Packets != 4 || rep.Lost != 69997 || rep.Duplicated != 0 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 70001 of 0, 1, 2, 70000: %+v; want 4 packets, 69997 lost, ended before -t", rep)
	}
}

// A run whose first two packets arrive swapped counts one reordered and
// ends at the sender's last packet (it counted the first one stale and
// waited for -t for a number it had already received).
func TestRxseqSwappedStart(t *testing.T) {
	rep := rxseqUDP(t, "4", func(send func(seq uint32, size int)) {
		for _, s := range []uint32{1, 0, 2, 3} {
			send(s, 18)
		}
	})
	if rep.Packets != 4 || rep.Lost != 0 || rep.Duplicated != 0 || rep.Reordered != 1 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 4 of 1, 0, 2, 3: %+v; want 4 packets, 1 reordered, ended before -t", rep)
	}
}

// With -n 1 there is no second number to confirm the first: rxseq takes
// it at once and ends.
func TestRxseqOne(t *testing.T) {
	rep := rxseqUDP(t, "1", func(send func(seq uint32, size int)) {
		send(7, 18)
	})
	if rep.Packets != 1 || rep.Lost != 0 || rep.Seconds >= 19 {
		t.Errorf("rxseq -n 1 of 7: %+v; want 1 packet, ended before -t", rep)
	}
}

type seqReport struct {
	Packets, Lost, Duplicated, Reordered uint64
	Seconds                              float64
}

// rxseqUDP runs rxseq -n n -t 20 over udp: on loopback, sends it
// datagrams through send (the sequence number, then zeros to size
// octets), and returns its final report.
func rxseqUDP(t *testing.T, n string, datagrams func(send func(seq uint32, size int))) seqReport {
	t.Helper()
	port := freeUDPPort(t)
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "udp:127.0.0.1:" + port, "-f", "rxseq", "-n", n, "-t", "20", "-q", "-json"}, &out, &errOut)
	}()
	waitUDPBound(t, port)
	c, err := net.Dial("udp4", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	datagrams(func(seq uint32, size int) {
		b := make([]byte, max(size, 4))
		binary.BigEndian.PutUint32(b, seq)
		if _, err := c.Write(b[:size]); err != nil {
			t.Fatal(err)
		}
	})
	if code := <-done; code != 0 {
		t.Fatalf("rxseq exit %d: %s", code, errOut.String())
	}
	var rep seqReport
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil {
		t.Fatalf("final report %q: %v", out.String(), err)
	}
	return rep
}

// A run that fails still prints its final report, and the report says it
// failed: with -json, a consumer of the lines (not of the exit status)
// must not take a failed run's counts for a finished one.
func TestFinalReportNamesFailure(t *testing.T) {
	for _, asJSON := range []bool{true, false} {
		cfg, err := parseFlags([]string{"-i", "udp:127.0.0.1:9", "-f", "rx", "-q"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg.json = asJSON
		failing := *cfg.mode
		failing.open = func(context.Context, *config) (work, func() error, error) {
			return func(_ context.Context, st *stats) error {
				st.packets.Add(7)
				st.batches.Add(1)
				return errors.New("rx ring: the kernel's ring is corrupt")
			}, func() error { return nil }, nil
		}
		cfg.mode = &failing
		var out bytes.Buffer
		rep, err := run(context.Background(), cfg, &out)
		if err == nil {
			t.Fatal("run: no error")
		}
		if !asJSON {
			if !strings.Contains(out.String(), "Received 7 packets") {
				t.Errorf("text: no final summary: %q", out.String())
			}
			continue
		}
		var got map[string]any
		if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &got); err != nil {
			t.Fatalf("final report %q: %v", out.String(), err)
		}
		if got["final"] != true || got["packets"] != 7.0 || got["error"] != "rx ring: the kernel's ring is corrupt" || rep.Error != got["error"] {
			t.Errorf("final report of a failed run: %s; want its counts and \"error\"", out.String())
		}
	}
}

// fakeRing is an echoRx and echoTx over frames in memory: Acquire
// offers every frame in rx, Reserve room for all.
type fakeRing struct{ rx, tx [][]byte }

func (f *fakeRing) Acquire(n int) (int, error)   { return min(n, len(f.rx)), nil }
func (f *fakeRing) Packet(i int) ([]byte, error) { return f.rx[i], nil }
func (f *fakeRing) Release(n int)                { f.rx = f.rx[n:] }
func (f *fakeRing) Reserve(n int) (int, error) {
	for len(f.tx) < n {
		f.tx = append(f.tx, make([]byte, 2048))
	}
	return n, nil
}
func (f *fakeRing) Buf(i int) []byte { return f.tx[i] }
func (f *fakeRing) SetLen(i, n int)  { f.tx[i] = f.tx[i][:n] }
func (f *fakeRing) Publish(int)      {}

// pong ended by a signal while it syncs after a batch ends cleanly, as it
// does when the signal comes while it waits: the wake-up of the sync
// (a past deadline) is not an error of the run.
func TestPongStopsCleanly(t *testing.T) {
	cfg, err := parseFlags([]string{"-i", "vale0:a", "-f", "pong"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRing{rx: [][]byte{make([]byte, 60), make([]byte, 60)}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var st stats
	err = echoLoop(ctx, cfg, &st, f, f, "ring", func() error { return nil }, func(got bool, _ uint64) error {
		if got {
			cancel() // the signal arrives during the sync after a batch
			return os.ErrDeadlineExceeded
		}
		return nil
	})
	if err != nil || st.packets.Load() != 2 {
		t.Errorf("echoLoop ended by a signal: %v after %d packets; want nil after 2", err, st.packets.Load())
	}
}

// rxseq reads sequence numbers from txseq's frames only: IPv4 UDP. Other
// frames a port receives (ARP, an IPv6 router solicitation on a veth,
// LLDP on a NIC) arrive and are counted, but carry no number: reading
// their octets as one counted a jump of up to 2^31 packets lost, and the
// real frames after it as duplicates.
func TestRxseqIgnoresForeignFrames(t *testing.T) {
	tx, rx, sync := txRingPair(t)
	udpFrame := func(seq uint32) []byte {
		f := make([]byte, 60)
		f[12], f[13], f[14], f[23] = 0x08, 0x00, 0x45, 17
		binary.BigEndian.PutUint32(f[packet.UDPHdrLen:], seq)
		return f
	}
	ipv6 := make([]byte, 70)
	ipv6[12], ipv6[13] = 0x86, 0xdd
	binary.BigEndian.PutUint32(ipv6[packet.UDPHdrLen:], 0x40000000)
	arp := make([]byte, 60)
	arp[12], arp[13] = 0x08, 0x06
	binary.BigEndian.PutUint32(arp[packet.UDPHdrLen:], 0x7fff0000)
	frames := [][]byte{udpFrame(0), ipv6, udpFrame(1), arp, udpFrame(2)}
	n, err := tx.Reserve(len(frames))
	if err != nil || n != len(frames) {
		t.Fatalf("Reserve: %d %v", n, err)
	}
	for i, f := range frames {
		copy(tx.Buf(i), f)
		tx.SetLen(i, len(f))
	}
	tx.Publish(n)
	sync()
	m, err := rx.Acquire(n)
	if err != nil || m != n {
		t.Fatalf("Acquire: %d of %d, %v", m, n, err)
	}
	var win seqWindow
	var c batchCounts
	if err := c.drain(rx, m, true, &win); err != nil {
		t.Fatal(err)
	}
	if c.lost != 0 || c.dup != 0 || c.reord != 0 || c.bytes != 4*60+70 || win.span != 3 {
		t.Errorf("frames 0, IPv6, 1, ARP, 2: lost %d, duplicated %d, reordered %d, %d octets, %d numbers; want 0 0 0 310 3", c.lost, c.dup, c.reord, c.bytes, win.span)
	}
	rx.Release(m)

	// txseq's own frames, with -l and -s ranges, carry their numbers:
	// 3..7 after the 0..2 above, a gap of 3 (lost).
	g := txseqGen(t)
	g.warm, g.seq = 8, 6
	if n, err = tx.Reserve(2); err != nil || n != 2 {
		t.Fatalf("Reserve: %d %v", n, err)
	}
	g.fill(tx, n)
	tx.Publish(n)
	sync()
	if m, err = rx.Acquire(n); err != nil || m != n {
		t.Fatalf("Acquire: %d of %d, %v", m, n, err)
	}
	c = batchCounts{}
	if err := c.drain(rx, m, true, &win); err != nil {
		t.Fatal(err)
	}
	if c.lost != 3 || win.span != 8 {
		t.Errorf("txseq frames 6 and 7 after 0..2: lost %d, %d numbers; want 3 and 8", c.lost, win.span)
	}
}

// -h says where a flag's value is not what it asks for: -b over udp: is
// at most udpMaxBatch datagrams a system call, and a vrx whose last
// frame lost its end waits for it until -t.
func TestUsageSaysLimits(t *testing.T) {
	var stderr bytes.Buffer
	if code := cli(context.Background(), []string{"-h"}, io.Discard, &stderr); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	entry := func(name string) string {
		_, e, _ := strings.Cut(stderr.String(), "\n  -"+name+" ")
		e, _, _ = strings.Cut(e, "\n  -")
		return strings.Join(strings.Fields(e), " ")
	}
	if b := entry("b"); !strings.Contains(b, "udp:") || !strings.Contains(b, strconv.Itoa(udpMaxBatch)) {
		t.Errorf("-h's -b entry %q does not give the udp: backend's limit of %d", b, udpMaxBatch)
	}
	if f := entry("frames"); !strings.Contains(f, "-t") || !strings.Contains(f, "lost") {
		t.Errorf("-h's -frames entry %q does not say that a lost last frame needs -t", f)
	}
}

// vrx's counts are the library's, from the opening on (its readers start
// there, and take packets during -w's wait): its report's time is from
// the opening too, or its rates count the wait's packets over the run's
// time alone (2 s of packets too many a second for a NIC's default -w).
func TestVrxRateCoversItsCounts(t *testing.T) {
	port := freeUDPPort(t)
	var out, errOut bytes.Buffer
	start := time.Now()
	code := cli(context.Background(), []string{"-i", "udp:127.0.0.1:" + port, "-f", "vrx", "-fmt", fmt64x32, "-w", "0.5", "-t", "0.3", "-q", "-json"}, &out, &errOut)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("vrx exit %d: %s", code, errOut.String())
	}
	var rep struct{ Seconds float64 }
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil {
		t.Fatalf("final report %q: %v", out.String(), err)
	}
	if rep.Seconds < 0.79 || rep.Seconds > took.Seconds() {
		t.Errorf("vrx -w 0.5 -t 0.3: %.3f s in the report, %v in all; want the wait and the run, 0.8 s or more", rep.Seconds, took)
	}
}

// rx over udp:GROUP:PORT joins the group, as vrx does: without a join a
// host's socket bound to a group's address receives none of its
// datagrams, and rx counted 0 packets until -t. The datagrams go out by
// the route the system has for the group and loop back to the host's own
// members; a host without one (no default route) cannot run the test.
func TestUDPRxJoinsGroup(t *testing.T) {
	const group = "239.255.77.1"
	port := freeUDPPort(t)
	c, err := net.Dial("udp4", group+":"+port)
	if err == nil {
		defer c.Close()
		_, err = c.Write([]byte("probe"))
	}
	if err != nil {
		t.Skipf("this host cannot send to %s (no route for multicast): %v", group, err)
	}
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "udp:" + group + ":" + port, "-f", "rx", "-n", "10", "-t", "5", "-q", "-json"}, &out, &errOut)
	}()
	waitUDPBound(t, port)
	var code int
	for sent := false; !sent; {
		select {
		case code = <-done:
			sent = true
		case <-time.After(20 * time.Millisecond):
			if _, err := c.Write(make([]byte, 18)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if code != 0 {
		t.Fatalf("rx exit %d: %s", code, errOut.String())
	}
	var rep struct {
		Packets uint64
		Seconds float64
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil {
		t.Fatalf("final report %q: %v", out.String(), err)
	}
	if rep.Packets != 10 || rep.Seconds >= 4.9 {
		t.Errorf("rx -n 10 on %s: %s; want 10 packets before -t", group, out.String())
	}
}

// A run that fails before its profile starts (-pcap cannot be written,
// before the port is opened; the profile cannot start, one being already
// under way, once it is) leaves no -cpuprofile file behind: it is made
// before the port is opened and removed again.
func TestCPUProfileAbandoned(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	for _, c := range []struct {
		name, pcap, want string
	}{
		{"-pcap fails", filepath.Join(dir, "nodir", "x.pcap"), "-pcap: "},
		{"profile already started", "", "-cpuprofile: "},
	} {
		cfg, err := parseFlags([]string{"-i", "udp:127.0.0.1:9", "-f", "rx", "-q", "-cpuprofile", prof}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg.pcap = c.pcap // a netmap port's flag: the port is faked below
		opened := *cfg.mode
		opened.open = func(context.Context, *config) (work, func() error, error) {
			return func(context.Context, *stats) error { return nil }, func() error { return nil }, nil
		}
		cfg.mode = &opened
		if c.pcap == "" {
			if err := pprof.StartCPUProfile(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
		_, err = run(context.Background(), cfg, io.Discard)
		if c.pcap == "" {
			pprof.StopCPUProfile()
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: run: %v; want an error starting %q", c.name, err, c.want)
		}
		if _, err := os.Stat(prof); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the profile's file after the run: %v; want none", c.name, err)
		}
	}
}

// rx's -pcap capture is opened before the port and emptied only once the
// run has opened: a run that fails before (its port does not open; its
// profile cannot start) keeps the capture of an earlier run, and removes
// one it made; a run that opens replaces it.
func TestPcapOutputBeforeRun(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "rx.pcap")
	old := bytes.Repeat([]byte("old\n"), 2000)
	errPort := errors.New("no port")
	rx := func(openErr error, busyProfile bool) error {
		t.Helper()
		args := []string{"-i", "udp:127.0.0.1:9", "-f", "rx", "-q"}
		if busyProfile {
			args = append(args, "-cpuprofile", filepath.Join(dir, "cpu.pprof"))
		}
		cfg, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg.pcap = pc // a netmap port's flag: the port is faked below
		opened := *cfg.mode
		opened.open = func(context.Context, *config) (work, func() error, error) {
			if openErr != nil {
				return nil, nil, openErr
			}
			return func(context.Context, *stats) error { return nil }, func() error { return nil }, nil
		}
		cfg.mode = &opened
		if busyProfile {
			if err := pprof.StartCPUProfile(io.Discard); err != nil {
				t.Fatal(err)
			}
			defer pprof.StopCPUProfile()
		}
		_, err = run(context.Background(), cfg, io.Discard)
		return err
	}
	if err := os.WriteFile(pc, old, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		openErr error
		busy    bool
	}{
		{"the port does not open", errPort, false},
		{"the profile cannot start", nil, true},
	} {
		if err := rx(c.openErr, c.busy); err == nil {
			t.Errorf("%s: no error", c.name)
		}
		if got, _ := os.ReadFile(pc); !bytes.Equal(got, old) {
			t.Errorf("%s: the earlier capture has %d octets, not its %d", c.name, len(got), len(old))
		}
	}
	if err := os.Remove(pc); err != nil {
		t.Fatal(err)
	}
	if err := rx(errPort, false); !errors.Is(err, errPort) {
		t.Errorf("the port does not open: %v", err)
	}
	if _, err := os.Stat(pc); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-pcap after a run whose port did not open: %v; want no file", err)
	}
	if err := os.WriteFile(pc, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rx(nil, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(pc); len(got) != 24 { // a pcap file's header, no packets
		t.Errorf("-pcap after a run: %d octets, want a capture's 24-octet header: %q", len(got), got[:min(len(got), 40)])
	}
}
