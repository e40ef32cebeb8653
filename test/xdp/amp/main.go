// Command amp is a benchmark instrument of nmgo's AF_XDP path: a
// kernel-side traffic amplifier. It attaches an XDP program to link IN
// that sends every frame IN receives out of link OUT N times, by
// bpf_redirect_map with BPF_F_BROADCAST over a DEVMAP of N entries that
// all hold OUT's ifindex, then waits for SIGINT or SIGTERM and detaches.
//
//	amp -i IN -o OUT [-n 64] [-generic] [-pass LINK]
//	amp -pass LINK
//
// With IN and OUT veths in one network namespace, a user-space sender
// on IN's peer offers OUT's peer N frames for each one it sends, as
// xdp_frames through the veth's ndo_xdp_xmit: no skb is built on the
// sending side, so the generator's own cost is a fraction of a frame's
// and the feed can exceed what a receiver takes (test/xdp/bench.sh's
// saturation RX cell). What still bounds the feed is the copies (the
// broadcast clones each frame) and, on a veth, the receiver's kernel
// work, which runs on the CPU of the feed's softirq. OUT's peer needs
// NAPI to take such frames: an XDP program of its own, or GRO on, or,
// where there is no ethtool to turn GRO on, -pass: an XDP program that
// passes every frame to the stack (which also makes the veth run XDP on
// each frame before it builds the skb).
//
// The frames leave OUT as they arrived on IN (the same headers and
// payload), so the sender writes the addresses the receiver expects.
// The program is attached through a bpf_link: it is detached also when
// the process dies without running its handler.
//
// It needs Linux and CAP_NET_ADMIN with CAP_BPF (root). It is not part
// of nmgo's API; nothing imports it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "amp:", err)
		os.Exit(1)
	}
}
