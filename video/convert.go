package video

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PixelFormat is one of FFmpeg's raw pixel formats, named as its -pix_fmt
// option names them, laid out as "ffmpeg -f rawvideo" reads and writes
// frames: planes one after the other, rows without padding, samples of more
// than 8 bits in little-endian 16-bit words with the value in the low bits.
// The zero value is invalid.
type PixelFormat uint8

const (
	_ PixelFormat = iota
	YUV422P
	YUV422P10LE
	YUV422P12LE
	YUV422P16LE
	YUV444P
	YUV444P10LE
	YUV444P12LE
	YUV444P16LE
	YUV420P
	YUV420P10LE
	YUV420P12LE
	YUV420P16LE
	YUV411P
	UYVY422
	GBRP
	GBRP10LE
	GBRP12LE
	GBRP16LE
	RGB24
	BGR24
	RGB48LE
	RGBA32 // FFmpeg's "rgba"
	BGRA32 // FFmpeg's "bgra"
	GRAY8
	GRAY10LE
	GRAY12LE
	GRAY16LE
	numPixelFormat
)

// Semantic channels of a sample.
const (
	chY = iota // luma, I, or key
	chU        // Cb, Ct
	chV        // Cr, Cp
	chR
	chG
	chB
	chA
	numCh
)

// chanLayout places one channel in a pixel format: the plane, the
// subsampling shifts, the octets from one sample position to the next, and
// the octet offset inside a position.
type chanLayout struct {
	ok        bool
	plane     int
	xs, ys    int
	step, off int
}

type planeLayout struct {
	xs, ys, unit int // subsampling shifts; octets per position
}

type pixFmtInfo struct {
	name   string
	bits   int // 8, 10, 12 or 16
	family uint8
	planes []planeLayout
	ch     [numCh]chanLayout
}

// Families: which samplings a pixel format can hold.
const (
	fam422 = iota + 1
	fam444
	fam420
	fam411
	famRGB
	famRGBA
	famKey
)

var pixFmts [numPixelFormat]pixFmtInfo

func init() {
	yuv := func(pf PixelFormat, name string, bits int, fam uint8, xs, ys int) {
		u := 1
		if bits > 8 {
			u = 2
		}
		pixFmts[pf] = pixFmtInfo{name: name, bits: bits, family: fam,
			planes: []planeLayout{{0, 0, u}, {xs, ys, u}, {xs, ys, u}}}
		pixFmts[pf].ch[chY] = chanLayout{true, 0, 0, 0, u, 0}
		pixFmts[pf].ch[chU] = chanLayout{true, 1, xs, ys, u, 0}
		pixFmts[pf].ch[chV] = chanLayout{true, 2, xs, ys, u, 0}
	}
	for i, bits := range []int{8, 10, 12, 16} {
		suffix := [...]string{"", "10le", "12le", "16le"}[i]
		yuv(YUV422P+PixelFormat(i), "yuv422p"+suffix, bits, fam422, 1, 0)
		yuv(YUV444P+PixelFormat(i), "yuv444p"+suffix, bits, fam444, 0, 0)
		yuv(YUV420P+PixelFormat(i), "yuv420p"+suffix, bits, fam420, 1, 1)
		u := 1
		if bits > 8 {
			u = 2
		}
		g := &pixFmts[GBRP+PixelFormat(i)]
		*g = pixFmtInfo{name: "gbrp" + suffix, bits: bits, family: famRGB,
			planes: []planeLayout{{0, 0, u}, {0, 0, u}, {0, 0, u}}}
		g.ch[chG] = chanLayout{true, 0, 0, 0, u, 0}
		g.ch[chB] = chanLayout{true, 1, 0, 0, u, 0}
		g.ch[chR] = chanLayout{true, 2, 0, 0, u, 0}
		k := &pixFmts[GRAY8+PixelFormat(i)]
		*k = pixFmtInfo{name: "gray" + suffix, bits: bits, family: famKey, planes: []planeLayout{{0, 0, u}}}
		k.ch[chY] = chanLayout{true, 0, 0, 0, u, 0}
	}
	pixFmts[GRAY8].name = "gray"
	yuv(YUV411P, "yuv411p", 8, fam411, 2, 0)
	packed := func(pf PixelFormat, name string, bits int, fam uint8, order ...int) {
		u := 1
		if bits > 8 {
			u = 2
		}
		p := &pixFmts[pf]
		*p = pixFmtInfo{name: name, bits: bits, family: fam, planes: []planeLayout{{0, 0, u * len(order)}}}
		for i, c := range order {
			p.ch[c] = chanLayout{true, 0, 0, 0, u * len(order), u * i}
		}
	}
	packed(RGB24, "rgb24", 8, famRGB, chR, chG, chB)
	packed(BGR24, "bgr24", 8, famRGB, chB, chG, chR)
	packed(RGB48LE, "rgb48le", 16, famRGB, chR, chG, chB)
	packed(RGBA32, "rgba", 8, famRGBA, chR, chG, chB, chA)
	packed(BGRA32, "bgra", 8, famRGBA, chB, chG, chR, chA)
	u := &pixFmts[UYVY422]
	*u = pixFmtInfo{name: "uyvy422", bits: 8, family: fam422, planes: []planeLayout{{0, 0, 2}}}
	u.ch[chU] = chanLayout{true, 0, 1, 0, 4, 0}
	u.ch[chY] = chanLayout{true, 0, 0, 0, 2, 1}
	u.ch[chV] = chanLayout{true, 0, 1, 0, 4, 2}
}

// String returns FFmpeg's name, such as "yuv422p10le".
func (p PixelFormat) String() string {
	if p > 0 && p < numPixelFormat {
		return pixFmts[p].name
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(p))
}

// ParsePixelFormat parses an FFmpeg pixel format name.
func ParsePixelFormat(name string) (PixelFormat, error) {
	for p := PixelFormat(1); p < numPixelFormat; p++ {
		if pixFmts[p].name == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("video: unsupported pixel format %q", name)
}

// family returns the pixel-format family a sampling converts to, and the
// semantic channel of each sample slot of its pgroup pattern.
func (s Sampling) family() (uint8, [4]int) {
	switch s {
	case YCbCr422, CLYCbCr422, ICtCp422:
		return fam422, [4]int{chY, chU, chV}
	case YCbCr444, CLYCbCr444, ICtCp444:
		return fam444, [4]int{chY, chU, chV}
	case YCbCr420, CLYCbCr420, ICtCp420:
		return fam420, [4]int{chY, chU, chV}
	case YCbCr411:
		return fam411, [4]int{chY, chU, chV}
	case RGB:
		return famRGB, [4]int{chR, chG, chB}
	case BGR:
		return famRGB, [4]int{chB, chG, chR}
	case RGBA:
		return famRGBA, [4]int{chR, chG, chB, chA}
	case BGRA:
		return famRGBA, [4]int{chB, chG, chR, chA}
	case KEY:
		return famKey, [4]int{chY}
	}
	return 0, [4]int{}
}

// PixelFormatFor returns the planar FFmpeg pixel format that holds f's
// samples unchanged (yuv422p10le for 4:2:2 10-bit, gbrp12le for RGB 12-bit,
// gray10le for KEY 10-bit, ...), or an error if there is none.
func PixelFormatFor(f *Format) (PixelFormat, error) {
	fam, _ := f.Sampling.family()
	for pass := range 2 { // planar first, then packed
		for p := PixelFormat(1); p < numPixelFormat; p++ {
			pi := &pixFmts[p]
			planar := len(pi.planes) > 1 || fam == famKey
			if fam != 0 && pi.family == fam && pi.bits == int(f.Depth) && planar == (pass == 0) {
				return p, nil
			}
		}
	}
	return 0, fmt.Errorf("video: no FFmpeg pixel format for %v %v-bit", f.Sampling, f.Depth)
}

// PlanarSize returns the octets of one frame of f in pixel format p.
func PlanarSize(f *Format, p PixelFormat) (int, error) {
	if err := checkConvert(f, p); err != nil {
		return 0, err
	}
	n := 0
	for _, pl := range pixFmts[p].planes {
		n += (f.Width >> pl.xs) * pl.unit * (f.Height >> pl.ys)
	}
	return n, nil
}

func checkConvert(f *Format, p PixelFormat) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if p == 0 || p >= numPixelFormat {
		return fmt.Errorf("video: invalid pixel format %v", p)
	}
	fam, _ := f.Sampling.family()
	pi := &pixFmts[p]
	if fam == 0 || pi.family != fam || pi.bits != int(f.Depth) {
		return fmt.Errorf("video: cannot convert %v %v-bit to %v", f.Sampling, f.Depth, p)
	}
	if fam == fam420 && f.Scan != Progressive {
		return errors.New("video: 4:2:0 conversions need progressive video (an interlaced 4:2:0 row holds two lines of one field)")
	}
	return nil
}

// convPlan is the per-sample placement of one pgroup, built on the stack.
type convPlan struct {
	n        int // samples per pgroup
	plane    [16]int
	rel      [16]int // octets from the pgroup's origin in its plane
	adv      [16]int // octets from one pgroup to the next in its plane
	ys       [16]int
	planeOff [4]int
	stride   [4]int
	wide     bool // 16-bit words
	bits     uint
}

// rowBase returns where each sample of the first pgroup of the pgroup row
// starting at line y0 goes in its plane.
func (c *convPlan) rowBase(y0 int) (base [16]int) {
	for k := range c.n {
		base[k] = c.planeOff[c.plane[k]] + (y0>>c.ys[k])*c.stride[c.plane[k]] + c.rel[k]
	}
	return base
}

func newConvPlan(f *Format, p PixelFormat) (c convPlan) {
	pi := &pixFmts[p]
	_, slots := f.Sampling.family()
	u := f.Sampling.unit()
	pg := f.Pgroup()
	off := 0
	for i, pl := range pi.planes {
		c.planeOff[i] = off
		c.stride[i] = (f.Width >> pl.xs) * pl.unit
		off += c.stride[i] * (f.Height >> pl.ys)
	}
	c.wide, c.bits = pi.bits > 8, uint(f.Depth.Bits())
	for rep := 0; rep < pg.Width/u.w; rep++ {
		for _, s := range u.samples {
			cl := pi.ch[slots[s.comp]]
			dx := rep*u.w + int(s.dx)
			c.plane[c.n] = cl.plane
			c.rel[c.n] = (int(s.dy)>>cl.ys)*c.stride[cl.plane] + (dx>>cl.xs)*cl.step + cl.off
			c.adv[c.n] = (pg.Width >> cl.xs) * cl.step
			c.ys[c.n] = cl.ys
			c.n++
		}
	}
	return c
}

// Unpack converts a frame in pgroup wire layout (src, [Format.FrameSize]
// octets) to FFmpeg pixel format p in dst ([PlanarSize] octets). It does not
// allocate.
func Unpack(dst []byte, p PixelFormat, src []byte, f *Format) error {
	if err := checkConvert(f, p); err != nil {
		return err
	}
	need, _ := PlanarSize(f, p)
	if len(src) < f.FrameSize() || len(dst) < need {
		return fmt.Errorf("video: unpack %v: %d octets to %d, want %d to %d", p, len(src), len(dst), f.FrameSize(), need)
	}
	if p == YUV422P10LE && f.Sampling.unit() == &unit422 {
		unpack422p10(dst, src, f)
		return nil
	}
	unpackGeneric(dst, p, src, f)
	return nil
}

// unpackGeneric unpacks any valid pair, pgroup by pgroup.
func unpackGeneric(dst []byte, p PixelFormat, src []byte, f *Format) {
	c := newConvPlan(f, p)
	pg := f.Pgroup()
	groups := f.Width / pg.Width
	var vals [16]uint16
	mask := uint64(1)<<c.bits - 1
	for row := 0; row < f.Height/pg.Height; row++ {
		base := c.rowBase(row * pg.Height)
		s := src[row*f.RowBytes() : (row+1)*f.RowBytes()]
		for g := range groups {
			// Read the pgroup's samples, big-endian bit packed.
			var acc uint64
			nb := uint(0)
			for k := range c.n {
				for nb < c.bits {
					acc = acc<<8 | uint64(s[0])
					s = s[1:]
					nb += 8
				}
				nb -= c.bits
				vals[k] = uint16(acc >> nb & mask)
			}
			for k := range c.n {
				at := base[k] + g*c.adv[k]
				if c.wide {
					binary.LittleEndian.PutUint16(dst[at:], vals[k])
				} else {
					dst[at] = byte(vals[k])
				}
			}
		}
	}
}

// Pack converts a frame in FFmpeg pixel format p (src, [PlanarSize]
// octets) to pgroup wire layout in dst ([Format.FrameSize] octets). Sample
// values wider than the depth are truncated to it. It does not allocate.
func Pack(dst []byte, f *Format, src []byte, p PixelFormat) error {
	if err := checkConvert(f, p); err != nil {
		return err
	}
	need, _ := PlanarSize(f, p)
	if len(src) < need || len(dst) < f.FrameSize() {
		return fmt.Errorf("video: pack %v: %d octets to %d, want %d to %d", p, len(src), len(dst), need, f.FrameSize())
	}
	if p == YUV422P10LE && f.Sampling.unit() == &unit422 {
		pack422p10(dst, src, f)
		return nil
	}
	packGeneric(dst, f, src, p)
	return nil
}

// packGeneric packs any valid pair, pgroup by pgroup.
func packGeneric(dst []byte, f *Format, src []byte, p PixelFormat) {
	c := newConvPlan(f, p)
	pg := f.Pgroup()
	groups := f.Width / pg.Width
	mask := uint64(1)<<c.bits - 1
	for row := 0; row < f.Height/pg.Height; row++ {
		base := c.rowBase(row * pg.Height)
		d := dst[row*f.RowBytes() : (row+1)*f.RowBytes()]
		for g := range groups {
			var acc uint64
			nb := uint(0)
			for k := range c.n {
				at := base[k] + g*c.adv[k]
				var v uint64
				if c.wide {
					v = uint64(binary.LittleEndian.Uint16(src[at:]))
				} else {
					v = uint64(src[at])
				}
				acc = acc<<c.bits | v&mask
				nb += c.bits
				for nb >= 8 {
					nb -= 8
					d[0] = byte(acc >> nb)
					d = d[1:]
				}
			}
		}
	}
}

// unpack422p10 is Unpack's fast path for 4:2:2 10-bit to yuv422p10le: one
// 5-octet pgroup (Cb Y0 Cr Y1, 10 bits each, most significant bit first,
// as RFC 4175 packs 4:2:2 10-bit) to two Y words and
// one Cb and one Cr word.
func unpack422p10(dst, src []byte, f *Format) {
	w, h := f.Width, f.Height
	ys, us, vs := dst[:w*h*2], dst[w*h*2:w*h*3], dst[w*h*3:w*h*4]
	groups := w * h / 2
	src = src[:groups*5]
	for g := range groups {
		s := src[g*5 : g*5+5 : g*5+5]
		v := uint64(s[0])<<32 | uint64(binary.BigEndian.Uint32(s[1:]))
		y := ys[g*4 : g*4+4 : g*4+4]
		binary.LittleEndian.PutUint16(us[g*2:], uint16(v>>30&0x3ff))
		binary.LittleEndian.PutUint16(y, uint16(v>>20&0x3ff))
		binary.LittleEndian.PutUint16(vs[g*2:], uint16(v>>10&0x3ff))
		binary.LittleEndian.PutUint16(y[2:], uint16(v&0x3ff))
	}
}

// pack422p10 is Pack's fast path, the inverse of unpack422p10.
func pack422p10(dst, src []byte, f *Format) {
	w, h := f.Width, f.Height
	ys, us, vs := src[:w*h*2], src[w*h*2:w*h*3], src[w*h*3:w*h*4]
	groups := w * h / 2
	dst = dst[:groups*5]
	for g := range groups {
		y := ys[g*4 : g*4+4 : g*4+4]
		v := uint64(binary.LittleEndian.Uint16(us[g*2:])&0x3ff)<<30 |
			uint64(binary.LittleEndian.Uint16(y)&0x3ff)<<20 |
			uint64(binary.LittleEndian.Uint16(vs[g*2:])&0x3ff)<<10 |
			uint64(binary.LittleEndian.Uint16(y[2:])&0x3ff)
		d := dst[g*5 : g*5+5 : g*5+5]
		d[0] = byte(v >> 32)
		binary.BigEndian.PutUint32(d[1:], uint32(v))
	}
}
