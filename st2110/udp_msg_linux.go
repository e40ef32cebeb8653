package st2110

import "golang.org/x/sys/unix"

// The IPPROTO_IP control messages that carry a datagram's destination
// (controlDst): Linux has IP_PKTINFO only; its type 7 is IP_RETOPTS.
const (
	ipPktinfo     = unix.IP_PKTINFO
	ipRecvDstAddr = -1
)
