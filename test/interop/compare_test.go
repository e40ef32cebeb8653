package interop

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// receiver is a receiving side that was started and must be waited for.
type receiver interface {
	wait(t testing.TB, d time.Duration)
}

// compareFiles compares the frames in file got, written by a receiver,
// with the frames in file want, given to the sender: sizes, frame counts
// and sha256 over each file, and on a mismatch the first differing frame
// and where in it.
func compareFiles(t testing.TB, c *format, got, want string) {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("the receiver wrote no frames: %v", err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	f := c.video(t)
	size := f.FrameSize()
	if len(w) != c.frames*size {
		t.Fatalf("source %s holds %d octets, want %d frames of %d", want, len(w), c.frames, size)
	}
	gs, ws := sha256.Sum256(g), sha256.Sum256(w)
	if string(g) == string(w) {
		t.Logf("%s: IDENTICAL: %d frames, %d octets compared, sha256 %x", t.Name(), c.frames, len(g), gs)
		return
	}
	t.Errorf("received %d octets (%.2f frames of %d), sha256 %x; sent %d octets (%d frames), sha256 %x",
		len(g), float64(len(g))/float64(size), size, gs, len(w), c.frames, ws)
	t.Errorf("received frames:%s", matchFrames(g, w, size))
	if len(g)%size != 0 {
		t.Errorf("the received file is not a whole number of frames")
	}
	for i := 0; i < c.frames && (i+1)*size <= len(g); i++ {
		a, b := g[i*size:(i+1)*size], w[i*size:(i+1)*size]
		if string(a) != string(b) {
			t.Errorf("frame %d differs first at %s (%d octets of %d differ)", i, where(&f, firstDiff(a, b)), countDiff(a, b), size)
			return
		}
	}
	t.Errorf("the first %d frames are identical; the rest is missing", min(len(g), len(w))/size)
}

// matchFrames says, for each frame received, which frame sent it equals or
// is closest to, to tell a lost frame from a damaged one.
func matchFrames(g, w []byte, size int) string {
	var b strings.Builder
	for i := 0; (i+1)*size <= len(g); i++ {
		best, bestDiff := -1, size+1
		for j := 0; (j+1)*size <= len(w); j++ {
			if d := countDiff(g[i*size:(i+1)*size], w[j*size:(j+1)*size]); d < bestDiff {
				best, bestDiff = j, d
			}
		}
		if bestDiff == 0 {
			fmt.Fprintf(&b, " %d=sent %d;", i, best)
		} else {
			fmt.Fprintf(&b, " %d~sent %d (%d octets differ);", i, best, bestDiff)
		}
	}
	return b.String()
}

// where describes an offset within a frame in pgroup layout: its row, the
// field and line of an interlaced row, and the pixel.
func where(f *video.Format, off int) string {
	row, col := off/f.RowBytes(), off%f.RowBytes()
	pg := f.Pgroup()
	pixel := col / pg.Size * pg.Width
	s := fmt.Sprintf("octet %d: row %d, octet %d of the row (pixel %d)", off, row, col, pixel)
	if f.Scan != video.Progressive {
		s += fmt.Sprintf(", field %d line %d", row%2, row/2)
	}
	return s
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// frameStats describes a frame the depacketizer delivered.
func frameStats(i int, st *video.FrameStats) string {
	return fmt.Sprintf("frame %d: %d packets, %d octets, %d lost, complete %v, marker %v", i, st.Packets, st.Bytes, st.Lost, st.Complete, st.Marker)
}
