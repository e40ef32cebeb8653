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
	if _, err := run(ctx, cfg, stdout); err != nil {
		if errors.Is(err, nmsys.ErrNotSupported) {
			err = fmt.Errorf("%w; without netmap, nmbench can use kernel sockets (-i udp:127.0.0.1:9000)", err)
		}
		fmt.Fprintf(stderr, "nmbench: %v\n", err)
		if errors.As(err, new(usageError)) {
			return 2
		}
		return 1
	}
	return 0
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
