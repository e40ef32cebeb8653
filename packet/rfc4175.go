package packet

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Sizes of the RFC 4175 payload header's parts.
const (
	ExtSeqLen = 2 // extended sequence number
	SRDLen    = 6 // one sample row data header
)

// MaxSRDs was the most SRD headers [RFC4175] decoded from one packet.
//
// Deprecated: RFC 4175 sets no limit, and FFmpeg, GStreamer and
// video.PacketizerConfig.MaxRows fill a packet with short lines, so
// [RFC4175] now decodes as many as the packet holds (6 octets each); its
// work is linear in them and [RFC4175.Data] is constant-time.
const MaxSRDs = 64

// smallSRDs is the most SRD headers for which [RFC4175.Data] sums the
// lengths before it rather than keep each SRD's offset: a few steps, and
// no second slice to allocate for a fresh layer.
const smallSRDs = 8

// MaxLine and MaxOffset bound the 15-bit line number and offset of an SRD
// header.
const (
	MaxLine   = 0x7fff
	MaxOffset = 0x7fff
)

// SRD is one sample row data header of the RFC 4175 payload header
// (RFC 4175 §4.3; ST 2110-20 §6.2): Length octets of samples from line
// Line (of the second field if Field is set) starting at pixel Offset.
// Continuation says that another SRD header follows this one.
type SRD struct {
	Length       uint16 // octets of sample data for this row segment
	Field        bool   // F: second field of an interlaced frame
	Line         uint16 // 15 bits, zero-based, within the field
	Continuation bool   // C: another SRD header follows
	Offset       uint16 // 15 bits, first pixel of the segment
}

// PutSRD writes one 6-byte SRD header into b[0:6]. Line and offset keep
// their low 15 bits. It panics if len(b) < 6 and does not allocate.
func PutSRD(b []byte, length uint16, field bool, line uint16, cont bool, offset uint16) {
	_ = b[SRDLen-1]
	line &= MaxLine
	if field {
		line |= 0x8000
	}
	offset &= MaxOffset
	if cont {
		offset |= 0x8000
	}
	binary.BigEndian.PutUint16(b, length)
	binary.BigEndian.PutUint16(b[2:], line)
	binary.BigEndian.PutUint16(b[4:], offset)
}

// ReadSRD reads one SRD header from b[0:6]. It panics if len(b) < 6 and does
// not allocate.
func ReadSRD(b []byte) SRD {
	_ = b[SRDLen-1]
	l, o := binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint16(b[4:])
	return SRD{
		Length:       binary.BigEndian.Uint16(b),
		Field:        l&0x8000 != 0,
		Line:         l & MaxLine,
		Continuation: o&0x8000 != 0,
		Offset:       o & MaxOffset,
	}
}

// Put writes s into b[0:6] as [PutSRD] does.
func (s SRD) Put(b []byte) { PutSRD(b, s.Length, s.Field, s.Line, s.Continuation, s.Offset) }

// RFC4175 is the RFC 4175 payload header that follows the RTP header of
// uncompressed video: the extended sequence number and one or more SRD
// headers. Contents is the header, Payload the sample data of all rows in
// order (SRD i's data is [RFC4175.Data](i)). It is a gopacket DecodingLayer
// and SerializableLayer.
//
// Decoding aliases the input and, like gopacket's own layers, reuses the
// SRDs slice's backing array: a reused RFC4175 (as in a DecodingLayerParser)
// decodes without allocating once SRDs has grown to the most SRD headers
// seen. An RFC4175 is not safe for concurrent use while it decodes; its
// methods other than DecodeFromBytes and SerializeTo only read it, so a
// decoded layer (as in a gopacket.Packet) may be read by many goroutines.
type RFC4175 struct {
	layers.BaseLayer

	// ExtendedSequenceNumber is the high 16 bits of the 32-bit sequence
	// number whose low 16 bits are the RTP sequence number.
	ExtendedSequenceNumber uint16
	// SRDs are the sample row data headers, in order; all but the last
	// have Continuation set.
	SRDs []SRD

	// offs[i] is where SRD i's data starts in Payload, kept by
	// DecodeFromBytes for more than smallSRDs headers (else empty), so
	// that Data is constant-time for any number of them.
	offs []int
}

// LayerType returns [LayerTypeRFC4175].
func (r *RFC4175) LayerType() gopacket.LayerType { return LayerTypeRFC4175 }

// CanDecode returns [LayerTypeRFC4175].
func (r *RFC4175) CanDecode() gopacket.LayerClass { return LayerTypeRFC4175 }

// NextLayerType returns gopacket.LayerTypePayload: the sample data.
func (r *RFC4175) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// Seq returns the 32-bit extended sequence number of the packet whose RTP
// sequence number is rtpSeq.
func (r *RFC4175) Seq(rtpSeq uint16) uint32 {
	return uint32(r.ExtendedSequenceNumber)<<16 | uint32(rtpSeq)
}

// Data returns the sample data of SRD i: the Payload bytes after those of
// the SRDs before it. It panics if i is out of range. After a successful
// decode every SRD's data lies inside Payload, and Data takes constant
// time however many SRDs there are: past 8 it uses the offsets
// DecodeFromBytes found, so after an SRD's Length is changed by hand (the
// count kept) the others' data may still be where the decode put it.
func (r *RFC4175) Data(i int) []byte {
	var off int
	if len(r.offs) == len(r.SRDs) { // decoded with more than smallSRDs
		off = r.offs[i]
	} else {
		for _, s := range r.SRDs[:i] {
			off += int(s.Length)
		}
	}
	end := off + int(r.SRDs[i].Length)
	return r.Payload[off:end:end]
}

// DecodeFromBytes decodes the payload header at the start of data, the RTP
// payload. It walks the SRD headers until one without the continuation
// bit and checks that each promised header is there and that the SRD
// lengths together fit in the bytes after the headers; bytes beyond them
// stay in Payload. There may be as many headers as data holds, and the
// work is linear in them. It never reads outside data, and does not
// allocate unless it fails or SRDs (or, past 8 headers, the offsets kept
// for [RFC4175.Data]) must grow. A failed decode leaves SRDs, Contents and
// Payload empty (it may have written into SRDs' array).
func (r *RFC4175) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < ExtSeqLen+SRDLen {
		r.clear()
		return truncated(df, errorf(ErrTruncated, "rfc4175: truncated header: %d bytes, need %d", len(data), ExtSeqLen+SRDLen))
	}
	// Count the headers first so that SRDs is sized once.
	n, off := 0, ExtSeqLen
	for {
		n++
		c := data[off+4]&0x80 != 0
		off += SRDLen
		if !c {
			break
		}
		if len(data) < off+SRDLen {
			r.clear()
			return truncated(df, errorf(ErrTruncated,
				"rfc4175: continuation bit set on the last SRD header (row %d at byte %d, %d bytes left)",
				n-1, off-SRDLen, len(data)-off))
		}
	}
	s := r.SRDs[:0]
	if cap(s) < n {
		s = make([]SRD, 0, max(n, 4)) // ST 2110-20 sends 1 to 3
	}
	var o []int
	total, room := 0, len(data)-off
	if n <= smallSRDs { // the usual packet: Data sums the few lengths
		for i := range n { // at most 8 x 65535: total cannot wrap
			d := ReadSRD(data[ExtSeqLen+SRDLen*i:])
			total += int(d.Length)
			s = append(s, d)
		}
	} else {
		if o = r.offs[:0]; cap(o) < n {
			o = make([]int, 0, n)
		}
		for i := range n {
			d := ReadSRD(data[ExtSeqLen+SRDLen*i:])
			o = append(o, total)
			// Stop at the first length past the payload: a sum of
			// them all could wrap a 32-bit int.
			if total += int(d.Length); total > room {
				break
			}
			s = append(s, d)
		}
	}
	if total > room {
		r.clear() // headers and offsets went into SRDs' and offs' arrays
		return truncated(df, errorf(ErrTruncated, "rfc4175: SRD lengths total at least %d bytes, payload has %d after %d SRD headers",
			total, room, n))
	}
	r.ExtendedSequenceNumber = binary.BigEndian.Uint16(data)
	r.SRDs = s
	if n > smallSRDs {
		r.offs = o
	} else {
		r.offs = r.offs[:0] // its length alone: no pointer written
	}
	r.Contents = data[:off:off]
	r.Payload = data[off:]
	return nil
}

// clear empties r after a failed decode, keeping SRDs' and offs' arrays.
func (r *RFC4175) clear() {
	r.SRDs, r.offs = r.SRDs[:0], r.offs[:0]
	r.Contents, r.Payload = nil, nil
}

// SerializeTo prepends the extended sequence number and the SRD headers to
// b. With opts.FixLengths it first sets the continuation bits (on every SRD
// but the last) and, if there is a single SRD, its Length to the length of
// the payload already in b. It refuses an empty SRDs list and lines or
// offsets beyond 15 bits.
func (r *RFC4175) SerializeTo(b gopacket.SerializeBuffer, opts gopacket.SerializeOptions) error {
	if len(r.SRDs) == 0 {
		return errors.New("rfc4175: no SRD headers")
	}
	if opts.FixLengths {
		for i := range r.SRDs {
			r.SRDs[i].Continuation = i < len(r.SRDs)-1
		}
		if len(r.SRDs) == 1 {
			n := len(b.Bytes())
			if n > 0xffff {
				return fmt.Errorf("rfc4175: %d bytes of sample data do not fit one SRD length", n)
			}
			r.SRDs[0].Length = uint16(n)
		}
	}
	for i, s := range r.SRDs {
		if s.Line > MaxLine || s.Offset > MaxOffset {
			return fmt.Errorf("rfc4175: SRD %d: line %d or offset %d does not fit in 15 bits", i, s.Line, s.Offset)
		}
	}
	h, err := b.PrependBytes(ExtSeqLen + SRDLen*len(r.SRDs))
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint16(h, r.ExtendedSequenceNumber)
	for i, s := range r.SRDs {
		s.Put(h[ExtSeqLen+SRDLen*i:])
	}
	return nil
}
