//go:build unix

package st2110

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// msgTrunc is the flag of a datagram cut to the buffer it was read into.
const msgTrunc = unix.MSG_TRUNC

// errMsgSize: a datagram cut to the buffer is no error here (msgTrunc).
const errMsgSize = 0

// controlDst returns the destination address in b, a datagram's control
// messages: an IPv4 one's from IP_PKTINFO (Linux, Darwin, Solaris: the
// in_pktinfo's ipi_addr, its last 4 octets) or IP_RECVDSTADDR (Darwin,
// Solaris, the BSDs, AIX: an in_addr), whichever the socket asked for
// (listenUDP asks through golang.org/x/net, which takes IP_PKTINFO where
// there is one), an IPv6 one's from IPV6_PKTINFO (in6_pktinfo: the
// address first). Any other message is skipped, whatever its level,
// IPPROTO_IP ones too (IP_TTL, IP_RECVIF, Linux's IP_RETOPTS, whose type
// is the BSDs' IP_RECVDSTADDR), and so is one of the right type too short
// for its struct: none is read as the destination. It allocates nothing;
// the invalid Addr if there is none.
func controlDst(b []byte) netip.Addr { return controlDstOf(b, ipPktinfo, ipRecvDstAddr) }

// controlDstOf is controlDst on a system whose IP_PKTINFO and
// IP_RECVDSTADDR are the message types pktinfo and dstAddr (-1 for one it
// does not have), so that a test on one system checks the others' too.
func controlDstOf(b []byte, pktinfo, dstAddr int32) netip.Addr {
	for len(b) >= unix.SizeofCmsghdr { // ParseOneSocketControlMessage reads a header's worth
		h, data, rest, err := unix.ParseOneSocketControlMessage(b)
		if err != nil {
			break
		}
		b = rest
		switch {
		case h.Level == unix.IPPROTO_IP && h.Type == pktinfo && len(data) >= 12: // in_pktinfo
			return netip.AddrFrom4([4]byte(data[8:12]))
		case h.Level == unix.IPPROTO_IP && h.Type == dstAddr && len(data) >= 4: // in_addr
			return netip.AddrFrom4([4]byte(data[:4]))
		case h.Level == unix.IPPROTO_IPV6 && h.Type == unix.IPV6_PKTINFO && len(data) >= 16:
			return netip.AddrFrom16([16]byte(data[:16])).Unmap()
		}
	}
	return netip.Addr{}
}
