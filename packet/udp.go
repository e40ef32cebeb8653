package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Header sizes of an untagged Ethernet/IPv4/UDP frame.
const (
	EthLen     = 14
	IPv4Len    = 20
	UDPLen     = 8
	UDPHdrLen  = EthLen + IPv4Len + UDPLen // 42: offset of the UDP payload
	MinFrame   = 60                        // minimum Ethernet frame without FCS
	MaxUDPSize = 65535
)

// UDPConfig describes the constant fields of an Ethernet/IPv4/UDP frame.
type UDPConfig struct {
	SrcMAC, DstMAC   net.HardwareAddr
	SrcIP, DstIP     netip.Addr // IPv4
	SrcPort, DstPort uint16
	TTL              uint8 // 0 means 64
}

// UDPTemplate is a prebuilt Ethernet/IPv4/UDP header. [UDPTemplate.Write]
// copies it into a frame buffer and patches the lengths, addresses, ports,
// IPv4 identification and IPv4 checksum for that frame. The UDP checksum is
// 0 (none), which IPv4 allows.
type UDPTemplate struct {
	hdr  [UDPHdrLen]byte
	csum uint32 // one's-complement sum of the IPv4 header with length, id, addresses and checksum zeroed
}

// NewUDPTemplate serializes the header once with gopacket.
func NewUDPTemplate(c UDPConfig) (*UDPTemplate, error) {
	if len(c.SrcMAC) != 6 || len(c.DstMAC) != 6 {
		return nil, errors.New("packet: MAC addresses must be 6 bytes")
	}
	if !c.SrcIP.Is4() || !c.DstIP.Is4() {
		return nil, errors.New("packet: UDP template needs IPv4 addresses")
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = 64
	}
	eth := &layers.Ethernet{SrcMAC: c.SrcMAC, DstMAC: c.DstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: layers.IPProtocolUDP, Flags: layers.IPv4DontFragment,
		SrcIP: c.SrcIP.AsSlice(), DstIP: c.DstIP.AsSlice()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(c.SrcPort), DstPort: layers.UDPPort(c.DstPort)}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(nil)); err != nil {
		return nil, fmt.Errorf("packet: serialize UDP template: %w", err)
	}
	t := &UDPTemplate{}
	if copy(t.hdr[:], buf.Bytes()) != UDPHdrLen {
		return nil, fmt.Errorf("packet: template is %d bytes, want %d", len(buf.Bytes()), UDPHdrLen)
	}
	binary.BigEndian.PutUint16(t.hdr[UDPHdrLen-2:], 0) // no UDP checksum
	// Sum the IPv4 header without the fields Write patches.
	var h [IPv4Len]byte
	copy(h[:], t.hdr[EthLen:EthLen+IPv4Len])
	clear(h[2:6])   // total length, id
	clear(h[10:20]) // checksum, addresses
	t.csum = sum16(h[:])
	return t, nil
}

// Header returns a copy of the template's 42 header bytes as built, with
// lengths for an empty payload.
func (t *UDPTemplate) Header() [UDPHdrLen]byte { return t.hdr }

// Write puts a frame of frameLen bytes (UDPHdrLen..MaxUDPSize+EthLen+IPv4Len)
// with the template's header into dst, patched with the given addresses,
// ports and IPv4 id, and returns frameLen. The payload bytes after the
// header are left as they are. dst must hold frameLen bytes. Write does not
// allocate.
func (t *UDPTemplate) Write(dst []byte, frameLen int, src, dstIP [4]byte, sport, dport, id uint16) int {
	_ = dst[frameLen-1]
	copy(dst[:UDPHdrLen], t.hdr[:])
	ipLen := uint16(frameLen - EthLen)
	ip := dst[EthLen : EthLen+IPv4Len]
	binary.BigEndian.PutUint16(ip[2:], ipLen)
	binary.BigEndian.PutUint16(ip[4:], id)
	copy(ip[12:16], src[:])
	copy(ip[16:20], dstIP[:])
	s := t.csum + uint32(ipLen) + uint32(id) +
		uint32(binary.BigEndian.Uint16(src[0:])) + uint32(binary.BigEndian.Uint16(src[2:])) +
		uint32(binary.BigEndian.Uint16(dstIP[0:])) + uint32(binary.BigEndian.Uint16(dstIP[2:]))
	binary.BigEndian.PutUint16(ip[10:], ^fold(s))
	udp := dst[EthLen+IPv4Len : UDPHdrLen]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], ipLen-IPv4Len)
	return frameLen
}

func sum16(b []byte) uint32 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	return s
}

func fold(s uint32) uint16 {
	s = s>>16 + s&0xffff
	s += s >> 16
	return uint16(s)
}
