package main

import (
	"context"
	"fmt"
	"io"

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

// beginOutput makes o the run's output: it empties a regular file, and
// waits for a reader of a FIFO that had none when it was opened, until
// ctx ends (a signal) or -t passes.
func beginOutput(ctx context.Context, cfg *config, o *outputFile) error {
	parent := ctx
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	err := o.Begin(ctx)
	switch {
	case err == nil || ctx.Err() == nil:
		return err
	case parent.Err() == nil: // -t passed
		return fmt.Errorf("%s: no reader of the FIFO within -t %v", o.Name(), cfg.duration)
	}
	return fmt.Errorf("%s: interrupted while waiting for a reader of the FIFO", o.Name())
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
