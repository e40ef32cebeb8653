package packet

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var testCfg = UDPConfig{
	SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.1.0.1"), SrcPort: 1234, DstPort: 4321,
}

// Every patched frame must equal a fresh gopacket serialization of the same
// fields, checksums included.
func TestUDPTemplateMatchesGopacket(t *testing.T) {
	tpl, err := NewUDPTemplate(&testCfg)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for i, n := range []int{60, 61, 512, 1500, 1514} {
		src := [4]byte{10, 0, byte(i), 255 - byte(i)}
		dst := [4]byte{192, 168, 200 + byte(i), byte(i * 37)}
		sport, dport, id := uint16(1000+i*999), uint16(65535-i), uint16(0xfff0+i*3)
		for k := UDPHdrLen; k < n; k++ {
			buf[k] = byte(k * i)
		}
		tpl.Write(buf, n, src, dst, sport, dport, id)

		eth := &layers.Ethernet{SrcMAC: testCfg.SrcMAC, DstMAC: testCfg.DstMAC, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, Flags: layers.IPv4DontFragment,
			Id: id, SrcIP: src[:], DstIP: dst[:]}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		_ = udp.SetNetworkLayerForChecksum(ip)
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, udp, gopacket.Payload(buf[UDPHdrLen:n])); err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(sb.Bytes())
		want[40], want[41] = 0, 0 // the template sends no UDP checksum
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("frame %d bytes:\n got % x\nwant % x", n, buf[:UDPHdrLen], want[:UDPHdrLen])
		}
	}
}

func TestUDPTemplateErrors(t *testing.T) {
	c := testCfg
	c.SrcIP = netip.MustParseAddr("::1")
	if _, err := NewUDPTemplate(&c); err == nil {
		t.Error("IPv6 accepted")
	}
	c = testCfg
	c.DstMAC = nil
	if _, err := NewUDPTemplate(&c); err == nil {
		t.Error("missing MAC accepted")
	}
	if _, err := NewUDPTemplate(nil); err == nil {
		t.Error("nil config accepted")
	}
}

func TestUDPTemplateWriteAllocs(t *testing.T) {
	tpl, err := NewUDPTemplate(&testCfg)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	if n := testing.AllocsPerRun(1000, func() {
		tpl.Write(buf, 60, [4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, 3)
	}); n != 0 {
		t.Errorf("Write allocates %v times", n)
	}
}

func BenchmarkUDPTemplateWrite(b *testing.B) {
	tpl, _ := NewUDPTemplate(&testCfg)
	buf := make([]byte, 2048)
	b.ReportAllocs()
	var id uint16
	for b.Loop() {
		id++
		tpl.Write(buf, 1500, [4]byte{10, 0, 0, 1}, [4]byte{10, 1, 0, 1}, 1234, 4321, id)
	}
}
