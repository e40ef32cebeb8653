//go:build !unix

package st2110

import (
	"net/netip"
	"syscall"
)

// msgTrunc: no flag tells of a cut datagram here.
const msgTrunc = 0

// errMsgSize is the error Windows returns for a datagram longer than the
// buffer it was read into, which it cuts (WSAEMSGSIZE, 10040); no other
// system of this file returns it. (Not reached yet: listenUDP cannot open
// a receiver on Windows, where x/net's SetControlMessage is not
// implemented; and Go fills in no source address with that error.)
const errMsgSize syscall.Errno = 10040

// controlDst: no destination address is read from the control messages
// here.
func controlDst(b []byte) netip.Addr { return netip.Addr{} }
