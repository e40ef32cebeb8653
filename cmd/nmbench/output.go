package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nmgo/nmgo/internal/outfile"
)

// outputFile is a file a run writes once its port is open (-sdp-out,
// -cpuprofile, rx's -pcap, vrx's -out), opened before the port is, so
// that a path that cannot be opened fails the run before it waits for
// anything. The file is emptied only once the run has opened
// (beginOutput), and removed again if the run fails before that and the
// file was made for it (Abandon). vtx's capture (-i pcap:FILE) is emptied
// later still, when the st2110 Sender's Run starts: a write that fails
// after Dial (-sdp-out /dev/full) or a profile that does not start leaves
// it as it was. A -cpuprofile file that existed is left empty, though,
// when pprof.StartCPUProfile fails after beginOutput, which it does only
// when a profile is already running in the process (tests, or nmbench
// embedded), never in the command.
//
// A FIFO is opened for writing only (package outfile): a reader that
// goes away fails the next write (EPIPE), which ends the run, where a
// read end of the run's own would have left the write blocked for ever,
// deaf to -t and signals. One with no reader yet is waited for in
// beginOutput, up to -t, or until a signal.
type outputFile = outfile.File

// openOutput opens name for writing without emptying it, as os.Create
// would open it (a dangling symbolic link gets its target made).
func openOutput(name string) (*outputFile, error) {
	return outfile.Open(name, 0o644)
}

// cutAtEnd makes a write of o that waits for room (a FIFO whose reader
// keeps it open but does not read) fail once ctx has ended (-t, a
// signal; run cancels it too once the run has ended by itself, -n,
// -frames or an error, before it writes its outputs out) and the reader
// has read nothing for outfile.Grace, a second:
// a reader that reads, however slowly, gets the whole output
// (outfile.File.End). Only a FIFO on Linux or FreeBSD takes a deadline
// (outfile.File.Pollable); elsewhere such a write waits in the kernel
// until the reader reads or goes away.
func cutAtEnd(ctx context.Context, o *outputFile) {
	if o.Pollable() {
		context.AfterFunc(ctx, o.End)
	}
}

// outErr says what a write that cutAtEnd ended means.
func outErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("the FIFO's reader read nothing for %v after the end of the run: %w", outfile.Grace, err)
	}
	return err
}

// beginOutput makes o the run's output: it empties a regular file, and
// waits for a reader of a FIFO that had none when it was opened, until
// ctx ends (a signal) or -t passes.
func beginOutput(ctx context.Context, cfg *config, o *outputFile) error {
	return beginOutputs(ctx, cfg, o)
}

// beginOutputs begins several outputs in two steps: it waits for the
// readers of every FIFO, until ctx ends or -t passes (one -t for all,
// not one each), then empties the regular files, so that an output
// given up on (a FIFO whose reader did not come) leaves the others as
// they were.
func beginOutputs(ctx context.Context, cfg *config, outs ...*outputFile) error {
	parent := ctx
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	for _, o := range outs {
		err := o.Wait(ctx)
		switch {
		case err == nil:
			continue
		case ctx.Err() == nil:
			return err
		case parent.Err() == nil: // -t passed
			return fmt.Errorf("%s: no reader of the FIFO within -t %v", o.Name(), cfg.duration)
		}
		return fmt.Errorf("%s: interrupted while waiting for a reader of the FIFO", o.Name())
	}
	for _, o := range outs {
		if err := o.Empty(); err != nil {
			return err
		}
	}
	return nil
}

// errWriter keeps the first error of its writes, which pprof's profile
// writer drops (a -cpuprofile FIFO whose reader went away).
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	n, err := e.w.Write(b)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
