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

// passProgram is XDP_PASS alone: on a veth it gives the link the NAPI
// that frames from its peer's ndo_xdp_xmit need, where GRO cannot be
// turned on (no ethtool), and passes every frame to the stack.
var passProgram = asm.Instructions{
	asm.Mov.Imm(asm.R0, 2), // XDP_PASS
	asm.Return(),
}

// attach loads insns as an XDP program and attaches it to link name
// through a bpf_link, which holds the program from then on.
func attach(name string, insns asm.Instructions, generic bool) (link.Link, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("link %q: %w", name, err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "nmgo_amp", Type: ebpf.XDP, License: "Dual MIT/GPL", Instructions: insns})
	if err != nil {
		return nil, fmt.Errorf("load XDP program for %s: %w", name, err)
	}
	defer prog.Close()
	mode, flags := "native", link.XDPDriverMode
	if generic {
		mode, flags = "generic", link.XDPGenericMode
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifi.Index, Flags: flags})
	if err != nil {
		return nil, fmt.Errorf("attach XDP program to %s in %s mode: %w", name, mode, err)
	}
	return l, nil
}

// run parses args, attaches the amplifier (and the -pass program) and
// waits for ctx; it detaches before returning.
func run(ctx context.Context, args []string, log io.Writer) (err error) {
	fs := flag.NewFlagSet("amp", flag.ContinueOnError)
	fs.SetOutput(log)
	in := fs.String("i", "", "link whose received frames are copied (`IN`)")
	out := fs.String("o", "", "link the copies go out of (`OUT`)")
	n := fs.Int("n", 64, fmt.Sprintf("copies of each frame, 1 to %d", maxCopies))
	generic := fs.Bool("generic", false, "attach in generic (skb) mode, not the driver's native mode")
	pass := fs.String("pass", "", "also attach an XDP_PASS program to this link (`LINK`): NAPI for a veth that receives the copies without GRO; alone, without -i and -o, only that")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	amplify := *in != "" || *out != ""
	if (amplify || *pass == "") && (*in == "" || *out == "") {
		return errors.New("-i IN and -o OUT are required (or -pass LINK alone)")
	}
	if *n < 1 || *n > maxCopies {
		return fmt.Errorf("-n %d: copies must be 1 to %d", *n, maxCopies)
	}
	var links []link.Link
	defer func() {
		for _, l := range links {
			if cerr := l.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("detach XDP program: %w", cerr)
			}
		}
	}()
	if *pass != "" {
		l, err := attach(*pass, passProgram, *generic)
		if err != nil {
			return fmt.Errorf("-pass: %w", err)
		}
		links = append(links, l)
		fmt.Fprintf(log, "amp: XDP_PASS on %s\n", *pass)
	}
	if amplify {
		if err := amp(*in, *out, *n, *generic, &links, log); err != nil {
			return err
		}
	}
	fmt.Fprintln(log, "amp: attached; SIGINT or SIGTERM detaches")
	<-ctx.Done()
	return nil
}

// amp attaches the amplifier, adding its link to links.
func amp(in, out string, n int, generic bool, links *[]link.Link, log io.Writer) error {
	if _, err := net.InterfaceByName(in); err != nil {
		return fmt.Errorf("link IN %q: %w", in, err)
	}
	oi, err := net.InterfaceByName(out)
	if err != nil {
		return fmt.Errorf("link OUT %q: %w", out, err)
	}

	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "nmgo_amp", Type: ebpf.DevMap, KeySize: 4, ValueSize: 4, MaxEntries: uint32(n)})
	if err != nil {
		return fmt.Errorf("create DEVMAP of %d entries: %w", n, err)
	}
	// The program holds the map from here on (the kernel's reference).
	defer m.Close()
	for k := range n {
		if err := m.Put(uint32(k), uint32(oi.Index)); err != nil {
			return fmt.Errorf("DEVMAP entry %d = %s (ifindex %d): %w", k, out, oi.Index, err)
		}
	}
	l, err := attach(in, broadcastProgram(m), generic)
	if err != nil {
		return err
	}
	*links = append(*links, l)
	fmt.Fprintf(log, "amp: %s -> %s x%d\n", in, out, n)
	return nil
}
