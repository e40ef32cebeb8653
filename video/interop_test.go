package video

import (
	"encoding/binary"
	"os"
	"testing"
)

// readRecords reads a testdata capture: 2-octet big-endian length, then the
// UDP payload (testdata/README.md).
func readRecords(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var interop = []struct {
	name, rtp, frames string
	f                 Format
	payloadSize       int
	samePackets       bool // our continuous GPM sends the same payloads
}{
	{"ffmpeg 4:2:2 10-bit", "testdata/ff10.rtp", "testdata/ff10.uyvp",
		Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 16, Scan: Progressive}, 400, false},
	{"ffmpeg 4:2:2 8-bit", "testdata/ff8.rtp", "testdata/ff8.uyvy",
		Format{Sampling: YCbCr422, Depth: Depth8, Width: 64, Height: 16, Scan: Progressive}, 300, false},
	{"GStreamer 4:2:2 10-bit", "testdata/gst10.rtp", "testdata/gst10.uyvp",
		Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 16, Scan: Progressive}, 300, true},
}

// TestInteropDepacketize feeds packets FFmpeg and GStreamer sent into the
// depacketizer and compares the frames with the ones the senders were given.
func TestInteropDepacketize(t *testing.T) {
	for _, c := range interop {
		t.Run(c.name, func(t *testing.T) {
			want := readFile(t, c.frames)
			r := newReceiver(t, &c.f, 96)
			for _, p := range readRecords(t, c.rtp) {
				r.d.Push(p)
			}
			size := c.f.FrameSize()
			if len(r.frames) != len(want)/size {
				t.Fatalf("%d frames, want %d; stats %+v", len(r.frames), len(want)/size, r.d.Stats())
			}
			for i, fr := range r.frames {
				if string(fr) != string(want[i*size:(i+1)*size]) || !r.stats[i].Complete || !r.stats[i].Marker {
					t.Errorf("frame %d differs from the source (first at %d), stats %+v", i, firstDiff(fr, want[i*size:]), r.stats[i])
				}
			}
		})
	}
}

// TestInteropPacketize packetizes the same frames with the same packet size
// in continuous GPM and compares each RTP payload (ESN, SRD headers, data)
// with what GStreamer sent; the RTP header's own fields (sequence,
// timestamp, SSRC) are its to choose. FFmpeg is left out: with short lines
// it puts four or more SRD headers in a packet, which ST 2110-20 forbids
// (three at most) and this packetizer never does.
func TestInteropPacketize(t *testing.T) {
	for _, c := range interop {
		if !c.samePackets {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			frames := readFile(t, c.frames)
			theirs := readRecords(t, c.rtp)
			p := mustPacketizer(t, c.f, &PacketizerConfig{Continuous: true, PayloadSize: c.payloadSize, NoRandom: true})
			size := c.f.FrameSize()
			var ours [][]byte
			for i := 0; i < len(frames)/size; i++ {
				for _, s := range packetize(t, p, frames[i*size:(i+1)*size], int64(i)*40e6) {
					ours = append(ours, s.b)
				}
			}
			if len(ours) != len(theirs) {
				t.Fatalf("%d packets, they sent %d", len(ours), len(theirs))
			}
			for i := range ours {
				if string(ours[i][12:]) != string(theirs[i][12:]) || ours[i][1] != theirs[i][1] {
					t.Fatalf("packet %d differs:\nours   % x\ntheirs % x", i, ours[i][:min(40, len(ours[i]))], theirs[i][:min(40, len(theirs[i]))])
				}
			}
		})
	}
}
