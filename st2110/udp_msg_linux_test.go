package st2110

import (
	"encoding/binary"
	"fmt"
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
// (IP_RECVDSTADDR, as the BSDs give it), an in6_pktinfo's address. The
// messages of each system are checked here through controlDstOf with
// that system's types.
func TestControlDst(t *testing.T) {
	if ipPktinfo != syscall.IP_PKTINFO || ipRecvDstAddr != -1 {
		t.Fatalf("Linux's destination messages: IP_PKTINFO %d, IP_RECVDSTADDR %d", ipPktinfo, ipRecvDstAddr)
	}
	const ipRecvDstAddrBSD, ipPktinfoDarwin = 7, 0x1a
	systems := []struct {
		name             string
		pktinfo, dstAddr int32
	}{{"linux", syscall.IP_PKTINFO, -1}, {"darwin", ipPktinfoDarwin, ipRecvDstAddrBSD}, {"freebsd", -1, ipRecvDstAddrBSD}}
	other := cmsg(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, []byte{7, 0, 0, 0})
	pi := []byte{3, 0, 0, 0, 10, 0, 0, 1, 239, 1, 2, 3} // ifindex, spec_dst, addr
	a6 := netip.MustParseAddr("ff3e::8000:1")
	pi6 := cmsg(syscall.IPPROTO_IPV6, syscall.IPV6_PKTINFO, append(a6.AsSlice(), 3, 0, 0, 0))
	for _, sys := range systems {
		// Of what a system has, only these are the destination.
		var pi4, dstaddr []byte
		var want4, wantDst netip.Addr
		if sys.pktinfo >= 0 {
			pi4, want4 = cmsg(syscall.IPPROTO_IP, int(sys.pktinfo), pi), netip.MustParseAddr("239.1.2.3")
		}
		if sys.dstAddr >= 0 {
			dstaddr, wantDst = cmsg(syscall.IPPROTO_IP, int(sys.dstAddr), []byte{239, 4, 5, 6}), netip.MustParseAddr("239.4.5.6")
		}
		any4 := want4
		if !any4.IsValid() {
			any4 = wantDst
		}
		// Messages that are not: another IPPROTO_IP one with 4 or 12
		// octets (IP_TTL, IP_RECVIF, IP_RETOPTS: Linux's type 7), the
		// right type with too few octets for its struct, the right
		// type at another level, another IPPROTO_IPV6 one.
		var stray [][]byte
		for typ := range int32(64) {
			if typ != sys.pktinfo && typ != sys.dstAddr {
				stray = append(stray, cmsg(syscall.IPPROTO_IP, int(typ), []byte{64, 0, 0, 0}), cmsg(syscall.IPPROTO_IP, int(typ), pi))
			}
		}
		if sys.pktinfo >= 0 {
			stray = append(stray, cmsg(syscall.IPPROTO_IP, int(sys.pktinfo), pi[:11]), cmsg(syscall.IPPROTO_IP, int(sys.pktinfo), pi[:4]))
		}
		if sys.dstAddr >= 0 {
			stray = append(stray, cmsg(syscall.IPPROTO_IP, int(sys.dstAddr), pi[8:11]))
		}
		for _, lvl := range []int{syscall.SOL_SOCKET, syscall.IPPROTO_UDP, syscall.IPPROTO_IPV6} {
			for _, typ := range []int32{sys.pktinfo, sys.dstAddr} {
				stray = append(stray, cmsg(lvl, int(typ), pi))
			}
		}
		stray = append(stray, cmsg(syscall.IPPROTO_IPV6, syscall.IPV6_HOPLIMIT, append(a6.AsSlice(), 1, 0, 0, 0)),
			cmsg(syscall.IPPROTO_IPV6, syscall.IPV6_PKTINFO, a6.AsSlice()[:15]),
			cmsg(syscall.IPPROTO_IP, syscall.IPV6_PKTINFO, append(a6.AsSlice(), 3, 0, 0, 0)))
		type tc struct {
			name string
			b    []byte
			want netip.Addr
		}
		cases := []tc{
			{"pktinfo", slices.Concat(other, pi4), want4},
			{"dstaddr", slices.Concat(other, dstaddr), wantDst},
			{"pktinfo6", slices.Concat(other, pi6), a6},
			{"strays, pktinfo, dstaddr", slices.Concat(slices.Concat(stray...), pi4, dstaddr), any4},
			{"strays, pktinfo6", slices.Concat(slices.Concat(stray...), pi6), a6},
			{"strays", slices.Concat(stray...), netip.Addr{}},
			{"other", other, netip.Addr{}},
			{"none", nil, netip.Addr{}},
			{"cut message", pi6[:syscall.CmsgLen(20)-1], netip.Addr{}},
			{"cut header", pi6[:syscall.SizeofCmsghdr-1], netip.Addr{}},
		}
		for i, s := range stray {
			cases = append(cases, tc{fmt.Sprintf("stray %d (% x)", i, s[syscall.SizeofCmsghdr-8:syscall.SizeofCmsghdr]), s, netip.Addr{}})
		}
		for _, c := range cases {
			if got := controlDstOf(c.b, sys.pktinfo, sys.dstAddr); got != c.want {
				t.Errorf("%s: controlDst(%s) = %v, want %v", sys.name, c.name, got, c.want)
			}
			if sys.name == "linux" {
				if got := controlDst(c.b); got != c.want {
					t.Errorf("controlDst(%s) = %v, want %v", c.name, got, c.want)
				}
			}
		}
	}
	allocs := testing.AllocsPerRun(100, func() { controlDst(pi6) })
	if allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}
