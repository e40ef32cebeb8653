package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/nmgo/nmgo/nmsys"
)

func main() {
	os.Exit(cli(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs nmbench with args and returns the exit status. It watches
// SIGINT and SIGTERM while it runs (waiter): ctx or the first signal
// ends the run; a stdout or stderr that may stall is waited for as long
// as its reader takes, unless a further signal ends the wait (any
// signal, if the run ended otherwise), before the wait or while it
// waits.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wt := watchSignals(cancel)
	defer wt.stop()
	if stalls(stderr) {
		stderr = &errOut{w: stderr, wt: wt}
	}
	code := cliRun(ctx, args, stdout, stderr, wt)
	if wt.hit {
		// A signal cut what nmbench had to write: the report or
		// the message was not written whole, an error at run time
		// (a run a signal ends is no error: 0, with its report).
		code = max(code, 1)
	}
	return code
}

func cliRun(ctx context.Context, args []string, stdout, stderr io.Writer, wt *waiter) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "nmbench: %v\n", err)
		return 2
	}
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			cfg.progress = true
		}
	}
	// A stdout that may stall (a pipe whose reader stops reading) gets
	// the reports through a writer the run does not wait for (stallOut).
	out := stdout
	var so *stallOut
	if stalls(stdout) {
		so = newStallOut(stdout)
		out = so
	}
	wt.setRunning(true)
	_, err = run(ctx, cfg, out)
	wt.setRunning(false)
	var msgs []string
	code := 0
	if err != nil {
		if errors.Is(err, nmsys.ErrNotSupported) {
			err = fmt.Errorf("%w; without netmap, nmbench can use kernel sockets (-i udp:127.0.0.1:9000)", err)
		}
		msgs = append(msgs, err.Error())
		code = 1
		if errors.As(err, new(usageError)) {
			code = 2
		}
	}
	if so != nil {
		// The reports are written whole before stderr says why the run
		// failed, as they were when they were written in the run.
		dropped, written := so.finish(wt)
		if dropped > 0 {
			msgs = append(msgs, fmt.Sprintf("stdout: its reader fell more than %d KiB behind: %d interval reports were dropped", stallLimit>>10, dropped))
		}
		if !written {
			msgs = append(msgs, "stdout: a signal ended the wait for its reader after the end of the run: the report was not written whole")
		}
	}
	for _, m := range msgs {
		fmt.Fprintf(stderr, "nmbench: %s\n", m)
	}
	return code
}

// Exit statuses, the same for every function: 2 for a usage error (a bad
// flag or value, found while parsing the command line or, for a value
// that does not fit the port or a file, when the run opens them), 1 for an
// error at run time (a port, socket or file that cannot be used, a
// failed send or receive), 0 otherwise.

// usageError marks an error of the command line found at run time.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// usage marks err as a usage error (exit status 2).
func usage(err error) error { return usageError{err} }

func addr(a [4]byte) netip.Addr { return netip.AddrFrom4(a) }
