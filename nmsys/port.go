package nmsys

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
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
	rc   syscall.RawConn
	mem  []byte

	info   Info
	ifOff  int
	txOffs []int // offsets of bound TX rings, [FirstTx, LastTx)
	rxOffs []int // offsets of bound RX rings, [FirstRx, LastRx)

	ringsMu sync.Mutex
	txRings []*rings.TxRing // built on first use, one view per ring
	rxRings []*rings.RxRing

	closed  atomic.Bool
	users   atomic.Int64 // goroutines touching mem inside the port (wait callbacks)
	closeMu sync.Mutex
	region  *region // the mapping, shared with other Ports of the same memory region
	cleanup runtime.Cleanup

	// Deadlines as Unix nanoseconds, 0 for none.
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

// waitSlice bounds one netpoller wait. netmap can in principle lose a
// wake-up when epoll's poll of the fd races with our own sync of the same
// ring (ref/netpoller.md §6); waking at least this often and syncing again
// turns such a loss into a short delay instead of a hang.
const waitSlice = 200 * time.Millisecond

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
		pi, err := portInfoFD(fd, n.Share)
		if err != nil {
			return nil, &Error{Op: "open (share " + n.Share + ")", Port: name, Err: err}
		}
		reg.MemID = uint16(pi.MemID)
	}

	if err := ctrl(fd, abi.NETMAP_REQ_REGISTER, n.Port, unsafe.Pointer(reg)); err != nil {
		if errors.Is(err, errEOPNOTSUPP) || errors.Is(err, errENOTTY) {
			return nil, legacyProbe(fd, n.Port)
		}
		return nil, &Error{Op: "register", Port: name, Err: err}
	}

	if reg.MemSize == 0 || reg.MemSize > 1<<40 || reg.Offset >= reg.MemSize {
		return nil, &Error{Op: "register", Port: name, Err: fmt.Errorf("kernel returned memsize %d, offset %d", reg.MemSize, reg.Offset)}
	}
	rg, err := acquireRegion(fd, int(reg.MemID), int(reg.MemSize))
	if err != nil {
		return nil, &Error{Op: "mmap", Port: name, Err: os.NewSyscallError("mmap", err)}
	}
	drop := func() { _ = rg.closePort(); rg.release() }
	p := &Port{name: name, mem: rg.mem, ifOff: int(reg.Offset), region: rg}
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
		_ = p.file.Close()
		drop()
		return nil, &Error{Op: "open", Port: name, Err: err}
	}
	p.rc = rc
	p.txSyncFn = p.txSyncCB
	p.rxSyncFn = p.rxSyncCB
	p.txWaitFn = p.txWaitCB
	p.rxWaitFn = p.rxWaitCB
	p.rxPoll.init(p, p.rxWaitFn, pollIn)
	p.txPoll.init(p, p.txWaitFn, pollOut)
	p.cleanup = runtime.AddCleanup(p, (*region).release, rg)
	return p, nil
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

// layout validates the netmap_if and the bound rings inside the mapped
// region and fills p.info and the ring offsets. Everything read here was
// written by the kernel and is checked before use.
func (p *Port) layout(kname string, reg *abi.ReqRegister) error {
	mem := p.mem
	if p.ifOff < 0 || p.ifOff+abi.IfRingOfs > len(mem) || p.ifOff%8 != 0 {
		return fmt.Errorf("netmap_if offset %d outside the %d-byte region", p.ifOff, len(mem))
	}
	nifp := (*abi.If)(unsafe.Pointer(&mem[p.ifOff]))
	ntx, nrx := int(nifp.TxRings), int(nifp.RxRings)
	htx, hrx := int(nifp.HostTxRings), int(nifp.HostRxRings)
	if htx == 0 { // pre-API-14 kernels leave these 0 and have one host ring
		htx = 1
	}
	if hrx == 0 {
		hrx = 1
	}
	const maxRings = 1 << 12
	if ntx > maxRings || nrx > maxRings || htx > maxRings || hrx > maxRings {
		return fmt.Errorf("netmap_if reports %d+%d tx and %d+%d rx rings", ntx, htx, nrx, hrx)
	}
	total := ntx + htx + nrx + hrx
	if p.ifOff+abi.IfRingOfs+8*total > len(mem) {
		return fmt.Errorf("netmap_if ring table (%d rings) runs past the region", total)
	}
	ringOfs := func(i int) int64 {
		return *(*int64)(unsafe.Pointer(&mem[p.ifOff+abi.IfRingOfs+8*i]))
	}
	// Bound rings are the non-zero entries; libnetmap takes the first and
	// last non-zero entry of each direction.
	span := func(base, n int) (first, last int) {
		first, last = -1, -1
		for i := 0; i < n; i++ {
			if ringOfs(base+i) != 0 {
				if first < 0 {
					first = i
				}
				last = i + 1
			}
		}
		if first < 0 {
			return 0, 0
		}
		return first, last
	}
	ft, lt := span(0, ntx+htx)
	fr, lr := span(ntx+htx, nrx+hrx)

	bufSize, bufBase := 0, -1
	check := func(idx int) (int, error) {
		o := ringOfs(idx)
		off := int64(p.ifOff) + o
		if o == 0 || off < 0 || off%8 != 0 || off+abi.RingSlots > int64(len(mem)) {
			return 0, fmt.Errorf("ring %d at offset %d is outside the region", idx, o)
		}
		r := (*abi.RingHeader)(unsafe.Pointer(&mem[off]))
		ns := int64(r.NumSlots)
		if ns == 0 || off+abi.RingSlots+ns*abi.SlotSize > int64(len(mem)) {
			return 0, fmt.Errorf("ring %d: %d slots run past the region", idx, ns)
		}
		bs := int(r.NrBufSize)
		base := off + r.BufOfs
		if bs == 0 || base < 0 || base >= int64(len(mem)) {
			return 0, fmt.Errorf("ring %d: buffer pool at %d (size %d) is outside the region", idx, base, bs)
		}
		if bufSize == 0 {
			bufSize, bufBase = bs, int(base)
		} else if bs != bufSize || int(base) != bufBase {
			return 0, fmt.Errorf("ring %d: buffer pool %d/%d differs from %d/%d", idx, base, bs, bufBase, bufSize)
		}
		return int(off), nil
	}
	for i := ft; i < lt; i++ {
		off, err := check(i)
		if err != nil {
			return fmt.Errorf("tx %w", err)
		}
		p.txOffs = append(p.txOffs, off)
	}
	for i := fr; i < lr; i++ {
		off, err := check(ntx + htx + i)
		if err != nil {
			return fmt.Errorf("rx %w", err)
		}
		p.rxOffs = append(p.rxOffs, off)
	}
	if len(p.txOffs)+len(p.rxOffs) == 0 {
		return errors.New("no rings bound")
	}

	ifname := nifp.Name[:]
	if i := strings.IndexByte(string(ifname), 0); i >= 0 {
		ifname = ifname[:i]
	}
	p.info = Info{
		Name:         kname,
		IfName:       string(ifname),
		TxRings:      ntx,
		RxRings:      nrx,
		HostTxRings:  htx,
		HostRxRings:  hrx,
		TxSlots:      int(reg.TxSlots),
		RxSlots:      int(reg.RxSlots),
		FirstTx:      ft,
		LastTx:       lt,
		FirstRx:      fr,
		LastRx:       lr,
		MemID:        int(reg.MemID),
		MemSize:      len(mem),
		BufSize:      bufSize,
		BufCount:     (len(mem) - bufBase) / bufSize,
		PrivateMem:   nifp.Flags&abi.NI_PRIV_MEM != 0,
		ExtraBuffers: int(reg.ExtraBufs),
	}
	return nil
}

// Name returns the name the port was opened with.
func (p *Port) Name() string { return p.name }

// Info returns the port's geometry as the kernel reported it at
// registration.
func (p *Port) Info() Info { return p.info }

// Mem returns the mapped memory region: netmap_if, rings and buffers, as
// described in docs/architecture.md. Ports of this process whose
// registrations share a memory region (same Info.MemID) share one mapping,
// so buffers can be swapped between their rings. The slice aliases shared memory that
// the kernel reads and writes; it is valid until Close returns, and touching
// it afterwards faults. The rings package builds its ring views on it.
func (p *Port) Mem() []byte { return p.mem }

// IfOffset returns the byte offset of the port's netmap_if in [Port.Mem].
func (p *Port) IfOffset() int { return p.ifOff }

// TxRingOffset returns the byte offset in [Port.Mem] of TX ring i, which
// must be in [Info.FirstTx, Info.LastTx). The ring header and its slot array
// were checked to lie inside the region.
func (p *Port) TxRingOffset(i int) (int, error) {
	if i < p.info.FirstTx || i >= p.info.LastTx {
		return 0, fmt.Errorf("nmsys: tx ring %d not bound (bound: [%d, %d))", i, p.info.FirstTx, p.info.LastTx)
	}
	return p.txOffs[i-p.info.FirstTx], nil
}

// RxRingOffset returns the byte offset in [Port.Mem] of RX ring i, which
// must be in [Info.FirstRx, Info.LastRx).
func (p *Port) RxRingOffset(i int) (int, error) {
	if i < p.info.FirstRx || i >= p.info.LastRx {
		return 0, fmt.Errorf("nmsys: rx ring %d not bound (bound: [%d, %d))", i, p.info.FirstRx, p.info.LastRx)
	}
	return p.rxOffs[i-p.info.FirstRx], nil
}

// TxRing returns the view of bound TX ring i (in [Info.FirstTx,
// Info.LastTx)) that the rings package provides: batch, zero-copy and
// multi-slot operations on the shared ring. Every call returns the same
// view; like the ring itself it belongs to one goroutine at a time. Sync it
// with [Port.TxSync] or [Port.WaitTx].
//
// After Close, a goroutine still using the view does not fault: Close
// replaces the mapping with private zeroed memory (so the view reports
// integrity errors, and syncs return [ErrClosed]), which is freed once the
// Port and its views are garbage.
func (p *Port) TxRing(i int) (*rings.TxRing, error) {
	off, err := p.TxRingOffset(i)
	if err != nil {
		return nil, err
	}
	return ringView(p, &p.txRings, len(p.txOffs), i-p.info.FirstTx, off, rings.NewTxRing, "tx ring")
}

// ringView returns the cached view k of *views, building it with mk at
// byte offset off on first use and tying the region's lifetime to it.
func ringView[R any](p *Port, views *[]*R, n, k, off int, mk func([]byte, int) (*R, error), op string) (*R, error) {
	p.ringsMu.Lock()
	defer p.ringsMu.Unlock()
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if *views == nil {
		*views = make([]*R, n)
	}
	if (*views)[k] == nil {
		r, err := mk(p.mem, off)
		if err != nil {
			return nil, &Error{Op: op, Port: p.name, Err: err}
		}
		p.region.refs.Add(1)
		runtime.AddCleanup(r, (*region).release, p.region)
		p.region.markViews()
		(*views)[k] = r
	}
	return (*views)[k], nil
}

// RxRing returns the view of bound RX ring i (in [Info.FirstRx,
// Info.LastRx)); see [Port.TxRing] for the rules. Sync it with
// [Port.RxSync] or [Port.WaitRx].
func (p *Port) RxRing(i int) (*rings.RxRing, error) {
	off, err := p.RxRingOffset(i)
	if err != nil {
		return nil, err
	}
	return ringView(p, &p.rxRings, len(p.rxOffs), i-p.info.FirstRx, off, rings.NewRxRing, "rx ring")
}

// TxSync tells the kernel about the slots published on the bound TX rings
// (NIOCTXSYNC): it sends them and reclaims completed slots, moving each
// ring's tail. It never waits for space; see [Port.WaitTx]. It does not
// allocate.
func (p *Port) TxSync() error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := p.rc.Control(p.txSyncFn); err != nil {
		return p.ctlErr(err)
	}
	if p.txErrno != 0 {
		return p.syncErr("txsync", "ioctl", p.txErrno)
	}
	return nil
}

// RxSync returns the released slots of the bound RX rings to the kernel and
// makes newly received packets visible (NIOCRXSYNC). It never waits; see
// [Port.WaitRx]. It does not allocate.
func (p *Port) RxSync() error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := p.rc.Control(p.rxSyncFn); err != nil {
		return p.ctlErr(err)
	}
	if p.rxErrno != 0 {
		return p.syncErr("rxsync", "ioctl", p.rxErrno)
	}
	return nil
}

func (p *Port) txSyncCB(fd uintptr) { p.txErrno = ioctlSync(fd, abi.NIOCTXSYNC) }
func (p *Port) rxSyncCB(fd uintptr) { p.rxErrno = ioctlSync(fd, abi.NIOCRXSYNC) }

// ctlErr maps an error of the os layer to ours.
func (p *Port) ctlErr(err error) error {
	if p.closed.Load() || errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	return &Error{Op: "sync", Port: p.name, Err: err}
}

// syncErr reports errno e from the system call named call (ioctl or poll)
// made for op.
func (p *Port) syncErr(op, call string, e syscall.Errno) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return &Error{Op: op, Port: p.name, Err: os.NewSyscallError(call, e)}
}

// enter registers a goroutine about to touch the mapped memory from inside
// the port; it fails once Close has begun.
func (p *Port) enter() bool {
	p.users.Add(1)
	if p.closed.Load() {
		p.users.Add(-1)
		return false
	}
	return true
}

func (p *Port) exit() { p.users.Add(-1) }

// rxReady reports whether a bound RX ring holds packets (head != tail).
func (p *Port) rxReady() bool {
	for _, off := range p.rxOffs {
		if ringWord(p.mem, off, abi.RingHead).Load() != ringWord(p.mem, off, abi.RingTail).Load() {
			return true
		}
	}
	return false
}

// txReady reports whether a bound TX ring has free slots (head != tail).
func (p *Port) txReady() bool {
	for _, off := range p.txOffs {
		if ringWord(p.mem, off, abi.RingHead).Load() != ringWord(p.mem, off, abi.RingTail).Load() {
			return true
		}
	}
	return false
}

// ringWord returns the 32-bit ring header word at off+field; offsets were
// validated in layout.
func ringWord(mem []byte, off, field int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off+field]))
}

func (p *Port) rxWaitCB(fd uintptr) bool {
	if !p.enter() {
		return true
	}
	p.rxWaitErr = ioctlSync(fd, abi.NIOCRXSYNC)
	ready := p.rxWaitErr != 0 || p.rxReady()
	p.exit()
	return ready
}

func (p *Port) txWaitCB(fd uintptr) bool {
	if !p.enter() {
		return true
	}
	p.txWaitErr = ioctlSync(fd, abi.NIOCTXSYNC)
	ready := p.txWaitErr != 0 || p.txReady()
	p.exit()
	return ready
}

// WaitRx syncs the bound RX rings and, if none holds packets, blocks in
// Go's netpoller until one does, the read deadline passes
// (os.ErrDeadlineExceeded) or the port is closed ([ErrClosed]). It does not
// allocate. Call it from the goroutine that drives RX.
func (p *Port) WaitRx() error {
	if len(p.rxOffs) == 0 {
		return &Error{Op: "wait rx", Port: p.name, Err: errors.New("no RX rings bound")}
	}
	return p.wait(&p.rdeadline, p.rxWaitFn, &p.rxWaitErr, "wait rx", pollIn)
}

// WaitTx syncs the bound TX rings and, if none has free slots, blocks until
// one does, the write deadline passes (os.ErrDeadlineExceeded) or the port
// is closed ([ErrClosed]). It does not allocate. Call it from the goroutine
// that drives TX.
func (p *Port) WaitTx() error {
	if len(p.txOffs) == 0 {
		return &Error{Op: "wait tx", Port: p.name, Err: errors.New("no TX rings bound")}
	}
	return p.wait(&p.wdeadline, p.txWaitFn, &p.txWaitErr, "wait tx", pollOut)
}

// PollRx waits the way netmap's own tools do: it blocks the calling OS
// thread in poll(2), inside which the kernel syncs the bound RX rings and,
// if none holds packets, sleeps until one does or timeout passes. It
// returns nil in both cases; look at the rings to tell them apart. A
// timeout <= 0 syncs without sleeping.
//
// Unlike [Port.WaitRx], PollRx parks the OS thread rather than the
// goroutine, and the kernel wakes it straight from the forwarding path:
// the cheapest wake-up there is, meant for a goroutine locked to its thread
// (runtime.LockOSThread) that does nothing but drive RX rings. It returns
// [ErrClosed] within about 20 ms of Close. It does not allocate.
func (p *Port) PollRx(timeout time.Duration) error {
	if len(p.rxOffs) == 0 {
		return &Error{Op: "poll rx", Port: p.name, Err: errors.New("no RX rings bound")}
	}
	var until time.Time // set after the first empty poll: the fast path reads no clock
	for {
		if p.closed.Load() {
			return ErrClosed
		}
		ms := 0
		if timeout > 0 {
			left := timeout
			if !until.IsZero() {
				if left = time.Until(until); left <= 0 {
					return nil
				}
			}
			ms = int(min(left+time.Millisecond-1, pollSlice) / time.Millisecond)
		}
		p.rxPoll.ms = ms
		if err := p.rc.Control(p.rxPoll.pollFn); err != nil {
			return p.ctlErr(err)
		}
		if p.closed.Load() {
			return ErrClosed
		}
		if p.rxPoll.err != 0 {
			return p.syncErr("poll rx", "poll", p.rxPoll.err)
		}
		if ms == 0 || p.rxReady() {
			return nil
		}
		if until.IsZero() {
			until = time.Now().Add(timeout - time.Duration(ms)*time.Millisecond)
		}
	}
}

// pollSlice bounds one poll(2) in PollRx, so that Close is noticed.
const pollSlice = 20 * time.Millisecond

func (p *Port) wait(deadline *atomic.Int64, fn func(uintptr) bool, errno *syscall.Errno, op string, ev int16) error {
	for {
		if p.closed.Load() {
			return ErrClosed
		}
		now := time.Now()
		slice := now.Add(waitSlice)
		user := deadline.Load()
		if user != 0 && user <= now.UnixNano() {
			return os.ErrDeadlineExceeded
		}
		if user != 0 && user < slice.UnixNano() {
			slice = time.Unix(0, user)
		}
		w := &p.rxPoll
		if ev != pollIn {
			w = &p.txPoll
		}
		if p.threadWait {
			if err := p.pollWait(slice, w, errno, op); err != os.ErrDeadlineExceeded {
				return err
			}
			continue
		}
		var err error
		if ev == pollIn {
			if err = p.file.SetReadDeadline(slice); err == nil {
				err = p.rc.Read(fn)
			}
		} else {
			if err = p.file.SetWriteDeadline(slice); err == nil {
				err = p.rc.Write(fn)
			}
		}
		if p.closed.Load() {
			return ErrClosed
		}
		switch {
		case err == nil:
			if *errno != 0 {
				return p.syncErr(op, "ioctl", *errno)
			}
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue // re-check the user's deadline, sync again
		case errors.Is(err, os.ErrClosed):
			return ErrClosed
		case err.Error() == "not pollable":
			// epoll reported a lone EPOLLERR (ring reinitialised by
			// the kernel); fall back to poll(2) for this wait.
			if err := p.pollWait(slice, w, errno, op); err != os.ErrDeadlineExceeded {
				return err
			}
		default:
			return &Error{Op: op, Port: p.name, Err: err}
		}
	}
}

// pollState is one direction's poll(2) wait: the callbacks are bound once
// so that a wait does not allocate.
type pollState struct {
	p      *Port
	sync   func(uintptr) bool // rxWaitCB or txWaitCB: sync, report readiness
	ready  bool
	ev     int16
	ms     int
	err    syscall.Errno
	syncFn func(uintptr)
	pollFn func(uintptr)
}

func (w *pollState) init(p *Port, sync func(uintptr) bool, ev int16) {
	w.p, w.sync, w.ev = p, sync, ev
	w.syncFn = func(fd uintptr) { w.ready = w.sync(fd) }
	w.pollFn = w.poll
}

func (w *pollState) poll(fd uintptr) {
	if !w.p.enter() {
		return
	}
	w.err = pollOne(fd, w.ev, w.ms)
	w.p.exit()
}

// pollWait syncs and waits with poll(2) until until, in steps of at most
// pollSlice so that Close is seen.
func (p *Port) pollWait(until time.Time, w *pollState, errno *syscall.Errno, op string) error {
	for {
		if err := p.rc.Control(w.syncFn); err != nil {
			return p.ctlErr(err)
		}
		if p.closed.Load() {
			return ErrClosed
		}
		if w.ready {
			if *errno != 0 {
				return p.syncErr(op, "ioctl", *errno)
			}
			return nil
		}
		ms := time.Until(until).Milliseconds()
		if ms <= 0 {
			return os.ErrDeadlineExceeded
		}
		w.ms = int(min(ms, int64(pollSlice/time.Millisecond)))
		if err := p.rc.Control(w.pollFn); err != nil {
			return p.ctlErr(err)
		}
		if w.err != 0 {
			return p.syncErr(op, "poll", w.err)
		}
	}
}

// SetDeadline sets the read and write deadlines, as for an os.File: a
// WaitRx or WaitTx blocked past it returns os.ErrDeadlineExceeded. The zero
// time means no deadline.
func (p *Port) SetDeadline(t time.Time) error {
	p.SetReadDeadline(t)
	return p.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for [Port.WaitRx].
func (p *Port) SetReadDeadline(t time.Time) error {
	p.rdeadline.Store(deadlineNanos(t))
	return nil
}

// SetWriteDeadline sets the deadline for [Port.WaitTx].
func (p *Port) SetWriteDeadline(t time.Time) error {
	p.wdeadline.Store(deadlineNanos(t))
	return nil
}

func deadlineNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	if n := t.UnixNano(); n > 0 {
		return n
	}
	return 1 // in the past
}

// closeWait bounds how long Close waits for goroutines inside the port's
// memory before it gives up and returns an error instead of hanging.
const closeWait = 5 * time.Second

// Close unregisters the port and unmaps its memory, in this order: mark the
// port closed (new syncs and waits return [ErrClosed]), close the file
// (which wakes goroutines blocked in WaitRx/WaitTx; they return ErrClosed),
// wait until no goroutine is still inside a wait, then unmap the region.
//
// Ports of one memory region share one mapping (see [Port.Mem]); it is
// unmapped when the last of them closes. If ring views were handed out
// ([Port.TxRing], [Port.RxRing]), goroutines may still be using them, so
// the netmap mapping is then replaced by private zeroed memory at the same
// address rather than removed: they see integrity errors and ErrClosed
// instead of a fault, and the placeholder is unmapped when the Ports and
// views are garbage. A second Close returns ErrClosed.
//
// Slices taken from [Port.Mem] directly must not be used after Close.
func (p *Port) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed.Swap(true) {
		return ErrClosed
	}
	err := p.file.Close()
	deadline := time.Now().Add(closeWait)
	for p.users.Load() != 0 {
		if time.Now().After(deadline) {
			// Leave the mapping in place rather than pull it from
			// under a running goroutine; the cleanup unmaps it.
			return &Error{Op: "close", Port: p.name, Err: errors.New("goroutines still inside the port's memory; mapping left in place")}
		}
		time.Sleep(50 * time.Microsecond)
	}
	p.ringsMu.Lock() // no new ring views from here on
	defer p.ringsMu.Unlock()
	if merr := p.region.closePort(); merr != nil && err == nil {
		err = merr
	}
	p.cleanup.Stop()
	p.region.release()
	if err != nil {
		return &Error{Op: "close", Port: p.name, Err: err}
	}
	return nil
}
