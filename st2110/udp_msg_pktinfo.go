//go:build darwin || solaris

package st2110

import "golang.org/x/sys/unix"

// The IPPROTO_IP control messages that carry a datagram's destination
// (controlDst): both.
const (
	ipPktinfo     = unix.IP_PKTINFO
	ipRecvDstAddr = unix.IP_RECVDSTADDR
)
