package video

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/packet"
)

// fuzzFormats are the formats FuzzDepacketizer picks from.
var fuzzFormats = []Format{
	{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 8, Scan: Progressive},
	{Sampling: YCbCr420, Depth: Depth10, Width: 32, Height: 8, Scan: Interlaced, Rate: Rate29_97},
	{Sampling: RGB, Depth: Depth12, Width: 16, Height: 4, Scan: PsF},
	{Sampling: YCbCr411, Depth: Depth8, Width: 8, Height: 2, Scan: Progressive},
}

// FuzzDepacketizer pushes arbitrary packets into a frame buffer flanked by
// guard bytes: it must never panic, never write outside the buffer, and keep
// its counts consistent. The input is a format selector and then packets,
// each prefixed by a 2-octet length.
func FuzzDepacketizer(f *testing.F) {
	for i := range fuzzFormats {
		fm := fuzzFormats[i]
		for _, c := range []*PacketizerConfig{nil, {Continuous: true, PayloadSize: 100}} {
			p, err := NewPacketizer(&fm, c)
			if err != nil {
				f.Fatal(err)
			}
			seed := []byte{byte(i)}
			for _, s := range packetize(f, p, randomFrame(&fm, uint64(i)), 1e18) {
				seed = binary.BigEndian.AppendUint16(seed, uint16(len(s.b)))
				seed = append(seed, s.b...)
			}
			f.Add(seed)
		}
	}
	f.Add([]byte{0, 0, 20, 0x80, 0xe0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x7f, 0xff, 0x7f, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		fm := fuzzFormats[int(in[0])%len(fuzzFormats)]
		in = in[1:]
		const guard = 64
		size := fm.FrameSize()
		mem := make([]byte, guard+size+guard)
		for i := range mem {
			mem[i] = 0xee
		}
		frames, complete := 0, 0
		d, err := NewDepacketizer(&fm, &DepacketizerConfig{OnFrame: func(buf []byte, st *FrameStats) []byte {
			frames++
			if st.Complete {
				complete++
			}
			if len(buf) != size || st.Packets < 0 || st.Bytes < 0 || st.BadRows < 0 || st.Lost < 0 || st.Duplicates < 0 {
				t.Fatalf("frame of %d octets, stats %+v", len(buf), st)
			}
			return buf
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetBuffer(mem[guard : guard+size : guard+size]); err != nil {
			t.Fatal(err)
		}
		// A twin takes the same packets the receiver's way (headers
		// parsed once, for the analysis and the depacketizer): it must
		// end with the same counts and frame.
		twin, _ := NewDepacketizer(&fm, nil)
		twinBuf := make([]byte, size)
		copy(twinBuf, mem[guard:guard+size])
		if err := twin.SetBuffer(twinBuf); err != nil {
			t.Fatal(err)
		}
		var pushed uint64
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			n = min(n, len(in))
			d.Push(in[:n])
			var h headers
			if parseHeaders(&h, in[:n]) {
				twin.pushParsed(in[:n], &h)
			} else {
				twin.Push(in[:n])
			}
			pushed++
			in = in[n:]
		}
		if d.Stats() != twin.Stats() || !bytes.Equal(mem[guard:guard+size], twinBuf) {
			t.Fatalf("Push: %+v; parsed once: %+v (frames equal: %v)", d.Stats(), twin.Stats(), bytes.Equal(mem[guard:guard+size], twinBuf))
		}
		d.Flush()
		for i := range guard {
			if mem[i] != 0xee || mem[guard+size+i] != 0xee {
				t.Fatalf("guard byte written at %d", i)
			}
		}
		s := d.Stats()
		if s.Packets != pushed || s.Frames != uint64(frames) || s.Complete != uint64(complete) || s.Complete > s.Frames ||
			s.Malformed+s.WrongPT+s.NoBuffer+s.Duplicates+s.Late > s.Packets {
			t.Fatalf("stats %+v after %d packets, %d frames", s, pushed, frames)
		}
	})
}

// FuzzParseFmtp: an fmtp string never panics the parser; what it accepts
// is a valid format that Fmtp writes back to the same stream. The string
// twice over (each key repeated, the last value counting) reads as the
// string once: the same stream, or the same error.
func FuzzParseFmtp(f *testing.F) {
	for _, s := range []string{
		"sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPN",
		"sampling=RGB; width=32767; height=32767; depth=16f; exactframerate=60; colorimetry=BT2100; interlace; MAXUDP=8960",
		"sampling=YCbCr-4:2:0; width=64; height=32; depth=8; segmented; par=12:11; RANGE=FULL; TCS=PQ",
		"sampling=YCbCr-4:2:2;width=0;height=-1;depth=10",
		"sampling=RGB; width=8; height=8; depth=8; exactframerate=50; exactframerate=2971215073/1836311903; interlace=0; interlace; width=16",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseFmtp(in)
		twice, err2 := ParseFmtp(in + ";" + in)
		if fmt.Sprint(err) != fmt.Sprint(err2) || err == nil && *twice != *s {
			t.Fatalf("%q read as %+v, %v; twice over as %+v, %v", in, s, err, twice, err2)
		}
		if err != nil {
			return
		}
		if err := s.Format.Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid format %+v: %v", in, s.Format, err)
		}
		out, err := s.Fmtp()
		if err != nil {
			return // e.g. no exactframerate
		}
		back, err := ParseFmtp(out)
		if err != nil {
			t.Fatalf("%q: cannot parse what Fmtp wrote: %q: %v", in, out, err)
		}
		want := s.Format
		if want.Colorimetry == 0 {
			want.Colorimetry = ColorimetryUnspecified
		}
		if back.Format != want {
			t.Fatalf("%q: %+v written as %q, read back as %+v", in, want, out, back.Format)
		}
	})
}

// FuzzReceiver pushes arbitrary frames (Ethernet, 802.1Q, IPv4, IPv6, raw
// IP) with arbitrary arrival times into a receiver of three streams, one
// of them on any port: it must never panic, its counts must add up, and
// its loop steps stay within the bound of TestHostileWorkFlat: two an SRD
// header (walked, written), 6 octets of the packet a header. The steps
// are counted only with the tag nmgo_workcount (go test -tags
// nmgo_workcount ./video, a stage of .ci/run, for the seeds; add -fuzz
// FuzzReceiver to fuzz): without it that bound is not checked.
// The input is a sequence of records: a kind octet (0 Ethernet, 1 raw IP,
// 2 RTP to stream 2), an 8-octet time step, a 2-octet length and the
// frame.
func FuzzReceiver(f *testing.F) {
	q := sendFrames(f, fmt64x32i, SenderNarrow, PacketizerConfig{}, 2)
	var seed []byte
	for i, pkt := range q.sent[:20] {
		seed = append(seed, byte(i%3))
		seed = binary.BigEndian.AppendUint64(seed, 20000)
		seed = binary.BigEndian.AppendUint16(seed, uint16(len(pkt)))
		seed = append(seed, pkt...)
	}
	f.Add(seed)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{
			{Format: fmt64x32i, Port: 5004, PayloadType: 96},
			{Format: fmt64x32, PayloadType: 97},
			{Format: Format{Sampling: RGB, Depth: Depth8, Width: 16, Height: 8, Scan: PsF, Rate: Rate25}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		at := int64(1_800_000_000_000_000_000)
		var pushed, mine, octets uint64
		for len(in) >= 11 {
			kind := in[0] % 3
			at += int64(binary.BigEndian.Uint64(in[1:]))
			n := min(int(binary.BigEndian.Uint16(in[9:])), len(in)-11)
			pkt := in[11 : 11+n]
			in = in[11+n:]
			pushed++
			octets += uint64(n)
			switch kind {
			case 0:
				if r.Push(pkt, at) {
					mine++
				}
			case 1:
				if r.PushIP(pkt, at) {
					mine++
				}
			case 2:
				r.PushRTP(2, pkt, at)
				mine++
			}
		}
		r.Flush()
		var packets, steps uint64
		for i := range r.NumStreams() {
			st := r.Stats(i)
			packets += st.Packets
			steps += r.streams[i].d.steps.get() + r.streams[i].parsed.get()
			if st.Delivered+st.Skipped > st.Frames || st.Complete > st.Frames {
				t.Fatalf("stream %d: %+v", i, st)
			}
			r.Analysis(i)
		}
		if packets != mine || mine+r.Other() != pushed {
			t.Fatalf("%d pushed: %d to streams (%d counted), %d other", pushed, mine, packets, r.Other())
		}
		if counting && steps > 2*(octets/packet.SRDLen) { // steps is 0 without the tag nmgo_workcount
			t.Fatalf("%d loop steps for %d packets of %d octets", steps, packets, octets)
		}
	})
}

// FuzzAnalyzer feeds an analyzer arbitrary arrival times, RTP timestamps
// and markers, with or without the packets per frame known: it must never
// panic, and what it reports must be within its own bounds. A time step is
// 32 bits, or (bit 1 of the marker octet) that shifted left by 31, so that
// times jump by years either way, as a capture's bogus timestamps do.
func FuzzAnalyzer(f *testing.F) {
	f.Add(uint8(0), uint16(0), []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1})
	f.Add(uint8(1), uint16(8), bytesOf(2000, func(i int) byte { return byte(i * 7) }))
	f.Add(uint8(0), uint16(2), bytesOf(13*40, func(i int) byte { return byte(i*5) | 6 })) // from one end of int64 to the other
	f.Fuzz(func(t *testing.T, scan uint8, packets uint16, in []byte) {
		tm := Timing{Rate: Rate59_94, Scan: Scan(scan%3 + 1), Height: 1080, Packets: int(packets % 5000)}
		a, err := NewAnalyzer(tm)
		if err != nil {
			return
		}
		tai := int64(1_800_000_000_000_000_000)
		var pkts []capPkt
		for len(in) >= 13 {
			step := int64(int32(binary.BigEndian.Uint32(in)))
			switch {
			case in[8]&6 == 6: // to one end of int64 or the other
				tai = math.MinInt64
				if step&1 != 0 {
					tai = math.MaxInt64
				}
			case in[8]&2 != 0:
				tai += step << 31
			default:
				tai += step
			}
			ts := binary.BigEndian.Uint32(in[4:])
			marker := in[8]&1 != 0
			a.Packet(tai, ts, marker)
			pkts = append(pkts, capPkt{tai, ts, marker})
			a.Payload(int(binary.BigEndian.Uint16(in[9:])), int(in[11]))
			in = in[13:]
		}
		r := a.Report()
		if r.Frames < 0 || r.LostMarkers < 0 || r.Frames > r.Packets || r.MinPackets > r.MaxPackets ||
			r.Cinst < 0 || r.PacketsPerFrame < 0 || r.PacketsPerFrame > maxPackets {
			t.Fatalf("report %+v", r)
		}
		if want := gappedRef(pkts); r.Gapped != want {
			t.Fatalf("gapped %v, exact arithmetic says %v", r.Gapped, want)
		}
		_ = r.String()
	})
}

func bytesOf(n int, fn func(int) byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = fn(i)
	}
	return b
}

// FuzzFmtpKey: fmtpKey finds a key as parseFmtp read it before, through
// strings.ToLower, in every case and script.
func FuzzFmtpKey(f *testing.F) {
	for _, s := range []string{"sampling", "EXACTFRAMERATE", "\u0130nterlace", "\u017fsn", "depthx", "cma\u212a", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		want := slices.IndexFunc(fmtpKeys[:], func(k fmtpParam) bool { return k.name == strings.ToLower(key) })
		if got := fmtpKey(key); got != want {
			t.Fatalf("fmtpKey(%q) = %d, want %d", key, got, want)
		}
	})
}
