package st2110

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"syscall"
	"testing"
)

// cmsg returns a control message as Linux lays it out: a cmsghdr
// (cmsg_len a size_t, then level and type), the data, padding.
func cmsg(level, typ int, data []byte) []byte {
	b := make([]byte, syscall.CmsgSpace(len(data)))
	l := syscall.CmsgLen(len(data))
	w := syscall.SizeofCmsghdr - 8 // of cmsg_len
	if w == 8 {
		binary.NativeEndian.PutUint64(b, uint64(l))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(l))
	}
	binary.NativeEndian.PutUint32(b[w:], uint32(level))
	binary.NativeEndian.PutUint32(b[w+4:], uint32(typ))
	copy(b[syscall.CmsgSpace(0):], data)
	return b
}

// controlDst takes the destination of a datagram from its control
// messages, past the others: an in_pktinfo's ipi_addr (not its
// ipi_spec_dst, the same on a loopback read), an in_addr
// (IP_RECVDSTADDR, as the BSDs give it), an in6_pktinfo's address.
func TestControlDst(t *testing.T) {
	other := cmsg(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, []byte{7, 0, 0, 0})
	pi4 := cmsg(syscall.IPPROTO_IP, syscall.IP_PKTINFO, []byte{3, 0, 0, 0, 10, 0, 0, 1, 239, 1, 2, 3}) // ifindex, spec_dst, addr
	const ipRecvDstAddr = 7                                                                            // the BSDs'
	dstaddr := cmsg(syscall.IPPROTO_IP, ipRecvDstAddr, []byte{239, 4, 5, 6})
	a6 := netip.MustParseAddr("ff3e::8000:1")
	pi6 := cmsg(syscall.IPPROTO_IPV6, syscall.IPV6_PKTINFO, append(a6.AsSlice(), 3, 0, 0, 0))
	for _, c := range []struct {
		b    []byte
		want netip.Addr
	}{
		{slices.Concat(other, pi4), netip.MustParseAddr("239.1.2.3")},
		{slices.Concat(other, dstaddr), netip.MustParseAddr("239.4.5.6")},
		{slices.Concat(other, pi6), a6},
		{other, netip.Addr{}},
		{nil, netip.Addr{}},
		{pi4[:syscall.CmsgLen(12)-1], netip.Addr{}}, // cut: no message
		{pi4[:syscall.SizeofCmsghdr-1], netip.Addr{}},
	} {
		if got := controlDst(c.b); got != c.want {
			t.Errorf("controlDst(% x) = %v, want %v", c.b, got, c.want)
		}
	}
	allocs := testing.AllocsPerRun(100, func() { controlDst(pi6) })
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}
