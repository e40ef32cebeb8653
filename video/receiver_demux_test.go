package video

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/nmgo/nmgo/packet"
)

// flowFrames returns the Ethernet frames of n frames of f (seeded by seed)
// sent from src to dst by a Transmitter on a virtual clock, with their
// send times, and the frames sent.
func flowFrames(t testing.TB, f Format, src, dst string, seed uint64, n int) (*memQueue, []byte) {
	t.Helper()
	tmpl, err := packet.NewTemplate(&packet.TemplateConfig{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
		Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), PayloadType: 96, RFC4175: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	frames := randomFrames(&f, n, seed)
	loop, err := NewFrameLoop(&f, frames)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := NewTransmitter(&TransmitterConfig{Streams: []TxStream{{Format: f, Frames: loop, Count: uint64(n),
		Packetizer: &PacketizerConfig{Template: tmpl}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Start(1_800_000_000_000_000_000, 0); err != nil {
		t.Fatal(err)
	}
	q := newMemQueue(64, 2048, true)
	runVirtual(t, tx, q, 64, 1e9)
	return q, frames
}

// interleave merges the packets of qs in turn, with their times.
func interleave(qs ...*memQueue) (pkts [][]byte, at []int64) {
	for i := 0; ; i++ {
		more := false
		for _, q := range qs {
			if i < len(q.sent) {
				pkts, at = append(pkts, q.sent[i]), append(at, q.at[i])
				more = true
			}
		}
		if !more {
			return pkts, at
		}
	}
}

// collect returns a receiver of streams whose frames are appended to
// got[i], with TakeFrame (swapping in a fresh buffer each time) for odd
// streams and OnFrame for even ones.
func collect(t *testing.T, streams []RxStream) (*Receiver, [][]byte) {
	t.Helper()
	got := make([][]byte, len(streams))
	for i := range streams {
		if i%2 == 0 {
			streams[i].OnFrame = func(b []byte, _ *FrameStats) { got[i] = append(got[i], b...) }
		} else {
			streams[i].TakeFrame = func(b []byte, _ *FrameStats, _ int64) []byte {
				got[i] = append(got[i], b...)
				return make([]byte, len(b))
			}
		}
	}
	r, err := NewReceiver(&ReceiverConfig{Streams: streams})
	if err != nil {
		t.Fatal(err)
	}
	return r, got
}

// Flows to two multicast groups on one UDP port, and a third from another
// source to the first group, reach their own streams byte for byte by
// every way in: Push (Ethernet, the fast path), PushIP (from the IP
// header, gopacket's path) and PushUDP (a socket's datagrams).
func TestReceiverDemuxByAddress(t *testing.T) {
	f := fmt64x32
	qa, fa := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.1:5004", 1, 3)
	qb, fb := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.2:5004", 2, 3)
	qc, fc := flowFrames(t, f, "10.0.0.9:5004", "239.0.0.1:5004", 3, 3)
	qd, _ := flowFrames(t, f, "10.0.0.7:5004", "239.0.0.3:5004", 4, 3) // no stream takes it
	pkts, at := interleave(qa, qb, qc, qd)
	for _, way := range []string{"Push", "PushIP", "PushUDP"} {
		t.Run(way, func(t *testing.T) {
			r, got := collect(t, []RxStream{
				{Format: f, Port: 5004, Addr: netip.MustParseAddr("239.0.0.2")},
				{Format: f, Port: 5004, Addr: netip.MustParseAddr("239.0.0.1"), Source: netip.MustParseAddr("10.0.0.1")},
				{Format: f, Port: 5004, Addr: netip.MustParseAddr("239.0.0.1")}, // the rest of the group: 10.0.0.9
			})
			taken := 0
			for i, pkt := range pkts {
				var ok bool
				switch way {
				case "Push":
					ok = r.Push(pkt, at[i])
				case "PushIP":
					ok = r.PushIP(pkt[packet.EthLen:], at[i])
				case "PushUDP":
					ip := pkt[packet.EthLen:]
					src := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[12:16])), 5004)
					dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip[16:20])), 5004)
					ok = r.PushUDP(src, dst, pkt[packet.UDPHdrLen:], at[i])
				}
				if ok {
					taken++
				}
			}
			for i, want := range [][]byte{fb, fa, fc} {
				if !bytes.Equal(got[i], want) {
					t.Errorf("stream %d: %d octets, not the %d of its flow", i, len(got[i]), len(want))
				}
				if st := r.Stats(i); st.Delivered != 3 || st.Lost != 0 || st.Port != 5004 {
					t.Errorf("stream %d: %+v", i, st)
				}
			}
			if taken != len(qa.sent)+len(qb.sent)+len(qc.sent) || r.Other() != uint64(len(qd.sent)) {
				t.Errorf("%d packets taken, %d other", taken, r.Other())
			}
		})
	}
}

// IPv6 flows to two groups on one port, demultiplexed by gopacket's path.
func TestReceiverDemuxIPv6(t *testing.T) {
	f := fmt64x32
	qa, fa := flowFrames(t, f, "[fd00::1]:5004", "[ff3e::1]:5004", 1, 2)
	qb, fb := flowFrames(t, f, "[fd00::1]:5004", "[ff3e::2]:5004", 2, 2)
	pkts, at := interleave(qa, qb)
	r, got := collect(t, []RxStream{
		{Format: f, Port: 5004, Addr: netip.MustParseAddr("ff3e::2")},
		{Format: f, Port: 5004, Addr: netip.MustParseAddr("ff3e::1"), Source: netip.MustParseAddr("fd00::1")},
	})
	for i, pkt := range pkts {
		if !r.Push(pkt, at[i]) {
			t.Fatalf("packet %d not taken", i)
		}
	}
	if !bytes.Equal(got[0], fb) || !bytes.Equal(got[1], fa) {
		t.Errorf("streams got %d and %d octets, not their flows' %d and %d", len(got[0]), len(got[1]), len(fb), len(fa))
	}
}

// A stream that only names a port still takes every packet to it when it
// is alone; one with an address takes no other group's packets.
func TestReceiverAddressFilterAlone(t *testing.T) {
	f := fmt64x32
	qa, fa := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.1:5004", 1, 2)
	qb, _ := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.2:5004", 2, 2)
	pkts, at := interleave(qa, qb)
	r, got := collect(t, []RxStream{{Format: f, Port: 5004, Addr: netip.MustParseAddr("239.0.0.1")}})
	for i, pkt := range pkts {
		r.Push(pkt, at[i])
	}
	if !bytes.Equal(got[0], fa) || r.Other() != uint64(len(qb.sent)) {
		t.Errorf("%d octets of the %d, %d other (want %d)", len(got[0]), len(fa), r.Other(), len(qb.sent))
	}
}

func TestReceiverDemuxConfigErrors(t *testing.T) {
	f := fmt64x32
	g := netip.MustParseAddr("239.0.0.1")
	for _, tc := range []struct {
		streams []RxStream
		want    string
	}{
		{[]RxStream{{Format: f, Port: 5004, Addr: g}, {Format: f, Port: 5004, Addr: g}}, "streams 0 and 1 both take UDP port 5004 of 239.0.0.1"},
		{[]RxStream{{Format: f, Port: 5004}, {Format: f, Port: 5004}}, "streams 0 and 1 both take UDP port 5004"},
		{[]RxStream{{Format: f, Addr: g}}, "needs a UDP port"},
		{[]RxStream{{Format: f, Source: g}}, "needs a UDP port"},
	} {
		_, err := NewReceiver(&ReceiverConfig{Streams: tc.streams})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	// A stream of a port and one of an address on it may coexist: the one
	// with the address is tried first.
	if _, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004}, {Format: f, Port: 5004, Addr: g}}}); err != nil {
		t.Error(err)
	}
}

// TakeFrame gets the arrival of each frame's first packet, and the buffer
// it returns is the one the next frame fills.
func TestReceiverTakeFrame(t *testing.T) {
	f := fmt64x32
	q, frames := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.1:5004", 7, 4)
	size := f.FrameSize()
	var firsts []int64
	for i := range q.sent {
		if i == 0 || q.sent[i-1][packet.UDPHdrLen+1]&0x80 != 0 { // after a marker
			firsts = append(firsts, q.at[i])
		}
	}
	bufs := [][]byte{make([]byte, size), make([]byte, size)}
	var seen [][]byte
	var arrivals []int64
	k := 0
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f, Port: 5004,
		TakeFrame: func(b []byte, st *FrameStats, arrival int64) []byte {
			seen = append(seen, b)
			arrivals = append(arrivals, arrival)
			if n := len(seen) - 1; !bytes.Equal(b, frames[n*size:(n+1)*size]) {
				t.Errorf("frame %d differs", len(seen)-1)
			}
			k++
			return bufs[k%2]
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	for i, pkt := range q.sent {
		r.Push(pkt, q.at[i])
	}
	if len(seen) != 4 {
		t.Fatalf("%d frames", len(seen))
	}
	for i := 1; i < 4; i++ {
		if &seen[i][0] != &bufs[i%2][0] {
			t.Errorf("frame %d was not written into the buffer TakeFrame returned", i)
		}
	}
	for i := range 4 {
		if arrivals[i] != firsts[i] {
			t.Errorf("frame %d: arrival %d, its first packet was sent at %d", i, arrivals[i], firsts[i])
		}
	}
}

// Demultiplexing by address allocates nothing per packet.
func TestReceiverDemuxAllocs(t *testing.T) {
	f := fmt64x32
	qa, _ := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.1:5004", 1, 2)
	qb, _ := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.2:5004", 2, 2)
	pkts, at := interleave(qa, qb)
	r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{
		{Format: f, Port: 5004, Addr: netip.MustParseAddr("239.0.0.1")},
		{Format: f, Port: 5004, Addr: netip.MustParseAddr("239.0.0.2"), TakeFrame: func(b []byte, _ *FrameStats, _ int64) []byte { return b }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	src, dst := netip.MustParseAddrPort("10.0.0.1:5004"), netip.MustParseAddrPort("239.0.0.1:5004")
	if n := testing.AllocsPerRun(2000, func() {
		p := pkts[i%len(pkts)]
		r.Push(p, at[i%len(pkts)])
		r.PushIP(p[packet.EthLen:], at[i%len(pkts)])
		r.PushUDP(src, dst, p[packet.UDPHdrLen:], at[i%len(pkts)])
		i++
	}); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}

// FuzzReceiverDemux pushes arbitrary datagrams with arbitrary addresses
// into streams that share UDP port 5004 by group and source: every
// datagram goes to the most specific stream whose filters take it, or to
// Other if none does, and the counts add up. The input is a sequence of
// records: destination (1 octet: 239.0.0.x, x in 0..3), source (1 octet:
// 10.0.0.x), port (1 octet: 5004 + x%3), a length octet and the payload.
func FuzzReceiverDemux(f *testing.F) {
	q, _ := flowFrames(f, fmt64x32, "10.0.0.1:5004", "239.0.0.1:5004", 1, 1)
	var seed []byte
	for i, pkt := range q.sent[:8] {
		p := pkt[packet.UDPHdrLen:]
		p = p[:min(len(p), 255)]
		seed = append(seed, byte(i%4), byte(1+i%2), 0, byte(len(p)))
		seed = append(seed, p...)
	}
	f.Add(seed)
	streams := []RxStream{
		{Format: fmt64x32, Port: 5004, Addr: netip.MustParseAddr("239.0.0.1"), Source: netip.MustParseAddr("10.0.0.1")},
		{Format: fmt64x32, Port: 5004, Addr: netip.MustParseAddr("239.0.0.1")},
		{Format: fmt64x32, Port: 5004, Addr: netip.MustParseAddr("239.0.0.2")},
		{Format: fmt64x32, Port: 5004, Source: netip.MustParseAddr("10.0.0.3")},
		{Format: fmt64x32, Port: 5005},
	}
	// want returns the stream the rules give a datagram, or -1.
	want := func(src, dst netip.AddrPort) int {
		best, spec := -1, -1
		for i, s := range streams {
			if s.Port != dst.Port() || s.Addr.IsValid() && s.Addr != dst.Addr() || s.Source.IsValid() && s.Source != src.Addr() {
				continue
			}
			if n := s.specificity(); n > spec {
				best, spec = i, n
			}
		}
		return best
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewReceiver(&ReceiverConfig{Streams: streams})
		if err != nil {
			t.Fatal(err)
		}
		at := int64(1_800_000_000_000_000_000)
		var pushed uint64
		for len(in) >= 4 {
			dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{239, 0, 0, in[0] % 4}), 5004+uint16(in[2]%3))
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, in[1] % 4}), 5004)
			n := min(int(in[3]), len(in)-4)
			pkt := in[4 : 4+n]
			in = in[4+n:]
			before := make([]uint64, len(streams))
			for i := range streams {
				before[i] = r.Stats(i).Packets
			}
			other := r.Other()
			took := r.PushUDP(src, dst, pkt, at)
			pushed++
			got := -1
			for i := range streams {
				if r.Stats(i).Packets != before[i] {
					got = i
				}
			}
			if w := want(src, dst); got != w || took != (w >= 0) || !took && r.Other() != other+1 {
				t.Fatalf("%v -> %v: went to stream %d (taken %v), want %d", src, dst, got, took, w)
			}
			at += 1000
		}
		var total uint64
		for i := range streams {
			total += r.Stats(i).Packets
		}
		if total+r.Other() != pushed {
			t.Fatalf("%d pushed, %d to streams, %d other", pushed, total, r.Other())
		}
	})
}

// tagged returns frame (untagged Ethernet) with k 802.1Q tags after its
// MAC addresses.
func tagged(frame []byte, k int) []byte {
	out := append([]byte{}, frame[:12]...)
	for range k {
		out = append(out, 0x81, 0x00, 0x00, 0x05) // TPID, VLAN 5
	}
	return append(out, frame[12:]...)
}

// A frame with many stacked 802.1Q tags (or IP-in-IP headers) once made
// the receiver's slow path grow its list of decoded layers, an allocation
// the packet chose: each deeper frame allocated again. Two tags (802.1ad
// QinQ) still reach their stream; a frame nested deeper than the receiver
// decodes is Other, and nothing is allocated for it.
func TestReceiverNestedLayers(t *testing.T) {
	f := fmt64x32
	q := sendFrames(t, f, 0, PacketizerConfig{}, 1)
	r := newTestReceiver(t, f)
	r.AllocFrames()
	pkt := q.sent[0]
	// Ethernet, up to 5 tags, IPv4 and UDP: within the 8 layers.
	for k := range 6 {
		if !r.Push(tagged(pkt, k), 0) {
			t.Fatalf("a frame with %d 802.1Q tags did not reach its stream", k)
		}
	}
	if other := r.Other(); r.Push(tagged(pkt, 6), 0) || r.Other() != other+1 {
		t.Fatal("a frame with 6 802.1Q tags (9 layers) reached its stream or was not counted Other")
	}
	var deep [][]byte
	for k := 10; k < 2000; k *= 2 {
		deep = append(deep, tagged(pkt, k))
	}
	other, i := r.Other(), 0
	if n := testing.AllocsPerRun(len(deep)-1, func() {
		r.Push(deep[i], 0)
		i++
	}); n != 0 {
		t.Errorf("%v allocations per deeply nested frame", n)
	}
	if got := r.Other() - other; got != uint64(len(deep)) {
		t.Errorf("%d of %d deeply nested frames counted as Other", got, len(deep))
	}
}

// TestReceiverForgetsSlowFrames: once a frame has taken the slow way
// (gopacket: 802.1Q, IPv4 options, IPv6, not UDP), the Receiver's decoded
// layers hold nothing of it. The frame may be a ring's memory that the
// Receiver outlives: a slice of it kept (its MAC and IP addresses, its
// payload) would point at memory unmapped, or reused by the Go heap.
func TestReceiverForgetsSlowFrames(t *testing.T) {
	f := fmt64x32
	q4, _ := flowFrames(t, f, "10.0.0.1:5004", "239.0.0.1:5004", 1, 1)
	q6, _ := flowFrames(t, f, "[fd00::1]:5004", "[ff3e::1]:5004", 2, 1)
	v4, v6 := q4.sent[0], q6.sent[0]
	// IPv4 with 4 octets of options (a Router Alert), IHL 6.
	opts := append(append(append([]byte(nil), v4[:34]...), 0x94, 0x04, 0, 0), v4[34:]...)
	opts[14] = 0x46
	binary.BigEndian.PutUint16(opts[16:], binary.BigEndian.Uint16(opts[16:])+4)
	arp := make([]byte, 60)
	arp[12], arp[13] = 0x08, 0x06
	r, _ := collect(t, []RxStream{
		{Format: f, Port: 5004, Addr: netip.MustParseAddr("239.0.0.1")},
		{Format: f, Port: 5004, Addr: netip.MustParseAddr("ff3e::1")},
	})
	for _, c := range []struct {
		name  string
		frame []byte
		taken bool
	}{
		{"802.1Q", tagged(v4, 1), true}, {"IPv4 options", opts, true}, {"IPv6", v6, true},
		{"QinQ IPv6", tagged(v6, 2), true}, {"ARP", arp, false},
	} {
		if got := r.Push(slices.Clone(c.frame), 0); got != c.taken {
			t.Errorf("%s: taken %v, want %v", c.name, got, c.taken)
		}
		kept := r.ip4.Options[:cap(r.ip4.Options)]
		if !reflect.DeepEqual(r.eth, layers.Ethernet{}) || !reflect.DeepEqual(r.dot1q, layers.Dot1Q{}) ||
			!reflect.DeepEqual(r.ip4, layers.IPv4{Options: r.ip4.Options[:0]}) || !reflect.DeepEqual(r.ip6, layers.IPv6{}) ||
			!reflect.DeepEqual(r.udp, packet.UDP{}) || slices.ContainsFunc(kept, func(o layers.IPv4Option) bool { return o.OptionData != nil }) {
			t.Errorf("%s: the Receiver's layers keep the frame: %+v %+v %+v %+v %+v", c.name, r.eth, r.dot1q, r.ip4, r.ip6, r.udp)
		}
	}
}
