package video

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestPgroupGolden pins the pgroup table of ref/st2110.md section 1.3
// (octets / pixels covered), which the rule in PgroupOf must reproduce.
func TestPgroupGolden(t *testing.T) {
	type cell struct{ size, pixels int }
	table := []struct {
		s      Sampling
		byBits [4]cell // 8, 10, 12, 16
	}{
		{YCbCr422, [4]cell{{4, 2}, {5, 2}, {6, 2}, {8, 2}}},
		{YCbCr444, [4]cell{{3, 1}, {15, 4}, {9, 2}, {6, 1}}},
		{RGB, [4]cell{{3, 1}, {15, 4}, {9, 2}, {6, 1}}},
		{BGR, [4]cell{{3, 1}, {15, 4}, {9, 2}, {6, 1}}},
		{YCbCr420, [4]cell{{6, 4}, {15, 8}, {9, 4}, {12, 4}}},
		{RGBA, [4]cell{{4, 1}, {5, 1}, {6, 1}, {8, 1}}},
		{BGRA, [4]cell{{4, 1}, {5, 1}, {6, 1}, {8, 1}}},
		{YCbCr411, [4]cell{{6, 4}, {15, 8}, {9, 4}, {12, 4}}},
		// Not in the reference table; by the same rule (one sample per pixel).
		{KEY, [4]cell{{1, 1}, {5, 4}, {3, 2}, {2, 1}}},
	}
	for _, row := range table {
		for i, d := range []Depth{Depth8, Depth10, Depth12, Depth16} {
			pg, ok := PgroupOf(row.s, d)
			if !ok || pg.Size != row.byBits[i].size || pg.Pixels() != row.byBits[i].pixels {
				t.Errorf("%v %v: pgroup %d/%d ok=%v, want %d/%d", row.s, d, pg.Size, pg.Pixels(), ok,
					row.byBits[i].size, row.byBits[i].pixels)
			}
		}
	}
	// 16f packs like 16.
	if a, b := (&Format{Sampling: RGB, Depth: Depth16f}).Pgroup(), (&Format{Sampling: RGB, Depth: Depth16}).Pgroup(); a != b {
		t.Errorf("RGB 16f pgroup %+v, 16-bit %+v", a, b)
	}
	// 4:2:0 pgroups span two lines.
	if pg, _ := PgroupOf(YCbCr420, Depth10); pg.Width != 4 || pg.Height != 2 {
		t.Errorf("4:2:0 10-bit pgroup covers %dx%d, want 4x2", pg.Width, pg.Height)
	}
}

// TestLineAndFrameBytesGolden pins bytes per line (ref section 1.3) and the
// 1080p 4:2:2 10-bit frame size of ref/interop.md.
func TestLineAndFrameBytesGolden(t *testing.T) {
	for _, c := range []struct{ w, line int }{{1920, 4800}, {1280, 3200}, {3840, 9600}} {
		f := Format{Sampling: YCbCr422, Depth: Depth10, Width: c.w, Height: 720, Scan: Progressive}
		if got := f.RowBytes(); got != c.line {
			t.Errorf("%d pixels: %d octets per line, want %d", c.w, got, c.line)
		}
	}
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive}
	if got := f.FrameSize(); got != 5184000 {
		t.Errorf("1080p 4:2:2 10-bit frame %d octets, want 5184000", got)
	}
	f.Sampling, f.Depth = YCbCr420, Depth8
	if got := f.FrameSize(); got != 1920*1080*3/2 {
		t.Errorf("1080p 4:2:0 8-bit frame %d octets, want %d", got, 1920*1080*3/2)
	}
}

func TestValidate(t *testing.T) {
	good := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate59_94}
	if err := good.Validate(); err != nil {
		t.Fatalf("1080p59.94: %v", err)
	}
	bad := []struct {
		mod  func(*Format)
		want string
	}{
		{func(f *Format) { f.Sampling = 0 }, "invalid sampling"},
		{func(f *Format) { f.Depth = 9 }, "invalid depth Depth(9)"},
		{func(f *Format) { f.Scan = 0 }, "scan not set"},
		{func(f *Format) { f.Width = 0 }, "width 0 out of range"},
		{func(f *Format) { f.Height = 40000 }, "height 40000 out of range"},
		{func(f *Format) { f.Width = 1921 }, "width 1921 is not a whole number of YCbCr-4:2:2 10-bit pgroups"},
		{func(f *Format) { f.Sampling, f.Width = YCbCr444, 1922 }, "width 1922 is not a whole number of YCbCr-4:4:4 10-bit pgroups (4 pixels each)"},
		{func(f *Format) { f.Sampling, f.Height = YCbCr420, 1081 }, "height 1081 of progressive YCbCr-4:2:0 is not a multiple of 2"},
		{func(f *Format) { f.Scan, f.Height = Interlaced, 1081 }, "height 1081 of interlaced YCbCr-4:2:2 is not a multiple of 2"},
		{func(f *Format) { f.Sampling, f.Scan, f.Height = YCbCr420, Interlaced, 1082 }, "not a multiple of 4"},
		{func(f *Format) { f.Sampling, f.Depth = RGBA, Depth16f }, "depth 16f not allowed for RGBA"},
		{func(f *Format) { f.Sampling, f.Colorimetry = ICtCp422, BT709 }, "sampling ICtCp-4:2:2 needs colorimetry BT2100, not BT709"},
		{func(f *Format) { f.Sampling, f.Colorimetry = CLYCbCr444, BT709 }, "needs colorimetry BT2020 or BT2100"},
		{func(f *Format) { f.Sampling, f.Colorimetry = XYZ, BT709 }, "sampling XYZ needs colorimetry XYZ"},
		{func(f *Format) { f.Colorimetry, f.Range = BT2100, FullProtect }, "FULLPROTECT not allowed with colorimetry BT2100"},
		{func(f *Format) { f.Rate = Rate{25, 0} }, "frame rate 25/0"},
		{func(f *Format) { f.Rate = Rate{1001, 1} }, "frame rate 1001: want 1/1000 to 1000 pictures per second"},
		{func(f *Format) { f.Rate = Rate{1, 1001} }, "frame rate 1/1001: want"},
		{func(f *Format) { f.Rate = Rate{1, 4294967295} }, "frame rate 1/4294967295: want"},
		{func(f *Format) { f.PAR = [2]int{4, 0} }, "pixel aspect ratio 4:0"},
		{func(f *Format) { f.TCS = 99 }, "invalid TCS"},
	}
	for _, c := range bad {
		f := good
		c.mod(&f)
		err := f.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", f, err, c.want)
		}
	}
	// Combinations that are allowed.
	for _, f := range []Format{
		{Sampling: ICtCp444, Depth: Depth12, Width: 3840, Height: 2160, Scan: Progressive, Colorimetry: BT2100, Range: Full},
		{Sampling: RGB, Depth: Depth16f, Width: 1920, Height: 1080, Scan: PsF, Colorimetry: ST2065_1},
		{Sampling: YCbCr420, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive},
		{Sampling: YCbCr411, Depth: Depth8, Width: 720, Height: 480, Scan: Interlaced, Rate: Rate29_97},
		{Sampling: KEY, Depth: Depth10, Width: 1280, Height: 720, Scan: Progressive},
	} {
		if err := f.Validate(); err != nil {
			t.Errorf("%v: %v", f, err)
		}
	}
}

func TestEnumStrings(t *testing.T) {
	for s := Sampling(1); s < numSampling; s++ {
		if got, err := ParseSampling(s.String()); err != nil || got != s {
			t.Errorf("sampling %v: parsed %v, %v", s, got, err)
		}
	}
	for _, d := range []Depth{Depth8, Depth10, Depth12, Depth16, Depth16f} {
		if got, err := ParseDepth(d.String()); err != nil || got != d {
			t.Errorf("depth %v: parsed %v, %v", d, got, err)
		}
	}
	for c := Colorimetry(1); c < numColorimetry; c++ {
		if got, err := ParseColorimetry(c.String()); err != nil || got != c {
			t.Errorf("colorimetry %v: parsed %v, %v", c, got, err)
		}
	}
	for c := TCS(1); c < numTCS; c++ {
		if got, err := ParseTCS(c.String()); err != nil || got != c {
			t.Errorf("TCS %v: parsed %v, %v", c, got, err)
		}
	}
	for r := Narrow; r <= Full; r++ {
		if got, err := ParseRange(r.String()); err != nil || got != r {
			t.Errorf("range %v: parsed %v, %v", r, got, err)
		}
	}
	if Sampling(0).String() != "Sampling(0)" || Depth(9).String() != "Depth(9)" || Scan(0).String() != "Scan(0)" {
		t.Error("invalid enum values must print as such")
	}
	if c, _ := ParseColorimetry("BT709-2"); c != BT709 {
		t.Errorf("GStreamer's BT709-2 parsed as %v", c)
	}
	if _, err := ParseSampling("YCbCr-4:2:1"); err == nil {
		t.Error("unknown sampling parsed")
	}
}

// A frame an int cannot hold is refused by Validate, naming its size: the
// 6.4 GB of a 32767x32767 4:4:4 16-bit frame in a 32-bit program, where
// FrameSize once wrapped and a receiver made a buffer of the wrapped size.
// A 64-bit program takes the format.
func TestValidateFrameFitsInt(t *testing.T) {
	f := Format{Sampling: YCbCr444, Depth: Depth16, Width: MaxDimension, Height: MaxDimension, Scan: Progressive}
	const size = int64(MaxDimension) * MaxDimension * 6
	err := f.Validate()
	if size > math.MaxInt {
		if err == nil || !strings.Contains(err.Error(), strconv.FormatInt(size, 10)+" octets") {
			t.Errorf("%v in a %d-bit program: error %v, want one naming %d octets", f, strconv.IntSize, err, size)
		}
		return
	}
	if err != nil {
		t.Fatalf("%v: %v", f, err)
	}
	if got := int64(f.FrameSize()); got != size {
		t.Errorf("%v: FrameSize %d, want %d", f, got, size)
	}
}

// Every format Validate takes has a FrameSize that is its true size, in a
// 32-bit program too: a 32764x16384 4:2:0 16-bit frame is 1.6 GB, which an
// int holds, but FrameSize once multiplied a row by all the lines before
// dividing by the pgroup's two, and 3.2 GB wrapped to a negative size
// (a slice of which panics).
func TestFrameSizeOfValidFormats(t *testing.T) {
	for s := Sampling(1); s < numSampling; s++ {
		for _, d := range []Depth{Depth8, Depth10, Depth12, Depth16, Depth16f} {
			pg, _ := PgroupOf(s, d)
			w := MaxDimension / pg.Width * pg.Width
			for _, h := range []int{MaxDimension / 4 * 4, 16384, 11000, 8192, 4} {
				f := Format{Sampling: s, Depth: d, Width: w, Height: h, Scan: Progressive}
				if f.Validate() != nil {
					continue
				}
				want := int64(f.RowBytes()) * int64(h/pg.Height)
				if got := f.FrameSize(); int64(got) != want {
					t.Errorf("%v: FrameSize %d, want %d", f, got, want)
				}
			}
		}
	}
}
