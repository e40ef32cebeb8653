package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nmgo/nmgo/internal/porttest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

const (
	fmt64x32 = "sampling=YCbCr-4:2:2; width=64; height=32; depth=10; exactframerate=25"
	fmt720p  = "sampling=YCbCr-4:2:2; width=1280; height=720; depth=10; exactframerate=50"
	fmt1080p = "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001"
)

func TestVideoFlags(t *testing.T) {
	c, err := parseFlags([]string{"-i", "udp:127.0.0.1:5004", "-f", "vtx", "-fmt", fmt64x32 + "; interlace; PM=2110BPM",
		"-streams", "3", "-tp", "NL", "-frames", "7", "-pix", "yuv422p10le", "-in", "x", "-sdp-out", "y", "-R", "1000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	v := c.video
	if len(v.streams) != 3 || v.frames != 7 || v.pixFmt != video.YUV422P10LE || v.in != "x" || v.sdpOut != "y" {
		t.Fatalf("video config %+v", v)
	}
	for k, s := range v.streams {
		if s.Format.Scan != video.Interlaced || s.Packing != video.BPM || s.Sender != video.SenderNarrowLinear ||
			s.PayloadType != 96 || s.Dst.String() != "127.0.0.1:"+strconv.Itoa(5004+k) {
			t.Errorf("stream %d: %+v", k, s)
		}
	}
	// vrx on a capture: the format's TP, no ports unless -d gives them.
	c, err = parseFlags([]string{"-i", "pcap:x.pcap", "-f", "vrx", "-fmt", fmt64x32 + "; TP=2110TPW", "-out", "o"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.video.streams[0]; s.Sender != video.SenderWide || s.Dst.IsValid() || c.wait != 0 {
		t.Errorf("vrx stream %+v, wait %v", s, c.wait)
	}
	c, err = parseFlags([]string{"-i", "vale0:b", "-f", "vrx", "-fmt", fmt64x32, "-d", "10.1.0.1:6000", "-streams", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.video.streams[1].Dst.Port(); p != 6001 {
		t.Errorf("vrx -d: stream 1 on port %d, want 6001", p)
	}
	// An SDP with two streams is two streams, with its addresses.
	sdp := filepath.Join(t.TempDir(), "two.sdp")
	sess := video.Session{Name: "two"}
	for k := range 2 {
		s, _ := video.ParseFmtp(fmt64x32)
		s.PayloadType = 97
		s.Dst = netip.MustParseAddrPort("239.1.1.1:" + strconv.Itoa(7000+10*k))
		sess.Streams = append(sess.Streams, *s)
	}
	b, err := sess.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sdp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = parseFlags([]string{"-i", "vale0:a", "-f", "vtx", "-sdp", sdp}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// (Marshal wrote TP=2110TPW, its default.)
	if v := c.video; len(v.streams) != 2 || v.streams[1].Dst.Port() != 7010 || v.streams[0].PayloadType != 97 || v.streams[0].Sender != video.SenderWide {
		t.Errorf("from the SDP: %+v", v.streams)
	}
}

// Of several flags that are not for the mode, the same one is named
// every time (the first of checkVideo's list), not one at random.
func TestVideoFlagsNotForModeNamedOnce(t *testing.T) {
	args := []string{"-i", "udp:127.0.0.1:5004", "-f", "vrx", "-fmt", fmt64x32,
		"-rt", "10", "-burst", "4", "-R", "10", "-tp", "N", "-in", "x", "-sdp-out", "x"}
	for range 20 {
		_, err := parseFlags(args, io.Discard)
		if err == nil || err.Error() != "-sdp-out: not for -f vrx" {
			t.Fatalf("vrx with six flags of vtx: %v, want -sdp-out: not for -f vrx", err)
		}
	}
}

func TestVideoFlagsErrors(t *testing.T) {
	sdp65535 := filepath.Join(t.TempDir(), "65535.sdp")
	if err := os.WriteFile(sdp65535, []byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 65535 RTP/AVP 96\r\nc=IN IP4 239.1.1.1/32\r\n"+
		"a=rtpmap:96 raw/90000\r\na=fmtp:96 "+fmt64x32+"\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vtx := func(args ...string) []string {
		return append([]string{"-i", "udp:127.0.0.1:5004", "-f", "vtx"}, args...)
	}
	vrx := func(args ...string) []string {
		return append([]string{"-i", "udp:127.0.0.1:5004", "-f", "vrx"}, args...)
	}
	cases := []struct {
		args []string
		want string
	}{
		{vtx(), "needs the video format"},
		{vtx("-fmt", fmt64x32, "-R", "NaN"), "-R NaN: rate must be 0 (no limit) or in"},
		{vtx("-fmt", fmt64x32, "-R", "Inf"), "-R +Inf: rate must be"},
		{vtx("-fmt", "sampling=YCbCr-4:2:2; width=64; height=32"), "lacks depth"},
		{vtx("-fmt", "sampling=YCbCr-4:2:9; width=64; height=32; depth=10"), "sampling"},
		{vtx("-fmt", "sampling=YCbCr-4:2:2; width=63; height=32; depth=10; exactframerate=25"), "width 63"},
		{vtx("-fmt", "sampling=YCbCr-4:2:2; width=64; height=32; depth=10; exactframerate=1/0"), "exactframerate"},
		{vtx("-fmt", "sampling=YCbCr-4:2:2; width=64; height=32; depth=10"), "frame rate"},
		{vtx("-fmt", fmt64x32, "-sdp", "x.sdp"), "give one"},
		{vtx("-sdp", "/nonexistent.sdp"), "-sdp"},
		{vtx("-fmt", fmt64x32, "-tp", "X"), "want N, NL or W"},
		{vtx("-fmt", fmt64x32, "-tp", "2110TPQ"), "-tp"},
		{vtx("-fmt", fmt64x32, "-pix", "yuv999"), "-pix \"yuv999\""},
		{vtx("-fmt", fmt64x32, "-pix", "yuv420p"), "cannot convert"},
		{vtx("-fmt", fmt64x32, "-pix", "rgb24"), "cannot convert"},
		{vtx("-fmt", fmt64x32, "-out", "x"), "-out: not for -f vtx"},
		{vtx("-fmt", fmt64x32, "-n", "5"), "use -frames"},
		{vtx("-fmt", fmt64x32, "-l", "100"), "-l"},
		{vtx("-fmt", fmt64x32, "-streams", "0"), "-streams 0"},
		{vtx("-fmt", fmt64x32, "-p", "2"), "-p 2"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-d", "239.1.1.1:5000-239.1.1.5:5004"}, "-d: -f vtx takes one IP[:PORT] (stream K on PORT+K), not a range"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-s", "10.0.0.1:100-10.0.0.1:200"}, "-s: -f vtx takes one IP[:PORT]"},
		{[]string{"-i", "vale0:b", "-f", "vrx", "-fmt", fmt64x32, "-d", "239.1.1.1-239.1.1.2"}, "-d: -f vrx takes one IP[:PORT]"},
		// vrx writes no headers: the sender's source and MACs are not its.
		{[]string{"-i", "vale0:b", "-f", "vrx", "-fmt", fmt64x32, "-s", "10.0.0.5"}, "-s: not for -f vrx"},
		// A range is no better: refused as -s, not as a range.
		{[]string{"-i", "vale0:b", "-f", "vrx", "-fmt", fmt64x32, "-s", "10.0.0.5-10.0.0.9"}, "-s: not for -f vrx"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vrx", "-fmt", fmt64x32, "-s", "10.0.0.5:100-10.0.0.5:200"}, "-s: not for -f vrx"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vrx", "-fmt", fmt64x32, "-S", "02:00:00:00:00:05"}, "-S: not for -f vrx"},
		{vrx("-fmt", fmt64x32, "-D", "02:00:00:00:00:05"), "-D: not for -f vrx"},
		{vtx("-fmt", fmt64x32, "-max-rows", "-1"), "-max-rows -1: must be >= 0"},
		{vtx("-fmt", fmt64x32, "-max-rows", "x"), "invalid value \"x\" for flag -max-rows"},
		{vtx("-fmt", fmt64x32+"; PM=2110BPM", "-max-rows", "4"), "-max-rows 4: stream 0 is block packed"},
		{vrx("-fmt", fmt64x32, "-max-rows", "4"), "-max-rows: not for -f vrx"},
		// Packed back to back, 1080p's rows take 3608 packets a frame, not
		// 4320: a CMAX of 5, not 6, which -burst is held to.
		{vtx("-fmt", fmt1080p, "-burst", "6", "-max-rows", "3"), "-burst 6: above the CMAX 5 of stream 0 (1920x1080p 60000/1001 YCbCr-4:2:2/10, 3608 packets a frame"},
		{vrx("-fmt", fmt64x32, "-in", "x"), "-in: not for -f vrx"},
		{vrx("-fmt", fmt64x32, "-tp", "N"), "-tp: not for -f vrx"},
		{vrx("-fmt", fmt64x32, "-sdp-out", "x"), "-sdp-out: not for -f vrx"},
		{vrx("-fmt", fmt64x32, "-R", "10"), "-R: not for -f vrx"},
		{vrx("-fmt", fmt64x32, "-selfcheck=false"), "-selfcheck: not for -f vrx"},
		{vrx("-fmt", fmt64x32, "-burst", "4"), "-burst: not for -f vrx"},
		{vrx("-fmt", fmt64x32, "-rt", "10"), "-rt: not for -f vrx"},
		{vtx("-fmt", fmt64x32, "-rt", "100"), "-rt 100: a SCHED_FIFO priority is 1 to 99"},
		{[]string{"-i", "udp:127.0.0.1:9000", "-f", "vtx", "-fmt", fmt64x32, "-rt", "10"}, "-rt: only a sender over a netmap port or xdp:"},
		{vtx("-fmt", fmt64x32, "-burst", "0"), "-burst 0"},
		// -b over udp: is a sendmmsg or recvmmsg: named as -b, not as
		// st2110's SendConfig.Batch when the run starts.
		{vtx("-fmt", fmt64x32, "-b", "2000"), "-b 2000: over udp: at most 1024"},
		{vrx("-fmt", fmt64x32, "-b", "1025"), "-b 1025: over udp: at most 1024"},
		{[]string{"-i", "vale0:a", "-i", "udp:127.0.0.1:5004", "-f", "vrx", "-fmt", fmt64x32, "-b", "4096"}, "-b 4096: over udp: at most 1024"},
		{vtx("-fmt", fmt64x32, "-frame-buffers", "8"), "-frame-buffers: not for -f vtx"},
		{vrx("-fmt", fmt64x32, "-frame-buffers", "-1"), "-frame-buffers -1: must be in 0..1024"},
		{vrx("-fmt", fmt64x32, "-frame-buffers", "1025"), "-frame-buffers 1025: must be in 0..1024"},
		{[]string{"-i", "vale0:a", "-f", "rx", "-frame-buffers", "8"}, "-frame-buffers: only for"},
		{vtx("-fmt", fmt64x32, "-passthrough"), "-passthrough: not for -f vtx"},
		{[]string{"-i", "udp:eth0", "-f", "vrx", "-fmt", fmt64x32, "-passthrough"}, "-passthrough: for a netmap NIC port"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vrx", "-fmt", fmt64x32, "-passthrough"}, "-passthrough: for a netmap NIC port"},
		{[]string{"-i", "vale0:a", "-f", "rx", "-passthrough"}, "-passthrough: only for"},
		{[]string{"-i", "vale0:a", "-f", "tx", "-selfcheck=false"}, "-selfcheck: only for"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vtx", "-fmt", fmt64x32}, "give -frames"},
		{[]string{"-i", "pcap:", "-f", "vrx", "-fmt", fmt64x32}, "no file name"},
		{[]string{"-i", "pcap:x.pcap", "-f", "rx"}, "only for -f vtx and vrx"},
		{[]string{"-i", "vale0:a", "-f", "tx", "-fmt", fmt64x32}, "-fmt: only for -f vtx and vrx"},
		{[]string{"-i", "vale0:a", "-f", "rx", "-frames", "3"}, "-frames: only for"},
		{[]string{"-i", "udp:127.0.0.1:65535", "-f", "vtx", "-fmt", fmt64x32, "-streams", "2"}, "do not fit"},
		// Stream K on -d's port + K, and on the SDP's: past 65535 the
		// port once wrapped to 0 (a receiver's stream then took the
		// first port seen) and on to 1, 2, ...
		{[]string{"-i", "vale0:a", "-f", "vrx", "-fmt", fmt64x32, "-d", "10.1.0.1:65535", "-streams", "2"}, "-d 10.1.0.1:65535: 2 streams do not fit above port 65535"},
		{[]string{"-i", "vale0:a", "-f", "vtx", "-fmt", fmt64x32, "-d", "10.1.0.1:65534", "-streams", "3"}, "-d 10.1.0.1:65534: 3 streams do not fit above port 65534"},
		{[]string{"-i", "vale0:a", "-f", "vtx", "-sdp", sdp65535, "-streams", "2"}, "2 streams do not fit above the SDP's port 65535"},
		{[]string{"-i", "vale0:a", "-f", "vrx", "-sdp", sdp65535, "-streams", "2"}, "2 streams do not fit above the SDP's port 65535"},
		{[]string{"-i", "udp", "-f", "vrx", "-sdp", sdp65535, "-streams", "2"}, "2 streams do not fit above the SDP's port 65535"},
	}
	for _, c := range cases {
		_, err := parseFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
	// Where -i udp:HOST:PORT or -d gives the ports, the SDP's does not
	// matter.
	for _, args := range [][]string{
		{"-i", "udp:127.0.0.1:5004", "-f", "vrx", "-sdp", sdp65535, "-streams", "2"},
		{"-i", "vale0:a", "-f", "vtx", "-sdp", sdp65535, "-streams", "2", "-d", "10.1.0.1:5000"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// The usage text names the video functions and their flags (the interop
// tests check the same before they use nmbench).
func TestVideoUsage(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &out); err == nil {
		t.Fatal("-h: no error")
	}
	for _, want := range []string{"vtx", "vrx", "-fmt", "-sdp-out", "-in", "-out", "-pix", "-frames", "-frame-buffers", "-streams", "-tp", "pcap:FILE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

// videoReport is the final JSON object of vtx and vrx, the fields the
// tests read.
type videoReport struct {
	Final           bool    `json:"final"`
	Packets         uint64  `json:"packets"`
	Frames          uint64  `json:"frames"`
	Lost            uint64  `json:"lost"`
	Late            uint64  `json:"late"`
	Reordered       uint64  `json:"reordered"`
	PacketsPerFrame int     `json:"packets_per_frame"`
	PackingMode     string  `json:"packing_mode"`
	SenderType      string  `json:"sender_type"`
	Cinst           int     `json:"cinst"`
	VRX             int     `json:"vrx"`
	TRONs           int64   `json:"tro_ns"`
	Verdict         string  `json:"verdict"`
	MaxRows         int     `json:"max_rows"`
	HeapAllocs      *uint64 `json:"heap_allocs"`
	Streams         []struct {
		Stream          int    `json:"stream"`
		Frames          uint64 `json:"frames"`
		Packets         uint64 `json:"packets"`
		Lost            uint64 `json:"lost"`
		Complete        uint64 `json:"complete_frames"`
		Incomplete      uint64 `json:"incomplete_frames"`
		Truncated       uint64 `json:"truncated"`
		Dropped         uint64 `json:"dropped_frames"`
		PacketsPerFrame int    `json:"packets_per_frame"`
		PackingMode     string `json:"packing_mode"`
		SenderType      string `json:"sender_type"`
		Cinst           int    `json:"cinst"`
		VRX             int    `json:"vrx"`
		VRXMin          int    `json:"vrx_min"`
		TRONs           int64  `json:"tro_ns"`
		Measured        *int64 `json:"measured_frames"`
		MaxRows         int    `json:"max_rows"`
		Analysis        string `json:"analysis"`
	} `json:"streams"`
}

// runCLI runs nmbench with args and returns its final JSON report.
func runCLI(t *testing.T, ctx context.Context, args ...string) videoReport {
	t.Helper()
	r, err := cliReport(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// cliReport runs nmbench with args, -json and -q, and returns its final
// report, or an error saying how it failed.
func cliReport(ctx context.Context, args ...string) (videoReport, error) {
	var out, errb bytes.Buffer
	if code := cli(ctx, append(args, "-json", "-q"), &out, &errb); code != 0 {
		return videoReport{}, fmt.Errorf("nmbench %q: exit %d: %s", args, code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r videoReport
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || !r.Final {
		return r, fmt.Errorf("nmbench %q: last line %q: %v", args, lines[len(lines)-1], err)
	}
	return r, nil
}

// cliResult is what a run of nmbench in another goroutine gave.
type cliResult struct {
	r   videoReport
	err error
}

// goCLI runs nmbench in a goroutine of its own (a test's t.Fatal must not
// be called there: the test would wait for a result that never comes) and
// hands over its report and error when it ends.
func goCLI(ctx context.Context, args ...string) <-chan cliResult {
	c := make(chan cliResult, 1)
	go func() {
		r, err := cliReport(ctx, args...)
		c <- cliResult{r, err}
	}()
	return c
}

// report is the report of res, which fails t if nmbench failed.
func (res cliResult) report(t *testing.T) videoReport {
	t.Helper()
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.r
}

// randomFile writes n frames of size octets of pseudo-random bytes.
func randomFile(t *testing.T, n, size int, seed uint64) string {
	t.Helper()
	b := make([]byte, n*size)
	r := rand.New(rand.NewPCG(seed, 2110))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	name := filepath.Join(t.TempDir(), "frames")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// freePorts returns a UDP port p such that p..p+n-1 were free a moment
// ago, reserved for t as freeUDPPort's. Before, p was a port of the
// loopback the kernel had found free, and p+1.. were only checked: any
// other socket could hold them by the time vrx bound them.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	return int(porttest.UDP(t, n))
}

// vtx into vrx over UDP loopback, two streams on consecutive ports: the
// frames vrx writes are the frames vtx read, byte for byte, in pgroup
// layout and converted through yuv422p10le both ways. vrx has a buffer
// for every frame (-frame-buffers): with st2110's default of 4, a vrx
// kept from its CPU while writing -out on a loaded host once dropped a
// stream's sixth frame (dropped_frames) and the test failed with 5 frames
// of each stream written although all 384 packets had arrived.
func TestVideoUDPLoopback(t *testing.T) {
	for _, pix := range []string{"pgroup", "yuv422p10le"} {
		t.Run(pix, func(t *testing.T) {
			f, _ := video.ParseFmtp(fmt64x32)
			size := f.Format.FrameSize()
			if pix != "pgroup" {
				size, _ = video.PlanarSize(&f.Format, video.YUV422P10LE)
			}
			const frames = 6
			in := randomFile(t, frames, size, 1)
			if pix != "pgroup" { // samples must fit 10 bits to survive the round trip
				b, _ := os.ReadFile(in)
				for i := 1; i < len(b); i += 2 {
					b[i] &= 3
				}
				os.WriteFile(in, b, 0o644)
			}
			out := filepath.Join(t.TempDir(), "out")
			first := freePorts(t, 2)
			port := "udp:127.0.0.1:" + strconv.Itoa(first)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done := goCLI(ctx, "-i", port, "-f", "vrx", "-fmt", fmt64x32, "-streams", "2", "-frames", strconv.Itoa(frames),
				"-frame-buffers", strconv.Itoa(frames), "-out", out, "-pix", pix)
			for k := range 2 { // vtx starts once both streams' sockets are bound
				waitUDPBound(t, strconv.Itoa(first+k))
			}
			tx := runCLI(t, ctx, "-i", port, "-f", "vtx", "-fmt", fmt64x32, "-streams", "2", "-frames", strconv.Itoa(frames),
				"-in", in, "-pix", pix, "-R", "20000")
			rx := (<-done).report(t)
			if tx.Frames != 2*frames || tx.Packets != 2*frames*32 {
				t.Errorf("vtx sent %d frames, %d packets", tx.Frames, tx.Packets)
			}
			if rx.Frames != 2*frames || rx.Lost != 0 || len(rx.Streams) != 2 {
				t.Fatalf("vrx: %+v", rx)
			}
			want, _ := os.ReadFile(in)
			for k := range 2 {
				got, err := os.ReadFile(out + "." + strconv.Itoa(k))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("stream %d: %d octets received differ from the %d sent", k, len(got), len(want))
				}
				if s := rx.Streams[k]; s.Frames != frames || s.Complete != frames || s.Dropped != 0 || s.PacketsPerFrame != 32 || s.PackingMode != "2110GPM" {
					t.Errorf("stream %d: %+v", k, s)
				}
			}
		})
	}
}

// A 1080p59.94 stream through UDP loopback, a few frames, into -out.
// vtx starts once vrx's socket is bound. A vrx the host keeps off its CPU
// for longer than its socket's buffer lasts (about 7,000 of these
// datagrams: 120 ms at 60,000 packets/s) misses packets that the kernel
// drops (the newest: when they are the stream's tail, vrx cannot count
// them lost); such a run is sent again at half the rate, up to three
// times, when the kernel counted at least as many receive buffer drops
// as vrx missed packets. A loss the kernel did not count fails at once.
// Under the race detector, which slows vrx several times over, the first
// run is at 15,000 packets/s and there are four (on a loaded host vrx
// then missed packets at 60,000, 30,000 and 15,000, each one the kernel
// dropped).
func TestVideoUDPLoopback1080p(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 1080p frames")
	}
	const frames, ppf = 3, 4320
	out := filepath.Join(t.TempDir(), "out")
	capture := filepath.Join(t.TempDir(), "tx.pcap")
	first, tries := 60000, 3
	if raceEnabled {
		first, tries = 15000, 4
	}
	for try, rate := 1, first; ; try, rate = try+1, rate/2 {
		port := freeUDPPort(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel() // vrx stops if the test fails before its own cancel below
		drops := udpRcvbufErrors()
		done := goCLI(ctx, "-i", "udp:127.0.0.1:"+port, "-f", "vrx", "-fmt", fmt1080p, "-frames", strconv.Itoa(frames), "-out", out)
		waitUDPBound(t, port)
		tx := runCLI(t, ctx, "-i", "udp:127.0.0.1:"+port, "-f", "vtx", "-fmt", fmt1080p, "-frames", strconv.Itoa(frames), "-R", strconv.Itoa(rate))
		var res cliResult
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			// vrx missed the end of the last frame (its marker) and
			// waits for a frame that will not come: what it got is its
			// report.
			cancel()
			res = <-done
		}
		rx := res.report(t)
		cancel()
		if tx.Packets != frames*ppf {
			t.Fatalf("vtx sent %d packets, not %d: %+v", tx.Packets, frames*ppf, tx)
		}
		missed := tx.Packets - rx.Packets
		if rx.Frames == frames && rx.Lost == 0 && missed == 0 && rx.PacketsPerFrame == ppf {
			break
		}
		kernel := udpRcvbufErrors() - drops
		if missed == 0 || kernel < int64(missed) || try == tries {
			t.Fatalf("vrx at %d packets/s: %+v; %d of vtx's packets missed; the kernel counted %d receive buffer drops", rate, rx, missed, kernel)
		}
		t.Logf("vrx at %d packets/s missed %d packets (%d counted lost), the kernel dropped %d: again at half the rate", rate, missed, rx.Lost, kernel)
	}
	// The test pattern sent is the one a capture of vtx holds.
	ctx := context.Background()
	runCLI(t, ctx, "-i", "pcap:"+capture, "-f", "vtx", "-fmt", fmt1080p, "-frames", strconv.Itoa(frames))
	fromPcap := filepath.Join(t.TempDir(), "pcap.out")
	runCLI(t, ctx, "-i", "pcap:"+capture, "-f", "vrx", "-fmt", fmt1080p, "-out", fromPcap)
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(fromPcap)
	if len(a) != frames*5184000 || !bytes.Equal(a, b) {
		t.Errorf("%d octets over UDP, %d from the capture: not the same frames", len(a), len(b))
	}
}

// vtx writes a capture, vrx reads it back: the same frames, and the
// analysis of the capture shows the schedule vtx kept for each sender
// type: the packets per frame and packing of the format, Cinst and VRX
// within the type's limits, TROffset near TRO_DEFAULT less the lead.
func TestVideoPcapSenderTypes(t *testing.T) {
	const frames = 3
	for _, c := range []struct {
		fmtp, tp, want, packing string
		ppf                     int
	}{
		{fmt720p, "N", "N", "2110GPM", 2160},
		{fmt720p + "; PM=2110BPM", "NL", "NL", "2110BPM", 1829},
		{fmt720p, "W", "W", "2110GPM", 2160},
		{fmt1080p, "N", "N", "2110GPM", 4320},
	} {
		t.Run(c.tp+"-"+c.packing+"-"+strconv.Itoa(c.ppf), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			pc, out := filepath.Join(dir, "v.pcap"), filepath.Join(dir, "out")
			s, _ := video.ParseFmtp(c.fmtp)
			in := randomFile(t, frames, s.Format.FrameSize(), 7)
			tx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", c.fmtp, "-tp", c.tp, "-frames", strconv.Itoa(frames), "-in", in)
			rx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", c.fmtp, "-out", out)
			got, _ := os.ReadFile(out)
			want, _ := os.ReadFile(in)
			if !bytes.Equal(got, want) {
				t.Errorf("vrx wrote %d octets, not the %d vtx read", len(got), len(want))
			}
			if rx.Frames != frames || rx.Lost != 0 || rx.Packets != uint64(frames*c.ppf) {
				t.Errorf("vrx: %d frames, %d lost, %d packets", rx.Frames, rx.Lost, rx.Packets)
			}
			if st := tx.Streams[0]; tx.Frames != frames || st.Frames != frames || st.Packets != uint64(frames*c.ppf) { // the sender's own counts
				t.Errorf("vtx: %d frames, stream 0: %d frames, %d packets", tx.Frames, st.Frames, st.Packets)
			}
			for name, r := range map[string]videoReport{"vtx": tx, "vrx": rx} {
				st := r.Streams[0]
				t.Logf("%s: %s", name, st.Analysis)
				if r.PacketsPerFrame != c.ppf || r.PackingMode != c.packing || r.SenderType != c.want {
					t.Errorf("%s: %d pkts/frame %s, sender type %q; want %d %s %s", name, r.PacketsPerFrame, r.PackingMode, r.SenderType, c.ppf, c.packing, c.want)
				}
				if r.Cinst > 4 || st.VRXMin < 0 || r.TRONs <= 0 {
					t.Errorf("%s: Cinst %d, VRX %d..%d, TRO %v", name, r.Cinst, st.VRXMin, r.VRX, time.Duration(r.TRONs))
				}
			}
			// The capture keeps nanoseconds; frame epochs (1001/60000 s
			// apart) fall between nanoseconds, so the two may round apart
			// by one.
			if d := tx.TRONs - rx.TRONs; d < -1 || d > 1 {
				t.Errorf("TROffset %v sent, %v in the capture", time.Duration(tx.TRONs), time.Duration(rx.TRONs))
			}
		})
	}
}

// vtx -selfcheck=false sends the same packets at the same times but does
// not analyse them: its report has no sender type, vrx's analysis of the
// capture still finds the narrow sender.
func TestVideoSelfCheckOff(t *testing.T) {
	ctx := context.Background()
	pc := filepath.Join(t.TempDir(), "v.pcap")
	tx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt720p, "-frames", "3", "-selfcheck=false")
	if tx.Packets != 3*2160 || tx.SenderType != "" || tx.Cinst != 0 || tx.Streams[0].Analysis != "" {
		t.Errorf("vtx -selfcheck=false: %d packets, sender type %q, Cinst %d, analysis %q", tx.Packets, tx.SenderType, tx.Cinst, tx.Streams[0].Analysis)
	}
	rx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", fmt720p)
	if rx.Frames != 3 || rx.Lost != 0 || rx.SenderType != "N" {
		t.Errorf("vrx of vtx -selfcheck=false: %d frames, %d lost, sender type %q", rx.Frames, rx.Lost, rx.SenderType)
	}
	on := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt720p, "-frames", "3")
	if on.SenderType != "N" {
		t.Errorf("vtx (self-check on): sender type %q, want N", on.SenderType)
	}
}

// vtx -burst B sends B packets together: in a capture, Cinst grows with
// the burst and stays within the narrow sender's CMAX (6 at 1080p59.94),
// which the pacer enforces.
func TestVideoBurst(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cinst := map[int]int{}
	for _, b := range []int{1, 4} {
		pc := filepath.Join(dir, strconv.Itoa(b)+".pcap")
		runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt1080p, "-frames", "3", "-burst", strconv.Itoa(b))
		rx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", fmt1080p)
		if rx.Frames != 3 || rx.Lost != 0 || rx.SenderType != "N" || rx.Cinst > 6 {
			t.Errorf("-burst %d: %d frames, %d lost, sender type %q, Cinst %d", b, rx.Frames, rx.Lost, rx.SenderType, rx.Cinst)
		}
		cinst[b] = rx.Cinst
	}
	if cinst[4] < cinst[1]+2 {
		t.Errorf("Cinst %d with -burst 4, %d with -burst 1: bursts did not show", cinst[4], cinst[1])
	}
	// A burst above -b is accepted, and goes out in writes of -b at the
	// burst's time (-burst's help): the same stream as from one write.
	pc := filepath.Join(dir, "b1.pcap")
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt1080p, "-frames", "3", "-burst", "4", "-b", "1")
	rx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", fmt1080p)
	if rx.Frames != 3 || rx.Lost != 0 || rx.SenderType != "N" || rx.Cinst != cinst[4] {
		t.Errorf("-burst 4 -b 1: %d frames, %d lost, sender type %q, Cinst %d; want 3, 0, N, and Cinst %d as with one write a burst",
			rx.Frames, rx.Lost, rx.SenderType, rx.Cinst, cinst[4])
	}
	// Refused with the flags, naming the flag, before the capture is
	// made.
	var out, errb bytes.Buffer
	x := filepath.Join(dir, "x.pcap")
	if code := cli(ctx, []string{"-i", "pcap:" + x, "-f", "vtx", "-fmt", fmt1080p, "-frames", "1", "-burst", "8"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "-burst 8: above the CMAX 6 of stream 0 ") || strings.Contains(errb.String(), "video:") {
		t.Errorf("-burst 8 at 1080p: exit %d, %q", code, errb.String())
	}
	if _, err := os.Stat(x); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-burst 8 at 1080p: the capture was made (%v)", err)
	}
	// The wide sender's CMAX is larger.
	runCLI(t, ctx, "-i", "pcap:"+x, "-f", "vtx", "-fmt", fmt1080p, "-frames", "1", "-burst", "8", "-tp", "W")
	// Of two streams, the refusal gives the smaller CMAX (720p50 N: 4,
	// 1080p59.94 N: 6), whichever stream comes first: both orders, so
	// neither "the first" nor "the last" stream passes.
	media := func(port int, fmtp string) string {
		return "m=video " + strconv.Itoa(port) + " RTP/AVP 96\r\nc=IN IP4 239.1.1.1/32\r\na=rtpmap:96 raw/90000\r\n" +
			"a=fmtp:96 " + fmtp + "; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPN;\r\na=mediaclk:direct=0\r\n"
	}
	for _, o := range []struct {
		name        string
		first, last string
		least       string // the stream of the smaller CMAX
	}{
		{"1080p59.94 and 720p50", fmt1080p, fmt720p, "1"},
		{"720p50 and 1080p59.94", fmt720p, fmt1080p, "0"},
	} {
		sdp := filepath.Join(dir, "two.sdp")
		if err := os.WriteFile(sdp, []byte("v=0\r\no=- 1 0 IN IP4 10.0.0.1\r\ns=two\r\nt=0 0\r\n"+media(5004, o.first)+media(5006, o.last)), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, b := range []string{"7", "6", "5"} {
			out.Reset()
			errb.Reset()
			if code := cli(ctx, []string{"-i", "pcap:" + x, "-f", "vtx", "-sdp", sdp, "-frames", "1", "-burst", b}, &out, &errb); code != 2 ||
				!strings.Contains(errb.String(), "-burst "+b+": above the CMAX 4 of stream "+o.least+" ") || !strings.Contains(errb.String(), ": at most 4,") {
				t.Errorf("-burst %s, %s: exit %d, %q", b, o.name, code, errb.String())
			}
		}
		runCLI(t, ctx, "-i", "pcap:"+x, "-f", "vtx", "-sdp", sdp, "-frames", "1", "-burst", "4")
	}
}

// A capture cut to the headers (a short snap length) has no sample data:
// no frame is complete, but the analysis is the same as on the whole
// capture.
func TestVideoPcapHeadersOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	full, cut := filepath.Join(dir, "full.pcap"), filepath.Join(dir, "cut.pcap")
	runCLI(t, ctx, "-i", "pcap:"+full, "-f", "vtx", "-fmt", fmt720p, "-frames", "3")
	// Ethernet, IPv4, UDP, RTP, extended sequence number, one SRD header.
	snap := packet.UDPHdrLen + packet.RTPLen + packet.ExtSeqLen + packet.SRDLen
	n := rewritePcap(t, full, cut, snap)
	whole := runCLI(t, ctx, "-i", "pcap:"+full, "-f", "vrx", "-fmt", fmt720p)
	r := runCLI(t, ctx, "-i", "pcap:"+cut, "-f", "vrx", "-fmt", fmt720p, "-out", filepath.Join(dir, "out"))
	st := r.Streams[0]
	t.Logf("headers only: %s", st.Analysis)
	if st.Truncated != uint64(n) || st.Complete != 0 || st.Frames != 3 || r.Lost != 0 {
		t.Errorf("%d packets cut short (want %d), %d complete frames, %d frames, %d lost", st.Truncated, n, st.Complete, st.Frames, r.Lost)
	}
	if r.PacketsPerFrame != 2160 || r.PackingMode != "2110GPM" || r.SenderType != "N" ||
		r.Cinst != whole.Cinst || r.VRX != whole.VRX || r.TRONs != whole.TRONs {
		t.Errorf("headers only: %+v\nwhole: %+v", r, whole)
	}
}

// rewritePcap copies the capture in to out cut to snap octets per packet
// (with nanosecond timestamps, as vtx writes them) and returns the number
// of packets.
func rewritePcap(t *testing.T, in, out string, snap int) int {
	t.Helper()
	return copyPcap(t, in, out, func(bw io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
		w, err := packet.NewPcapWriterNanos(bw, snap)
		if err != nil {
			t.Fatal(err)
		}
		return func(ci gopacket.CaptureInfo, data []byte) error { return w.WritePacket(ci.Timestamp, data) }, nil
	})
}

// copyPcap hands every packet of the pcap file in to the writer that
// newWriter sets up on a buffered out, flushes the writer (if flush is
// set) and the buffer, and returns the number of packets.
func copyPcap(t *testing.T, in, out string, newWriter func(io.Writer) (write func(gopacket.CaptureInfo, []byte) error, flush func() error)) int {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	bw := bufio.NewWriter(o)
	write, flush := newWriter(bw)
	n := 0
	for ; ; n++ {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := write(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if flush != nil {
		if err := flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return n
}

// vtx writes the SDP of what it sends; it reads back as the format asked
// for, with the packing, sender type and address of each stream.
func TestVideoSDPOut(t *testing.T) {
	dir := t.TempDir()
	sdp := filepath.Join(dir, "out.sdp")
	runCLI(t, context.Background(), "-i", "pcap:"+filepath.Join(dir, "x.pcap"), "-f", "vtx", "-fmt", fmt64x32+"; interlace; colorimetry=BT709",
		"-tp", "W", "-streams", "2", "-d", "239.2.2.2:5000", "-frames", "1", "-sdp-out", sdp)
	b, err := os.ReadFile(sdp)
	if err != nil {
		t.Fatal(err)
	}
	s, err := video.ParseSDP(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(s.Streams) != 2 {
		t.Fatalf("%d streams\n%s", len(s.Streams), b)
	}
	for k, st := range s.Streams {
		if st.Format.Scan != video.Interlaced || st.Format.Colorimetry != video.BT709 || st.Sender != video.SenderWide ||
			st.Packing != video.GPM || st.Dst.String() != "239.2.2.2:"+strconv.Itoa(5000+k) || st.Source.String() != "10.0.0.1" ||
			!strings.HasPrefix(st.RefClock, "localmac=") {
			t.Errorf("stream %d: %+v", k, st)
		}
	}
}

// The send and receive paths allocate nothing per packet, nor per frame,
// in steady state: vtx writing a capture and vrx reading it back through
// st2110's Dial and Listen (whose per-packet paths on a netmap ring and a
// UDP socket have their own tests there) allocate as many heap objects
// (heap_allocs, every object of the run counted) for ten times the frames,
// within a few for the runtime. Once with 3 streams of 720p (2160 packets
// a frame), once with many small frames converted to -pix yuv422p10le and
// written to -out. The runs report every 10 ms (-T), which -q does not
// print: a longer run (ten times the frames, or a host that slows it down)
// must not count more heap objects for its interval reports either.
func TestVideoLoopsAllocs(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name    string
		args    []string
		rxArgs  []string
		streams int
		frames  int
		ppf     int
	}{
		{"720p-3-streams", []string{"-fmt", fmt720p, "-streams", "3"}, nil, 3, 3, 2160},
		{"64x32-out", []string{"-fmt", fmt64x32}, []string{"-out", filepath.Join(dir, "out"), "-pix", "yuv422p10le"}, 1, 30, 32},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := func(frames int) (tx, rx uint64) {
				pc := filepath.Join(dir, c.name+strconv.Itoa(frames)+".pcap")
				s := runCLI(t, context.Background(), append([]string{"-i", "pcap:" + pc, "-f", "vtx", "-T", "10ms", "-frames", strconv.Itoa(frames)}, c.args...)...)
				r := runCLI(t, context.Background(), append(append([]string{"-i", "pcap:" + pc, "-f", "vrx", "-T", "10ms"}, c.args...), c.rxArgs...)...)
				for k, st := range r.Streams {
					if st.Lost != 0 || st.Frames != uint64(frames) || st.Complete != st.Frames || st.PacketsPerFrame != c.ppf || st.Analysis == "" {
						t.Errorf("%d frames: stream %d: %+v", frames, k, st)
					}
				}
				if s.HeapAllocs == nil || r.HeapAllocs == nil {
					t.Fatal("no heap_allocs in the reports")
				}
				return *s.HeapAllocs, *r.HeapAllocs
			}
			tx0, rx0 := run(c.frames)
			tx1, rx1 := run(10 * c.frames)
			more := 9 * c.frames * c.streams
			for _, r := range []struct {
				name      string
				few, many uint64
			}{{"vtx", tx0, tx1}, {"vrx", rx0, rx1}} {
				gap := int64(r.many) - int64(r.few)
				t.Logf("%s: %d heap objects for %d frames a stream, %d for %d", r.name, r.few, c.frames, r.many, 10*c.frames)
				if gap > 20 {
					t.Errorf("%s: %d more heap objects for %d more frames (%d packets each)", r.name, gap, more, c.ppf)
				}
			}
		})
	}
}

// vrx reads captures made elsewhere: pcapng, Linux cooked and raw IP link
// types, and timestamps already on TAI (a capture card on PTP time) rather
// than the system clock; each gives the frames and the analysis of the
// Ethernet capture vtx wrote. (At 59.94 Hz, 37 s is no whole number of
// frames: TAI stamps taken for UTC would move TROffset.)
func TestVideoPcapFormats(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "vtx.pcap")
	runCLI(t, ctx, "-i", "pcap:"+src, "-f", "vtx", "-fmt", fmt1080p, "-frames", "3")
	want := runCLI(t, ctx, "-i", "pcap:"+src, "-f", "vrx", "-fmt", fmt1080p, "-out", filepath.Join(dir, "want"))
	wantFrames, _ := os.ReadFile(filepath.Join(dir, "want"))
	sll := func(b []byte) []byte { // 16-octet Linux cooked header, protocol IPv4
		h := []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}
		return append(h, b[packet.EthLen:]...)
	}
	for _, c := range []struct {
		name  string
		ng    bool
		link  layers.LinkType
		frame func([]byte) []byte
		shift time.Duration
	}{
		{"pcapng", true, layers.LinkTypeEthernet, nil, 0},
		{"linux-cooked", false, layers.LinkTypeLinuxSLL, sll, 0},
		{"raw-ip", false, layers.LinkTypeRaw, func(b []byte) []byte { return b[packet.EthLen:] }, 0},
		{"tai-stamps", false, layers.LinkTypeEthernet, nil, st2110.LeapSeconds * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := filepath.Join(dir, c.name)
			convertPcap(t, src, name, c.ng, c.link, c.frame, c.shift)
			out := name + ".out"
			got := runCLI(t, ctx, "-i", "pcap:"+name, "-f", "vrx", "-fmt", fmt1080p, "-out", out)
			b, _ := os.ReadFile(out)
			if !bytes.Equal(b, wantFrames) || got.Frames != 3 || got.Lost != 0 {
				t.Errorf("%d frames, %d lost; frames equal: %v", got.Frames, got.Lost, bytes.Equal(b, wantFrames))
			}
			if got.SenderType != want.SenderType || got.TRONs != want.TRONs || got.VRX != want.VRX || got.PacketsPerFrame != want.PacketsPerFrame {
				t.Errorf("analysis %+v\nwant %+v", got, want)
			}
		})
	}
}

// convertPcap rewrites the Ethernet capture in to out: pcapng or pcap of
// link type link, each frame passed through frame (if set), timestamps
// moved by shift.
func convertPcap(t *testing.T, in, out string, ng bool, link layers.LinkType, frame func([]byte) []byte, shift time.Duration) {
	t.Helper()
	copyPcap(t, in, out, func(bw io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
		var write func(gopacket.CaptureInfo, []byte) error
		var flush func() error
		if ng {
			w, err := pcapgo.NewNgWriter(bw, link)
			if err != nil {
				t.Fatal(err)
			}
			write, flush = w.WritePacket, w.Flush
		} else {
			w := pcapgo.NewWriterNanos(bw)
			if err := w.WriteFileHeader(65535, link); err != nil {
				t.Fatal(err)
			}
			write = w.WritePacket
		}
		return func(ci gopacket.CaptureInfo, data []byte) error {
			if frame != nil {
				data = frame(data)
			}
			ci.Timestamp = ci.Timestamp.Add(shift)
			ci.CaptureLength, ci.Length = len(data), len(data)
			return write(ci, data)
		}, flush
	})
}

// runText runs nmbench with args and returns its text output.
func runText(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("nmbench %q: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

// vrx shows in its text summary, as in its JSON, what it dropped: rows
// outside the frame, malformed packets, packets of no stream.
func TestVideoReportProblems(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.pcap"), filepath.Join(dir, "bad.pcap")
	runCLI(t, ctx, "-i", "pcap:"+good, "-f", "vtx", "-fmt", fmt720p, "-frames", "3")
	udp, err := packet.NewUDPTemplate(&packet.UDPConfig{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"), SrcPort: 53, DstPort: 53})
	if err != nil {
		t.Fatal(err)
	}
	const rtp = packet.UDPHdrLen // where the RTP header starts
	i := 0
	copyPcap(t, good, bad, func(bw io.Writer) (func(gopacket.CaptureInfo, []byte) error, func() error) {
		w, err := packet.NewPcapWriter(bw, 0)
		if err != nil {
			t.Fatal(err)
		}
		return func(ci gopacket.CaptureInfo, data []byte) error {
			defer func() { i++ }()
			d := bytes.Clone(data)
			switch i {
			case 100: // the first SRD's line far outside the 720 rows
				binary.BigEndian.PutUint16(d[rtp+packet.RTPLen+packet.ExtSeqLen+2:], 0x7000)
			case 200: // RTP version 1
				d[rtp] = 0x40
			case 300: // a DNS-like datagram to another port: no stream's
				f := make([]byte, 100)
				udp.Write(f, len(f), [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 53, 53, 1)
				if err := w.WritePacket(ci.Timestamp, f); err != nil {
					return err
				}
			}
			return w.WritePacket(ci.Timestamp, d)
		}, nil
	})
	r := runCLI(t, ctx, "-i", "pcap:"+bad, "-f", "vrx", "-fmt", fmt720p)
	var full struct {
		Other   uint64 `json:"other_packets"`
		Streams []struct {
			BadRows   uint64 `json:"bad_rows"`
			Malformed uint64 `json:"malformed"`
		} `json:"streams"`
	}
	text := runText(t, "-i", "pcap:"+bad, "-f", "vrx", "-fmt", fmt720p, "-q")
	var out bytes.Buffer
	cli(ctx, []string{"-i", "pcap:" + bad, "-f", "vrx", "-fmt", fmt720p, "-q", "-json"}, &out, io.Discard)
	if err := json.Unmarshal(out.Bytes(), &full); err != nil {
		t.Fatal(err)
	}
	if len(r.Streams) != 1 || full.Other != 1 || full.Streams[0].BadRows != 1 || full.Streams[0].Malformed != 1 {
		t.Errorf("JSON: %s", out.String())
	}
	for _, want := range []string{"bad rows 1", "malformed 1", "1 other packets"} {
		if !strings.Contains(text, want) {
			t.Errorf("text summary lacks %q:\n%s", want, text)
		}
	}
}

// A capture with no video says so, in text and in JSON, instead of a
// report of zeros.
func TestVideoReportNoVideo(t *testing.T) {
	name := filepath.Join(t.TempDir(), "dns.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := packet.NewPcapWriter(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := packet.NewUDPTemplate(&packet.UDPConfig{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2},
		SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"), SrcPort: 53, DstPort: 53})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		b := make([]byte, 100)
		udp.Write(b, len(b), [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 53, 53, uint16(i))
		if err := w.WritePacket(time.Unix(1e9, int64(i)*1000), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	const want = "no RTP video: none of the 20 packets received was RTP video of the streams"
	if text := runText(t, "-i", "pcap:"+name, "-f", "vrx", "-fmt", fmt720p, "-q"); !strings.Contains(text, want) {
		t.Errorf("text summary lacks %q:\n%s", want, text)
	}
	// Of several streams, the line of them all gives no figures either
	// (not "0 pkts/frame , ..., CMAX 0").
	if text := runText(t, "-i", "pcap:"+name, "-f", "vrx", "-fmt", fmt720p, "-streams", "2", "-q"); !strings.Contains(text, "\nAll streams: "+video.TooFew+"\n") {
		t.Errorf("text summary of two streams lacks \"All streams: %s\":\n%s", video.TooFew, text)
	}
	var out bytes.Buffer
	cli(context.Background(), []string{"-i", "pcap:" + name, "-f", "vrx", "-fmt", fmt720p, "-q", "-json"}, &out, io.Discard)
	if !strings.Contains(out.String(), `"note":"`+want+`"`) || !strings.Contains(out.String(), `"other_packets":20`) {
		t.Errorf("JSON lacks the note and the 20 other packets: %s", out.String())
	}
}

// A file vrx cannot read as a capture fails at once, its only report the
// final object with the error and no counts, worded by Listen, which names
// the file once and says why; a capture cut short in the middle of a packet
// is reported, then named as such (as tshark does) with exit status 1.
func TestVideoPcapBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range badCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			name := filepath.Join(dir, c.name)
			if err := os.WriteFile(name, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			code := cli(context.Background(), []string{"-i", "pcap:" + name, "-f", "vrx", "-fmt", fmt64x32, "-q", "-json"}, &out, &errb)
			if code != 1 || !strings.Contains(errb.String(), c.want) || strings.Count(errb.String(), "\n") != 1 || strings.Count(errb.String(), name) != 1 {
				t.Errorf("exit %d, stderr %q; want 1 and one line naming the file once and saying %q", code, errb.String(), c.want)
			}
			var rep report
			if err := json.Unmarshal(out.Bytes(), &rep); !c.reports && (err != nil || !rep.Final || rep.Packets != 0 || !strings.Contains(rep.Error, c.want)) {
				t.Errorf("stdout %q (%v); want only the final object, no packets, its error saying %q", out.String(), err, c.want)
			}
			if c.reports && !strings.Contains(out.String(), `"packets":63,`) {
				t.Errorf("the 63 whole packets are not in the report: %s", out.String())
			}
		})
	}
}

// badCapture is a file vrx cannot read whole, and what its error says.
type badCapture struct {
	name    string
	data    []byte
	want    string
	reports bool // packets before the error
}

// badCaptures are files vrx cannot read as a capture, and one cut short
// in a packet.
func badCaptures(t *testing.T) []badCapture {
	whole := filepath.Join(t.TempDir(), "whole.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+whole, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2")
	b, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	return []badCapture{
		{"empty", nil, "empty file, no pcap or pcapng header", false},
		{"text", []byte("hello, this is no capture\n"), "not a pcap or pcapng file: it starts with 68 65 6c 6c", false},
		{"header-cut", b[:10], "file header cut short: 10 of 24 octets", false},
		{"packet-cut", b[:len(b)-20], "appears to have been cut short in the middle of a packet (packet 64)", true},
	}
}

// A capture of one or two frames is too short for the ST 2110-21 analysis
// (it starts at the second marker): text and JSON both say so, and
// neither gives a verdict or a packing mode the other contradicts.
func TestVideoTooFewFrames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"1", "2"} {
		name := filepath.Join(dir, n+".pcap")
		runCLI(t, context.Background(), "-i", "pcap:"+name, "-f", "vtx", "-fmt", fmt720p, "-frames", n)
		text := runText(t, "-i", "pcap:"+name, "-f", "vrx", "-fmt", fmt720p, "-q")
		var out bytes.Buffer
		cli(context.Background(), []string{"-i", "pcap:" + name, "-f", "vrx", "-fmt", fmt720p, "-q", "-json"}, &out, io.Discard)
		var r struct {
			Verdict string `json:"verdict"`
			Packing string `json:"packing_mode"`
			Streams []struct {
				Verdict string `json:"verdict"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Verdict != video.TooFew || len(r.Streams) != 1 || r.Streams[0].Verdict != video.TooFew {
			t.Errorf("%s frames: JSON verdict %q: %s", n, r.Verdict, out.String())
		}
		if !strings.Contains(text, video.TooFew) || strings.Contains(text, "not compliant") || strings.Contains(text, "2110BPM") {
			t.Errorf("%s frames: text summary\n%s\nwants %q, no verdict and no BPM (JSON says %s)", n, text, video.TooFew, r.Packing)
		}
	}
}

// An interlaced SDP may give the field rate in exactframerate (EBU LIST
// writes it so) where ST 2110-20 means the frame rate: vrx checks the rate
// against the RTP timestamps, analyses at the frame rate they show, and
// says which rate it used and why.
func TestVideoInterlacedFieldRate(t *testing.T) {
	const i1080 = "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; interlace"
	name := filepath.Join(t.TempDir(), "i25.pcap")
	ctx := context.Background()
	runCLI(t, ctx, "-i", "pcap:"+name, "-f", "vtx", "-fmt", i1080+"; exactframerate=25", "-frames", "3")
	right := runCLI(t, ctx, "-i", "pcap:"+name, "-f", "vrx", "-fmt", i1080+"; exactframerate=25")
	field := runCLI(t, ctx, "-i", "pcap:"+name, "-f", "vrx", "-fmt", i1080+"; exactframerate=50")
	if right.SenderType != "N" || field.SenderType != right.SenderType || field.Streams[0].Analysis != right.Streams[0].Analysis {
		t.Errorf("exactframerate=50 analysed as %q, exactframerate=25 as %q", field.Streams[0].Analysis, right.Streams[0].Analysis)
	}
	var out bytes.Buffer
	cli(ctx, []string{"-i", "pcap:" + name, "-f", "vrx", "-fmt", i1080 + "; exactframerate=50", "-q", "-json"}, &out, io.Discard)
	if !strings.Contains(out.String(), `"analysis_rate":"25","rate_check":"field rate`) {
		t.Errorf("JSON does not give the rate used and why: %s", out.String())
	}
	text := runText(t, "-i", "pcap:"+name, "-f", "vrx", "-fmt", i1080+"; exactframerate=50", "-q")
	if want := "analysed at 25 frames/s: exactframerate=50 is the field rate, as the RTP timestamps show (1800 ticks per field)"; !strings.Contains(text, want) {
		t.Errorf("text lacks %q:\n%s", want, text)
	}
}

// -in's errors say what failed: the memory budget's hint only for a file
// over it, not for one that cannot be read.
func TestVideoInReadError(t *testing.T) {
	dir := t.TempDir()
	out := "pcap:" + filepath.Join(dir, "x.pcap")
	for _, c := range []struct {
		in, want string
		code     int
	}{
		{filepath.Join(dir, "none"), "no such file", 1},
		{dir, "is a directory", 1},
		{"/dev/zero", "over the memory budget (raise -max-mem)", 1},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), []string{"-i", out, "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-in", c.in, "-max-mem", "64M"}, &stdout, &stderr)
		s := stderr.String()
		if code != c.code || !strings.Contains(s, c.want) || (c.in != "/dev/zero") == strings.Contains(s, "budget") {
			t.Errorf("-in %s: exit %d, %q; want %d and %q, the budget named only for a file over it", c.in, code, s, c.code, c.want)
		}
	}
}

// -max-lag lets vtx skip ahead when it falls behind its schedule
// (st2110.SendConfig.MaxLag): off by default (-1, every packet sent, as a
// benchmark wants), frame (0: one frame period), or a duration; refused
// where it means nothing.
func TestVideoMaxLagFlag(t *testing.T) {
	vtx := func(args ...string) []string {
		return append([]string{"-i", "udp:127.0.0.1:5004", "-f", "vtx", "-fmt", fmt64x32}, args...)
	}
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{vtx(), -1},
		{vtx("-max-lag", "off"), -1},
		{vtx("-max-lag", "frame"), 0},
		{vtx("-max-lag", "5ms"), 5 * time.Millisecond},
		{[]string{"-i", "vale0:a", "-f", "vtx", "-fmt", fmt64x32, "-max-lag", "250us"}, 250 * time.Microsecond},
		{[]string{"-i", "pcap:x.pcap", "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-max-lag", "off"}, -1},
	} {
		cfg, err := parseFlags(c.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if got := (&videoRun{cfg: cfg}).sendConfig(nil).MaxLag; got != c.want {
			t.Errorf("%q: SendConfig.MaxLag %v, want %v", c.args, got, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{vtx("-max-lag", "0"), "want a duration above 0"},
		{vtx("-max-lag", "-5ms"), "want a duration above 0"},
		{vtx("-max-lag", "soon"), "want a duration above 0"},
		{[]string{"-i", "udp:127.0.0.1:5004", "-f", "vrx", "-fmt", fmt64x32, "-max-lag", "5ms"}, "-max-lag: not for -f vrx"},
		{[]string{"-i", "vale0:a", "-f", "tx", "-max-lag", "5ms"}, "-max-lag: only for -f vtx and vrx"},
		{[]string{"-i", "pcap:x.pcap", "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-max-lag", "frame"}, "-max-lag: a capture"},
	} {
		if _, err := parseFlags(c.args, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to mention %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	_, _ = parseFlags([]string{"-h"}, &out)
	if !strings.Contains(out.String(), "-max-lag") {
		t.Error("usage lacks -max-lag")
	}
}

// vtx's report of a stream carries the sender's counts, those of -max-lag
// among them: frames skipped behind and resyncs, in the JSON report
// (skipped_tx_frames, resyncs) and the text's problems.
func TestVideoReportSent(t *testing.T) {
	st := st2110.SendStats{TxStats: video.TxStats{Frames: 50, Packets: 1600, Bytes: 256000, Late: 7, Skipped: 3, Resyncs: 2}}
	var vs videoStream
	vs.sent(&st)
	if vs.Frames != 50 || vs.Packets != 1600 || vs.Bytes != 256000 || vs.Late != 7 || vs.TxSkipped != 3 || vs.Resyncs != 2 {
		t.Errorf("stream %+v from %+v", vs, st.TxStats)
	}
	b, err := json.Marshal(&vs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"frames":50,`, `"late":7,`, `"skipped_tx_frames":3,`, `"resyncs":2,`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if p, want := vs.problems(), "late 7, skipped behind 3, resyncs 2"; p != want {
		t.Errorf("problems %q, want %q", p, want)
	}
}

// A passthrough whose forwarding stopped on a ring pair says so, in the
// JSON (stopped, err) and in the text report; one that did not, neither.
func TestVideoReportPassStopped(t *testing.T) {
	for _, c := range []struct {
		ps   st2110.PassStats
		want []string
		not  []string
	}{
		{st2110.PassStats{ToHost: 5, ToWire: 3, Stopped: 1, Err: errors.New("eth0-1: rx sync: no such device")},
			[]string{`"stopped":1`, `"err":"eth0-1: rx sync: no such device"`, "STOPPED on 1 ring pair(s)", "eth0-1: rx sync"}, nil},
		{st2110.PassStats{ToHost: 5, ToWire: 3},
			[]string{`"to_host":5`, "5 packets to the host stack"}, []string{"stopped", "STOPPED", `"err"`}},
	} {
		sum := &videoSummary{Passthrough: newPassSummary(&c.ps)}
		b, err := json.Marshal(sum.Passthrough)
		if err != nil {
			t.Fatal(err)
		}
		var text bytes.Buffer
		var frames, late uint64
		sum.print(&text, &report{Frames: &frames, Late: &late})
		out := string(b) + "\n" + text.String()
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%+v: %q lacks %q", c.ps, out, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(out, w) {
				t.Errorf("%+v: %q has %q", c.ps, out, w)
			}
		}
	}
}

// The top-level TRO of several streams is the mean of those measured: a
// stream that received nothing (no analysis, a TRO of 0 in its entry) once
// counted as a TRO of 0, so that a third stream without packets took a
// third off the figure.
func TestVideoMeanTROOfMeasured(t *testing.T) {
	ctx := context.Background()
	capture := filepath.Join(t.TempDir(), "two.pcap")
	runCLI(t, ctx, "-i", "pcap:"+capture, "-f", "vtx", "-fmt", fmt720p, "-streams", "2", "-frames", "4")
	r := runCLI(t, ctx, "-i", "pcap:"+capture, "-f", "vrx", "-fmt", fmt720p, "-streams", "3")
	if len(r.Streams) != 3 || r.Streams[2].Packets != 0 || r.Streams[0].TRONs <= 0 || r.Streams[1].TRONs <= 0 {
		t.Fatalf("want two streams analysed and a third without packets: %+v", r.Streams)
	}
	if want := (r.Streams[0].TRONs + r.Streams[1].TRONs) / 2; r.TRONs != want {
		t.Errorf("TRO %v, want %v, the mean of the two streams measured (%v, %v)", time.Duration(r.TRONs), time.Duration(want),
			time.Duration(r.Streams[0].TRONs), time.Duration(r.Streams[1].TRONs))
	}
	// The text names the stream without a port as the JSON does, by
	// leaving the port out (once with two spaces where it would be).
	var out, errb bytes.Buffer
	if code := cli(ctx, []string{"-i", "pcap:" + capture, "-f", "vrx", "-fmt", fmt720p, "-streams", "3", "-q"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if text := out.String(); !strings.Contains(text, "  stream 2 1280x720p") || !strings.Contains(text, "  stream 0 port ") {
		t.Errorf("text report:\n%s", text)
	}
}

// A stream whose analysis began but measured no whole frame (two frames
// captured: the first packet starts none) has no timing figures, and
// the top-level ones are those of the streams that measured one: a vrx
// of a capture with streams 0 and 1 of four frames and stream 2 of two.
func TestVideoFiguresOfMeasured(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	four, two, mixed := filepath.Join(dir, "four.pcap"), filepath.Join(dir, "two.pcap"), filepath.Join(dir, "mixed.pcap")
	runCLI(t, ctx, "-i", "pcap:"+four, "-f", "vtx", "-fmt", fmt720p, "-streams", "2", "-frames", "4")
	runCLI(t, ctx, "-i", "pcap:"+two, "-f", "vtx", "-fmt", fmt720p, "-streams", "3", "-frames", "2")
	out, err := os.Create(mixed)
	if err != nil {
		t.Fatal(err)
	}
	w, err := packet.NewPcapWriterNanos(out, 65535)
	if err != nil {
		t.Fatal(err)
	}
	var port2 uint16 // stream 2's port: the highest of the second capture
	for pass, name := range []string{two, four, two} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := packet.NewPcapReader(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			port := binary.BigEndian.Uint16(data[36:])
			switch pass {
			case 0:
				port2 = max(port2, port)
			case 1:
				err = w.WritePacket(ci.Timestamp, data)
			case 2:
				if port == port2 {
					err = w.WritePacket(ci.Timestamp, data)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, ctx, "-i", "pcap:"+mixed, "-f", "vrx", "-fmt", fmt720p, "-streams", "3")
	if len(r.Streams) != 3 || r.Streams[2].Packets == 0 || r.Streams[0].TRONs <= 0 || r.Streams[1].TRONs <= 0 {
		t.Fatalf("want three streams with packets, two measured: %+v", r.Streams)
	}
	s2 := r.Streams[2]
	if !strings.Contains(s2.Analysis, video.TooFew) || s2.TRONs != 0 || s2.Cinst != 0 || s2.VRX != 0 || s2.SenderType != "" {
		t.Errorf("stream 2, two frames captured: analysis %q, TRO %d, Cinst %d, VRX %d, sender %q; want %q and no figures",
			s2.Analysis, s2.TRONs, s2.Cinst, s2.VRX, s2.SenderType, video.TooFew)
	}
	// The whole frames each stream's analysis measured: 0 for stream 2
	// (given, not left out), some of the four captured for the others.
	for i, s := range r.Streams {
		if s.Measured == nil {
			t.Fatalf("stream %d: no measured_frames", i)
		}
		if m := *s.Measured; (m == 0) != (i == 2) || m > 4 {
			t.Errorf("stream %d: measured_frames %d", i, m)
		}
	}
	if want := (r.Streams[0].TRONs + r.Streams[1].TRONs) / 2; r.TRONs != want {
		t.Errorf("TRO %v, want %v, the mean of the two streams measured (%v, %v)", time.Duration(r.TRONs), time.Duration(want),
			time.Duration(r.Streams[0].TRONs), time.Duration(r.Streams[1].TRONs))
	}
	if want := max(r.Streams[0].Cinst, r.Streams[1].Cinst); r.Cinst != want {
		t.Errorf("top-level Cinst %d, want %d, the peak of the streams measured", r.Cinst, want)
	}
}

// srdsPerPacket reads the capture pc and returns the SRD headers of each
// of its RTP packets, in order.
func srdsPerPacket(t *testing.T, pc string) []int {
	t.Helper()
	f, err := os.Open(pc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := packet.NewPcapReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var rtp packet.RTP
	var h packet.RFC4175
	var n []int
	for {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		const udpPayload = 14 + 20 + 8 // Ethernet, IPv4, UDP
		if len(data) < udpPayload {
			t.Fatalf("frame of %d octets", len(data))
		}
		if err := rtp.DecodeFromBytes(data[udpPayload:], gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		if err := h.DecodeFromBytes(rtp.Payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		n = append(n, len(h.SRDs))
	}
}

// vtx -max-rows N reaches the packetizer: rows 20 octets long (8 pixels
// of 4:2:2 10-bit) go N to a packet, beyond ST 2110-20's three SRDs, as
// many as fit in 1460 octets for a large N (55 rows and part of the
// next), the report's packets per frame says so, and vrx puts the frames
// back together; without it each row is a packet of one SRD.
func TestVideoMaxRows(t *testing.T) {
	const (
		fmtp   = "sampling=YCbCr-4:2:2; width=8; height=64; depth=10; exactframerate=25"
		frames = 3
	)
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := video.ParseFmtp(fmtp)
	in := randomFile(t, frames, s.Format.FrameSize(), 11)
	for _, c := range []struct {
		rows, ppf, most int // -max-rows, packets a frame, SRDs in the fullest packet
	}{{0, 64, 1}, {3, 22, 3}, {8, 8, 8}, {64, 2, 56}, {1 << 20, 2, 56}} {
		t.Run(strconv.Itoa(c.rows), func(t *testing.T) {
			pc, out := filepath.Join(dir, strconv.Itoa(c.rows)+".pcap"), filepath.Join(dir, strconv.Itoa(c.rows)+".out")
			tx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmtp, "-frames", strconv.Itoa(frames), "-in", in, "-max-rows", strconv.Itoa(c.rows),
				"-selfcheck=false") // packets per frame as vtx works them out, not as its self-check counts them
			if tx.PacketsPerFrame != c.ppf || tx.Packets != frames*uint64(c.ppf) {
				t.Errorf("vtx: %d packets, %d a frame; want %d a frame", tx.Packets, tx.PacketsPerFrame, c.ppf)
			}
			srds := srdsPerPacket(t, pc)
			if len(srds) != frames*c.ppf {
				t.Fatalf("%d packets in the capture, want %d", len(srds), frames*c.ppf)
			}
			if most := slices.Max(srds); most != c.most || srds[0] != c.most {
				t.Errorf("SRDs a packet: %v; want %d in the first and fullest", srds[:c.ppf], c.most)
			}
			rx := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", fmtp, "-out", out)
			got, _ := os.ReadFile(out)
			want, _ := os.ReadFile(in)
			if rx.Frames != frames || rx.Lost != 0 || !bytes.Equal(got, want) {
				t.Errorf("vrx: %d frames, %d lost, wrote %d octets (equal to -in: %v)", rx.Frames, rx.Lost, len(got), bytes.Equal(got, want))
			}
		})
	}
}

// An -sdp-out or -cpuprofile that cannot be written (or written to, as
// /dev/full), or a profile that cannot start, fails vtx before it empties
// the capture it would write (the Sender's Run empties it): the capture
// of an earlier run is kept. A run that fails to
// open leaves no -sdp-out or -cpuprofile file behind, and one that runs
// replaces what they held.
func TestVideoOutputsBeforeCapture(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pc := filepath.Join(dir, "v.pcap")
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2")
	want, err := os.ReadFile(pc)
	if err != nil || len(want) < 1000 {
		t.Fatalf("capture of %d octets: %v", len(want), err)
	}
	bad := filepath.Join(dir, "nodir", "x")
	outs := []struct{ flag, name string }{{"-sdp-out", bad}, {"-cpuprofile", bad}}
	if _, err := os.Stat("/dev/full"); err == nil {
		// Opened, but its write fails once Dial has succeeded: the
		// capture is emptied by the Sender's Run, which never starts.
		outs = append(outs, struct{ flag, name string }{"-sdp-out", "/dev/full"})
	}
	for _, o := range outs {
		var out, errb bytes.Buffer
		code := cli(ctx, []string{"-i", "pcap:" + pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", o.flag, o.name, "-q"}, &out, &errb)
		if code != 1 || !strings.HasPrefix(errb.String(), "nmbench: "+o.flag+": ") {
			t.Errorf("%s %s: exit %d, stderr %q", o.flag, o.name, code, errb.String())
		}
		if got, _ := os.ReadFile(pc); !bytes.Equal(got, want) {
			t.Errorf("%s %s: the capture has %d octets, not the %d it had", o.flag, o.name, len(got), len(want))
		}
	}
	// A profile that cannot start (one already runs in the process: a
	// test, nmbench embedded) fails the run once the port is open, the
	// capture kept too.
	cfg, err := parseFlags([]string{"-i", "pcap:" + pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-q", "-cpuprofile", filepath.Join(dir, "busy.prof")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatal(err)
	}
	_, err = run(ctx, cfg, io.Discard)
	pprof.StopCPUProfile()
	if err == nil || !strings.HasPrefix(err.Error(), "-cpuprofile: ") {
		t.Errorf("a profile already running: %v", err)
	}
	if got, _ := os.ReadFile(pc); !bytes.Equal(got, want) {
		t.Errorf("a profile already running: the capture has %d octets, not the %d it had", len(got), len(want))
	}
	sdp, prof := filepath.Join(dir, "o.sdp"), filepath.Join(dir, "o.prof")
	var errb bytes.Buffer
	if code := cli(ctx, []string{"-i", "pcap:" + bad, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-sdp-out", sdp, "-cpuprofile", prof, "-q"}, io.Discard, &errb); code != 1 {
		t.Errorf("vtx to %s: exit %d: %s", bad, code, errb.String())
	}
	for _, name := range []string{sdp, prof} {
		if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after a run that did not open: %v", name, err)
		}
	}
	// A dangling symbolic link is written through, as os.Create does:
	// its target made, and removed again by a run that did not open.
	target, link := filepath.Join(dir, "target.sdp"), filepath.Join(dir, "link.sdp")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	cli(ctx, []string{"-i", "pcap:" + bad, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-sdp-out", link, "-q"}, io.Discard, io.Discard)
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-sdp-out to a dangling link, run that did not open: target %v", err)
	}
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-sdp-out", link)
	if b, _ := os.ReadFile(target); !bytes.HasPrefix(b, []byte("v=0\r\n")) {
		t.Errorf("-sdp-out to a dangling link: its target holds %q", b[:min(len(b), 40)])
	}
	old := bytes.Repeat([]byte("old\n"), 2000)
	for _, name := range []string{sdp, prof} {
		if err := os.WriteFile(name, old, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-sdp-out", sdp, "-cpuprofile", prof)
	for _, name := range []string{sdp, prof} {
		if b, _ := os.ReadFile(name); bytes.Contains(b, []byte("old\n")) || len(b) == 0 {
			t.Errorf("%s: %d octets, the old contents left: %q", name, len(b), b[:min(len(b), 40)])
		}
	}
	if b, _ := os.ReadFile(sdp); !bytes.HasPrefix(b, []byte("v=0\r\n")) {
		t.Errorf("-sdp-out wrote %q", b[:min(len(b), 40)])
	}
}

// Streams of different packets per frame (64x32 and 720p) give the line
// of them all with its figures, as one of equal packets does: "mixed"
// packets per frame (-1 in JSON), not the verdict alone.
func TestVideoAllStreamsMixed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sdp, pc := filepath.Join(dir, "two.sdp"), filepath.Join(dir, "two.pcap")
	writeSDP(t, sdp, []string{fmt64x32, fmt720p}, []uint16{7000, 7010})
	// -burst 3: figures of Cinst above 0, for the JSON check below.
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-sdp", sdp, "-frames", "4", "-burst", "3")
	r := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-sdp", sdp)
	if len(r.Streams) != 2 || r.Streams[0].PacketsPerFrame == r.Streams[1].PacketsPerFrame || r.PacketsPerFrame != -1 || r.TRONs <= 0 {
		t.Fatalf("vrx: packets per frame %d, TRO %d, streams %+v; want -1 over two of different packets per frame, and a TRO", r.PacketsPerFrame, r.TRONs, r.Streams)
	}
	// The measured peak is Cinst, in the text and in JSON: ST 2110-21's
	// CMAX is the sender type's limit of it. JSON's cmax, its old name,
	// stays for those who parse it.
	text := runText(t, "-i", "pcap:"+pc, "-f", "vrx", "-sdp", sdp, "-q")
	want := fmt.Sprintf("\nAll streams: mixed pkts/frame %s, %s, Cinst %d, VRX %d, TRO %v\n", r.PackingMode, r.Verdict, r.Cinst, r.VRX, time.Duration(r.TRONs))
	if !strings.Contains(text, want) || strings.Contains(text, "CMAX") {
		t.Errorf("text summary lacks %q, or names the measure CMAX:\n%s", want, text)
	}
	var out, errb bytes.Buffer
	if code := cli(ctx, []string{"-i", "pcap:" + pc, "-f", "vrx", "-sdp", sdp, "-json", "-q"}, &out, &errb); code != 0 {
		t.Fatalf("vrx -json: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var raw struct {
		Cinst   *int `json:"cinst"`
		CMax    *int `json:"cmax"`
		Streams []struct {
			Cinst *int `json:"cinst"`
			CMax  *int `json:"cmax"`
		} `json:"streams"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &raw); err != nil {
		t.Fatal(err)
	}
	figures := []struct{ cinst, cmax *int }{{raw.Cinst, raw.CMax}}
	for _, s := range raw.Streams {
		figures = append(figures, struct{ cinst, cmax *int }{s.Cinst, s.CMax})
	}
	for i, f := range figures {
		switch {
		case f.cinst == nil || f.cmax == nil:
			t.Errorf("JSON figures %d (0: the top level, then each stream): cinst given %v, cmax given %v; want both", i, f.cinst != nil, f.cmax != nil)
		case *f.cinst != *f.cmax || *f.cinst <= 0:
			t.Errorf("JSON figures %d (0: the top level, then each stream): cinst %d, cmax %d; want them equal, above 0", i, *f.cinst, *f.cmax)
		}
	}
}

// vtx's self-check and vrx report the most SRDs of a packet they saw
// (max_rows), and say in the text when -max-rows took them beyond ST
// 2110-20's three, which the SDP still claims.
func TestVideoMaxRowsReported(t *testing.T) {
	const fmtp = "sampling=YCbCr-4:2:2; width=8; height=64; depth=10; exactframerate=25"
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct{ rows, most int }{{0, 1}, {3, 3}, {8, 8}} {
		pc := filepath.Join(dir, strconv.Itoa(c.rows)+".pcap")
		args := [][]string{
			{"-i", "pcap:" + pc, "-f", "vtx", "-fmt", fmtp, "-frames", "3", "-max-rows", strconv.Itoa(c.rows)},
			{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmtp},
		}
		for _, a := range args {
			r := runCLI(t, ctx, a...)
			if len(r.Streams) != 1 || r.Streams[0].MaxRows != c.most || r.MaxRows != c.most {
				t.Errorf("%s -max-rows %d: max_rows %d, streams %+v; want %d", a[3], c.rows, r.MaxRows, r.Streams, c.most)
			}
			text := runText(t, append(a, "-q")...)
			note := fmt.Sprintf("\n    %d SRDs a packet: beyond ST 2110-20's 3", c.most)
			if got := strings.Contains(text, note); got != (c.most > 3) || strings.Contains(text, "SRDs a packet") != got {
				t.Errorf("%s -max-rows %d: the note %q given: %v, want %v:\n%s", a[3], c.rows, note, got, c.most > 3, text)
			}
		}
	}
	// Over two streams, max_rows is the most of either: stream 1's, of
	// the narrow format, not stream 0's of 720p (3200 octets a row: a
	// packet holds parts of 2 rows at most).
	sdp, pc := filepath.Join(dir, "two.sdp"), filepath.Join(dir, "two.pcap")
	writeSDP(t, sdp, []string{fmt720p, fmtp}, []uint16{7000, 7010})
	for _, a := range [][]string{
		{"-i", "pcap:" + pc, "-f", "vtx", "-sdp", sdp, "-frames", "3", "-max-rows", "8"},
		{"-i", "pcap:" + pc, "-f", "vrx", "-sdp", sdp},
	} {
		r := runCLI(t, ctx, a...)
		if len(r.Streams) != 2 || r.Streams[0].MaxRows >= 8 || r.Streams[1].MaxRows != 8 || r.MaxRows != 8 {
			t.Errorf("%s over 720p and %s: max_rows %d, streams %+v; want 8, stream 1's", a[3], fmtp, r.MaxRows, r.Streams)
		}
	}
}

// Two streams of one format, one of which received nothing, give the
// packets per frame and packing of the one that did in the line of them
// all, not "mixed": a silent stream knows neither, and differs from none.
func TestVideoAllStreamsOneSilent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pc := filepath.Join(dir, "two.pcap")
	tx, rx := filepath.Join(dir, "tx.sdp"), filepath.Join(dir, "rx.sdp")
	writeSDP(t, tx, []string{fmt64x32, fmt64x32}, []uint16{7000, 7010})
	writeSDP(t, rx, []string{fmt64x32, fmt64x32}, []uint16{7000, 7020})
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-sdp", tx, "-frames", "4")
	r := runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-sdp", rx)
	if len(r.Streams) != 2 || r.Streams[1].Packets != 0 || r.Streams[0].PacketsPerFrame <= 0 {
		t.Fatalf("vrx: streams %+v; want stream 0 received, stream 1 not", r.Streams)
	}
	if s := r.Streams[0]; r.PacketsPerFrame != s.PacketsPerFrame || r.PackingMode != s.PackingMode {
		t.Errorf("vrx: packets per frame %d, packing %q; want stream 0's %d and %q", r.PacketsPerFrame, r.PackingMode, s.PacketsPerFrame, s.PackingMode)
	}
	text := runText(t, "-i", "pcap:"+pc, "-f", "vrx", "-sdp", rx, "-q")
	want := fmt.Sprintf("\nAll streams: %d pkts/frame %s, ", r.Streams[0].PacketsPerFrame, r.Streams[0].PackingMode)
	if !strings.Contains(text, want) || strings.Contains(text, "mixed") {
		t.Errorf("text summary lacks %q, or says mixed:\n%s", want, text)
	}
}

// writeSDP writes to path an SDP of streams of formats fmtps (payload
// type 96), stream K to 239.1.1.1:ports[K].
func writeSDP(t *testing.T, path string, fmtps []string, ports []uint16) {
	t.Helper()
	sess := video.Session{Name: filepath.Base(path)}
	for k, f := range fmtps {
		s, err := video.ParseFmtp(f)
		if err != nil {
			t.Fatal(err)
		}
		s.PayloadType = 96
		s.Dst = netip.AddrPortFrom(netip.MustParseAddr("239.1.1.1"), ports[k])
		sess.Streams = append(sess.Streams, *s)
	}
	b, err := sess.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVideoOutBeforeCapture checks that vrx's -out files are opened before
// the capture and emptied only once it has opened: a run whose capture is
// missing leaves an existing file intact and removes one it made.
func TestVideoOutBeforeCapture(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pc, missing := filepath.Join(dir, "v.pcap"), filepath.Join(dir, "nosuch.pcap")
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2")
	old := bytes.Repeat([]byte("old\n"), 2000)
	kept, made := filepath.Join(dir, "kept.yuv"), filepath.Join(dir, "made.yuv")
	if err := os.WriteFile(kept, old, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{kept, made} {
		var errb bytes.Buffer
		if code := cli(ctx, []string{"-i", "pcap:" + missing, "-f", "vrx", "-fmt", fmt64x32, "-out", out, "-q"}, io.Discard, &errb); code != 1 {
			t.Errorf("vrx of %s -out %s: exit %d: %s", missing, out, code, errb.String())
		}
	}
	if b, err := os.ReadFile(kept); !bytes.Equal(b, old) {
		t.Errorf("an existing -out after a run that did not open: %d octets, not the %d it had (%v)", len(b), len(old), err)
	}
	if _, err := os.Stat(made); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a -out made for a run that did not open: %v", err)
	}
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", fmt64x32, "-out", kept)
	s, err := video.ParseFmtp(fmt64x32)
	if err != nil {
		t.Fatal(err)
	}
	f := &s.Format
	if b, _ := os.ReadFile(kept); len(b) != 2*f.FrameSize() || bytes.Contains(b, []byte("old\n")) {
		t.Errorf("-out of a run that opened: %d octets, want the %d of 2 frames", len(b), 2*f.FrameSize())
	}
}

// TestVideoTxPatternAfterOpen checks that vtx leaves the test pattern to
// st2110.Dial, which draws it after the transport is open, charged to
// -max-mem: a vtx to a missing interface fails at the interface without
// charging (and drawing) a 2160p pattern that -max-mem cannot hold, and
// one to a transport that opens fails on the pattern's charge.
func TestVideoTxPatternAfterOpen(t *testing.T) {
	const fmt2160p = "sampling=YCbCr-4:2:2; width=3840; height=2160; depth=10; exactframerate=50"
	s, err := video.ParseFmtp(fmt2160p)
	if err != nil {
		t.Fatal(err)
	}
	const maxMem = 16 << 20
	if video.PatternMemory(&s.Format) <= maxMem {
		t.Fatalf("a 2160p pattern of %d octets fits -max-mem %d", video.PatternMemory(&s.Format), maxMem)
	}
	ctx := context.Background()
	port := freeUDPPort(t)
	for _, c := range []struct{ to, want string }{
		{"udp:127.0.0.1:" + port + "@nosuchif0", "interface nosuchif0"},
		{"udp:127.0.0.1:" + port, "test pattern"},
	} {
		var errb bytes.Buffer
		code := cli(ctx, []string{"-i", c.to, "-f", "vtx", "-fmt", fmt2160p, "-frames", "1", "-max-mem", strconv.Itoa(maxMem), "-q"}, io.Discard, &errb)
		if code != 1 || !strings.Contains(errb.String(), c.want) || c.want == "test pattern" && !strings.Contains(errb.String(), "(raise -max-mem)") {
			t.Errorf("vtx to %s with -max-mem %d: exit %d, stderr %q, want an error naming %q", c.to, maxMem, code, errb.String(), c.want)
		}
	}
}
