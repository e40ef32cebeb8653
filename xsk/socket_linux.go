//go:build linux

package xsk

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/handoff"
	"golang.org/x/sys/unix"
)

// Socket is an AF_XDP socket bound to one queue of a network interface,
// with its UMEM and rings mapped, and (for receiving) the redirect program
// attached to the interface.
//
// The TX side ([Socket.Tx], [Socket.Kick], [Socket.WaitTx]) is driven by
// one goroutine at a time and the RX side ([Socket.Rx], [Socket.WaitRx],
// [Socket.PollRx]) by one goroutine at a time; the two may be different.
// Info, Stats, the deadline setters and Close are safe for concurrent use.
type Socket struct {
	info Info
	fd   int

	tx    TxQueue
	rx    RxQueue
	hasTx bool
	hasRx bool
	umem  []byte
	res   *resources

	needWakeup bool
	closed     atomic.Bool
	gone       atomic.Bool  // the kernel unbound the socket: its interface went away
	users      atomic.Int64 // goroutines inside a system call on fd
	leftOpen   bool         // a Close gave up waiting for users; under closeMu
	closeMu    sync.Mutex
	cleanup    runtime.Cleanup

	rdeadline, wdeadline atomic.Int64 // on the monotonic clock of handoff.Now (handoff.DeadlineNanos), 0 for none
	kicks, kickAgain     atomic.Uint64
	rxPoll, txPoll       [1]unix.PollFd
}

// resources are what a Socket holds of the kernel's: the socket, its ring
// mappings, its reference to the interface's XDP attachment, and the UMEM
// that the kernel writes into while the socket is open.
//
// Close detaches, replaces the ring mappings with private anonymous memory
// at the same addresses (so that the socket goes away at once while a
// goroutine still inside a queue method reads zeros rather than faulting),
// and closes the socket; the placeholders are unmapped once the Socket is
// garbage. A Socket that becomes garbage without Close is released then,
// as an os.File is: until then the UMEM stays reachable from here, so
// that the Go heap never reuses memory into which the kernel may still
// write a received packet.
type resources struct {
	mu    sync.Mutex
	regs  [][]byte
	fd    int // -1 once closed
	att   *attachment
	queue int
	umem  []byte // while fd is open
}

// detach takes the socket out of its XSKMAP slot and drops its reference
// to the attachment, if it has one. The socket is still bound, so no other
// socket can have taken the slot.
func (m *resources) detach() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.att
	m.att = nil
	if a == nil {
		return nil
	}
	return a.release(m.queue)
}

// closeFD closes the socket; from then on the kernel writes nothing into
// the UMEM.
func (m *resources) closeFD() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fd < 0 {
		return nil
	}
	err := unix.Close(m.fd)
	m.fd, m.umem = -1, nil
	return err
}

// collect releases whatever Close did not (all of it for a Socket never
// closed, or one whose Close gave up), then unmaps the mappings: the
// cleanup of a Socket that is garbage, and of a failed Open.
func (m *resources) collect() {
	_ = m.detach()
	_ = m.closeFD()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.regs {
		_ = unix.Munmap(b)
	}
	m.regs = nil
}

func (m *resources) park() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var err error
	for _, b := range m.regs {
		if _, e := unix.MmapPtr(-1, 0, unsafe.Pointer(&b[0]), uintptr(len(b)),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Open opens an AF_XDP socket on queue cfg.Queue of the interface iface, in
// the network namespace of the calling thread. cfg may be nil.
//
// It registers a UMEM of cfg.Frames frames, maps the fill, completion, RX
// and TX rings, puts the receive frames on the fill ring, binds (retrying
// for up to cfg.BindTimeout while the kernel says EBUSY) and, unless the
// socket is TX-only or cfg.XDP is XDPNone, attaches the redirect program to
// the interface (native mode, else generic, with XDPAuto) and puts the
// socket into its XSKMAP.
//
// Open needs CAP_NET_RAW to create the socket, and to load and attach the
// program CAP_BPF and CAP_NET_ADMIN (or CAP_SYS_ADMIN): in practice, root.
// Errors are [*Error]s naming the step that failed.
func Open(iface string, cfg *Config) (*Socket, error) {
	c, err := resolve(cfg)
	if err != nil {
		return nil, &Error{Op: "open", Iface: iface, Queue: queueOf(cfg), Err: err}
	}
	fail := func(op string, err error) (*Socket, error) {
		return nil, &Error{Op: op, Iface: iface, Queue: c.Queue, Err: err}
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return fail("open", err)
	}
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		err = os.NewSyscallError("socket", err)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			err = fmt.Errorf("%w (AF_XDP sockets need CAP_NET_RAW: run as root)", err)
		}
		if errors.Is(err, unix.EAFNOSUPPORT) {
			err = fmt.Errorf("%w (kernel built without CONFIG_XDP_SOCKETS)", err)
		}
		return fail("socket", err)
	}
	s := &Socket{fd: fd, res: &resources{fd: fd, queue: c.Queue}, needWakeup: !c.NoNeedWakeup, hasTx: !c.RxOnly, hasRx: !c.TxOnly}
	s.info = Info{Iface: iface, Ifindex: ifi.Index, Queue: c.Queue, XDP: XDPNone, FrameSize: c.FrameSize,
		RxFrames: c.rxFrames, TxFrames: c.txFrames}
	ok := false
	defer func() {
		if !ok {
			s.res.collect()
		}
	}()

	if err := s.setup(c); err != nil {
		return fail(err.op, err.err)
	}
	if err := s.bind(c); err != nil {
		return fail("bind", err)
	}
	if s.hasRx && c.XDP != XDPNone {
		a, err := attachXDP(iface, ifi.Index, c.XDP)
		if err != nil {
			return fail("attach", err)
		}
		s.res.att = a // collect releases it if set fails
		if err := a.set(c.Queue, fd); err != nil {
			return fail("attach", err)
		}
		s.info.XDP = a.mode
	}
	s.rxPoll[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	s.txPoll[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT}
	s.cleanup = runtime.AddCleanup(s, (*resources).collect, s.res)
	ok = true
	return s, nil
}

func queueOf(cfg *Config) int {
	if cfg == nil {
		return 0
	}
	return cfg.Queue
}

type stepError struct {
	op  string
	err error
}

// setup registers the UMEM, sizes and maps the rings and builds the
// queues.
func (s *Socket) setup(c *config) *stepError {
	fd := s.fd
	// The UMEM lives on the Go heap, page-aligned: the kernel pins its
	// pages while the socket exists, the garbage collector never moves
	// them, and slices into it keep it alive after Close.
	size := c.Frames * c.FrameSize
	page := os.Getpagesize()
	raw := make([]byte, size+page)
	off := (page - int(uintptr(unsafe.Pointer(&raw[0]))%uintptr(page))) % page
	s.umem = raw[off : off+size : off+size]
	s.res.umem = s.umem
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&s.umem[0]))), Len: uint64(size), Size: uint32(c.FrameSize)}
	if err := setsockopt(fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return &stepError{"umem", os.NewSyscallError("setsockopt XDP_UMEM_REG", err)}
	}
	runtime.KeepAlive(raw)
	sizes := []struct {
		opt, n int
		name   string
		use    bool
	}{
		{unix.XDP_UMEM_FILL_RING, c.fillSize, "XDP_UMEM_FILL_RING", true},
		{unix.XDP_UMEM_COMPLETION_RING, c.compSize, "XDP_UMEM_COMPLETION_RING", true},
		{unix.XDP_RX_RING, c.RxSize, "XDP_RX_RING", s.hasRx},
		{unix.XDP_TX_RING, c.TxSize, "XDP_TX_RING", s.hasTx},
	}
	for _, r := range sizes {
		if !r.use {
			continue
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, r.opt, r.n); err != nil {
			return &stepError{"rings", os.NewSyscallError("setsockopt "+r.name, err)}
		}
	}
	if c.TxBudget > 0 && s.hasTx {
		if err := unix.SetsockoptInt(fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, c.TxBudget); err != nil {
			err = os.NewSyscallError("setsockopt XDP_MAX_TX_SKB_BUDGET", err)
			if errors.Is(err, unix.ENOPROTOOPT) {
				err = fmt.Errorf("%w (the kernel cannot change the TX budget: Linux 6.17 or later): %w", err, ErrNotSupported)
			}
			return &stepError{"tx budget", err}
		}
	}
	var off4 unix.XDPMmapOffsets
	n := uint32(unsafe.Sizeof(off4))
	if err := getsockopt(fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off4), &n); err != nil {
		return &stepError{"rings", os.NewSyscallError("getsockopt XDP_MMAP_OFFSETS", err)}
	}
	if n != uint32(unsafe.Sizeof(off4)) {
		return &stepError{"rings", fmt.Errorf("XDP_MMAP_OFFSETS returned %d bytes, want %d (a kernel older than 5.4)", n, unsafe.Sizeof(off4))}
	}
	mapRing := func(name string, pgoff int64, lay unix.XDPRingOffset, size, esize int, produce bool) (ring, error) {
		l := RingLayout{Producer: lay.Producer, Consumer: lay.Consumer, Desc: lay.Desc, Flags: lay.Flags}
		if l.Desc > 1<<20 {
			return ring{}, fmt.Errorf("%s ring: descriptor offset %d", name, l.Desc)
		}
		b, err := unix.Mmap(fd, pgoff, int(l.Desc)+size*esize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return ring{}, os.NewSyscallError("mmap "+name+" ring", err)
		}
		s.res.regs = append(s.res.regs, b)
		return newRing(name, b, l, uint32(size), esize, produce)
	}
	fill, err := mapRing("fill", unix.XDP_UMEM_PGOFF_FILL_RING, off4.Fr, c.fillSize, addrSize, true)
	if err != nil {
		return &stepError{"rings", err}
	}
	comp, err := mapRing("completion", unix.XDP_UMEM_PGOFF_COMPLETION_RING, off4.Cr, c.compSize, addrSize, false)
	if err != nil {
		return &stepError{"rings", err}
	}
	um, err := newUmem(s.umem, c.FrameSize)
	if err != nil {
		return &stepError{"umem", err}
	}
	if s.hasRx {
		rx, err := mapRing("rx", unix.XDP_PGOFF_RX_RING, off4.Rx, c.RxSize, descSize, false)
		if err != nil {
			return &stepError{"rings", err}
		}
		if err := s.rx.init(rx, fill, um, 0, c.rxFrames, &s.closed); err != nil {
			return &stepError{"fill", err}
		}
		s.info.RxSize = c.RxSize
	}
	if s.hasTx {
		tx, err := mapRing("tx", unix.XDP_PGOFF_TX_RING, off4.Tx, c.TxSize, descSize, true)
		if err != nil {
			return &stepError{"rings", err}
		}
		s.tx.init(tx, comp, um, c.rxFrames, c.txFrames, &s.closed)
		s.info.TxSize = c.TxSize
	}
	return nil
}

// bind binds the socket to its queue, retrying while the kernel says EBUSY
// (it releases a previous socket's hold on the queue asynchronously).
func (s *Socket) bind(c *config) error {
	flags := uint16(0)
	if s.needWakeup {
		flags |= unix.XDP_USE_NEED_WAKEUP
	}
	mode := bindFlags(c.Bind)
	sa := &unix.SockaddrXDP{Flags: flags | mode, Ifindex: uint32(s.info.Ifindex), QueueID: uint32(c.Queue)}
	deadline := time.Now().Add(max(c.BindTimeout, 0))
	wait := 10 * time.Millisecond
	for {
		err := unix.Bind(s.fd, sa)
		switch {
		case err == nil && mode == 0:
			// The kernel chose: ask it which.
			opts, err := unix.GetsockoptInt(s.fd, unix.SOL_XDP, unix.XDP_OPTIONS)
			if err != nil {
				return os.NewSyscallError("getsockopt XDP_OPTIONS", err)
			}
			s.info.ZeroCopy = opts&unix.XDP_OPTIONS_ZEROCOPY != 0
			return nil
		case err == nil:
			s.info.ZeroCopy = mode == unix.XDP_ZEROCOPY
			return nil
		case errors.Is(err, unix.EOPNOTSUPP) && mode == unix.XDP_ZEROCOPY:
			return fmt.Errorf("zero-copy: %w: %w (the driver of %s has no AF_XDP zero-copy support, veth never has; bind in copy mode, or with BindZeroCopyOrCopy to fall back)",
				ErrNotSupported, os.NewSyscallError("bind", err), s.info.Iface)
		case errors.Is(err, unix.EBUSY) && time.Now().Before(deadline):
			time.Sleep(min(wait, time.Until(deadline)))
			wait = min(2*wait, 500*time.Millisecond)
			continue
		case errors.Is(err, unix.EBUSY):
			return fmt.Errorf("%w (another AF_XDP socket holds the queue, or a closed one is still being released; gave up after %v)", os.NewSyscallError("bind", err), c.BindTimeout)
		case errors.Is(err, unix.EINVAL):
			return fmt.Errorf("%w (does %s have a queue %d? see /sys/class/net/%s/queues)", os.NewSyscallError("bind", err), s.info.Iface, c.Queue, s.info.Iface)
		}
		return os.NewSyscallError("bind", err)
	}
}

// bindFlags returns the mode flags of a bind: XDP_COPY, XDP_ZEROCOPY, or
// neither for BindZeroCopyOrCopy, which lets the kernel bind zero-copy
// where the driver sets it up and fall back to copy mode on any failure
// of the driver's (not only on EOPNOTSUPP: a zero-copy driver may refuse
// one configuration, as frames too small for its MTU).
func bindFlags(m BindMode) uint16 {
	switch m {
	case BindZeroCopy:
		return unix.XDP_ZEROCOPY
	case BindZeroCopyOrCopy:
		return 0
	}
	return unix.XDP_COPY
}

func setsockopt(fd, opt int, p unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), n, 0)
	if e != 0 {
		return e
	}
	return nil
}

func getsockopt(fd, opt int, p unsafe.Pointer, n *uint32) error {
	_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(p), uintptr(unsafe.Pointer(n)), 0)
	if e != 0 {
		return e
	}
	return nil
}

// Info returns what the socket was opened as.
func (s *Socket) Info() Info { return s.info }

// FD returns the socket's file descriptor, for a caller that attached its
// own XDP program (XDPNone) and puts the socket into its own XSKMAP. It is
// valid until Close, or until the Socket is unreachable (a Socket dropped
// without Close is closed by the garbage collector): keep the Socket
// reachable while the number is in use (runtime.KeepAlive), as with
// os.File.Fd. Do not close it.
func (s *Socket) FD() int { return s.fd }

// Tx returns the socket's transmit queue, nil for an RX-only socket.
func (s *Socket) Tx() *TxQueue {
	if !s.hasTx {
		return nil
	}
	return &s.tx
}

// Rx returns the socket's receive queue, nil for a TX-only socket.
func (s *Socket) Rx() *RxQueue {
	if !s.hasRx {
		return nil
	}
	return &s.rx
}

// enter registers a goroutine about to make a system call on fd; it fails
// once Close has begun, and Close waits for every such goroutine to leave
// before it closes fd (so that fd is never reused under a call).
func (s *Socket) enter() bool {
	s.users.Add(1)
	if s.closed.Load() {
		s.users.Add(-1)
		return false
	}
	return true
}

func (s *Socket) exit() { s.users.Add(-1) }

func (s *Socket) opErr(op, call string, e syscall.Errno) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return &Error{Op: op, Iface: s.info.Iface, Queue: s.info.Queue, Err: os.NewSyscallError(call, e)}
}

// Kick tells the kernel to send what is published on the TX ring
// (sendto with MSG_DONTWAIT). With need-wakeup (the default) it makes the
// system call only when the kernel asks for one. In copy mode one kick
// sends at most the kernel's TX budget (32 frames unless Config.TxBudget
// says otherwise); the kernel's EAGAIN for "more left" is not an error:
// kick again. Kick does not allocate.
func (s *Socket) Kick() error {
	if !s.hasTx {
		return nil
	}
	if s.needWakeup && !s.tx.tx.wantsWakeup() {
		if s.closed.Load() {
			return ErrClosed
		}
		return nil
	}
	if !s.enter() {
		return ErrClosed
	}
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	s.exit()
	s.kicks.Add(1)
	switch e {
	case 0:
		return nil
	case unix.EAGAIN, unix.EBUSY, unix.ENOBUFS:
		s.kickAgain.Add(1)
		return nil
	}
	return s.opErr("kick", "sendto", e)
}

// wakeRx asks the kernel to look at the fill ring if it said it wants to be
// told (need-wakeup, zero-copy drivers).
func (s *Socket) wakeRx() {
	if s.needWakeup && s.rx.fill.wantsWakeup() && s.enter() {
		_, _, _ = unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		s.exit()
	}
}

// pollSlice bounds one ppoll(2), so that a waiter sees Close that soon.
const pollSlice = 20 * time.Millisecond

// poll waits on fd for at most ms milliseconds, through ppoll(2): poll(2)
// is missing on arm64, riscv64 and loong64, ppoll is on every Linux
// architecture. It reports whether the wait ran out (or was not made:
// after Close) with nothing ready. A timeout or EINTR is not an error.
//
// With handOff the goroutine's P goes to the runtime for the call at once
// (handoff.Ppoll), as it does for one through the runtime that its
// monitor sees block, which a short wait never is (see [Idler.NextBatchAt]).
func (s *Socket) poll(pfd *[1]unix.PollFd, ms int, handOff bool) (bool, syscall.Errno) {
	if !s.enter() {
		return true, 0
	}
	var n uintptr
	var e syscall.Errno
	if handOff {
		var k int
		k, e = handoff.Ppoll(unsafe.Pointer(&pfd[0]), 1, ms)
		n = uintptr(k)
	} else {
		ts := unix.NsecToTimespec(int64(ms) * int64(time.Millisecond))
		n, _, e = unix.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd[0])), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	}
	s.exit()
	if e == unix.EINTR {
		return false, 0
	}
	return e == 0 && n == 0, e
}

// unbound asks the kernel whether the socket has lost its interface: when
// an interface is unregistered the kernel sets the error of every AF_XDP
// socket bound to it to ENETDOWN and unbinds it, and poll(2) then reports
// nothing, ever. The socket's pending error (SO_ERROR) says so without
// asking the driver: recvfrom(2) would, on a zero-copy socket whose fill
// ring wants a wake-up, return what the driver's wake-up returns, ENXIO
// included (igc and ixgbe do, without an XDP program of their own) while
// the interface is there.
// Reading SO_ERROR clears it, so the answer is kept: every later wait
// reports it too.
func (s *Socket) unbound() bool {
	if s.gone.Load() {
		return true
	}
	if !s.enter() {
		return false
	}
	v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	s.exit()
	if err == nil && syscall.Errno(v) == unix.ENETDOWN {
		s.gone.Store(true)
		return true
	}
	return false
}

// errUnbound is the cause of a wait's error once the interface is gone; it
// matches unix.ENXIO, what the kernel answers for an unbound socket, and
// unix.ENETDOWN, the socket's pending error that told.
var errUnbound = fmt.Errorf("%w: the kernel unbound the socket, its interface went away (socket error: %w)", unix.ENXIO, unix.ENETDOWN)

// PollRx waits for received packets the way netmap's tools and libxdp's
// samples do: it blocks the calling OS thread in ppoll(2), which also wakes
// the driver if the fill ring asks for it, until the RX ring holds packets
// or timeout passes. It returns nil in both cases (look at the queue); a
// timeout <= 0 does not sleep. An RX ring whose producer index breaks the
// rules gives its [*IntegrityError] at once, as Acquire would; a socket
// whose interface went away (the kernel unbinds it, and poll(2) never
// reports that) an error matching unix.ENXIO within about 20 ms. A link
// that is down is waited through. It is meant for a goroutine locked to
// its thread that only drives this socket, and returns [ErrClosed] within
// about 20 ms of Close. It does not allocate.
func (s *Socket) PollRx(timeout time.Duration) error {
	return s.pollRx(timeout, nil, 0)
}

// pollRx is PollRx; with a hand-off clock ho, its first poll(2) gives the
// goroutine's P to the runtime for the call if ho says so at now
// (Idler.NextBatchAt).
func (s *Socket) pollRx(timeout time.Duration, ho *handoff.Clock, now int64) error {
	if !s.hasRx {
		return s.pollErr(errNoRx)
	}
	var until time.Time
	for {
		if s.closed.Load() {
			return ErrClosed
		}
		if ready, err := s.rx.waiting(); ready || err != nil {
			return err
		}
		s.wakeRx()
		ms := 0
		if timeout > 0 {
			left := timeout
			if !until.IsZero() {
				if left = time.Until(until); left <= 0 {
					return nil
				}
			} else {
				until = time.Now().Add(timeout)
			}
			ms = int(min(left+time.Millisecond-1, pollSlice) / time.Millisecond)
		}
		idle, e := s.poll(&s.rxPoll, ms, ho != nil && ho.Due(now))
		ho = nil
		if e != 0 {
			return s.opErr("poll rx", "poll", e)
		}
		if s.closed.Load() {
			return ErrClosed
		}
		if ready, err := s.rx.waiting(); ms == 0 || ready || err != nil {
			return err
		}
		// A whole slice without a packet: is the socket still bound?
		if idle && s.unbound() {
			if s.closed.Load() {
				return ErrClosed
			}
			return s.pollErr(errUnbound)
		}
	}
}

// errNoRx is the cause of a wait's error on a socket opened without RX
// ring (Config.TxOnly).
var errNoRx = errors.New("no RX ring")

// pollErr is the error of a wait for received packets (PollRx, or a
// spinning Idler's checks) with cause err.
func (s *Socket) pollErr(err error) error {
	return &Error{Op: "poll rx", Iface: s.info.Iface, Queue: s.info.Queue, Err: err}
}

// spinRx is what a receive loop that looks at its ring instead of
// sleeping ([Idler] with Spin) is told by PollRx's wait, with the same
// errors: after each empty pass it returns ErrClosed after Close, an
// error on a socket without RX ring, wakes the driver if the fill ring
// asks for it (a flag in shared memory; a system call only when it is
// set), and, when check is set (every yield period: a system call),
// returns an error once the kernel unbound the socket because its
// interface went away.
func (s *Socket) spinRx(check bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.hasRx {
		return s.pollErr(errNoRx)
	}
	s.wakeRx()
	if check && s.unbound() {
		if s.closed.Load() {
			return ErrClosed
		}
		return s.pollErr(errUnbound)
	}
	return nil
}

// WaitRx blocks until the RX ring holds packets not yet acquired, the read
// deadline passes (os.ErrDeadlineExceeded) or the socket is closed
// ([ErrClosed], within about 20 ms); an RX ring whose producer index
// breaks the rules gives its [*IntegrityError] at once, and an interface
// that went away an error matching unix.ENXIO (see [Socket.PollRx]). It
// waits in ppoll(2) on the calling OS thread. Call it from the goroutine that
// drives RX. It does not allocate.
func (s *Socket) WaitRx() error {
	for {
		left, ok := handoff.Left(s.rdeadline.Load())
		if !ok {
			return os.ErrDeadlineExceeded
		}
		if err := s.PollRx(min(left, time.Second)); err != nil {
			return err
		}
		if ready, err := s.rx.waiting(); ready || err != nil {
			return err
		}
	}
}

// WaitTx kicks the kernel and blocks until a Reserve can hand out a frame:
// until the completion ring has handed back a sent frame and the TX ring
// has room, the write deadline passes (os.ErrDeadlineExceeded) or the
// socket is closed ([ErrClosed]). It waits in ppoll(2) on the calling OS
// thread. Call it from the goroutine that drives TX. It does not allocate.
func (s *Socket) WaitTx() error {
	if !s.hasTx {
		return &Error{Op: "wait tx", Iface: s.info.Iface, Queue: s.info.Queue, Err: errors.New("no TX ring")}
	}
	for {
		if err := s.Kick(); err != nil {
			return err
		}
		// Reserve(0) reclaims completions and checks the rings.
		if _, err := s.tx.Reserve(0); err != nil {
			return err
		}
		if len(s.tx.free) > 0 {
			if space, _ := s.tx.tx.free(); space > 0 {
				return nil
			}
		}
		// A poll of 1 ms, however far the deadline: the loop kicks again
		// after it.
		if _, ok := handoff.Left(s.wdeadline.Load()); !ok {
			return os.ErrDeadlineExceeded
		}
		if _, e := s.poll(&s.txPoll, 1, false); e != 0 {
			return s.opErr("wait tx", "poll", e)
		}
	}
}

// SetDeadline sets the read and write deadlines: a WaitRx or WaitTx blocked
// past it returns os.ErrDeadlineExceeded. The zero time means none.
func (s *Socket) SetDeadline(t time.Time) error {
	_ = s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline of [Socket.WaitRx].
func (s *Socket) SetReadDeadline(t time.Time) error {
	s.rdeadline.Store(handoff.DeadlineNanos(t))
	return nil
}

// SetWriteDeadline sets the deadline of [Socket.WaitTx].
func (s *Socket) SetWriteDeadline(t time.Time) error {
	s.wdeadline.Store(handoff.DeadlineNanos(t))
	return nil
}

// Stats returns the queues' counts and the kernel's (XDP_STATISTICS). It
// may be called from any goroutine.
func (s *Socket) Stats() (Stats, error) {
	st := Stats{Rx: s.rx.stats.load(), Tx: s.tx.stats.load(), Kicks: s.kicks.Load(), KickAgain: s.kickAgain.Load()}
	if !s.enter() {
		return st, ErrClosed
	}
	var ks unix.XDPStatistics
	n := uint32(unsafe.Sizeof(ks))
	err := getsockopt(s.fd, unix.XDP_STATISTICS, unsafe.Pointer(&ks), &n)
	s.exit()
	if err != nil {
		return st, &Error{Op: "stats", Iface: s.info.Iface, Queue: s.info.Queue, Err: os.NewSyscallError("getsockopt XDP_STATISTICS", err)}
	}
	st.Kernel = KernelStats{RxDropped: ks.Rx_dropped, RxInvalidDescs: ks.Rx_invalid_descs, TxInvalidDescs: ks.Tx_invalid_descs,
		RxRingFull: ks.Rx_ring_full, RxFillRingEmpty: ks.Rx_fill_ring_empty_descs, TxRingEmpty: ks.Tx_ring_empty_descs}
	return st, nil
}

// closeWait bounds how long Close waits for goroutines inside a system
// call on the socket (a ppoll(2) lasts at most pollSlice).
var closeWait = 5 * time.Second // a variable for the tests

// Close takes the socket out of the XSKMAP and detaches the program if no
// other socket of this process on the interface uses it, waits for
// goroutines inside a wait (they return [ErrClosed] within about 20 ms),
// replaces the ring mappings with private memory, and closes the socket.
// Queue methods called after Close return ErrClosed; slices from Buf and
// Packet must not be used after Close. If goroutines are still inside a
// system call on the socket after 5 s, Close returns an error and leaves
// the socket open; a later Close waits for them again and closes it.
// Close after a Close that closed the socket returns ErrClosed. A Socket
// that becomes garbage without Close is closed then, as an os.File is.
func (s *Socket) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed.Swap(true) && !s.leftOpen {
		return ErrClosed
	}
	var errs []error
	if err := s.res.detach(); err != nil {
		errs = append(errs, err)
	}
	deadline := time.Now().Add(closeWait)
	for s.users.Load() != 0 {
		if time.Now().After(deadline) {
			s.leftOpen = true
			errs = append(errs, errors.New("goroutines still inside a system call on the socket; left open (Close again to close it)"))
			return &Error{Op: "close", Iface: s.info.Iface, Queue: s.info.Queue, Err: errors.Join(errs...)}
		}
		time.Sleep(100 * time.Microsecond)
	}
	s.leftOpen = false
	if err := s.res.park(); err != nil {
		errs = append(errs, os.NewSyscallError("mmap", err))
	}
	if err := s.res.closeFD(); err != nil {
		errs = append(errs, os.NewSyscallError("close", err))
	}
	if len(errs) > 0 {
		return &Error{Op: "close", Iface: s.info.Iface, Queue: s.info.Queue, Err: errors.Join(errs...)}
	}
	return nil
}
