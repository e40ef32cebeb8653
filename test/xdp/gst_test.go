//go:build linux

package xdp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
)

// TestGStreamerToVrx: GStreamer (videotestsrc pattern=snow ! rtpvrawpay !
// udpsink) sends 1080p 4:2:2 10-bit from B's namespace to A, where
// `nmbench -f vrx -i xdp:A` (st2110.Listen over an AF_XDP socket) writes
// what it receives to a file; that file must equal the one GStreamer
// wrote, byte for byte. A run that fails while packets were lost (vrx's
// count, or the veth's drop counter: a receiver starved of CPU on a busy
// host) runs once more at half the rate, as test/interop does; any other
// failure is final.
func TestGStreamerToVrx(t *testing.T) {
	gst := xdptest.Tool(t, "gst-launch-1.0", "gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good")
	bin := buildNmbench(t)
	rate := 400_000_000
	for try := 0; ; try++ {
		drops, err := gstToVrx(t, gst, bin, rate)
		if err == nil {
			return
		}
		if !drops || try == 1 {
			t.Fatal(err)
		}
		t.Logf("RETRY at half the rate after lost packets: %v", err)
		rate /= 2
	}
}

// gstToVrx runs GStreamer at bitrate bits/s into nmbench vrx on a fresh
// pair and reports what went wrong, and whether packets were lost
// meanwhile.
func gstToVrx(t *testing.T, gst, bin string, bitrate int) (bool, error) {
	p := xdptest.NewPair(t)
	const (
		frames    = 5
		width     = 1920
		height    = 1080
		frameSize = width * height * 5 / 2 // 4:2:2 10-bit pgroups
	)
	dir := t.TempDir()
	src, out := filepath.Join(dir, "gst.uyvp"), filepath.Join(dir, "vrx.uyvp")
	fmtp := fmt.Sprintf("sampling=YCbCr-4:2:2; width=%d; height=%d; depth=10; exactframerate=25", width, height)
	vrx := exec.Command("ip", "netns", "exec", p.NsA, bin, "-i", "xdp:"+p.A, "-f", "vrx", "-fmt", fmtp,
		"-d", p.IPA.String()+":5004", "-frames", strconv.Itoa(frames), "-frame-buffers", strconv.Itoa(frames), "-out", out, "-t", "30s", "-json", "-q")
	var vrxOut bytes.Buffer
	vrx.Stdout, vrx.Stderr = &vrxOut, &vrxOut
	if err := vrx.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- vrx.Wait() }()
	defer func() {
		if vrx.ProcessState == nil {
			vrx.Process.Kill()
			<-done
		}
	}()
	// vrx has attached its program when it is listening; until then
	// the kernel's stack would take the packets.
	for deadline := time.Now().Add(10 * time.Second); xdptest.XDP(t, p.NsA, p.A) == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("vrx attached no XDP program in 10 s:\n%s", vrxOut.Bytes())
		}
		time.Sleep(20 * time.Millisecond)
	}

	cmd := xdptest.Cmd(p.NsB, gst, "-q", "-e", "videotestsrc", "num-buffers="+strconv.Itoa(frames), "pattern=snow",
		"!", fmt.Sprintf("video/x-raw,format=UYVP,width=%d,height=%d,framerate=25/1", width, height),
		"!", "tee", "name=t",
		"t.", "!", "queue", "!", "filesink", "location="+src,
		"t.", "!", "queue", "!", "rtpvrawpay", "pt=96", "mtu=1400",
		"!", "udpsink", "host="+p.IPA.String(), "port=5004", "max-bitrate="+strconv.Itoa(bitrate))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, b)
	}
	// vrx stops at its fifth frame; one that lost packets waits for
	// frames that will not come, until it is told to stop.
	var werr error
	select {
	case werr = <-done:
	case <-time.After(10 * time.Second):
		vrx.Process.Signal(os.Interrupt)
		werr = <-done
	}
	if werr != nil {
		return false, fmt.Errorf("vrx: %v\n%s", werr, vrxOut.Bytes())
	}
	var r struct {
		Final    bool   `json:"final"`
		Frames   uint64 `json:"frames"`
		Packets  uint64 `json:"packets"`
		Lost     uint64 `json:"lost"`
		Packing  string `json:"packing_mode"`
		Complete uint64 `json:"complete_frames"`
	}
	lines := regexp.MustCompile(`(?m)^\{.*\}$`).FindAll(vrxOut.Bytes(), -1)
	if len(lines) == 0 || json.Unmarshal(lines[len(lines)-1], &r) != nil || !r.Final {
		t.Fatalf("no final JSON report from vrx in:\n%s", vrxOut.Bytes())
	}
	var st struct {
		Streams []struct {
			Complete uint64 `json:"complete_frames"`
		} `json:"streams"`
	}
	_ = json.Unmarshal(lines[len(lines)-1], &st)
	complete := uint64(0)
	if len(st.Streams) == 1 {
		complete = st.Streams[0].Complete
	}
	drops := r.Lost > 0 || linkDrops(t, p.NsA, p.A) > 0
	t.Logf("vrx: %d frames (%d complete), %d packets, %d lost, packing %s", r.Frames, complete, r.Packets, r.Lost, r.Packing)
	if x := xdptest.XDP(t, p.NsA, p.A); x != "" {
		t.Errorf("XDP program left attached after vrx ended: %s", x)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != frames*frameSize {
		t.Fatalf("GStreamer wrote %d octets, want %d frames of %d", len(want), frames, frameSize)
	}
	if r.Frames != frames || complete != frames {
		logLinks(t, p)
		return drops || r.Frames < frames, fmt.Errorf("vrx received %d frames (%d complete), want %d whole", r.Frames, complete, frames)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		return drops, fmt.Errorf("vrx wrote %d octets that differ from GStreamer's %d", len(got), len(want))
	}
	t.Logf("%d frames from GStreamer byte-exact through nmbench vrx over AF_XDP", frames)
	return drops, nil
}

// buildNmbench builds cmd/nmbench into a directory of t.
func buildNmbench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nmbench")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nmgo/nmgo/cmd/nmbench")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/nmbench: %v\n%s", err, out)
	}
	return bin
}

// linkDrops returns the rx_dropped counter of link dev in namespace ns.
func linkDrops(t *testing.T, ns, dev string) uint64 {
	out, err := xdptest.Cmd(ns, "cat", "/sys/class/net/"+dev+"/statistics/rx_dropped").Output()
	if err != nil {
		t.Logf("rx_dropped of %s: %v", dev, err)
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
	return n
}
