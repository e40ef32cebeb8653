package st2110

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

var update = flag.Bool("update", false, "rewrite testdata/flows.pcap and flows.sdp")

// The capture of the examples, testdata/flows.pcap: three frames of two
// 64x32p50 flows on one port, to two groups, the second
// source-specific, as a Sender writes them; testdata/flows.sdp is its SDP.
// Their frames are randomFrames(fmtSmall, 3, 1) and (..., 2).
func TestTestdata(t *testing.T) {
	pcap, sdp := filepath.Join("testdata", "flows.pcap"), filepath.Join("testdata", "flows.sdp")
	frames := [][]byte{randomFrames(fmtSmall, 3, 1), randomFrames(fmtSmall, 3, 2)}
	if *update {
		sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""), flow(fmtSmall, "239.1.1.2:5004", "10.0.0.1"))
		sess.Name, sess.ID = "nmgo st2110 example", 3970000000
		clk, _ := NewClock(&ClockConfig{ForceOffset: true})
		tx := writeCaptureTo(t, pcap, sess, frames, 3, &SendConfig{Clock: clk, SSRC: 0x2110})
		b, err := tx.SDP()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sdp, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(sdp)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := video.ParseSDP(b)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := Listen("pcap:"+pcap, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	got := collect(t, rx, 3, 10*time.Second)
	for k := range frames {
		if !bytes.Equal(got[k], frames[k]) {
			t.Errorf("flow %d of %s: not the frames it was made of", k, pcap)
		}
	}
}
