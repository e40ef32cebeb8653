//go:build aix || dragonfly || freebsd || netbsd || openbsd

package st2110

import "golang.org/x/sys/unix"

// The IPPROTO_IP control messages that carry a datagram's destination
// (controlDst): IP_RECVDSTADDR only.
const (
	ipPktinfo     = -1
	ipRecvDstAddr = unix.IP_RECVDSTADDR
)
