package st2110

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/video"
)

// MulticastMAC maps groups as RFC 1112 (IPv4: 01:00:5e and the low 23
// bits) and RFC 2464 (IPv6: 33:33 and the low 32 bits) say.
func TestMulticastMAC(t *testing.T) {
	for _, tc := range []struct{ group, mac string }{
		{"224.0.0.1", "01:00:5e:00:00:01"},
		{"239.1.1.1", "01:00:5e:01:01:01"},
		{"239.255.255.250", "01:00:5e:7f:ff:fa"},
		{"224.128.0.1", "01:00:5e:00:00:01"}, // the 24th bit is dropped
		{"232.200.3.4", "01:00:5e:48:03:04"},
		{"::ffff:239.1.2.3", "01:00:5e:01:02:03"},
		{"ff02::1", "33:33:00:00:00:01"},
		{"ff3e::8000:1234", "33:33:80:00:12:34"},
		{"ff05::1:3", "33:33:00:01:00:03"},
	} {
		mac, ok := MulticastMAC(netip.MustParseAddr(tc.group))
		if !ok || mac.String() != tc.mac {
			t.Errorf("%s: %v %v, want %s", tc.group, mac, ok, tc.mac)
		}
	}
	for _, a := range []string{"10.0.0.1", "fe80::1", "255.255.255.255"} {
		if mac, ok := MulticastMAC(netip.MustParseAddr(a)); ok {
			t.Errorf("%s: %v", a, mac)
		}
	}
}

func TestFlowsErrors(t *testing.T) {
	udp, pcap := endpoint{kind: kindUDP}, endpoint{kind: kindPcap}
	noRate := fmtSmall
	noRate.Rate = video.Rate{}
	for _, tc := range []struct {
		sess *video.Session
		ep   endpoint
		send bool
		want string
	}{
		{nil, udp, false, "without flows"},
		{&video.Session{}, udp, false, "without flows"},
		{session("", flow(fmtSmall, "", "")), udp, false, "no destination address and port"},
		{session("", flow(fmtSmall, "", "")), pcap, true, "no destination address and port"},
		{session("", flow(fmtSmall, "239.1.1.1:5004", ""), flow(fmtSmall, "239.1.1.1:5004", "")), pcap, false, "flows 0 and 1 both go to 239.1.1.1:5004"},
		{session("", flow(fmtSmall, "239.1.1.1:5004", "fd00::1")), udp, false, "not of one IP version"},
		{session("", flow(noRate, "239.1.1.1:5004", "")), pcap, true, "needs the frame rate"},
		{session("", flow(video.Format{}, "239.1.1.1:5004", "")), pcap, false, "flow 0"},
	} {
		_, err := flows(tc.sess, &tc.ep, tc.send)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// Without an address, a capture or a netmap port takes the first port
	// that brings RTP; the transport's address numbers the flows' ports.
	fs, err := flows(session("", flow(fmtSmall, "", ""), flow(fmtSmall, "", "")), &endpoint{kind: kindUDP, addr: netip.MustParseAddrPort("239.9.9.9:6000")}, false)
	if err != nil || fs[0].Dst.String() != "239.9.9.9:6000" || fs[1].Dst.String() != "239.9.9.9:6001" {
		t.Errorf("%v %v", fs, err)
	}
	// Two flows to one group and port from two sources are two flows.
	if _, err := flows(session("", flow(fmtSmall, "232.1.1.1:5004", "10.0.0.1"), flow(fmtSmall, "232.1.1.1:5004", "10.0.0.2")), &udp, false); err != nil {
		t.Error(err)
	}
}
