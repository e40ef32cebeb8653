//go:build linux

package st2110

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"testing"
)

// FuzzParseDst: the control messages and source address a recvmmsg
// returns are read within their bounds, whatever the kernel wrote; and a
// source address the kernel wrote (sockaddr_in or sockaddr_in6, at the
// start of a name buffer holding anything after it) reads back as the
// address and port written, as does one sockaddr encodes for sendmmsg.
func FuzzParseDst(f *testing.F) {
	// IP_PKTINFO for 239.1.1.1 (64-bit cmsghdr: len 28, level 0, type 8).
	f.Add([]byte("\x1c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\xef\x01\x01\x01\x00\x00\x00\x00"))
	// SCM_TIMESTAMPNS (len 32, level 1, type 35): 1 s and 2 ns.
	f.Add([]byte("\x20\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x23\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{})
	// Round-trip seeds: 10.0.0.1:5004, [fe80::1]:5004, [::ffff:10.0.0.1]:5004.
	f.Add([]byte("\x00\x13\x8c\x0a\x00\x00\x01"))
	f.Add([]byte("\x01\x13\x8c\xfe\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add([]byte("\x01\x13\x8c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x0a\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		def := netip.IPv4Unspecified()
		if a, _ := parseControl(b, def); !a.IsValid() {
			t.Fatalf("%v", a)
		}
		name := make([]byte, nameLen)
		copy(name, b)
		parseSockaddr(name)

		// The round trip: b[0] picks the family, b[1:3] is the port,
		// b[3:] the address.
		var raw [19]byte
		copy(raw[:], b)
		port := binary.BigEndian.Uint16(raw[1:3])
		copy(name, b) // what the sockaddr leaves alone: anything
		var want netip.AddrPort
		if raw[0]&1 == 0 {
			want = netip.AddrPortFrom(netip.AddrFrom4([4]byte(raw[3:7])), port)
			binary.NativeEndian.PutUint16(name, syscall.AF_INET)
			copy(name[4:8], raw[3:7])
		} else {
			// A v4-mapped address reads as the IPv4 address (Unmap).
			want = netip.AddrPortFrom(netip.AddrFrom16([16]byte(raw[3:19])).Unmap(), port)
			binary.NativeEndian.PutUint16(name, syscall.AF_INET6)
			copy(name[8:24], raw[3:19]) // after sin6_flowinfo, which stays anything
		}
		binary.BigEndian.PutUint16(name[2:], port)
		if got := parseSockaddr(name); got != want {
			t.Fatalf("sockaddr of %v (% x) reads as %v", want, name, got)
		}
		enc := sockaddr(want)
		clear(name)
		copy(name, enc)
		if got := parseSockaddr(name); got != want {
			t.Fatalf("sockaddr(%v) = % x reads as %v", want, enc, got)
		}
	})
}
