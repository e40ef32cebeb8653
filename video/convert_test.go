package video

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestUnpackFFmpeg compares Unpack with FFmpeg's own conversion of the same
// frames (testdata/README.md) and Pack with the way back.
func TestUnpackFFmpeg(t *testing.T) {
	for _, c := range []struct {
		pgroups, planar string
		f               Format
		p               PixelFormat
	}{
		{"testdata/ff10.uyvp", "testdata/ff10.yuv422p10le", Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 16, Scan: Progressive}, YUV422P10LE},
		{"testdata/ff8.uyvy", "testdata/ff8.yuv422p", Format{Sampling: YCbCr422, Depth: Depth8, Width: 64, Height: 16, Scan: Progressive}, YUV422P},
		{"testdata/ff8.uyvy", "testdata/ff8.uyvy", Format{Sampling: YCbCr422, Depth: Depth8, Width: 64, Height: 16, Scan: Progressive}, UYVY422},
	} {
		pgroups, planar := readFile(t, c.pgroups), readFile(t, c.planar)
		fs := c.f.FrameSize()
		ps, err := PlanarSize(&c.f, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if len(pgroups) != 2*fs || len(planar) != 2*ps {
			t.Fatalf("%s %d octets, %s %d; want 2 frames of %d and %d", c.pgroups, len(pgroups), c.planar, len(planar), fs, ps)
		}
		for i := range 2 {
			got := make([]byte, ps)
			if err := Unpack(got, pgroups[i*fs:], &c.f, c.p); err != nil {
				t.Fatal(err)
			}
			if string(got) != string(planar[i*ps:(i+1)*ps]) {
				t.Errorf("%v frame %d: Unpack differs from FFmpeg at %d", c.p, i, firstDiff(got, planar[i*ps:]))
			}
			back := make([]byte, fs)
			if err := Pack(back, planar[i*ps:], &c.f, c.p); err != nil {
				t.Fatal(err)
			}
			if string(back) != string(pgroups[i*fs:(i+1)*fs]) {
				t.Errorf("%v frame %d: Pack differs at %d", c.p, i, firstDiff(back, pgroups[i*fs:]))
			}
		}
	}
}

// TestGStreamer420 depacketizes GStreamer's 4:2:0 8-bit packets and checks
// the frames, unpacked to yuv420p, against the I420 frames it was given:
// line numbering, pgroup order (Y00 Y01 Y10 Y11 Cb Cr) and conversion.
func TestGStreamer420(t *testing.T) {
	f := Format{Sampling: YCbCr420, Depth: Depth8, Width: 64, Height: 16, Scan: Progressive}
	want := readFile(t, "testdata/gst420.i420")
	r := newReceiver(t, &f, 96)
	for _, p := range readRecords(t, "testdata/gst420.rtp") {
		r.d.Push(p)
	}
	ps, _ := PlanarSize(&f, YUV420P)
	if len(r.frames) != 2 || len(want) != 2*ps {
		t.Fatalf("%d frames, %d octets of source", len(r.frames), len(want))
	}
	for i, fr := range r.frames {
		got := make([]byte, ps)
		if err := Unpack(got, fr, &f, YUV420P); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want[i*ps:(i+1)*ps]) || !r.stats[i].Complete {
			t.Errorf("frame %d differs from GStreamer's source at %d (stats %+v)", i, firstDiff(got, want[i*ps:]), r.stats[i])
		}
	}
}

// TestPgroup422p10Layout pins the bit layout of ref/st2110.md section 1.4.
func TestPgroup422p10Layout(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 2, Height: 1, Scan: Progressive}
	cb, y0, cr, y1 := uint16(0x201), uint16(0x0ab), uint16(0x3c5), uint16(0x155)
	pg := []byte{byte(cb >> 2), byte(cb&3)<<6 | byte(y0>>4), byte(y0&0xf)<<4 | byte(cr>>6), byte(cr&0x3f)<<2 | byte(y1>>8), byte(y1)}
	planar := make([]byte, 8)
	if err := Unpack(planar, pg, &f, YUV422P10LE); err != nil {
		t.Fatal(err)
	}
	le := func(i int) uint16 { return binary.LittleEndian.Uint16(planar[2*i:]) }
	if le(0) != y0 || le(1) != y1 || le(2) != cb || le(3) != cr {
		t.Errorf("Y %#x %#x Cb %#x Cr %#x, want %#x %#x %#x %#x", le(0), le(1), le(2), le(3), y0, y1, cb, cr)
	}
	generic := make([]byte, 8)
	unpackGeneric(generic, YUV422P10LE, pg, &f)
	if string(generic) != string(planar) {
		t.Errorf("generic path % x, fast path % x", generic, planar)
	}
}

// convPairs returns every format of allFormats with every pixel format it
// converts to.
func convPairs() (fs []Format, ps []PixelFormat) {
	for _, f := range allFormats() {
		for p := PixelFormat(1); p < numPixelFormat; p++ {
			if checkConvert(&f, p) == nil {
				fs, ps = append(fs, f), append(ps, p)
			}
		}
	}
	return fs, ps
}

// TestConvertRoundTrip: pgroups -> planar -> pgroups is the identity for
// every pair, and so is planar -> pgroups -> planar for samples within the
// depth; the 4:2:2 10-bit fast paths agree with the generic ones.
func TestConvertRoundTrip(t *testing.T) {
	fs, ps := convPairs()
	if len(fs) < 60 {
		t.Fatalf("only %d format/pixel format pairs", len(fs))
	}
	seen := map[PixelFormat]bool{}
	for i := range fs {
		f, p := fs[i], ps[i]
		seen[p] = true
		src := randomFrame(&f, uint64(i))
		n, err := PlanarSize(&f, p)
		if err != nil {
			t.Fatal(err)
		}
		planar := make([]byte, n)
		if err := Unpack(planar, src, &f, p); err != nil {
			t.Fatalf("%v -> %v: %v", f, p, err)
		}
		back := make([]byte, len(src))
		if err := Pack(back, planar, &f, p); err != nil {
			t.Fatal(err)
		}
		if string(back) != string(src) {
			t.Errorf("%v -> %v -> pgroups differs at %d", f, p, firstDiff(back, src))
		}
		// planar samples within the depth survive the other way round
		rng := rand.New(rand.NewPCG(uint64(i), 9))
		if pixFmts[p].bits > 8 {
			for j := 0; j+1 < len(planar); j += 2 {
				binary.LittleEndian.PutUint16(planar[j:], uint16(rng.UintN(1<<pixFmts[p].bits)))
			}
		} else {
			for j := range planar {
				planar[j] = byte(rng.Uint32())
			}
		}
		if err := Pack(back, planar, &f, p); err != nil {
			t.Fatal(err)
		}
		again := make([]byte, n)
		if err := Unpack(again, back, &f, p); err != nil {
			t.Fatal(err)
		}
		if string(again) != string(planar) {
			t.Errorf("%v: %v -> pgroups -> planar differs at %d", f, p, firstDiff(again, planar))
		}
		if p == YUV422P10LE {
			gen := make([]byte, n)
			unpackGeneric(gen, p, back, &f)
			genBack := make([]byte, len(back))
			packGeneric(genBack, &f, planar, p)
			if string(gen) != string(again) || string(genBack) != string(back) {
				t.Errorf("%v: fast and generic 4:2:2 10-bit paths disagree", f)
			}
		}
	}
	for p := PixelFormat(1); p < numPixelFormat; p++ {
		if !seen[p] {
			t.Errorf("pixel format %v never converted", p)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 16, Scan: Progressive}
	for _, p := range []PixelFormat{0, YUV422P, YUV444P10LE, GBRP10LE, numPixelFormat} {
		if err := Unpack(make([]byte, 1<<16), make([]byte, 1<<16), &f, p); err == nil {
			t.Errorf("4:2:2 10-bit to %v accepted", p)
		}
	}
	if err := Unpack(make([]byte, 10), make([]byte, f.FrameSize()), &f, YUV422P10LE); err == nil {
		t.Error("short destination accepted")
	}
	g := Format{Sampling: YCbCr420, Depth: Depth8, Width: 64, Height: 16, Scan: Interlaced, Rate: Rate25}
	if _, err := PlanarSize(&g, YUV420P); err == nil {
		t.Error("interlaced 4:2:0 conversion accepted")
	}
	for _, c := range []struct {
		f    Format
		want PixelFormat
	}{
		{f, YUV422P10LE},
		{Format{Sampling: RGB, Depth: Depth12, Width: 2, Height: 2, Scan: Progressive}, GBRP12LE},
		{Format{Sampling: KEY, Depth: Depth10, Width: 4, Height: 2, Scan: Progressive}, GRAY10LE},
		{Format{Sampling: RGBA, Depth: Depth8, Width: 4, Height: 2, Scan: Progressive}, RGBA32},
		{Format{Sampling: YCbCr420, Depth: Depth16, Width: 4, Height: 2, Scan: Progressive}, YUV420P16LE},
	} {
		if got, err := PixelFormatFor(&c.f); got != c.want || err != nil {
			t.Errorf("PixelFormatFor(%v) = %v, %v; want %v", c.f, got, err, c.want)
		}
		if p, err := ParsePixelFormat(c.want.String()); p != c.want || err != nil {
			t.Errorf("ParsePixelFormat(%q) = %v, %v", c.want.String(), p, err)
		}
	}
}

// TestConvertAllocs: no conversion allocates, fast paths (one of each,
// with the vector kernels on amd64) and the generic one.
func TestConvertAllocs(t *testing.T) {
	for _, c := range []struct {
		s Sampling
		d Depth
		p PixelFormat
	}{
		{YCbCr422, Depth10, YUV422P10LE},
		{YCbCr422, Depth8, YUV422P},
		{YCbCr422, Depth8, UYVY422},
		{RGB, Depth8, GBRP},
		{RGB, Depth12, GBRP12LE}, // generic
	} {
		f := Format{Sampling: c.s, Depth: c.d, Width: 192, Height: 10, Scan: Progressive}
		src := randomFrame(&f, 1)
		n, _ := PlanarSize(&f, c.p)
		planar := make([]byte, n)
		if a := testing.AllocsPerRun(100, func() {
			if err := Unpack(planar, src, &f, c.p); err != nil {
				t.Fatal(err)
			}
			if err := Pack(src, planar, &f, c.p); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v %v to %v: %v allocations", c.s, c.d, c.p, a)
		}
	}
}

// convSizes are the frame sizes TestConvertFastPaths tries for a format:
// widths that end inside and at the edge of every unrolled turn and vector
// block, odd heights, and one HD row.
func convSizes(f Format) (out []Format) {
	pg := f.Pgroup()
	for _, groups := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 960} {
		for _, h := range []int{1, 2, 3, 5} {
			g := f
			g.Width, g.Height = groups*pg.Width, h*pg.Height
			if g.Validate() == nil {
				out = append(out, g)
			}
		}
	}
	return out
}

// TestConvertFastPaths holds every conversion to the generic, pgroup by
// pgroup path (itself checked against FFmpeg and GStreamer above) over
// random frames of many sizes, both ways; planar input has random octets,
// so Pack's truncation of out-of-depth values is compared too. It also pins
// which pairs take a fast path, so that one quietly falling back to the
// generic path fails here.
func TestConvertFastPaths(t *testing.T) {
	wantFast := map[[3]int]int{ // sampling, depth bits, pixel format
		{int(YCbCr422), 10, int(YUV422P10LE)}: fast422p10,
		{int(YCbCr422), 8, int(YUV422P)}:      fast422p8,
		{int(YCbCr422), 8, int(UYVY422)}:      fastCopy,
		{int(RGB), 8, int(GBRP)}:              fast3x8,
		{int(BGR), 8, int(GBRP)}:              fast3x8,
		{int(RGB), 8, int(RGB24)}:             fastCopy,
		{int(BGR), 8, int(BGR24)}:             fastCopy,
		{int(YCbCr444), 8, int(YUV444P)}:      fast3x8,
		{int(RGBA), 8, int(RGBA32)}:           fastCopy,
		{int(KEY), 8, int(GRAY8)}:             fastCopy,
	}
	fs, ps := convPairs()
	seen := map[int]bool{}
	for i := range fs {
		f, p := fs[i], ps[i]
		if f.Scan == PsF {
			continue // same layout as progressive
		}
		c := newConvPlan(&f, p)
		kind, _ := c.fast(&f, p)
		seen[kind] = true
		if want, ok := wantFast[[3]int{int(f.Sampling), f.Depth.Bits(), int(p)}]; ok && kind != want {
			t.Errorf("%v to %v: fast path %d, want %d", f, p, kind, want)
		}
		if kind == fastNone {
			continue
		}
		for j, g := range convSizes(f) {
			src := randomFrame(&g, uint64(i*100+j))
			n, err := PlanarSize(&g, p)
			if err != nil {
				t.Fatal(err)
			}
			got, want := make([]byte, n), make([]byte, n)
			if err := Unpack(got, src, &g, p); err != nil {
				t.Fatal(err)
			}
			unpackGeneric(want, p, src, &g)
			if string(got) != string(want) {
				t.Fatalf("%v to %v: Unpack differs from the generic path at %d", g, p, firstDiff(got, want))
			}
			planar := make([]byte, n)
			rng := rand.New(rand.NewPCG(uint64(j), 3))
			for k := range planar {
				planar[k] = byte(rng.Uint32())
			}
			back, backWant := make([]byte, len(src)), make([]byte, len(src))
			if err := Pack(back, planar, &g, p); err != nil {
				t.Fatal(err)
			}
			packGeneric(backWant, &g, planar, p)
			if string(back) != string(backWant) {
				t.Fatalf("%v from %v: Pack differs from the generic path at %d", g, p, firstDiff(back, backWant))
			}
		}
	}
	for _, k := range []int{fastCopy, fast422p8, fast422p10, fast3x8} {
		if !seen[k] {
			t.Errorf("fast path %d never taken", k)
		}
	}
}

// TestConvertKernels holds the 8-bit kernels Unpack and Pack use (with
// the vector ones on amd64) and the pure-Go ones to byte-by-byte loops, at
// every length up to past two vector blocks and at unaligned buffer
// offsets, and checks that they write nothing past their outputs.
func TestConvertKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	type kernels struct {
		name       string
		group      int                                // octets of pgroups a run
		split      func(planes [3][]byte, src []byte) // to three planes
		merge      func(dst []byte, planes [3][]byte)
		planeLen   func(n int) [3]int // plane lengths for n pgroup octets
		naiveSplit func(planes [3][]byte, src []byte)
	}
	uyvyLen := func(n int) [3]int { return [3]int{n / 2, n / 4, n / 4} }
	naiveUYVY := func(p [3][]byte, src []byte) {
		for g := range len(src) / 4 {
			p[1][g], p[0][2*g], p[2][g], p[0][2*g+1] = src[4*g], src[4*g+1], src[4*g+2], src[4*g+3]
		}
	}
	threeLen := func(n int) [3]int { return [3]int{n / 3, n / 3, n / 3} }
	naiveThree := func(p [3][]byte, src []byte) {
		for i := range len(src) / 3 {
			p[0][i], p[1][i], p[2][i] = src[3*i], src[3*i+1], src[3*i+2]
		}
	}
	for _, k := range []kernels{
		{"UYVY", 4, func(p [3][]byte, s []byte) { unpackUYVY(p[0], p[1], p[2], s) }, func(d []byte, p [3][]byte) { packUYVY(d, p[0], p[1], p[2]) }, uyvyLen, naiveUYVY},
		{"UYVYGo", 4, func(p [3][]byte, s []byte) { unpackUYVYGo(p[0], p[1], p[2], s) }, func(d []byte, p [3][]byte) { packUYVYGo(d, p[0], p[1], p[2]) }, uyvyLen, naiveUYVY},
		{"interleave3", 3, func(p [3][]byte, s []byte) { deinterleave3(p[0], p[1], p[2], s) }, func(d []byte, p [3][]byte) { interleave3(d, p[0], p[1], p[2]) }, threeLen, naiveThree},
		{"interleave3Go", 3, func(p [3][]byte, s []byte) { deinterleave3Go(p[0], p[1], p[2], s) }, func(d []byte, p [3][]byte) { interleave3Go(d, p[0], p[1], p[2]) }, threeLen, naiveThree},
	} {
		const guard = 0x5a
		for runs := 0; runs <= 100; runs++ {
			for off := range 3 {
				n := k.group * runs
				src := make([]byte, off+n)[off:]
				for i := range src {
					src[i] = byte(rng.Uint32())
				}
				l := k.planeLen(n)
				var want [3][]byte
				for i := range want {
					want[i] = make([]byte, l[i])
				}
				k.naiveSplit(want, src)
				// The planes back to back in one buffer, followed by guard octets.
				buf := make([]byte, off+n+16)
				for i := range buf {
					buf[i] = guard
				}
				got := [3][]byte{buf[off : off+l[0]], buf[off+l[0] : off+l[0]+l[1]], buf[off+l[0]+l[1] : off+n]}
				k.split(got, src)
				for i := range got {
					if string(got[i]) != string(want[i]) {
						t.Fatalf("%s split, %d runs at offset %d: plane %d differs at %d", k.name, runs, off, i, firstDiff(got[i], want[i]))
					}
				}
				for _, c := range buf[off+n:] {
					if c != guard {
						t.Fatalf("%s split, %d runs: wrote past its planes", k.name, runs)
					}
				}
				for i := range buf {
					buf[i] = guard
				}
				k.merge(buf[off:off+n], want)
				if string(buf[off:off+n]) != string(src) {
					t.Fatalf("%s merge, %d runs at offset %d: differs at %d", k.name, runs, off, firstDiff(buf[off:off+n], src))
				}
				for _, c := range buf[off+n:] {
					if c != guard {
						t.Fatalf("%s merge, %d runs: wrote past dst", k.name, runs)
					}
				}
			}
		}
	}
}

// FuzzConvert converts fuzzer-chosen frames (frames come from the network
// and from files): a format and pixel format pair picked by the first two
// octets, its size by the next two, the rest as the frame. Unpack and Pack
// must never panic, must refuse a short frame, must agree with the generic
// path and must not write past the octets they own.
func FuzzConvert(f *testing.F) {
	fs, ps := convPairs()
	f.Add([]byte{0, 0, 3, 1, 1, 2, 3, 4, 5})
	for i := range fs {
		if p := ps[i]; p == YUV422P10LE || p == YUV422P || p == GBRP || p == UYVY422 {
			f.Add(append([]byte{byte(i >> 8), byte(i), 17, 2}, randomFrame(&fs[i], uint64(i))[:200]...))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 4 {
			return
		}
		i := int(binary.BigEndian.Uint16(b)) % len(fs)
		fm, p := fs[i], ps[i]
		pg := fm.Pgroup()
		fm.Width, fm.Height = pg.Width*(1+int(b[2])%40), pg.Height*(1+int(b[3])%6)
		data := b[4:]
		n, err := PlanarSize(&fm, p)
		if err != nil {
			if Unpack(make([]byte, 1<<16), data, &fm, p) == nil || Pack(make([]byte, 1<<16), data, &fm, p) == nil {
				t.Fatalf("%v to %v converted although PlanarSize says %v", fm, p, err)
			}
			return
		}
		const guard = 0xa5
		out := make([]byte, n+16)
		for j := range out {
			out[j] = guard
		}
		err = Unpack(out[:n], data, &fm, p)
		if (err == nil) != (len(data) >= fm.FrameSize()) {
			t.Fatalf("%v to %v, %d octets of %d: error %v", fm, p, len(data), fm.FrameSize(), err)
		}
		if err == nil {
			want := make([]byte, n)
			unpackGeneric(want, p, data, &fm)
			if string(out[:n]) != string(want) {
				t.Fatalf("%v to %v: Unpack differs from the generic path at %d", fm, p, firstDiff(out[:n], want))
			}
		}
		for _, c := range out[n:] {
			if c != guard {
				t.Fatalf("%v to %v: Unpack wrote past the frame", fm, p)
			}
		}
		fsz := fm.FrameSize()
		back := make([]byte, fsz+16)
		for j := range back {
			back[j] = guard
		}
		err = Pack(back[:fsz], data, &fm, p)
		if (err == nil) != (len(data) >= n) {
			t.Fatalf("%v from %v, %d octets of %d: error %v", fm, p, len(data), n, err)
		}
		if err == nil {
			want := make([]byte, fsz)
			packGeneric(want, &fm, data, p)
			if string(back[:fsz]) != string(want) {
				t.Fatalf("%v from %v: Pack differs from the generic path at %d", fm, p, firstDiff(back[:fsz], want))
			}
		}
		for _, c := range back[fsz:] {
			if c != guard {
				t.Fatalf("%v from %v: Pack wrote past the frame", fm, p)
			}
		}
	})
}

// A frame an int holds in wire layout may not fit in a planar pixel
// format, whose 10- and 12-bit samples take 16 bits: a 32764x32764 4:2:0
// 10-bit frame is 2.0 GB on the wire and 3.2 GB in yuv420p10le. In a
// 32-bit program PlanarSize once wrapped to a negative size, and Unpack
// and Pack sliced their buffers to it (a panic); they give an error.
func TestPlanarSizeFitsInt(t *testing.T) {
	f := Format{Sampling: YCbCr420, Depth: Depth10, Width: 32764, Height: 32764, Scan: Progressive}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	const want = int64(32764)*32764*2 + 2*int64(32764/2)*(32764/2)*2
	n, err := PlanarSize(&f, YUV420P10LE)
	if want > math.MaxInt {
		if err == nil || !strings.Contains(err.Error(), strconv.FormatInt(want, 10)+" octets") {
			t.Errorf("%v in a %d-bit program: PlanarSize %d, %v; want an error naming %d octets", f, strconv.IntSize, n, err, want)
		}
		// Unpack and Pack give PlanarSize's error (nil buffers would
		// fail their length checks anyway: the error must be this one).
		if err := Unpack(nil, nil, &f, YUV420P10LE); err == nil || !strings.Contains(err.Error(), "program can hold") {
			t.Errorf("Unpack: %v; want PlanarSize's error", err)
		}
		if err := Pack(nil, nil, &f, YUV420P10LE); err == nil || !strings.Contains(err.Error(), "program can hold") {
			t.Errorf("Pack: %v; want PlanarSize's error", err)
		}
		return
	}
	if err != nil || int64(n) != want {
		t.Errorf("%v: PlanarSize %d, %v; want %d", f, n, err, want)
	}
}
