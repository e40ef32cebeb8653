// Command nmbench sends and receives packets at line rate on netmap ports,
// in the style of netmap's pkt-gen, so links, hosts and nmgo itself can be
// measured against the C yardstick.
//
//	nmbench -i vale0:a -f tx -l 60          # send 60-byte frames
//	nmbench -i vale0:b -f rx                # count what arrives
//	nmbench -i vale0:a -f txseq -n 1000000  # numbered frames ...
//	nmbench -i vale0:b -f rxseq -json       # ... checked for loss and order
//
// It needs read-write access to /dev/netmap (usually root). Without netmap,
// run it inside the VM runner: test/vale/vm/run --script test/vale/nmbench.sh.
// SIGINT or SIGTERM ends a run early and still prints the summary.
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
	if _, err := run(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "nmbench: %v\n", err)
		return 1
	}
	return 0
}

func addr(a [4]byte) netip.Addr { return netip.AddrFrom4(a) }
