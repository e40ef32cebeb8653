package interop

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/nmgo/nmgo/video"
)

// format is one video format the tests carry between nmgo and a peer.
type format struct {
	name   string // subtest name
	fmtp   string // nmbench -fmt, in SDP fmtp syntax
	frames int    // frames per test: few, so the stage takes minutes

	// gst is the GStreamer raw format whose memory layout is the RFC 4175
	// pgroup layout (UYVP, UYVY), or "" if GStreamer is left out.
	gst string
	// ffPix and ffCodec make ffmpeg send the format: the -pix_fmt its
	// encoder takes and the encoder (-c:v) that writes pgroup bytes.
	ffPix, ffCodec string
	// ffStream is the start of the video description ffmpeg prints for a
	// stream of this format ("bitpacked (UYVY / 0x59565955), yuv422p10le(").
	ffStream string
	// fieldOrder is the field_order ffprobe reports for the format.
	fieldOrder string
}

// formats are the formats the tests run: ST 2110-20's most common 1080p
// 4:2:2 at 10 and 8 bits, and 1080i59.94 4:2:2 10-bit, the interlaced
// format of real 1080i devices. Interlaced video goes only to FFmpeg's
// receiver: GStreamer 1.22's rtpvrawdepay refuses interlaced caps
// ("interlaced formats not supported yet"), and neither peer's sender has
// an interlaced mode (FFmpeg's rtpenc_rfc4175 always sends F=0 with frame
// line numbers, GStreamer's rtpvrawpay numbers a field's lines in frame
// terms, 0, 2, 4, ... and 1, 3, 5, ..., unlike ST 2110-20).
var formats = []format{
	{
		name:   "1080p422-10",
		fmtp:   "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001; colorimetry=BT709",
		frames: 6, gst: "UYVP", ffPix: "yuv422p10le", ffCodec: "bitpacked",
		ffStream: "bitpacked (UYVY / 0x59565955), yuv422p10le(", fieldOrder: "progressive",
	},
	{
		name:   "1080p422-8",
		fmtp:   "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=8; exactframerate=25; colorimetry=BT709",
		frames: 6, gst: "UYVY", ffPix: "uyvy422", ffCodec: "rawvideo",
		ffStream: "rawvideo (UYVY / 0x59565955), uyvy422(", fieldOrder: "progressive",
	},
	{
		name:   "1080i422-10",
		fmtp:   "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=30000/1001; colorimetry=BT709; interlace",
		frames: 6, ffPix: "yuv422p10le", ffCodec: "bitpacked",
		ffStream: "bitpacked (UYVY / 0x59565955), yuv422p10le(", fieldOrder: "tt",
	},
}

// video parses the format's fmtp with nmgo's SDP parser.
func (c *format) video(t testing.TB) video.Format {
	t.Helper()
	s, err := video.ParseSDP([]byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=video 5004 RTP/AVP 96\r\na=rtpmap:96 raw/90000\r\na=fmtp:96 " + c.fmtp + "\r\n"))
	if err != nil {
		t.Fatalf("fmtp %q: %v", c.fmtp, err)
	}
	return s.Streams[0].Format
}

// frameSize returns the octets of one frame in pgroup layout.
func (c *format) frameSize(t testing.TB) int {
	f := c.video(t)
	return f.FrameSize()
}

// randomFrames writes c.frames frames of pseudo-random bytes in pgroup
// layout to a file and returns its name. Random content makes every
// misplaced, lost or stale octet show; any bit pattern is a valid pgroup.
func randomFrames(t testing.TB, c *format, seed uint64) string {
	t.Helper()
	b := make([]byte, c.frames*c.frameSize(t))
	r := rand.New(rand.NewPCG(seed, 0x2110))
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	name := filepath.Join(t.TempDir(), "src."+c.name+".pgroup")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}
