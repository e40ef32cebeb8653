//go:build linux

package xdp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/video"
	"github.com/nmgo/nmgo/xsk"
)

// TestGStreamerToXsk: GStreamer (videotestsrc pattern=snow ! rtpvrawpay !
// udpsink) sends 1080p 4:2:2 10-bit from B's namespace to A, where a
// video.Receiver over an AF_XDP socket receives it; every frame must equal
// the one GStreamer wrote to a file, byte for byte. A run that fails while
// the kernel dropped packets (the veth's or the socket's drop counters:
// a receiver starved of CPU on a busy host) runs once more at half the
// rate, as test/interop does; any other failure is final.
func TestGStreamerToXsk(t *testing.T) {
	gst := xdptest.Tool(t, "gst-launch-1.0", "gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good")
	rate := 400_000_000
	for try := 0; ; try++ {
		drops, err := gstToXsk(t, gst, rate)
		if err == nil {
			return
		}
		if !drops || try == 1 {
			t.Fatal(err)
		}
		t.Logf("RETRY at half the rate after kernel drops: %v", err)
		rate /= 2
	}
}

// gstToXsk runs GStreamer at bitrate bits/s into a fresh pair and reports
// what went wrong, and whether the kernel dropped packets meanwhile.
func gstToXsk(t *testing.T, gst string, bitrate int) (bool, error) {
	p := xdptest.NewPair(t)
	rxs := open(t, p.NsA, p.A, &xsk.Config{RxOnly: true, Frames: 8192, RxSize: 8192})
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
		Scan: video.Progressive, Rate: video.Rate25}
	const frames = 5
	var got [][]byte
	var incomplete int
	rcv, err := video.NewReceiver(&video.ReceiverConfig{Streams: []video.RxStream{{
		Format: f, Port: 5004, PayloadType: 96, Count: frames,
		OnFrame: func(frame []byte, st *video.FrameStats) {
			if !st.Complete {
				incomplete++
			}
			got = append(got, bytes.Clone(frame))
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	var recvd atomic.Uint64
	go func() { errc <- receive(rxs, rcv, time.Now().Add(60*time.Second), &recvd) }()

	src := filepath.Join(t.TempDir(), "gst.uyvp")
	cmd := xdptest.Cmd(p.NsB, gst, "-q", "-e", "videotestsrc", "num-buffers="+strconv.Itoa(frames), "pattern=snow",
		"!", fmt.Sprintf("video/x-raw,format=UYVP,width=%d,height=%d,framerate=25/1", f.Width, f.Height),
		"!", "tee", "name=t",
		"t.", "!", "queue", "!", "filesink", "location="+src,
		"t.", "!", "queue", "!", "rtpvrawpay", "pt=96", "mtu=1400",
		"!", "udpsink", "host="+p.IPA.String(), "port=5004", "max-bitrate="+strconv.Itoa(bitrate))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	_ = rxs.SetReadDeadline(time.Now().Add(10 * time.Second))
	rerr := <-errc
	ks, _ := rxs.Stats()
	drops := ks.Kernel.RxDropped+ks.Kernel.RxRingFull+ks.Kernel.RxFillRingEmpty > 0 || linkDrops(t, p.NsA, p.A) > 0
	st := rcv.Stats(0)
	t.Logf("received %d frames (%d complete), %d packets, %d lost, packing %v; socket %+v", st.Delivered, st.Complete, st.Packets, st.Lost, st.Packing, ks.Kernel)
	if rerr != nil {
		logLinks(t, p)
		return drops, fmt.Errorf("receiver, %d frames in: %w", len(got), rerr)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fs := f.FrameSize()
	if len(want) != frames*fs {
		t.Fatalf("GStreamer wrote %d octets, want %d frames of %d", len(want), frames, fs)
	}
	if len(got) != frames || incomplete > 0 {
		return drops, fmt.Errorf("received %d frames (%d incomplete), want %d whole", len(got), incomplete, frames)
	}
	for i := range frames {
		if !bytes.Equal(got[i], want[i*fs:(i+1)*fs]) {
			return drops, fmt.Errorf("frame %d differs from GStreamer's", i)
		}
	}
	return drops, nil
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
