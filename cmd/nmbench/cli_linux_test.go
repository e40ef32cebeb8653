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
	var out, errOut bytes.Buffer
	code := cli(context.Background(), []string{"-i", "pcap:/dev/full", "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-q", "-json"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no space left on device") {
		t.Fatalf("vtx into /dev/full: exit %d, stderr %q; want 1 and ENOSPC", code, errOut.String())
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
		t.Errorf("final report %s: want its 2 frames and the error", out.String())
	}
}

// A run whose failure shows only as its files are closed says so in its
// final report too, not only on stderr: the report follows the close. A
// vtx of two paths whose second is /dev/full is one: that path fails
// alone as st2110's Run writes out the captures, Run succeeds on the
// first path, and only the Sender's Close returns the failed path's
// error.
func TestFinalReportNamesCloseFailure(t *testing.T) {
	var out, errOut bytes.Buffer
	a := filepath.Join(t.TempDir(), "a.pcap")
	code := cli(context.Background(), []string{"-i", "pcap:" + a, "-i", "pcap:/dev/full", "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-q", "-json"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no space left on device") {
		t.Fatalf("vtx into a file and /dev/full: exit %d, stderr %q; want 1 and ENOSPC", code, errOut.String())
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
		t.Errorf("final report %s: want its 2 frames and the error of the close", out.String())
	}
}
