package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// addressSpace is the address-space limit of TestHostileInputs, in KiB
// (ulimit -v): 4 GB, less than the largest format's frame.
const addressSpace = 4000000

// TestHostileInputs builds nmbench and runs it, under an address-space
// limit of 4 GB, on inputs chosen to make it allocate without bound or
// crash: the largest format, huge SDPs, an endless -sdp or -in, many
// streams, a hostile capture. Each must end with one line on stderr and a
// non-zero status, never a runtime fatal error, a panic or a goroutine
// dump.
func TestHostileInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds nmbench")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "nmbench")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	file := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const big = "sampling=RGB; width=32767; height=32767; depth=16; exactframerate=60"
	media := func(n int, fmtp string) []byte {
		var b bytes.Buffer
		b.WriteString("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=hostile\r\nt=0 0\r\n")
		for i := range n {
			fmt.Fprintf(&b, "m=video %d RTP/AVP 96\r\nc=IN IP4 239.0.0.1/64\r\na=rtpmap:96 raw/90000\r\na=fmtp:96 %s\r\n", 5000+2*i, fmtp)
		}
		return b.Bytes()
	}
	hugeSDP := file("huge.sdp", media(4000, fmt1080p))
	manySDP := file("many.sdp", media(video.MaxSDPMedia, fmt1080p))
	bigSDP := file("big.sdp", media(1, big))
	empty := file("empty.pcap", nil)
	// A capture whose header claims a 4 GiB snap length and whose first
	// record 4 GiB of data, in a few hundred octets.
	var pcap []byte
	pcap = binary.LittleEndian.AppendUint32(pcap, 0xa1b2c3d4)
	pcap = binary.LittleEndian.AppendUint16(pcap, 2)
	pcap = binary.LittleEndian.AppendUint16(pcap, 4)
	pcap = binary.LittleEndian.AppendUint64(pcap, 0)
	pcap = binary.LittleEndian.AppendUint32(pcap, 0xffffffff) // snap length
	pcap = binary.LittleEndian.AppendUint32(pcap, 1)          // Ethernet
	pcap = binary.LittleEndian.AppendUint64(pcap, 0)          // record: time
	pcap = binary.LittleEndian.AppendUint32(pcap, 0xfffffff0) // captured
	pcap = binary.LittleEndian.AppendUint32(pcap, 0xfffffff0) // on the wire
	pcap = append(pcap, make([]byte, 300)...)
	hostilePcap := file("hostile.pcap", pcap)
	out := filepath.Join(dir, "out.pcap")

	for _, c := range []struct {
		name string
		args []string
		want string // in the one line
	}{
		{"vrx, largest format", []string{"-i", "pcap:" + empty, "-f", "vrx", "-fmt", big}, "do not fit the memory budget"},
		{"vtx, largest format", []string{"-i", "pcap:" + out, "-f", "vtx", "-frames", "1", "-fmt", big}, "do not fit the memory budget"},
		{"vrx, largest format in an SDP", []string{"-i", "pcap:" + empty, "-f", "vrx", "-sdp", bigSDP}, "do not fit the memory budget"},
		{"SDP of 4000 media", []string{"-i", "pcap:" + empty, "-f", "vrx", "-sdp", hugeSDP}, "4000 media descriptions"},
		{"SDP of 1024 1080p streams", []string{"-i", "pcap:" + empty, "-f", "vrx", "-sdp", manySDP}, "do not fit the memory budget"},
		{"-sdp /dev/zero", []string{"-i", "pcap:" + empty, "-f", "vrx", "-sdp", "/dev/zero"}, "longer than"},
		{"-in /dev/zero", []string{"-i", "pcap:" + out, "-f", "vtx", "-frames", "1", "-fmt", fmt1080p, "-in", "/dev/zero", "-max-mem", "64M"}, "over the memory budget"},
		{"-in larger than the budget", []string{"-i", "pcap:" + out, "-f", "vtx", "-frames", "1", "-fmt", fmt1080p, "-in", hugeSDP, "-max-mem", "64k"}, "over the memory budget"},
		{"-streams 1024 of 1080p", []string{"-i", "pcap:" + empty, "-f", "vrx", "-fmt", fmt1080p, "-streams", "1024"}, "do not fit the memory budget"},
		{"-streams 100000", []string{"-i", "pcap:" + empty, "-f", "vrx", "-fmt", fmt1080p, "-streams", "100000"}, "must be in 1..1024"},
		{"hostile capture", []string{"-i", "pcap:" + hostilePcap, "-f", "vrx", "-fmt", fmt1080p}, "more than the 262144 a record may hold"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sh := []string{"-c", fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, addressSpace), bin}
			cmd := exec.Command("sh", append(sh, c.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() <= 0 {
				t.Fatalf("exit: %v; want a non-zero status\n%s", err, stderr.Bytes())
			}
			s := stderr.String()
			for _, bad := range []string{"goroutine ", "fatal error", "panic"} {
				if strings.Contains(s, bad) {
					t.Fatalf("stderr has %q:\n%s", bad, s)
				}
			}
			if strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "nmbench: ") || !strings.Contains(s, c.want) {
				t.Fatalf("stderr is not one line saying %q:\n%s", c.want, s)
			}
			t.Logf("status %d: %s", ee.ExitCode(), strings.TrimSpace(s))
		})
	}
}

// FuzzCapture: any file given to vrx as -i pcap:FILE (pcap or pcapng, any
// link type) is read through st2110.Listen into frames without a panic:
// vrx ends with status 0, or 1 and one line saying what was wrong.
func FuzzCapture(f *testing.F) {
	var b bytes.Buffer
	w, err := packet.NewPcapWriter(&b, 0)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		frame := make([]byte, 60+i*100)
		copy(frame[12:], []byte{0x08, 0x00, 0x45})
		if err := w.WritePacket(time.Unix(int64(i), 0), frame); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(b.Bytes())
	f.Add(b.Bytes()[:30])
	ng := []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0}
	f.Add(ng)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		name := filepath.Join(dir, "in.pcap")
		if err := os.WriteFile(name, in, 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errb bytes.Buffer
		code := cli(context.Background(), []string{"-i", "pcap:" + name, "-f", "vrx", "-fmt", fmt64x32, "-q", "-json"}, &out, &errb)
		if code != 0 && (code != 1 || strings.Count(errb.String(), "\n") != 1) {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
	})
}
