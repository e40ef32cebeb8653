package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// stats are the running counters of a run; the worker updates them once per
// batch and the reporter reads them.
type stats struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
	batches atomic.Uint64
	// rxseq and vrx only.
	lost      atomic.Uint64
	dup       atomic.Uint64
	reordered atomic.Uint64
	// vtx and vrx only.
	frames atomic.Uint64
	late   atomic.Uint64
	// udp: senders: sends skipped (skipSendErr).
	refused atomic.Uint64
	noBufs  atomic.Uint64
	// rx and rxseq over xdp: the receiver's sleeps in poll(2).
	sleeps atomic.Uint64

	// fill, if set, takes the counters from the library that runs the
	// loop (vtx and vrx: package st2110) instead.
	fill func(*sample)
}

type sample struct {
	packets, bytes, batches uint64
	lost, dup, reordered    uint64
	frames, late            uint64
	refused, noBufs         uint64
	sleeps                  uint64
	allocs                  uint64 // heap objects allocated so far, first and final samples only
	cpu                     uint64 // the process's CPU time so far in ns, first and final samples only
	cpuOK                   bool   // cpu was read
	at                      time.Time
}

// processCPU returns the time the process's threads have run on a CPU, in
// nanoseconds, summed from the scheduler's per-thread figures in /proc
// (Linux; false elsewhere or when they cannot be read). In deterministic
// virtual time (the VM runner's --icount) it counts instructions.
func processCPU() (uint64, bool) {
	files, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var sum uint64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, false
		}
		first, _, _ := strings.Cut(string(b), " ")
		v, err := strconv.ParseUint(first, 10, 64)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return sum, len(files) > 0
}

// heapAllocs returns the objects the Go heap has allocated since the
// process started, every one counted, tiny ones too (runtime.MemStats:
// its stop of the world, twice a run, is outside the loops; the cheaper
// runtime/metrics count lags behind small allocations).
func heapAllocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

func (s *stats) sample(now time.Time) sample {
	if s.fill != nil {
		c := sample{at: now}
		s.fill(&c)
		return c
	}
	return sample{
		packets: s.packets.Load(), bytes: s.bytes.Load(), batches: s.batches.Load(),
		lost: s.lost.Load(), dup: s.dup.Load(), reordered: s.reordered.Load(),
		frames: s.frames.Load(), late: s.late.Load(), refused: s.refused.Load(), noBufs: s.noBufs.Load(), sleeps: s.sleeps.Load(), at: now,
	}
}

// report is one JSON object of -json output.
type report struct {
	Func  string `json:"func"`
	Final bool   `json:"final"`
	// Error is why a run failed, final only: its counts are of the run
	// up to the failure, and the exit status is 1.
	Error    string  `json:"error,omitempty"`
	Packets  uint64  `json:"packets"`
	Bytes    uint64  `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	PPS      float64 `json:"pps"`
	BPS      float64 `json:"bps"`
	AvgBatch float64 `json:"avg_batch"`
	// Lost, Dup and Reordered are signed: an interval's count may take
	// back what an earlier interval counted (rxseq: a late packet fills a
	// gap, or a jump of strays or a start on stale frames is taken
	// back). The final report's are the run's, never below 0.
	Lost      *int64  `json:"lost,omitempty"`
	Dup       *int64  `json:"duplicated,omitempty"`
	Reordered *int64  `json:"reordered,omitempty"`
	Frames    *uint64 `json:"frames,omitempty"` // vtx, vrx
	Late      *uint64 `json:"late,omitempty"`   // vtx, vrx
	// Refused and NoBufs are the sends of the udp: backend that failed
	// with ECONNREFUSED (nothing listens at the destination) and ENOBUFS,
	// skipped; present when not zero.
	Refused *uint64 `json:"refused,omitempty"`
	NoBufs  *uint64 `json:"enobufs,omitempty"`
	// Sleeps is how many times a receiver over xdp: (rx, rxseq) went to
	// wait for packets in poll(2); present when not zero (never with
	// -busy).
	Sleeps *uint64 `json:"sleeps,omitempty"`
	// HeapAllocs is the heap objects the whole process allocated during
	// the run, final only: setup, reports and signals, and nothing per
	// packet (the VM tests compare short and long runs).
	HeapAllocs *uint64 `json:"heap_allocs,omitempty"`
	// CPUNs is the CPU time all the process's threads used during the
	// run, in ns, final only, where the system tells (Linux's per-thread
	// scheduler figures).
	CPUNs *uint64 `json:"cpu_ns,omitempty"`
	*rttSummary
	*videoSummary // vtx, vrx: final only
}

// reporter prints pkt-gen-style lines, or JSON objects.
type reporter struct {
	cfg    *config
	runErr error // the run failed: the final report says why
	rtt    *rtts // ping only
	out    io.Writer
	start  sample
	last   sample
	drawn  bool // a progress line is on screen
}

func rate(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (r *reporter) build(cur, from sample, final bool) report {
	d := cur.at.Sub(from.at)
	p, b, bt := cur.packets-from.packets, cur.bytes-from.bytes, cur.batches-from.batches
	rep := report{Func: r.cfg.mode.name, Final: final, Packets: p, Bytes: b, Seconds: d.Seconds(),
		PPS: rate(p, d), BPS: rate(b*8, d)}
	if bt > 0 {
		rep.AvgBatch = float64(p) / float64(bt)
	}
	if r.cfg.mode.counts {
		// The counters are uint64 sums of signed changes: their
		// difference, read as signed, is the interval's (or run's).
		l, du, re := int64(cur.lost-from.lost), int64(cur.dup-from.dup), int64(cur.reordered-from.reordered)
		if final {
			// The window takes back only what it counted.
			l, du, re = max(l, 0), max(du, 0), max(re, 0)
		}
		rep.Lost, rep.Dup, rep.Reordered = &l, &du, &re
	}
	if r.cfg.mode.video {
		f, l := cur.frames-from.frames, cur.late-from.late
		rep.Frames, rep.Late = &f, &l
		if final && r.cfg.vid != nil {
			rep.videoSummary = r.cfg.vid.summary()
		}
	}
	if n := cur.refused - from.refused; n > 0 {
		rep.Refused = &n
	}
	if n := cur.noBufs - from.noBufs; n > 0 {
		rep.NoBufs = &n
	}
	if n := cur.sleeps - from.sleeps; n > 0 {
		rep.Sleeps = &n
	}
	if final {
		if r.runErr != nil {
			rep.Error = r.runErr.Error()
		}
		a := cur.allocs - from.allocs
		rep.HeapAllocs = &a
		if cur.cpuOK && from.cpuOK {
			c := cur.cpu - from.cpu
			rep.CPUNs = &c
		}
	}
	if r.rtt != nil {
		s := r.rtt.summary(final)
		rep.rttSummary = &s
	}
	return rep
}

// live redraws the progress line of a terminal run with a known end: done
// is the fraction of -n or -t reached.
func (r *reporter) live(cur sample, done float64) {
	done = min(max(done, 0), 1)
	const width = 30
	bar := strings.Repeat("=", int(done*width)) + strings.Repeat(" ", width-int(done*width))
	d := cur.at.Sub(r.start.at)
	fmt.Fprintf(r.out, "\r\033[K[%s] %3.0f%% %d pkts %s avg", bar, done*100, cur.packets-r.start.packets,
		unit(rate(cur.packets-r.start.packets, d), "pps"))
	r.drawn = true
}

// clearLive erases the progress line before other output.
func (r *reporter) clearLive() {
	if r.drawn {
		fmt.Fprint(r.out, "\r\033[K")
		r.drawn = false
	}
}

// tick prints the interval report ending at cur.
func (r *reporter) tick(cur sample) {
	r.clearLive()
	rep := r.build(cur, r.last, false)
	r.last = cur
	if r.cfg.quiet {
		return
	}
	if r.cfg.json {
		r.writeJSON(rep)
		return
	}
	line := fmt.Sprintf("%s %s (%d pkts %s in %d usec) %.2f avg_batch",
		cur.at.Format("15:04:05.000"), unit(rep.PPS, "pps"), rep.Packets, unit(rep.BPS, "bps"),
		int64(rep.Seconds*1e6), rep.AvgBatch)
	if rep.Frames != nil {
		line += fmt.Sprintf(" %d frames %d late", *rep.Frames, *rep.Late)
	}
	if rep.Lost != nil {
		line += fmt.Sprintf(" %d lost %d dup %d reordered", *rep.Lost, *rep.Dup, *rep.Reordered)
	}
	if rep.rttSummary != nil {
		line += " " + rep.rttSummary.String()
	}
	fmt.Fprintln(r.out, line)
}

// final prints the summary of the whole run: a stdout that may stall
// (stallOut) drops none of it.
func (r *reporter) final(cur sample) report {
	endLive(r.out)
	r.clearLive()
	rep := r.build(cur, r.start, true)
	if r.cfg.json {
		r.writeJSON(rep)
		return rep
	}
	verb := r.cfg.mode.verb
	each := 0.0
	if rep.Packets > 0 {
		each = float64(rep.Bytes) / float64(rep.Packets)
	}
	fmt.Fprintf(r.out, "%s %d packets %d bytes %d events %.0f bytes each in %.2f seconds.\n",
		verb, rep.Packets, rep.Bytes, cur.batches-r.start.batches, each, rep.Seconds)
	// Raw: with preamble, start delimiter, FCS and inter-frame gap (24 B).
	raw := rep.BPS + rate((cur.packets-r.start.packets)*24*8, cur.at.Sub(r.start.at))
	fmt.Fprintf(r.out, "Speed: %s Bandwidth: %s (raw %s). Average batch: %.2f pkts\n",
		unit(rep.PPS, "pps"), unit(rep.BPS, "bps"), unit(raw, "bps"), rep.AvgBatch)
	if rep.Lost != nil {
		fmt.Fprintf(r.out, "Sequence: %d lost, %d duplicated, %d reordered\n", *rep.Lost, *rep.Dup, *rep.Reordered)
	}
	if rep.Refused != nil || rep.NoBufs != nil {
		fmt.Fprintf(r.out, "Skipped sends: %d refused (ECONNREFUSED: nothing listens at %s), %d without buffer space (ENOBUFS)\n",
			deref(rep.Refused), strings.TrimPrefix(strings.TrimPrefix(r.cfg.port, "udp"), ":"), deref(rep.NoBufs))
	}
	if rep.rttSummary != nil {
		fmt.Fprintln(r.out, rep.rttSummary.String())
	}
	if rep.videoSummary != nil {
		rep.videoSummary.print(r.out, &rep)
	}
	return rep
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

func (r *reporter) writeJSON(rep report) {
	b, _ := json.Marshal(rep)
	fmt.Fprintf(r.out, "%s\n", b)
}

// unit formats v with an SI prefix, as pkt-gen does ("1.234 Mpps").
func unit(v float64, u string) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3f G%s", v/1e9, u)
	case v >= 1e6:
		return fmt.Sprintf("%.3f M%s", v/1e6, u)
	case v >= 1e3:
		return fmt.Sprintf("%.3f K%s", v/1e3, u)
	}
	return fmt.Sprintf("%.3f %s", v, u)
}
