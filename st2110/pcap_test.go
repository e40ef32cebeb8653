package st2110

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// pcapFlows are three flows: two on one port to two groups, one from a
// named source (source-specific), and a third on another port.
func pcapFlows() *video.Session {
	return session("10.0.0.1",
		flow(fmtSmall, "239.1.1.1:5004", ""),
		flow(fmtSmall, "239.1.1.2:5004", "10.0.0.1"),
		flow(fmtSD, "239.1.1.3:5006", ""))
}

// writeCapture sends frames[k] (n frames) on each flow k of sess into a
// capture and returns its name and the sender.
func writeCapture(t testing.TB, sess *video.Session, frames [][]byte, n int) (string, *Sender) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "flows.pcap")
	return name, writeCaptureTo(t, name, sess, frames, n, nil)
}

// writeCaptureTo is writeCapture to file name, with cfg's clock, SSRC and
// pacing.
func writeCaptureTo(t testing.TB, name string, sess *video.Session, frames [][]byte, n int, cfg *SendConfig) *Sender {
	t.Helper()
	tx := runCaptureTo(t, name, sess, frames, n, cfg)
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	return tx
}

// runCaptureTo is writeCaptureTo but for the Close: the Sender's
// Transmitters are still there.
func runCaptureTo(t testing.TB, name string, sess *video.Session, frames [][]byte, n int, cfg *SendConfig) *Sender {
	t.Helper()
	c := SendConfig{Sources: loops(t, sess, frames), Count: uint64(n)}
	if cfg != nil {
		c.Clock, c.SSRC, c.Pacing = cfg.Clock, cfg.SSRC, cfg.Pacing
	}
	return runSend(t, "pcap:"+name, sess, &c)
}

// loops returns a source for each flow k of sess, looping frames[k].
func loops(t testing.TB, sess *video.Session, frames [][]byte) []video.FrameSource {
	t.Helper()
	srcs := make([]video.FrameSource, len(sess.Streams))
	for k := range sess.Streams {
		srcs[k] = loopOf(t, sess.Streams[k].Format, frames[k])
	}
	return srcs
}

// sendCapture dials name (a capture, as is cfg.Second if set), sends
// cfg.Count frames of every flow and closes the sender, failing t on any
// error.
func sendCapture(t testing.TB, name string, sess *video.Session, cfg *SendConfig) *Sender {
	t.Helper()
	tx := runSend(t, name, sess, cfg)
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	return tx
}

// runSend is sendCapture but for the Close.
func runSend(t testing.TB, name string, sess *video.Session, cfg *SendConfig) *Sender {
	t.Helper()
	tx, err := Dial(name, sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tx
}

// A capture written by Dial and read by Listen gives every flow's frames
// byte for byte, flows sharing a port told apart by group, each frame's
// latency exactly the sender's offset of its first packet from the RTP
// time.
func TestPcapRoundTrip(t *testing.T) {
	sess := pcapFlows()
	const n = 4
	frames := [][]byte{randomFrames(fmtSmall, n, 1), randomFrames(fmtSmall, n, 2), randomFrames(fmtSD, n, 3)}
	name := filepath.Join(t.TempDir(), "flows.pcap")
	tx := runCaptureTo(t, name, sess, frames, n, nil)
	// The sender's schedule and packets a frame: Close lets go of its
	// Transmitter.
	var pacers []*video.Pacer
	var perFrame []int
	for k := range frames {
		pacers = append(pacers, tx.parts[0].tx.Pacer(k))
		perFrame = append(perFrame, tx.parts[0].tx.Packetizer(k).PacketsPerFrame())
	}
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	for k := range frames {
		if st := tx.Stats(k); st.Frames != n || st.Late != 0 {
			t.Errorf("flow %d sent %+v", k, st)
		}
	}
	rx, err := Listen("pcap:"+name, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	got := make([][]byte, len(frames))
	for f, err := range rx.Frames(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got[f.Flow] = append(got[f.Flow], f.Data...)
		// The sender's schedule: its first packet goes TRO after the
		// frame's alignment point, whose media clock is the RTP time.
		k := f.Flow
		pacer := pacers[k]
		period := int64(sess.Streams[k].Format.Rate.Period()) // 20 ms, exact
		frameNo := (f.Time + period/2) / period
		want := time.Duration(pacer.SendTime(frameNo, 0) - pacer.FrameTime(frameNo))
		if d := f.Latency - want; d < -6*time.Microsecond || d > 6*time.Microsecond || !f.Info.Complete || video.Timestamp(f.Time) != f.RTPTime {
			t.Errorf("flow %d frame at %d: latency %v, want %v; %+v", k, f.Time, f.Latency, want, f.Info)
		}
	}
	if rx.Err() != nil {
		t.Fatal(rx.Err())
	}
	for k := range frames {
		if !bytes.Equal(got[k], frames[k]) {
			t.Errorf("flow %d: %d octets, not the %d sent", k, len(got[k]), len(frames[k]))
		}
		st := rx.Stats(k)
		if st.Delivered != n || st.Lost != 0 || st.Dropped != 0 || !st.Latency.OK() || st.Latency.Frames != n {
			t.Errorf("flow %d: %+v", k, st)
		}
	}
	if rx.Other() != 0 {
		t.Errorf("%d packets of no flow", rx.Other())
	}
	select {
	case <-rx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the receiver did not stop at the end of the capture")
	}
	// A capture is read a packet at a time; the sender wrote it in
	// batches of what was due. The analysis of the arrival (capture)
	// times finds the sender's narrow schedule.
	var packets, sent uint64
	for k := range frames {
		packets += rx.Stats(k).Packets
		sent += tx.Stats(k).Packets
		an, ok := rx.Analysis(k)
		if !ok || an.Sender == 0 || an.PacketsPerFrame != perFrame[k] {
			t.Errorf("flow %d: analysis %v (%v)", k, an, ok)
		}
	}
	if b := rx.Batches(); b != packets {
		t.Errorf("%d batches of a capture of %d packets", b, packets)
	}
	if b := tx.Batches(); b == 0 || b > sent {
		t.Errorf("%d batches sent for %d packets", b, sent)
	}
	if _, ok := rx.Analysis(len(frames)); ok {
		t.Error("an analysis of a flow that does not exist")
	}
}

// captureAnalysis reads the capture name whole as sess's flows and
// returns the receiver's ST 2110-21 analysis of flow 0.
func captureAnalysis(t *testing.T, name string, sess *video.Session) (video.Analysis, bool) {
	t.Helper()
	rx, err := Listen("pcap:"+name, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range rx.Frames(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
	}
	rx.Close()
	return rx.Analysis(0)
}

// SendConfig.Pacing reaches every flow's pacer: bursts of 4 packets
// raise the Cinst the capture shows.
func TestPcapPacingBurst(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSD, "239.1.1.1:5004", ""))
	cinst := map[int]int{}
	for _, burst := range []int{1, 4} {
		name := filepath.Join(t.TempDir(), "burst.pcap")
		writeCaptureTo(t, name, sess, [][]byte{randomFrames(fmtSD, 3, 1)}, 3, &SendConfig{Pacing: &video.PacerConfig{Burst: burst}})
		an, ok := captureAnalysis(t, name, sess)
		if !ok || an.Sender != video.SenderNarrow {
			t.Fatalf("burst %d: %v (%v)", burst, an, ok)
		}
		cinst[burst] = an.Cinst
	}
	if cinst[4] < cinst[1]+2 {
		t.Errorf("Cinst %d with bursts of 4, %d without", cinst[4], cinst[1])
	}
}

// relink rewrites an Ethernet capture in link type lt: Linux cooked v1 or
// v2, BSD loopback (null, loop), or raw IP; shift moves every timestamp.
func relink(t *testing.T, name string, lt layers.LinkType, shift time.Duration) string {
	t.Helper()
	in, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := packet.NewPcapReader(in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			break
		}
		ip := data[packet.EthLen:]
		var out []byte
		switch lt {
		case layers.LinkTypeEthernet:
			out = data
		case layers.LinkTypeRaw:
			out = ip
		case layers.LinkTypeLinuxSLL:
			out = append(make([]byte, 14), 0x08, 0x00)
			out = append(out, ip...)
		case layers.LinkTypeLinuxSLL2:
			out = append([]byte{0x08, 0x00}, make([]byte, 18)...)
			out = append(out, ip...)
		case layers.LinkTypeNull: // AF_INET in the capturing host's order
			out = append([]byte{2, 0, 0, 0}, ip...)
		case layers.LinkTypeLoop: // AF_INET in network order
			out = append([]byte{0, 0, 0, 2}, ip...)
		}
		ci = gopacket.CaptureInfo{Timestamp: ci.Timestamp.Add(shift), CaptureLength: len(out), Length: len(out)}
		if err := w.WritePacket(ci, out); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), lt.String()+".pcap")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// Captures in every link type a capture tool writes give the same frames
// (a classic pcap of link type 0 is BSD loopback, DLT_NULL, not a pcapng
// file's link type yet unknown); one stamped in TAI (a capture card on PTP time) is read as TAI.
func TestPcapLinkTypes(t *testing.T) {
	sess := pcapFlows()
	frames := [][]byte{randomFrames(fmtSmall, 2, 4), randomFrames(fmtSmall, 2, 5), randomFrames(fmtSD, 2, 6)}
	name, _ := writeCapture(t, sess, frames, 2)
	var lat time.Duration
	for _, tc := range []struct {
		lt    layers.LinkType
		shift time.Duration
	}{
		{layers.LinkTypeEthernet, 0},
		{layers.LinkTypeRaw, 0},
		{layers.LinkTypeLinuxSLL, 0},
		{layers.LinkTypeLinuxSLL2, 0},
		{layers.LinkTypeNull, 0}, // once accepted and read as nothing at all
		{layers.LinkTypeLoop, 0},
		{layers.LinkTypeEthernet, LeapSeconds * time.Second}, // stamped in TAI
	} {
		rx, err := Listen("pcap:"+relink(t, name, tc.lt, tc.shift), sess, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := collect(t, rx, 2, 10*time.Second)
		rx.Close()
		for k := range frames {
			if !bytes.Equal(got[k], frames[k]) {
				t.Errorf("%v: flow %d: %d octets, not the %d sent", tc.lt, k, len(got[k]), len(frames[k]))
			}
		}
		l := rx.Stats(0).Latency
		if lat == 0 {
			lat = l.Min
		}
		if !l.OK() || l.Min != lat || l.Max != lat {
			t.Errorf("%v shifted %v: %v, want %v", tc.lt, tc.shift, l, lat)
		}
	}
}

// An empty, foreign or unreadable file, or a capture of a link type st2110
// does not read, fails in Listen; a capture cut in
// the middle of a packet gives its whole frames, then the error.
func TestPcapBadFiles(t *testing.T) {
	dir := t.TempDir()
	sess := pcapFlows()
	for _, tc := range []struct{ content, want string }{
		{"", "empty file"},
		{"hello, this is not a capture\n", "not a pcap or pcapng file"},
	} {
		name := filepath.Join(dir, "bad")
		os.WriteFile(name, []byte(tc.content), 0o644)
		if _, err := Listen("pcap:"+name, sess, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v", tc.content, err)
		}
	}
	if _, err := Listen("pcap:"+filepath.Join(dir, "missing"), sess, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	frames := [][]byte{randomFrames(fmtSmall, 3, 7), randomFrames(fmtSmall, 3, 8), randomFrames(fmtSD, 3, 9)}
	name, _ := writeCapture(t, sess, frames, 3)
	if _, err := Listen("pcap:"+relink(t, name, layers.LinkTypeIEEE802_11, 0), sess, nil); err == nil || !strings.Contains(err.Error(), "link type 802.11") {
		t.Errorf("802.11 capture: %v, want an error naming the link type", err)
	}
	b, _ := os.ReadFile(name)
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, b[:len(b)-10], 0o644) // inside the last packet
	rx, err := Listen("pcap:"+cut, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	var last error
	nframes, incomplete := 0, 0
	for f, err := range rx.Frames(context.Background()) {
		if err != nil {
			last = err
			continue
		}
		nframes++
		if !f.Info.Complete {
			incomplete++
		}
	}
	// Every frame comes, the one the cut packet belongs to incomplete,
	// and then the error.
	if !errors.Is(last, packet.ErrTruncated) || !strings.Contains(last.Error(), "cut short") || nframes != 9 || incomplete != 1 {
		t.Errorf("%d frames, %d incomplete, then %v", nframes, incomplete, last)
	}
}

// A capture waits for a slow consumer instead of dropping frames, even
// with one buffer a flow. Analysis has nothing to say while the receiver
// runs (its readers own the analysis until they stop), and has it at the
// end of the capture.
func TestPcapSlowConsumer(t *testing.T) {
	sess := pcapFlows()
	frames := [][]byte{randomFrames(fmtSmall, 5, 1), randomFrames(fmtSmall, 5, 2), randomFrames(fmtSD, 5, 3)}
	name, _ := writeCapture(t, sess, frames, 5)
	rx, err := Listen("pcap:"+name, sess, &ListenConfig{FrameBuffers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	got := make([][]byte, 3)
	for f, err := range rx.Frames(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		if _, ok := rx.Analysis(2); ok && len(got[0])+len(got[1])+len(got[2]) == 0 {
			t.Fatal("an analysis while the receiver runs") // it waits for this frame's buffer
		}
		got[f.Flow] = append(got[f.Flow], f.Data...)
	}
	<-rx.Done()
	for k := range frames {
		if !bytes.Equal(got[k], frames[k]) || rx.Stats(k).Dropped != 0 {
			t.Errorf("flow %d: %d octets of %d, %d dropped", k, len(got[k]), len(frames[k]), rx.Stats(k).Dropped)
		}
		if an, ok := rx.Analysis(k); !ok || an.Sender == 0 {
			t.Errorf("flow %d at the end of the capture: analysis %v (%v)", k, an, ok)
		}
	}
}

// Replay reads the capture at its own pace: four frame periods of
// packets take at least that long. Like a live source it drops a frame
// that finds no free buffer; a buffer for each of the five frames keeps a
// consumer the host holds off its CPU from losing one.
func TestPcapReplay(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	frames := [][]byte{randomFrames(fmtSmall, 5, 1)}
	name, _ := writeCapture(t, sess, frames, 5)
	rx, err := Listen("pcap:"+name, sess, &ListenConfig{Replay: true, FrameBuffers: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	start := time.Now()
	got := collect(t, rx, 5, 10*time.Second)
	if el := time.Since(start); el < 4*fmtSmall.Rate.Period()-5*time.Millisecond {
		t.Errorf("replayed 5 frames in %v", el)
	}
	if !bytes.Equal(got[0], frames[0]) {
		t.Errorf("frames differ (%d dropped)", rx.Stats(0).Dropped)
	}
}

// Reading a capture allocates nothing per packet or frame, and neither
// does writing one.
func TestPcapAllocs(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""), flow(fmtSmall, "239.1.1.2:5004", ""))
	const n = 60
	name, _ := writeCapture(t, sess, [][]byte{randomFrames(fmtSmall, n, 1), randomFrames(fmtSmall, n, 2)}, n)
	rx, err := newReceiver("pcap:"+name, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := openPcapRx(context.Background(), &rx.ep, &rx.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	if err := rx.start(&oneReader{idleReader{}}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	drainFrames(rx)
	var st pcapState
	sink := rx.sinks[0]
	read := func() {
		for range 32 {
			if err := tr.(*pcapRx).next(context.Background(), sink, &st); err != nil {
				t.Fatal(err)
			}
		}
	}
	read()
	if a := testing.AllocsPerRun(100, read); a != 0 {
		t.Errorf("reading: %v allocations per 32 packets", a)
	}
	if s := rx.Stats(1); s.Delivered < 50 || s.Lost != 0 {
		t.Errorf("%+v", s)
	}

	tx, err := Dial("pcap:"+filepath.Join(t.TempDir(), "out.pcap"), sess, &SendConfig{Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	p := tx.parts[0]
	if err := p.tx.Start(tx.clock.Now(), 0); err != nil {
		t.Fatal(err)
	}
	step := func() {
		if _, _, err := tx.step(context.Background(), p, p.tx.Next()); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if a := testing.AllocsPerRun(500, step); a != 0 {
		t.Errorf("writing: %v allocations per step", a)
	}
}

// The frames Dial writes for a capture (as for a netmap port) go to each
// group's multicast MAC address (RFC 1112, RFC 2464) from the configured
// or default source MAC, from the flow's source address; IPv6 flows too,
// and Listen reads them back.
func TestPcapEthernetAddresses(t *testing.T) {
	sess := session("10.0.0.1",
		flow(fmtSmall, "239.200.1.2:5004", ""),
		flow(fmtSmall, "[ff3e::8000:1234]:5004", "fd00::7"))
	frames := [][]byte{randomFrames(fmtSmall, 2, 1), randomFrames(fmtSmall, 2, 2)}
	name, _ := writeCapture(t, sess, frames, 2)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := packet.NewPcapReader(f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		var src, dst netip.Addr
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			src, dst = netip.AddrFrom4([4]byte(ip.SrcIP.To4())), netip.AddrFrom4([4]byte(ip.DstIP.To4()))
		} else if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			src, dst = netip.AddrFrom16([16]byte(ip.SrcIP)), netip.AddrFrom16([16]byte(ip.DstIP))
		}
		mac, _ := MulticastMAC(dst)
		want := map[string]string{"239.200.1.2": "10.0.0.1", "ff3e::8000:1234": "fd00::7"}[dst.String()]
		if eth.DstMAC.String() != mac.String() || eth.SrcMAC.String() != defaultMAC.String() || src.String() != want {
			t.Fatalf("a frame from %v (%v) to %v (%v)", src, eth.SrcMAC, dst, eth.DstMAC)
		}
		seen[dst.String()]++
	}
	if seen["239.200.1.2"] != 64 || seen["ff3e::8000:1234"] != 64 {
		t.Errorf("packets per group: %v", seen)
	}
	rx, err := Listen("pcap:"+name, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	got := collect(t, rx, 2, 10*time.Second)
	for k := range frames {
		if !bytes.Equal(got[k], frames[k]) {
			t.Errorf("flow %d: not the frames sent", k)
		}
	}
}

// A session whose frames do not fit the memory budget fails in Listen,
// naming the flow, before the buffers are made.
func TestListenBudget(t *testing.T) {
	sess := pcapFlows()
	name, _ := writeCapture(t, sess, [][]byte{randomFrames(fmtSmall, 1, 1), randomFrames(fmtSmall, 1, 2), randomFrames(fmtSD, 1, 3)}, 1)
	b, err := video.NewBudget(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Listen("pcap:"+name, sess, &ListenConfig{Budget: b})
	if !errors.Is(err, video.ErrBudget) || !strings.Contains(err.Error(), "flow 2 (640x480p 50 YCbCr-4:2:2/10)") {
		t.Fatalf("error %v", err)
	}
	b, _ = video.NewBudget(64 << 20)
	rx, err := Listen("pcap:"+name, sess, &ListenConfig{Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	if b.Used() == 0 {
		t.Error("nothing charged")
	}
	rx.Close()
	if u := b.Used(); u != 0 {
		t.Errorf("%d octets charged after Close", u)
	}
}

// A FrameBuffers beyond MaxFrameBuffers fails in Listen naming the field;
// it once made FrameBuffers times the frame size wrap to 0, pass the
// budget, and panic in make.
func TestListenFrameBuffersBound(t *testing.T) {
	sess := pcapFlows()
	name, _ := writeCapture(t, sess, [][]byte{randomFrames(fmtSmall, 1, 1), randomFrames(fmtSmall, 1, 2), randomFrames(fmtSD, 1, 3)}, 1)
	for _, n := range []int{MaxFrameBuffers + 1, math.MaxInt>>9 + 1, math.MaxInt} {
		rx, err := Listen("pcap:"+name, sess, &ListenConfig{FrameBuffers: n})
		if err == nil {
			rx.Close()
			t.Errorf("FrameBuffers %d: no error", n)
		} else if !strings.Contains(err.Error(), "FrameBuffers") || !strings.Contains(err.Error(), "MaxFrameBuffers") {
			t.Errorf("FrameBuffers %d: error %v does not name the field and its bound", n, err)
		}
	}
	b, _ := video.NewBudget(math.MaxInt)
	rx, err := Listen("pcap:"+name, session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", "")), &ListenConfig{FrameBuffers: MaxFrameBuffers, Budget: b})
	if err != nil {
		t.Fatalf("FrameBuffers MaxFrameBuffers: %v", err)
	}
	if want := int64(MaxFrameBuffers * fmtSmall.FrameSize()); b.Used() < want {
		t.Errorf("charged %d, want at least %d", b.Used(), want)
	}
	rx.Close()
}

// Dial refuses a MaxRate that would stretch the schedule more than
// video.MaxStretch times (1e-9 packets/s once made the capture's virtual
// clock chase wrapped, negative times forever) and a Lead beyond
// video.MaxLead (1<<63-1 once wrapped the start negative), naming the
// field; a low MaxRate within the bound writes the capture.
func TestDialRateAndLeadBounds(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	name := filepath.Join(t.TempDir(), "o.pcap")
	for _, c := range []struct {
		cfg  SendConfig
		want string
	}{
		{SendConfig{Count: 1, MaxRate: 1e-9}, "MaxRate"},
		{SendConfig{Count: 1, Lead: 1<<63 - 1}, "Lead"},
		{SendConfig{Count: 1, Lead: video.MaxLead + 1}, "Lead"},
	} {
		tx, err := Dial("pcap:"+name, sess, &c.cfg)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = tx.Run(ctx)
			cancel()
			tx.Close()
			t.Errorf("MaxRate %v, Lead %v: Dial gave no error (Run: %v)", c.cfg.MaxRate, c.cfg.Lead, err)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("MaxRate %v, Lead %v: error %v does not name %s", c.cfg.MaxRate, c.cfg.Lead, err, c.want)
		}
	}
	tx, err := Dial("pcap:"+name, sess, &SendConfig{Count: 1, MaxRate: 1, Lead: video.MaxLead})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tx.Run(ctx); err != nil || ctx.Err() != nil {
		t.Fatalf("Run: %v (context: %v)", err, ctx.Err())
	}
	tx.Close()
	if st := tx.Stats(0); st.Frames != 1 || st.Packets != 32 {
		t.Errorf("stats %+v, want 1 frame of 32 packets", st.TxStats)
	}
}

// The test patterns Dial makes, and a capture's packet buffers, are
// charged to SendConfig.Budget before they are made: a session whose
// patterns do not fit fails in Dial naming the flow and the octets it
// would take, without taking them (a 16384x8192 RGBA/16 medium once made
// Dial allocate 2 GiB).
func TestDialBudget(t *testing.T) {
	big := video.Format{Sampling: video.RGBA, Depth: video.Depth16, Width: 16384, Height: 8192, Scan: video.Progressive, Rate: video.Rate50}
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""), flow(big, "239.1.1.2:5004", ""))
	name := filepath.Join(t.TempDir(), "o.pcap")
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, err := Dial("pcap:"+name, sess, &SendConfig{Count: 1}) // the default budget, video.DefaultMemory
	runtime.ReadMemStats(&m1)
	want := fmt.Sprintf("flow 1 (%v): test pattern: %d octets", big, video.PatternMemory(&big))
	if !errors.Is(err, video.ErrBudget) || !strings.Contains(err.Error(), want) {
		t.Errorf("default budget: %v, want an error with %q", err, want)
	}
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 64<<20 {
		t.Errorf("Dial allocated %d MiB", a>>20)
	}
	b, _ := video.NewBudget(video.PatternMemory(&fmtSmall) + 10000)
	_, err = Dial("pcap:"+name, session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", "")), &SendConfig{Count: 1, Budget: b})
	if !errors.Is(err, video.ErrBudget) || !strings.Contains(err.Error(), "flow 0 (64x32p 50 YCbCr-4:2:2/10): capture buffers") {
		t.Errorf("budget for the pattern alone: %v, want the capture buffers refused", err)
	}
	// Two flows of one format share a pattern, charged once.
	b, _ = video.NewBudget(64 << 20)
	tx, err := Dial("pcap:"+name, session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""), flow(fmtSmall, "239.1.1.2:5004", "")), &SendConfig{Count: 1, Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if u, p := b.Used(), video.PatternMemory(&fmtSmall); u <= p || u > p+64*2048 {
		t.Errorf("charged %d octets for a pattern of %d and 64 packet buffers", u, p)
	}
	tx.Close()
	if u := b.Used(); u != 0 {
		t.Errorf("%d octets charged after Close", u)
	}
}

// queued opens a capture of several frames a flow, read at full speed,
// and returns once frames wait in the queue for Frames.
func queued(t *testing.T) *Receiver {
	t.Helper()
	sess := pcapFlows()
	frames := [][]byte{randomFrames(fmtSmall, 6, 1), randomFrames(fmtSmall, 6, 2), randomFrames(fmtSD, 6, 3)}
	name, _ := writeCapture(t, sess, frames, 6)
	rx, err := Listen("pcap:"+name, sess, &ListenConfig{FrameBuffers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(rx.out) < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			rx.Close()
			t.Fatalf("%d frames queued after 10 s", len(rx.out))
		}
	}
	return rx
}

// Keep tells whether it kept the frame: inside the loop body, yes (and
// again on a frame kept); once the body has returned, the loop moved on
// or ended, or after Release, it keeps nothing and says so.
func TestFrameKeepOutsideLoop(t *testing.T) {
	rx := queued(t)
	defer rx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var prev, last *Frame
	n := 0
	for f, err := range rx.Frames(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		switch n {
		case 0:
			prev = f // not kept
		case 1:
			if f == prev {
				t.Fatal("the frame of the first iteration handed out again in the second")
			}
			if prev.Keep() {
				t.Error("Keep of the previous iteration's frame returned true")
			}
			if !f.Keep() {
				t.Error("Keep in the loop body returned false")
			}
			if !f.Keep() {
				t.Error("Keep again in the loop body returned false")
			}
			f.Release()
			if f.Keep() {
				t.Error("Keep after Release returned true")
			}
		}
		last = f
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("%d frames", n)
	}
	if last.Keep() {
		t.Error("Keep after the loop ended returned true")
	}
}

// Frames hands out nothing once the receiver is closed, not even the
// frames that were queued before Close.
func TestFramesAfterClose(t *testing.T) {
	rx := queued(t)
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range rx.Frames(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 0 {
		t.Errorf("%d frames handed out after Close", n)
	}
}

// Frames with a context already done hands out nothing, frames queued
// or not (a select between the two would pick either).
func TestFramesDoneContext(t *testing.T) {
	rx := queued(t)
	defer rx.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := 0
	for range 20 {
		for range rx.Frames(ctx) {
			n++
		}
	}
	if n != 0 {
		t.Errorf("%d frames handed out over 20 loops with a cancelled context", n)
	}
	// The frames still come with a live context.
	for range rx.Frames(context.Background()) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("%d frames with a live context after, want 1", n)
	}
}

// Dial refuses a SendConfig value out of range naming the field, its
// value and the transport.
func TestDialConfigErrors(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	name := "pcap:" + filepath.Join(t.TempDir(), "o.pcap")
	for _, c := range []struct {
		cfg  SendConfig
		want string
	}{
		{SendConfig{Count: 1, Batch: -1}, "SendConfig.Batch is negative (-1)"},
		{SendConfig{Count: 1, Lead: -time.Millisecond}, "SendConfig.Lead is negative (-1ms)"},
		{SendConfig{Count: 1, Spin: -1}, "SendConfig.Spin is negative (-1ns)"},
		{SendConfig{Count: 1, MaxRows: -1}, "SendConfig.MaxRows is negative (-1)"},
		{SendConfig{Count: 1, TTL: -1}, "SendConfig.TTL -1: not in [0, 255]"},
		{SendConfig{Count: 1, TTL: 256}, "SendConfig.TTL 256: not in [0, 255]"},
		{SendConfig{Count: 1, MaxRate: -5}, "SendConfig.MaxRate -5: not a rate"},
		{SendConfig{Count: 1, MaxRate: math.NaN()}, "SendConfig.MaxRate NaN: not a rate"},
		{SendConfig{Count: 1, Sources: make([]video.FrameSource, 2)}, "2 SendConfig.Sources for 1 flows"},
		{SendConfig{Count: 1, SrcMAC: net.HardwareAddr{1, 2, 3}}, "SendConfig.SrcMAC 01:02:03"},
		{SendConfig{Count: 1, Priority: -1}, "SendConfig.Priority -1: not in [1, 99]"},
		{SendConfig{Count: 1, Priority: 100}, "SendConfig.Priority 100: not in [1, 99]"},
		{SendConfig{Count: 1, Priority: 10}, "SendConfig.Priority 10: only a netmap or AF_XDP sender"},
	} {
		tx, err := Dial(name, sess, &c.cfg)
		if err == nil {
			tx.Close()
			t.Errorf("%+v: no error", c.cfg)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), name) {
			t.Errorf("error %q, want one naming %s and %q", err, name, c.want)
		}
	}
}

// A capture read at full speed waits for a free buffer instead of
// dropping a frame, and Close ending that wait drops none either.
func TestPcapCloseDropsNothing(t *testing.T) {
	rx := queued(t)
	// The reader has filled every buffer of a flow and waits for one
	// (a Close that came earlier would not test that wait).
	for deadline := time.Now().Add(10 * time.Second); len(rx.out) < 4; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames queued after 10 s", len(rx.out))
		}
	}
	waitBlocked(t, "select", "st2110.(*rxSink).take(")
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	for k := range rx.Flows() {
		if d := rx.Stats(k).Dropped; d != 0 {
			t.Errorf("flow %d: %d frames dropped", k, d)
		}
	}
}

// A SendConfig that Dial refuses leaves the capture it names as it was.
func TestDialBadConfigKeepsFile(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	name := filepath.Join(t.TempDir(), "keep.pcap")
	want := []byte("an earlier capture")
	if err := os.WriteFile(name, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []*SendConfig{
		{Count: 1, SrcMAC: net.HardwareAddr{1, 2, 3}},
		{Count: 1, DstMAC: net.HardwareAddr{1, 2, 3, 4, 5, 6, 7}},
	} {
		if tx, err := Dial("pcap:"+name, sess, cfg); err == nil {
			tx.Close()
			t.Fatalf("%+v: no error", cfg)
		}
		if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%+v: the file holds %q (%v), not %q", cfg, got, err, want)
		}
	}
	// A flow without a source address fails once the capture is open,
	// on either path; the second path's file, made by Dial, goes again.
	noSource := session("", flow(fmtSmall, "239.1.1.1:5004", ""))
	second := filepath.Join(t.TempDir(), "second.pcap")
	if tx, err := Dial("pcap:"+name, noSource, &SendConfig{Count: 1, Second: "pcap:" + second}); err == nil || !strings.Contains(err.Error(), "no source address") {
		if err == nil {
			tx.Close()
		}
		t.Errorf("a flow without a source: %v", err)
	}
	if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, want) {
		t.Errorf("after a flow without a source, the file holds %q (%v), not %q", got, err, want)
	}
	if _, err := os.Stat(second); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the second path's capture of a failed Dial: %v", err)
	}
	// A dangling symbolic link: a failed Dial removes the target it made
	// (and leaves the link); a FIFO would open as os.Create opens it.
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target.pcap"), filepath.Join(dir, "link.pcap")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if tx, err := Dial("pcap:"+link, sess, &SendConfig{Count: 1, SrcMAC: net.HardwareAddr{1, 2, 3}}); err == nil {
		tx.Close()
		t.Fatal("a bad SrcMAC through a link: no error")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Dial through a dangling link left its target: %v", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("a failed Dial through a dangling link removed the link: %v", err)
	}
	// A Dial that succeeds writes the capture over the file.
	tx, err := Dial("pcap:"+name, sess, &SendConfig{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(tx.Run(context.Background()), tx.Close()); err != nil {
		t.Fatal(err)
	}
	rx, err := Listen("pcap:"+name, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if got := collect(t, rx, 1, 10*time.Second); len(got[0]) != fmtSmall.FrameSize() {
		t.Errorf("%d octets read back, want a frame's %d", len(got[0]), fmtSmall.FrameSize())
	}
}

// A Sender closed without Run (its caller failed between Dial and Run,
// writing the SDP) leaves the capture it names as Dial found it, and
// removes one Dial made: Run empties the file, not Dial.
func TestDialCloseWithoutRunKeepsFile(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	dir := t.TempDir()
	name, made := filepath.Join(dir, "keep.pcap"), filepath.Join(dir, "made.pcap")
	want := []byte("an earlier capture")
	if err := os.WriteFile(name, want, 0o644); err != nil {
		t.Fatal(err)
	}
	tx, err := Dial("pcap:"+name, sess, &SendConfig{Count: 1, Second: "pcap:" + made})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(name); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the file holds %q (%v), not %q", got, err, want)
	}
	if _, err := os.Stat(made); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the second path's capture, made by Dial: %v", err)
	}
}

// A session's TROFF (ST 2110-21 section 8.2, microseconds) is the TR
// offset the flow is paced on: its frames' first packets go at N × TFRAME
// + TROFF less the pacer's lead, as the self-check measures them, and the
// session the sender describes says TROFF as given. A CMAX the sender
// does not keep (its Cinst stays within the formula's) is not repeated.
func TestDialHonoursTROFF(t *testing.T) {
	f := flow(fmtSmall, "239.1.1.1:5004", "192.168.1.1")
	f.TROff, f.CMax = 300, 2
	tx, err := Dial("pcap:"+filepath.Join(t.TempDir(), "a.pcap"), session("192.168.1.1", f), &SendConfig{Count: 4, Analyze: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if got := tx.Session().Streams[0]; got.TROff != 300 || got.CMax != 0 {
		t.Errorf("the sender's session says TROFF=%d CMAX=%d, want 300 and none", got.TROff, got.CMax)
	}
	sdp, err := tx.SDP()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(sdp); !strings.Contains(s, "TROFF=300;") || strings.Contains(s, "CMAX") {
		t.Errorf("the sender's SDP lacks TROFF=300 or has CMAX:\n%s", s)
	}
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	pc := tx.parts[0].tx.Pacer(0)
	want := 300*time.Microsecond - time.Duration(pc.Lead())*pc.Params().TRS
	a, _ := tx.Analysis(0)
	if pc.Params().TROffset != 300*time.Microsecond || a.TROffsetMin < want-time.Microsecond || a.TROffsetMax > want+time.Microsecond {
		t.Errorf("paced on TROffset %v: first packets %v..%v after N × TFRAME, want %v (TROFF less %d packets of lead)",
			pc.Params().TROffset, a.TROffsetMin, a.TROffsetMax, want, pc.Lead())
	}
	if a.Narrow.VRXMin < 0 || !a.Narrow.OK {
		t.Errorf("the self-check, with TROFF as TR offset, finds %+v", a.Narrow)
	}
}

// A TROFF the timing model cannot take (longer than two frame periods, or
// than a Duration holds) fails Dial, naming the flow and the offset.
func TestDialTROFFTooLong(t *testing.T) {
	for _, troff := range []int{50_000, math.MaxInt} {
		f := flow(fmtSmall, "239.1.1.1:5004", "192.168.1.1")
		f.TROff = troff
		tx, err := Dial("pcap:"+filepath.Join(t.TempDir(), "a.pcap"), session("192.168.1.1", f), &SendConfig{Count: 1})
		if err == nil {
			tx.Close()
			t.Errorf("TROFF %d µs: Dial succeeded", troff)
			continue
		}
		if !strings.Contains(err.Error(), "TROFF") && !strings.Contains(err.Error(), "TROffset") || !strings.Contains(err.Error(), "stream 0") && !strings.Contains(err.Error(), "flow 0") {
			t.Errorf("TROFF %d µs: %v", troff, err)
		}
	}
}

// TestListenTROFF: a flow sent on its SDP's TROFF (100 µs; Dial honours
// it) and read back by Listen with the same session: the receiver's
// analysis judges it against TROFF, as the sender's self-check does.
func TestListenTROFF(t *testing.T) {
	f := flow(fmtSD, "239.1.1.1:5004", "192.168.1.1")
	f.TROff = 100
	sess := session("192.168.1.1", f)
	name := filepath.Join(t.TempDir(), "a.pcap")
	tx, err := Dial("pcap:"+name, sess, &SendConfig{Count: 6, Analyze: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	txa, _ := tx.Analysis(0)
	tx.Close()
	a, ok := captureAnalysis(t, name, tx.Session())
	t.Logf("sender self-check: %v\nreceiver: %v", txa, a)
	if !ok || a.Sender != txa.Sender || a.Narrow.OK != txa.Narrow.OK {
		t.Errorf("receiver's analysis %v (sender %v) differs from the sender's self-check %v (%v)", a.Sender, a.Narrow, txa.Sender, txa.Narrow)
	}
}

// formats4320p returns every valid progressive format at 7680x4320 and
// 8192x4320.
func formats4320p() []video.Format {
	var fs []video.Format
	for s := video.Sampling(1); ; s++ {
		if _, err := video.ParseSampling(s.String()); err != nil {
			break
		}
		for _, d := range []video.Depth{video.Depth8, video.Depth10, video.Depth12, video.Depth16, video.Depth16f} {
			for _, w := range []int{7680, 8192} {
				for _, c := range []video.Colorimetry{0, video.BT2100, video.ColorimetryXYZ} {
					f := video.Format{Sampling: s, Depth: d, Width: w, Height: 4320, Scan: video.Progressive, Rate: video.Rate50, Colorimetry: c}
					if f.Validate() == nil {
						fs = append(fs, f)
						break
					}
				}
			}
		}
	}
	return fs
}

// Listen's default budget (video.DefaultMemory) takes one flow of any
// format up to 8192x4320 on one path and one reader: its frame buffers
// (by default 4, fewer where 4 and the reader's own do not fit the
// budget's limit, 4320p RGBA and BGRA at 16 bits) and the reader's, charged
// as Listen charges them (the reader's by newSink, here of one reader of
// two, which makes its frame buffer only at the flow's first packet).
// Before, a 4320p RGBA flow at 16 bits was refused: 4 of its frames and
// the reader's are 1.3 GB. FrameBuffers given is kept, and so is the
// budget's say over it; a larger budget gets 4.
func TestListenDefaultBudget4320p(t *testing.T) {
	fs := formats4320p()
	if len(fs) < 50 {
		t.Fatalf("%d formats", len(fs))
	}
	for _, f := range fs {
		sess := session("10.0.0.1", flow(f, "239.1.1.1:5004", ""))
		want := 4
		if (f.Sampling == video.RGBA || f.Sampling == video.BGRA) && f.Depth == video.Depth16 {
			want = map[int]int{7680: 3, 8192: 2}[f.Width]
		}
		rx, err := newReceiver("pcap:x.pcap", sess, nil)
		if err != nil {
			t.Errorf("%v: %v", f, err)
			continue
		}
		if rx.nbufs[0] != want {
			t.Errorf("%v: %d frame buffers, want %d", f, rx.nbufs[0], want)
		}
		if _, err := newSink(rx, 0, nil, 2); err != nil {
			t.Errorf("%v: the reader: %v", f, err)
		}
	}
	big := video.Format{Sampling: video.RGBA, Depth: video.Depth16, Width: 8192, Height: 4320, Scan: video.Progressive, Rate: video.Rate50}
	sess := session("10.0.0.1", flow(big, "239.1.1.1:5004", ""))
	if _, err := newReceiver("pcap:x.pcap", sess, &ListenConfig{FrameBuffers: 4}); !errors.Is(err, video.ErrBudget) {
		t.Errorf("%v, FrameBuffers 4 in the default budget: %v, want a budget error", big, err)
	}
	b, err := video.NewBudget(math.MaxInt32)
	if err != nil {
		t.Fatal(err)
	}
	if rx, err := newReceiver("pcap:x.pcap", sess, &ListenConfig{Budget: b}); err != nil || rx.nbufs[0] != 4 {
		t.Errorf("%v in a budget of 2 GiB: %v", big, err)
	}
}

// The default frame buffers leave room for the reader's own charge (its
// frame buffer, tables and state): with room for the reader and one
// buffer, one; with less, the pool's charge fails in Listen, before the
// transport is opened (the capture named does not exist: its open would
// be the error), not the reader's, after it.
func TestListenDefaultBuffersLeaveTheReader(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSD, "239.1.1.1:5004", ""))
	size, reader := int64(fmtSD.FrameSize()), video.ReceiverMemory(&fmtSD)
	for _, c := range []struct {
		limit int64
		bufs  int // 0: refused by the budget
	}{
		{reader + size, 1},
		{reader + 2*size - 1, 1},
		{reader + 2*size, 2},
		{reader + size - 1, 0},
		{2*size + 1000, 0}, // two frames: the pool's one and the reader's, but not its state
	} {
		b, err := video.NewBudget(c.limit)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Listen("pcap:"+filepath.Join(t.TempDir(), "none.pcap"), sess, &ListenConfig{Budget: b})
		switch {
		case c.bufs == 0 && !errors.Is(err, video.ErrBudget):
			t.Errorf("budget %d: %v, want a budget error before the capture is opened", c.limit, err)
		case c.bufs != 0 && (err == nil || errors.Is(err, video.ErrBudget)):
			t.Errorf("budget %d: %v, want the capture's open error", c.limit, err)
		case c.bufs != 0:
			b, _ := video.NewBudget(c.limit)
			rx, err := newReceiver("pcap:x.pcap", sess, &ListenConfig{Budget: b})
			if err != nil || rx.nbufs[0] != c.bufs {
				t.Errorf("budget %d: %v, want %d frame buffers", c.limit, err, c.bufs)
			} else if _, err := newSink(rx, 0, nil, 2); err != nil {
				t.Errorf("budget %d: the reader: %v", c.limit, err)
			}
		}
	}
}

// The default frame buffers are sized from the budget's room left: with
// a Second path, after the merges' charge (newDupRx), and leaving room
// for the readers, whose streams are the merges' paths (no frame buffer
// of their own); in a shared budget, after the others' charges. A 4320p
// RGBA flow at 16 bits, 7680 wide, with a Second path starts in the
// default budget with one frame buffer, and both paths' readers' charges
// fit after it; 8192 wide, not even one fits and Listen refuses, as it
// does with FrameBuffers 1. Before, they were sized from the budget's
// limit, as if nothing were charged: 3 for the 7680, refused.
func TestListenDefaultBuffersRoomLeft(t *testing.T) {
	for _, c := range []struct {
		w    int
		bufs int // 0: refused
	}{{7680, 1}, {8192, 0}} {
		f := video.Format{Sampling: video.RGBA, Depth: video.Depth16, Width: c.w, Height: 4320, Scan: video.Progressive, Rate: video.Rate50}
		sess := twoLegs(t, f, "239.1.1.1", "239.1.1.2")
		rx, err := newReceiver("pcap:a.pcap", sess, &ListenConfig{Second: "pcap:b.pcap"})
		if c.bufs == 0 {
			if !errors.Is(err, video.ErrBudget) {
				t.Errorf("%v with a Second path: %v, want a budget error", f, err)
			}
			if _, err := newReceiver("pcap:a.pcap", sess, &ListenConfig{Second: "pcap:b.pcap", FrameBuffers: 1}); !errors.Is(err, video.ErrBudget) {
				t.Errorf("%v with a Second path and FrameBuffers 1: %v, want a budget error", f, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v with a Second path: %v", f, err)
			continue
		}
		if rx.nbufs[0] != c.bufs {
			t.Errorf("%v with a Second path: %d frame buffers, want %d", f, rx.nbufs[0], c.bufs)
		}
		rx.dup.paths = []int{0, 1} // a reader of each path, as prepare assigns them
		for i := range 2 {
			if _, err := newSink(rx, i, nil, 2); err != nil {
				t.Errorf("%v with a Second path: path %d's reader: %v", f, i, err)
			}
		}
	}
	// A budget shared with another receiver, which took a frame of its
	// own: room for the reader and two frame buffers is left, and two it
	// gets (before, the three the limit alone has room for, refused).
	sess := session("10.0.0.1", flow(fmtSD, "239.1.1.1:5004", ""))
	size, reader := int64(fmtSD.FrameSize()), video.ReceiverMemory(&fmtSD)
	b, err := video.NewBudget(reader + 3*size)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Charge("another receiver", size); err != nil {
		t.Fatal(err)
	}
	rx, err := newReceiver("pcap:x.pcap", sess, &ListenConfig{Budget: b})
	if err != nil {
		t.Fatalf("in a budget with room for the reader and 2 frames: %v", err)
	}
	if rx.nbufs[0] != 2 {
		t.Errorf("in a budget with room for the reader and 2 frames: %d frame buffers, want 2", rx.nbufs[0])
	}
	if _, err := newSink(rx, 0, nil, 2); err != nil {
		t.Errorf("the reader: %v", err)
	}
}

// A flow's default frame buffers keep room for one frame of each flow
// after it: two 7680x4320 RGBA flows at 16 bits on one path fit the
// default budget with one buffer each (and their reader's charge after);
// sized one after the other with nothing kept, the first took 2 and the
// second, refused, 4.
func TestListenDefaultBuffersLaterFlows(t *testing.T) {
	f := video.Format{Sampling: video.RGBA, Depth: video.Depth16, Width: 7680, Height: 4320, Scan: video.Progressive, Rate: video.Rate50}
	sess := session("10.0.0.1", flow(f, "239.1.1.1:5004", ""), flow(f, "239.1.1.2:5004", ""))
	rx, err := newReceiver("pcap:x.pcap", sess, nil)
	if err != nil {
		t.Fatalf("two flows of %v in the default budget: %v", f, err)
	}
	if rx.nbufs[0] != 1 || rx.nbufs[1] != 1 {
		t.Errorf("frame buffers %v, want [1 1]", rx.nbufs)
	}
	if _, err := newSink(rx, 0, nil, 2); err != nil {
		t.Errorf("the reader: %v", err)
	}
}

// SendConfig.MaxRows reaches the packets: rows of 20 octets (8 pixels of
// 4:2:2 10-bit) go MaxRows to a packet, beyond ST 2110-20's three, as
// many as fit in 1460 octets for a large MaxRows (55 rows and part of
// the next), in the packets SendConfig.PacketizerConfig works out; the
// frames come back whole. Without it, or with a nil SendConfig, each row
// is a packet of one SRD.
func TestDialMaxRows(t *testing.T) {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 8, Height: 64, Scan: video.Progressive, Rate: video.Rate50}
	sess := session("10.0.0.1", flow(f, "239.1.1.1:5004", ""))
	// A nil *SendConfig is the defaults, for PacketizerConfig as for
	// Dial: each row a packet.
	p, err := video.NewPacketizer(&f, (*SendConfig)(nil).PacketizerConfig(&sess.Streams[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.PacketsPerField(); got != 64 {
		t.Errorf("nil SendConfig: PacketizerConfig makes %d packets a frame, want 64", got)
	}
	const n = 3
	frames := randomFrames(f, n, 7)
	for _, c := range []struct{ rows, ppf, most int }{{0, 64, 1}, {3, 22, 3}, {8, 8, 8}, {64, 2, 56}, {1 << 20, 2, 56}} {
		sc := SendConfig{Sources: []video.FrameSource{loopOf(t, f, frames)}, Count: n, MaxRows: c.rows}
		p, err := video.NewPacketizer(&f, sc.PacketizerConfig(&sess.Streams[0]))
		if err != nil {
			t.Fatal(err)
		}
		if got := p.PacketsPerField(); got != c.ppf {
			t.Errorf("MaxRows %d: SendConfig.PacketizerConfig makes %d packets a frame, want %d", c.rows, got, c.ppf)
		}
		name := filepath.Join(t.TempDir(), "rows.pcap")
		tx, err := Dial("pcap:"+name, sess, &sc)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Close(); err != nil {
			t.Fatal(err)
		}
		srds := captureSRDs(t, name)
		if len(srds) != n*c.ppf || len(srds) == 0 || slices.Max(srds) != c.most || srds[0] != c.most {
			t.Errorf("MaxRows %d: %d packets of %v SRDs; want %d, %d in the first and fullest", c.rows, len(srds), srds, n*c.ppf, c.most)
		}
		rx, err := Listen("pcap:"+name, sess, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := collect(t, rx, n, 10*time.Second); !bytes.Equal(got[0], frames) {
			t.Errorf("MaxRows %d: %d octets back, not the frames sent", c.rows, len(got[0]))
		}
		rx.Close()
	}
}

// SendConfig.MaxRows on a BPM flow is refused by Dial, naming the flow
// (not left to package video's packetizer): block packing fills
// 180-octet blocks, not rows back to back.
func TestDialMaxRowsBPM(t *testing.T) {
	bpm := flow(fmtSmall, "239.1.1.2:5004", "")
	bpm.Packing = video.BPM
	name := "pcap:" + filepath.Join(t.TempDir(), "bpm.pcap")
	_, err := Dial(name, session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""), bpm), &SendConfig{Count: 1, MaxRows: 4})
	if want := "st2110: dial " + name + ": flow 1: SendConfig.MaxRows 4: the flow is block packed (PM=2110BPM)"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("MaxRows on a BPM flow: %v; want %q", err, want)
	}
}

// captureSRDs returns the SRD headers of each RTP packet of the capture
// name (Ethernet, IPv4, UDP), in order.
func captureSRDs(t *testing.T, name string) []int {
	t.Helper()
	f, err := os.Open(name)
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
		const udpPayload = 14 + 20 + 8
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

// A replay's wait for a packet's time ends with Close: a capture whose
// second packet came an hour after its first does not keep Close waiting
// (10 s is a bound on a hang, not a speed).
func TestPcapReplayCloseGap(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	name := filepath.Join(t.TempDir(), "gap.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w, err := packet.NewPcapWriterNanos(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1_700_000_000, 0)
	for _, ts := range []time.Time{at, at.Add(time.Hour)} {
		if err := w.WritePacket(ts, make([]byte, 60)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rx, err := Listen("pcap:"+name, sess, &ListenConfig{Replay: true})
	if err != nil {
		t.Fatal(err)
	}
	waitBlocked(t, "select", "st2110.sleep(") // the hour's wait
	done := make(chan error, 1)
	go func() { done <- rx.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the replay's next packet, an hour away")
	}
	if err := rx.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}
	if got := rx.Other(); got != 1 {
		t.Errorf("Other: %d packets, want the first only", got)
	}
}
