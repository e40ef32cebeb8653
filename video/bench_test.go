package video

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The benchmarks move one 1080p59.94 4:2:2 10-bit frame (5,184,000 octets)
// per op, so MB/s compare directly with the "copy" sub-benchmark, which
// moves the same octets in the same chunks between the same buffers with
// copy() alone.

var bench1080p = Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate59_94}

// slotRing stands in for a netmap TX ring: 1024 slots of 2048 octets.
type slotRing struct {
	buf  []byte
	next int
}

const slots, slotSize = 1024, 2048

func newSlotRing() *slotRing { return &slotRing{buf: make([]byte, slots*slotSize)} }

func (r *slotRing) slot() []byte {
	s := r.buf[r.next*slotSize : (r.next+1)*slotSize]
	if r.next++; r.next == slots {
		r.next = 0
	}
	return s
}

func BenchmarkPacketize(b *testing.B) {
	f := bench1080p
	frame := randomFrame(&f, 1)
	b.Run("copy", func(b *testing.B) {
		// The sample-data copies of GPM single-line packing: 4320 chunks of
		// 1200 octets, each to offset 20 of the next slot.
		ring := newSlotRing()
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			for off := 0; off < len(frame); off += 1200 {
				copy(ring.slot()[20:], frame[off:off+1200])
			}
		}
		b.ReportMetric(float64(b.N)*4320/b.Elapsed().Seconds(), "pkts/s")
	})
	tmpl := hostileTemplate(b)
	for _, c := range []struct {
		name string
		cfg  PacketizerConfig
	}{
		{"GPM", PacketizerConfig{}},
		{"GPM-continuous", PacketizerConfig{Continuous: true}},
		{"BPM", PacketizerConfig{Packing: BPM}},
		{"GPM-template", PacketizerConfig{Template: tmpl}},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := mustPacketizer(b, f, &c.cfg)
			ring := newSlotRing()
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			var tai int64
			for b.Loop() {
				if err := p.Frame(frame, tai); err != nil {
					b.Fatal(err)
				}
				tai += 16683333
				for {
					if _, err := p.Next(ring.slot()); err != nil {
						break
					}
				}
			}
			b.ReportMetric(float64(b.N)*float64(p.PacketsPerFrame())/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

func BenchmarkDepacketize(b *testing.B) {
	f := bench1080p
	for _, c := range []struct {
		name string
		cfg  PacketizerConfig
	}{
		{"GPM", PacketizerConfig{}},
		{"BPM", PacketizerConfig{Packing: BPM}},
	} {
		p := mustPacketizer(b, f, &c.cfg)
		// One frame of packets, replayed: each op rewrites every packet's
		// sequence number and timestamp in place (as a new frame would bring
		// them), in the copy baseline too.
		var pkts [][]byte
		var dataAt []int // where each packet's sample data starts
		for _, s := range packetize(b, p, randomFrame(&f, 1), 0) {
			pkts = append(pkts, s.b)
			dataAt = append(dataAt, 14+6*len(s.pk.Segments))
		}
		per := len(pkts)
		dst := make([]byte, f.FrameSize())
		b.Run(c.name+"/copy", func(b *testing.B) {
			// The sample-data copies alone: each packet's data to its place.
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			var seq uint16
			var ts uint32
			for b.Loop() {
				off := 0
				ts += 1501
				for j, pk := range pkts {
					binary.BigEndian.PutUint16(pk[2:], seq)
					binary.BigEndian.PutUint32(pk[4:], ts)
					seq++
					off += copy(dst[off:], pk[dataAt[j]:])
				}
			}
			b.ReportMetric(float64(b.N)*float64(per)/b.Elapsed().Seconds(), "pkts/s")
		})
		b.Run(c.name, func(b *testing.B) {
			frames := 0
			d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: func(buf []byte, st *FrameStats) []byte {
				frames++
				return buf
			}})
			if err != nil {
				b.Fatal(err)
			}
			if err := d.SetBuffer(dst); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			var seq uint16
			var ts uint32
			for b.Loop() {
				ts += 1501
				for _, pk := range pkts {
					binary.BigEndian.PutUint16(pk[2:], seq)
					binary.BigEndian.PutUint32(pk[4:], ts)
					seq++
					d.Push(pk)
				}
			}
			if s := d.Stats(); frames != b.N || s.Complete != uint64(b.N) {
				b.Fatalf("%d frames, stats %+v for %d ops", frames, s, b.N)
			}
			b.ReportMetric(float64(b.N)*float64(per)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// convBenches are the conversions BenchmarkConvert times: each 1080p
// frame and pixel format FFmpeg converts too (test/convbench/run measures
// both side by side), with the names of the frame files the script makes
// with FFmpeg.
var convBenches = []struct {
	name                   string
	f                      Format
	p                      PixelFormat
	pgroupFile, planarFile string
}{
	{"yuv422p10le", bench1080p, YUV422P10LE, "f.pgroup10", "f.yuv422p10le"},
	{"yuv422p", Format{Sampling: YCbCr422, Depth: Depth8, Width: 1920, Height: 1080, Scan: Progressive}, YUV422P, "f.uyvy422", "f.yuv422p"},
	{"gbrp", Format{Sampling: RGB, Depth: Depth8, Width: 1920, Height: 1080, Scan: Progressive}, GBRP, "f.rgb24", "f.gbrp"},
}

// BenchmarkConvert converts one 1080p frame between pgroups and a planar
// pixel format per op: "unpack" from pgroups, "pack" to them, and "copy"
// copies the pgroup frame's octets between two buffers (MB/s count pgroup
// octets in every row). Besides ns/op (the mean), it reports the median
// of the ops' times as med-µs/frame, the figure test/convbench/run sets
// beside FFmpeg's per-frame medians.
//
// With NMTEST_CONVBENCH_FRAMES set to a directory of FFmpeg's frames (the
// script makes them), it converts those and first checks that the results
// are FFmpeg's, octet for octet; otherwise random frames.
func BenchmarkConvert(b *testing.B) {
	dir := os.Getenv("NMTEST_CONVBENCH_FRAMES")
	for _, c := range convBenches {
		f := c.f
		src := randomFrame(&f, 1)
		n, err := PlanarSize(&f, c.p)
		if err != nil {
			b.Fatal(err)
		}
		planar := make([]byte, n)
		if err := Unpack(planar, src, &f, c.p); err != nil {
			b.Fatal(err)
		}
		dst := make([]byte, len(src))
		if dir != "" {
			src = readFile(b, filepath.Join(dir, c.pgroupFile))
			want := readFile(b, filepath.Join(dir, c.planarFile))
			if err := Unpack(planar, src, &f, c.p); err != nil {
				b.Fatal(err)
			}
			if len(src) != f.FrameSize() || string(planar) != string(want) {
				b.Fatalf("%s: %d octets; Unpack differs from FFmpeg's frame at %d", c.name, len(src), firstDiff(planar, want))
			}
			if err := Pack(dst, want, &f, c.p); err != nil {
				b.Fatal(err)
			}
			if string(dst) != string(src) {
				b.Fatalf("%s: Pack differs from FFmpeg's frame at %d", c.name, firstDiff(dst, src))
			}
		}
		b.Run(c.name+"/copy", func(b *testing.B) {
			timeFrames(b, len(src), func() { copy(dst, src) })
		})
		b.Run(c.name+"/unpack", func(b *testing.B) {
			timeFrames(b, len(src), func() {
				if err := Unpack(planar, src, &f, c.p); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(c.name+"/pack", func(b *testing.B) {
			timeFrames(b, len(src), func() {
				if err := Pack(dst, planar, &f, c.p); err != nil {
					b.Fatal(err)
				}
			})
		})
		if c.p == YUV422P10LE {
			b.Run(c.name+"/unpack-generic", func(b *testing.B) {
				timeFrames(b, len(src), func() { unpackGeneric(planar, c.p, src, &f) })
			})
		}
	}
}

// timeFrames runs op once per benchmark iteration and reports, besides
// the mean, the median and the shortest time of one op (of the first 1<<16
// ops).
func timeFrames(b *testing.B, bytes int, op func()) {
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	ts := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		t0 := time.Now()
		op()
		if len(ts) < cap(ts) {
			ts = append(ts, time.Since(t0))
		}
	}
	slices.Sort(ts)
	b.ReportMetric(float64(ts[len(ts)/2])/1e3, "med-µs/frame")
	b.ReportMetric(float64(ts[0])/1e3, "min-µs/frame")
}
