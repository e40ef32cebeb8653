package video

import (
	"encoding/binary"
	"math/rand/v2"
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
			if err := Unpack(got, c.p, pgroups[i*fs:], &c.f); err != nil {
				t.Fatal(err)
			}
			if string(got) != string(planar[i*ps:(i+1)*ps]) {
				t.Errorf("%v frame %d: Unpack differs from FFmpeg at %d", c.p, i, firstDiff(got, planar[i*ps:]))
			}
			back := make([]byte, fs)
			if err := Pack(back, &c.f, planar[i*ps:], c.p); err != nil {
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
		if err := Unpack(got, YUV420P, fr, &f); err != nil {
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
	if err := Unpack(planar, YUV422P10LE, pg, &f); err != nil {
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
		if err := Unpack(planar, p, src, &f); err != nil {
			t.Fatalf("%v -> %v: %v", f, p, err)
		}
		back := make([]byte, len(src))
		if err := Pack(back, &f, planar, p); err != nil {
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
		if err := Pack(back, &f, planar, p); err != nil {
			t.Fatal(err)
		}
		again := make([]byte, n)
		if err := Unpack(again, p, back, &f); err != nil {
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
		if err := Unpack(make([]byte, 1<<16), p, make([]byte, 1<<16), &f); err == nil {
			t.Errorf("4:2:2 10-bit to %v accepted", p)
		}
	}
	if err := Unpack(make([]byte, 10), YUV422P10LE, make([]byte, f.FrameSize()), &f); err == nil {
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

func TestConvertAllocs(t *testing.T) {
	for _, c := range []struct {
		f Format
		p PixelFormat
	}{
		{Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 16, Scan: Progressive}, YUV422P10LE},
		{Format{Sampling: RGB, Depth: Depth12, Width: 64, Height: 16, Scan: Progressive}, GBRP12LE},
	} {
		src := randomFrame(&c.f, 1)
		n, _ := PlanarSize(&c.f, c.p)
		planar := make([]byte, n)
		if a := testing.AllocsPerRun(100, func() {
			if err := Unpack(planar, c.p, src, &c.f); err != nil {
				t.Fatal(err)
			}
			if err := Pack(src, &c.f, planar, c.p); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%v: %v allocations", c.p, a)
		}
	}
}
