package st2110

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
)

// Outside Linux a UDP reader reads one datagram at a time (readMsg).

// controlLen is the room for the control messages of one datagram: its
// destination (IP_PKTINFO, IP_RECVDSTADDR or IPV6_PKTINFO) and more.
const controlLen = 128

// readMsg reads one datagram into buf with its control messages into oob
// (net.UDPConn.ReadMsgUDPAddrPort, which allocates nothing): the octets
// read, wire, the datagram's length as far as it is known, and its source
// and destination (the destination address from oob, with port). A
// datagram longer than buf, cut to it, has a wire of len(buf)+1: the
// least it can have been. Outside Linux the kernel does not give the
// whole length, only that it was cut (MSG_TRUNC in the flags, or on
// Windows the error WSAEMSGSIZE, isCut), so such a datagram is counted
// as truncated (FlowStats.Truncated) with len(buf)+1 octets in
// FlowStats.Bytes, fewer than it had.
func readMsg(c *net.UDPConn, buf, oob []byte, port uint16) (n, wire int, src, dst netip.AddrPort, err error) {
	n, oobn, flags, src, err := c.ReadMsgUDPAddrPort(buf, oob)
	n = min(max(n, 0), len(buf))
	if err != nil {
		if !isCut(err, errMsgSize) {
			return 0, 0, src, dst, err
		}
		return n, len(buf) + 1, src, netip.AddrPortFrom(netip.Addr{}, port), nil
	}
	wire = n
	if flags&msgTrunc != 0 {
		wire = len(buf) + 1
	}
	return n, wire, src, netip.AddrPortFrom(controlDst(oob[:oobn]), port), nil
}

// isCut tells whether err, a read's error, is msgSize, the error of a
// system that reports a datagram longer than the buffer as an error
// (errMsgSize: Windows' WSAEMSGSIZE; 0 where there is none). Windows
// fills the buffer with the start of such a datagram (golang/go#14074):
// it is a cut datagram, not the end of the socket, and a reader that
// returned it would let anyone who sends one long datagram to the port
// stop it.
func isCut(err error, msgSize syscall.Errno) bool {
	return msgSize != 0 && errors.Is(err, msgSize)
}
