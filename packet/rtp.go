package packet

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

const (
	// RTPLen is the size of the fixed RTP header (RFC 3550 §5.1),
	// without CSRCs or extension.
	RTPLen = 12
	// RTPVersion is the only RTP version [RTP] decodes.
	RTPVersion = 2
	// MaxCSRC is the most contributing sources the 4-bit CC field counts.
	MaxCSRC = 15
)

// Layer numbers of [LayerTypeRTP] and [LayerTypeRFC4175], in the range
// 1000-1999 that gopacket leaves to users. gopacket.RegisterLayerType
// panics on a number registered twice; change them here if another
// package in the same program took them.
const (
	layerNumRTP     = 1350
	layerNumRFC4175 = 1351
)

// Layer types registered with gopacket. Their decoders (for
// gopacket.NewPacket and gopacket.NewPacketSource) decode the payload of an
// RTP layer as gopacket.LayerTypePayload; use [DecodeRTPRFC4175] as the
// decoder of a UDP payload that is known to carry RFC 4175 video, or a
// DecodingLayerParser with [RTP.NextType] set.
var (
	LayerTypeRTP = gopacket.RegisterLayerType(layerNumRTP, gopacket.LayerTypeMetadata{
		Name: "RTP", Decoder: gopacket.DecodeFunc(decodeRTP)})
	LayerTypeRFC4175 = gopacket.RegisterLayerType(layerNumRFC4175, gopacket.LayerTypeMetadata{
		Name: "RFC4175", Decoder: gopacket.DecodeFunc(decodeRFC4175)})
)

// DecodeRTPRFC4175 decodes RTP followed by an RFC 4175 payload header and
// then the sample data as gopacket.LayerTypePayload:
//
//	p := gopacket.NewPacket(udp.Payload, packet.DecodeRTPRFC4175, gopacket.Default)
var DecodeRTPRFC4175 gopacket.Decoder = gopacket.DecodeFunc(decodeRTPRFC4175)

// RTP is the RTP fixed header with its CSRC list and header extension
// (RFC 3550 §5.1, §5.3.1). It is a gopacket DecodingLayer and
// SerializableLayer.
//
// Decoding aliases the input (ExtensionData, Contents and Payload point
// into the decoded bytes) and, like gopacket's own layers, reuses the
// CSRC slice's backing array. It does not allocate, except the first time
// an RTP value meets a CSRC list longer than any before. An RTP is not
// safe for concurrent use.
type RTP struct {
	// Contents is the header (fixed part, CSRCs, extension); Payload the
	// bytes after it, without the padding.
	layers.BaseLayer

	Version        uint8 // 2
	Padding        bool  // P: PaddingLength octets of padding end the packet
	Extension      bool  // X: a header extension follows the CSRCs
	Marker         bool  // M: in ST 2110-20, the last packet of a frame or field
	PayloadType    uint8 // 7 bits; 96..127 are the dynamic types ST 2110 uses
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	CSRC           []uint32 // at most MaxCSRC

	// ExtensionProfile and ExtensionData are the header extension when
	// Extension is set: the 16-bit profile-defined field and the data,
	// a multiple of 4 bytes.
	ExtensionProfile uint16
	ExtensionData    []byte

	// PaddingLength is the number of padding octets, counting the final
	// octet that holds it (1..255), when Padding is set.
	PaddingLength uint8

	// NextType is what NextLayerType reports for the payload, for use
	// in a DecodingLayerParser chain. The RTP payload type is assigned
	// dynamically (by SDP), so the layer cannot tell RFC 4175 video from
	// other payloads: set NextType to [LayerTypeRFC4175] for a stream
	// known to carry video. Decoding leaves it alone; the zero value
	// means gopacket.LayerTypePayload.
	NextType gopacket.LayerType
}

// LayerType returns [LayerTypeRTP].
func (r *RTP) LayerType() gopacket.LayerType { return LayerTypeRTP }

// CanDecode returns [LayerTypeRTP].
func (r *RTP) CanDecode() gopacket.LayerClass { return LayerTypeRTP }

// NextLayerType returns [RTP.NextType], or gopacket.LayerTypePayload if it
// is zero.
func (r *RTP) NextLayerType() gopacket.LayerType {
	if r.NextType == gopacket.LayerTypeZero {
		return gopacket.LayerTypePayload
	}
	return r.NextType
}

// DecodeFromBytes decodes the RTP header at the start of data, which must
// be the whole UDP payload (padding is found from the last byte). It
// checks the version, that the CSRC list, the extension and the padding
// fit, and never reads outside data. It does not allocate unless it fails
// or CSRC must grow.
func (r *RTP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < RTPLen {
		return truncated(df, errorf(ErrTruncated, "rtp: truncated header: %d bytes, need %d", len(data), RTPLen))
	}
	b0, b1 := data[0], data[1]
	if v := b0 >> 6; v != RTPVersion {
		return errorf(ErrMalformed, "rtp: version %d, want %d", v, RTPVersion)
	}
	cc := int(b0 & 0x0f)
	n := RTPLen + 4*cc
	if len(data) < n {
		return truncated(df, errorf(ErrTruncated, "rtp: truncated header: %d bytes, need %d for %d CSRCs", len(data), n, cc))
	}
	r.Version = RTPVersion
	r.Padding = b0&0x20 != 0
	r.Extension = b0&0x10 != 0
	r.Marker = b1&0x80 != 0
	r.PayloadType = b1 & 0x7f
	r.SequenceNumber = binary.BigEndian.Uint16(data[2:])
	r.Timestamp = binary.BigEndian.Uint32(data[4:])
	r.SSRC = binary.BigEndian.Uint32(data[8:])
	r.CSRC = r.CSRC[:0]
	for i := range cc {
		r.CSRC = append(r.CSRC, binary.BigEndian.Uint32(data[RTPLen+4*i:]))
	}
	r.ExtensionProfile, r.ExtensionData = 0, nil
	if r.Extension {
		if len(data) < n+4 {
			return truncated(df, errorf(ErrTruncated, "rtp: truncated header extension: %d bytes, need %d", len(data), n+4))
		}
		r.ExtensionProfile = binary.BigEndian.Uint16(data[n:])
		el := 4 * int(binary.BigEndian.Uint16(data[n+2:]))
		if len(data) < n+4+el {
			return truncated(df, errorf(ErrTruncated, "rtp: truncated header extension: %d bytes, need %d for %d extension words",
				len(data), n+4+el, el/4))
		}
		r.ExtensionData = data[n+4 : n+4+el : n+4+el]
		n += 4 + el
	}
	end := len(data)
	r.PaddingLength = 0
	if r.Padding {
		pad := int(data[end-1])
		if pad == 0 || pad > end-n {
			return errorf(ErrMalformed, "rtp: padding count %d with %d bytes after the %d-byte header", pad, end-n, n)
		}
		r.PaddingLength = uint8(pad)
		end -= pad
	}
	r.Contents = data[:n:n]
	r.Payload = data[n:end:end]
	return nil
}

// truncated marks the packet truncated in df (when it is not nil) and
// returns err.
func truncated(df gopacket.DecodeFeedback, err error) error {
	if df != nil {
		df.SetTruncated()
	}
	return err
}

// SerializeTo prepends the RTP header to b and, when Padding is set,
// appends PaddingLength octets of padding (zeros and the count). Version
// is written as given (set it to 2). The CC field is len(CSRC); the
// extension length is len(ExtensionData)/4. No option changes the output:
// RTP has no length or checksum field.
func (r *RTP) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	switch {
	case r.Version > 3:
		return fmt.Errorf("rtp: version %d does not fit in 2 bits", r.Version)
	case r.PayloadType > 0x7f:
		return fmt.Errorf("rtp: payload type %d does not fit in 7 bits", r.PayloadType)
	case len(r.CSRC) > MaxCSRC:
		return fmt.Errorf("rtp: %d CSRCs, at most %d", len(r.CSRC), MaxCSRC)
	case r.Extension && (len(r.ExtensionData)%4 != 0 || len(r.ExtensionData) > 4*0xffff):
		return fmt.Errorf("rtp: extension data of %d bytes is not a multiple of 4 below %d", len(r.ExtensionData), 4*0x10000)
	case r.Padding && r.PaddingLength == 0:
		return errors.New("rtp: padding set with a padding length of 0")
	}
	n := RTPLen + 4*len(r.CSRC)
	if r.Extension {
		n += 4 + len(r.ExtensionData)
	}
	h, err := b.PrependBytes(n)
	if err != nil {
		return err
	}
	b0 := r.Version<<6 | uint8(len(r.CSRC))
	if r.Padding {
		b0 |= 0x20
	}
	if r.Extension {
		b0 |= 0x10
	}
	b1 := r.PayloadType
	if r.Marker {
		b1 |= 0x80
	}
	h[0], h[1] = b0, b1
	binary.BigEndian.PutUint16(h[2:], r.SequenceNumber)
	binary.BigEndian.PutUint32(h[4:], r.Timestamp)
	binary.BigEndian.PutUint32(h[8:], r.SSRC)
	for i, c := range r.CSRC {
		binary.BigEndian.PutUint32(h[RTPLen+4*i:], c)
	}
	if r.Extension {
		x := h[RTPLen+4*len(r.CSRC):]
		binary.BigEndian.PutUint16(x, r.ExtensionProfile)
		binary.BigEndian.PutUint16(x[2:], uint16(len(r.ExtensionData)/4))
		copy(x[4:], r.ExtensionData)
	}
	if r.Padding {
		p, err := b.AppendBytes(int(r.PaddingLength))
		if err != nil {
			return err
		}
		clear(p)
		p[len(p)-1] = r.PaddingLength
	}
	return nil
}

func decodeRTP(data []byte, p gopacket.PacketBuilder) error {
	return decodeLayer(new(RTP), gopacket.LayerTypePayload, data, p)
}

func decodeRTPRFC4175(data []byte, p gopacket.PacketBuilder) error {
	return decodeLayer(new(RTP), LayerTypeRFC4175, data, p)
}

func decodeRFC4175(data []byte, p gopacket.PacketBuilder) error {
	return decodeLayer(new(RFC4175), gopacket.LayerTypePayload, data, p)
}

// decodeLayer is the gopacket.Decoder body of l: decode data into l, add it
// to p and hand the rest to the decoder of next.
func decodeLayer(l interface {
	gopacket.Layer
	gopacket.DecodingLayer
}, next gopacket.LayerType, data []byte, p gopacket.PacketBuilder) error {
	if err := l.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(l)
	return p.NextDecoder(next)
}

// UDP is layers.UDP for a DecodingLayerParser chain that goes on to RTP:
// its NextLayerType is [LayerTypeRTP], so Ethernet, 802.1Q, IPv4 or IPv6,
// UDP, RTP and RFC 4175 decode in one DecodeLayers call without touching
// gopacket's global port map (layers.RegisterUDPPortLayerType). Use it in
// place of layers.UDP; it decodes and serializes exactly like it.
type UDP struct {
	layers.UDP
	// RTPPort, if not 0, limits RTP to datagrams sent to this port;
	// others get what layers.UDP reports (usually
	// gopacket.LayerTypePayload).
	RTPPort uint16
}

// NextLayerType returns [LayerTypeRTP] (for datagrams to RTPPort, if set).
func (u *UDP) NextLayerType() gopacket.LayerType {
	if u.RTPPort != 0 && uint16(u.DstPort) != u.RTPPort {
		return u.UDP.NextLayerType()
	}
	return LayerTypeRTP
}
