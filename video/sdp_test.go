package video

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

// specFmtp is the fmtp line of ref/st2110.md section 4.3 (ST 2110-10 Annex
// B / the ST 2110-20 example).
const specFmtp = "a=fmtp:112 sampling=YCbCr-4:2:2; width=1280; height=720; exactframerate=60000/1001; depth=10; TCS=SDR; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPN;"

// specExample is section 4.3 as printed there, where the second media's
// fmtp reads "(same as above)".
const specExample = `v=0
o=- 123456 11 IN IP4 192.168.100.2
s=Example of a SMPTE ST2110-20 signal
i=this example is for 720p video at 59.94
t=0 0
a=recvonly
a=group:DUP primary secondary
m=video 50000 RTP/AVP 112
c=IN IP4 239.100.9.10/32
a=source-filter: incl IN IP4 239.100.9.10 192.168.100.2
a=rtpmap:112 raw/90000
` + specFmtp + `
a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:37
a=mediaclk:direct=0
a=mid:primary
m=video 50020 RTP/AVP 112
c=IN IP4 239.101.9.10/32
a=source-filter: incl IN IP4 239.101.9.10 192.168.101.2
a=rtpmap:112 raw/90000
a=fmtp:112 (same as above)
a=ts-refclk:ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:37
a=mediaclk:direct=0
a=mid:secondary
`

// gstreamerSDP is what gst-rtsp-server would announce for rtpvrawpay's
// caps: gst_sdp_media_set_media_from_caps writes the caps fields as
// "key=value" joined by ";" without spaces, in rtpvrawpay's order (sampling,
// depth, width, height, colorimetry[, interlace=true]), and the encoding name
// upper case. Constructed from those sources (GStreamer 1.22), not captured.
const gstreamerSDP = "v=0\r\n" +
	"o=- 1188340656180883 1 IN IP4 127.0.0.1\r\n" +
	"s=Session streamed with GStreamer\r\n" +
	"i=rtsp-server\r\n" +
	"t=0 0\r\n" +
	"a=tool:GStreamer\r\n" +
	"a=type:broadcast\r\n" +
	"a=range:npt=now-\r\n" +
	"a=control:*\r\n" +
	"m=video 0 RTP/AVP 96\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=rtpmap:96 RAW/90000\r\n" +
	"a=fmtp:96 sampling=YCbCr-4:2:2;depth=10;width=1920;height=1080;colorimetry=BT709-2;interlace=true\r\n" +
	"a=control:stream=0\r\n"

func TestParseSDPSpecExample(t *testing.T) {
	full := strings.Replace(specExample, "a=fmtp:112 (same as above)", specFmtp, 1)
	s, err := ParseSDP([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want := Stream{
		Format: Format{Sampling: YCbCr422, Depth: Depth10, Width: 1280, Height: 720, Scan: Progressive,
			Rate: Rate59_94, Colorimetry: BT709, TCS: SDR},
		PayloadType: 112, Packing: GPM, Sender: SenderNarrow, SSN: "ST2110-20:2017",
		Dst: netip.MustParseAddrPort("239.100.9.10:50000"), TTL: 32, Source: netip.MustParseAddr("192.168.100.2"),
		RefClock: "ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:37", MediaClock: "direct=0", MID: "primary",
	}
	// The DUP pair is one flow with two legs.
	want.Second = Leg{Dst: netip.MustParseAddrPort("239.101.9.10:50020"), TTL: 32,
		Source: netip.MustParseAddr("192.168.101.2"), MID: "secondary"}
	if len(s.Streams) != 1 {
		t.Fatalf("%d streams, want the DUP pair as one", len(s.Streams))
	}
	if !reflect.DeepEqual(s.Streams[0], want) {
		t.Errorf("stream 1:\n got %+v\nwant %+v", s.Streams[0], want)
	}
	leg1 := s.Streams[0].Leg(1)
	if leg1.Dst != want.Second.Dst || leg1.Source != want.Second.Source || leg1.MID != "secondary" || leg1.Format != want.Format || !leg1.Second.IsZero() {
		t.Errorf("leg 1: %+v", leg1)
	}
	if s.Name != "Example of a SMPTE ST2110-20 signal" || s.Info != "this example is for 720p video at 59.94" ||
		s.ID != 123456 || s.Version != 11 || s.Origin != netip.MustParseAddr("192.168.100.2") || s.Groups != nil {
		t.Errorf("session %+v", s)
	}

	// As printed, the second fmtp has no parameters: an error naming it.
	_, err = ParseSDP([]byte(specExample))
	if err == nil || !strings.Contains(err.Error(), "media 2 (port 50020)") || !strings.Contains(err.Error(), "lacks sampling") {
		t.Errorf("abbreviated example: %v", err)
	}
}

// TestParseSDPFFmpeg reads the SDP files FFmpeg 5.1 wrote (testdata/README).
func TestParseSDPFFmpeg(t *testing.T) {
	for _, c := range []struct {
		file  string
		depth Depth
		dst   string
	}{{"testdata/ff10.sdp", Depth10, "127.0.0.1:5004"}, {"testdata/ff8.sdp", Depth8, "127.0.0.1:5006"}} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseSDP(b)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		want := Format{Sampling: YCbCr422, Depth: c.depth, Width: 64, Height: 16, Scan: Progressive}
		if len(s.Streams) != 1 || s.Streams[0].Format != want || s.Streams[0].PayloadType != 96 ||
			s.Streams[0].Dst != netip.MustParseAddrPort(c.dst) {
			t.Errorf("%s: %+v", c.file, s.Streams)
		}
	}
}

func TestParseSDPGStreamer(t *testing.T) {
	s, err := ParseSDP([]byte(gstreamerSDP))
	if err != nil {
		t.Fatal(err)
	}
	want := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Interlaced, Colorimetry: BT709}
	if len(s.Streams) != 1 || s.Streams[0].Format != want || s.Streams[0].PayloadType != 96 {
		t.Errorf("%+v", s.Streams)
	}
	// Progressive, with GStreamer's SMPTE240M and 8-bit RGBA.
	p := strings.Replace(gstreamerSDP, "sampling=YCbCr-4:2:2;depth=10;width=1920;height=1080;colorimetry=BT709-2;interlace=true",
		"sampling=RGBA;depth=8;width=320;height=240;colorimetry=SMPTE240M", 1)
	s, err = ParseSDP([]byte(p))
	if err != nil {
		t.Fatal(err)
	}
	want = Format{Sampling: RGBA, Depth: Depth8, Width: 320, Height: 240, Scan: Progressive, Colorimetry: SMPTE240M}
	if s.Streams[0].Format != want {
		t.Errorf("%+v", s.Streams[0].Format)
	}
}

// TestSDPRoundTrip writes sessions and parses them back, and pins the fmtp
// line the writer produces for the spec's stream.
func TestSDPRoundTrip(t *testing.T) {
	s := &Session{Origin: netip.MustParseAddr("192.168.100.2"), ID: 123456, Version: 11,
		Name: "Example of a SMPTE ST2110-20 signal", Groups: []string{"DUP primary secondary"},
		Streams: []Stream{{
			Format: Format{Sampling: YCbCr422, Depth: Depth10, Width: 1280, Height: 720, Scan: Progressive,
				Rate: Rate59_94, Colorimetry: BT709, TCS: SDR},
			PayloadType: 112, Packing: GPM, Sender: SenderNarrow, SSN: DefaultSSN,
			Dst: netip.MustParseAddrPort("239.100.9.10:50000"), TTL: 32, Source: netip.MustParseAddr("192.168.100.2"),
			RefClock: "ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0:37", MediaClock: "direct=0", MID: "primary",
		}, {
			Format: Format{Sampling: RGB, Depth: Depth12, Width: 3840, Height: 2160, Scan: PsF, Rate: Rate25,
				Colorimetry: BT2100, TCS: HLG, Range: Full, PAR: [2]int{1, 1}},
			PayloadType: 98, Packing: BPM, MaxUDP: MaxUDPExtended, Sender: SenderWide, SSN: DefaultSSN, TROff: 640, CMax: 16,
			Dst: netip.MustParseAddrPort("[ff3e::1]:5000"), MediaClock: "direct=0",
		}},
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, line := range []string{
		specFmtp + "\r\n",
		"a=fmtp:98 sampling=RGB; width=3840; height=2160; exactframerate=25; depth=12; TCS=HLG; colorimetry=BT2100; PM=2110BPM; SSN=ST2110-20:2017; TP=2110TPW; interlace; segmented; RANGE=FULL; MAXUDP=8960; PAR=1:1; TROFF=640; CMAX=16;\r\n",
		"m=video 50000 RTP/AVP 112\r\nc=IN IP4 239.100.9.10/32\r\na=source-filter: incl IN IP4 239.100.9.10 192.168.100.2\r\na=rtpmap:112 raw/90000\r\n",
		"c=IN IP6 ff3e::1\r\n",
		"a=group:DUP primary secondary\r\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("SDP lacks %q:\n%s", line, text)
		}
	}
	back, err := ParseSDP(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, s)
	}
}

func TestSDPErrors(t *testing.T) {
	base := strings.Replace(specExample, "a=fmtp:112 (same as above)", specFmtp, 1)
	for _, c := range []struct{ from, to, want string }{
		{"exactframerate=60000/1001", "exactframerate=0", `exactframerate "0"`},
		{"exactframerate=60000/1001", "exactframerate=60000/0", `exactframerate "60000/0"`},
		{"TP=2110TPN;", "TP=2110TPN; MAXUDP=1500;", "MAXUDP 1500"},
		{"TP=2110TPN;", "TP=2110TPN; segmented;", "segmented without interlace"},
		{"sampling=YCbCr-4:2:2", "sampling=YUV", `unknown sampling "YUV"`},
		{"depth=10", "depth=9", `unknown depth "9"`},
		{"width=1280", "width=1281", "width 1281 is not a whole number"},
		{"height=720", "height=40000", `height "40000" out of range`},
		{"PM=2110GPM", "PM=2110XPM", `unknown PM "2110XPM"`},
		{"TP=2110TPN", "TP=2110TPX", `unknown TP "2110TPX"`},
		{"colorimetry=BT709", "colorimetry=BT999", `unknown colorimetry "BT999"`},
		{"a=rtpmap:112 raw/90000", "a=rtpmap:112 raw/48000", "clock rate"},
		{"raw/90000", "H264/90000", "no raw/90000 video media"},
		{"v=0", "x=0", "sdp:"},
	} {
		in := strings.ReplaceAll(base, c.from, c.to)
		_, err := ParseSDP([]byte(in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s -> %s: error %v, want %q", c.from, c.to, err, c.want)
		}
	}
	s := &Session{Streams: []Stream{{Format: Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 64, Scan: Progressive},
		PayloadType: 96, Dst: netip.MustParseAddrPort("239.0.0.1:5000")}}}
	if _, err := s.Marshal(); err == nil || !strings.Contains(err.Error(), "exactframerate is required") {
		t.Errorf("no rate: %v", err)
	}
	s.Streams[0].Format.Rate, s.Streams[0].PayloadType = Rate25, 33
	if _, err := s.Marshal(); err == nil || !strings.Contains(err.Error(), "payload type 33") {
		t.Errorf("static payload type: %v", err)
	}
}

// FuzzParseSDP: never panic; whatever parses and can be written must parse
// back to the same streams.
func FuzzParseSDP(f *testing.F) {
	f.Add([]byte(strings.Replace(specExample, "a=fmtp:112 (same as above)", specFmtp, 1)))
	f.Add([]byte(specExample))
	f.Add([]byte(gstreamerSDP))
	dup := &Session{Streams: []Stream{{Format: Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50},
		PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.1:5004"), Second: Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5004")}}}}
	if b, err := dup.Marshal(); err == nil {
		f.Add(b)
	} else {
		f.Fatal(err)
	}
	for _, name := range []string{"testdata/ff10.sdp", "testdata/ff8.sdp"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSDP(in)
		if err != nil {
			return
		}
		for _, st := range s.Streams {
			if err := st.Format.Validate(); err != nil {
				t.Fatalf("parsed an invalid format %+v: %v", st.Format, err)
			}
		}
		b, err := s.Marshal()
		if err != nil {
			return // e.g. no exactframerate, or a static payload type
		}
		back, err := ParseSDP(b)
		if err != nil {
			t.Fatalf("cannot parse what Marshal wrote: %v\n%s", err, b)
		}
		if len(back.Streams) != len(s.Streams) {
			t.Fatalf("%d streams written, %d read back", len(s.Streams), len(back.Streams))
		}
		for i := range s.Streams {
			if a, b := s.Streams[i].Legs(), back.Streams[i].Legs(); a != b {
				t.Fatalf("stream %d: %d legs written, %d read back", i, a, b)
			}
			want := s.Streams[i].Format
			if want.Colorimetry == 0 {
				want.Colorimetry = ColorimetryUnspecified // the writer must say something
			}
			if back.Streams[i].Format != want {
				t.Fatalf("stream %d: %#v written, %#v read back", i, want, back.Streams[i].Format)
			}
		}
	})
}

// TestParseSDPLimits: a huge SDP, or one with more media than MaxSDPMedia,
// is refused before pion parses it.
func TestParseSDPLimits(t *testing.T) {
	media := "m=video 5000 RTP/AVP 96\r\nc=IN IP4 239.0.0.1/64\r\na=rtpmap:96 raw/90000\r\n" +
		"a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=50; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPN\r\n"
	head := "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nt=0 0\r\n"
	ok := head + strings.Repeat(media, MaxSDPMedia)
	s, err := ParseSDP([]byte(ok))
	if err != nil || len(s.Streams) != MaxSDPMedia {
		t.Fatalf("%d media: %v", MaxSDPMedia, err)
	}
	n := allocated(func() { _, err = ParseSDP([]byte(head + strings.Repeat(media, MaxSDPMedia+1))) })
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d media descriptions, at most %d", MaxSDPMedia+1, MaxSDPMedia)) {
		t.Errorf("%d media: %v", MaxSDPMedia+1, err)
	}
	if n > 1<<20 {
		t.Errorf("refusing %d media allocated %d octets", MaxSDPMedia+1, n)
	}
	huge := []byte(head + strings.Repeat("a=x:y\r\n", MaxSDPSize/7+1))
	if _, err := ParseSDP(huge); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("sdp of %d octets, at most %d", len(huge), MaxSDPSize)) {
		t.Errorf("%d octets: %v", len(huge), err)
	}
	// pion takes a bare CR as a line end too, and blank lines between:
	// m= lines after "\n\r" or "\r" count as well, whatever line ends
	// the SDP uses.
	for _, sep := range []string{"\n\r", "\r", "\r\r", "\n\r\n\r"} {
		in := []byte(strings.ReplaceAll(head+strings.Repeat(media, MaxSDPMedia+1), "\r\nm=", "\r\n"+sep+"m="))
		var s *Session
		n := allocated(func() { s, err = ParseSDP(in) })
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d media descriptions, at most %d", MaxSDPMedia+1, MaxSDPMedia)) {
			streams := -1
			if s != nil {
				streams = len(s.Streams)
			}
			t.Errorf("%d media after %q: %d streams, %v", MaxSDPMedia+1, sep, streams, err)
		}
		// Refused before pion's parse: the input's copy, a few times
		// less than the parse of 1025 media (some 0.86 MB).
		if n > 2*uint64(len(in)) {
			t.Errorf("refusing %d media after %q allocated %d octets (the input is %d): not refused before the parse", MaxSDPMedia+1, sep, n, len(in))
		}
	}
	// pion also ends a c= line at a blank and starts a medium on the
	// rest of it: media chained that way, each m= after its predecessor's
	// c= address, are counted as pion reads them.
	chained := "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 raw/90000\r\n" +
		"a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=50\r\nc=IN IP4 239.0.0.1 "
	in := head + strings.Repeat(chained, MaxSDPMedia+1)
	if s, err := ParseSDP([]byte(in[:len(in)-1] + "\r\n")); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d media descriptions, at most %d", MaxSDPMedia+1, MaxSDPMedia)) {
		streams := -1
		if s != nil {
			streams = len(s.Streams)
		}
		t.Errorf("%d media chained after c= lines: %d streams, %v", MaxSDPMedia+1, streams, err)
	}
	// m= at the very start counts too.
	if _, err := ParseSDP([]byte(strings.Repeat("m=video 1 RTP/AVP 96\n", MaxSDPMedia+1))); err == nil || !strings.Contains(err.Error(), "media descriptions") {
		t.Errorf("m= lines from the first: %v", err)
	}
}

// TestSDPDup: ST 2022-7 pairs (a=group:DUP, RFC 7104) written by Marshal
// and read back by ParseSDP as one flow with two legs, next to a flow on
// one path; other groups stay.
func TestSDPDup(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate59_94, Colorimetry: BT709}
	s := &Session{Origin: netip.MustParseAddr("10.0.0.1"), ID: 7, Version: 1, Name: "dup", Groups: []string{"LS a b"},
		Streams: []Stream{
			{Format: f, PayloadType: 96, Packing: GPM, Sender: SenderNarrow, SSN: DefaultSSN, MediaClock: "direct=0",
				Dst: netip.MustParseAddrPort("239.1.1.1:5004"), TTL: 64, Source: netip.MustParseAddr("10.0.0.1"),
				Second: Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5006"), TTL: 16, Source: netip.MustParseAddr("10.1.0.1")}},
			{Format: f, PayloadType: 97, Packing: GPM, Sender: SenderNarrow, SSN: DefaultSSN, MediaClock: "direct=0",
				Dst: netip.MustParseAddrPort("239.1.1.3:5004")},
			{Format: f, PayloadType: 98, Packing: BPM, Sender: SenderWide, SSN: DefaultSSN, MediaClock: "direct=0", MID: "v3a",
				Dst: netip.MustParseAddrPort("[ff3e::1]:5008"), Second: Leg{Dst: netip.MustParseAddrPort("[ff3e::2]:5008"), MID: "v3b"}},
		}}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, line := range []string{
		"a=group:LS a b\r\n",
		"a=group:DUP primary secondary\r\n",
		"a=group:DUP v3a v3b\r\n",
		"m=video 5004 RTP/AVP 96\r\nc=IN IP4 239.1.1.1/64\r\na=source-filter: incl IN IP4 239.1.1.1 10.0.0.1\r\n",
		"m=video 5006 RTP/AVP 96\r\nc=IN IP4 239.2.1.1/16\r\na=source-filter: incl IN IP4 239.2.1.1 10.1.0.1\r\n",
		"a=mid:primary\r\n", "a=mid:secondary\r\n", "a=mid:v3b\r\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("SDP lacks %q:\n%s", line, text)
		}
	}
	if n := strings.Count(text, "m=video"); n != 5 {
		t.Errorf("%d media descriptions, want 5:\n%s", n, text)
	}
	back, err := ParseSDP(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	want := *s
	want.Streams = append([]Stream(nil), s.Streams...)
	want.Streams[0].MID, want.Streams[0].Second.MID = "primary", "secondary"
	if !reflect.DeepEqual(back, &want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, &want)
	}
	// Written again, the same text: no second DUP group from the MIDs.
	b2, err := back.Marshal()
	if err != nil || string(b2) != text {
		t.Errorf("second round trip differs (%v):\n%s\n---\n%s", err, b2, text)
	}

	// Two pairs without MIDs are numbered.
	two := &Session{Streams: []Stream{s.Streams[0], s.Streams[0]}}
	two.Streams[1].Dst, two.Streams[1].Second.Dst = netip.MustParseAddrPort("239.1.1.9:5004"), netip.MustParseAddrPort("239.2.1.9:5004")
	b, err = two.Marshal()
	if err != nil || !strings.Contains(string(b), "a=group:DUP primary2 secondary2\r\n") {
		t.Errorf("two pairs (%v):\n%s", err, b)
	}
	if back, err := ParseSDP(b); err != nil || len(back.Streams) != 2 || back.Streams[1].Second.Dst.Port() != 5004 {
		t.Errorf("two pairs read back: %+v, %v", back, err)
	}
	// A MID used twice.
	bad := &Session{Streams: []Stream{s.Streams[2], s.Streams[2]}}
	if _, err := bad.Marshal(); err == nil || !strings.Contains(err.Error(), `"v3a" is used twice`) {
		t.Errorf("mid used twice: %v", err)
	}
}

// TestSDPDupErrors: DUP groups that cannot be one ST 2022-7 flow.
func TestSDPDupErrors(t *testing.T) {
	base := strings.Replace(specExample, "a=fmtp:112 (same as above)", specFmtp, 1)
	for _, c := range []struct{ from, to, want string }{
		{"a=group:DUP primary secondary", "a=group:DUP primary primary", "names a=mid:primary twice"},
		{"a=group:DUP primary secondary", "a=group:DUP primary secondary tertiary", "pairs two media, this group has 3"},
		{"a=group:DUP primary secondary", "a=group:DUP primary secondary\r\na=group:DUP secondary primary", "a medium in two DUP groups"},
		{"a=mid:secondary", "a=mid:primary", "two raw video media have a=mid:primary"},
	} {
		in := strings.ReplaceAll(base, c.from, c.to)
		_, err := ParseSDP([]byte(in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s -> %s: error %v, want %q", c.from, c.to, err, c.want)
		}
	}
	// Legs that differ: the second leg's format.
	in := base[:strings.LastIndex(base, specFmtp)] + strings.Replace(specFmtp, "width=1280", "width=1920", 1) + base[strings.LastIndex(base, specFmtp)+len(specFmtp):]
	if _, err := ParseSDP([]byte(in)); err == nil || !strings.Contains(err.Error(), "the legs differ") {
		t.Errorf("legs of two formats: %v", err)
	}
	// A DUP group of media that are not both raw video stays a group.
	in = strings.ReplaceAll(base, "a=group:DUP primary secondary", "a=group:DUP primary audio")
	s, err := ParseSDP([]byte(in))
	if err != nil || len(s.Streams) != 2 || !reflect.DeepEqual(s.Groups, []string{"DUP primary audio"}) || !s.Streams[0].Second.IsZero() {
		t.Errorf("DUP of video and something else: %+v, %v", s, err)
	}
}

// TestSDPSourceFilter: a medium's source is that of the inclusive
// a=source-filter whose destination is the medium's c= address or "*",
// the medium's own, else the session's (RFC 4570); an exclusive filter
// that applies, more than one source (in one filter's list or in two
// filters), and a source that is not an address of the destination's IP
// version, are errors naming the filter.
func TestSDPSourceFilter(t *testing.T) {
	const media = "m=video 5000 RTP/AVP 96\r\nc=IN IP4 239.1.1.1/64\r\n%sa=rtpmap:96 raw/90000\r\n" +
		"a=fmtp:96 sampling=YCbCr-4:2:2; width=64; height=32; depth=10; exactframerate=50\r\n"
	sdpOf := func(session, medium string) string {
		return "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nt=0 0\r\n" + session + fmt.Sprintf(media, medium)
	}
	filter := func(f string) string { return "a=source-filter: " + f + "\r\n" }
	for _, c := range []struct {
		name, session, medium string
		want                  string // the source, or the error
	}{
		{"none", "", "", "invalid IP"},
		{"medium", "", filter("incl IN IP4 239.1.1.1 10.0.0.9"), "10.0.0.9"},
		{"session", filter("incl IN IP4 239.1.1.1 10.0.0.9"), "", "10.0.0.9"},
		{"medium first", filter("incl IN IP4 239.1.1.1 10.0.0.8"), filter("incl IN IP4 239.1.1.1 10.0.0.9"), "10.0.0.9"},
		{"star", "", filter("incl IN * * 10.0.0.9"), "10.0.0.9"},
		{"star type", "", filter("incl IN * 239.1.1.1 10.0.0.9"), "10.0.0.9"},
		{"another group", "", filter("incl IN IP4 239.9.9.9 10.0.0.9"), "invalid IP"},
		{"another group, then ours", "", filter("incl IN IP4 239.9.9.9 10.0.0.8") + filter("incl IN IP4 239.1.1.1 10.0.0.9"), "10.0.0.9"},
		{"another group's, session's ours", filter("incl IN IP4 239.1.1.1 10.0.0.9"), filter("incl IN IP4 239.9.9.9 10.0.0.8"), "10.0.0.9"},
		{"host name", "", filter("incl IN IP4 group.example 10.0.0.9"), "invalid IP"},
		// One source per stream: a list, or a second filter naming
		// another, is refused, naming the line, not cut to its first
		// (the receivers would drop the second source's packets).
		{"two sources", "", filter("incl IN IP4 239.1.1.1 10.0.0.9 10.0.0.10"),
			"sdp media 1 (port 5000): a=source-filter: incl IN IP4 239.1.1.1 10.0.0.9 10.0.0.10: 2 sources; only one source per stream is supported"},
		{"two sources at the session", filter("incl IN IP4 * 10.0.0.9 10.0.0.10"), "", "2 sources; only one source per stream"},
		{"two filters", "", filter("incl IN IP4 239.1.1.1 10.0.0.9") + filter("incl IN * * 10.0.0.10"),
			"a=source-filter: incl IN * * 10.0.0.10: a second source for 239.1.1.1 (a=source-filter: incl IN IP4 239.1.1.1 10.0.0.9 names 10.0.0.9); only one source per stream"},
		{"two filters, one source", "", filter("incl IN IP4 239.1.1.1 10.0.0.9") + filter("incl IN * * 10.0.0.9"), "10.0.0.9"},
		{"two sources for another group", "", filter("incl IN IP4 239.9.9.9 10.0.0.9 10.0.0.10") + filter("incl IN IP4 239.1.1.1 10.0.0.8"), "10.0.0.8"},
		{"incl, then excl", "", filter("incl IN IP4 239.1.1.1 10.0.0.9") + filter("excl IN IP4 239.1.1.1 10.0.0.10"), "exclusive source filters are not supported"},
		{"excl", "", filter("excl IN IP4 239.1.1.1 10.0.0.9"), "exclusive source filters are not supported"},
		{"excl at the session", filter("excl IN IP4 * 10.0.0.9"), "", "exclusive source filters are not supported"},
		{"excl for another group", "", filter("excl IN IP4 239.9.9.9 10.0.0.9"), "invalid IP"},
		{"garbage", "", filter("incl IN IP4 239.1.1.1 notanaddr"), `source "notanaddr" is not an IP address`},
		{"zone", "", filter("incl IN IP6 239.1.1.1 fe80::1%eth0"), `source "fe80::1%eth0" is not an IP address`},
		{"type", "", filter("incl IN IP4 239.1.1.1 fe80::1"), "source fe80::1 is not an IP4 address"},
		{"mapped", "", filter("incl IN IP4 239.1.1.1 ::ffff:10.0.0.9"), "is not an IP4 address"},
		{"version", "", filter("incl IN * 239.1.1.1 fe80::1"), "not of one IP version"},
		{"mode", "", filter("only IN IP4 239.1.1.1 10.0.0.9"), `filter mode "only"`},
		{"upper case", "", filter("INCL in ip4 239.1.1.1 10.0.0.9"), "10.0.0.9"}, // RFC 4570's ABNF literals are case-insensitive
		{"short", "", filter("incl IN IP4 239.1.1.1"), "want incl|excl IN"},
	} {
		s, err := ParseSDP([]byte(sdpOf(c.session, c.medium)))
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = s.Streams[0].Source.String()
		}
		if !strings.Contains(got, c.want) || err == nil && got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// FuzzSDPRoundTrip: every Session that Marshal accepts, ParseSDP reads
// back as it was, the values Marshal fills in (defaults, the a=mid of a
// pair's legs) aside; what it cannot write so it refuses with an error,
// never a panic. The fuzzed fields are the strings, numbers and addresses
// a caller sets.
func FuzzSDPRoundTrip(f *testing.F) {
	f.Add("x", "", "", "", "ptp=IEEE1588-2008:traceable", "", "", "", 0, 0, 0, 0, []byte{239, 1, 1, 1}, []byte{10, 0, 0, 1}, uint16(5004), uint8(96), false, 0, 0, []byte{10, 0, 0, 1})
	f.Add("Example", "info", "LS 1 2", DefaultSSN, "local", "direct=0", "primary", "secondary", 64, 640, 16, MaxUDPExtended,
		[]byte{239, 100, 9, 10}, []byte{192, 168, 100, 2}, uint16(50000), uint8(112), true, 16, 9, []byte{192, 168, 100, 2})
	f.Add("x\r\na=group:DUP q r", "i\n", "DUP a b", "x;\r\na=foo", "ptp=x\r\nm=audio 9 RTP/AVP 0", "d\r", "a", "b", 300, -3, -1, 7,
		[]byte{0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(0), uint8(5), true, 0, 1, []byte(nil))
	f.Fuzz(func(t *testing.T, name, info, group, ssn, refclk, mediaclk, mid, mid2 string, ttl, troff, cmax, maxudp int,
		dst, src []byte, port uint16, pt uint8, second bool, parW, parH int, origin []byte) {
		addr := func(b []byte) netip.Addr { a, _ := netip.AddrFromSlice(b); return a }
		st := Stream{Format: Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50, PAR: [2]int{parW, parH}},
			PayloadType: pt, SSN: ssn, TROff: troff, CMax: cmax, MaxUDP: maxudp,
			Dst: netip.AddrPortFrom(addr(dst), port), TTL: ttl, Source: addr(src), RefClock: refclk, MediaClock: mediaclk, MID: mid}
		if second {
			st.Second = Leg{Dst: netip.AddrPortFrom(addr(src), port+2), MID: mid2}
		}
		s := &Session{Origin: addr(origin), ID: 7, Version: 2, Name: name, Info: info, Streams: []Stream{st}}
		if group != "" {
			s.Groups = []string{group}
		}
		b, err := s.Marshal()
		if err != nil {
			return
		}
		back, err := ParseSDP(b)
		if err != nil {
			t.Fatalf("cannot parse what Marshal wrote: %v\n%s", err, b)
		}
		want := *s
		want.Streams = []Stream{st}
		if want.Name == "" {
			want.Name = "-"
		}
		if !want.Origin.IsValid() {
			want.Origin = netip.IPv4Unspecified()
		}
		w := &want.Streams[0]
		w.Packing, w.Sender, w.Format.Colorimetry = GPM, SenderWide, ColorimetryUnspecified
		if w.SSN == "" {
			w.SSN = DefaultSSN
		}
		if w.MediaClock == "" {
			w.MediaClock = "direct=0"
		}
		if second {
			if w.MID == "" {
				w.MID = "primary"
			}
			if w.Second.MID == "" {
				w.Second.MID = "secondary"
			}
			if len(want.Groups) == 1 && want.Groups[0] == "DUP "+w.MID+" "+w.Second.MID {
				want.Groups = nil // Marshal writes it once, and ParseSDP takes it as the pair's
			}
		}
		if !reflect.DeepEqual(back, &want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v\n%s", back, &want, b)
		}
	})
}

// TestSDPMarshalRefuses: Marshal refuses, naming the field, what ParseSDP
// would refuse or read back otherwise, and line breaks that would inject
// lines of their own.
func TestSDPMarshalRefuses(t *testing.T) {
	base := Stream{Format: Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50},
		PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.1:5000")}
	for _, c := range []struct {
		name string
		edit func(s *Session)
		want string
	}{
		{"TTL on IPv6", func(s *Session) { s.Streams[0].Dst = netip.MustParseAddrPort("[ff0e::1]:5000"); s.Streams[0].TTL = 64 }, "TTL 64: c= has a TTL for IPv4 multicast only"},
		{"TTL on unicast", func(s *Session) { s.Streams[0].Dst = netip.MustParseAddrPort("10.0.0.2:5000"); s.Streams[0].TTL = 64 }, "for IPv4 multicast only"},
		{"TTL 300", func(s *Session) { s.Streams[0].TTL = 300 }, "TTL 300 out of range"},
		{"TTL -5", func(s *Session) { s.Streams[0].TTL = -5 }, "TTL -5 out of range"},
		{"second leg's TTL", func(s *Session) {
			s.Streams[0].Second = Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5000"), TTL: 256}
		}, "TTL 256 out of range"},
		{"TROFF", func(s *Session) { s.Streams[0].TROff = -3 }, "negative TROFF (-3)"},
		{"CMAX", func(s *Session) { s.Streams[0].CMax = -1 }, "CMAX (-1)"},
		{"MAXUDP", func(s *Session) { s.Streams[0].MaxUDP = 7 }, "MAXUDP 7"},
		{"ts-refclk", func(s *Session) { s.Streams[0].RefClock = "ptp=x\r\nm=audio 9 RTP/AVP 0" }, "a=ts-refclk"},
		{"mediaclk", func(s *Session) { s.Streams[0].MediaClock = "direct=0\n" }, "a=mediaclk"},
		{"name", func(s *Session) { s.Name = "x\r\na=group:DUP q r" }, "session Name"},
		{"info", func(s *Session) { s.Info = "x\n" }, "session Info"},
		{"group", func(s *Session) { s.Groups = []string{"LS 1\r\na=x"} }, "a=group"},
		{"SSN", func(s *Session) { s.Streams[0].SSN = "x;\r\na=foo" }, "SSN"},
		{"SSN blank", func(s *Session) { s.Streams[0].SSN = "ST2110-20:2017 x" }, "SSN"},
		{"mid", func(s *Session) { s.Streams[0].MID = "a:b" }, "is not a token"},
		{"source version", func(s *Session) { s.Streams[0].Source = netip.MustParseAddr("fe80::1") }, "source fe80::1 of destination 239.1.1.1"},
		{"source zone", func(s *Session) {
			s.Streams[0].Dst = netip.MustParseAddrPort("[ff3e::1]:5000")
			s.Streams[0].Source = netip.MustParseAddr("fe80::1%eth0")
		}, "source fe80::1%eth0"},
		{"mapped destination", func(s *Session) { s.Streams[0].Dst = netip.MustParseAddrPort("[::ffff:239.1.1.1]:5000") }, "destination ::ffff:239.1.1.1"},
		{"DUP group of two media", func(s *Session) {
			s.Streams[0].MID = "a"
			b := base
			b.Dst, b.MID = netip.MustParseAddrPort("239.1.1.2:5000"), "b"
			s.Streams = append(s.Streams, b)
			s.Groups = []string{"DUP a b"}
		}, "a=group:DUP a b names two media"},
	} {
		s := &Session{Name: "x", Streams: []Stream{base}}
		c.edit(s)
		b, err := s.Marshal()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q\n%s", c.name, err, c.want, b)
		}
	}
	// The edits' valid neighbours are written.
	s := &Session{Name: "x", Groups: []string{"DUP a x"}, Streams: []Stream{base}}
	s.Streams[0].TTL, s.Streams[0].TROff, s.Streams[0].MaxUDP, s.Streams[0].MID = 255, 0, MaxUDP, "a"
	s.Streams[0].Source = netip.MustParseAddr("10.0.0.1")
	if _, err := s.Marshal(); err != nil {
		t.Error(err)
	}
}

// TestSDPStrictMedia: ParseSDP refuses, naming the line, a raw video
// payload type that the m= line does not list or that is 0 (which the
// receivers take as any payload type), a c= address that is not an IP
// address of its address type or that counts more than one address (RFC
// 4566 section 5.7, IPv4 and IPv6 alike), an m= line that counts more than
// one port or whose transport is not RTP/AVP or RTP/AVPF (section 5.14),
// and an exactframerate outside 1/1000 to
// 1000 pictures per second (a frame period of 0 or of more than the 32-bit
// RTP clock's 13 hours).
func TestSDPStrictMedia(t *testing.T) {
	const fmtp = "a=fmtp:%d sampling=YCbCr-4:2:2; width=64; height=32; depth=10; exactframerate=%s\r\n"
	medium := func(mpt, pt int, c, rate string) string {
		return "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nt=0 0\r\n" +
			fmt.Sprintf("m=video 5000 RTP/AVP %d\r\nc=%s\r\na=rtpmap:%d raw/90000\r\n"+fmtp, mpt, c, pt, pt, rate)
	}
	for _, c := range []struct{ name, sdp, want string }{
		{"payload type not listed", medium(97, 96, "IN IP4 239.1.1.1/64", "50"), "payload type 96 is not in the m= line's formats [97]"},
		{"payload type 0", medium(0, 0, "IN IP4 239.1.1.1/64", "50"), "payload type 0 is not dynamic"},
		{"IPv4 as IP6", medium(96, 96, "IN IP6 239.1.1.1", "50"), "239.1.1.1 is not an IP6 address"},
		{"IPv6 as IP4", medium(96, 96, "IN IP4 ff0e::1", "50"), "ff0e::1 is not an IP4 address"},
		{"host name", medium(96, 96, "IN IP4 example.com", "50"), `"example.com" is not an IP address`},
		{"zone", medium(96, 96, "IN IP6 ff02::1%eth0", "50"), `"ff02::1%eth0" is not an IP address`},
		{"rate 1e6", medium(96, 96, "IN IP4 239.1.1.1/64", "1000000"), `exactframerate "1000000": want 1/1000 to 1000`},
		{"rate max", medium(96, 96, "IN IP4 239.1.1.1/64", "4294967295"), `exactframerate "4294967295": want`},
		{"rate tiny", medium(96, 96, "IN IP4 239.1.1.1/64", "1/4294967295"), `exactframerate "1/4294967295": want`},
		{"rate 1/1001", medium(96, 96, "IN IP4 239.1.1.1/64", "1/1001"), `exactframerate "1/1001": want`},
		// A number of addresses (RFC 4566 section 5.7) other than 1,
		// IPv4's after the TTL, IPv6's (which has no TTL) after the
		// address: one stream on that many groups.
		{"IPv4 count", medium(96, 96, "IN IP4 239.1.1.1/32/3", "50"), "c=IN IP4 239.1.1.1/32/3: 3 consecutive addresses (RFC 4566 section 5.7); only one address per stream is supported"},
		{"IPv6 count", medium(96, 96, "IN IP6 ff15::1/3", "50"), "c=IN IP6 ff15::1/3: 3 consecutive addresses (RFC 4566 section 5.7); only one address per stream is supported"},
		{"IPv4 count 0", medium(96, 96, "IN IP4 239.1.1.1/32/0", "50"), `number of addresses "0": want a positive integer`},
		{"IPv6 count 0", medium(96, 96, "IN IP6 ff15::1/0", "50"), `number of addresses "0": want a positive integer`},
		{"IPv4 count garbage", medium(96, 96, "IN IP4 239.1.1.1/32/x", "50"), `number of addresses "x"`},
		{"IPv4 count and more", medium(96, 96, "IN IP4 239.1.1.1/32/1/1", "50"), `number of addresses "1/1"`},
		{"IPv6 TTL and count", medium(96, 96, "IN IP6 ff15::1/64/3", "50"), `c=IN IP6 ff15::1/64/3: number of addresses "64/3"`},
		{"IPv4 TTL 300", medium(96, 96, "IN IP4 239.1.1.1/300", "50"), `c=IN IP4 239.1.1.1/300: TTL "300"`},
		{"IPv4 TTL garbage", medium(96, 96, "IN IP4 239.1.1.1/x", "50"), `c=IN IP4 239.1.1.1/x: TTL "x": want an integer 0..255`},
		// A number of ports (RFC 4566 section 5.14) other than 1: one
		// stream on that many RTP ports, of which only the first was
		// taken.
		{"port count", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "m=video 5000 ", "m=video 5000/2 ", 1), "m=video 5000/2: 2 ports (RFC 4566 section 5.14); only one port per stream is supported"},
		{"port count +2", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "m=video 5000 ", "m=video 5000/+2 ", 1), "m=video 5000/+2: 2 ports (RFC 4566 section 5.14)"},
		{"port count 0", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "m=video 5000 ", "m=video 5000/0 ", 1), "m=video 5000/0: number of ports 0: want a positive integer"},
		{"port count -2", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "m=video 5000 ", "m=video 5000/-2 ", 1), "m=video 5000/-2: number of ports -2: want a positive integer"},
		// A transport the receivers cannot take: RTP over TCP never
		// reaches the UDP port, SRTP's samples are encrypted.
		{"RTP over TCP", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "RTP/AVP", "TCP/RTP/AVP", 1), "(port 5000): m=video 5000: transport TCP/RTP/AVP; raw video is received as RTP/AVP (or RTP/AVPF) over UDP"},
		{"SRTP", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "RTP/AVP", "RTP/SAVP", 1), "m=video 5000: transport RTP/SAVP;"},
		{"DTLS-SRTP", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "RTP/AVP", "UDP/TLS/RTP/SAVPF", 1), "transport UDP/TLS/RTP/SAVPF"},
		{"UDP without RTP", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "RTP/AVP", "UDP", 1), "m=video 5000: transport UDP;"},
	} {
		if _, err := ParseSDP([]byte(c.sdp)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct{ name, sdp string }{
		{"two formats", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "RTP/AVP 96", "RTP/AVP 97 96", 1)},
		{"IPv6", medium(96, 96, "IN IP6 ff0e::1", "50")},
		{"rate 1000", medium(96, 96, "IN IP4 239.1.1.1/64", "1000")},
		{"rate 1/1000", medium(96, 96, "IN IP4 239.1.1.1/64", "1/1000")},
		{"rate 2000/2", medium(96, 96, "IN IP4 239.1.1.1/64", "2000/2")},
		{"port count 1", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "m=video 5000 ", "m=video 5000/1 ", 1)},
		{"RTP/AVPF", strings.Replace(medium(96, 96, "IN IP4 239.1.1.1/64", "50"), "RTP/AVP", "RTP/AVPF", 1)},
	} {
		if _, err := ParseSDP([]byte(c.sdp)); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A count of 1 is the address written.
	for _, c := range []struct {
		c, dst string
		ttl    int
	}{{"IN IP4 239.1.1.1/32/1", "239.1.1.1:5000", 32}, {"IN IP6 ff15::1/1", "[ff15::1]:5000", 0}} {
		s, err := ParseSDP([]byte(medium(96, 96, c.c, "50")))
		if err != nil {
			t.Errorf("c=%s: %v", c.c, err)
			continue
		}
		if st := s.Streams[0]; st.Dst.String() != c.dst || st.TTL != c.ttl {
			t.Errorf("c=%s: destination %v TTL %d, want %s TTL %d", c.c, st.Dst, st.TTL, c.dst, c.ttl)
		}
	}
}

// A TTL on a unicast c= address (RFC 4566 allows one only with a
// multicast address) is dropped, so that what ParseSDP reads Marshal
// writes back.
func TestSDPUnicastTTL(t *testing.T) {
	sdp := "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\nc=IN IP4 192.168.1.20/64\r\n" +
		"a=rtpmap:96 raw/90000\r\na=fmtp:96 sampling=YCbCr-4:2:2; width=64; height=32; depth=10; exactframerate=50\r\n"
	s, err := ParseSDP([]byte(sdp))
	if err != nil {
		t.Fatal(err)
	}
	if s.Streams[0].TTL != 0 {
		t.Errorf("TTL %d on a unicast address, want 0", s.Streams[0].TTL)
	}
	if _, err := s.Marshal(); err != nil {
		t.Errorf("Marshal of what ParseSDP read: %v", err)
	}
}

// TestSDPSessionFiltersCost: session-level a=source-filter lines are read
// once, not again for each medium: a 1 MiB SDP of MaxSDPMedia media and
// some twenty thousand session filters (for another group, for the media's
// group, or for "*") costs what its size does. Read per medium it
// allocated 1.5 GB and took seconds.
func TestSDPSessionFiltersCost(t *testing.T) {
	media := "m=video 5000 RTP/AVP 96\nc=IN IP4 239.0.0.1\na=rtpmap:96 raw/90000\na=fmtp:96 sampling=YCbCr-4:2:2;width=2;height=1;depth=10\n"
	head := "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=x\nt=0 0\n"
	for _, filt := range []string{"incl IN IP4 239.9.9.9 10.0.0.2", "incl IN IP4 239.0.0.1 10.0.0.2", "incl IN IP4 * 10.0.0.2"} {
		line := "a=source-filter: " + filt + "\n"
		k := (MaxSDPSize - len(head) - MaxSDPMedia*len(media)) / len(line)
		in := []byte(head + strings.Repeat(line, k) + strings.Repeat(media, MaxSDPMedia))
		var s *Session
		var err error
		n := allocated(func() { s, err = ParseSDP(in) })
		if err != nil || len(s.Streams) != MaxSDPMedia {
			t.Fatalf("%s: %v", filt, err)
		}
		if n > 64<<20 {
			t.Errorf("%d session filters %q, %d media: %d octets allocated", k, filt, MaxSDPMedia, n)
		}
	}
}

// TestSDPSessionFiltersSame: the session's filters read once give each
// destination what reading them in order for it gives (refSourceFilter,
// the loop ParseSDP ran for each medium, but for naming the first filter
// of a source, not the last, in the error for a second source), on random
// lists of filters.
func TestSDPSessionFiltersSame(t *testing.T) {
	lines := []string{
		"incl IN IP4 239.1.1.1 10.0.0.1", "incl IN IP4 239.1.1.1 10.0.0.2", "incl IN IP4 239.2.2.2 10.0.0.1",
		"incl IN IP4 * 10.0.0.1", "incl IN * * 10.0.0.2", "incl IN * * 10.0.0.1", "incl IN IP6 * fe80::1",
		"incl IN IP6 ff3e::1 fe80::1", "incl IN IP6 ::ffff:239.1.1.1 10.0.0.1", "excl IN IP4 239.2.2.2 10.0.0.1",
		"excl IN * * 10.0.0.1", "incl IN IP4 239.1.1.1 10.0.0.1 10.0.0.2", "incl IN IP4", "incl IN IP4 host.example 10.0.0.1",
		"incl IN IP4 239.1.1.1 fe80::1", "incl IN IP4 * nope", "only IN IP4 * 10.0.0.1",
	}
	dsts := []netip.Addr{{}, netip.MustParseAddr("239.1.1.1"), netip.MustParseAddr("239.2.2.2"), netip.MustParseAddr("::ffff:239.1.1.1"),
		netip.MustParseAddr("ff3e::1"), netip.MustParseAddr("239.3.3.3")}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var attrs []sdp.Attribute
		for range rng.IntN(8) {
			if rng.IntN(8) == 0 {
				attrs = append(attrs, sdp.Attribute{Key: "group", Value: "DUP a b"})
			}
			attrs = append(attrs, sdp.Attribute{Key: "source-filter", Value: " " + lines[rng.IntN(len(lines))]})
		}
		sf := readSessionFilters(attrs)
		for range 2 { // the second time from the memo
			for _, dst := range dsts {
				src, found, err := sf.source(dst)
				rsrc, rfound, rerr := refSourceFilter(attrs, dst)
				if src != rsrc || found != rfound || fmt.Sprint(err) != fmt.Sprint(rerr) {
					t.Fatalf("%v for %v: %v %v %v; want %v %v %v", attrs, dst, src, found, err, rsrc, rfound, rerr)
				}
				if src2, found2, err2 := sourceFilter(attrs, dst); src2 != rsrc || found2 != rfound || fmt.Sprint(err2) != fmt.Sprint(rerr) {
					t.Fatalf("%v for %v: sourceFilter %v %v %v; want %v %v %v", attrs, dst, src2, found2, err2, rsrc, rfound, rerr)
				}
			}
		}
	}
}

// TestSDPSessionFiltersLinear: a destination applies its own filters
// and, of a run of "*" filters naming one source, only the first (the
// rest change nothing), so at most two "*" filters (a second source ends
// the search with an error); and a destination met again, by another
// medium, applies nothing. The filters applied for all the media stay
// within two per destination plus the filters, however many media share
// the destinations. (Without the run-skipping: destinations times "*"
// filters; without the memo: media times filters per destination.)
func TestSDPSessionFiltersLinear(t *testing.T) {
	const dsts, mediaPerDst, stars = 16, 100, 100
	var attrs []sdp.Attribute
	filter := func(v string) { attrs = append(attrs, sdp.Attribute{Key: "source-filter", Value: " " + v}) }
	dst := func(d int) netip.Addr { return netip.AddrFrom4([4]byte{239, 0, 0, byte(d)}) }
	for k := range stars {
		filter("incl IN IP4 * 10.0.0.1")
		if k%(stars/dsts) == 0 && k/(stars/dsts) < dsts {
			filter(fmt.Sprintf("incl IN IP4 %v 10.0.0.1", dst(k/(stars/dsts))))
		}
	}
	sf := readSessionFilters(attrs)
	for range mediaPerDst {
		for d := range dsts {
			if src, found, err := sf.source(dst(d)); err != nil || !found || src != netip.MustParseAddr("10.0.0.1") {
				t.Fatalf("%v: %v %v %v", dst(d), src, found, err)
			}
		}
	}
	if limit := 2*dsts + len(sf.list); sf.applied > limit {
		t.Errorf("%d media of %d destinations, %d filters: %d filters applied, want at most %d", dsts*mediaPerDst, dsts, len(sf.list), sf.applied, limit)
	}
}

// refSourceFilter is sourceFilter as it was: each filter read where it is
// met, in order.
func refSourceFilter(attrs []sdp.Attribute, dst netip.Addr) (src netip.Addr, found bool, err error) {
	first := ""
	for _, a := range attrs {
		if a.Key != "source-filter" {
			continue
		}
		f := strings.Fields(a.Value)
		if len(f) >= 3 {
			f[0], f[1], f[2] = strings.ToLower(f[0]), strings.ToUpper(f[1]), strings.ToUpper(f[2])
		}
		if len(f) < 5 || f[1] != "IN" || f[2] != "IP4" && f[2] != "IP6" && f[2] != "*" {
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: want incl|excl IN IP4|IP6|* <destination> <sources>", a.Value)
		}
		if f[3] != "*" {
			if d, err := netip.ParseAddr(f[3]); err != nil || d.Unmap() != dst.Unmap() {
				continue
			}
		}
		switch f[0] {
		case "incl":
		case "excl":
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: exclusive source filters are not supported (a stream takes one source or any)", a.Value)
		default:
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: filter mode %q, want incl or excl", a.Value, f[0])
		}
		if n := len(f) - 4; n > 1 {
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: %d sources; only one source per stream is supported (the receivers join and take one source)", a.Value, n)
		}
		s, err := netip.ParseAddr(f[4])
		switch {
		case err != nil || s.Zone() != "":
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: source %q is not an IP address", a.Value, f[4])
		case f[2] == "IP4" && !s.Is4(), f[2] == "IP6" && !s.Is6():
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: source %v is not an %s address", a.Value, s, f[2])
		case dst.IsValid() && s.Is4() != dst.Unmap().Is4():
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: source %v and destination %v are not of one IP version", a.Value, s, dst)
		case found && s != src:
			return netip.Addr{}, false, fmt.Errorf("a=source-filter:%s: a second source for %v (a=source-filter:%s names %v); only one source per stream is supported (the receivers join and take one source)", a.Value, dst, first, src)
		}
		if !found {
			first = a.Value
		}
		src, found = s, true
	}
	return src, found, nil
}

// ParseFmtp's allocation does not grow with the number of distinct keys
// it does not know (nor with their case, or non-ASCII letters): it keeps
// no record of them. It used to keep a map entry for each, some nine
// times the input in allocation.
func TestParseFmtpUnknownKeysAllocate(t *testing.T) {
	const base = "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=50"
	allocs := func(keys int, form string) float64 {
		var b strings.Builder
		b.WriteString(base)
		for i := range keys {
			fmt.Fprintf(&b, "; "+form+"=%d", i, i)
		}
		in := b.String()
		if _, err := ParseFmtp(in); err != nil {
			t.Fatalf("%d unknown keys: %v", keys, err)
		}
		return testing.AllocsPerRun(20, func() { ParseFmtp(in) })
	}
	for _, form := range []string{"x-unknown-%d", "X-Unknown-%d", "Ünknown-%d"} {
		few, many := allocs(10, form), allocs(1000, form)
		if many > few {
			t.Errorf("ParseFmtp with keys %q: %v allocations for 10 unknown keys, %v for 1000", form, few, many)
		}
	}
}

// ParseFmtp reads a key in any case, as strings.ToLower lowers it (a
// non-ASCII letter too: U+0130, İ, is i; but U+017F, ſ, which folds to s,
// is not lowered to it), and takes no longer key for one it knows.
func TestParseFmtpKeyCase(t *testing.T) {
	s, err := ParseFmtp("SAMPLING=YCbCr-4:2:2; Width=64; hEIGHT=32; depth=10; \u0130NTERLACE; exactframerate=25; \u017fampling=bad")
	if err != nil {
		t.Fatal(err)
	}
	if s.Format.Scan != Interlaced || s.Format.Width != 64 || s.Format.Height != 32 || s.Format.Sampling != YCbCr422 {
		t.Errorf("got %+v", s.Format)
	}
	if _, err := ParseFmtp("sampling=YCbCr-4:2:2; width=64; height=32; depthx=10"); err == nil || err.Error() != "video: fmtp lacks depth" {
		t.Errorf("depthx for depth: %v", err)
	}
}

// ParseFmtp's allocation does not grow with how often a key it reads is
// repeated (the last one counts, as in FFmpeg's RFC 4175 reader): an SDP
// must not choose how many allocations its parse costs. Each
// exactframerate used to reduce its rate with a big.Int GCD, five
// allocations a repetition.
func TestParseFmtpRepeatedKeysAllocate(t *testing.T) {
	const base = "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=50"
	for _, kv := range []string{
		"sampling=YCbCr-4:2:2", "depth=10", "width=1920", "height=1080",
		"exactframerate=60000/1001", "exactframerate=2971215073/1836311903",
		"colorimetry=BT709", "TCS=SDR", "RANGE=FULL", "PAR=12:11", "interlace", "segmented",
		"PM=2110GPM", "TP=2110TPN", "SSN=ST2110-20:2017", "MAXUDP=1460", "TROFF=10", "CMAX=4",
	} {
		allocs := func(n int) float64 {
			in := base + "; interlace" + strings.Repeat("; "+kv, n)
			if _, err := ParseFmtp(in); err != nil {
				t.Fatalf("%s repeated %d times: %v", kv, n, err)
			}
			return testing.AllocsPerRun(20, func() { ParseFmtp(in) })
		}
		if few, many := allocs(1), allocs(1000); many > few {
			t.Errorf("ParseFmtp with %s: %v allocations with it once, %v with it 1000 times", kv, few, many)
		}
	}
}

// TestParseFmtpLastValueCounts: of a key given twice the last value counts
// (as in FFmpeg's RFC 4175 reader), and a value that does not read refuses
// the line even if a later one reads, as ParseFmtp says.
func TestParseFmtpLastValueCounts(t *testing.T) {
	const base = "sampling=YCbCr-4:2:2; width=64; height=32; depth=10; "
	for _, c := range []struct {
		params string
		check  func(Format) bool
	}{
		{"width=64; width=128", func(f Format) bool { return f.Width == 128 }},
		{"interlace; interlace=0", func(f Format) bool { return f.Scan == Progressive }},
		{"interlace=0; interlace", func(f Format) bool { return f.Scan == Interlaced }},
		{"exactframerate=50; exactframerate=60000/1001", func(f Format) bool { return f.Rate == Rate{60000, 1001} }},
		{"colorimetry=BT2020; colorimetry=BT709", func(f Format) bool { return f.Colorimetry == BT709 }},
	} {
		s, err := ParseFmtp(base + c.params)
		if err != nil {
			t.Errorf("%s: %v", c.params, err)
		} else if !c.check(s.Format) {
			t.Errorf("%s: %v, want the last value read", c.params, s.Format)
		}
	}
	for _, p := range []string{"exactframerate=0; exactframerate=50", "width=0; width=64", "PM=none; PM=2110GPM"} {
		if s, err := ParseFmtp(base + p); err == nil {
			t.Errorf("%s: %+v, want an error for the first value", p, s.Format)
		}
	}
}

// Each key of fmtpKeys is a distinct lower-case name that fmtpKey finds,
// as written and in upper case: a key longer than fmtpKey's buffer would
// never be read.
func TestFmtpKeys(t *testing.T) {
	for i, k := range fmtpKeys {
		if k.name != strings.ToLower(k.name) {
			t.Errorf("fmtpKeys[%d] %q is not lower case", i, k.name)
		}
		for _, s := range []string{k.name, strings.ToUpper(k.name)} {
			if got := fmtpKey(s); got != i {
				t.Errorf("fmtpKey(%q) = %d, want %d", s, got, i)
			}
		}
	}
}

// TestSDPMarshalGroupsLinear: Marshal looks each of Groups up among the
// pairs' DUP groups at a cost that does not grow with the pairs: a
// session read from a 1 MiB SDP can hold 512 pairs and some 25000 groups
// of its own, which a search of the pairs' list for each group (twice: to
// check and to write) made 25 million string comparisons. The lookups
// answer from the set alone, so they are made here with the list hidden:
// a search of it would find no pair's group, and would refuse DUP a7 b7
// (it names two media) or write it among the others. With the tag
// nmgo_workcount (go test -tags nmgo_workcount ./video) the lookups are
// counted too: at most two a group. A group of Groups that is one of the
// pairs' is written once.
func TestSDPMarshalGroupsLinear(t *testing.T) {
	const pairs, groups = MaxSDPMedia / 2, 25000
	s := &Session{}
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 2, Height: 1, Scan: Progressive, Rate: Rate50}
	for i := range pairs {
		s.Streams = append(s.Streams, Stream{Format: f, PayloadType: 96,
			Dst:    netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 0, byte(i >> 8), byte(i)}), 5000),
			MID:    fmt.Sprintf("a%d", i),
			Second: Leg{Dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 1, byte(i >> 8), byte(i)}), 5000), MID: fmt.Sprintf("b%d", i)}})
	}
	for i := range groups {
		s.Groups = append(s.Groups, fmt.Sprintf("DUP x%d y%d", i, i))
	}
	s.Groups = append(s.Groups, "DUP a7 b7")
	mids, dups, err := s.legMIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(dups.list) != pairs {
		t.Fatalf("%d pairs' groups, want %d", len(dups.list), pairs)
	}
	// The set alone answers has: the list holds a decoy the set does
	// not, which a search of the list, instead of the set or as well,
	// would take for a pair's group (not written with Groups, but last).
	const decoy = "DUP x0 y0"
	dups.list = []string{decoy}
	if err := s.checkGroups(mids, &dups); err != nil {
		t.Fatal(err)
	}
	sd := &sdp.SessionDescription{}
	s.writeGroups(sd, &dups)
	if n := len(sd.Attributes); n != groups+1 || sd.Attributes[0].Value != decoy || sd.Attributes[n-1].Value != decoy ||
		sd.Attributes[groups-1].Value != fmt.Sprintf("DUP x%d y%d", groups-1, groups-1) {
		t.Errorf("%d groups written of %d, want all but the pair's DUP a7 b7, then the list's %q", n, len(s.Groups), decoy)
	}
	if n, limit := dups.lookups.get(), 2*uint64(len(s.Groups)); counting && n > limit {
		t.Errorf("%d groups, %d pairs: %d lookups, want at most %d", len(s.Groups), pairs, n, limit)
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "a=group:DUP a7 b7\r\n"); n != 1 {
		t.Errorf("a=group:DUP a7 b7 written %d times", n)
	}
	if i, j := strings.Index(string(b), "a=group:DUP a7 b7\r\n"), strings.Index(string(b), "a=group:DUP a6 b6\r\n"); j < 0 || i < j {
		t.Errorf("a=group:DUP a7 b7 at %d, not after a=group:DUP a6 b6 (at %d) among the pairs'", i, j)
	}
}

// parseFmtp leaves the stream as it was when the line is refused, by a
// key's value, a key missing or the format it describes.
func TestParseFmtpErrorLeavesStream(t *testing.T) {
	for _, in := range []string{
		"sampling=RGB; width=64; height=32; depth=10; exactframerate=50; PM=bad",
		"sampling=RGB; width=64; height=32; exactframerate=50",
		"sampling=YCbCr-4:2:0; width=63; height=32; depth=10; exactframerate=50",
	} {
		s := Stream{PayloadType: 97, SSN: "x", Format: Format{Width: 2}}
		want := s
		if err := s.parseFmtp(in); err == nil || s != want {
			t.Errorf("%q: %v, stream %+v, want %+v", in, err, s, want)
		}
	}
}
