package video

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// Hostile streams: packets whose sequence numbers, timestamps, markers or
// SRD headers a sender chose to make the receiver work. The work per packet
// must not depend on them beyond a constant: the benchmarks compare each
// pattern with an ordinary stream, the tests count the loop steps of the
// depacketizer (its steps field), which do not depend on the machine.

// rtpAt is where the RTP header starts in the Ethernet frames of
// hostileTemplate: Ethernet, IPv4 without options, UDP.
const rtpAt = packet.EthLen + packet.IPv4Len + packet.UDPLen

func hostileTemplate(t testing.TB) *packet.Template {
	t.Helper()
	tpl, err := packet.NewTemplate(&packet.TemplateConfig{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.0.0.1:5004"),
		PayloadType: 96, RFC4175: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// ordinaryPackets returns the Ethernet frames of one frame of f, GPM.
func ordinaryPackets(t testing.TB, f Format) [][]byte {
	t.Helper()
	p := mustPacketizer(t, f, &PacketizerConfig{Template: hostileTemplate(t)})
	var out [][]byte
	for _, s := range packetize(t, p, randomFrame(&f, 1), 0) {
		out = append(out, s.b)
	}
	return out
}

// chainPackets returns per Ethernet frames each carrying n SRD headers: with
// data octets of sample data each, walking down the rows of f, or (data <
// 0) a continuation chain of n headers that never ends.
func chainPackets(t testing.TB, f Format, per, n, data int) [][]byte {
	t.Helper()
	tpl := hostileTemplate(t)
	var out [][]byte
	row := 0
	for range per {
		pl := n * packet.SRDLen
		if data > 0 {
			pl += n * data
		}
		b := make([]byte, tpl.Len()+pl)
		h := b[tpl.Len():]
		for k := range n {
			length, cont := uint16(max(data, 0)), k < n-1 || data < 0
			packet.PutSRD(h[packet.SRDLen*k:], length, false, uint16(row%f.Height), cont, 0)
			row++
		}
		out = append(out, b[:tpl.Write(b, pl, &packet.Fields{})])
	}
	return out
}

// hostilePattern patches packet number n (counting from 0 over the whole
// run) of a frame of per packets: its sequence number, timestamp and marker.
type hostilePattern struct {
	name  string
	chain int // SRD headers per packet, 0: the packetizer's packets
	data  int // octets per SRD of a chain; < 0: a chain that never ends
	seq   func(n uint64) uint16
	ts    func(n, per uint64) uint32
	mark  func(n, per uint64) bool
}

func ordinarySeq(n uint64) uint16           { return uint16(n) }
func ordinaryTS(n, per uint64) uint32       { return uint32(n / per * 1501) }
func ordinaryMark(n, per uint64) bool       { return n%per == per-1 }
func gapSeq(gap uint64) func(uint64) uint16 { return func(n uint64) uint16 { return uint16(n * gap) } }
func jumpTS(jump uint64) func(n, per uint64) uint32 {
	return func(n, _ uint64) uint32 { return uint32(n * jump) }
}

// hostilePatterns are the patterns of the benchmark; gap and jump are the
// largest the receiver takes as such (a sequence step above 32767 is one
// backwards), the chains as long as a 1460-octet payload holds.
func hostilePatterns() []hostilePattern {
	rnd := func(n uint64) uint16 { // a xorshift walk: gaps both ways
		n ^= n << 13
		n ^= n >> 7
		n ^= n << 17
		return uint16(n)
	}
	return []hostilePattern{
		{name: "ordinary", seq: ordinarySeq, ts: ordinaryTS, mark: ordinaryMark},
		{name: "seq-gap", seq: gapSeq(32767), ts: ordinaryTS, mark: ordinaryMark},
		{name: "seq-random", seq: rnd, ts: ordinaryTS, mark: ordinaryMark},
		{name: "ts-jump", seq: ordinarySeq, ts: jumpTS(100003), mark: ordinaryMark},
		{name: "markers", seq: ordinarySeq, ts: jumpTS(1), mark: func(uint64, uint64) bool { return true }},
		{name: "srd-chain", chain: 35, data: 35, seq: ordinarySeq, ts: ordinaryTS, mark: ordinaryMark},
		{name: "srd-endless", chain: 240, data: -1, seq: ordinarySeq, ts: ordinaryTS, mark: ordinaryMark},
	}
}

func (p *hostilePattern) packets(t testing.TB, f Format) [][]byte {
	if p.chain == 0 {
		return ordinaryPackets(t, f)
	}
	return chainPackets(t, f, 4320, p.chain, p.data)
}

// patch writes packet n's header fields into pk, an Ethernet frame.
func (p *hostilePattern) patch(pk []byte, n, per uint64) {
	r := pk[rtpAt:]
	binary.BigEndian.PutUint16(r[2:], p.seq(n))
	binary.BigEndian.PutUint32(r[4:], p.ts(n, per))
	r[1] &^= 0x80
	if p.mark(n, per) {
		r[1] |= 0x80
	}
}

// BenchmarkHostile pushes each pattern's packets through a Receiver (one
// 1080p59.94 stream, the analysis on), in blocks of 512 packets that
// alternate with blocks of an ordinary stream into a second receiver, so
// that the machine's load falls on both alike. ns/op is the cost of one
// hostile packet; x-ordinary is the time of the hostile blocks over the
// time of the ordinary ones, which must stay at most 2 (docs/benchmarks.md);
// x-ordinary-best is the same for the fastest block of each, which other
// processes on the machine disturb the least.
func BenchmarkHostile(b *testing.B) {
	f := bench1080p
	all := hostilePatterns()
	ord := all[0]
	for _, p := range all {
		b.Run(p.name, func(b *testing.B) {
			type side struct {
				p     *hostilePattern
				pkts  [][]byte
				r     *Receiver
				n     uint64
				at    int64
				spent time.Duration
				best  time.Duration // the fastest block: the least disturbed
			}
			newSide := func(p *hostilePattern) *side {
				r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004,
					OnFrame: func([]byte, *FrameStats) {}}}})
				if err != nil {
					b.Fatal(err)
				}
				return &side{p: p, pkts: p.packets(b, f), r: r, at: 1_800_000_000_000_000_000}
			}
			const block = 512
			run := func(s *side) {
				per := uint64(len(s.pkts))
				t0 := time.Now()
				for range block {
					pk := s.pkts[s.n%per]
					s.p.patch(pk, s.n, per)
					s.r.Push(pk, s.at)
					s.n++
					s.at += 3858 // 4320 packets in 16.68 ms
				}
				d := time.Since(t0)
				s.spent += d
				if s.best == 0 || d < s.best {
					s.best = d
				}
			}
			h, o := newSide(&p), newSide(&ord)
			for range 20 { // first touch of both frame buffers
				run(h)
				run(o)
			}
			h.spent, o.spent, h.best, o.best = 0, 0, 0, 0
			b.ReportAllocs()
			for b.Loop() {
				run(h)
				run(o)
			}
			b.ReportMetric(float64(h.spent.Nanoseconds())/float64(b.N*block), "ns/pkt")
			b.ReportMetric(float64(o.spent.Nanoseconds())/float64(b.N*block), "ns/ordinary-pkt")
			b.ReportMetric(float64(h.spent)/float64(o.spent), "x-ordinary")
			b.ReportMetric(float64(h.best)/float64(o.best), "x-ordinary-best")
		})
	}
}

// stepsPerPacket pushes count packets of pattern p into a fresh receiver and
// returns its depacketizer's loop steps per packet, and its stats.
func stepsPerPacket(t *testing.T, f Format, p hostilePattern, pkts [][]byte, count uint64) (float64, RxStats) {
	t.Helper()
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004}}})
	if err != nil {
		t.Fatal(err)
	}
	per := uint64(len(pkts))
	for n := range count {
		pk := pkts[n%per]
		p.patch(pk, n, per)
		r.Push(pk, int64(n)*3858)
	}
	s := r.streams[0]
	return float64(s.d.steps.get()+s.parsed.get()) / float64(count), r.Stats(0)
}

// TestHostileWorkFlat: the depacketizer's work per packet is the same for
// a sequence gap of 10 and of 32767, a timestamp jump of 10 and of 10^9,
// markers on every packet whatever the timestamp step: what grows with
// the gap or the jump is a defect, however fast. An SRD chain costs a
// step per header, bounded by the packet's length.
func TestHostileWorkFlat(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 480, Scan: Progressive, Rate: Rate59_94}
	pkts := ordinaryPackets(t, f)
	const count = 3000
	base, st := stepsPerPacket(t, f, hostilePatterns()[0], pkts, count)
	if st.Lost != 0 || st.Complete == 0 {
		t.Fatalf("ordinary stream: %+v", st)
	}
	for _, c := range []struct {
		name       string
		small, big hostilePattern
		check      func(RxStats) bool
	}{
		{"sequence gap",
			hostilePattern{seq: gapSeq(10), ts: ordinaryTS, mark: ordinaryMark},
			hostilePattern{seq: gapSeq(32767), ts: ordinaryTS, mark: ordinaryMark},
			func(s RxStats) bool { return s.Lost > 32000*(count-1) }},
		{"timestamp jump",
			hostilePattern{seq: ordinarySeq, ts: jumpTS(10), mark: ordinaryMark},
			hostilePattern{seq: ordinarySeq, ts: jumpTS(1e9), mark: ordinaryMark},
			func(s RxStats) bool { return s.MissedMarkers > count/2 }},
		{"marker storm",
			hostilePattern{seq: ordinarySeq, ts: jumpTS(1), mark: func(uint64, uint64) bool { return true }},
			hostilePattern{seq: ordinarySeq, ts: jumpTS(1e6), mark: func(uint64, uint64) bool { return true }},
			func(s RxStats) bool { return s.Frames == count }},
	} {
		small, _ := stepsPerPacket(t, f, c.small, pkts, count)
		big, st := stepsPerPacket(t, f, c.big, pkts, count)
		if !c.check(st) {
			t.Errorf("%s: the pattern did not do what it should: %+v", c.name, st)
		}
		if counting && (big != small || big > base) {
			t.Errorf("%s: %.2f loop steps per packet when small, %.2f when large (ordinary stream %.2f)", c.name, small, big, base)
		}
	}
	// SRD chains: RFC 4175 sets no limit to a packet's SRD headers, so
	// a chain is walked as far as the packet goes, a step per 6-octet
	// header: the packet's length, not what its headers say, bounds the
	// work. The steps are the receiver's parseHeaders walk and the
	// depacketizer's together, so that a second walk of the same headers
	// (Push after parseHeaders) shows. A chain that never ends is walked
	// once and dropped; one of
	// empty rows writes two of them (as many as its data can fill, and
	// the first and last) and drops the rest as bad rows.
	for _, n := range []int{33, 240, 10000} {
		p := hostilePattern{chain: n, data: -1, seq: ordinarySeq, ts: ordinaryTS, mark: ordinaryMark}
		steps, st := stepsPerPacket(t, f, p, chainPackets(t, f, 10, n, -1), count)
		if st.Malformed != count || counting && steps != float64(n) {
			t.Errorf("endless chain of %d: %.2f loop steps per packet, %d of %d packets dropped as malformed", n, steps, st.Malformed, count)
		}
		p.data = 0
		steps, st = stepsPerPacket(t, f, p, chainPackets(t, f, 10, n, 0), count)
		if st.Malformed != 0 || st.BadRows != count*uint64(n-2) || counting && steps != float64(n+2) {
			t.Errorf("chain of %d empty rows: %.2f loop steps per packet, %d malformed, %d bad rows", n, steps, st.Malformed, st.BadRows)
		}
	}
}
