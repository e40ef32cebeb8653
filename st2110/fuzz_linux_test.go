//go:build linux

package st2110

import (
	"net/netip"
	"testing"
)

// FuzzParseDst: the control messages and source address a recvmmsg
// returns are read within their bounds, whatever the kernel wrote.
func FuzzParseDst(f *testing.F) {
	// IP_PKTINFO for 239.1.1.1 (64-bit cmsghdr: len 28, level 0, type 8).
	f.Add([]byte("\x1c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\xef\x01\x01\x01\x00\x00\x00\x00"))
	// SCM_TIMESTAMPNS (len 32, level 1, type 35): 1 s and 2 ns.
	f.Add([]byte("\x20\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x23\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		def := netip.IPv4Unspecified()
		if a, _ := parseControl(b, def); !a.IsValid() {
			t.Fatalf("%v", a)
		}
		name := make([]byte, nameLen)
		copy(name, b)
		parseSockaddr(name)
	})
}
