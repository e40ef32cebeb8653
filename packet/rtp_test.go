package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRTPGolden decodes hand-assembled headers bit by bit.
func TestRTPGolden(t *testing.T) {
	// V=2 P=0 X=0 CC=0 | M=1 PT=96 | seq 0xfa9f | ts 0x2d0f8a13 | SSRC 0,
	// then the payload: an RFC 4175 header with ESN 0x5658, SRD length
	// 1200, F=1 line 539, C=0 offset 1440, and 4 bytes of samples.
	pkt := unhex(t, "80e0fa9f 2d0f8a13 00000000 5658 04b0 821b 05a0 01020304")
	var r RTP
	if err := r.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	want := RTP{Version: 2, Marker: true, PayloadType: 96, SequenceNumber: 0xfa9f, Timestamp: 0x2d0f8a13}
	if r.Version != want.Version || r.Padding || r.Extension || !r.Marker || r.PayloadType != 96 ||
		r.SequenceNumber != want.SequenceNumber || r.Timestamp != want.Timestamp || r.SSRC != 0 || len(r.CSRC) != 0 {
		t.Errorf("decoded %+v", r)
	}
	if !bytes.Equal(r.Contents, pkt[:12]) || !bytes.Equal(r.Payload, pkt[12:]) {
		t.Errorf("contents % x payload % x", r.Contents, r.Payload)
	}
	var h RFC4175
	if err := h.DecodeFromBytes(r.Payload, gopacket.NilDecodeFeedback); err == nil {
		t.Fatal("SRD length 1200 with 4 bytes of data accepted")
	}
	// The same header with SRD length 4.
	pkt = unhex(t, "80e0fa9f 2d0f8a13 00000000 5658 0004 821b 05a0 01020304")
	if err := r.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if err := h.DecodeFromBytes(r.Payload, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if h.ExtendedSequenceNumber != 0x5658 || h.Seq(r.SequenceNumber) != 0x5658fa9f ||
		!reflect.DeepEqual(h.SRDs, []SRD{{Length: 4, Field: true, Line: 539, Offset: 1440}}) ||
		!bytes.Equal(h.Data(0), []byte{1, 2, 3, 4}) {
		t.Errorf("decoded %+v", h)
	}

	// V=2 P=1 X=1 CC=2 | M=0 PT=127 | seq 1 | ts 2 | SSRC 3 | CSRC 4, 5 |
	// extension profile 0xbede, 1 word | payload "ab" | 3 bytes padding.
	pkt = unhex(t, "b27f0001 00000002 00000003 00000004 00000005 bede0001 11223344 6162 000003")
	if err := r.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	if !r.Padding || !r.Extension || r.Marker || r.PayloadType != 127 || r.SequenceNumber != 1 || r.Timestamp != 2 ||
		r.SSRC != 3 || !reflect.DeepEqual(r.CSRC, []uint32{4, 5}) || r.ExtensionProfile != 0xbede ||
		!bytes.Equal(r.ExtensionData, []byte{0x11, 0x22, 0x33, 0x44}) || r.PaddingLength != 3 ||
		string(r.Payload) != "ab" || len(r.Contents) != 28 {
		t.Errorf("decoded %+v", r)
	}
	// Serializing it gives the same bytes back.
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{}, &r, gopacket.Payload(r.Payload)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sb.Bytes(), pkt) {
		t.Errorf("serialized\n% x\nwant\n% x", sb.Bytes(), pkt)
	}
}

func TestSRDBits(t *testing.T) {
	b := make([]byte, SRDLen)
	PutSRD(b, 1200, true, 539, true, 1440)
	if want := unhex(t, "04b0 821b 85a0"); !bytes.Equal(b, want) {
		t.Errorf("PutSRD % x, want % x", b, want)
	}
	if s := ReadSRD(b); s != (SRD{Length: 1200, Field: true, Line: 539, Continuation: true, Offset: 1440}) {
		t.Errorf("ReadSRD %+v", s)
	}
	// Out-of-range line and offset keep 15 bits and leave F and C alone.
	PutSRD(b, 0xffff, false, 0xffff, false, 0x8001)
	if s := ReadSRD(b); s != (SRD{Length: 0xffff, Line: MaxLine, Offset: 1}) {
		t.Errorf("masked %+v", s)
	}
	if n := testing.AllocsPerRun(100, func() { PutSRD(b, 1, true, 2, false, 3); _ = ReadSRD(b) }); n != 0 {
		t.Errorf("PutSRD/ReadSRD allocate %v times", n)
	}
}

// TestRTPRoundTrip serializes RTP and RFC 4175 layers and decodes them
// back.
func TestRTPRoundTrip(t *testing.T) {
	for _, in := range []RTP{
		{Version: 2, PayloadType: 96},
		{Version: 2, Marker: true, PayloadType: 0x7f, SequenceNumber: 0xffff, Timestamp: 0xffffffff, SSRC: 0x80000001},
		{Version: 2, CSRC: []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xffffffff}},
		{Version: 2, Extension: true, ExtensionProfile: 0x1000, ExtensionData: []byte{}},
		{Version: 2, Extension: true, ExtensionProfile: 0xbede, ExtensionData: bytes.Repeat([]byte{9}, 64),
			Padding: true, PaddingLength: 255, CSRC: []uint32{7}},
	} {
		srds := []SRD{{Length: 10, Line: 1, Offset: 2}, {Length: 20, Field: true, Line: 3}, {Length: 0, Line: 5, Offset: MaxOffset},
			{Length: 1, Line: MaxLine}, {Length: 2, Line: 6}, {Length: 3, Line: 7}}
		data := bytes.Repeat([]byte{0xee}, 36)
		h := RFC4175{ExtendedSequenceNumber: 0xabcd, SRDs: srds}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true}, &in, &h, gopacket.Payload(data)); err != nil {
			t.Fatal(err)
		}
		var out RTP
		out.NextType = LayerTypeRFC4175
		if err := out.DecodeFromBytes(sb.Bytes(), gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		if out.Version != 2 || out.Marker != in.Marker || out.PayloadType != in.PayloadType || out.SequenceNumber != in.SequenceNumber ||
			out.Timestamp != in.Timestamp || out.SSRC != in.SSRC || len(out.CSRC) != len(in.CSRC) ||
			out.Extension != in.Extension || out.ExtensionProfile != in.ExtensionProfile ||
			!bytes.Equal(out.ExtensionData, in.ExtensionData) || out.Padding != in.Padding || out.PaddingLength != in.PaddingLength {
			t.Errorf("round trip\n in %+v\nout %+v", in, out)
		}
		for i := range in.CSRC {
			if out.CSRC[i] != in.CSRC[i] {
				t.Errorf("CSRC %d: %d, want %d", i, out.CSRC[i], in.CSRC[i])
			}
		}
		var oh RFC4175
		if err := oh.DecodeFromBytes(out.Payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		if oh.ExtendedSequenceNumber != 0xabcd || !reflect.DeepEqual(oh.SRDs, srds) || !bytes.Equal(oh.Payload, data) {
			t.Errorf("RFC 4175 round trip %+v", oh)
		}
		for i, s := range srds {
			if len(oh.Data(i)) != int(s.Length) {
				t.Errorf("Data(%d) has %d bytes, want %d", i, len(oh.Data(i)), s.Length)
			}
		}
		for i, s := range oh.SRDs {
			if s.Continuation != (i < len(srds)-1) {
				t.Errorf("SRD %d continuation %v", i, s.Continuation)
			}
		}
	}
}

func TestRTPSerializeErrors(t *testing.T) {
	for _, r := range []RTP{
		{Version: 4},
		{Version: 2, PayloadType: 128},
		{Version: 2, CSRC: make([]uint32, 16)},
		{Version: 2, Extension: true, ExtensionData: []byte{1, 2, 3}},
		{Version: 2, Padding: true},
	} {
		if err := r.SerializeTo(gopacket.NewSerializeBuffer(), gopacket.SerializeOptions{}); err == nil || !strings.HasPrefix(err.Error(), "rtp: ") {
			t.Errorf("%+v: err %v", r, err)
		}
	}
	for _, h := range []RFC4175{
		{},
		{SRDs: []SRD{{Line: MaxLine + 1}}},
		{SRDs: []SRD{{Offset: MaxOffset + 1}}},
	} {
		if err := h.SerializeTo(gopacket.NewSerializeBuffer(), gopacket.SerializeOptions{}); err == nil || !strings.HasPrefix(err.Error(), "rfc4175: ") {
			t.Errorf("%+v: err %v", h, err)
		}
	}
}

// TestDecodeErrors feeds malformed headers to both layers: each gives the
// named error, matching its sentinel, and none panics.
func TestDecodeErrors(t *testing.T) {
	rtp := func(s string) []byte { return unhex(t, s) }
	for _, tc := range []struct {
		name string
		in   []byte
		rfc  bool
		want error
		msg  string
	}{
		{"rtp empty", nil, false, ErrTruncated, "rtp: truncated header: 0 bytes, need 12"},
		{"rtp 7 bytes", rtp("80600001000000"), false, ErrTruncated, "rtp: truncated header: 7 bytes, need 12"},
		{"rtp version 1", rtp("40600001 00000000 00000000"), false, ErrMalformed, "rtp: version 1, want 2"},
		{"rtp version 0", rtp("00600001 00000000 00000000"), false, ErrMalformed, "rtp: version 0"},
		{"rtp CSRCs", rtp("83600001 00000000 00000000 00000001 00000002"), false, ErrTruncated, "need 24 for 3 CSRCs"},
		{"rtp extension header", rtp("90600001 00000000 00000000 bede"), false, ErrTruncated, "truncated header extension: 14 bytes, need 16"},
		{"rtp extension data", rtp("90600001 00000000 00000000 bede0002 00000000"), false, ErrTruncated, "need 24 for 2 extension words"},
		{"rtp padding 0", rtp("a0600001 00000000 00000000 0000"), false, ErrMalformed, "padding count 0"},
		{"rtp padding past payload", rtp("a0600001 00000000 00000000 0004"), false, ErrMalformed, "padding count 4 with 2 bytes"},
		{"rtp padding no payload", rtp("a0600001 00000000 00000001"), false, ErrMalformed, "padding count 1 with 0 bytes"},
		{"rfc4175 empty", nil, true, ErrTruncated, "rfc4175: truncated header: 0 bytes, need 8"},
		{"rfc4175 7 bytes", rtp("0000 0000 0000 00"), true, ErrTruncated, "rfc4175: truncated header: 7 bytes, need 8"},
		{"rfc4175 continuation on last", rtp("0000 0000 0001 8000"), true, ErrTruncated,
			"rfc4175: continuation bit set on the last SRD header (row 0 at byte 2, 0 bytes left)"},
		{"rfc4175 continuation, partial next", rtp("0000 0000 0001 8000 0000 0002 80"), true, ErrTruncated,
			"continuation bit set on the last SRD header (row 0 at byte 2, 5 bytes left)"},
		{"rfc4175 continuation on second", rtp("0000 0000 0001 8000 0000 0002 8000 00"), true, ErrTruncated,
			"continuation bit set on the last SRD header (row 1 at byte 8, 1 bytes left)"},
		{"rfc4175 length past payload", rtp("0000 0005 0001 0000 01020304"), true, ErrTruncated,
			"rfc4175: SRD lengths total at least 5 bytes, payload has 4 after 1 SRD headers"},
		{"rfc4175 lengths past payload", rtp("0000 0002 0001 8000 0003 0002 0000 01020304"), true, ErrTruncated,
			"SRD lengths total at least 5 bytes, payload has 4 after 2 SRD headers"},
		{"rfc4175 length overflow", rtp("0000 ffff 0001 8000 ffff 0002 0000"), true, ErrTruncated, "total at least 131070 bytes"},
	} {
		var err error
		var df truncFeedback
		if tc.rfc {
			var h RFC4175
			err = h.DecodeFromBytes(tc.in, &df)
		} else {
			var r RTP
			err = r.DecodeFromBytes(tc.in, &df)
		}
		if err == nil || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err %v, want %v containing %q", tc.name, err, tc.want, tc.msg)
		}
		if bool(df) != (tc.want == ErrTruncated) {
			t.Errorf("%s: SetTruncated called: %v", tc.name, bool(df))
		}
	}
}

type truncFeedback bool

func (t *truncFeedback) SetTruncated() { *t = true }

// rtpFrame builds an Ethernet frame carrying RTP and RFC 4175 with 2 SRDs.
func rtpFrame(t testing.TB, c *TemplateConfig) []byte {
	tpl := mustTemplate(t, c)
	buf := make([]byte, 2048)
	p := buf[tpl.Len():]
	PutSRD(p, 480, false, 10, true, 1440)
	PutSRD(p[SRDLen:], 720, false, 11, false, 0)
	for i := range 1200 {
		p[2*SRDLen+i] = byte(i)
	}
	return buf[:tpl.Write(buf, 2*SRDLen+1200, &Fields{Seq: 0x0001ffff, Timestamp: 1234567, Marker: true, ID: 1})]
}

// chain is a DecodingLayerParser over Ethernet, 802.1Q, IPv4, IPv6, UDP,
// RTP, RFC 4175 and the payload, with the layers it decodes into.
type chain struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	udp     UDP
	rtp     RTP
	vid     RFC4175
	payload gopacket.Payload
	parser  *gopacket.DecodingLayerParser
}

func newChain() *chain {
	c := &chain{rtp: RTP{NextType: LayerTypeRFC4175}}
	c.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet,
		&c.eth, &c.dot1q, &c.ip4, &c.ip6, &c.udp, &c.rtp, &c.vid, &c.payload)
	return c
}

// TestDecodingLayerParserChain decodes Ethernet, 802.1Q, IPv4 or IPv6, UDP,
// RTP, RFC 4175 and the payload in one DecodeLayers, without allocating.
func TestDecodingLayerParserChain(t *testing.T) {
	ch := newChain()
	parser, udp, rtp, vid := ch.parser, &ch.udp, &ch.rtp, &ch.vid
	decoded := make([]gopacket.LayerType, 0, 8)
	for _, tc := range tplCases {
		if !tc.c.RFC4175 {
			continue
		}
		c := tc.c
		fr := rtpFrame(t, &c)
		if err := parser.DecodeLayers(fr, &decoded); err != nil {
			t.Fatalf("%s: %v (decoded %v)", tc.name, err, decoded)
		}
		want := []gopacket.LayerType{layers.LayerTypeEthernet}
		if c.VLAN != 0 {
			want = append(want, layers.LayerTypeDot1Q)
		}
		if c.Src.Addr().Unmap().Is4() {
			want = append(want, layers.LayerTypeIPv4)
		} else {
			want = append(want, layers.LayerTypeIPv6)
		}
		want = append(want, layers.LayerTypeUDP, LayerTypeRTP, LayerTypeRFC4175, gopacket.LayerTypePayload)
		if !reflect.DeepEqual(decoded, want) {
			t.Errorf("%s: decoded %v, want %v", tc.name, decoded, want)
		}
		if rtp.SequenceNumber != 0xffff || vid.Seq(rtp.SequenceNumber) != 0x0001ffff || !rtp.Marker || rtp.SSRC != c.SSRC ||
			len(vid.SRDs) != 2 || vid.SRDs[0].Offset != 1440 || len(vid.Data(1)) != 720 || vid.Data(1)[0] != 480%256 ||
			len(ch.payload) != 1200 {
			t.Errorf("%s: rtp %+v rfc4175 %+v", tc.name, *rtp, *vid)
		}
		if n := testing.AllocsPerRun(200, func() { _ = parser.DecodeLayers(fr, &decoded) }); n != 0 {
			t.Errorf("%s: DecodeLayers allocates %v times", tc.name, n)
		}
	}

	// RTPPort limits RTP to one destination port.
	udp.RTPPort = 9
	c := tplCases[1].c
	if err := parser.DecodeLayers(rtpFrame(t, &c), &decoded); err != nil || decoded[len(decoded)-1] != gopacket.LayerTypePayload || len(decoded) != 4 {
		t.Errorf("other port: %v, decoded %v", err, decoded)
	}
}

// TestDecodeFromUDPPayload is the other way: stop at layers.UDP, then
// decode its payload with a second parser that starts at RTP.
func TestDecodeFromUDPPayload(t *testing.T) {
	var (
		eth layers.Ethernet
		ip4 layers.IPv4
		udp layers.UDP
		rtp = RTP{NextType: LayerTypeRFC4175}
		vid RFC4175
	)
	outer := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &udp)
	outer.IgnoreUnsupported = true
	inner := gopacket.NewDecodingLayerParser(LayerTypeRTP, &rtp, &vid)
	inner.IgnoreUnsupported = true
	var decoded []gopacket.LayerType
	c := tplCases[1].c
	fr := rtpFrame(t, &c)
	if err := outer.DecodeLayers(fr, &decoded); err != nil || decoded[len(decoded)-1] != layers.LayerTypeUDP {
		t.Fatalf("outer: %v %v", err, decoded)
	}
	if err := inner.DecodeLayers(udp.Payload, &decoded); err != nil || len(decoded) != 2 {
		t.Fatalf("inner: %v %v", err, decoded)
	}
	if vid.Seq(rtp.SequenceNumber) != 0x0001ffff {
		t.Errorf("seq %#x", vid.Seq(rtp.SequenceNumber))
	}
	// gopacket's global port map was not touched.
	if lt := layers.UDPPort(c.Dst.Port()).LayerType(); lt != gopacket.LayerTypePayload {
		t.Errorf("UDP port %d maps to %v", c.Dst.Port(), lt)
	}
}

// TestNewPacket decodes through the registered decoders.
func TestNewPacket(t *testing.T) {
	c := tplCases[2].c
	fr := rtpFrame(t, &c)
	p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
	udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	for _, tc := range []struct {
		dec  gopacket.Decoder
		want []gopacket.LayerType
	}{
		{LayerTypeRTP, []gopacket.LayerType{LayerTypeRTP, gopacket.LayerTypePayload}},
		{DecodeRTPRFC4175, []gopacket.LayerType{LayerTypeRTP, LayerTypeRFC4175, gopacket.LayerTypePayload}},
	} {
		q := gopacket.NewPacket(udp.Payload, tc.dec, gopacket.Default)
		if el := q.ErrorLayer(); el != nil {
			t.Fatal(el.Error())
		}
		var got []gopacket.LayerType
		for _, l := range q.Layers() {
			got = append(got, l.LayerType())
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("layers %v, want %v", got, tc.want)
		}
	}
	if LayerTypeRTP.String() != "RTP" || LayerTypeRFC4175.String() != "RFC4175" ||
		int(LayerTypeRTP) < 1000 || int(LayerTypeRFC4175) > 1999 {
		t.Errorf("layer types %d %v, %d %v", LayerTypeRTP, LayerTypeRTP, LayerTypeRFC4175, LayerTypeRFC4175)
	}
	// A malformed RTP payload becomes an error layer, not a panic.
	q := gopacket.NewPacket([]byte{0x80, 0x60}, DecodeRTPRFC4175, gopacket.Default)
	if el := q.ErrorLayer(); el == nil || !errors.Is(el.Error(), ErrTruncated) {
		t.Errorf("error layer %v", el)
	}
}

// TestRFC4175ManySRDs decodes more SRD headers than are stored inline and
// checks Data for each.
func TestRFC4175ManySRDs(t *testing.T) {
	const k = 9
	b := make([]byte, ExtSeqLen+k*SRDLen+k*(k+1)/2)
	for i := range k {
		PutSRD(b[ExtSeqLen+SRDLen*i:], uint16(i+1), i%2 == 1, uint16(i), i < k-1, uint16(100*i))
	}
	data := b[ExtSeqLen+k*SRDLen:]
	for i := range data {
		data[i] = byte(i)
	}
	var h RFC4175
	for range 2 { // the second decode reuses the slice
		if err := h.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		if len(h.SRDs) != k {
			t.Fatalf("%d SRDs", len(h.SRDs))
		}
		off := 0
		for i, s := range h.SRDs {
			if s.Line != uint16(i) || s.Offset != uint16(100*i) || s.Field != (i%2 == 1) || !bytes.Equal(h.Data(i), data[off:off+i+1]) {
				t.Errorf("SRD %d: %+v data % x", i, s, h.Data(i))
			}
			off += i + 1
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = h.DecodeFromBytes(b, gopacket.NilDecodeFeedback) }); n != 0 {
		t.Errorf("decoding %d SRDs again allocates %v times", k, n)
	}
	// As many headers as the packet holds decode (RFC 4175 sets no
	// limit), at a cost linear in them (the decode's two walks are
	// bounded by their loops): a payload of nothing but SRD headers. A
	// chain that never ends is refused.
	for _, n := range []int{9, 64, 65, 240, 10000} {
		b := make([]byte, ExtSeqLen+n*SRDLen)
		for i := range n {
			PutSRD(b[ExtSeqLen+SRDLen*i:], 0, false, uint16(i), i < n-1, 0)
		}
		var h RFC4175
		if err := h.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil || len(h.SRDs) != n {
			t.Fatalf("%d SRD headers: %v (%d decoded)", n, err, len(h.SRDs))
		}
		for i := range h.SRDs {
			if len(h.Data(i)) != 0 {
				t.Fatalf("%d SRD headers: Data(%d) of %d octets", n, i, len(h.Data(i)))
			}
		}
		b[len(b)-2] |= 0x80 // the last header's continuation bit: the chain runs off the end
		if err := h.DecodeFromBytes(b, gopacket.NilDecodeFeedback); !errors.Is(err, ErrTruncated) {
			t.Errorf("endless chain of %d: %v", n, err)
		}
	}
	// Past 8 headers Data takes constant time: it reads the offset the
	// decode kept and sums no lengths. Seen from outside: SRD 0's Length
	// changed by hand (the count kept) moves no other SRD's data, where a
	// sum of the lengths before i would move each by one octet.
	for _, n := range []int{9, 64, 10000} {
		b := make([]byte, ExtSeqLen+n*SRDLen+n+1)
		for i := range n {
			PutSRD(b[ExtSeqLen+SRDLen*i:], 1, false, uint16(i), i < n-1, 0)
		}
		data := b[ExtSeqLen+n*SRDLen:]
		for i := range data {
			data[i] = byte(i)
		}
		var h RFC4175
		if err := h.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil || len(h.SRDs) != n {
			t.Fatalf("%d SRD headers: %v (%d decoded)", n, err, len(h.SRDs))
		}
		h.SRDs[0].Length = 2
		for i := 1; i < n; i++ {
			if d := h.Data(i); len(d) != 1 || &d[0] != &data[i] {
				t.Fatalf("%d SRDs, SRD 0's length changed to 2: Data(%d) % x, want the octet at %d (%#x)", n, i, d, i, data[i])
			}
		}
	}
	// 40000 headers of 65535 octets each announce 2.6*10^9 octets: refused,
	// not wrapped past 2^31 by a 32-bit int's sum (GOARCH=386).
	{
		const n = 40000
		b := make([]byte, ExtSeqLen+n*SRDLen)
		for i := range n {
			PutSRD(b[ExtSeqLen+SRDLen*i:], 0xffff, false, uint16(i), i < n-1, 0)
		}
		var h RFC4175
		if err := h.DecodeFromBytes(b, gopacket.NilDecodeFeedback); !errors.Is(err, ErrTruncated) {
			t.Errorf("%d SRDs of 65535 octets in a packet of %d: %v", n, len(b), err)
		}
	}
	// Back to one SRD.
	one := unhex(t, "0001 0002 0003 0004 aabb")
	if err := h.DecodeFromBytes(one, gopacket.NilDecodeFeedback); err != nil || len(h.SRDs) != 1 || len(h.Payload) != 2 {
		t.Errorf("%v %+v", err, h)
	}
}

// TestDecodeAllocs: reused layers decode a packet with CSRCs and 3 SRDs
// without allocating, and a fresh RTP without CSRCs does not allocate
// either.
func TestDecodeAllocs(t *testing.T) {
	pkt := unhex(t, "8260ffff 00000001 00000002 00000003 00000004 0001 0001 0001 8000 0001 0002 8000 0001 0003 0000 aabbcc")
	var r RTP
	var h RFC4175
	if n := testing.AllocsPerRun(200, func() {
		if r.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback) != nil || h.DecodeFromBytes(r.Payload, gopacket.NilDecodeFeedback) != nil ||
			len(h.SRDs) != 3 || len(r.CSRC) != 2 {
			panic("decode failed")
		}
	}); n != 0 {
		t.Errorf("decode allocates %v times", n)
	}
	plain := unhex(t, "8060ffff 00000001 00000002 aabbcc")
	if n := testing.AllocsPerRun(200, func() {
		var r RTP
		if r.DecodeFromBytes(plain, gopacket.NilDecodeFeedback) != nil || len(r.Payload) != 3 {
			panic("decode failed")
		}
	}); n != 0 {
		t.Errorf("decoding into a fresh RTP allocates %v times", n)
	}
}

// TestRFC4175ConcurrentData reads one decoded packet's RFC4175 layer from
// two goroutines: gopacket documents a non-lazy Packet as safe for
// concurrent reads, so Data must write nothing (go test -race).
func TestRFC4175ConcurrentData(t *testing.T) {
	for _, k := range []int{3, 9} { // Data's sum and its kept offsets
		b := make([]byte, 12+ExtSeqLen+k*SRDLen+k)
		b[0], b[1] = 0x80, 96 // RTP version 2, payload type 96
		for i := range k {
			PutSRD(b[12+ExtSeqLen+SRDLen*i:], 1, false, uint16(i), i < k-1, 0)
		}
		p := gopacket.NewPacket(b, DecodeRTPRFC4175, gopacket.Default)
		l, ok := p.Layer(LayerTypeRFC4175).(*RFC4175)
		if !ok || len(l.SRDs) != k {
			t.Fatalf("%d SRDs: layer %v, error %v", k, p.Layer(LayerTypeRFC4175), p.ErrorLayer())
		}
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 {
					for i := range l.SRDs {
						if len(l.Data(i)) != 1 {
							t.Errorf("%d SRDs: Data(%d) of %d octets", k, i, len(l.Data(i)))
							return
						}
					}
				}
			}()
		}
		wg.Wait()
	}
}

// TestRFC4175FailedDecodeEmpties decodes a good packet and then, into the
// same layer, a bad one with as many SRDs: the failed decode wrote headers
// (and, past 8, offsets) into the arrays it reuses, so it must leave SRDs,
// Contents and Payload empty, not the old lengths over half-new contents
// (where Data(1) sliced the old payload at the new lengths and panicked).
func TestRFC4175FailedDecodeEmpties(t *testing.T) {
	for _, k := range []int{3, 12} {
		packet := func(length uint16, room int) []byte {
			b := make([]byte, ExtSeqLen+k*SRDLen+room)
			for i := range k {
				PutSRD(b[ExtSeqLen+SRDLen*i:], length, false, uint16(i), i < k-1, 0)
			}
			return b
		}
		var h RFC4175
		if err := h.DecodeFromBytes(packet(10, 10*k), gopacket.NilDecodeFeedback); err != nil || len(h.SRDs) != k {
			t.Fatalf("%d SRDs of 10 octets: %v", k, err)
		}
		if err := h.DecodeFromBytes(packet(2000, 3000), gopacket.NilDecodeFeedback); !errors.Is(err, ErrTruncated) {
			t.Fatalf("%d SRDs of 2000 octets in 3000: %v", k, err)
		}
		if len(h.SRDs) != 0 || len(h.offs) != 0 || h.Contents != nil || h.Payload != nil {
			t.Errorf("%d SRDs, failed decode: %d SRDs, %d offsets, contents %d octets, payload %d",
				k, len(h.SRDs), len(h.offs), len(h.Contents), len(h.Payload))
		}
		func() {
			defer func() {
				if e := recover(); e != nil {
					t.Errorf("%d SRDs, failed decode: Data panics: %v", k, e)
				}
			}()
			for i := range h.SRDs {
				_ = h.Data(i)
			}
		}()
		// The arrays are kept for the next decode.
		if cap(h.SRDs) < k || k > smallSRDs && cap(h.offs) < k {
			t.Errorf("%d SRDs, failed decode: capacities %d and %d", k, cap(h.SRDs), cap(h.offs))
		}
	}
}
