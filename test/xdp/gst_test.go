package xdp

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
// the one GStreamer wrote to a file, byte for byte.
func TestGStreamerToXsk(t *testing.T) {
	gst := xdptest.Tool(t, "gst-launch-1.0", "gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good")
	p := xdptest.NewPair(t)
	rxs := open(t, p.NsA, p.A, &xsk.Config{RxOnly: true, Frames: 8192, RxSize: 8192})
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
		Scan: video.Progressive, Rate: video.Rate25}
	const frames = 5
	var got [][]byte
	rcv, err := video.NewReceiver(&video.ReceiverConfig{Streams: []video.RxStream{{
		Format: f, Port: 5004, PayloadType: 96, Frames: frames,
		OnFrame: func(frame []byte, st *video.FrameStats) {
			if !st.Complete {
				t.Errorf("frame %d incomplete: %+v", len(got), *st)
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
		"!", "udpsink", "host="+p.IPA.String(), "port=5004", "max-bitrate=400000000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	_ = rxs.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := <-errc; err != nil {
		st := rcv.Stats(0)
		ks, _ := rxs.Stats()
		logLinks(t, p)
		t.Fatalf("receiver, %d frames in: %v; receiver %+v; socket %+v", len(got), err, st, ks)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	fs := f.FrameSize()
	if len(want) != frames*fs {
		t.Fatalf("GStreamer wrote %d octets, want %d frames of %d", len(want), frames, fs)
	}
	st := rcv.Stats(0)
	t.Logf("received %d frames (%d complete), %d packets, %d lost, packing %v", st.Delivered, st.Complete, st.Packets, st.Lost, st.Packing)
	if len(got) != frames {
		t.Fatalf("received %d frames, want %d", len(got), frames)
	}
	for i := range frames {
		if !bytes.Equal(got[i], want[i*fs:(i+1)*fs]) {
			t.Errorf("frame %d differs from GStreamer's", i)
		}
	}
}
