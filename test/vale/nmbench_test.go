package vale_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/nmsys"
)

// finalReport is the last JSON object nmbench -json prints.
type finalReport struct {
	Func       string  `json:"func"`
	Final      bool    `json:"final"`
	Packets    uint64  `json:"packets"`
	Lost       *uint64 `json:"lost"`
	Dup        *uint64 `json:"duplicated"`
	Reordered  *uint64 `json:"reordered"`
	RTTCount   uint64  `json:"rtt_count"`
	RTTLost    uint64  `json:"rtt_lost"`
	RTTP99     int64   `json:"rtt_p99_ns"`
	HeapAllocs *uint64 `json:"heap_allocs"`
	AvgBatch   float64 `json:"avg_batch"`
}

func lastJSON(t *testing.T, out []byte) finalReport {
	t.Helper()
	var r finalReport
	lines := regexp.MustCompile(`(?m)^\{.*\}$`).FindAll(out, -1)
	if len(lines) == 0 {
		t.Fatalf("no JSON in output:\n%s", out)
	}
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil || !r.Final {
		t.Fatalf("last JSON object %s: %v", lines[len(lines)-1], err)
	}
	return r
}

var pktgenCount = regexp.MustCompile(`(?m)^(Sent|Received) ([0-9]+) packets`)

func pktgenPackets(t *testing.T, verb string, out []byte) uint64 {
	t.Helper()
	for _, m := range pktgenCount.FindAllSubmatch(out, -1) {
		if string(m[1]) == verb {
			n, _ := strconv.ParseUint(string(m[2]), 10, 64)
			return n
		}
	}
	t.Fatalf("no %q line in pkt-gen's output:\n%s", verb, out)
	return 0
}

// start runs a receiver command, waits until it has registered its port
// (for VALE ports, by looking the port up on its switch; otherwise by
// giving it time), and returns a function that stops it with SIGINT and
// returns its output.
func start(t *testing.T, name string, args ...string) func() []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(interruptSignal) }
	cmd.WaitDelay = 5 * time.Second
	out := &safeBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	port := ""
	for i, a := range args {
		if a == "-i" && i+1 < len(args) {
			port = args[i+1]
		}
	}
	if strings.HasPrefix(port, "vale") {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, ok, _ := nmsys.ValeLookup(port); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not register %s within 10s:\n%s", name, port, out.Bytes())
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // from registration to its first wait
	} else {
		time.Sleep(500 * time.Millisecond)
	}
	return func() []byte {
		time.Sleep(300 * time.Millisecond) // let the last frames land
		cancel()
		_ = cmd.Wait()
		return out.Bytes()
	}
}

// TestNmbenchWithPktgen: nmbench tx feeds pkt-gen rx and pkt-gen tx feeds
// nmbench rx, counts matching (at a rate the receiver keeps up with, as
// VALE drops what a full ring cannot take); txseq into rxseq with 0 loss.
func TestNmbenchWithPktgen(t *testing.T) {
	nmtest.Require(t)
	pg := nmtest.Tool(t, "NMTEST_PKTGEN")
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")
	const n = 20000

	t.Run("nmbench-tx-to-pktgen-rx", func(t *testing.T) {
		// 4096 receive slots hold 200 ms of frames at this rate: room
		// for a receiver the host does not schedule for a while.
		stop := start(t, pg, "-i", "vale20:b@conf:slots=4096", "-f", "rx", "-w", "0")
		out, err := exec.Command(nb, "-i", "vale20:a", "-f", "tx", "-n", strconv.Itoa(n), "-R", "20000", "-json", "-q").CombinedOutput()
		if err != nil {
			t.Fatalf("nmbench: %v\n%s", err, out)
		}
		sent := lastJSON(t, out).Packets
		got := pktgenPackets(t, "Received", stop())
		if sent != n || got != n {
			t.Errorf("nmbench sent %d, pkt-gen received %d, want %d", sent, got, n)
		}
	})
	t.Run("pktgen-tx-to-nmbench-rx", func(t *testing.T) {
		stop := start(t, nb, "-i", "vale21:b@conf:slots=4096", "-f", "rx", "-json", "-q")
		out, err := exec.Command(pg, "-i", "vale21:a", "-f", "tx", "-n", strconv.Itoa(n), "-R", "20000", "-w", "0").CombinedOutput()
		if err != nil {
			t.Fatalf("pkt-gen: %v\n%s", err, out)
		}
		sent := pktgenPackets(t, "Sent", out)
		got := lastJSON(t, stop()).Packets
		if sent != n || got != n {
			t.Errorf("pkt-gen sent %d, nmbench received %d, want %d", sent, got, n)
		}
	})
	t.Run("pktgen-tx-to-nmbench-rx-linger", func(t *testing.T) {
		// -linger (nmsys.Idler.Linger) on VALE: every packet still
		// arrives; what it does to the batches is in the log (a rate of
		// the VM's scheduling, not asserted).
		stop := start(t, nb, "-i", "vale23:b@conf:slots=4096", "-f", "rx", "-linger", "200us", "-json", "-q")
		out, err := exec.Command(pg, "-i", "vale23:a", "-f", "tx", "-n", strconv.Itoa(n), "-R", "20000", "-w", "0").CombinedOutput()
		if err != nil {
			t.Fatalf("pkt-gen: %v\n%s", err, out)
		}
		sent := pktgenPackets(t, "Sent", out)
		rx := lastJSON(t, stop())
		if sent != n || rx.Packets != n {
			t.Errorf("pkt-gen sent %d, nmbench -linger 200us received %d, want %d", sent, rx.Packets, n)
		}
		t.Logf("nmbench rx -linger 200us at 20 kpps: %.1f packets a batch", rx.AvgBatch)
	})
	t.Run("pktgen-tx-to-nmbench-rx-pcap", func(t *testing.T) {
		// nmbench rx -pcap writes what it receives; pcapgo reads it
		// back here and .ci/run reads it with tshark.
		path := filepath.Join(outDir(t), "nmbench-rx.pcap")
		stop := start(t, nb, "-i", "vale22:b@conf:slots=4096", "-f", "rx", "-pcap", path, "-json", "-q")
		out, err := exec.Command(pg, "-i", "vale22:a", "-f", "tx", "-n", "1000", "-l", "128", "-R", "20000", "-w", "0").CombinedOutput()
		if err != nil {
			t.Fatalf("pkt-gen: %v\n%s", err, out)
		}
		if got := lastJSON(t, stop()).Packets; got != 1000 {
			t.Fatalf("nmbench received %d, want 1000", got)
		}
		frames := readPcap(t, path)
		if len(frames) != 1000 {
			t.Fatalf("%s holds %d frames, want 1000", path, len(frames))
		}
		for i, f := range frames {
			if len(f) != 128 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17 {
				t.Fatalf("frame %d: %d bytes, not the 128-byte IPv4/UDP frame pkt-gen sends: % x", i, len(f), f[:min(len(f), 34)])
			}
		}
	})
	t.Run("txseq-to-rxseq", func(t *testing.T) {
		// Over a pipe, which holds the sender back instead of dropping
		// when the receiver falls behind, so 0 loss is the only answer.
		parent := uniq("sq")
		stop := start(t, nb, "-i", "netmap:"+parent+"}1", "-f", "rxseq", "-json", "-q")
		out, err := exec.Command(nb, "-i", "netmap:"+parent+"{1", "-f", "txseq", "-n", "200000", "-l", "60-1500", "-json", "-q").CombinedOutput()
		if err != nil {
			t.Fatalf("nmbench txseq: %v\n%s", err, out)
		}
		rx := lastJSON(t, stop())
		if rx.Packets != 200000 || rx.Lost == nil || *rx.Lost != 0 || *rx.Dup != 0 || *rx.Reordered != 0 {
			t.Errorf("rxseq: %d packets, lost %v dup %v reordered %v", rx.Packets, deref(rx.Lost), deref(rx.Dup), deref(rx.Reordered))
		}
	})
}

// TestNmbenchPing: nmbench ping gets every echo from nmbench pong and from
// pkt-gen pong, and reports RTTs.
func TestNmbenchPing(t *testing.T) {
	nmtest.Require(t)
	pg := nmtest.Tool(t, "NMTEST_PKTGEN")
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")
	for _, c := range []struct {
		name string
		pong []string
	}{
		{"nmbench-pong", []string{nb, "-i", "vale24:b", "-f", "pong", "-q"}},
		{"pktgen-pong", []string{pg, "-i", "vale25:b", "-f", "pong", "-w", "0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			stop := start(t, c.pong[0], c.pong[1:]...)
			sw := c.pong[2][:len("vale24")]
			out, err := exec.Command(nb, "-i", sw+":a", "-f", "ping", "-n", "300", "-json", "-q").CombinedOutput()
			pongOut := stop()
			if err != nil {
				t.Fatalf("ping: %v\n%s\npong:\n%s", err, out, pongOut)
			}
			r := lastJSON(t, out)
			if r.RTTCount != 300 || r.RTTLost != 0 || r.Packets != 300 || r.RTTP99 <= 0 {
				t.Errorf("ping report %+v", r)
			}
			t.Logf("%d echoes, p99 %v", r.RTTCount, time.Duration(r.RTTP99))
		})
	}
}

// TestNmbenchAllocs: nmbench's send and receive loops allocate nothing per
// packet, nor per batch, on real netmap memory. nmbench reports the heap
// objects its process allocated during a run; a run of 1,000,000 frames
// over a pipe allocates as much as one of 10,000, within 200 objects for
// reports and the runtime (runs here differ by 0 to 27). One small
// allocation per receive pass put 504 in that gap (the runtime packs
// small objects 16 bytes to a block, so per batch is not 2000).
//
// The receiver runs with -linger 50us too (nmsys.Idler.Linger): a linger
// allocates nothing either.
func TestNmbenchAllocs(t *testing.T) {
	nmtest.Require(t)
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")
	for _, linger := range []string{"0", "50us"} {
		t.Run("linger-"+linger, func(t *testing.T) { testNmbenchAllocs(t, nb, linger) })
	}
}

func testNmbenchAllocs(t *testing.T, nb, linger string) {
	run := func(n int) (tx, rx finalReport) {
		parent := uniq("al")
		stop := start(t, nb, "-i", "netmap:"+parent+"}1", "-f", "rx", "-n", strconv.Itoa(n), "-linger", linger, "-json", "-q")
		out, err := exec.Command(nb, "-i", "netmap:"+parent+"{1", "-f", "tx", "-n", strconv.Itoa(n), "-l", "60,1500", "-json", "-q").CombinedOutput()
		if err != nil {
			t.Fatalf("tx: %v\n%s", err, out)
		}
		tx, rx = lastJSON(t, out), lastJSON(t, stop())
		if tx.Packets != uint64(n) || rx.Packets != uint64(n) || tx.HeapAllocs == nil || rx.HeapAllocs == nil {
			t.Fatalf("-n %d: sent %d, received %d, heap_allocs %v and %v", n, tx.Packets, rx.Packets, deref(tx.HeapAllocs), deref(rx.HeapAllocs))
		}
		return tx, rx
	}
	tx0, rx0 := run(10_000)
	tx1, rx1 := run(1_000_000)
	for _, c := range []struct {
		name      string
		few, many uint64
	}{{"tx", *tx0.HeapAllocs, *tx1.HeapAllocs}, {"rx", *rx0.HeapAllocs, *rx1.HeapAllocs}} {
		gap := int64(c.many) - int64(c.few)
		t.Logf("%s: %d heap objects for 10,000 frames, %d for 1,000,000", c.name, c.few, c.many)
		if gap > 200 {
			t.Errorf("%s: %d more heap objects for 990,000 more frames (%.5f per frame), want none", c.name, gap, float64(gap)/990_000)
		}
	}
}

// TestNmbenchParallelTooMany: -p beyond the port's rings is a usage error
// (exit status 2) that names the port and its rings, not the kernel's
// bare EINVAL for the ring it lacks.
func TestNmbenchParallelTooMany(t *testing.T) {
	nmtest.Require(t)
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")
	port := uniq("vale") + ":a"
	out, err := exec.Command(nb, "-i", port, "-f", "tx", "-p", "3", "-n", "1").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("nmbench -p 3 on %s: %v, want exit status 2\n%s", port, err, out)
	}
	if want := "nmbench: -p 3: " + port + " has 1 TX ring\n"; string(out) != want {
		t.Errorf("stderr %q, want %q", out, want)
	}
}

// TestNmbenchParallel: -p 2 drives the two rings of a pipe with one
// goroutine and one registration each, on both ends.
func TestNmbenchParallel(t *testing.T) {
	nmtest.Require(t)
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")
	parent := uniq("np")
	// The receiver opens first and so creates the pipe, with two rings.
	stop := start(t, nb, "-i", "netmap:"+parent+"}1@conf:rings=2", "-f", "rx", "-p", "2", "-json", "-q")
	out, err := exec.Command(nb, "-i", "netmap:"+parent+"{1", "-f", "tx", "-p", "2", "-n", "50000", "-json", "-q").CombinedOutput()
	rxOut := stop()
	if err != nil {
		t.Fatalf("tx: %v\n%s\nrx:\n%s", err, out, rxOut)
	}
	tx, rx := lastJSON(t, out), lastJSON(t, rxOut)
	if tx.Packets != 50000 || rx.Packets != tx.Packets {
		t.Errorf("tx sent %d, rx received %d (pipes lose nothing)", tx.Packets, rx.Packets)
	}

	// rx -n with -p is a total over the rings: it ends by itself once that
	// many have come, on whichever rings (one sender on both rings, which
	// fills the first before the second).
	parent = uniq("nq")
	var rxBuf safeBuffer
	rxCmd := exec.Command(nb, "-i", "netmap:"+parent+"}1@conf:rings=2", "-f", "rx", "-p", "2", "-n", "30000", "-json", "-q")
	rxCmd.Stdout, rxCmd.Stderr = &rxBuf, &rxBuf
	if err := rxCmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- rxCmd.Wait() }()
	time.Sleep(500 * time.Millisecond) // the receiver creates the pipe
	out, err = exec.Command(nb, "-i", "netmap:"+parent+"{1", "-f", "tx", "-n", "30000", "-json", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("tx: %v\n%s", err, out)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("rx -p 2 -n 30000: %v\n%s", err, rxBuf.Bytes())
		}
	case <-time.After(20 * time.Second):
		rxCmd.Process.Signal(interruptSignal)
		<-ended
		t.Fatalf("rx -p 2 -n 30000 did not end by itself:\n%s", rxBuf.Bytes())
	}
	if rx := lastJSON(t, rxBuf.Bytes()); rx.Packets != 30000 {
		t.Errorf("rx -p 2 -n 30000 received %d", rx.Packets)
	}
}

func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}
