package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/nmgo/nmgo/nmsys"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// cli runs nmbench with args and returns the exit status.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
	_, err = run(ctx, cfg, out)
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
		dropped, serr := so.finish()
		if dropped > 0 {
			msgs = append(msgs, fmt.Sprintf("stdout: its reader fell more than %d KiB behind: %d interval reports were dropped", stallLimit>>10, dropped))
		}
		if serr != nil {
			msgs = append(msgs, serr.Error())
			code = max(code, 1)
		}
	}
	say(stderr, msgs)
	return code
}

// say writes each of msgs to stderr as a line of nmbench's. A stderr
// that may stall (2>&1 into the pipe of a reader that stopped reading)
// is given outfile.Grace to take them, not for ever.
func say(stderr io.Writer, msgs []string) {
	if len(msgs) == 0 {
		return
	}
	w := stderr
	var so *stallOut
	if stalls(stderr) {
		so = newStallOut(stderr)
		so.endLive()
		w = so
	}
	for _, m := range msgs {
		fmt.Fprintf(w, "nmbench: %s\n", m)
	}
	if so != nil {
		so.finish()
	}
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
