//go:build linux

package netns

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// nmbench's vtx and vrx over the same snooping bridge: the multicast a
// user gets from the command line, through st2110.

// buildNmbench builds cmd/nmbench into a directory of t.
func buildNmbench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nmbench")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nmgo/nmgo/cmd/nmbench")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/nmbench: %v\n%s", err, out)
	}
	return bin
}

// nmbenchIn starts nmbench in namespace ns; wait returns its output once
// it has exited, failing t if it failed or took longer than d.
func nmbenchIn(t *testing.T, ns string, args ...string) (wait func(d time.Duration) []byte) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	return func(d time.Duration) []byte {
		t.Helper()
		select {
		case err := <-done:
			done <- err // for the cleanup
			if err != nil {
				t.Fatalf("%s: %v\n%s", args, err, out.Bytes())
			}
		case <-time.After(d):
			cmd.Process.Kill()
			t.Fatalf("%s did not end in %v:\n%s", args, d, out.Bytes())
		}
		return out.Bytes()
	}
}

// nmbenchReport is the final JSON object of vtx and vrx, what these
// tests read.
type nmbenchReport struct {
	Final   bool   `json:"final"`
	Packets uint64 `json:"packets"`
	Frames  uint64 `json:"frames"`
	Lost    uint64 `json:"lost"`
	Other   uint64 `json:"other_packets"`
	Streams []struct {
		Dst      string `json:"dst"`
		Frames   uint64 `json:"frames"`
		Packets  uint64 `json:"packets"`
		Lost     uint64 `json:"lost"`
		Complete uint64 `json:"complete_frames"`
	} `json:"streams"`
}

func finalReport(t *testing.T, out []byte) nmbenchReport {
	t.Helper()
	lines := regexp.MustCompile(`(?m)^\{.*\}$`).FindAll(out, -1)
	var r nmbenchReport
	if len(lines) == 0 || json.Unmarshal(lines[len(lines)-1], &r) != nil || !r.Final {
		t.Fatalf("no final JSON report in:\n%s", out)
	}
	return r
}

// TestNmbenchMulticast: nmbench -f vrx -i udp:GROUP:PORT joins the group
// (the snooping bridge forwards the flow to it only because it did) and
// writes vtx's frames byte for byte; then, from an SDP with two media on
// one UDP port, an any-source group and a source-specific one
// (a=source-filter, IGMPv3), vrx -i udp joins both as the SDP says and
// tells the two flows apart by group: every packet in its own stream,
// every frame of both byte for byte.
func TestNmbenchMulticast(t *testing.T) {
	need(t)
	bin := buildNmbench(t)
	topology(t)
	// A host has a route for multicast (a default route, usually): the
	// group's interface is the kernel's choice.
	run(t, "ip", "-n", "nmst-r1", "route", "add", "224.0.0.0/4", "dev", "nmst-r1")
	dir := t.TempDir()
	const frames = 5
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, randomFrames(fmtSD, frames, 7), 0o644); err != nil {
		t.Fatal(err)
	}
	fmtp := "sampling=YCbCr-4:2:2; width=640; height=480; depth=10; exactframerate=50"
	n, rate := strconv.Itoa(frames), strconv.Itoa(byteExactRate)
	want, _ := os.ReadFile(in)

	t.Run("any-source", func(t *testing.T) {
		const group = "239.10.1.1"
		out := filepath.Join(dir, "asm.out")
		rx := nmbenchIn(t, "nmst-r1", bin, "-i", "udp:"+group+":5004", "-f", "vrx", "-fmt", fmtp, "-frames", n,
			"-frame-buffers", n, "-out", out, "-json", "-q", "-t", "60s")
		waitMDB(t, 5*time.Second, "vrx's join", func(es []mdbEntry) bool { return member(es, "nmst-r1p", group, "") })
		waitForwarding(t, mustAddr(group), "nmst-r1")
		tx := nmbenchIn(t, "nmst-s", bin, "-i", "udp:"+group+":5004@nmst-s", "-f", "vtx", "-fmt", fmtp, "-frames", n,
			"-in", in, "-R", rate, "-json", "-q")
		txr, rxr := finalReport(t, tx(60*time.Second)), finalReport(t, rx(30*time.Second))
		got, _ := os.ReadFile(out)
		if txr.Frames != frames || rxr.Frames != frames || rxr.Lost != 0 || !bytes.Equal(got, want) {
			t.Errorf("vtx sent %d frames, vrx took %d with %d lost; %d octets, equal %v", txr.Frames, rxr.Frames, rxr.Lost, len(got), bytes.Equal(got, want))
		}
		if rxr.Packets != txr.Packets {
			t.Errorf("vtx sent %d packets, vrx received %d", txr.Packets, rxr.Packets)
		}
	})

	t.Run("two-groups-one-port", func(t *testing.T) {
		const groupA, groupB, src = "239.10.1.2", "232.10.1.3", "10.77.0.1"
		sess := &video.Session{Name: "two groups", Origin: mustAddr(src), Streams: []video.Stream{
			{Format: fmtSD, PayloadType: 96, Dst: mustAP(groupA + ":5006")},
			{Format: fmtSD, PayloadType: 96, Dst: mustAP(groupB + ":5006"), Source: mustAddr(src)},
		}}
		b, err := sess.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sdp, out := filepath.Join(dir, "two.sdp"), filepath.Join(dir, "two.out")
		if err := os.WriteFile(sdp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rx := nmbenchIn(t, "nmst-r1", bin, "-i", "udp", "-f", "vrx", "-sdp", sdp, "-frames", n,
			"-frame-buffers", n, "-out", out, "-json", "-q", "-t", "60s")
		waitMDB(t, 5*time.Second, "vrx's joins, the second source-specific", func(es []mdbEntry) bool {
			return member(es, "nmst-r1p", groupA, "") && member(es, "nmst-r1p", groupB, src)
		})
		waitForwarding(t, mustAddr(groupA), "nmst-r1")
		tx := nmbenchIn(t, "nmst-s", bin, "-i", "udp:nmst-s", "-f", "vtx", "-sdp", sdp, "-frames", n,
			"-in", in, "-R", rate, "-json", "-q")
		txr, rxr := finalReport(t, tx(60*time.Second)), finalReport(t, rx(30*time.Second))
		if len(rxr.Streams) != 2 || rxr.Other != 0 || rxr.Lost != 0 {
			t.Fatalf("vrx: %d streams, %d packets of none, %d lost", len(rxr.Streams), rxr.Other, rxr.Lost)
		}
		for k, s := range rxr.Streams {
			got, _ := os.ReadFile(out + "." + strconv.Itoa(k))
			if s.Frames != frames || s.Complete != frames || s.Packets != txr.Packets/2 || !bytes.Equal(got, want) {
				t.Errorf("stream %d (%s): %d frames, %d complete, %d packets of the %d sent to it; %d octets, equal %v",
					k, s.Dst, s.Frames, s.Complete, s.Packets, txr.Packets/2, len(got), bytes.Equal(got, want))
			}
		}
	})
}
