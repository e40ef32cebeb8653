package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// side is nmgo's end of a test: nmbench (cliSide) or the video package
// used directly (pkgSide).
type side interface {
	// sdp writes the SDP of the stream send sends to 127.0.0.1:port and
	// returns the file's name.
	sdp(t testing.TB, c *format, port int) string
	// send sends the frames of file src (pgroup layout) to 127.0.0.1:port,
	// at most pps packets per second, and returns when it is done. sdp is
	// the SDP from the sdp method the receiver reads, or "".
	send(t testing.TB, c *format, port int, src string, pps int, sdp string)
	// listen starts receiving c.frames frames on 127.0.0.1:port, written
	// to out in pgroup layout.
	listen(t testing.TB, c *format, port int, out string) receiver
}

// eachFormat runs fn as a subtest for every format that keep accepts, at
// full pace (div 1), and again at half the pace (div 2, then 4, then 8) each
// time an attempt failed while the kernel dropped UDP datagrams for full
// receive buffers: a receiver that fell behind on a busy machine, not wrong
// bytes. A failure without drops, or a failure at an eighth of the pace,
// fails the test.
func eachFormat(t *testing.T, keep func(*format) bool, fn func(t testing.TB, c *format, div int)) {
	const lastDiv = 8
	for i := range formats {
		c := &formats[i]
		if keep != nil && !keep(c) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			logDrops(t)
			div := 1
			for ; div < lastDiv; div *= 2 {
				before := rcvbufErrors()
				a := &attempt{TB: t}
				done := make(chan struct{})
				go func() {
					defer close(done)
					fn(a, c, div)
				}()
				<-done
				if !a.failed {
					return
				}
				drops := rcvbufErrors() - before
				if before < 0 || drops <= 0 {
					t.Fatalf("failed (see the errors above); the kernel dropped no UDP datagrams for full receive buffers meanwhile")
				}
				t.Logf("RETRY: the attempt above failed while the kernel dropped %d UDP datagrams for full receive buffers (a receiver fell behind); again at 1/%d of the packet rate", drops, div*2)
			}
			fn(t, c, div)
		})
	}
}

// attempt is a first try of a subtest: its errors are logged and
// remembered instead of failing the test, and Fatal ends only the attempt's
// goroutine. Everything else (Logf, TempDir, Cleanup) is the test's.
type attempt struct {
	testing.TB
	mu     sync.Mutex
	failed bool
}

func (a *attempt) fail(msg string) {
	a.TB.Helper()
	a.mu.Lock()
	a.failed = true
	a.mu.Unlock()
	a.TB.Log("ERROR: " + msg)
}

func (a *attempt) Fail() {
	a.TB.Helper()
	a.fail("failed")
}

func (a *attempt) FailNow() {
	a.TB.Helper()
	a.fail("failed")
	runtime.Goexit()
}

func (a *attempt) Error(args ...any) {
	a.TB.Helper()
	a.fail(fmt.Sprint(args...))
}

func (a *attempt) Errorf(format string, args ...any) {
	a.TB.Helper()
	a.fail(fmt.Sprintf(format, args...))
}

func (a *attempt) Fatal(args ...any) {
	a.TB.Helper()
	a.fail(fmt.Sprint(args...))
	runtime.Goexit()
}

func (a *attempt) Fatalf(format string, args ...any) {
	a.TB.Helper()
	a.fail(fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (a *attempt) Failed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.failed
}

func withGStreamer(c *format) bool { return c.gst != "" }

// progressive keeps the formats an ffmpeg sender can send: its RFC 4175
// packetizer has no interlaced mode.
func progressive(c *format) bool { return !strings.Contains(c.fmtp, "interlace") }

// toFFmpeg sends random frames from s to an ffmpeg that reads s's SDP and
// copies the payload to a file.
func toFFmpeg(t testing.TB, s side, c *format, div int) {
	src := randomFrames(t, c, 1)
	port := freePort(t)
	sdp := s.sdp(t, c, port)
	out := filepath.Join(t.TempDir(), "ffmpeg.out")
	// FFmpeg 5.1 depacketizes interlaced video into whole frames, the
	// fields' rows interleaved as in nmgo's frame layout (line 2*line+F),
	// but at the first field's marker it returns an empty packet, which
	// -frames:v counts and -c:v copy writes as nothing: ask for two per
	// frame. (Were there no empty packets, ffmpeg would stop after its
	// 10-second RTP timeout with the same frames written.)
	packets := c.frames * c.video(t).Scan.Fields()
	rx := start(t, ffmpegRecv(sdp, out, packets)...)
	headStart(t, rx, port, "")
	s.send(t, c, port, src, pps/div, sdp)
	rx.wait(t, 20*time.Second)
	checkFFmpegInput(t, c, rx.out.Bytes())
	compareFiles(t, c, out, src)
}

// ffStream matches the description ffmpeg prints of the input stream.
var ffStream = regexp.MustCompile(`Stream #0:0: Video: (.*)`)

// checkFFmpegInput checks the stream ffmpeg says it read from the SDP.
func checkFFmpegInput(t testing.TB, c *format, log []byte) {
	t.Helper()
	m := ffStream.FindSubmatch(log)
	if m == nil {
		t.Errorf("ffmpeg printed no input stream")
		return
	}
	f := c.video(t)
	t.Logf("ffmpeg's input: %s", m[1])
	scan := "progressive"
	if c.fieldOrder == "tt" {
		scan = "top first"
	}
	want := regexp.MustCompile(regexp.QuoteMeta(c.ffStream) + `.*, ` + scan + `\), ` + strconv.Itoa(f.Width) + "x" + strconv.Itoa(f.Height) + `\b`)
	if !want.Match(m[1]) {
		t.Errorf("ffmpeg's input stream is %q, want %s..., %s), %dx%d", m[1], c.ffStream, scan, f.Width, f.Height)
	}
}

// toGStreamer sends random frames from s to a GStreamer pipeline that
// depacketizes them into a file.
func toGStreamer(t testing.TB, s side, c *format, div int) {
	src := randomFrames(t, c, 2)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "gst.out")
	rx := start(t, gstRecv(t, c, port, out)...)
	headStart(t, rx, port, "")
	s.send(t, c, port, src, pps/div, "")
	waitSize(rx, out, fileSize(src), 5*time.Second)
	rx.interrupt(t, 10*time.Second)
	compareFiles(t, c, out, src)
}

// fromGStreamer sends GStreamer's frames to s.
func fromGStreamer(t testing.TB, s side, c *format, div int) {
	port := freePort(t)
	dir := t.TempDir()
	src, out := filepath.Join(dir, "gst.src"), filepath.Join(dir, "ours.out")
	rx := s.listen(t, c, port, out)
	headStart(t, rx, port, "")
	tx := start(t, gstSend(t, c, port, src, c.frames, gstBitrate/div)...)
	tx.wait(t, 30*time.Second)
	rx.wait(t, 5*time.Second)
	compareFiles(t, c, out, src)
}

// fromFFmpeg sends ffmpeg's frames to s, and checks that nmgo reads the
// SDP ffmpeg wrote as the format s was told.
func fromFFmpeg(t testing.TB, s side, c *format, div int) {
	port := freePort(t)
	dir := t.TempDir()
	src, out, sdp := filepath.Join(dir, "ff.src"), filepath.Join(dir, "ours.out"), filepath.Join(dir, "ff.sdp")
	rx := s.listen(t, c, port, out)
	headStart(t, rx, port, "")
	tx := start(t, ffmpegSend(t, c, port, sdp, src, c.frames, ffmpegBitrate/div)...)
	tx.wait(t, 30*time.Second)
	rx.wait(t, 5*time.Second)
	compareFiles(t, c, out, src)
	checkTheirSDP(t, c, sdp)
}

// checkTheirSDP checks that nmgo's SDP parser reads a peer's SDP as the
// format of c in the fields the peer writes.
func checkTheirSDP(t testing.TB, c *format, name string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := video.ParseSDP(b)
	if err != nil {
		t.Fatalf("nmgo cannot read the SDP ffmpeg wrote: %v\n%s", err, b)
	}
	if len(s.Streams) != 1 {
		t.Fatalf("%d streams in the SDP ffmpeg wrote, want 1\n%s", len(s.Streams), b)
	}
	got, want := s.Streams[0].Format, c.video(t)
	if got.Sampling != want.Sampling || got.Depth != want.Depth || got.Width != want.Width || got.Height != want.Height {
		t.Errorf("nmgo reads ffmpeg's SDP as %v, want %v\n%s", got, want, b)
	}
}

// acceptsSDP has ffprobe read s's SDP while s sends, and checks what
// ffprobe says the stream is.
func acceptsSDP(t testing.TB, s side, c *format, div int) {
	// Two frames, so that the sender is done before ffprobe, which exits
	// when it has the stream's parameters and a frame.
	probed := *c
	probed.frames = 2
	c = &probed
	src := randomFrames(t, c, 3)
	port := freePort(t)
	sdp := s.sdp(t, c, port)
	probe := start(t, "ffprobe", "-hide_banner", "-v", "error", "-protocol_whitelist", "file,udp,rtp",
		"-buffer_size", strconv.Itoa(rcvbuf), "-show_streams", "-of", "json", sdp)
	headStart(t, probe, port, "")
	s.send(t, c, port, src, pps/div, sdp)
	sent := time.Now()
	probe.wait(t, 20*time.Second)
	t.Logf("ffprobe took %v after the sender was done", time.Since(sent).Round(time.Millisecond))
	var r struct {
		Streams []map[string]any `json:"streams"`
	}
	out := probe.out.Bytes()
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		t.Fatalf("ffprobe's output is not one stream (%v):\n%s", err, out)
	}
	f := c.video(t)
	got := r.Streams[0]
	want := map[string]any{
		"codec_type":  "video",
		"codec_name":  c.ffCodec,
		"pix_fmt":     c.ffPix,
		"width":       float64(f.Width),
		"height":      float64(f.Height),
		"field_order": c.fieldOrder,
	}
	if !f.Rate.IsZero() {
		want["avg_frame_rate"] = strconv.Itoa(int(f.Rate.Num)) + "/" + strconv.Itoa(int(f.Rate.Den))
	}
	if f.Colorimetry == video.BT709 {
		want["color_space"], want["color_primaries"] = "bt709", "bt709"
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ffprobe reads %s as %v, want %v", k, got[k], v)
		}
	}
	t.Logf("ffprobe reads the SDP as %s %s %vx%v %v %v", got["codec_name"], got["pix_fmt"], got["width"], got["height"], got["field_order"], got["avg_frame_rate"])
}

// The direct tests: nmgo's side is the video package.

func TestPacketizerToFFmpeg(t *testing.T) {
	need(t, "ffmpeg")
	eachFormat(t, nil, func(t testing.TB, c *format, div int) { toFFmpeg(t, pkgSide{}, c, div) })
}

func TestPacketizerToGStreamer(t *testing.T) {
	need(t, "gst-launch-1.0")
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) { toGStreamer(t, pkgSide{}, c, div) })
}

func TestGStreamerToDepacketizer(t *testing.T) {
	need(t, "gst-launch-1.0")
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) { fromGStreamer(t, pkgSide{}, c, div) })
}

func TestFFmpegToDepacketizer(t *testing.T) {
	need(t, "ffmpeg")
	eachFormat(t, progressive, func(t testing.TB, c *format, div int) { fromFFmpeg(t, pkgSide{}, c, div) })
}

func TestFFmpegAcceptsMarshalledSDP(t *testing.T) {
	need(t, "ffmpeg", "ffprobe")
	eachFormat(t, nil, func(t testing.TB, c *format, div int) { acceptsSDP(t, pkgSide{}, c, div) })
}

// The tests of issue 8 item 5: nmgo's side is nmbench.

func TestVtxToFFmpeg(t *testing.T) {
	s := cliSide{needNmbench(t, "ffmpeg")}
	eachFormat(t, nil, func(t testing.TB, c *format, div int) { toFFmpeg(t, s, c, div) })
}

func TestVtxToGStreamer(t *testing.T) {
	s := cliSide{needNmbench(t, "gst-launch-1.0")}
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) { toGStreamer(t, s, c, div) })
}

func TestGStreamerToVrx(t *testing.T) {
	s := cliSide{needNmbench(t, "gst-launch-1.0")}
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) { fromGStreamer(t, s, c, div) })
}

func TestFFmpegToVrx(t *testing.T) {
	s := cliSide{needNmbench(t, "ffmpeg")}
	eachFormat(t, progressive, func(t testing.TB, c *format, div int) { fromFFmpeg(t, s, c, div) })
}

func TestFFmpegAcceptsOurSDP(t *testing.T) {
	s := cliSide{needNmbench(t, "ffmpeg", "ffprobe")}
	eachFormat(t, nil, func(t testing.TB, c *format, div int) { acceptsSDP(t, s, c, div) })
}
