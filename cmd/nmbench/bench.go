package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// run executes one benchmark: it opens the port, runs the function until
// the count, the duration or ctx ends it, prints reports to out, and
// returns the final report.
func run(ctx context.Context, cfg *config, out io.Writer) (_ report, runErr error) {
	// -t is the length of the run: its clock starts with the run, after
	// the opening and -w's wait for the link, which end early on a
	// signal as the run does. The loops and the deadlines that wake
	// their waits hang on ctx, so -t is a cancel of ctx, armed then.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// With -json a run that fails before it starts (a port, socket or
	// file that does not open, a value that does not fit the port) still
	// ends with a final object that says why, as one that fails later
	// does: a consumer of the last line sees every failure.
	reported := false
	defer func() {
		if runErr != nil && !reported && cfg.json {
			endLive(out)
			(&reporter{cfg: cfg, out: out}).writeJSON(report{Func: cfg.mode.name, Final: true, Error: runErr.Error()})
		}
	}()
	if cfg.mode.rtt {
		cfg.rtt = newRTTs()
	}
	// The profile's file is opened before the port, as vtx's -sdp-out:
	// a path that cannot be written fails before the port opens
	// (outputFile).
	var prof *outputFile
	if cfg.cpuProf != "" {
		var err error
		if prof, err = openOutput(cfg.cpuProf); err != nil {
			return report{}, fmt.Errorf("-cpuprofile: %w", err)
		}
		// Until the profile starts, a failure (-pcap, the port, the
		// profile's own start) leaves no file of it behind, nor its
		// descriptor open; once it has, the profile is handed off.
		defer func() {
			if prof != nil {
				prof.Abandon()
			}
		}()
	}
	// So is -pcap's capture, emptied only once everything else has
	// opened and the profile started: a run that fails before leaves the
	// file as it was, or none if it was made for the run.
	var capFile *outputFile
	if cfg.pcap != "" {
		var err error
		if capFile, err = openOutput(cfg.pcap); err != nil {
			return report{}, fmt.Errorf("-pcap: %w", err)
		}
		defer func() {
			if capFile != nil {
				capFile.Abandon()
			}
		}()
	}
	opened := time.Now()
	work, closeRun, err := cfg.mode.open(ctx, cfg)
	if err != nil {
		return report{}, err
	}
	// finish closes what the run opened, in reverse, once: before the
	// final report when the run ends (a failure that shows only then, as
	// a capture's last write, is the run's, and the report says so), or
	// on the way out of a run that could not start.
	finish := []func() error{closeRun}
	finished := false
	finishAll := func() (first error) {
		if finished {
			return nil
		}
		finished = true
		// The run is over, however it ended: the outputs' last writes
		// (a capture's buffer) must not wait for ever for a FIFO's
		// reader that reads nothing (cutAtEnd), where only -t or a
		// signal would have ended them.
		cancel()
		for i := len(finish) - 1; i >= 0; i-- {
			if err := finish[i](); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	defer func() {
		if err := finishAll(); err != nil && runErr == nil {
			runErr = err
		}
	}()

	if prof != nil {
		pw := &errWriter{w: prof}
		err := beginOutput(ctx, cfg, prof)
		if err == nil {
			err = pprof.StartCPUProfile(pw)
		}
		if err != nil {
			return report{}, fmt.Errorf("-cpuprofile: %w", err)
		}
		f := prof
		prof = nil
		cutAtEnd(ctx, f)
		defer func() {
			cancel() // the profile is written now: cutAtEnd ends it
			pprof.StopCPUProfile()
			err := outErr(pw.err)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil && runErr == nil {
				runErr = fmt.Errorf("-cpuprofile: %w", err)
			}
		}()
	}
	if capFile != nil {
		if err := beginOutput(ctx, cfg, capFile); err != nil {
			return report{}, fmt.Errorf("-pcap: %w", err)
		}
		f := capFile
		capFile = nil
		cutAtEnd(ctx, f)
		bw := bufio.NewWriterSize(f, 1<<20)
		finish = append(finish, func() error {
			ferr := outErr(bw.Flush())
			if cerr := f.Close(); ferr == nil {
				ferr = cerr
			}
			if ferr != nil {
				return fmt.Errorf("-pcap: %w", ferr)
			}
			return nil
		})
		var err error
		if cfg.capture, err = packet.NewPcapWriter(bw, 0); err != nil {
			return report{}, fmt.Errorf("-pcap: %w", err)
		}
	}
	// The setup's garbage (vtx's test picture is drawn through a planar
	// copy of several MB) is collected now, not by a collection that
	// starts as the run does and takes the loop's CPU meanwhile.
	runtime.GC()
	st := &stats{}
	if cfg.vid != nil {
		st.fill = cfg.vid.fill
	}
	rep := &reporter{cfg: cfg, out: out, rtt: cfg.rtt}
	rep.start = st.sample(time.Now())
	if st.fill != nil {
		// The library counts from the open (a receiver's readers start
		// there, take packets during -w's wait, and may have read a
		// capture whole by now): all of it is the run's, and so is the
		// time since, or the rates would count the wait's packets over
		// the run's time alone. A sender's counts start with the run.
		rep.start = sample{at: rep.start.at}
		if !cfg.mode.send {
			rep.start.at = opened
		}
	}
	// Reading the CPU times allocates (a glob of /proc, as many files as
	// threads): first at the start, last at the end, outside the count.
	rep.start.cpu, rep.start.cpuOK = processCPU()
	rep.start.allocs = heapAllocs()
	rep.last = rep.start
	done := make(chan error, 1)
	if cfg.duration > 0 {
		defer time.AfterFunc(cfg.duration, cancel).Stop()
	}
	began := time.Now() // -t's clock; vrx's report starts earlier, at the opening
	go func() { done <- work(ctx, st) }()
	// -q prints no interval reports: no ticker then, for a tick builds a
	// report (a few heap objects) whether it prints it or not, and a run
	// the host slows down would count more of them in heap_allocs.
	var tickC <-chan time.Time
	if !cfg.quiet {
		tick := time.NewTicker(cfg.interval)
		defer tick.Stop()
		tickC = tick.C
	}
	var liveC <-chan time.Time
	if cfg.progress && !cfg.json && !cfg.quiet && (cfg.count > 0 || cfg.duration > 0) {
		lt := time.NewTicker(250 * time.Millisecond)
		defer lt.Stop()
		liveC = lt.C
	}
	for {
		select {
		case now := <-liveC:
			cur := st.sample(now)
			done := 0.0
			if cfg.count > 0 {
				done = float64(cur.packets) / float64(cfg.count)
			}
			if cfg.duration > 0 {
				done = max(done, float64(now.Sub(began))/float64(cfg.duration))
			}
			rep.live(cur, done)
		case now := <-tickC:
			rep.tick(st.sample(now))
		case err := <-done:
			cur := st.sample(time.Now())
			cur.allocs = heapAllocs()
			cur.cpu, cur.cpuOK = processCPU()
			if ferr := finishAll(); err == nil {
				err = ferr
			}
			rep.runErr = err
			final := rep.final(cur)
			reported = true
			return final, err
		}
	}
}
