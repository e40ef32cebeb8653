//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
)

// maxCopies bounds -n: the DEVMAP's size, and the frames the kernel
// sends out of OUT for each one IN receives.
const maxCopies = 1024

// bpfFBroadcast is BPF_F_BROADCAST of bpf_redirect_map (uapi bpf.h):
// redirect to every entry of the map, the key ignored.
const bpfFBroadcast = 1 << 3

// xdpDrop is XDP_DROP, the action bpf_redirect_map returns when its
// flags' low bits name it and the redirect fails.
const xdpDrop = 1

// broadcastProgram returns the XDP program: redirect the frame to every
// entry of m, dropping it if that fails.
func broadcastProgram(m *ebpf.Map) asm.Instructions {
	return asm.Instructions{
		asm.LoadMapPtr(asm.R1, m.FD()),             // r1 = the DEVMAP
		asm.Mov.Imm(asm.R2, 0),                     // r2 = key, ignored on broadcast
		asm.Mov.Imm(asm.R3, bpfFBroadcast|xdpDrop), // r3 = flags
		asm.FnRedirectMap.Call(),
		asm.Return(),
	}
}

// run parses args, attaches the amplifier and waits for ctx; it detaches
// before returning.
func run(ctx context.Context, args []string, log io.Writer) error {
	fs := flag.NewFlagSet("amp", flag.ContinueOnError)
	fs.SetOutput(log)
	in := fs.String("i", "", "link whose received frames are copied (`IN`)")
	out := fs.String("o", "", "link the copies go out of (`OUT`)")
	n := fs.Int("n", 64, fmt.Sprintf("copies of each frame, 1 to %d", maxCopies))
	generic := fs.Bool("generic", false, "attach in generic (skb) mode, not the driver's native mode")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *in == "" || *out == "" {
		return errors.New("-i IN and -o OUT are required")
	}
	if *n < 1 || *n > maxCopies {
		return fmt.Errorf("-n %d: copies must be 1 to %d", *n, maxCopies)
	}
	ii, err := net.InterfaceByName(*in)
	if err != nil {
		return fmt.Errorf("link IN %q: %w", *in, err)
	}
	oi, err := net.InterfaceByName(*out)
	if err != nil {
		return fmt.Errorf("link OUT %q: %w", *out, err)
	}

	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "nmgo_amp", Type: ebpf.DevMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(*n)})
	if err != nil {
		return fmt.Errorf("create DEVMAP of %d entries: %w", *n, err)
	}
	defer m.Close()
	for k := range *n {
		if err := m.Put(uint32(k), uint32(oi.Index)); err != nil {
			return fmt.Errorf("DEVMAP entry %d = %s (ifindex %d): %w", k, *out, oi.Index, err)
		}
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "nmgo_amp", Type: ebpf.XDP, License: "Dual MIT/GPL", Instructions: broadcastProgram(m)})
	if err != nil {
		return fmt.Errorf("load XDP program: %w", err)
	}
	defer prog.Close()
	mode, flags := "native", link.XDPDriverMode
	if *generic {
		mode, flags = "generic", link.XDPGenericMode
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ii.Index, Flags: flags})
	if err != nil {
		return fmt.Errorf("attach XDP program to %s in %s mode: %w", *in, mode, err)
	}
	fmt.Fprintf(log, "amp: %s -> %s x%d (%s mode); SIGINT or SIGTERM detaches\n", *in, *out, *n, mode)
	<-ctx.Done()
	if err := l.Close(); err != nil {
		return fmt.Errorf("detach XDP program from %s: %w", *in, err)
	}
	return nil
}
