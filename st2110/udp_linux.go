//go:build linux

package st2110

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketOptions sets SO_REUSEADDR on a receiving socket before its bind,
// so that several receivers (this process's or others) may take the same
// groups on one port, and turns IP_MULTICAST_ALL off, so that it gets only
// the groups it joins itself, not every group some socket of the host
// joined on its port.
func socketOptions(network, address string, c syscall.RawConn) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		if err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return
		}
		// The kernel's receive time of each datagram (SCM_TIMESTAMPNS):
		// the arrival, not when a reader the host scheduled late read it.
		// SO_TIMESTAMPNS_NEW (Linux 5.1) gives 64-bit seconds in a 32-bit
		// program too; the old option is the fallback.
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS_NEW, 1) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		}
		if network == "udp6" {
			err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0)
			if errors.Is(err, unix.ENOPROTOOPT) {
				err = nil // before Linux 4.20
			}
			return
		}
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// multicastIFConnect: Linux's connect(2) of a UDP socket picks the source
// of a multicast destination from IP_MULTICAST_IF (or IPV6_MULTICAST_IF).
const multicastIFConnect = true

// setMulticastIF sets the outgoing multicast interface of a socket before
// its connect.
func setMulticastIF(c syscall.RawConn, index int, v4 bool) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		if v4 {
			err = unix.SetsockoptIPMreqn(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_IF, &unix.IPMreqn{Ifindex: int32(index)})
			return
		}
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, index)
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// setReadBuffer asks for a receive buffer of n octets: beyond
// net.core.rmem_max with SO_RCVBUFFORCE if the process may, else up to it.
// It is called before the socket's bind (readBufferBeforeBind): a bound
// socket receives at once, and with the default buffer (net.core.
// rmem_default, some 100 datagrams of a 1080p flow) it dropped the first
// milliseconds of a flow already arriving when the receiver's thread was
// kept from its CPU between the bind and this.
func setReadBuffer(c syscall.RawConn, n int) {
	_ = c.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, n)
		}
	})
}

// readBufferBeforeBind: Linux sets the receive buffer of a socket before
// its bind (setReadBuffer).
const readBufferBeforeBind = true

// read is the receive loop: recvmmsg batches into preallocated buffers,
// each datagram handed to the sink with its source (the message's name)
// and destination (IP_PKTINFO), and with a linger, a sleep after a batch
// that was not full (ListenConfig.Linger). It does not allocate per
// datagram.
func (s *udpSock) read(ctx context.Context, sink *rxSink) error {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	var m udpBatch
	m.init(s.batch)
	m.names, m.ctrl = make([]byte, m.n*nameLen), make([]byte, m.n*ctrlLen)
	for i := range m.n {
		m.hdrs[i].Hdr.Name, m.hdrs[i].Hdr.Control = &m.names[i*nameLen], &m.ctrl[i*ctrlLen]
	}
	fn := m.recvFn
	local := netip.IPv4Unspecified()
	if s.v6 {
		local = netip.IPv6Unspecified()
	}
	kernelTime := sink.clock.Source() != ClockPHC // kernel receive times, unless the clock is a PHC
	cw := clockWatch{watch: !kernelTime}
	cw.arm(s, 0)
	for ctx.Err() == nil {
		m.reset()
		if err := rc.Read(fn); err != nil {
			if again, err := cw.idle(ctx, s, sink, err); !again {
				return err
			}
			continue
		}
		if m.errno != 0 {
			if m.errno == unix.EINTR {
				continue
			}
			return m.errno
		}
		at, err := sink.now()
		if err != nil {
			return err
		}
		cw.arm(s, at)
		var off int64 // kernel receive times (UTC) to the clock's TAI; none for a PHC
		if kernelTime {
			off = int64(sink.clock.UTCOffset())
		}
		sink.enter()
		for i := range m.got {
			h := &m.hdrs[i]
			src := parseSockaddr(m.names[i*nameLen : (i+1)*nameLen])
			d, ts := parseControl(m.ctrl[i*ctrlLen:i*ctrlLen+int(h.Hdr.Controllen)], local)
			dst := netip.AddrPortFrom(d, s.port)
			// The datagram's length, which MSG_TRUNC has the kernel
			// give for one longer than its buffer: cut, it is counted
			// as truncated.
			wire := int(h.Len)
			n := min(wire, maxDatagram)
			when := at
			if kernelTime && ts > 0 && ts+off <= at {
				when = ts + off
			}
			sink.r.PushUDPCut(src, dst, m.bufs[i*maxDatagram:i*maxDatagram+n], wire, when)
		}
		if m.got > 0 {
			sink.batches.Add(1)
		}
		sink.tick(at)
		sink.leave()
		if l := s.lingerAfter(m.got, m.n); l > 0 {
			s.lingerNow(l, sink.waitAt()) // after leave: the other path's readers go on meanwhile
		}
	}
	return nil
}

// Sizes of a udpBatch's per-message parts: a sockaddr_in6, and room for
// one IP_PKTINFO or IPV6_PKTINFO control message and one more.
const (
	nameLen = unix.SizeofSockaddrInet6
	ctrlLen = 128
)

// udpBatch is a recvmmsg or sendmmsg batch: the message headers, their
// iovecs, buffers and addresses, all allocated once.
type udpBatch struct {
	n       int
	hdrs    []unix.Mmsghdr
	iovs    []unix.Iovec
	bufs    []byte   // n * maxDatagram
	names   []byte   // receive: n * nameLen, the sources
	ctrl    []byte   // receive: n * ctrlLen
	dsts    [][]byte // send: each flow's sockaddr
	dstAP   []netip.AddrPort
	flowOf  []int // send: the flow of each message
	pending int   // send: published messages

	// recvmmsg results, set by recv inside the netpoller's callback
	got    int
	errno  syscall.Errno
	recvFn func(uintptr) bool
	sendFn func(uintptr) bool
	from   int // send: first message of the call
	sent   int
}

// init allocates a batch of n messages, 1..MaxUDPBatch (0 means 64).
func (m *udpBatch) init(n int) {
	if n <= 0 {
		n = 64
	}
	m.n = n
	m.hdrs = make([]unix.Mmsghdr, m.n)
	m.iovs = make([]unix.Iovec, m.n)
	m.bufs = make([]byte, m.n*maxDatagram)
	for i := range m.n {
		m.iovs[i].Base = &m.bufs[i*maxDatagram]
		m.iovs[i].SetLen(maxDatagram)
		m.hdrs[i].Hdr.Iov = &m.iovs[i]
		m.hdrs[i].Hdr.SetIovlen(1)
	}
	m.recvFn, m.sendFn = m.recv, m.sendCB
}

// initSend allocates a sending batch of n messages to the flows' dsts.
func (m *udpBatch) initSend(n int, dsts []netip.AddrPort) error {
	m.init(n)
	m.flowOf = make([]int, m.n)
	for _, d := range dsts {
		sa := sockaddr(d)
		if sa == nil {
			return errors.New("bad destination " + d.String())
		}
		m.dsts, m.dstAP = append(m.dsts, sa), append(m.dstAP, d)
	}
	return nil
}

// reset readies the headers for a recvmmsg: the kernel overwrites the
// name and control lengths.
func (m *udpBatch) reset() {
	for i := range m.n {
		h := &m.hdrs[i].Hdr
		h.Namelen = nameLen
		h.SetControllen(ctrlLen)
		h.Flags = 0
	}
	m.got, m.errno = 0, 0
}

// recv is the netpoller callback: one non-blocking recvmmsg; false asks
// the netpoller to wait for the socket to be readable.
func (m *udpBatch) recv(fd uintptr) bool {
	n, errno := mmsg(unix.SYS_RECVMMSG, fd, m.hdrs, unix.MSG_TRUNC)
	if errno == unix.EAGAIN {
		return false
	}
	m.got, m.errno = n, errno
	return true
}

func (m *udpBatch) buf(i int) []byte { return m.bufs[i*maxDatagram : (i+1)*maxDatagram] }

func (m *udpBatch) setLen(i, n int) { m.iovs[i].SetLen(n) }

func (m *udpBatch) setDst(i, flow int) {
	m.hdrs[i].Hdr.Name = &m.dsts[flow][0]
	m.hdrs[i].Hdr.Namelen = uint32(len(m.dsts[flow]))
	m.flowOf[i] = flow
}

// dstOf returns the destination of message i, for errors.
func (m *udpBatch) dstOf(i int) netip.AddrPort {
	if i >= m.pending {
		return netip.AddrPort{}
	}
	return m.dstAP[m.flowOf[i]]
}

// send sends the published messages from index from with sendmmsg and
// returns how many went.
func (m *udpBatch) send(c *net.UDPConn, from int) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	m.from, m.sent, m.errno = from, 0, 0
	if err := rc.Write(m.sendFn); err != nil {
		return 0, err
	}
	if m.errno != 0 {
		return 0, m.errno // sendmmsg sends none when it fails
	}
	return m.sent, nil
}

func (m *udpBatch) sendCB(fd uintptr) bool {
	n, errno := mmsg(unix.SYS_SENDMMSG, fd, m.hdrs[m.from:m.pending], 0)
	if errno == unix.EAGAIN {
		return false
	}
	m.sent, m.errno = n, errno
	return true
}

// sockaddr returns the raw sockaddr_in or sockaddr_in6 of a.
func sockaddr(a netip.AddrPort) []byte {
	ip := a.Addr().Unmap()
	if ip.Is4() {
		b := make([]byte, unix.SizeofSockaddrInet4)
		binary.NativeEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], a.Port())
		v := ip.As4()
		copy(b[4:], v[:])
		return b
	}
	if !ip.Is6() {
		return nil
	}
	b := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], a.Port())
	v := ip.As16()
	copy(b[8:], v[:])
	return b
}

// parseSockaddr reads the source of a received datagram.
func parseSockaddr(b []byte) netip.AddrPort {
	port := binary.BigEndian.Uint16(b[2:])
	switch binary.NativeEndian.Uint16(b) {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), port)
	}
	return netip.AddrPort{}
}

// parseControl reads a received datagram's control messages: its
// destination address (IP_PKTINFO, IPV6_PKTINFO; def if there is none)
// and the kernel's receive time, UTC ns (SCM_TIMESTAMPNS, old or new; 0
// if none).
func parseControl(b []byte, def netip.Addr) (dst netip.Addr, ts int64) {
	dst = def
	// Not a byte less than a header: ParseOneSocketControlMessage reads
	// a whole cmsghdr from b before it checks b's length.
	for len(b) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			return dst, ts
		}
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= 12:
			dst = netip.AddrFrom4([4]byte(data[8:12]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= 16:
			dst = netip.AddrFrom16([16]byte(data[:16])).Unmap()
		case h.Level == unix.SOL_SOCKET && (h.Type == unix.SO_TIMESTAMPNS_NEW || h.Type == unix.SCM_TIMESTAMPNS && strconv.IntSize == 64) && len(data) >= 16:
			// struct __kernel_timespec: two int64 everywhere (and the
			// old struct timespec of a 64-bit program).
			sec, nsec := int64(binary.NativeEndian.Uint64(data)), int64(binary.NativeEndian.Uint64(data[8:]))
			ts = sec*1e9 + nsec
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && strconv.IntSize == 32 && len(data) >= 8:
			// The old struct timespec of a 32-bit program: two int32.
			sec, nsec := int64(int32(binary.NativeEndian.Uint32(data))), int64(int32(binary.NativeEndian.Uint32(data[4:])))
			ts = sec*1e9 + nsec
		}
		b = rest
	}
	return dst, ts
}

func isRefused(err error) bool { return errors.Is(err, unix.ECONNREFUSED) }

func isFiltered(err error) bool { return errors.Is(err, unix.EPERM) }

func isNoBufs(err error) bool { return errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EAGAIN) }
