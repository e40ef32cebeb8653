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
		return 1
	}
	return 0
}

func addr(a [4]byte) netip.Addr { return netip.AddrFrom4(a) }
