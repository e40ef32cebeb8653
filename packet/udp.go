package packet

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
)

// Header sizes of an Ethernet/IPv4/UDP frame, and of what a [Template] may
// put in it besides.
const (
	EthLen     = 14
	VLANLen    = 4 // 802.1Q tag
	IPv4Len    = 20
	IPv6Len    = 40 // IPv6 header without extension headers
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

// NewUDPTemplate serializes the header once with gopacket. A nil config is
// an error, as for [NewTemplate].
func NewUDPTemplate(c *UDPConfig) (*UDPTemplate, error) {
	if c == nil {
		return nil, errors.New("packet: nil UDPConfig")
	}
	if len(c.SrcMAC) != 6 || len(c.DstMAC) != 6 {
		return nil, errors.New("packet: MAC addresses must be 6 bytes")
	}
	if !c.SrcIP.Is4() || !c.DstIP.Is4() {
		return nil, errors.New("packet: UDP template needs IPv4 addresses")
	}
	ls, err := headerLayers(&TemplateConfig{SrcMAC: c.SrcMAC, DstMAC: c.DstMAC, TTL: c.TTL,
		Src: netip.AddrPortFrom(c.SrcIP, c.SrcPort), Dst: netip.AddrPortFrom(c.DstIP, c.DstPort)})
	if err != nil {
		return nil, err
	}
	t := &UDPTemplate{}
	if err := serializeHeader(t.hdr[:], append(ls, gopacket.Payload(nil))...); err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(t.hdr[UDPHdrLen-2:], 0) // no UDP checksum
	// Sum the IPv4 header without the fields Write patches.
	var h [IPv4Len]byte
	copy(h[:], t.hdr[EthLen:EthLen+IPv4Len])
	clear(h[2:6])   // total length, id
	clear(h[10:20]) // checksum, addresses
	t.csum = uint32(sum64(h[:]))
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
	binary.BigEndian.PutUint16(ip[10:], ^fold32(s))
	udp := dst[EthLen+IPv4Len : UDPHdrLen]
	binary.BigEndian.PutUint16(udp[0:], sport)
	binary.BigEndian.PutUint16(udp[2:], dport)
	binary.BigEndian.PutUint16(udp[4:], ipLen-IPv4Len)
	return frameLen
}
