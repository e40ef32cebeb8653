package vale_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/nmgo/nmgo/internal/nmtest"
)

// videoReport is the final JSON object of nmbench -f vtx and vrx, the
// fields these tests read.
type videoReport struct {
	Final   bool   `json:"final"`
	Packets uint64 `json:"packets"`
	Frames  uint64 `json:"frames"`
	Lost    uint64 `json:"lost"`
	Late    uint64 `json:"late"`
	Streams []struct {
		Stream          int    `json:"stream"`
		Frames          uint64 `json:"frames"`
		Packets         uint64 `json:"packets"`
		Lost            uint64 `json:"lost"`
		Reordered       uint64 `json:"reordered"`
		Late            uint64 `json:"late"`
		Complete        uint64 `json:"complete_frames"`
		Incomplete      uint64 `json:"incomplete_frames"`
		Dropped         uint64 `json:"dropped_frames"`
		PacketsPerFrame int    `json:"packets_per_frame"`
		Analysis        string `json:"analysis"`
	} `json:"streams"`
}

func lastVideoJSON(t *testing.T, out []byte) videoReport {
	t.Helper()
	lines := regexp.MustCompile(`(?m)^\{.*\}$`).FindAll(out, -1)
	if len(lines) == 0 {
		t.Fatalf("no JSON in output:\n%s", out)
	}
	var r videoReport
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil || !r.Final {
		t.Fatalf("last JSON object %s: %v", lines[len(lines)-1], err)
	}
	return r
}

// TestVideoVale: nmbench -f vtx on one VALE port into -f vrx on another.
// A small format from a file of frames comes out byte for byte, with no
// loss; then 1080p59.94 4:2:2 10-bit (the test pattern on the ST 2110-21
// narrow schedule) for a few frames, every frame complete and no packet
// lost. Under TCG neither end keeps up with 1080p59.94's 259 kpps (the
// sender falls behind and then sends what is due in bursts, and VALE drops
// what the receiver's ring cannot take), so the sender's clock is slowed to
// 50 kpps with -R: the schedule, spread out. The receiver's ring has 4096
// slots, room for a receiver the VM does not schedule for a while.
func TestVideoVale(t *testing.T) {
	nmtest.Require(t)
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")

	t.Run("64x32-file", func(t *testing.T) {
		const fmtp = "sampling=YCbCr-4:2:2; width=64; height=32; depth=10; exactframerate=50"
		const frames = 20
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
		b := make([]byte, frames*64*32*5/2)
		r := rand.New(rand.NewPCG(8, 2110))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if err := os.WriteFile(in, b, 0o644); err != nil {
			t.Fatal(err)
		}
		stop := start(t, nb, "-i", "vale40:b@conf:slots=4096", "-f", "vrx", "-fmt", fmtp, "-frames", strconv.Itoa(frames),
			"-out", out, "-json", "-q", "-t", "30s")
		txOut, err := exec.Command(nb, "-i", "vale40:a", "-f", "vtx", "-fmt", fmtp, "-frames", strconv.Itoa(frames),
			"-in", in, "-json", "-q").CombinedOutput()
		rxOut := stop()
		if err != nil {
			t.Fatalf("vtx: %v\n%s\nvrx:\n%s", err, txOut, rxOut)
		}
		tx, rx := lastVideoJSON(t, txOut), lastVideoJSON(t, rxOut)
		if tx.Frames != frames || rx.Frames != frames || rx.Lost != 0 || rx.Packets != tx.Packets {
			t.Errorf("vtx sent %d frames (%d packets), vrx received %d frames (%d packets), %d lost",
				tx.Frames, tx.Packets, rx.Frames, rx.Packets, rx.Lost)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("vrx wrote %d octets, not the %d vtx sent", len(got), len(b))
		}
	})

	t.Run("1080p59.94", func(t *testing.T) {
		const fmtp = "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001"
		const frames = 5
		stop := start(t, nb, "-i", "vale41:b@conf:slots=4096", "-f", "vrx", "-fmt", fmtp,
			"-frames", strconv.Itoa(frames), "-json", "-q", "-t", "60s")
		txOut, err := exec.Command(nb, "-i", "vale41:a", "-f", "vtx", "-fmt", fmtp, "-tp", "N", "-R", "20000",
			"-frames", strconv.Itoa(frames), "-json", "-q").CombinedOutput()
		rxOut := stop()
		if err != nil {
			t.Fatalf("vtx: %v\n%s\nvrx:\n%s", err, txOut, rxOut)
		}
		tx, rx := lastVideoJSON(t, txOut), lastVideoJSON(t, rxOut)
		t.Logf("vtx: %d frames, %d packets, %d late; vrx: %d frames, %d packets, %d lost", tx.Frames, tx.Packets, tx.Late,
			rx.Frames, rx.Packets, rx.Lost)
		if tx.Frames != frames || rx.Frames != frames || rx.Lost != 0 || len(rx.Streams) != 1 {
			t.Fatalf("vtx sent %d frames, vrx received %d with %d packets lost; want %d and none", tx.Frames, rx.Frames, rx.Lost, frames)
		}
		for _, s := range rx.Streams {
			t.Logf("stream %d: %s", s.Stream, s.Analysis)
			if s.Complete < frames || s.Lost != 0 || s.PacketsPerFrame != 4320 {
				t.Errorf("stream %d: %d frames complete, %d lost, %d packets per frame", s.Stream, s.Complete, s.Lost, s.PacketsPerFrame)
			}
		}
	})
}
