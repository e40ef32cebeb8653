package interop

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestPeersGStreamerToFFmpeg is the baseline without nmgo (ref/interop.md):
// GStreamer's sender into ffmpeg's receiver, with an SDP written by hand.
// If it fails, the peers or the machine are at fault, not nmgo.
func TestPeersGStreamerToFFmpeg(t *testing.T) {
	need(t, "gst-launch-1.0", "ffmpeg")
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) {
		port := freePort(t)
		dir := t.TempDir()
		sdp, src, out := filepath.Join(dir, "hand.sdp"), filepath.Join(dir, "gst.src"), filepath.Join(dir, "ffmpeg.out")
		text := "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=RFC 4175 " + c.name + "\nc=IN IP4 127.0.0.1\nt=0 0\n" +
			"m=video " + strconv.Itoa(port) + " RTP/AVP 96\na=rtpmap:96 raw/90000\na=fmtp:96 " + c.fmtp + "\n"
		if err := os.WriteFile(sdp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		rx := start(t, ffmpegRecv(sdp, out, c.frames)...)
		headStart(t, rx, port, "")
		start(t, gstSend(t, c, port, src, c.frames, gstBitrate/div)...).wait(t, 30*time.Second)
		rx.wait(t, 20*time.Second)
		compareFiles(t, c, out, src)
	})
}
