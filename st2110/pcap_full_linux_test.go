package st2110

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/nmgo/nmgo/video"
)

// smallFlows are two flows of fmtSmall, each with a second leg: their
// capture is far shorter than pcapTx's 1 MiB buffer.
func smallFlows() *video.Session {
	s := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""), flow(fmtSmall, "239.1.1.2:5004", "10.0.0.1"))
	s.Streams[0].Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5004")}
	s.Streams[1].Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.2:5008"), Source: netip.MustParseAddr("10.1.0.1")}
	return s
}

// A capture that cannot be written (/dev/full: every write fails with
// ENOSPC) fails Run once the flows have sent their Count frames, not only
// Close: the writes are buffered, and two small frames never fill the
// buffer (1 MiB) before the end.
func TestPcapWriteErrorEndsRun(t *testing.T) {
	tx, err := Dial("pcap:/dev/full", smallFlows(), &SendConfig{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	err = tx.Run(context.Background())
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Run: %v, want an error matching ENOSPC", err)
	}
	if cerr := tx.Close(); !errors.Is(cerr, syscall.ENOSPC) {
		t.Errorf("Close: %v, want an error matching ENOSPC", cerr)
	}
}

// In a sender of two paths the capture that cannot be written stops
// alone when the flows end: Run succeeds on the other path, and
// PathStats gives the failed path's error.
func TestPcapWriteErrorSecondPath(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a.pcap")
	tx, err := Dial("pcap:"+a, smallFlows(), &SendConfig{Count: 2, Second: "pcap:/dev/full"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Run(context.Background()); err != nil {
		t.Errorf("Run: %v, want nil (path 0 sent everything)", err)
	}
	for k := range tx.Flows() {
		if err := tx.PathStats(k, 0).Err; err != nil {
			t.Errorf("flow %d, path 0: %v", k, err)
		}
		if err := tx.PathStats(k, 1).Err; !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("flow %d, path 1: %v, want an error matching ENOSPC", k, err)
		}
	}
	if cerr := tx.Close(); !errors.Is(cerr, syscall.ENOSPC) {
		t.Errorf("Close: %v, want the failed path's error, matching ENOSPC", cerr)
	}
}
