//go:build linux

package xsk

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// attachKey names an interface across network namespaces: interface
// indices are per namespace.
type attachKey struct {
	netns   uint64
	ifindex int
}

// attachment is the redirect program attached to one interface, with its
// XSKMAP, shared by the sockets of this process on that interface (one per
// queue).
type attachment struct {
	key  attachKey
	prog *ebpf.Program
	xsks *ebpf.Map
	link link.Link
	mode XDPMode // native or generic, as attached
	refs int
}

var (
	attachMu sync.Mutex
	attached = map[attachKey]*attachment{}
)

// redirectProgram is the XDP program: redirect the packet to the socket in
// the XSKMAP slot of its receive queue, or pass it to the kernel's stack if
// the slot is empty (the low bits of bpf_redirect_map's flags are the
// action on a miss).
func redirectProgram(m *ebpf.Map) asm.Instructions {
	return asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 16, asm.Word), // r2 = ctx->rx_queue_index
		asm.LoadMapPtr(asm.R1, m.FD()),            // r1 = the XSKMAP
		asm.Mov.Imm(asm.R3, 2),                    // r3 = XDP_PASS on a miss
		asm.FnRedirectMap.Call(),
		asm.Return(),
	}
}

// netnsID returns the inode of the calling thread's network namespace.
func netnsID() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// attachXDP returns the attachment of iface (index ifindex), attaching the
// redirect program in the given mode if this process has not yet.
func attachXDP(iface string, ifindex int, mode XDPMode) (*attachment, error) {
	ns, err := netnsID()
	if err != nil {
		return nil, fmt.Errorf("network namespace: %w", err)
	}
	key := attachKey{ns, ifindex}
	attachMu.Lock()
	defer attachMu.Unlock()
	if a := attached[key]; a != nil {
		if mode != XDPAuto && mode != a.mode {
			return nil, fmt.Errorf("the program is already attached to %s in %s mode by another socket of this process, not %s", iface, a.mode, mode)
		}
		a.refs++
		return a, nil
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Name: "nmgo_xsks", Type: ebpf.XSKMap, KeySize: 4, ValueSize: 4, MaxEntries: maxQueues})
	if err != nil {
		return nil, fmt.Errorf("create XSKMAP: %w", err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "nmgo_xsk", Type: ebpf.XDP, License: "Dual MIT/GPL", Instructions: redirectProgram(m)})
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("load XDP program: %w", err)
	}
	a := &attachment{key: key, prog: prog, xsks: m, refs: 1}
	try := func(mode XDPMode) error {
		flags := link.XDPDriverMode
		if mode == XDPGeneric {
			flags = link.XDPGenericMode
		}
		l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifindex, Flags: flags})
		if err != nil {
			if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) {
				err = fmt.Errorf("%w (another XDP program is attached to %s: ip link show %s)", err, iface, iface)
			}
			return fmt.Errorf("%s mode: %w", mode, err)
		}
		a.link, a.mode = l, mode
		return nil
	}
	switch mode {
	case XDPAuto:
		if nerr := try(XDPNative); nerr != nil {
			if gerr := try(XDPGeneric); gerr != nil {
				err = fmt.Errorf("%w; %w", nerr, gerr)
			}
		}
	default:
		err = try(mode)
	}
	if err != nil {
		prog.Close()
		m.Close()
		return nil, fmt.Errorf("attach XDP program to %s: %w", iface, err)
	}
	attached[key] = a
	return a, nil
}

// set puts socket fd into the XSKMAP slot of queue.
func (a *attachment) set(queue, fd int) error {
	if err := a.xsks.Put(uint32(queue), uint32(fd)); err != nil {
		return fmt.Errorf("XSKMAP slot %d: %w", queue, err)
	}
	return nil
}

// release empties the slot of queue and drops one reference, detaching the
// program and closing the map when it was the last.
func (a *attachment) release(queue int) error {
	attachMu.Lock()
	defer attachMu.Unlock()
	err := a.xsks.Delete(uint32(queue))
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		err = nil
	}
	if a.refs--; a.refs > 0 {
		return err
	}
	delete(attached, a.key)
	if lerr := a.link.Close(); lerr != nil && err == nil {
		err = fmt.Errorf("detach XDP program: %w", lerr)
	}
	a.prog.Close()
	a.xsks.Close()
	return err
}
