//go:build linux

package xsk_test

import (
	"net"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/nmgo/nmgo/internal/xdptest"
)

// attachPass attaches an XDP_PASS program to dev in ns in native mode, as
// another application would, and returns its release.
func attachPass(t *testing.T, ns, dev string) func() {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, License: "MIT",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}})
	if err != nil {
		t.Fatal(err)
	}
	var l link.Link
	err = xdptest.In(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifi.Index, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		prog.Close()
		t.Fatal(err)
	}
	return func() { l.Close(); prog.Close() }
}
