package video

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/packet"
)

// sendFrames returns the Ethernet frames of n frames of f from
// a Transmitter on a virtual clock, to UDP port 5004, and their send times.
func sendFrames(t testing.TB, f Format, tp Sender, pc PacketizerConfig, n int) *memQueue {
	t.Helper()
	tmpl, err := packet.NewTemplate(&packet.TemplateConfig{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.0.0.1:5004"),
		PayloadType: 96, RFC4175: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	pc.Template = tmpl
	loop, err := NewFrameLoop(&f, randomFrames(&f, n, 5))
	if err != nil {
		t.Fatal(err)
	}
	tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, TP: tp, Frames: loop, Count: uint64(n), Packetizer: &pc}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Start(1_800_000_000_000_000_000, 0); err != nil {
		t.Fatal(err)
	}
	q := newMemQueue(64, 2048, true)
	runVirtual(t, tx, q, 64, 1e9)
	return q
}

// A receiver started in the middle of a frame skips that frame and hands
// over the next ones whole.
func TestReceiverSkipsJoinedFrame(t *testing.T) {
	f := fmt64x32
	q := sendFrames(t, f, 0, PacketizerConfig{}, 3)
	var got [][]byte
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, OnFrame: func(b []byte, st *FrameStats) {
		got = append(got, append([]byte(nil), b...))
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, pkt := range q.sent[10:] { // frame 0 from its 11th packet
		r.Push(pkt, q.at[10+i])
	}
	st := r.Stats(0)
	if st.Skipped != 1 || st.Delivered != 2 || len(got) != 2 || st.Lost != 0 {
		t.Fatalf("stats %+v, %d frames handed over", st, len(got))
	}
	loop, _ := NewFrameLoop(&f, randomFrames(&f, 3, 5))
	for k := range got {
		if string(got[k]) != string(loop.Frame(uint64(k+1))) {
			t.Errorf("frame %d differs", k+1)
		}
	}
}

// Frames cut short after their headers (a capture with a short snap length)
// fill no frame, but the counts, packing and timing come out the same.
func TestReceiverTruncated(t *testing.T) {
	f := fmt64x32i
	f.Width = 640
	for _, pc := range []PacketizerConfig{{}, {Packing: BPM}} {
		q := sendFrames(t, f, SenderNarrowLinear, pc, 4)
		whole, cut := newTestReceiver(t, f), newTestReceiver(t, f)
		snap := packet.UDPHdrLen + packet.RTPLen + packet.ExtSeqLen + 3*packet.SRDLen
		for i, pkt := range q.sent {
			whole.Push(pkt, q.at[i])
			cut.Push(pkt[:min(len(pkt), snap)], q.at[i])
		}
		a, b := whole.Stats(0), cut.Stats(0)
		if b.Truncated != uint64(len(q.sent)) || b.Complete != 0 || b.Bytes != a.Bytes || b.Lost != 0 {
			t.Errorf("%v: cut %+v\nwhole %+v", pc.Packing, b, a)
		}
		if b.PacketsPerField != a.PacketsPerField || b.Packing != a.Packing || a.Packing != pc.Packing && pc.Packing != 0 {
			t.Errorf("%v: cut: %d packets per field %v, whole: %d %v", pc.Packing, b.PacketsPerField, b.Packing, a.PacketsPerField, a.Packing)
		}
		an, aok := whole.Analysis(0)
		bn, bok := cut.Analysis(0)
		if !aok || !bok || an != bn {
			t.Errorf("%v: analyses differ:\n cut %v\nwhole %v", pc.Packing, bn, an)
		}
	}
}

func newTestReceiver(t *testing.T, f Format) *Receiver {
	t.Helper()
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004}}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// PushIP takes the same packets without their Ethernet header; packets of
// other ports, payload types and protocols go to Other.
func TestReceiverPushIPAndOther(t *testing.T) {
	f := fmt64x32
	q := sendFrames(t, f, 0, PacketizerConfig{}, 2)
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004}, {Format: f, PayloadType: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, pkt := range q.sent {
		if !r.PushIP(pkt[packet.EthLen:], q.at[i]) {
			t.Fatalf("packet %d not taken", i)
		}
	}
	// Stream 1 takes any port, but only payload type 100: port 5005
	// carries 96, which nobody takes.
	other := append([]byte(nil), q.sent[0]...)
	binary.BigEndian.PutUint16(other[packet.EthLen+packet.IPv4Len+2:], 5005)
	if r.Push(other, 0) || r.PushIP([]byte{0x60}, 0) || r.PushIP(nil, 0) || r.Push(other[:20], 0) {
		t.Error("a packet of no stream was taken")
	}
	if st := r.Stats(0); st.Frames != 2 || st.Complete != 2 || r.Other() != 4 || r.Stats(1).Port != 0 {
		t.Errorf("stream 0 %+v, stream 1 port %d, %d other", st, r.Stats(1).Port, r.Other())
	}
	if _, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 1}, {Format: f, Port: 1}}}); err == nil {
		t.Error("two streams on one port: no error")
	}
	if _, err := NewReceiver(&ReceiverConfig{}); err == nil {
		t.Error("no streams: no error")
	}
	if _, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: Format{}}}}); err == nil {
		t.Error("invalid format: no error")
	}
}

// The receiver's analysis of each sender type's schedule, with exact send
// times, is that type; packets per field and packing agree with the
// packetizer's.
func TestReceiverAnalysisOfPacedSenders(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1280, Height: 720, Scan: Progressive, Rate: Rate50}
	for _, c := range []struct {
		tp Sender
		pc PacketizerConfig
	}{
		{SenderNarrow, PacketizerConfig{}},
		{SenderNarrowLinear, PacketizerConfig{Packing: BPM}},
		{SenderWide, PacketizerConfig{Continuous: true}},
	} {
		q := sendFrames(t, f, c.tp, c.pc, 4)
		r := newTestReceiver(t, f)
		for i, pkt := range q.sent {
			r.Push(pkt, q.at[i])
		}
		p, _ := NewPacketizer(&f, &c.pc)
		st := r.Stats(0)
		a, ok := r.Analysis(0)
		if !ok || a.Sender != c.tp || a.PacketsPerFrame != p.PacketsPerField() || st.PacketsPerField != p.PacketsPerField() ||
			a.Packing != p.Packing() || st.Packing != p.Packing() || a.Frames != 2 {
			t.Errorf("%v %v: %v (%d frames); receiver: %d packets per field, %v", c.tp, p.Packing(), a, a.Frames, st.PacketsPerField, st.Packing)
		}
	}
}

// Two frames are too few to judge: the analysis starts at the second
// marker and has measured nothing; it says so, rather than "not compliant"
// or a packing mode read from one marker packet.
func TestReceiverAnalysisTooFewFrames(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1280, Height: 720, Scan: Progressive, Rate: Rate50}
	for n, want := range map[int]string{2: TooFew, 3: "2110TPN"} {
		q := sendFrames(t, f, SenderNarrow, PacketizerConfig{}, n)
		r := newTestReceiver(t, f)
		for i, pkt := range q.sent {
			r.Push(pkt, q.at[i])
		}
		a, ok := r.Analysis(0)
		if !ok || a.Verdict() != want || a.Packing == BPM || (n == 2) != strings.HasSuffix(a.String(), ": "+TooFew) {
			t.Errorf("%d frames: verdict %q, packing %v, %q; want %q", n, a.Verdict(), a.Packing, a, want)
		}
	}
}

// The receiver checks the format's rate against the RTP timestamps: an
// interlaced SDP that carries the field rate in exactframerate (as EBU LIST
// writes it) is analysed at the frame rate the timestamps show, as the
// right SDP is; a progressive rate the timestamps contradict is kept and
// the mismatch reported.
func TestReceiverRateCheck(t *testing.T) {
	i25 := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Interlaced, Rate: Rate25}
	q := sendFrames(t, i25, SenderNarrow, PacketizerConfig{}, 4)
	analyse := func(f Format) (RxStats, Analysis) {
		r := newTestReceiver(t, f)
		for i, pkt := range q.sent {
			r.Push(pkt, q.at[i])
		}
		a, ok := r.Analysis(0)
		if !ok {
			t.Fatalf("%v: no analysis", f)
		}
		return r.Stats(0), a
	}
	right, want := analyse(i25)
	if right.RateCheck != RateMatches || right.Rate != Rate25 || right.RTPStep != 1800 || want.Sender != SenderNarrow {
		t.Errorf("1080i25: rate %v (%v), step %d, %v", right.Rate, right.RateCheck, right.RTPStep, want)
	}
	fieldRate := i25
	fieldRate.Rate = Rate50
	st, got := analyse(fieldRate)
	if st.RateCheck != RateFieldRate || st.Rate != Rate25 || got != want {
		t.Errorf("1080i with exactframerate=50: rate %v (%v), analysis %v; want 25 and %v", st.Rate, st.RateCheck, got, want)
	}
	p50 := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1280, Height: 720, Scan: Progressive, Rate: Rate50}
	q = sendFrames(t, p50, SenderNarrow, PacketizerConfig{}, 4)
	p25 := p50
	p25.Rate = Rate25
	if st, _ := analyse(p25); st.RateCheck != RateMismatch || st.Rate != Rate25 || st.RTPStep != 1800 {
		t.Errorf("720p50 read as 720p25: rate %v (%v), step %d", st.Rate, st.RateCheck, st.RTPStep)
	}
}

// udp4Fast and gopacket (udpSlow) read any frame the fast path takes alike.
func FuzzUDP4Fast(f *testing.F) {
	q := sendFrames(f, fmt64x32, 0, PacketizerConfig{}, 1)
	for _, pkt := range q.sent[:4] {
		f.Add(pkt)
		f.Add(pkt[:50])
	}
	bad := append([]byte(nil), q.sent[0]...)
	binary.BigEndian.PutUint16(bad[packet.EthLen+packet.IPv4Len+4:], 3) // UDP length below its header
	f.Add(bad)
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: fmt64x32}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < packet.UDPHdrLen {
			return
		}
		port, size, wire := udp4Fast((*[packet.UDPHdrLen]byte)(b), len(b))
		ok := size >= 0
		if !ok {
			return
		}
		payload := b[packet.UDPHdrLen:][:size]
		sport, spayload, swire, sok := r.udpSlow(0, b)
		if !sok || port != sport || wire != swire || len(payload) != len(spayload) || string(payload) != string(spayload) {
			t.Fatalf("fast: %d %d octets (wire %d) %v; gopacket: %d %d octets (wire %d) %v",
				port, len(payload), wire, ok, sport, len(spayload), swire, sok)
		}
		src, dst := r.slowAddrs()
		if src != netip.AddrFrom4([4]byte(b[26:30])) || dst != netip.AddrFrom4([4]byte(b[30:34])) {
			t.Fatalf("fast path addresses %v -> %v, gopacket's %v -> %v", b[26:30], b[30:34], src, dst)
		}
	})
}
