package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03}
)

// tplCases cover every shape a Template builds.
var tplCases = []struct {
	name string
	c    TemplateConfig
}{
	{"ipv4", TemplateConfig{SrcMAC: macA, DstMAC: macB,
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.1.2.3:5004"),
		PayloadType: 96, SSRC: 0x01020304}},
	{"ipv4-rfc4175", TemplateConfig{SrcMAC: macA, DstMAC: macB,
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.1.2.3:5004"),
		PayloadType: 112, SSRC: 0xdeadbeef, RFC4175: true, DSCP: 34, TTL: 16}},
	{"ipv4-rfc4175-csum", TemplateConfig{SrcMAC: macA, DstMAC: macB,
		Src: netip.MustParseAddrPort("192.168.200.254:49152"), Dst: netip.MustParseAddrPort("192.168.1.1:20000"),
		PayloadType: 96, SSRC: 0xffffffff, RFC4175: true, UDPChecksum: true}},
	{"ipv4-vlan-csum", TemplateConfig{SrcMAC: macA, DstMAC: macB, VLAN: 100, VLANPriority: 5,
		Src: netip.MustParseAddrPort("10.0.0.1:1"), Dst: netip.MustParseAddrPort("10.0.0.2:65535"),
		PayloadType: 127, UDPChecksum: true, DSCP: 46}},
	{"ipv4-mapped-vlan-rfc4175", TemplateConfig{SrcMAC: macA, DstMAC: macB, VLAN: 4094,
		Src: netip.MustParseAddrPort("[::ffff:10.0.0.1]:5004"), Dst: netip.MustParseAddrPort("[::ffff:10.0.0.2]:5006"),
		PayloadType: 98, SSRC: 7, RFC4175: true}},
	{"ipv6", TemplateConfig{SrcMAC: macA, DstMAC: macB,
		Src: netip.MustParseAddrPort("[fd00::1]:5004"), Dst: netip.MustParseAddrPort("[ff3e::8000:1]:5004"),
		PayloadType: 96, SSRC: 0x12345678, DSCP: 34}},
	{"ipv6-rfc4175", TemplateConfig{SrcMAC: macA, DstMAC: macB,
		Src: netip.MustParseAddrPort("[2001:db8::ffff:1]:60000"), Dst: netip.MustParseAddrPort("[2001:db8:ffff::2]:5004"),
		PayloadType: 100, SSRC: 1, RFC4175: true, TTL: 255}},
	{"ipv6-vlan-rfc4175", TemplateConfig{SrcMAC: macA, DstMAC: macB, VLAN: 1, VLANPriority: 7,
		Src: netip.MustParseAddrPort("[fe80::1]:5004"), Dst: netip.MustParseAddrPort("[fe80::2]:5004"),
		PayloadType: 96, RFC4175: true}},
}

// reference serializes the frame Template.Write must produce, from
// scratch with gopacket: the same configuration and fields, the payload
// given as SRD headers plus sample data for RFC 4175 streams (which also
// exercises RFC4175.SerializeTo) or as raw bytes.
func reference(t testing.TB, c *TemplateConfig, f *Fields, srds []SRD, payload []byte) []byte {
	t.Helper()
	src, dst := c.Src.Addr().Unmap(), c.Dst.Addr().Unmap()
	ttl := c.TTL
	if ttl == 0 {
		ttl = 64
	}
	var ls []gopacket.SerializableLayer
	eth := &layers.Ethernet{SrcMAC: c.SrcMAC, DstMAC: c.DstMAC}
	etype := layers.EthernetTypeIPv4
	if src.Is6() {
		etype = layers.EthernetTypeIPv6
	}
	ls = append(ls, eth)
	if c.VLAN != 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{Priority: c.VLANPriority, VLANIdentifier: c.VLAN, Type: etype})
	} else {
		eth.EthernetType = etype
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(c.Src.Port()), DstPort: layers.UDPPort(c.Dst.Port())}
	if src.Is6() {
		ip := &layers.IPv6{Version: 6, TrafficClass: c.DSCP << 2, HopLimit: ttl, NextHeader: layers.IPProtocolUDP,
			SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ls = append(ls, ip)
		_ = udp.SetNetworkLayerForChecksum(ip)
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TOS: c.DSCP << 2, TTL: ttl, Protocol: layers.IPProtocolUDP,
			Flags: layers.IPv4DontFragment, Id: f.ID, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		ls = append(ls, ip)
		_ = udp.SetNetworkLayerForChecksum(ip)
	}
	ls = append(ls, udp, &RTP{Version: 2, Marker: f.Marker, PayloadType: c.PayloadType,
		SequenceNumber: uint16(f.Seq), Timestamp: f.Timestamp, SSRC: c.SSRC})
	if c.RFC4175 {
		ls = append(ls, &RFC4175{ExtendedSequenceNumber: uint16(f.Seq >> 16), SRDs: srds})
	}
	ls = append(ls, gopacket.Payload(payload))
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(sb.Bytes())
	// gopacket pads short Ethernet frames to 60 bytes; Write does not.
	hdr := mustTemplate(t, c).Len()
	if n := hdr + len(payload) + SRDLen*len(srds); len(b) > n {
		if len(b) != MinFrame || !bytes.Equal(b[n:], make([]byte, len(b)-n)) {
			t.Fatalf("gopacket frame of %d bytes for %d", len(b), n)
		}
		b = b[:n]
	}
	if src.Is4() && !c.UDPChecksum {
		off := EthLen + IPv4Len + UDPLen - 2
		if c.VLAN != 0 {
			off += VLANLen
		}
		b[off], b[off+1] = 0, 0
	}
	return b
}

// fill writes a payload of n bytes after the header at frame[hdr:]: for
// RFC 4175 streams k SRD headers (as many as fit, up to 3) splitting the
// remaining bytes, then sample data. It returns the SRDs and the sample
// data (aliasing frame).
func fill(rng *rand.Rand, frame []byte, hdr, n int, rfc bool) ([]SRD, []byte) {
	p := frame[hdr : hdr+n]
	if !rfc {
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		return nil, p
	}
	k := min(1+rng.IntN(3), n/SRDLen)
	data := n - k*SRDLen
	srds := make([]SRD, k)
	left := data
	for i := range srds {
		l := left
		if i < k-1 {
			l = rng.IntN(left + 1)
		}
		left -= l
		srds[i] = SRD{Length: uint16(l), Field: rng.IntN(2) == 1, Line: uint16(rng.IntN(MaxLine + 1)),
			Continuation: i < k-1, Offset: uint16(rng.IntN(MaxOffset + 1))}
		srds[i].Put(p[SRDLen*i:])
	}
	d := p[k*SRDLen:]
	for i := range d {
		d[i] = byte(rng.Uint32())
	}
	return srds, d
}

func mustTemplate(t testing.TB, c *TemplateConfig) *Template {
	t.Helper()
	tpl, err := NewTemplate(c)
	if err != nil {
		t.Fatalf("NewTemplate: %v", err)
	}
	return tpl
}

// check writes one frame with tpl and compares it with reference.
func check(t *testing.T, tpl *Template, c *TemplateConfig, rng *rand.Rand, buf []byte, n int, f *Fields) []byte {
	t.Helper()
	if c.RFC4175 && n < SRDLen {
		n = SRDLen
	}
	srds, data := fill(rng, buf, tpl.Len(), n, c.RFC4175)
	buf[tpl.Len()+n] = 0xA5 // Write must not touch the byte after the frame
	if got := tpl.Write(buf, n, f); got != tpl.Len()+n {
		t.Fatalf("Write returned %d, want %d", got, tpl.Len()+n)
	}
	if buf[tpl.Len()+n] != 0xA5 {
		t.Fatalf("Write wrote past the frame")
	}
	want := reference(t, c, f, srds, data)
	got := buf[:tpl.Len()+n]
	if !bytes.Equal(got, want) {
		h := min(tpl.Len()+3*SRDLen, len(want))
		t.Fatalf("payload %d, fields %+v:\n got % x\nwant % x", n, *f, got[:h], want[:h])
	}
	return got
}

// TestTemplateMatchesGopacket compares every frame Template.Write produces
// with a fresh gopacket serialization of the same fields, across the wrap
// of the 16- and 32-bit sequence numbers, of the timestamp and of the IPv4
// identification, for payload lengths from 0 to MaxPayload.
func TestTemplateMatchesGopacket(t *testing.T) {
	for _, tc := range tplCases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			tpl := mustTemplate(t, &c)
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			buf := make([]byte, tpl.Len()+tpl.MaxPayload()+1)
			frames := 0
			// Consecutive packets across each wrap-around.
			for _, start := range []uint32{0, 0xfff0, 0x1fff8, 0xffffff00, 0xfffffff0} {
				f := Fields{Seq: start, Timestamp: start * 3, ID: uint16(start) - 5}
				for range 40 {
					f.Marker = f.Seq%7 == 0
					check(t, tpl, &c, rng, buf, 1200+int(f.Seq%3), &f)
					f.Seq++
					f.Timestamp += 0x10000001
					f.ID++
					frames++
				}
			}
			// Random fields and lengths, the extremes included.
			for i := range 3000 {
				f := Fields{Seq: rng.Uint32(), Timestamp: rng.Uint32(), Marker: rng.IntN(2) == 1, ID: uint16(rng.Uint32())}
				var n int
				switch i {
				case 0:
					n = 0
				case 1:
					n = tpl.MaxPayload()
				case 2:
					f = Fields{Seq: ^uint32(0), Timestamp: ^uint32(0), Marker: true, ID: 0xffff}
					n = 8960 - RTPLen
				default:
					n = rng.IntN(1500)
				}
				check(t, tpl, &c, rng, buf, n, &f)
				frames++
			}
			t.Logf("%d frames equal to gopacket's", frames)
		})
	}
}

// TestTemplateUDPChecksumZero builds a payload whose UDP checksum comes out
// as 0, which RFC 768 sends as 0xffff (as gopacket does).
func TestTemplateUDPChecksumZero(t *testing.T) {
	for _, tc := range tplCases {
		c := tc.c
		tpl := mustTemplate(t, &c)
		if !tpl.udpSum {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, 2))
			buf := make([]byte, 2048)
			f := Fields{Seq: 0x12345, Timestamp: 90000, Marker: true, ID: 9}
			n := 1200
			srds, data := fill(rng, buf, tpl.Len(), n, c.RFC4175)
			w := buf[tpl.Len()+n-2:] // the last 16-bit word of the payload
			w[0], w[1] = 0, 0
			tpl.Write(buf, n, &f)
			csOff := tpl.udpOff + 6
			cs := binary.BigEndian.Uint16(buf[csOff:])
			// cs is the complement of the sum with w = 0; with w = cs
			// the sum is 0xffff and the checksum 0.
			binary.BigEndian.PutUint16(w, cs)
			tpl.Write(buf, n, &f)
			if got := binary.BigEndian.Uint16(buf[csOff:]); got != 0xffff {
				t.Fatalf("checksum %#04x, want 0xffff", got)
			}
			if want := reference(t, &c, &f, srds, data); !bytes.Equal(buf[:tpl.Len()+n], want) {
				t.Fatalf("frame differs from gopacket's")
			}
		})
	}
}

// TestTemplateDecodes decodes Template frames with a DecodingLayerParser
// and checks gopacket's own view of lengths and checksums.
func TestTemplateDecodes(t *testing.T) {
	for _, tc := range tplCases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			tpl := mustTemplate(t, &c)
			buf := make([]byte, 2048)
			n := 2 * SRDLen
			PutSRD(buf[tpl.Len():], 0, false, 1, true, 0)
			PutSRD(buf[tpl.Len()+SRDLen:], 0, false, 2, false, 0)
			f := Fields{Seq: 0x0002fffe, Timestamp: 3003, Marker: true, ID: 77}
			fr := buf[:tpl.Write(buf, n, &f)]
			p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
			if el := p.ErrorLayer(); el != nil {
				t.Fatalf("gopacket: %v", el.Error())
			}
			udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if int(udp.Length) != UDPLen+RTPLen+n+map[bool]int{true: ExtSeqLen}[c.RFC4175] || int(udp.DstPort) != int(c.Dst.Port()) {
				t.Errorf("UDP %+v", udp)
			}
			var r RTP
			if c.RFC4175 {
				r.NextType = LayerTypeRFC4175
			}
			if err := r.DecodeFromBytes(udp.Payload, gopacket.NilDecodeFeedback); err != nil {
				t.Fatal(err)
			}
			if r.SequenceNumber != 0xfffe || r.Timestamp != 3003 || !r.Marker || r.PayloadType != c.PayloadType || r.SSRC != c.SSRC {
				t.Errorf("RTP %+v", r)
			}
			if c.RFC4175 {
				var h RFC4175
				if err := h.DecodeFromBytes(r.Payload, gopacket.NilDecodeFeedback); err != nil {
					t.Fatal(err)
				}
				if h.Seq(r.SequenceNumber) != f.Seq || len(h.SRDs) != 2 || h.SRDs[1].Line != 2 {
					t.Errorf("RFC 4175 %+v", h)
				}
			}
		})
	}
}

func TestTemplateWriteAllocs(t *testing.T) {
	for _, tc := range tplCases {
		c := tc.c
		tpl := mustTemplate(t, &c)
		buf := make([]byte, 2048)
		f := Fields{Seq: 1, Timestamp: 2}
		if n := testing.AllocsPerRun(1000, func() {
			f.Seq++
			tpl.Write(buf, 1200, &f)
		}); n != 0 {
			t.Errorf("%s: Write allocates %v times", tc.name, n)
		}
	}
}

// TestTemplateConcurrent writes from several goroutines with one Template;
// under -race it shows that Write only reads the Template.
func TestTemplateConcurrent(t *testing.T) {
	c := tplCases[2].c
	tpl := mustTemplate(t, &c)
	want := make([]byte, 2048)
	f := Fields{Seq: 5, Timestamp: 6}
	n := tpl.Write(want, 600, &f)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			buf := make([]byte, 2048)
			for range 200 {
				tpl.Write(buf, 600, &f)
				if !bytes.Equal(buf[:n], want[:n]) {
					errs <- errors.New("frames differ")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestTemplateLen(t *testing.T) {
	for _, tc := range tplCases {
		c := tc.c
		tpl := mustTemplate(t, &c)
		want := EthLen + IPv4Len + UDPLen + RTPLen
		if c.Src.Addr().Unmap().Is6() {
			want += IPv6Len - IPv4Len
		}
		if c.VLAN != 0 {
			want += VLANLen
		}
		if c.RFC4175 {
			want += ExtSeqLen
		}
		if tpl.Len() != want {
			t.Errorf("%s: Len %d, want %d", tc.name, tpl.Len(), want)
		}
	}
}

func TestTemplateWritePanics(t *testing.T) {
	c := tplCases[0].c
	tpl := mustTemplate(t, &c)
	for _, n := range []int{-1, tpl.MaxPayload() + 1} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "payload length") {
					t.Errorf("payload %d: recovered %v", n, r)
				}
			}()
			tpl.Write(make([]byte, 70000), n, &Fields{})
		}()
	}
	defer func() {
		if recover() == nil {
			t.Error("short dst did not panic")
		}
	}()
	tpl.Write(make([]byte, 100), 100, &Fields{})
}

func TestNewTemplateErrors(t *testing.T) {
	ok := tplCases[0].c
	for _, tc := range []struct {
		want string
		mod  func(c *TemplateConfig)
	}{
		{"MAC", func(c *TemplateConfig) { c.SrcMAC = nil }},
		{"VLAN ID 4095", func(c *TemplateConfig) { c.VLAN = 4095 }},
		{"priority 8", func(c *TemplateConfig) { c.VLAN, c.VLANPriority = 1, 8 }},
		{"without a VLAN", func(c *TemplateConfig) { c.VLANPriority = 3 }},
		{"no address", func(c *TemplateConfig) { c.Src = netip.AddrPort{} }},
		{"not both", func(c *TemplateConfig) { c.Dst = netip.MustParseAddrPort("[::1]:5004") }},
		{"port 0", func(c *TemplateConfig) { c.Dst = netip.MustParseAddrPort("10.0.0.2:0") }},
		{"DSCP 64", func(c *TemplateConfig) { c.DSCP = 64 }},
		{"payload type 128", func(c *TemplateConfig) { c.PayloadType = 128 }},
	} {
		c := ok
		tc.mod(&c)
		if _, err := NewTemplate(&c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v", tc.want, err)
		}
	}
	if _, err := NewTemplate(nil); err == nil {
		t.Error("nil config accepted")
	}
}

// BenchmarkTemplateWrite measures the per-packet header patch for a
// 1200-byte payload already in place: copy the header, patch lengths,
// IPv4 id and checksum, RTP fields; with "csum" also the UDP checksum,
// which sums the payload.
func BenchmarkTemplateWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		c    TemplateConfig
	}{
		{"ipv4", tplCases[1].c},
		{"ipv4-csum", tplCases[2].c},
		{"ipv6-csum", tplCases[6].c},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tpl := mustTemplate(b, &bc.c)
			buf := make([]byte, 2048)
			f := Fields{Timestamp: 90000}
			b.ReportAllocs()
			for b.Loop() {
				f.Seq++
				tpl.Write(buf, 1200, &f)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkPayloadSum measures the part of a checksummed Write that sums
// the 1200-byte payload, to separate it from the header patch.
func BenchmarkPayloadSum(b *testing.B) {
	buf := make([]byte, 1200)
	b.SetBytes(int64(len(buf)))
	var s uint64
	for b.Loop() {
		s += sum64(buf)
	}
	_ = s
}

// sum1071 is the 16-bit one's-complement sum of RFC 1071 §4.1, word by
// word with end-around carry, for an even number of bytes.
func sum1071(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// TestSum64 checks the 64-bit accumulation against the 16-bit sum of
// RFC 1071 for every length up to 200 and random contents.
func TestSum64(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if n%7 == 0 {
			for i := range b {
				b[i] = 0xff
			}
		}
		even := b
		if n%2 == 1 {
			even = append(bytes.Clone(b), 0)
		}
		if got, want := fold64(sum64(b)), sum1071(even); got != want {
			t.Errorf("%d bytes: sum %#04x, want %#04x", n, got, want)
		}
	}
}

// TestTemplateShortBuffer writes frames into buffers of exactly their
// length, short of the room Write's fast path wants, and checks them
// against the same frames written into a 2048-octet buffer: both paths
// give the same octets, checksums included.
func TestTemplateShortBuffer(t *testing.T) {
	for _, tc := range tplCases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			tpl := mustTemplate(t, &c)
			rng := rand.New(rand.NewPCG(4, 4))
			for _, n := range []int{0, 1, 7, 2 * SRDLen, 100, writeRoom - tpl.Len() - 1, writeRoom - tpl.Len()} {
				long := make([]byte, 2048)
				fill(rng, long, tpl.Len(), n, c.RFC4175 && n >= SRDLen)
				short := bytes.Clone(long[:tpl.Len()+n])
				f := Fields{Seq: rng.Uint32(), Timestamp: rng.Uint32(), Marker: n%2 == 0, ID: uint16(rng.Uint32())}
				if got := tpl.Write(short, n, &f); got != len(short) {
					t.Fatalf("payload %d: wrote %d, want %d", n, got, len(short))
				}
				tpl.Write(long, n, &f)
				if !bytes.Equal(short, long[:len(short)]) {
					t.Fatalf("payload %d: frame in a short buffer differs:\n% x\nwant\n% x", n, short, long[:len(short)])
				}
			}
		})
	}
}

// TestTemplateZeroWrite: Write on the zero Template panics saying so, not
// with an index out of range from its header runs.
func TestTemplateZeroWrite(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "zero Template") {
			t.Errorf("Write on the zero Template: panic %v", r)
		}
	}()
	var z Template
	z.Write(make([]byte, 512), 0, &Fields{})
}

// TestTemplateIPv4ChecksumCarry: addresses, TTL and DSCP whose IPv4
// header words sum (32 bits wide, as NewTemplate kept them) to 0xffffffff.
// Write added the total length and identification to that sum in 32 bits,
// which overflowed and lost a carry: every header it wrote had a checksum
// one too high, and a receiver drops such packets.
func TestTemplateIPv4ChecksumCarry(t *testing.T) {
	c := TemplateConfig{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		Src: netip.MustParseAddrPort("185.190.190.244:5000"), Dst: netip.MustParseAddrPort("192.168.1.10:5004"),
		TTL: 64, DSCP: 34, PayloadType: 96, RFC4175: true}
	tpl := mustTemplate(t, &c)
	buf := make([]byte, tpl.Len()+tpl.MaxPayload())
	bad := 0
	for _, n := range []int{0, 1200, tpl.MaxPayload()} {
		for id := range 1 << 16 {
			tpl.Write(buf, n, &Fields{ID: uint16(id)})
			if s := sum1071(buf[EthLen : EthLen+IPv4Len]); s != 0xffff {
				if bad++; bad <= 3 {
					t.Errorf("payload %d, id %d: IPv4 header sums to %#04x, not 0xffff", n, id, s)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d headers of %d with a bad checksum", bad, 3<<16)
	}
}
