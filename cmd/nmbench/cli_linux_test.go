//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// A run whose failure shows only at its end (a capture's buffered writes
// flushed onto a full disk, /dev/full, as st2110's Run ends, and again
// as the run's files are closed) says so in its final report too, not
// only on stderr: the report follows the close.
func TestFinalReportNamesCloseFailure(t *testing.T) {
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
