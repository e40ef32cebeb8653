package st2110

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/nmsys"
)

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  kind
		addr  string
		iface string
		file  string
		port  string
		queue int
	}{
		{name: "udp", kind: kindUDP},
		{name: "udp:eth0", kind: kindUDP, iface: "eth0"},
		{name: "udp:239.1.1.1:5004", kind: kindUDP, addr: "239.1.1.1:5004"},
		{name: "udp:239.1.1.1:5004@nmst-br0", kind: kindUDP, addr: "239.1.1.1:5004", iface: "nmst-br0"},
		{name: "udp:[ff3e::1]:5004", kind: kindUDP, addr: "[ff3e::1]:5004"},
		{name: "udp:[ff02::1%eth1]:5004", kind: kindUDP, addr: "[ff02::1]:5004", iface: "eth1"},
		{name: "udp:[ff02::1%eth1]:5004@eth1", kind: kindUDP, addr: "[ff02::1]:5004", iface: "eth1"},
		{name: "udp:[::ffff:127.0.0.1]:9", kind: kindUDP, addr: "127.0.0.1:9"},
		{name: "pcap:x.pcap", kind: kindPcap, file: "x.pcap"},
		{name: "pcap:/tmp/a:b.pcapng", kind: kindPcap, file: "/tmp/a:b.pcapng"},
		{name: "netmap:eth0", kind: kindNetmap, port: "netmap:eth0"},
		{name: "vale0:a", kind: kindNetmap, port: "vale0:a"},
		{name: "netmap:eth0-2/R", kind: kindNetmap, port: "netmap:eth0-2/R"},
		{name: "eth3", kind: kindNetmap, port: "eth3"},
		{name: "xdp:eth0", kind: kindXDP, iface: "eth0"},
		{name: "xdp:eth0-3", kind: kindXDP, iface: "eth0", queue: 3},
		{name: "xdp:veth-1-0", kind: kindXDP, iface: "veth-1"},
	} {
		e, err := parseName(tc.name)
		if err != nil {
			t.Errorf("%q: %v", tc.name, err)
			continue
		}
		var addr netip.AddrPort
		if tc.addr != "" {
			addr = netip.MustParseAddrPort(tc.addr)
		}
		if e.kind != tc.kind || e.addr != addr || e.iface != tc.iface || e.file != tc.file || e.port != tc.port || e.queue != tc.queue {
			t.Errorf("%q: %+v", tc.name, e)
		}
	}
}

func TestParseNameErrors(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"", "empty"},
		{"udp:", "empty part after udp:"},
		{"udp:239.1.1.1", "without a port"},
		{"udp:239.1.1.1:0", "port 0"},
		{"udp:239.1.1.1:99999", "is not ADDR:PORT"},
		{"udp:239.1.1.1:5004@", "want udp:ADDR:PORT@IFACE"},
		{"udp:@eth0", "want udp:ADDR:PORT@IFACE"},
		{"udp:eth0@eth1", "two interfaces"},
		{"udp:[ff02::1%eth1]:5004@eth2", "zone eth1 and interface eth2"},
		{"udp:a-very-long-interface-name", "interface name"},
		{"pcap:", "no file name"},
		{"xdp:", "not xdp:IFACE"},
		{"xdp:eth0-4096", "queue 4096 out of range"},
		{"xdp:a/b", "not a valid interface name"},
		{"xdp:a-very-long-interface-name", "not a valid interface name"},
		{"netmap:vale0:a", "not udp:..., pcap:FILE, xdp:IFACE or a netmap port"},
		{"vale0:a^^", "not udp:..., pcap:FILE, xdp:IFACE or a netmap port"},
	} {
		_, err := parseName(tc.name)
		var ne *NameError
		if err == nil || !errors.As(err, &ne) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "\""+tc.name+"\"") {
			t.Errorf("%q: error %v, want a NameError saying %q", tc.name, err, tc.want)
		}
	}
	_, err := parseName("vale0:a^^")
	if !errors.Is(err, nmsys.ErrBadName) {
		t.Errorf("a bad netmap name's error %v does not match nmsys.ErrBadName", err)
	}
}
