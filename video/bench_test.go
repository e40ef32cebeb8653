package video

import (
	"encoding/binary"
	"testing"
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
			dataAt = append(dataAt, 14+6*len(s.pk.SRDs))
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

// BenchmarkConvert converts one 1080p 4:2:2 10-bit frame between pgroups
// and yuv422p10le; "copy" copies the 5,184,000 pgroup octets.
func BenchmarkConvert(b *testing.B) {
	f := bench1080p
	src := randomFrame(&f, 1)
	n, err := PlanarSize(&f, YUV422P10LE)
	if err != nil {
		b.Fatal(err)
	}
	planar := make([]byte, n)
	dst := make([]byte, len(src))
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			copy(dst, src)
		}
	})
	b.Run("unpack-yuv422p10le", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			if err := Unpack(planar, YUV422P10LE, src, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pack-yuv422p10le", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			if err := Pack(dst, &f, planar, YUV422P10LE); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unpack-generic-yuv422p10le", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		for b.Loop() {
			unpackGeneric(planar, YUV422P10LE, src, &f)
		}
	})
}
