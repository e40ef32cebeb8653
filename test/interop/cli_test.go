package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// cliSide is nmgo's side of a test done with nmbench's video functions:
// -f vtx sends, -f vrx receives, both over a kernel UDP socket (udp:).
type cliSide struct{ bin string }

func (s cliSide) vtx(c *format, port int, sdp string, args ...string) []string {
	return append([]string{s.bin, "-q", "-i", "udp:127.0.0.1:" + strconv.Itoa(port), "-f", "vtx",
		"-fmt", c.fmtp, "-sdp-out", sdp}, args...)
}

// sdp has nmbench write the SDP of the stream it sends with the format of
// c to 127.0.0.1:port. vtx writes it as it starts sending, but a receiver
// must read it before, so a first vtx sends one frame into a sink socket
// on the port; send checks that the real run writes the same SDP.
func (s cliSide) sdp(t testing.TB, c *format, port int) string {
	t.Helper()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.SetReadBuffer(rcvbuf); err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		// Drain, so that the sink's drops do not look like a receiver's.
		defer close(drained)
		buf := make([]byte, 9000)
		for {
			if _, err := sink.Read(buf); err != nil {
				return
			}
		}
	}()
	defer func() { sink.Close(); <-drained }()
	name := filepath.Join(t.TempDir(), "ours."+c.name+".sdp")
	one := *c
	one.frames = 1
	start(t, s.vtx(c, port, name, "-frames", "1", "-R", strconv.Itoa(pps))...).wait(t, sendTime(t, &one, pps))
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("nmbench -f vtx -sdp-out wrote no SDP: %v", err)
	}
	t.Logf("nmbench's SDP:\n%s", b)
	return name
}

// sendTime is how long a sender may take for c.frames frames at pps
// packets per second: twice the time at that rate, plus 10 s.
func sendTime(t testing.TB, c *format, pps int) time.Duration {
	t.Helper()
	f := c.video(t)
	p, err := video.NewPacketizer(&f, nil)
	if err != nil {
		t.Fatal(err)
	}
	return 10*time.Second + 2*time.Duration(c.frames*p.PacketsPerFrame())*time.Second/time.Duration(pps)
}

// send has nmbench send the frames of src, each once. If the receiver was
// given an SDP from s.sdp, the SDP of this run must be the same.
func (s cliSide) send(t testing.TB, c *format, port int, src string, pps int, given string) {
	t.Helper()
	sdp := filepath.Join(t.TempDir(), "sent.sdp")
	start(t, s.vtx(c, port, sdp, "-in", src, "-pix", "pgroup",
		"-frames", strconv.Itoa(c.frames), "-R", strconv.Itoa(pps))...).wait(t, sendTime(t, c, pps))
	if given == "" {
		return
	}
	a, err := os.ReadFile(given)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sdp)
	if err != nil {
		t.Fatalf("nmbench -f vtx -sdp-out wrote no SDP: %v", err)
	}
	if !sameSDP(a, b) {
		t.Errorf("nmbench's SDP changed between runs with the same flags:\n%s\nthen\n%s", a, b)
	}
}

// sameSDP reports whether two SDPs are the same but for the o= line (the
// session id and version may differ from run to run).
func sameSDP(a, b []byte) bool {
	strip := func(s []byte) string {
		var out []string
		for _, line := range strings.Split(strings.ReplaceAll(string(s), "\r\n", "\n"), "\n") {
			if !strings.HasPrefix(line, "o=") {
				out = append(out, line)
			}
		}
		return strings.Join(out, "\n")
	}
	return strip(a) == strip(b)
}

// cliReceiver is a running nmbench -f vrx.
type cliReceiver struct {
	p      *proc
	frames int
}

// listen starts nmbench -f vrx, which writes c.frames frames to out and
// exits.
func (s cliSide) listen(t testing.TB, c *format, port int, out string) receiver {
	t.Helper()
	p := start(t, s.bin, "-i", "udp:127.0.0.1:"+strconv.Itoa(port), "-f", "vrx", "-fmt", c.fmtp,
		"-out", out, "-pix", "pgroup", "-frames", strconv.Itoa(c.frames), "-frame-buffers", strconv.Itoa(c.frames), "-json")
	return &cliReceiver{p: p, frames: c.frames}
}

// wait waits for vrx to exit and checks its final report.
func (r *cliReceiver) wait(t testing.TB, d time.Duration) {
	t.Helper()
	r.p.wait(t, d)
	rep, err := finalReport(r.p.out.Bytes())
	if err != nil {
		t.Fatalf("nmbench -f vrx: %v", err)
	}
	t.Logf("nmbench -f vrx reports %s", rep.line)
	if rep.Frames != r.frames || rep.Lost != 0 {
		t.Errorf("nmbench -f vrx received %d frames with %d packets lost, want %d frames and none lost", rep.Frames, rep.Lost, r.frames)
	}
}

// report is nmbench's final JSON report, the fields the tests check.
type report struct {
	Final   bool `json:"final"`
	Frames  int  `json:"frames"`
	Packets int  `json:"packets"`
	Lost    int  `json:"lost"`
	line    string
}

// finalReport finds the JSON object with "final": true in nmbench's output.
func finalReport(out []byte) (*report, error) {
	for _, line := range bytes.Split(out, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var r report
		if err := json.Unmarshal(line, &r); err == nil && r.Final {
			r.line = string(line)
			return &r, nil
		}
	}
	return nil, fmt.Errorf("no final JSON report in its output:\n%s", tail(out, 10))
}
