package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// dupReport is what the tests read of a report's per-path lines.
type dupReport struct {
	Final   bool `json:"final"`
	Streams []struct {
		Lost       uint64       `json:"lost"`
		Complete   uint64       `json:"complete_frames"`
		Incomplete uint64       `json:"incomplete_frames"`
		Paths      []pathReport `json:"paths"`
		Skew       *skewReport  `json:"skew"`
	} `json:"streams"`
}

// runDup runs nmbench with args and returns its final JSON report's
// per-path lines.
func runDup(t *testing.T, args ...string) dupReport {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli(context.Background(), append(args, "-json", "-q"), &out, &errb); code != 0 {
		t.Fatalf("nmbench %q: exit %d: %s", args, code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r dupReport
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || !r.Final {
		t.Fatalf("nmbench %q: last line %q: %v", args, lines[len(lines)-1], err)
	}
	return r
}

// dropPcap copies the capture in to out without the packets (numbered
// from 0) drop says, and returns how many it dropped.
func dropPcap(t *testing.T, in, out string, drop func(int) bool) int {
	t.Helper()
	dropped, i := 0, 0
	copyPcap(t, in, out, func(bw io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
		w, err := packet.NewPcapWriterNanos(bw, 65535)
		if err != nil {
			t.Fatal(err)
		}
		return func(ci gopacket.CaptureInfo, data []byte) error {
			defer func() { i++ }()
			if drop(i) {
				dropped++
				return nil
			}
			return w.WritePacket(ci.Timestamp, data)
		}, nil
	})
	return dropped
}

// vrx -i pcap:A -i pcap:B, two captures of one sender with different
// packets removed, gives the same frames as the complete capture, byte
// for byte, for 1080p59.94 and a small format; the report has a line per
// path. vtx -i twice writes both captures and the DUP group of -sdp-out.
func TestVideoDupPcap(t *testing.T) {
	for _, c := range []struct {
		name, fmtp string
		frames     int
	}{{"64x32", fmt64x32, 10}, {"1080p59.94", fmt1080p, 3}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			full, a2 := filepath.Join(dir, "full.pcap"), filepath.Join(dir, "copy.pcap")
			sdp := filepath.Join(dir, "dup.sdp")
			frames := strconv.Itoa(c.frames)
			tx := runDup(t, "-i", "pcap:"+full, "-i", "pcap:"+a2, "-f", "vtx", "-fmt", c.fmtp, "-frames", frames, "-sdp-out", sdp)
			if p := tx.Streams[0].Paths; len(p) != 2 || p[1].Packets != p[0].Packets || p[1].Skipped != 0 {
				t.Fatalf("vtx paths %+v", p)
			}
			b, err := os.ReadFile(sdp)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := video.ParseSDP(b)
			if err != nil || len(sess.Streams) != 1 || sess.Streams[0].Legs() != 2 || !strings.Contains(string(b), "a=group:DUP primary secondary") {
				t.Fatalf("-sdp-out: %v\n%s", err, b)
			}
			// The second capture is the first's packets: the same bytes.
			fa, errA := os.ReadFile(full)
			fb, errB := os.ReadFile(a2)
			if errA != nil || errB != nil || len(fa) == 0 {
				t.Fatalf("reading the captures: %v, %v (%d octets)", errA, errB, len(fa))
			}
			if !bytes.Equal(fa, fb) {
				t.Fatal("the two paths' captures differ")
			}
			a, b3 := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
			na := dropPcap(t, full, a, func(i int) bool { return i%17 == 3 || i%101 == 50 })
			nb := dropPcap(t, a2, b3, func(i int) bool { return i%13 == 7 && i%17 != 3 && i%101 != 50 })

			want, got := filepath.Join(dir, "want.raw"), filepath.Join(dir, "got.raw")
			one := runDup(t, "-i", "pcap:"+full, "-f", "vrx", "-fmt", c.fmtp, "-out", want)
			if s := one.Streams[0]; s.Lost != 0 || s.Incomplete != 0 || s.Complete != uint64(c.frames) {
				t.Fatalf("the complete capture: %+v", s)
			}
			two := runDup(t, "-i", "pcap:"+a, "-i", "pcap:"+b3, "-f", "vrx", "-sdp", sdp, "-out", got, "-window", "B")
			wb, _ := os.ReadFile(want)
			gb, _ := os.ReadFile(got)
			if len(wb) == 0 || !bytes.Equal(wb, gb) {
				t.Fatalf("the merged frames (%d octets) are not the complete capture's (%d octets)", len(gb), len(wb))
			}
			s := two.Streams[0]
			if s.Lost != 0 || s.Incomplete != 0 || len(s.Paths) != 2 {
				t.Fatalf("merged: %+v", s)
			}
			p0, p1 := s.Paths[0], s.Paths[1]
			if p0.Input != "pcap:"+a || p1.Input != "pcap:"+b3 || p0.First+p1.First != p0.Packets+uint64(na) ||
				p1.First != uint64(na) || p0.Lost == 0 || p1.Lost == 0 || s.Skew == nil || s.Skew.MinNs != 0 || s.Skew.MaxNs != 0 {
				t.Errorf("paths %+v, %+v (%d and %d dropped); skew %+v", p0, p1, na, nb, s.Skew)
			}
		})
	}
}

// The flags of two paths, and what they refuse.
func TestVideoDupFlags(t *testing.T) {
	c, err := parseFlags([]string{"-i", "udp:239.1.1.1:5004", "-i", "udp:239.2.1.1:6000@lo", "-f", "vrx", "-fmt", fmt64x32, "-streams", "2", "-window", "C"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	v := c.video
	if v.second != "udp:239.2.1.1:6000@lo" || v.window != video.SkewClassC || v.streams[1].Second.Dst.String() != "239.2.1.1:6001" {
		t.Errorf("%q %v %+v", v.second, v.window, v.streams[1].Second)
	}
	if c, err = parseFlags([]string{"-i", "vale0:a", "-i", "pcap:x", "-f", "vrx", "-fmt", fmt64x32, "-window", "20ms"}, io.Discard); err != nil || c.video.window != 20*time.Millisecond {
		t.Errorf("-window 20ms: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "vale0:a", "-i", "vale1:a", "-i", "vale2:a", "-f", "vrx", "-fmt", fmt64x32}, "more than twice"},
		{[]string{"-i", "vale0:a", "-i", "vale1:a", "-f", "rx"}, "only -f vtx and vrx"},
		{[]string{"-i", "vale0:a", "-i", "pcap:", "-f", "vrx", "-fmt", fmt64x32}, "no file name"},
		{[]string{"-i", "vale0:a", "-f", "vrx", "-fmt", fmt64x32, "-window", "B"}, "-i given twice"},
		{[]string{"-i", "vale0:a", "-i", "vale1:a", "-f", "vtx", "-fmt", fmt64x32, "-window", "B"}, "not for -f vtx"},
		{[]string{"-i", "vale0:a", "-i", "vale1:a", "-f", "vrx", "-fmt", fmt64x32, "-window", "D"}, "want A, B, C"},
		{[]string{"-i", "vale0:a", "-i", "vale1:a", "-f", "vrx", "-fmt", fmt64x32, "-window", "2s"}, "want A, B, C"},
		{[]string{"-i", "vale0:a", "-i", "vale0:a", "-f", "vrx", "-fmt", fmt64x32}, "the same path twice"},
		{[]string{"-i", "netmap:eth0", "-i", "eth0", "-f", "vrx", "-fmt", fmt64x32}, "the same path twice"},
		{[]string{"-i", "udp:239.1.1.1:5004", "-i", "udp:239.1.1.1:5004", "-f", "vrx", "-fmt", fmt64x32}, "the same path twice"},
		{[]string{"-i", "xdp:eth0", "-i", "xdp:eth0-0", "-f", "vrx", "-fmt", fmt64x32}, "the same path twice"},
		{[]string{"-i", "pcap:x.pcap", "-i", "pcap:./x.pcap", "-f", "vtx", "-fmt", fmt64x32}, "the same path twice"},
	} {
		if _, err := parseFlags(c.args, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
	// Two paths that differ only in where they are, or that take each
	// leg's address from the SDP (udp, udp:IFACE: two legs on one NIC),
	// or one capture read twice (each path takes its own leg's packets
	// from it): accepted.
	sdp := filepath.Join(t.TempDir(), "dup.sdp")
	leg := func(addr, mid string) string {
		return "m=video 5004 RTP/AVP 96\r\nc=IN IP4 " + addr + "/32\r\na=rtpmap:96 raw/90000\r\n" +
			"a=fmtp:96 sampling=YCbCr-4:2:2; width=64; height=32; exactframerate=25; depth=10; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPN;\r\n" +
			"a=mediaclk:direct=0\r\na=mid:" + mid + "\r\n"
	}
	if err := os.WriteFile(sdp, []byte("v=0\r\no=- 1 0 IN IP4 10.0.0.1\r\ns=dup\r\nt=0 0\r\na=group:DUP red blue\r\n"+
		leg("239.1.1.1", "red")+leg("239.2.1.1", "blue")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-i", "udp", "-i", "udp", "-f", "vrx", "-sdp", sdp},
		{"-i", "udp:lo", "-i", "udp:lo", "-f", "vtx", "-sdp", sdp},
		{"-i", "pcap:x.pcap", "-i", "pcap:./x.pcap", "-f", "vrx", "-fmt", fmt64x32},
		{"-i", "udp:239.1.1.1:5004", "-i", "udp:239.1.1.1:5004@lo", "-f", "vrx", "-fmt", fmt64x32},
		{"-i", "netmap:eth0-0", "-i", "netmap:eth0-1", "-f", "vrx", "-fmt", fmt64x32},
		{"-i", "xdp:eth0-0", "-i", "xdp:eth0-1", "-f", "vrx", "-fmt", fmt64x32},
		{"-i", "pcap:a.pcap", "-i", "pcap:b.pcap", "-f", "vtx", "-fmt", fmt64x32, "-frames", "1"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// streamPathsReport is what a vtx run's JSON report says of a stream's
// packets and paths.
type streamPathsReport struct {
	Packets uint64       `json:"packets"`
	Paths   []pathReport `json:"paths"`
}

// streamPaths returns each stream's packets and paths from the final
// JSON report (the last line) of out, a vtx run of n streams.
func streamPaths(t *testing.T, out string, n int) []streamPathsReport {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r struct {
		Streams []streamPathsReport `json:"streams"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || len(r.Streams) != n {
		t.Fatalf("last line %q: %v, want %d streams", lines[len(lines)-1], err, n)
	}
	return r.Streams
}

// vtx with a second path that fails (a capture to /dev/full: ENOSPC once
// its buffer is written) goes on with the first: its capture has every
// frame, and the report's line of the failed path says why it stopped
// (JSON and text); the close of the failed capture's error makes the exit
// status 1. With two streams on the one capture, each stream's path line
// counts its own packets.
func TestVideoDupTxPathFails(t *testing.T) {
	if f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0); err != nil {
		t.Skip(err)
	} else {
		f.Close()
	}
	good := filepath.Join(t.TempDir(), "a.pcap")
	args := []string{"-i", "pcap:" + good, "-i", "pcap:/dev/full", "-f", "vtx", "-fmt", fmt1080p, "-frames", "2"}
	for _, json_ := range []bool{true, false} {
		var out, errb bytes.Buffer
		a := args
		if json_ {
			a = append(a, "-json", "-q")
		}
		if code := cli(context.Background(), a, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no space left on device") {
			t.Fatalf("nmbench %q: exit %d, want 1: %s", a, code, errb.String())
		}
		const why = "st2110: send path 1 (pcap:/dev/full): write /dev/full: no space left on device"
		if !json_ {
			if !strings.Contains(out.String(), "    path 1 pcap:/dev/full: ") || !strings.Contains(out.String(), " unsent: FAILED: "+why+"\n") {
				t.Errorf("no failed path line in\n%s", out.String())
			}
			continue
		}
		s := streamPaths(t, out.String(), 1)[0]
		if p := s.Paths; len(p) != 2 || p[0].Packets != s.Packets || p[0].Error != "" || p[1].Error != why ||
			p[1].Unsent == 0 || p[1].Packets+p[1].Unsent > s.Packets {
			t.Errorf("%d packets; paths %+v", s.Packets, p)
		}
	}
	// Two streams share the capture (one output): each stream's path
	// lines count its own packets, not the output's.
	var out, errb bytes.Buffer
	a := []string{"-i", "pcap:" + filepath.Join(t.TempDir(), "b.pcap"), "-i", "pcap:/dev/full", "-f", "vtx", "-fmt", fmt1080p, "-frames", "2", "-streams", "2", "-json", "-q"}
	if code := cli(context.Background(), a, &out, &errb); code != 1 {
		t.Fatalf("nmbench %q: exit %d, want 1: %s", a, code, errb.String())
	}
	for k, s := range streamPaths(t, out.String(), 2) {
		if p := s.Paths; len(p) != 2 || p[0].Packets != s.Packets || p[1].Error == "" || p[1].Unsent == 0 ||
			p[1].Skipped+p[1].Unsent > s.Packets || p[1].Packets+p[1].Skipped+p[1].Unsent != s.Packets {
			t.Errorf("stream %d: %d packets; paths %+v", k, s.Packets, p)
		}
	}
	// The first path's capture has both frames, whole.
	if s := runDup(t, "-i", "pcap:"+good, "-f", "vrx", "-fmt", fmt1080p).Streams[0]; s.Lost != 0 || s.Incomplete != 0 || s.Complete != 2 {
		t.Errorf("the first path's capture: %+v", s)
	}
}

// A vtx path line tells a path that went down and came back (an error of
// the network, tried again), with the packets it missed, and one that is
// down as before.
func TestVideoDupTxPathBackLine(t *testing.T) {
	st := &videoStream{Sched: "N", Paths: []pathReport{
		{Path: 0, Input: "udp:eth1", Packets: 900, Unsent: 100, Failures: 2, Recoveries: 2},
		{Path: 1, Input: "udp:eth2", Packets: 800, Unsent: 200, Failures: 3, Recoveries: 2, Error: "st2110: send path 1 (udp:eth2): sendmmsg: network is unreachable"},
	}}
	var b bytes.Buffer
	st.printPaths(&b)
	want := "    path 0 udp:eth1: 900 pkts, 0 skipped, down 2 times, back 2, 100 unsent\n" +
		"    path 1 udp:eth2: 800 pkts, 0 skipped, down 3 times, back 2, 200 unsent: FAILED: st2110: send path 1 (udp:eth2): sendmmsg: network is unreachable\n"
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
}
