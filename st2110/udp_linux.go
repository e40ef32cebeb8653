//go:build linux

package st2110

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
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

	// send: the socket's error queue (IP_RECVERR: watchErrors), read by
	// readErrors without waiting into eq's control buffers (eqCtrl).
	errq   bool
	eq     []unix.Mmsghdr
	eqCtrl []byte
	eqFn   func(uintptr)
	eqGot  int
	icmp   uint16 // the ICMP reports read, not yet met as a send's error: a bit of icmpErrnos each (icmpReport)
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

// errqBatch is the most error queue reports one recvmmsg(2) reads.
const errqBatch = 16

// watchErrors turns on the error queue of c, a sending socket
// (IP_RECVERR; on an IPv6 socket IPV6_RECVERR: Go makes a "udp6"
// socket IPV6_V6ONLY, so it sends to no IPv4-mapped address): the
// kernel then queues each ICMP error a datagram drew, which readErrors
// reads. Without it Linux drops them
// for an unconnected UDP socket (__udp4_lib_err passes an error on only
// to a connected socket or one with IP_RECVERR, whatever udp(7) says of
// fatal errors; on 6.18, 2,000 datagrams to a closed loopback port drew
// no error at all), and an ICMP port unreachable from a unicast
// destination that does not listen was never counted in
// SendStats.Refused. With it the kernel also reports each one as the
// error of the socket's next send (whose datagram is then not sent: the
// flush sends it again), and reports with ENOBUFS each datagram its
// qdisc or device dropped (NET_XMIT_DROP), which it otherwise hid: the
// flush counts it and goes on (isNoBufs).
func (m *udpBatch) watchErrors(c *net.UDPConn, v6 bool) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	cerr := rc.Control(func(fd uintptr) {
		// The socket reads nothing, but is bound to a port: a
		// datagram sent to it would stay in its receive buffer, which
		// the error queue shares (sock_queue_err_skb), and some 200 of
		// them left no room for a single report. A socket filter that
		// drops every datagram keeps it empty; it does not see the
		// reports. Where it is refused, it is only the count at stake.
		_ = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &dropAll)
		if v6 {
			err = setsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
			return
		}
		err = setsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return os.NewSyscallError("setsockopt IP_RECVERR", err)
	}
	m.eq, m.eqCtrl = make([]unix.Mmsghdr, errqBatch), make([]byte, errqBatch*ctrlLen)
	for i := range m.eq {
		m.eq[i].Hdr.Control = &m.eqCtrl[i*ctrlLen]
	}
	m.eqFn = m.readErrq
	m.errq = true
	return nil
}

// setsockoptInt is unix.SetsockoptInt, for watchErrors: a test makes it
// refuse IP_RECVERR.
var setsockoptInt = unix.SetsockoptInt

// dropAll is a classic BPF socket filter that drops every datagram: ret #0.
var dropAll = unix.SockFprog{Len: 1, Filter: &unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: 0}}

// readErrors reads c's error queue without waiting, until it is empty
// (or for at most maxErrqReads reads: reports may keep coming), and
// returns how many of its reports were ICMP port unreachable
// (ECONNREFUSED), each read once. The errnos of its ICMP reports are
// kept for icmpReport. Reading the last queued ICMP report also clears
// the socket's pending error (sock_dequeue_err_skb). It allocates
// nothing; 0 if the queue is not watched (watchErrors).
func (m *udpBatch) readErrors(c *net.UDPConn) int {
	if !m.errq {
		return 0
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	const maxErrqReads = 64
	refused := 0
	for range maxErrqReads {
		m.eqGot = 0
		if rc.Control(m.eqFn) != nil || m.eqGot == 0 {
			break
		}
		for i := range m.eqGot {
			h := &m.eq[i].Hdr
			errno, icmp, ref := parseErrq(m.eqCtrl[i*ctrlLen : i*ctrlLen+min(int(h.Controllen), ctrlLen)])
			if icmp {
				m.icmp |= icmpBit(errno)
			}
			if ref {
				refused++
			}
		}
		if m.eqGot < len(m.eq) {
			break
		}
	}
	return refused
}

// readErrq is readErrors' callback: one recvmmsg(2) of the error queue
// (MSG_ERRQUEUE never waits), into eqGot.
func (m *udpBatch) readErrq(fd uintptr) {
	for i := range m.eq {
		h := &m.eq[i].Hdr
		h.SetControllen(ctrlLen)
		h.Flags = 0
	}
	n, errno := mmsg(unix.SYS_RECVMMSG, fd, m.eq, unix.MSG_ERRQUEUE)
	if errno != 0 || n < 0 || n > len(m.eq) {
		n = 0
	}
	m.eqGot = n
}

// icmpReport tells whether err, a send's, is the errno of an ICMP report
// readErrors read: the kernel's report of that ICMP error as the
// socket's pending error (IP_RECVERR), which fails the next send though
// nothing is wrong with its datagram; it is then forgotten, so that a
// send failing so again is an error of its own.
func (m *udpBatch) icmpReport(err error) bool {
	e, ok := err.(syscall.Errno)
	b := icmpBit(e)
	if !ok || m.icmp&b == 0 {
		return false
	}
	m.icmp &^= b
	return true
}

// icmpErrnos are the errnos the kernel gives the ICMP and ICMPv6 errors
// it reports (icmp_err_convert, icmpv6_err_convert, and EPROTO for a
// parameter problem): the ones icmpReport tells, a bit each. A list, not
// a bit for each errno number: those differ by architecture, and pass
// 128 on MIPS (ECONNREFUSED is 146).
var icmpErrnos = [...]syscall.Errno{
	unix.ENETUNREACH, unix.EHOSTUNREACH, unix.ECONNREFUSED, unix.ENOPROTOOPT, unix.EMSGSIZE,
	unix.EOPNOTSUPP, unix.EHOSTDOWN, unix.ENONET, unix.EACCES, unix.EPROTO,
}

// icmpBit returns e's bit in udpBatch.icmp: 0 if it is not an ICMP
// error's errno (icmpErrnos).
func icmpBit(e syscall.Errno) uint16 {
	for i, x := range icmpErrnos {
		if e == x {
			return 1 << i
		}
	}
	return 0
}

// sizeofSockExtendedErr is the size of struct sock_extended_err (x/sys's
// SockExtendedErr), the same everywhere: a u32, four u8, two u32.
const sizeofSockExtendedErr = 16

// parseErrq reads the control messages of one error queue report: the
// sock_extended_err of an IP_RECVERR or IPV6_RECVERR message (man 7 ip,
// man 7 ipv6): its errno, whether an ICMP or ICMPv6 message is its
// origin, and whether that is a port unreachable (ICMP type 3 code 3,
// ICMPv6 type 1 code 4), the report of a destination where nothing
// listens.
func parseErrq(b []byte) (errno syscall.Errno, icmp, refused bool) {
	for len(b) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			break
		}
		b = rest
		if !(h.Level == unix.IPPROTO_IP && h.Type == unix.IP_RECVERR || h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_RECVERR) || len(data) < sizeofSockExtendedErr {
			continue
		}
		errno = syscall.Errno(binary.NativeEndian.Uint32(data))
		origin, typ, code := data[4], data[5], data[6]
		switch origin {
		case unix.SO_EE_ORIGIN_ICMP:
			return errno, true, typ == 3 && code == 3
		case unix.SO_EE_ORIGIN_ICMP6:
			return errno, true, typ == 1 && code == 4
		}
		return errno, false, false
	}
	return 0, false, false
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
