package nmsys

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/rings"
)

// Port is an open, registered and mapped netmap port.
//
// Control methods (Info, Mem, ring offsets, Close) are safe for concurrent
// use. TxSync and WaitTx may run in one goroutine while RxSync and WaitRx
// run in another; netmap itself does not support two syncs of the same
// ring at once, so each direction must be driven by one goroutine at a time.
// To spread rings over goroutines, open one Port per ring (name suffix
// "-N", or Config.Mode = ModeOneNIC with Config.RingID).
type Port struct {
	name string // as given to Open
	file *os.File
	fd   int // file's descriptor, for the region's bookkeeping
	rc   syscall.RawConn
	mem  []byte

	info   Info
	ifOff  int
	txOffs []int // offsets of bound TX rings, [FirstTx, LastTx)
	rxOffs []int // offsets of bound RX rings, [FirstRx, LastRx)

	ringsMu sync.Mutex
	txRings []*rings.TxRing // built on first use, one view per ring
	rxRings []*rings.RxRing
	extra   *rings.ExtraBufs // built on first use

	closed  atomic.Bool
	users   atomic.Int64 // goroutines touching mem inside the port (wait callbacks)
	closeMu sync.Mutex
	region  *region // the mapping, shared with other Ports of the same memory region
	cleanup runtime.Cleanup

	// Deadlines on the monotonic clock of handoff.Now (handoff.DeadlineNanos), 0 for none.
	rdeadline atomic.Int64
	wdeadline atomic.Int64

	// Callbacks bound once so syncs and waits do not allocate; each
	// direction's errno slot is written only by the goroutine driving it.
	txSyncFn, rxSyncFn func(uintptr)
	txWaitFn, rxWaitFn func(uintptr) bool
	rxPoll, txPoll     pollState // poll(2) waits, one per direction; PollRx uses rxPoll
	threadWait         bool      // Config.ThreadWait: waits use poll(2), no netpoller
	txErrno, rxErrno   syscall.Errno
	txWaitErr          syscall.Errno
	rxWaitErr          syscall.Errno
}

// Open opens the netmap port name (see [ParseName] for the grammar), registers
// it with the kernel and maps its memory region. cfg may be nil.
//
// Open needs read-write access to /dev/netmap, which usually means root.
// Without /dev/netmap it returns an error matching [ErrNotSupported] and
// fs.ErrNotExist; with a netmap module too old to speak NIOCCTRL, an
// [*APIVersionError]; when the kernel refuses, an [*Error] wrapping the
// errno (errors.Is(err, unix.EBUSY) and so on).
func Open(name string, cfg *Config) (*Port, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	reg, err := buildRegister(n, &c)
	if err != nil {
		return nil, &Error{Op: "open", Port: name, Err: err}
	}

	fd, err := openDev(name, "open")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			closeFD(fd)
		}
	}()

	if n.Share != "" {
		pi, err := portInfoFD(fd, n.Share, nil)
		if err != nil {
			return nil, &Error{Op: "open (share " + n.Share + ")", Port: name, Err: err}
		}
		reg.MemID = uint16(pi.MemID)
	}

	if err := ctrl(fd, abi.NETMAP_REQ_REGISTER, n.Port, unsafe.Pointer(reg)); err != nil {
		if errors.Is(err, errEOPNOTSUPP) || errors.Is(err, errENOTTY) {
			if verr := legacyProbe(fd, n.Port, err); verr != nil {
				return nil, verr
			}
		}
		if errors.Is(err, errEOPNOTSUPP) {
			err = &hintError{err: err, hint: "the kernel does not support this registration here: with the netmap module parameter admode=1 (native adapters only), a NIC without a native netmap driver cannot be opened; admode=0 falls back to the emulated adapter"}
		}
		return nil, &Error{Op: "register", Port: name, Err: err}
	}

	size, err := regionSize(reg.MemSize, reg.Offset, min(1<<40, math.MaxInt))
	if err != nil {
		return nil, &Error{Op: "register", Port: name, Err: err}
	}
	rg, err := acquireRegion(fd, int(reg.MemID), size)
	if err != nil {
		return nil, &Error{Op: "mmap", Port: name, Err: os.NewSyscallError("mmap", err)}
	}
	drop := func() { _ = rg.forget(fd); _ = rg.closePort(); rg.release() }
	p := &Port{name: name, fd: fd, mem: rg.mem, ifOff: int(reg.Offset), region: rg}
	if err := p.layout(n.Port, reg); err != nil {
		drop()
		return nil, &Error{Op: "map", Port: name, Err: err}
	}
	if pools, err := poolsInfoFD(fd, n.Port); err == nil && pools.MemID == p.info.MemID && pools.BufSize == p.info.BufSize {
		p.info.BufCount = min(pools.BufCount, p.info.BufCount)
	}

	// Only now, registered and mapped, may the netpoller see the fd.
	if c.ThreadWait {
		// A blocking descriptor is one os.NewFile does not hand to
		// the netpoller; the waits then use poll(2).
		if err := setBlocking(fd); err != nil {
			drop()
			return nil, &Error{Op: "open", Port: name, Err: os.NewSyscallError("fcntl", err)}
		}
		p.threadWait = true
	}
	p.file = os.NewFile(uintptr(fd), "/dev/netmap:"+n.Port)
	if p.file == nil {
		drop()
		return nil, &Error{Op: "open", Port: name, Err: errors.New("os.NewFile failed")}
	}
	ok = true
	rc, err := p.file.SyscallConn()
	if err != nil {
		drop()
		_ = p.file.Close()
		return nil, &Error{Op: "open", Port: name, Err: err}
	}
	p.rc = rc
	p.txSyncFn = p.txSyncCB
	p.rxSyncFn = p.rxSyncCB
	p.txWaitFn = p.txWaitCB
	p.rxWaitFn = p.rxWaitCB
	p.rxPoll.init(p, p.rxWaitFn, pollIn)
	p.txPoll.init(p, p.txWaitFn, pollOut)
	p.cleanup = runtime.AddCleanup(p, portGone, portRef{rg, fd, p.file})
	return p, nil
}

// portRef is what the cleanup of a Port that was never closed needs. It
// keeps the file reachable, so that the file's own finalizer cannot close
// the descriptor while the region still lists it.
type portRef struct {
	region *region
	fd     int
	file   *os.File
}

// portGone runs when a Port that was not closed becomes unreachable.
func portGone(r portRef) {
	_ = r.region.forget(r.fd)
	_ = r.file.Close()
	r.region.release()
}

// buildRegister turns a parsed name plus config into a REGISTER body.
func buildRegister(n *Name, c *Config) (*abi.ReqRegister, error) {
	reg := new(abi.ReqRegister)
	mode, ring := n.Mode, n.RingID
	if c.Mode != ModeFromName {
		mode, ring = c.Mode, c.RingID
	}
	switch mode {
	case ModeFromName:
		mode = ModeAllNIC
	case ModeAllNIC, ModeSW, ModeNICSW, ModeOneNIC, ModeNull, ModeOneSW:
	default:
		return nil, fmt.Errorf("invalid mode %d", uint32(mode))
	}
	if mode != ModeNull && valReserved(n.Port) {
		return nil, fmt.Errorf("port %s: %s", n.Port, valReservedMsg)
	}
	if isPipe(n.Port) && !pipeMode(mode) {
		return nil, fmt.Errorf("mode %s on pipe %s: netmap binds only a pipe's NIC rings (ModeAllNIC, ModeOneNIC)", mode, n.Port)
	}
	if ring < 0 || ring > abi.NETMAP_RING_MASK {
		return nil, fmt.Errorf("ring id %d out of range 0..%d", ring, abi.NETMAP_RING_MASK)
	}
	reg.Mode = uint32(mode)
	reg.RingID = uint16(ring)

	pick := func(what string, cfg, name, limit int) (int, error) {
		v := name
		if cfg != 0 {
			v = cfg
		}
		if v < 0 || v > limit {
			return 0, fmt.Errorf("%s %d out of range 0..%d", what, v, limit)
		}
		return v, nil
	}
	var err error
	var v int
	set16 := func(dst *uint16, what string, cfg, name int) {
		if err == nil {
			v, err = pick(what, cfg, name, 0xffff)
			*dst = uint16(v)
		}
	}
	set32 := func(dst *uint32, what string, cfg, name int) {
		if err == nil {
			v, err = pick(what, cfg, name, 1<<24)
			*dst = uint32(v)
		}
	}
	set16(&reg.TxRings, "tx rings", c.TxRings, n.Conf.TxRings)
	set16(&reg.RxRings, "rx rings", c.RxRings, n.Conf.RxRings)
	set16(&reg.HostTxRings, "host tx rings", c.HostTxRings, n.Conf.HostTxRings)
	set16(&reg.HostRxRings, "host rx rings", c.HostRxRings, n.Conf.HostRxRings)
	set32(&reg.TxSlots, "tx slots", c.TxSlots, n.Conf.TxSlots)
	set32(&reg.RxSlots, "rx slots", c.RxSlots, n.Conf.RxSlots)
	set32(&reg.ExtraBufs, "extra buffers", c.ExtraBuffers, 0)
	set16(&reg.MemID, "memory id", c.MemID, n.MemID)
	if err != nil {
		return nil, err
	}

	flags := uint64(n.Flags)
	if c.TxOnly {
		flags |= abi.NR_TX_RINGS_ONLY
	}
	if c.RxOnly {
		flags |= abi.NR_RX_RINGS_ONLY
	}
	if flags&abi.NR_TX_RINGS_ONLY != 0 && flags&abi.NR_RX_RINGS_ONLY != 0 {
		return nil, errors.New("TX-only and RX-only are exclusive")
	}
	if c.NoTxPoll {
		flags |= abi.NR_NO_TX_POLL
	}
	if c.Exclusive {
		flags |= abi.NR_EXCLUSIVE
	}
	if c.AcceptVnetHdr {
		flags |= abi.NR_ACCEPT_VNET_HDR
	}
	reg.Flags = flags
	return reg, nil
}

// Name returns the name the port was opened with.
func (p *Port) Name() string { return p.name }

// Info returns the port's geometry as the kernel reported it at
// registration.
func (p *Port) Info() Info { return p.info }

// Mem returns the mapped memory region: the netmap_if at [Port.IfOffset],
// the rings at their offsets, and the buffers. Ports of this process whose
// registrations share a memory region (same Info.MemID) share one mapping,
// so buffers can be swapped between their rings. The slice aliases shared memory that
// the kernel reads and writes; it is valid until Close returns, and touching
// it afterwards faults. The rings package builds its ring views on it.
func (p *Port) Mem() []byte { return p.mem }

// IfOffset returns the byte offset of the port's netmap_if in [Port.Mem].
func (p *Port) IfOffset() int { return p.ifOff }
