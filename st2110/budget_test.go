package st2110

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/nmgo/nmgo/video"
)

// A Listen or Dial that fails gives back all it charged to a shared
// budget, and only that: a service that retries on a missing interface
// or capture does not exhaust the budget, and a correct Listen then fits.
func TestFailedOpenReleasesBudget(t *testing.T) {
	big := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 3840, Height: 2160, Scan: video.Progressive, Rate: video.Rate50}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	sess := session("", flow(big, addr, ""))
	// The Dials are of a small format: a Dial draws its test pattern
	// before it opens the interface, and a UHD one, drawn five times,
	// took 1 s of the test's 1.6 s, and 47 s of 48 under -race. What
	// is checked does not need the size: every failed open must leave
	// the budget at exactly the caller's charge.
	smallSess := session("", flow(fmtSmall, addr, ""))
	dir := t.TempDir()
	capSess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	capture := filepath.Join(dir, "in.pcap")
	writeCaptureTo(t, capture, capSess, [][]byte{randomFrames(fmtSmall, 1, 1)}, 1, nil)
	missing := filepath.Join(dir, "none", "x.pcap")
	b, err := video.NewBudget(video.DefaultMemory)
	if err != nil {
		t.Fatal(err)
	}
	const other = 12345 // the caller's own charge, which stays
	if err := b.Charge("caller", other); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		open func() error
	}{
		{"Listen on a missing interface", func() error {
			_, err := Listen("udp", sess, &ListenConfig{Budget: b, Interface: "nosuchif0"})
			return err
		}},
		{"Listen with a missing second capture", func() error {
			_, err := Listen("pcap:"+capture, capSess, &ListenConfig{Budget: b, Second: "pcap:" + missing})
			return err
		}},
		{"Dial on a missing interface", func() error {
			_, err := Dial("udp", smallSess, &SendConfig{Budget: b, Interface: "nosuchif0"})
			return err
		}},
		{"Dial to a second capture in a missing directory", func() error {
			_, err := Dial("pcap:"+filepath.Join(dir, "out.pcap"), capSess, &SendConfig{Budget: b, Count: 1, Second: "pcap:" + missing})
			return err
		}},
	} {
		for range 5 {
			err := c.open()
			if err == nil {
				t.Fatalf("%s: no error", c.what)
			}
			if errors.Is(err, video.ErrBudget) {
				t.Fatalf("%s: %v", c.what, err)
			}
		}
		if u := b.Used(); u != other {
			t.Errorf("%s, 5 times: %d octets charged, want the caller's %d", c.what, u, other)
		}
	}
	rx, err := Listen("udp", sess, &ListenConfig{Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if b.Used() <= other {
		t.Errorf("a Listen that succeeded charged nothing (%d octets in use)", b.Used())
	}
}
