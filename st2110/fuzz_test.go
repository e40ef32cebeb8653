package st2110

import (
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// FuzzParseName: a transport name is read or refused with a NameError
// naming it; never a panic.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"udp", "udp:eth0", "udp:239.1.1.1:5004@eth0", "udp:[ff3e::1%eth1]:5004", "pcap:x.pcap",
		"netmap:eth0-1/R@conf:rings=4", "vale0:a{1", "xdp:eth0-3", "", "udp:@", "udp::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseName(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "st2110: transport ") {
				t.Fatalf("%q: error %q", s, err)
			}
			return
		}
		switch e.kind {
		case kindUDP:
			if e.addr.IsValid() && e.addr.Port() == 0 || len(e.iface) > 15 {
				t.Fatalf("%q: %+v", s, e)
			}
		case kindPcap:
			if e.file == "" {
				t.Fatalf("%q: no file", s)
			}
		case kindNetmap:
			if e.port != s {
				t.Fatalf("%q: port %q", s, e.port)
			}
		case kindXDP:
			if e.iface == "" || len(e.iface) > 15 || strings.ContainsAny(e.iface, "/: ") || e.queue < 0 || !strings.HasPrefix(s, "xdp:"+e.iface) {
				t.Fatalf("%q: %+v", s, e)
			}
		default:
			t.Fatalf("%q: kind %d", s, e.kind)
		}
	})
}

// FuzzCaptureOffset: the first packet of a capture, whatever it holds,
// gives 0 or the UTC offset.
func FuzzCaptureOffset(f *testing.F) {
	f.Add([]byte("\x01\x00\x5e\x01\x01\x01\x02\x00\x00\x00\x00\x01\x08\x00\x45\x00\x00\x30\x00\x00\x40\x00\x40\x11\x00\x00\x0a\x00\x00\x01\xef\x01\x01\x01\x13\x8c\x13\x8c\x00\x1c\x00\x00\x80\x60\x00\x01\x12\x34\x56\x78\x00\x00\x00\x01"), int64(1e18), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, at int64, lt uint8) {
		for _, l := range []uint8{lt, 0, 1, 101, 113} {
			if off := captureOffset(data, linkType(l), at, 37e9); off != 0 && off != 37e9 {
				t.Fatalf("offset %d", off)
			}
		}
	})
}

func linkType(l uint8) layers.LinkType {
	if l == 0 { // 276 does not fit a byte: LinuxSLL2
		return layers.LinkTypeLinuxSLL2
	}
	return layers.LinkType(l)
}
