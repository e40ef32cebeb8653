package interop

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// TestDupSDPToFFmpeg: st2110.Dial sends a flow on two paths (ST 2022-7,
// two UDP ports of the loopback here) and writes its SDP, an a=group:DUP
// pair of media (RFC 7104) with an a=mid each; ffmpeg accepts the SDP and
// receives the first leg's frames byte for byte, and video.ParseSDP reads
// the SDP back as one flow with both legs.
func TestDupSDPToFFmpeg(t *testing.T) {
	need(t, "ffmpeg")
	eachFormat(t, progressive, func(t testing.TB, c *format, div int) {
		src := randomFrames(t, c, 9)
		p, q := freePort(t), freePort(t)
		f := c.video(t)
		sess := &video.Session{Name: "dup", Streams: []video.Stream{{Format: f, PayloadType: 96,
			Dst:    netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", p)),
			Second: video.Leg{Dst: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", q))}}}}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		frames, err := video.NewFrameLoop(&f, b)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := st2110.Dial("udp", sess, &st2110.SendConfig{MaxLag: -1, Source: frames, Count: uint64(c.frames), MaxRate: float64(pps / 4 / div), Second: "udp"})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		sdpText, err := tx.SDP()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("the sender's SDP:\n%s", sdpText)
		for _, want := range []string{"a=group:DUP primary secondary", "a=mid:primary", "a=mid:secondary",
			"m=video " + strconv.Itoa(p) + " ", "m=video " + strconv.Itoa(q) + " "} {
			if !strings.Contains(string(sdpText), want) {
				t.Errorf("the SDP lacks %q", want)
			}
		}
		back, err := video.ParseSDP(sdpText)
		if err != nil || len(back.Streams) != 1 || back.Streams[0].Dst.Port() != uint16(p) || back.Streams[0].Second.Dst.Port() != uint16(q) ||
			back.Streams[0].Format.Width != f.Width || back.Streams[0].MID != "primary" || back.Streams[0].Second.MID != "secondary" {
			t.Fatalf("ParseSDP of the sender's SDP: %v, %+v", err, back)
		}
		dir := t.TempDir()
		sdp, out := filepath.Join(dir, "dup.sdp"), filepath.Join(dir, "ffmpeg.out")
		if err := os.WriteFile(sdp, sdpText, 0o644); err != nil {
			t.Fatal(err)
		}
		// ffmpeg opens both media of the pair as two streams; the first
		// (0:v:0) is the first leg's. It reads both, so the sender keeps to a
		// quarter of the usual rate.
		rx := start(t, "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-y",
			"-protocol_whitelist", "file,udp,rtp", "-buffer_size", strconv.Itoa(rcvbuf),
			"-i", sdp, "-map", "0:v:0", "-c:v", "copy", "-frames:v", strconv.Itoa(c.frames), "-f", "rawvideo", out)
		headStart(t, rx, p, "")
		headStart(t, rx, q, "")
		if err := tx.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		rx.wait(t, 20*time.Second)
		checkFFmpegInput(t, c, rx.out.Bytes())
		compareFiles(t, c, out, src)
		if tx.Skipped(0) != 0 {
			t.Errorf("%d packets not sent on the second path", tx.Skipped(0))
		}
	})
}
