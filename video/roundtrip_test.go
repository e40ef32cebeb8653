package video

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// allFormats returns one small format for every sampling, depth and scan
// this package packetizes, wide enough for BPM blocks.
func allFormats() []Format {
	var fs []Format
	for s := Sampling(1); s < numSampling; s++ {
		for _, d := range []Depth{Depth8, Depth10, Depth12, Depth16, Depth16f} {
			for _, scan := range []Scan{Progressive, Interlaced, PsF} {
				f := Format{Sampling: s, Depth: d, Width: 640, Height: 8, Scan: scan, Rate: Rate29_97}
				switch s {
				case ICtCp444, ICtCp422, ICtCp420:
					f.Colorimetry = BT2100
				case XYZ:
					f.Colorimetry = ColorimetryXYZ
				}
				if f.Validate() == nil {
					fs = append(fs, f)
				}
			}
		}
	}
	return fs
}

// packConfigs are the packings every round trip runs through.
var packConfigs = []struct {
	name string
	c    PacketizerConfig
}{
	{"GPM-line", PacketizerConfig{}},
	{"GPM-continuous", PacketizerConfig{Continuous: true, PayloadSize: 500}},
	{"GPM-jumbo", PacketizerConfig{Continuous: true, PayloadSize: MaxUDPExtended}},
	{"GPM-rows", PacketizerConfig{Continuous: true, MaxRows: 1000}}, // as many rows as fit, as FFmpeg packs
	{"BPM", PacketizerConfig{Packing: BPM}},
}

// sent is one packet as the test sent it, with its plan entry.
type sent struct {
	b  []byte
	pk PacketInfo
}

// packetize returns the packets of one frame.
func packetize(t testing.TB, p *Packetizer, frame []byte, tai int64) []sent {
	t.Helper()
	var plan []PacketInfo
	for pk := range p.Packets() {
		plan = append(plan, pk)
	}
	if err := p.Frame(frame, tai); err != nil {
		t.Fatal(err)
	}
	var out []sent
	for i := 0; ; i++ {
		buf := make([]byte, p.MaxPacketLen())
		n, err := p.Next(buf)
		if err == ErrNoFrame {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sent{buf[:n], plan[i]})
	}
	return out
}

// apply writes the sample data the plan puts in pk into want, from frame:
// what a correct depacketizer does with that packet, by the layout rule of
// Format.FrameSize.
func apply(want, frame []byte, f *Format, pk PacketInfo) {
	pg := f.Pgroup()
	for _, s := range pk.Segments {
		fld := 0
		if s.Field {
			fld = 1
		}
		at := (s.Line/pg.Height*f.Scan.Fields()+fld)*f.RowBytes() + s.Offset/pg.Width*pg.Size
		copy(want[at:at+s.Length], frame[at:])
	}
}

// receiver collects what a Depacketizer delivers. Each frame buffer starts
// filled with a pattern, so a byte never written shows.
type receiver struct {
	d      *Depacketizer
	size   int
	frames [][]byte
	stats  []FrameStats
}

const fillByte = 0xa5

func filled(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = fillByte
	}
	return b
}

func newReceiver(t testing.TB, f *Format, pt uint8) *receiver {
	t.Helper()
	r := &receiver{size: f.FrameSize()}
	d, err := NewDepacketizer(f, &DepacketizerConfig{PayloadType: pt, OnFrame: func(buf []byte, st *FrameStats) []byte {
		r.frames = append(r.frames, buf)
		r.stats = append(r.stats, *st)
		return filled(r.size)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetBuffer(filled(r.size)); err != nil {
		t.Fatal(err)
	}
	r.d = d
	return r
}

// TestRoundTripAllFormats packetizes four frames of every format in every
// packing and pushes them through a depacketizer: the first in order, the
// second shuffled with duplicates (of packets without the marker) and one packet held back until after its
// marker (late), the third with packets and its last marker lost, the fourth
// in order. Every delivered frame must hold exactly the bytes of the packets
// taken, and the statistics must count what was done.
func TestRoundTripAllFormats(t *testing.T) {
	formats := allFormats()
	if len(formats) < 150 {
		t.Fatalf("only %d formats", len(formats))
	}
	runs := 0
	for _, f := range formats {
		for _, pc := range packConfigs {
			cfg := pc.c
			cfg.PayloadType = 97
			p, err := NewPacketizer(&f, &cfg)
			if err != nil {
				if cfg.Packing == BPM {
					continue // pgroups of 8 octets, or rows too short for three SRDs
				}
				t.Fatalf("%v %s: %v", f, pc.name, err)
			}
			runs++
			t.Run(fmt.Sprintf("%v/%s", f, pc.name), func(t *testing.T) { roundTrip(t, &f, p) })
		}
	}
	t.Logf("%d formats, %d format x packing round trips", len(formats), runs)
}

func roundTrip(t *testing.T, f *Format, p *Packetizer) {
	rng := rand.New(rand.NewPCG(uint64(f.Width)*31+uint64(f.Sampling), uint64(f.Depth)<<8|uint64(f.Scan)))
	r := newReceiver(t, f, 97)
	period := f.Rate.Period().Nanoseconds()
	var frames [4][]byte
	var pkts [4][]sent
	for i := range frames {
		frames[i] = randomFrame(f, uint64(i)+rng.Uint64())
		pkts[i] = packetize(t, p, frames[i], 1_700_000_000_000_000_000+int64(i)*period)
	}
	var want [4][]byte
	var order []sent

	// Frame 0: in order.
	order = append(order, pkts[0]...)
	want[0] = append([]byte(nil), frames[0]...)

	// Frame 1: shuffled, every 5th packet twice, one non-marker packet held
	// back until frame 1 is delivered.
	want[1] = filled(len(frames[1]))
	shuf := append([]sent(nil), pkts[1]...)
	rng.Shuffle(len(shuf), func(i, j int) { shuf[i], shuf[j] = shuf[j], shuf[i] })
	held := -1
	for i, s := range shuf {
		if !s.pk.Marker && held < 0 {
			held = i
			continue
		}
		apply(want[1], frames[1], f, s.pk)
	}
	dups := 0
	var late sent
	for i, s := range shuf {
		if i == held {
			late = s
			continue
		}
		order = append(order, s)
		if i%5 == 0 && !s.pk.Marker {
			order = append(order, s)
			dups++
		}
	}
	// The last marker of frame 1 must come last, or packets after it are late.
	lastMarker := -1
	for i := len(order) - 1; i >= 0; i-- {
		if order[i].pk.Marker && order[i].pk.Field == f.Scan.Fields()-1 {
			lastMarker = i
			break
		}
	}
	mk := order[lastMarker]
	order = append(append(order[:lastMarker:lastMarker], order[lastMarker+1:]...), mk)
	lateN := 0
	if held >= 0 { // not when every packet carries a marker
		order = append(order, late)
		lateN = 1
	}

	// Frame 2: lose every 7th packet and the last one (the last marker).
	want[2] = filled(len(frames[2]))
	lost2 := 0
	for i, s := range pkts[2] {
		if i%7 == 3 || i == len(pkts[2])-1 {
			lost2++
			continue
		}
		apply(want[2], frames[2], f, s.pk)
		order = append(order, s)
	}

	// Frame 3: in order.
	order = append(order, pkts[3]...)
	want[3] = append([]byte(nil), frames[3]...)

	for _, s := range order {
		r.d.Push(s.b)
	}
	if len(r.frames) != 4 {
		t.Fatalf("%d frames delivered, want 4", len(r.frames))
	}
	n := len(pkts[0])
	for i := range 4 {
		if string(r.frames[i]) != string(want[i]) {
			t.Errorf("frame %d differs from what its packets carry (first at %d)", i, firstDiff(r.frames[i], want[i]))
		}
	}
	st := r.stats
	if !st[0].Complete || !st[0].Marker || st[0].Packets != n || st[0].Lost != 0 {
		t.Errorf("frame 0 stats %+v", st[0])
	}
	if st[1].Complete != (lateN == 0) || !st[1].Marker || st[1].Duplicates != dups || st[1].Packets != n-lateN {
		t.Errorf("frame 1 stats %+v, want %d duplicates, %d packets", st[1], dups, n-lateN)
	}
	if st[2].Complete || st[2].Marker || st[2].Packets != n-lost2 {
		t.Errorf("frame 2 stats %+v, want no marker, %d packets", st[2], n-lost2)
	}
	if !st[3].Complete || !st[3].Marker {
		t.Errorf("frame 3 stats %+v", st[3])
	}
	s := r.d.Stats()
	// The late packet stays lost: its data reached no frame.
	if s.Frames != 4 || s.Complete != uint64(3-lateN) || s.Late != uint64(lateN) || s.Duplicates != uint64(dups) || s.Lost != uint64(lost2+lateN) ||
		s.MissedMarkers != 1 || s.BadRows != 0 || s.Malformed != 0 || s.Packets != uint64(len(order)) {
		t.Errorf("stats %+v; want 4 frames, %d complete, %d late, %d duplicates, %d lost, 1 missed marker",
			s, 3-lateN, lateN, dups, lost2+lateN)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
