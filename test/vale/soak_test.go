//go:build linux

package vale_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// The soak (docs/reliability.md): long runs that must lose nothing,
// reorder nothing and keep their memory flat. They run only when their
// count is set, as CI does with small counts and the docs' run with large
// ones, both in deterministic virtual time:
//
//	test/vale/vm/run --icount --env NMTEST_SOAK_PACKETS=100000000 --env NMTEST_SOAK_FRAMES=100000 --out DIR -- -test.run '^TestSoak' -test.timeout 0
//
// NMTEST_SOAK_PACKETS: sequence-numbered packets, nmbench txseq -> rxseq,
// over a VALE switch and over a netmap pipe (TestSoakSeq).
// NMTEST_SOAK_FRAMES: frames of one 1080p59.94 flow, st2110.Dial ->
// st2110.Listen over a netmap pipe, each compared octet for octet with
// the frame sent (TestSoakVideo).
// NMTEST_SOAK_EVERY: the RSS sampling interval (default 250ms).
//
// Each run appends a summary line to soak.txt in the output directory
// (/out in the VM) and writes the RSS samples to soak-rss-NAME.csv.

// soakCount reads a count from env (1e8 and 100000000 alike), skipping the
// test when it is not set.
func soakCount(t *testing.T, env string) uint64 {
	t.Helper()
	s := os.Getenv(env)
	if s == "" {
		t.Skipf("a soak; set %s to run it (docs/reliability.md)", env)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f > 1e15 || f != math.Trunc(f) {
		t.Fatalf("%s=%q: want a whole number of at least 1", env, s)
	}
	return uint64(f)
}

func soakEvery(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("NMTEST_SOAK_EVERY")
	if s == "" {
		return 250 * time.Millisecond
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("NMTEST_SOAK_EVERY=%q: want a positive duration", s)
	}
	return d
}

// rssTrace is a process's resident set size (VmRSS of /proc/PID/status)
// sampled through a run.
type rssTrace struct {
	name string
	at   []time.Duration // since sampling started
	kb   []int64
	// parts is, for each sample, what the resident set is made of
	// (RssAnon, RssFile, RssShmem of the status, kB) and, for this
	// process, the Go runtime's heap and stacks (runtime/metrics, kB)
	// and its GC cycles: written to the CSV, to tell a leak from pages
	// of the binary or of the heap touched for the first time.
	parts [][len(rssParts)]int64
	self  bool // the trace is this process's: parts has the Go runtime's columns
}

// rssParts name the columns of rssTrace.parts.
var rssParts = [...]string{"anon_kb", "file_kb", "shmem_kb", "go_heap_objects_kb", "go_heap_free_kb", "go_heap_released_kb", "go_stacks_kb", "go_gc_cycles"}

// goMetrics are the runtime/metrics behind rssParts[3:].
var goMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes", "/memory/classes/heap/stacks:bytes", "/gc/cycles/total:gc-cycles"}

// sampleRSS samples pid's VmRSS every interval until the process has
// exited (its status has no VmRSS any more: a zombie, or gone) or stop is
// closed. The trace is complete once done is closed. The sampler runs in
// the process it may be measuring, so it allocates nothing per sample and
// its memory does not grow: sampling every 100 ms with os.ReadFile and
// strings made about 9 kB of garbage a sample, which, with no collection
// due, grew the heap and the process's RSS by 1.3% in 10 s. The trace
// holds at most rssRoom samples, made and written before the first (so
// their pages are resident from the start); when they are full, every
// second one is dropped and the interval doubles.
func sampleRSS(name string, pid int, every time.Duration, stop <-chan struct{}) (tr *rssTrace, done <-chan struct{}) {
	return sampleRSSRoom(name, pid, every, stop, rssRoom)
}

// sampleRSSRoom is sampleRSS with a room of room samples.
func sampleRSSRoom(name string, pid int, every time.Duration, stop <-chan struct{}, room int) (tr *rssTrace, done <-chan struct{}) {
	tr = &rssTrace{name: name, at: make([]time.Duration, room), kb: make([]int64, room), parts: make([][len(rssParts)]int64, room)}
	for i := range room { // touch every page of the room now
		tr.at[i], tr.kb[i], tr.parts[i] = -1, -1, [len(rssParts)]int64{-1}
	}
	tr.at, tr.kb, tr.parts = tr.at[:0], tr.kb[:0], tr.parts[:0]
	tr.self = pid == os.Getpid()
	d := make(chan struct{})
	st := &statusReader{path: "/proc/" + strconv.Itoa(pid) + "/status"}
	self := tr.self
	ms := make([]metrics.Sample, len(goMetrics))
	for i, m := range goMetrics {
		ms[i].Name = m
	}
	start := time.Now()
	go func() {
		defer close(d)
		defer st.close()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			kb, parts, ok := st.read()
			if !ok {
				return
			}
			if self {
				metrics.Read(ms)
				for i, m := range ms {
					var v uint64
					if m.Value.Kind() == metrics.KindUint64 {
						v = m.Value.Uint64()
					}
					if i < len(ms)-1 {
						v >>= 10
					}
					parts[3+i] = int64(v)
				}
			}
			if len(tr.at) == room {
				tr.thin()
				every *= 2
				tick.Reset(every)
			}
			tr.at, tr.kb, tr.parts = append(tr.at, time.Since(start)), append(tr.kb, kb), append(tr.parts, parts)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return tr, d
}

// rssRoom is the most samples an rssTrace holds (80 octets each).
const rssRoom = 4096

// thin drops every second sample of the trace, in place.
func (tr *rssTrace) thin() {
	n := 0
	for i := 0; i < len(tr.at); i += 2 {
		tr.at[n], tr.kb[n], tr.parts[n] = tr.at[i], tr.kb[i], tr.parts[i]
		n++
	}
	tr.at, tr.kb, tr.parts = tr.at[:n], tr.kb[:n], tr.parts[:n]
}

// statusReader reads a /proc/PID/status again and again through one open
// file and one buffer.
type statusReader struct {
	path string
	f    *os.File
	buf  [8192]byte
}

func (r *statusReader) close() {
	if r.f != nil {
		r.f.Close()
	}
}

// read returns VmRSS (kB) and its parts (RssAnon, RssFile, RssShmem) in
// the first three of parts; not ok once the status cannot be read or has
// no VmRSS (the process has exited).
func (r *statusReader) read() (rss int64, parts [len(rssParts)]int64, ok bool) {
	if r.f == nil {
		f, err := os.Open(r.path)
		if err != nil {
			return 0, parts, false
		}
		r.f = f
	}
	n, err := r.f.ReadAt(r.buf[:], 0)
	if err != nil && err != io.EOF {
		return 0, parts, false
	}
	return parseStatus(r.buf[:n])
}

// parseStatus finds VmRSS, RssAnon, RssFile and RssShmem (kB) in the text
// of a /proc/PID/status, without allocating.
func parseStatus(b []byte) (rss int64, parts [len(rssParts)]int64, ok bool) {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		b = rest
		k, v, found := bytes.Cut(line, []byte(":"))
		v = bytes.TrimSpace(v)
		num, unit, _ := bytes.Cut(v, []byte(" "))
		if !found || string(bytes.TrimSpace(unit)) != "kB" {
			continue
		}
		var n int64
		for _, c := range num {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int64(c-'0')
		}
		if n < 0 || len(num) == 0 {
			continue
		}
		switch string(k) {
		case "VmRSS":
			rss, ok = n, true
		case "RssAnon":
			parts[0] = n
		case "RssFile":
			parts[1] = n
		case "RssShmem":
			parts[2] = n
		}
	}
	return rss, parts, ok
}

// soakWarmup is the part of a run, by time, after which the resident set
// must stay flat: the first tenth, in which the rings are mapped, the
// buffers first touched and the heap grows to its working size. The last
// tenth is the wind-down, not measured either: the final report is built
// and printed and the process exits (a Go process touches a few hundred
// kB more doing that, once).
const soakWarmup = 0.10

// growth returns the resident set at the end of the warm-up (the first
// sample at or after soakWarmup of the trace's length), the largest from
// there to the start of the wind-down (the last sample before 1 -
// soakWarmup of it), and the growth from one to the other in percent.
// Fewer than 10 samples in that window is an error: too short a trace
// shows nothing.
func (tr *rssTrace) growth() (base, peak int64, pct float64, err error) {
	n := len(tr.at)
	if n == 0 {
		return 0, 0, 0, fmt.Errorf("%s: no RSS sample", tr.name)
	}
	end := float64(tr.at[n-1])
	w, e := 0, n
	for w < n && float64(tr.at[w]) < soakWarmup*end {
		w++
	}
	for e > w && float64(tr.at[e-1]) >= (1-soakWarmup)*end {
		e--
	}
	if e-w < 10 {
		return 0, 0, 0, fmt.Errorf("%s: %d RSS samples between the warm-up and the wind-down, want 10 at least (a longer run or a shorter NMTEST_SOAK_EVERY)", tr.name, e-w)
	}
	base, peak = tr.kb[w], tr.kb[w]
	for _, kb := range tr.kb[w:e] {
		peak = max(peak, kb)
	}
	return base, peak, 100 * float64(peak-base) / float64(base), nil
}

// check fails t unless the trace grew by less than 1% after the warm-up,
// and returns the summary for the results.
func (tr *rssTrace) check(t *testing.T) string {
	t.Helper()
	base, peak, pct, err := tr.growth()
	if err != nil {
		t.Error(err)
		return tr.name + "_rss=none"
	}
	t.Logf("%s: RSS %d kB at the end of the warm-up, %d kB at most until the wind-down (%+.2f%%), %d samples; %d kB at the last", tr.name, base, peak, pct, len(tr.kb), tr.kb[len(tr.kb)-1])
	if pct >= 1 {
		t.Errorf("%s: RSS grew %.2f%% between the warm-up and the wind-down (%d kB -> %d kB), want < 1%%", tr.name, pct, base, peak)
	}
	return fmt.Sprintf("%s_rss_kb=%d..%d %s_rss_growth=%.2f%% %s_rss_samples=%d %s_rss_last_kb=%d", tr.name, base, peak, tr.name, pct, tr.name, len(tr.kb), tr.name, tr.kb[len(tr.kb)-1])
}

// write saves the trace as CSV (seconds, kB) in dir.
func (tr *rssTrace) write(t *testing.T, dir, run string) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("seconds,rss_kb")
	for _, c := range rssParts {
		b.WriteString("," + c)
	}
	b.WriteString("\n")
	for i := range tr.at {
		fmt.Fprintf(&b, "%.3f,%d", tr.at[i].Seconds(), tr.kb[i])
		if i < len(tr.parts) {
			for k, v := range tr.parts[i] {
				if k >= 3 && !tr.self {
					b.WriteString(",") // another process: no Go runtime figures
					continue
				}
				fmt.Fprintf(&b, ",%d", v)
			}
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "soak-rss-"+run+"-"+tr.name+".csv"), b.Bytes(), 0o644); err != nil {
		t.Error(err)
	}
}

// soakResult appends line to soak.txt in the output directory.
func soakResult(t *testing.T, line string) {
	t.Helper()
	t.Log(line)
	f, err := os.OpenFile(filepath.Join(outDir(t), "soak.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		t.Fatal(err)
	}
}

// proc is a child process whose output is kept.
type proc struct {
	cmd   *exec.Cmd
	out   safeBuffer
	ended chan error
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), ended: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.ended <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.ended
		}
	})
	return p
}

// wait returns the process's exit error once it has ended, or stops it
// with SIGINT when it has not ended within d (and then waits up to 10 s
// for it to end: nmbench prints its summary on SIGINT). interrupted says
// whether it had to be stopped; a process that outlives SIGINT fails t.
func (p *proc) wait(t *testing.T, d time.Duration) (err error, interrupted bool) {
	t.Helper()
	select {
	case err := <-p.ended:
		return err, false
	case <-time.After(d):
	}
	p.cmd.Process.Signal(interruptSignal)
	select {
	case err := <-p.ended:
		return err, true
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.ended
		t.Fatalf("%s did not end within 10 s of SIGINT:\n%s", p.cmd.Args[0], p.out.Bytes())
		return nil, true
	}
}

// waitRegistered waits until a VALE port name has a port on its switch
// (nothing to wait for with a pipe: the tests give the receiver a moment).
func waitRegistered(t *testing.T, port string, p *proc) {
	t.Helper()
	if !strings.HasPrefix(port, "vale") {
		time.Sleep(500 * time.Millisecond)
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, _ := nmsys.ValeLookup(port); ok {
			time.Sleep(100 * time.Millisecond) // from registration to its first wait
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not register %s within 10s:\n%s", p.cmd.Args[0], port, p.out.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSoakSeq: NMTEST_SOAK_PACKETS sequence-numbered 60-byte frames from
// nmbench txseq to nmbench rxseq, over a VALE switch (whose receiver ring
// of 4096 slots must not overflow: VALE drops what a full ring cannot
// take) and over a netmap pipe (which holds the sender back instead): all
// sent, all received, none lost, duplicated or reordered, and the RSS of
// both processes flat (< 1% growth from the end of the first tenth of the
// run to the start of the last).
func TestSoakSeq(t *testing.T) {
	n := soakCount(t, "NMTEST_SOAK_PACKETS")
	nmtest.Require(t)
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")
	every := soakEvery(t)
	for _, c := range []struct{ name, tx, rx string }{
		{"vale", "vale90:a", "vale90:b@conf:slots=4096"},
		{"pipe", "netmap:sk{1", "netmap:sk}1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ns := strconv.FormatUint(n, 10)
			rx := startProc(t, nb, "-i", c.rx, "-f", "rxseq", "-n", ns, "-json", "-q")
			waitRegistered(t, c.rx, rx)
			start := time.Now()
			tx := startProc(t, nb, "-i", c.tx, "-f", "txseq", "-n", ns, "-l", "60", "-json", "-q")
			stop := make(chan struct{})
			txRSS, txDone := sampleRSS("tx", tx.cmd.Process.Pid, every, stop)
			rxRSS, rxDone := sampleRSS("rx", rx.cmd.Process.Pid, every, stop)
			// No run is slower than 10 kpps: a sender stuck for good
			// ends there with its summary.
			txErr, txInt := tx.wait(t, time.Duration(n/10_000+60)*time.Second)
			rxErr, rxInt := rx.wait(t, 30*time.Second)
			wall := time.Since(start)
			close(stop)
			<-txDone
			<-rxDone
			if txErr != nil || rxErr != nil || txInt || rxInt {
				t.Errorf("txseq: %v (stopped: %v); rxseq: %v (stopped: %v)\ntx:\n%s\nrx:\n%s", txErr, txInt, rxErr, rxInt, tx.out.Bytes(), rx.out.Bytes())
			}
			txr, rxr := lastJSON(t, tx.out.Bytes()), lastJSON(t, rx.out.Bytes())
			if txr.Packets != n || rxr.Packets != n || rxr.Lost == nil || *rxr.Lost != 0 || *rxr.Dup != 0 || *rxr.Reordered != 0 {
				t.Errorf("sent %d, received %d of %d: lost %v, duplicated %v, reordered %v", txr.Packets, rxr.Packets, n, deref(rxr.Lost), deref(rxr.Dup), deref(rxr.Reordered))
			}
			dir := outDir(t)
			txRSS.write(t, dir, c.name)
			rxRSS.write(t, dir, c.name)
			soakResult(t, fmt.Sprintf("soak=seq path=%s packets=%d sent=%d received=%d lost=%v duplicated=%v reordered=%v seconds=%.1f icount=%s %s %s",
				c.name, n, txr.Packets, rxr.Packets, deref(rxr.Lost), deref(rxr.Dup), deref(rxr.Reordered), wall.Seconds(), os.Getenv("NMTEST_ICOUNT"),
				txRSS.check(t), rxRSS.check(t)))
		})
	}
}

// TestSoakVideo: NMTEST_SOAK_FRAMES frames of one 1080p59.94 4:2:2 10-bit
// flow (4320 packets a frame) from st2110.Dial to st2110.Listen over a
// netmap pipe, in this process. The sender sends the moving test pattern
// of package video, frame n for frame n, so the receiver knows what the
// i-th frame must hold: every frame received is compared octet for octet
// with that pattern frame, and must be complete, none lost or dropped,
// its RTP timestamp one frame period after the one before (a frame
// skipped would jump two). The process's RSS must stay flat.
func TestSoakVideo(t *testing.T) {
	frames := soakCount(t, "NMTEST_SOAK_FRAMES")
	nmtest.Require(t)
	every := soakEvery(t)
	sess, pattern, period := patternFlow(t, 1920, 1080)
	rx, err := st2110.Listen("netmap:vsk}1", sess, &st2110.ListenConfig{FrameBuffers: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := st2110.Dial("netmap:vsk{1", sess, &st2110.SendConfig{MaxLag: -1, Source: pattern, Count: frames})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()

	// RTP timestamps of consecutive frames differ by the frame period in
	// 90 kHz units, rounded down or up: 1501 or 1502 at 59.94.
	lo, hi := uint32(math.Floor(period)), uint32(math.Ceil(period))

	// No run is slower than a frame a second.
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(frames+60)*time.Second)
	defer cancel()
	stop := make(chan struct{})
	rss, rssDone := sampleRSS("rx+tx", os.Getpid(), every, stop)
	start := time.Now()
	var wg sync.WaitGroup
	var sendErr error
	wg.Go(func() { sendErr = tx.Run(ctx) })

	var got, bad, incomplete, jumps uint64
	var last uint32
	var firstBad []string
	for f, err := range rx.Frames(ctx) {
		if err != nil {
			t.Errorf("after %d frames: %v", got, err)
			break
		}
		ok := true
		if !f.Info.Complete || f.Info.Lost != 0 {
			incomplete++
			ok = false
		}
		if !bytes.Equal(f.Data, pattern.Frame(got)) {
			bad++
			ok = false
		}
		if d := f.RTPTime - last; got > 0 && (d < lo || d > hi) {
			jumps++
			ok = false
		}
		if !ok && len(firstBad) < 5 {
			firstBad = append(firstBad, fmt.Sprintf("frame %d: %+v, RTP %d after %d, identical %v", got, f.Info, f.RTPTime, last, bytes.Equal(f.Data, pattern.Frame(got))))
		}
		last = f.RTPTime
		if got++; got == frames {
			break
		}
	}
	wg.Wait()
	wall := time.Since(start)
	close(stop)
	<-rssDone
	if sendErr != nil {
		t.Errorf("sender: %v", sendErr)
	}
	st, ts := rx.Stats(0), tx.Stats(0)
	if got != frames || bad != 0 || incomplete != 0 || jumps != 0 || st.Lost != 0 || st.Dropped != 0 || ts.Frames != frames {
		t.Errorf("%d of %d frames received (%d sent): %d differ from the frame sent, %d incomplete, %d RTP steps not one frame period; %d packets lost, %d frames dropped; first: %q",
			got, frames, ts.Frames, bad, incomplete, jumps, st.Lost, st.Dropped, firstBad)
	}
	rss.write(t, outDir(t), "video")
	soakResult(t, fmt.Sprintf("soak=video path=pipe format=1080p59.94-422-10 frames=%d received=%d identical=%d incomplete=%d rtp_jumps=%d packets=%d lost=%d dropped=%d sent_packets=%d late_packets=%d seconds=%.1f icount=%s %s",
		frames, got, got-bad, incomplete, jumps, st.Packets, st.Lost, st.Dropped, ts.Packets, ts.Late, wall.Seconds(), os.Getenv("NMTEST_ICOUNT"), rss.check(t)))
}

// patternFlow returns a session of one YCbCr-4:2:2 10-bit progressive
// flow of width x height at 59.94 frames a second to 239.1.1.1:5004, the
// moving test pattern a sender sends for it (frame n for frame n, period
// 64 frames), and its frame period in RTP (90 kHz) ticks.
func patternFlow(t *testing.T, width, height int) (*video.Session, *video.Pattern, float64) {
	t.Helper()
	format := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: width, Height: height,
		Scan: video.Progressive, Rate: video.Rate59_94}
	pattern, err := video.NewPattern(&format)
	if err != nil {
		t.Fatal(err)
	}
	sess := &video.Session{Origin: netip.MustParseAddr("10.0.0.1"), Streams: []video.Stream{
		{Format: format, PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.1:5004")},
	}}
	return sess, pattern, 90000 * float64(format.Rate.Den) / float64(format.Rate.Num)
}

// TestRSSGrowth: the soak's measure of flat memory, on made-up traces
// (no netmap needed): the warm-up and the wind-down are left out, growth
// in between is caught, and too short a trace is an error.
func TestRSSGrowth(t *testing.T) {
	trace := func(n int, kb func(i int) int64) *rssTrace {
		tr := &rssTrace{name: "test"}
		for i := range n {
			tr.at, tr.kb = append(tr.at, time.Duration(i)*time.Second), append(tr.kb, kb(i))
		}
		return tr
	}
	flat := trace(100, func(i int) int64 {
		switch {
		case i < 5:
			return 500 // warm-up
		case i == 50:
			return 1009
		case i >= 95:
			return 2000 // wind-down
		}
		return 1000
	})
	if base, peak, pct, err := flat.growth(); err != nil || base != 1000 || peak != 1009 || pct >= 1 {
		t.Errorf("flat trace: %d..%d kB, %.2f%%, %v; want 1000..1009, 0.9%%", base, peak, pct, err)
	}
	leak := trace(100, func(i int) int64 { return 1000 + int64(i) })
	if _, _, pct, err := leak.growth(); err != nil || pct < 1 {
		t.Errorf("a trace growing 1 kB a second: %.2f%%, %v; want over 1%%", pct, err)
	}
	if _, _, _, err := trace(11, func(int) int64 { return 1000 }).growth(); err == nil {
		t.Error("11 samples: no error; want too few between the warm-up and the wind-down")
	}
}

// TestStatusReader: the soak's sampler reads /proc/self/status (VmRSS and
// its parts, which add up to it) without allocating, so that sampling does
// not grow the heap it measures; parseStatus skips what is not a kB count.
func TestStatusReader(t *testing.T) {
	st := &statusReader{path: "/proc/self/status"}
	defer st.close()
	rss, parts, ok := st.read()
	if !ok || rss <= 0 {
		t.Fatalf("/proc/self/status: VmRSS %d kB, ok %v", rss, ok)
	}
	if sum := parts[0] + parts[1] + parts[2]; sum != rss {
		t.Errorf("RssAnon %d + RssFile %d + RssShmem %d = %d kB, VmRSS %d kB", parts[0], parts[1], parts[2], sum, rss)
	}
	if n := testing.AllocsPerRun(100, func() { st.read() }); n != 0 {
		t.Errorf("a sample allocates %v objects, want 0", n)
	}
	text := "Name:\tx\nVmRSS:\t  1234 kB\nRssAnon:\t12x kB\nRssFile:\t 7 kB\nRssShmem: 9 MB\nVmRSS\t5 kB\n"
	rss, parts, ok = parseStatus([]byte(text))
	if !ok || rss != 1234 || parts[0] != 0 || parts[1] != 7 || parts[2] != 0 {
		t.Errorf("parseStatus: VmRSS %d, parts %v, ok %v; want 1234, [0 7 0 ...], true", rss, parts[:3], ok)
	}
	if _, _, ok := parseStatus([]byte("Name:\tzombie\nState:\tZ (zombie)\n")); ok {
		t.Error("parseStatus of a zombie's status (no VmRSS): ok, want not")
	}
}

// TestRSSTraceThin: a full trace keeps every second sample, in order, so
// that a long run's trace stays in its room (sampleRSS then doubles the
// interval) and its warm-up and wind-down, found by time, stay where they
// were.
func TestRSSTraceThin(t *testing.T) {
	tr := &rssTrace{name: "test"}
	for i := range rssRoom {
		tr.at, tr.kb = append(tr.at, time.Duration(i)*time.Second), append(tr.kb, int64(1000+i))
		tr.parts = append(tr.parts, [len(rssParts)]int64{int64(i)})
	}
	tr.thin()
	if len(tr.at) != rssRoom/2 || len(tr.kb) != rssRoom/2 || len(tr.parts) != rssRoom/2 {
		t.Fatalf("thinned: %d, %d, %d samples; want %d", len(tr.at), len(tr.kb), len(tr.parts), rssRoom/2)
	}
	for i := range tr.at {
		if tr.at[i] != time.Duration(2*i)*time.Second || tr.kb[i] != int64(1000+2*i) || tr.parts[i][0] != int64(2*i) {
			t.Fatalf("sample %d after thinning: %v, %d kB, %v; want sample %d's", i, tr.at[i], tr.kb[i], tr.parts[i][0], 2*i)
		}
	}
}

// TestSampleRSSRoom: a sampler whose room fills thins its trace and
// samples half as often, in the room it made (no append past it), its
// times still in order.
func TestSampleRSSRoom(t *testing.T) {
	const room = 64
	stop := make(chan struct{})
	tr, done := sampleRSSRoom("self", os.Getpid(), 100*time.Microsecond, stop, room)
	time.Sleep(500 * time.Millisecond) // a sample takes about 1 ms here: the room fills, more than once
	close(stop)
	<-done
	if len(tr.at) > room || cap(tr.at) != room || cap(tr.kb) != room || cap(tr.parts) != room {
		t.Fatalf("%d samples in slices of capacity %d, %d, %d; want at most %d in the room made", len(tr.at), cap(tr.at), cap(tr.kb), cap(tr.parts), room)
	}
	if len(tr.at) < room/2 {
		t.Fatalf("%d samples in 0.5 s; want the room (%d) filled and thinned at least once", len(tr.at), room)
	}
	first := tr.at[1] - tr.at[0]
	for i := 1; i < len(tr.at); i++ {
		if tr.at[i] <= tr.at[i-1] {
			t.Fatalf("sample %d at %v, after %v", i, tr.at[i], tr.at[i-1])
		}
	}
	t.Logf("%d samples, the last %v after the start, the first two %v apart", len(tr.at), tr.at[len(tr.at)-1], first)
	if last := tr.at[len(tr.at)-1]; last < 250*time.Millisecond {
		t.Errorf("the last sample %v after the start of a 0.5 s run: the trace lost its end", last)
	}
}
