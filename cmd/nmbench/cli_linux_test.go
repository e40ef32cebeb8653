//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// A run whose capture cannot be written (/dev/full) fails as st2110's
// Run writes the capture's buffer out at the end of the frames: the
// final report gives the error, not only stderr.
func TestFinalReportNamesFlushFailure(t *testing.T) {
	wantFullReport(t, "vtx into /dev/full", "the error", "-i", "pcap:/dev/full")
}

// wantFullReport runs vtx of 2 frames with -json on the ports of args,
// one of them /dev/full, and wants exit 1 with ENOSPC on stderr and in
// the final report, which counts the 2 frames.
func wantFullReport(t *testing.T, what, errWhat string, args ...string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli(context.Background(), append(args, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-q", "-json"), &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no space left on device") {
		t.Fatalf("%s: exit %d, stderr %q; want 1 and ENOSPC", what, code, errOut.String())
	}
	var rep struct {
		Final  bool
		Frames uint64
		Error  string
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &rep); err != nil {
		t.Fatalf("final report %q: %v", out.String(), err)
	}
	if !rep.Final || rep.Frames != 2 || !strings.Contains(rep.Error, "no space left on device") {
		t.Errorf("final report %s: want its 2 frames and %s", out.String(), errWhat)
	}
}

// A run whose failure shows only as its files are closed says so in its
// final report too, not only on stderr: the report follows the close. A
// vtx of two paths whose second is /dev/full is one: that path fails
// alone as st2110's Run writes out the captures, Run succeeds on the
// first path, and only the Sender's Close returns the failed path's
// error.
func TestFinalReportNamesCloseFailure(t *testing.T) {
	a := filepath.Join(t.TempDir(), "a.pcap")
	wantFullReport(t, "vtx into a file and /dev/full", "the error of the close", "-i", "pcap:"+a, "-i", "pcap:/dev/full")
}
