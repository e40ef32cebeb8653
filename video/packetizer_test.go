package video

import (
	"encoding/binary"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/nmgo/nmgo/packet"
)

// rtpPkt is an RTP packet as a test reads it, independently of the
// depacketizer.
type rtpPkt struct {
	marker bool
	pt     uint8
	seq    uint16
	esn    uint16
	ts     uint32
	ssrc   uint32
	srds   []Segment
	cont   []bool
	data   []byte
}

func parseRTP(t testing.TB, b []byte) rtpPkt {
	t.Helper()
	if len(b) < 20 || b[0] != 0x80 {
		t.Fatalf("not an RTP packet without CSRC/extension: % x", b[:min(len(b), 16)])
	}
	p := rtpPkt{marker: b[1]&0x80 != 0, pt: b[1] & 0x7f, seq: binary.BigEndian.Uint16(b[2:]),
		ts: binary.BigEndian.Uint32(b[4:]), ssrc: binary.BigEndian.Uint32(b[8:]), esn: binary.BigEndian.Uint16(b[12:])}
	h := b[14:]
	for {
		s := Segment{Length: int(binary.BigEndian.Uint16(h)), Field: h[2]&0x80 != 0,
			Line: int(binary.BigEndian.Uint16(h[2:]) & 0x7fff), Offset: int(binary.BigEndian.Uint16(h[4:]) & 0x7fff)}
		c := h[4]&0x80 != 0
		p.srds, p.cont = append(p.srds, s), append(p.cont, c)
		h = h[6:]
		if !c {
			break
		}
	}
	p.data = h
	n := 0
	for _, s := range p.srds {
		n += s.Length
	}
	if n != len(h) {
		t.Fatalf("SRD lengths add to %d, packet carries %d", n, len(h))
	}
	return p
}

func mustPacketizer(t testing.TB, f Format, c *PacketizerConfig) *Packetizer {
	t.Helper()
	p, err := NewPacketizer(&f, c)
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	return p
}

// TestPacketsGolden pins ref/st2110.md section 2.3: packets per line and
// SRD octets in GPM single-line packing, packets per frame (per field when
// interlaced) in GPM and in BPM with 1260-octet blocks, for 720p, 1080i,
// 1080p and 2160p 4:2:2 10-bit at 50 and 59.94 Hz.
func TestPacketsGolden(t *testing.T) {
	for _, c := range []struct {
		name          string
		w, h          int
		scan          Scan
		rate          Rate
		perLine       int
		srd, lastSRD  int
		npkt, npktBPM int
	}{
		{"720p50", 1280, 720, Progressive, Rate50, 3, 1070, 1060, 2160, 1829},
		{"720p59.94", 1280, 720, Progressive, Rate59_94, 3, 1070, 1060, 2160, 1829},
		{"1080i50", 1920, 1080, Interlaced, Rate25, 4, 1200, 1200, 2160, 2058},
		{"1080i59.94", 1920, 1080, Interlaced, Rate29_97, 4, 1200, 1200, 2160, 2058},
		{"1080p50", 1920, 1080, Progressive, Rate50, 4, 1200, 1200, 4320, 4115},
		{"1080p59.94", 1920, 1080, Progressive, Rate59_94, 4, 1200, 1200, 4320, 4115},
		{"2160p50", 3840, 2160, Progressive, Rate50, 7, 1375, 1350, 15120, 16458},
		{"2160p59.94", 3840, 2160, Progressive, Rate59_94, 7, 1375, 1350, 15120, 16458},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := Format{Sampling: YCbCr422, Depth: Depth10, Width: c.w, Height: c.h, Scan: c.scan, Rate: c.rate}
			gpm := mustPacketizer(t, f, nil)
			if got := gpm.PacketsPerField(); got != c.npkt {
				t.Errorf("GPM: %d packets per field, want %d", got, c.npkt)
			}
			perLine := map[int]int{}
			for pk := range gpm.Packets() {
				if len(pk.Segments) != 1 {
					t.Fatalf("GPM single-line packet with %d SRDs", len(pk.Segments))
				}
				s := pk.Segments[0]
				if pk.Field == 0 {
					perLine[s.Line]++
				}
				last := s.Offset+s.Length/5*2 == c.w
				if want := c.srd; last && s.Length != c.lastSRD || !last && s.Length != want {
					t.Fatalf("GPM line %d offset %d: SRD of %d octets, want %d (last of line %d)",
						s.Line, s.Offset, s.Length, c.srd, c.lastSRD)
				}
				if pk.Len != 20+s.Length {
					t.Fatalf("packet of %d octets for an SRD of %d", pk.Len, s.Length)
				}
			}
			if len(perLine) != c.h/c.scan.Fields() {
				t.Errorf("GPM: %d lines per field, want %d", len(perLine), c.h/c.scan.Fields())
			}
			for line, n := range perLine {
				if n != c.perLine {
					t.Fatalf("GPM: line %d has %d packets, want %d", line, n, c.perLine)
				}
			}

			bpm := mustPacketizer(t, f, &PacketizerConfig{Packing: BPM})
			if got := bpm.PacketsPerField(); got != c.npktBPM {
				t.Errorf("BPM: %d packets per field, want %d", got, c.npktBPM)
			}
			total := 0
			for pk := range bpm.Packets() {
				data := 0
				for _, s := range pk.Segments {
					data += s.Length
					if s.Length%5 != 0 {
						t.Fatalf("BPM SRD of %d octets is not whole pgroups", s.Length)
					}
				}
				if pk.Field == 0 {
					total += data
				}
				if !pk.Marker && data != 1260 {
					t.Fatalf("BPM packet with %d octets of sample data, want 1260", data)
				}
				if pk.Len > MaxUDP {
					t.Fatalf("BPM packet of %d octets over %d", pk.Len, MaxUDP)
				}
			}
			if want := f.FrameSize() / c.scan.Fields(); total != want {
				t.Errorf("BPM field carries %d octets, want %d", total, want)
			}
		})
	}
}

// TestContinuousMatchesGStreamer pins what ref/interop.md read from a
// GStreamer rtpvrawpay capture (mtu=1400, 1080p 4:2:2 10-bit): 3765 packets
// per frame, a packet [(660,line0,off1656,C1),(710,line1,off0,C0)], and a last
// packet of 390 octets (UDP length 398) with the marker.
func TestContinuousMatchesGStreamer(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate25}
	p := mustPacketizer(t, f, &PacketizerConfig{Continuous: true, PayloadSize: 1400})
	if got := p.PacketsPerFrame(); got != 3765 {
		t.Errorf("%d packets per frame, want 3765", got)
	}
	found, n := false, 0
	var last PacketInfo
	for pk := range p.Packets() {
		n++
		last = pk
		if len(pk.Segments) == 2 && pk.Segments[0] == (Segment{Length: 660, Line: 0, Offset: 1656}) &&
			pk.Segments[1] == (Segment{Length: 710, Line: 1, Offset: 0}) {
			found = true
		}
		if pk.Len > 1400 {
			t.Fatalf("packet %d of %d octets", n, pk.Len)
		}
	}
	if !found {
		t.Error("no packet [(660,line0,off1656),(710,line1,off0)]")
	}
	if !last.Marker || last.Len != 390 {
		t.Errorf("last packet: marker %v, %d octets; want marker, 390", last.Marker, last.Len)
	}
}

// TestNextWritesThePlan checks the bytes Next writes against the plan and
// the frame: headers, markers, timestamps, field bits and sample data.
func TestNextWritesThePlan(t *testing.T) {
	for _, scan := range []Scan{Progressive, Interlaced, PsF} {
		for _, cfg := range []PacketizerConfig{{}, {Continuous: true, PayloadSize: 700}, {Packing: BPM}} {
			f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 320, Height: 32, Scan: scan, Rate: Rate29_97}
			cfg.PayloadType, cfg.SSRC, cfg.Seq = 100, 0xdeadbeef, 65530
			p := mustPacketizer(t, f, &cfg)
			frame := randomFrame(&f, 1)
			const tai = 1_800_000_000_123_456_789
			if err := p.Frame(frame, tai); err != nil {
				t.Fatal(err)
			}
			var plan []PacketInfo
			for pk := range p.Packets() {
				plan = append(plan, pk)
			}
			if p.Remaining() != len(plan) {
				t.Fatalf("Remaining %d, plan of %d", p.Remaining(), len(plan))
			}
			buf := make([]byte, p.MaxPacketLen())
			for i, want := range plan {
				n, err := p.Next(buf)
				if err != nil {
					t.Fatalf("%v %+v packet %d: %v", scan, cfg, i, err)
				}
				if n != want.Len {
					t.Fatalf("packet %d: %d octets, plan %d", i, n, want.Len)
				}
				got := parseRTP(t, buf[:n])
				seq := uint32(65530 + i)
				if got.pt != 100 || got.ssrc != 0xdeadbeef || got.seq != uint16(seq) || got.esn != uint16(seq>>16) {
					t.Fatalf("packet %d header %+v", i, got)
				}
				if got.marker != want.Marker {
					t.Fatalf("packet %d marker %v, want %v", i, got.marker, want.Marker)
				}
				wantTS := Timestamp(tai)
				if scan == Interlaced && want.Field == 1 {
					wantTS = Timestamp(tai + 16683333) // half of 1001/30000 s
				}
				if got.ts != wantTS {
					t.Fatalf("packet %d (field %d): timestamp %d, want %d", i, want.Field, got.ts, wantTS)
				}
				d := got.data
				for j, s := range got.srds {
					if s != want.Segments[j] || got.cont[j] != (j < len(got.srds)-1) {
						t.Fatalf("packet %d SRD %d: %+v C=%v, plan %+v", i, j, s, got.cont[j], want.Segments[j])
					}
					fld := 0
					if s.Field {
						fld = 1
					}
					at := (s.Line*scan.Fields()+fld)*f.RowBytes() + s.Offset/2*5
					if string(d[:s.Length]) != string(frame[at:at+s.Length]) {
						t.Fatalf("packet %d SRD %d: data differs from the frame at %d", i, j, at)
					}
					d = d[s.Length:]
				}
			}
			if _, err := p.Next(buf); err != ErrNoFrame {
				t.Fatalf("after the frame: %v, want ErrNoFrame", err)
			}
		}
	}
}

func TestNextShortBuffer(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive}
	p := mustPacketizer(t, f, nil)
	if _, err := p.Next(make([]byte, 2000)); err != ErrNoFrame {
		t.Fatalf("no frame: %v", err)
	}
	if err := p.Frame(make([]byte, f.FrameSize()-1), 0); err == nil {
		t.Fatal("short frame accepted")
	}
	if err := p.Frame(make([]byte, f.FrameSize()), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(make([]byte, 1219)); err != ErrShortBuffer {
		t.Fatalf("1219-octet buffer for a 1220-octet packet: %v", err)
	}
	seq := p.Seq()
	if n, err := p.Next(make([]byte, 1220)); n != 1220 || err != nil || p.Seq() != seq+1 {
		t.Fatalf("1220-octet buffer: %d, %v, seq %d", n, err, p.Seq())
	}
}

// TestExtendedSequenceWrap checks the RTP sequence number and the RFC 4175
// extended sequence number across the 16-bit and the 32-bit wrap.
func TestExtendedSequenceWrap(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive}
	for _, start := range []uint32{0xfffe, 0xfffffffe} {
		p := mustPacketizer(t, f, &PacketizerConfig{Seq: start})
		if err := p.Frame(make([]byte, f.FrameSize()), 0); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		var got [][2]uint16
		for range 4 {
			n, err := p.Next(buf)
			if err != nil {
				t.Fatal(err)
			}
			h := parseRTP(t, buf[:n])
			got = append(got, [2]uint16{h.esn, h.seq})
		}
		hi := uint16(start >> 16)
		want := [][2]uint16{{hi, 0xfffe}, {hi, 0xffff}, {hi + 1, 0}, {hi + 1, 1}}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("start %#x: (ESN, seq) %v, want %v", start, got, want)
				break
			}
		}
	}
}

// TestTimestamp checks the 90 kHz media clock against exact rational
// arithmetic, including the modulo-2^32 wrap at today's TAI.
func TestTimestamp(t *testing.T) {
	for _, tai := range []int64{0, 1, 5555, 5556, 1e9, 1e9 + 11111, 1_800_000_000_000_000_000, 1_798_765_432_109_876_543,
		(int64(1)<<32)*1_000_000_000/90000 + 3} {
		// round(tai * 90000 / 1e9) mod 2^32
		r := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(tai), big.NewInt(90000)), big.NewInt(1e9))
		r.Add(r, big.NewRat(1, 2))
		q := new(big.Int).Quo(r.Num(), r.Denom())
		want := uint32(new(big.Int).Mod(q, big.NewInt(1<<32)).Uint64())
		if got := Timestamp(tai); got != want {
			t.Errorf("Timestamp(%d) = %d, want %d", tai, got, want)
		}
	}
	// Fields of 1080i59.94 (frame rate 30000/1001) are 1501 or 1502 ticks apart.
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Interlaced, Rate: Rate29_97}
	p := mustPacketizer(t, f, nil)
	frame := make([]byte, f.FrameSize())
	buf := make([]byte, 1500)
	for n := int64(1_000_000); n < 1_000_010; n++ {
		tai := n * 1e9 * 1001 / 30000
		if err := p.Frame(frame, tai); err != nil {
			t.Fatal(err)
		}
		var ts []uint32
		for {
			m, err := p.Next(buf)
			if err != nil {
				break
			}
			if h := parseRTP(t, buf[:m]); h.marker {
				ts = append(ts, h.ts)
			}
		}
		if len(ts) != 2 || ts[1]-ts[0] < 1501 || ts[1]-ts[0] > 1502 {
			t.Fatalf("frame %d: field timestamps %v", n, ts)
		}
	}
}

// TestFieldsGolden pins the 1080i59.94 capture of ref/st2110.md section 1.5:
// 2160 packets per field, marker on packet 2159 of each, lines 0..539 per
// field, F set on the second field; and PsF's one timestamp for both.
func TestFieldsGolden(t *testing.T) {
	for _, scan := range []Scan{Interlaced, PsF} {
		f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: scan, Rate: Rate29_97}
		p := mustPacketizer(t, f, nil)
		if err := p.Frame(make([]byte, f.FrameSize()), 123456789); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		var markers []int
		var ts [2]uint32
		maxLine := [2]int{}
		for i := 0; ; i++ {
			n, err := p.Next(buf)
			if err != nil {
				break
			}
			h := parseRTP(t, buf[:n])
			fld := 0
			if h.srds[0].Field {
				fld = 1
			}
			if want := i >= 2160; (fld == 1) != want {
				t.Fatalf("%v packet %d: F=%d", scan, i, fld)
			}
			ts[fld] = h.ts
			maxLine[fld] = max(maxLine[fld], h.srds[0].Line)
			if h.marker {
				markers = append(markers, i)
			}
		}
		if len(markers) != 2 || markers[0] != 2159 || markers[1] != 4319 {
			t.Errorf("%v: markers on packets %v, want [2159 4319]", scan, markers)
		}
		if maxLine != [2]int{539, 539} {
			t.Errorf("%v: last lines %v, want 539 in each field", scan, maxLine)
		}
		if same := ts[0] == ts[1]; same != (scan == PsF) {
			t.Errorf("%v: field timestamps %v", scan, ts)
		}
	}
}

func TestPacketizerConfigErrors(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth16, Width: 1920, Height: 1080, Scan: Progressive}
	if _, err := NewPacketizer(&f, &PacketizerConfig{Packing: BPM}); err == nil {
		t.Error("BPM with 8-octet pgroups accepted")
	}
	f.Depth = Depth10
	if _, err := NewPacketizer(&f, &PacketizerConfig{PayloadSize: 9000}); err == nil {
		t.Error("payload size 9000 accepted")
	}
	if _, err := NewPacketizer(&f, &PacketizerConfig{PayloadSize: 20}); err == nil {
		t.Error("payload size 20 accepted")
	}
	if _, err := NewPacketizer(&f, &PacketizerConfig{PayloadType: 128}); err == nil {
		t.Error("payload type 128 accepted")
	}
	for _, c := range []PacketizerConfig{{MaxRows: 8}, {MaxRows: 8, Packing: BPM}, {MaxRows: -1, Continuous: true}} {
		if _, err := NewPacketizer(&f, &c); err == nil || !strings.Contains(err.Error(), "MaxRows") {
			t.Errorf("%+v: %v", c, err)
		}
	}
	// MaxRows beyond what fits: segments for what fits alone.
	if p, err := NewPacketizer(&Format{Sampling: YCbCr422, Depth: Depth10, Width: 2, Height: 16, Scan: Progressive},
		&PacketizerConfig{Continuous: true, MaxRows: 1 << 20}); err != nil || len(p.segs) != (MaxUDP-rtpHeaders)/(packet.SRDLen+5)+1 {
		t.Errorf("MaxRows 2^20: %v", err)
	}
	f.Scan = Interlaced
	if _, err := NewPacketizer(&f, nil); err == nil {
		t.Error("interlaced without a rate accepted")
	}
	// BPM rows so short that a 1260-octet block spans more than 3 of them.
	g := Format{Sampling: YCbCr422, Depth: Depth10, Width: 160, Height: 16, Scan: Progressive}
	if _, err := NewPacketizer(&g, &PacketizerConfig{Packing: BPM}); err == nil {
		t.Error("BPM needing 4+ SRDs accepted")
	}
	// Jumbo: BPM blocks of 49*180 octets.
	g = Format{Sampling: YCbCr422, Depth: Depth10, Width: 3840, Height: 2160, Scan: Progressive}
	p, err := NewPacketizer(&g, &PacketizerConfig{Packing: BPM, PayloadSize: MaxUDPExtended})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.PacketsPerFrame(), (g.FrameSize()+8819)/8820; got != want {
		t.Errorf("jumbo BPM: %d packets, want %d", got, want)
	}
}

// TestTemplate writes whole Ethernet frames through a packet.Template and
// checks that they carry the same RTP packet as the RTP-only mode.
func TestTemplate(t *testing.T) {
	tmpl, err := packet.NewTemplate(&packet.TemplateConfig{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.0.0.1:5004"),
		PayloadType: 96, SSRC: 7, RFC4175: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 8, Scan: Progressive}
	// A template without the extended sequence number would write packets
	// that no RFC 4175 receiver reads right: refused.
	plainRTP, err := packet.NewTemplate(&packet.TemplateConfig{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.0.0.1:5004"),
		PayloadType: 96, SSRC: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPacketizer(&f, &PacketizerConfig{Template: plainRTP}); err == nil || !strings.Contains(err.Error(), "RFC4175") {
		t.Errorf("a template without RFC4175: err = %v, want a refusal that names TemplateConfig.RFC4175", err)
	}
	withT := mustPacketizer(t, f, &PacketizerConfig{Template: tmpl, Seq: 65534})
	plain := mustPacketizer(t, f, &PacketizerConfig{SSRC: 7, Seq: 65534})
	frame := randomFrame(&f, 2)
	if withT.HeaderLen() != tmpl.Len() || withT.MaxPacketLen() != plain.MaxPacketLen()+tmpl.Len()-14 {
		t.Fatalf("header %d, max %d vs %d", withT.HeaderLen(), withT.MaxPacketLen(), plain.MaxPacketLen())
	}
	_ = withT.Frame(frame, 42e9)
	_ = plain.Frame(frame, 42e9)
	a, b := make([]byte, 2048), make([]byte, 2048)
	for i := 0; ; i++ {
		n, err := withT.Next(a)
		m, err2 := plain.Next(b)
		if err != nil || err2 != nil {
			if err != err2 || i != plain.PacketsPerFrame() {
				t.Fatalf("packet %d: %v / %v", i, err, err2)
			}
			break
		}
		rtpAt := tmpl.Len() - 14
		if n != m+rtpAt || string(a[rtpAt:n]) != string(b[:m]) {
			t.Fatalf("packet %d: template frame (%d octets) does not carry the RTP packet (%d octets)\n% x\n% x",
				i, n, m, a[rtpAt:rtpAt+20], b[:20])
		}
		if udpLen := int(binary.BigEndian.Uint16(a[rtpAt-4:])); udpLen != m+8 {
			t.Fatalf("packet %d: UDP length %d, want %d", i, udpLen, m+8)
		}
	}
}

// A config that leaves SSRC and Seq zero gets random ones (RFC 3550 §5.1,
// §8.1), the RFC 4175 extension of the sequence number starting at 0;
// values given are kept, and NoRandom keeps zeros.
func TestPacketizerRandomIDs(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 4, Scan: Progressive}
	ssrcs, seqs := map[uint32]bool{}, map[uint32]bool{}
	for range 8 {
		p := mustPacketizer(t, f, nil)
		if p.Seq() >= 1<<16 {
			t.Errorf("random sequence %#x: the extension is not 0", p.Seq())
		}
		ssrcs[p.SSRC()], seqs[p.Seq()] = true, true
	}
	if len(ssrcs) < 2 || len(seqs) < 2 {
		t.Errorf("8 packetizers drew %d SSRCs and %d sequence numbers", len(ssrcs), len(seqs))
	}
	if p := mustPacketizer(t, f, &PacketizerConfig{SSRC: 0x2110, Seq: 7}); p.SSRC() != 0x2110 || p.Seq() != 7 {
		t.Errorf("given SSRC 0x2110 and Seq 7: %#x, %d", p.SSRC(), p.Seq())
	}
	if p := mustPacketizer(t, f, &PacketizerConfig{NoRandom: true}); p.SSRC() != 0 || p.Seq() != 0 {
		t.Errorf("NoRandom: SSRC %#x, Seq %d; want 0 and 0", p.SSRC(), p.Seq())
	}
	// The packets carry them.
	p := mustPacketizer(t, f, nil)
	if err := p.Frame(make([]byte, f.FrameSize()), 0); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2000)
	if _, err := p.Next(b); err != nil {
		t.Fatal(err)
	}
	var r packet.RTP
	if err := r.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil || r.SSRC != p.SSRC() || uint32(r.SequenceNumber) != p.Seq()-1 {
		t.Errorf("packet: SSRC %#x seq %d (%v); packetizer %#x, next %d", r.SSRC, r.SequenceNumber, err, p.SSRC(), p.Seq())
	}
}

// TestPacketsAllocsPerSegment: Packets allocates for the Segments it hands
// out (append: one, two or three allocations for one to three segments),
// not a plan per packet as well.
func TestPacketsAllocsPerSegment(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate25}
	for _, cfg := range []PacketizerConfig{{Continuous: true}, {Continuous: true, MaxRows: 10}} {
		p := mustPacketizer(t, f, &cfg)
		want := 0
		for pk := range p.Packets() {
			for i := range pk.Segments { // append's growth: capacity 1, 2, 4
				if i == 0 || i&(i-1) == 0 {
					want++
				}
			}
		}
		got := testing.AllocsPerRun(2, func() {
			for range p.Packets() {
			}
		})
		if got > float64(want+8) {
			t.Errorf("%+v: %.0f allocations a frame, want at most %d (%d packets)", cfg, got, want+8, p.PacketsPerFrame())
		}
	}
}

// Packets plans as Next does with a MaxRows below ST 2110-20's 3: no
// packet has more segments than MaxRows, and a field has PacketsPerField.
func TestPacketsMaxRowsFew(t *testing.T) {
	f, err := ParseFmtp("sampling=YCbCr-4:2:2; width=8; height=16; depth=10; exactframerate=50")
	if err != nil {
		t.Fatal(err)
	}
	for _, mr := range []int{1, 2, 3, 5} {
		c := f.PacketizerConfig()
		c.Continuous, c.MaxRows = true, mr
		p, err := NewPacketizer(&f.Format, c)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for pi := range p.Packets() {
			if len(pi.Segments) > mr {
				t.Errorf("MaxRows %d: packet with %d segments", mr, len(pi.Segments))
			}
			n++
		}
		if n != p.PacketsPerField()*1 {
			t.Errorf("MaxRows %d: Packets gave %d, PacketsPerField %d", mr, n, p.PacketsPerField())
		}
	}
}
