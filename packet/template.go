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

// maxTemplateLen is the longest header a Template writes: Ethernet, 802.1Q,
// IPv6, UDP, RTP and the extended sequence number.
const maxTemplateLen = EthLen + VLANLen + IPv6Len + UDPLen + RTPLen + ExtSeqLen

// minTemplateLen is the shortest header a Template writes: Ethernet, IPv4,
// UDP and RTP.
const minTemplateLen = EthLen + IPv4Len + UDPLen + RTPLen

// Write copies a header of any length in [minTemplateLen, maxTemplateLen]
// as three runs of copyRun octets, overlapping: at 0, at copyRun/2 and
// ending at its length.
const copyRun = 32

// The three runs leave no gap in the longest header and stay within the
// shortest (a negative array length fails to compile).
var (
	_ [copyRun/2 + copyRun - (maxTemplateLen - copyRun)]struct{}
	_ [minTemplateLen - (copyRun/2 + copyRun)]struct{}
)

// TemplateConfig describes the constant fields of an RTP stream's headers:
// Ethernet, an optional 802.1Q tag, IPv4 or IPv6, UDP, RTP and, for
// RFC 4175 video, the extended sequence number.
type TemplateConfig struct {
	SrcMAC, DstMAC net.HardwareAddr
	VLAN           uint16         // 802.1Q VLAN ID 1..4094; 0 = untagged
	VLANPriority   uint8          // PCP 0..7
	Src, Dst       netip.AddrPort // both IPv4 or both IPv6 (IPv4-mapped IPv6 counts as IPv4); Dst port not 0
	TTL            uint8          // IPv4 TTL / IPv6 hop limit; 0 means 64
	DSCP           uint8          // 0..63
	PayloadType    uint8          // RTP PT 0..127, 96..127 typical
	SSRC           uint32
	RFC4175        bool // the 2-byte extended sequence number follows the 12-byte RTP header
	UDPChecksum    bool // IPv4: compute UDP checksum (else 0); IPv6: always computed
}

// Fields are the per-packet values [Template.Write] patches in.
type Fields struct {
	Seq       uint32 // extended sequence: low 16 bits -> RTP sequence, high 16 -> RFC 4175 extended sequence number (RFC4175 only)
	Timestamp uint32
	Marker    bool
	ID        uint16 // IPv4 identification
}

// Template is a prebuilt Ethernet [802.1Q] IPv4/IPv6 UDP RTP [RFC 4175
// extended sequence number] header, serialized once by gopacket. Per
// packet, [Template.Write] copies it into the frame buffer and patches the
// lengths, the IPv4 identification, the RTP sequence number, timestamp
// and marker, the extended sequence number and the checksums.
//
// The checksums are incremental: the template keeps the one's-complement
// sums of its constant words and Write adds the words it patches (RFC 1624
// eqn. 3 with the template's patched fields at 0), plus the payload for a
// UDP checksum. IPv4 is sent with Don't Fragment set; IPv6 with flow
// label 0 and no extension headers.
//
// A Template is read-only after [NewTemplate] and safe for concurrent use.
type Template struct {
	hdr             [maxTemplateLen]byte // patched fields zeroed
	n               int                  // Len
	ipOff, udpOff   int
	rtpOff          int
	v6, esn, udpSum bool
	fixed           int    // UDP length of an empty payload: UDP + RTP [+ ESN]
	maxPayload      int    // largest payloadLen the length fields can carry
	ipSum           uint32 // IPv4 header sum without total length, id, checksum, folded to 16 bits
	udpConst        uint64 // pseudo-header + UDP + RTP sum without lengths and patched fields
}

// NewTemplate checks c and serializes the header with gopacket
// (FixLengths, ComputeChecksums).
func NewTemplate(c *TemplateConfig) (*Template, error) {
	if c == nil {
		return nil, errors.New("packet: nil TemplateConfig")
	}
	src, dst := c.Src.Addr().Unmap(), c.Dst.Addr().Unmap()
	switch {
	case len(c.SrcMAC) != 6 || len(c.DstMAC) != 6:
		return nil, fmt.Errorf("packet: MAC addresses must be 6 bytes, have %d and %d", len(c.SrcMAC), len(c.DstMAC))
	case c.VLAN > 4094:
		return nil, fmt.Errorf("packet: VLAN ID %d out of range 0..4094", c.VLAN)
	case c.VLANPriority > 7:
		return nil, fmt.Errorf("packet: VLAN priority %d out of range 0..7", c.VLANPriority)
	case c.VLANPriority != 0 && c.VLAN == 0:
		return nil, fmt.Errorf("packet: VLAN priority %d without a VLAN ID", c.VLANPriority)
	case !src.IsValid() || !dst.IsValid():
		return nil, fmt.Errorf("packet: source %v or destination %v has no address", c.Src, c.Dst)
	case src.Is4() != dst.Is4():
		return nil, fmt.Errorf("packet: source %v and destination %v are not both IPv4 or both IPv6", src, dst)
	case c.Dst.Port() == 0:
		return nil, errors.New("packet: destination port 0")
	case c.DSCP > 63:
		return nil, fmt.Errorf("packet: DSCP %d out of range 0..63", c.DSCP)
	case c.PayloadType > 127:
		return nil, fmt.Errorf("packet: RTP payload type %d out of range 0..127", c.PayloadType)
	}
	t := &Template{v6: !src.Is4(), esn: c.RFC4175}
	t.udpSum = t.v6 || c.UDPChecksum
	t.ipOff = EthLen
	if c.VLAN != 0 {
		t.ipOff += VLANLen
	}
	t.udpOff = t.ipOff + IPv4Len
	if t.v6 {
		t.udpOff = t.ipOff + IPv6Len
	}
	t.rtpOff = t.udpOff + UDPLen
	t.n = t.rtpOff + RTPLen
	ls, err := headerLayers(c)
	if err != nil {
		return nil, err
	}
	ls = append(ls, &RTP{Version: RTPVersion, PayloadType: c.PayloadType, SSRC: c.SSRC})
	if t.esn {
		ls = append(ls, gopacket.Payload(make([]byte, ExtSeqLen)))
		t.n += ExtSeqLen
	}
	if err := serializeHeader(t.hdr[:t.n], ls...); err != nil {
		return nil, err
	}
	t.fixed = t.n - t.udpOff
	if t.v6 {
		t.maxPayload = 0xffff - t.fixed
	} else {
		t.maxPayload = 0xffff - IPv4Len - t.fixed
	}

	// Blank the fields Write patches and sum what stays.
	h := t.hdr[:t.n]
	ip := h[t.ipOff:t.udpOff]
	if t.v6 {
		clear(ip[4:6]) // payload length
	} else {
		clear(ip[2:6])   // total length, identification
		clear(ip[10:12]) // header checksum
		// Folded to 16 bits: Write adds the total length and the
		// identification in 32 bits, which a sum kept 32 bits wide (up
		// to 0xffffffff for some addresses, TTL and DSCP) overflows,
		// losing a carry.
		t.ipSum = uint32(fold64(sum64(ip)))
	}
	clear(h[t.udpOff+4 : t.udpOff+8]) // UDP length, checksum
	clear(h[t.rtpOff+2 : t.rtpOff+8]) // RTP sequence, timestamp (the marker is 0)
	clear(h[t.rtpOff+RTPLen : t.n])   // extended sequence number
	if t.udpSum {
		var addrs []byte
		if t.v6 {
			addrs = ip[8:40]
		} else {
			addrs = ip[12:20]
		}
		t.udpConst = sum64(addrs) + uint64(layers.IPProtocolUDP) + sum64(h[t.udpOff:t.n])
	}
	return t, nil
}

// headerLayers returns the Ethernet [802.1Q] IPv4/IPv6 UDP layers of c,
// which the caller has checked: the UDP layer, last, is set up for its
// checksum.
func headerLayers(c *TemplateConfig) ([]gopacket.SerializableLayer, error) {
	src, dst := c.Src.Addr().Unmap(), c.Dst.Addr().Unmap()
	ttl := c.TTL
	if ttl == 0 {
		ttl = 64
	}
	eth := &layers.Ethernet{SrcMAC: c.SrcMAC, DstMAC: c.DstMAC, EthernetType: layers.EthernetTypeIPv4}
	ls := []gopacket.SerializableLayer{eth}
	if src.Is6() {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	if c.VLAN != 0 {
		ls = append(ls, &layers.Dot1Q{Priority: c.VLANPriority, VLANIdentifier: c.VLAN, Type: eth.EthernetType})
		eth.EthernetType = layers.EthernetTypeDot1Q
	}
	var nl gopacket.NetworkLayer
	if src.Is6() {
		ip := &layers.IPv6{Version: 6, TrafficClass: c.DSCP << 2, HopLimit: ttl, NextHeader: layers.IPProtocolUDP,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ls, nl = append(ls, ip), ip
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TOS: c.DSCP << 2, TTL: ttl, Protocol: layers.IPProtocolUDP,
			Flags: layers.IPv4DontFragment, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ls, nl = append(ls, ip), ip
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(c.Src.Port()), DstPort: layers.UDPPort(c.Dst.Port())}
	if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
		return nil, fmt.Errorf("packet: %w", err)
	}
	return append(ls, udp), nil
}

// serializeHeader serializes ls with gopacket (FixLengths,
// ComputeChecksums) into hdr, which the result must fill exactly but for
// the padding gopacket adds up to MinFrame.
func serializeHeader(hdr []byte, ls ...gopacket.SerializableLayer) error {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return fmt.Errorf("packet: serialize header: %w", err)
	}
	if b := buf.Bytes(); copy(hdr, b) != len(hdr) || len(b) > max(len(hdr), MinFrame) {
		return fmt.Errorf("packet: header is %d bytes, want %d", len(b), len(hdr))
	}
	return nil
}

// Len is the number of header bytes Write puts at dst[0:Len()]: Ethernet
// [+VLAN] + IP + UDP + RTP [+ 2 for the RFC 4175 extended sequence number].
func (t *Template) Len() int { return t.n }

// RFC4175 reports whether the header ends with the RFC 4175 extended
// sequence number (TemplateConfig.RFC4175).
func (t *Template) RFC4175() bool { return t.esn }

// MaxPayload is the largest payloadLen Write accepts: what the IPv4 total
// length or the UDP length can still count.
func (t *Template) MaxPayload() int { return t.maxPayload }

// Write writes the header for a frame whose bytes after Len() are
// payloadLen long (for RFC 4175: the SRD headers + sample data, already in
// dst[Len():Len()+payloadLen]), patches everything, and returns the frame
// length Len()+payloadLen. When a UDP checksum is needed it sums the
// payload in place, so the caller writes the payload first. Write does not
// allocate. It panics if payloadLen is not in [0, MaxPayload()], dst is
// shorter than the frame, or t is the zero Template. Frames shorter than
// MinFrame are not padded (a NIC pads them on the wire).
func (t *Template) Write(dst []byte, payloadLen int, f *Fields) int {
	if uint(payloadLen) > uint(t.maxPayload) {
		badPayload(payloadLen, t.maxPayload)
	}
	if t.n == 0 {
		panic("packet: Write on a zero Template: make one with NewTemplate")
	}
	n := t.n + payloadLen
	d := dst[:n]
	if len(dst) < writeRoom {
		return t.writeShort(d, payloadLen, f)
	}
	// The header's fields at offsets below writeRoom (masks that change
	// no offset of a Template but let the compiler drop the bounds checks),
	// in a buffer of at least writeRoom octets.
	h := (*[writeRoom]byte)(dst)
	// The header in three runs of constant length, word by word, where
	// copy(d, t.hdr[:t.n]) calls memmove.
	copyRunWords(h[:], t.hdr[:])
	copyRunWords(h[copyRun/2:], t.hdr[copyRun/2:])
	copyRunWords(h[(t.n-copyRun)&maxOff:], t.hdr[(t.n-copyRun)&maxOff:])
	udpLen := uint32(t.fixed + payloadLen)
	if t.v6 {
		binary.BigEndian.PutUint16(h[(t.ipOff&maxOff)+4:], uint16(udpLen))
	} else {
		ip := h[t.ipOff&maxOff:]
		tot := udpLen + IPv4Len
		binary.BigEndian.PutUint16(ip[2:], uint16(tot))
		binary.BigEndian.PutUint16(ip[4:], f.ID)
		binary.BigEndian.PutUint16(ip[10:], ^fold32(t.ipSum+tot+uint32(f.ID)))
	}
	u := h[t.udpOff&maxOff:]
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen))
	r := h[t.rtpOff&maxOff:]
	var m uint32
	if f.Marker {
		r[1] |= 0x80
		m = 0x80
	}
	seq, ts := uint16(f.Seq), f.Timestamp
	binary.BigEndian.PutUint16(r[2:], seq)
	binary.BigEndian.PutUint32(r[4:], ts)
	var esn uint32
	if t.esn {
		esn = f.Seq >> 16
		binary.BigEndian.PutUint16(r[RTPLen:], uint16(esn))
	}
	if t.udpSum {
		s := t.udpConst + uint64(2*udpLen+m+uint32(seq)+ts>>16+ts&0xffff+esn) + sum64(d[t.n:])
		c := ^fold64(s)
		if c == 0 {
			c = 0xffff // RFC 768: a computed 0 is sent as all ones
		}
		binary.BigEndian.PutUint16(u[6:], c)
	}
	return n
}

// Write's view of a frame: every header offset is at most maxOff, and a
// field at maxOff ends within writeRoom.
const (
	maxOff    = 127
	writeRoom = 2 * (maxOff + 1)
)

var _ [maxOff - maxTemplateLen]struct{} // every offset is below maxOff

// writeShort is Write for a frame d (whole, already sliced) in a buffer
// shorter than writeRoom: it writes the header in a copy of d of
// writeRoom octets and copies it back.
func (t *Template) writeShort(d []byte, payloadLen int, f *Fields) int {
	var b [writeRoom]byte
	copy(b[:], d)
	n := t.Write(b[:], payloadLen, f)
	copy(d, b[:n])
	return n
}

// copyRunWords copies the first copyRun octets of s to d, 8 at a time.
func copyRunWords(d, s []byte) {
	_, _ = d[copyRun-1], s[copyRun-1]
	le := binary.LittleEndian
	le.PutUint64(d, le.Uint64(s))
	le.PutUint64(d[8:], le.Uint64(s[8:]))
	le.PutUint64(d[16:], le.Uint64(s[16:]))
	le.PutUint64(d[24:], le.Uint64(s[24:]))
}

func badPayload(n, limit int) {
	panic(fmt.Sprintf("packet: Template.Write: payload length %d out of range 0..%d", n, limit))
}
