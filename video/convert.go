package video

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
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
	// In int64: 10- to 16-bit samples take two octets here, so a frame
	// that fits an int in wire layout (Validate's check) may not in p.
	var n int64
	for _, pl := range pixFmts[p].planes {
		n += int64(f.Width>>pl.xs) * int64(pl.unit) * int64(f.Height>>pl.ys)
	}
	if n > math.MaxInt {
		return 0, fmt.Errorf("video: a %dx%d frame in %v is %d octets, more than a %d-bit program can hold", f.Width, f.Height, p, n, strconv.IntSize)
	}
	return int(n), nil
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
// allocate. [Pack] is its inverse, with the arguments in the same order:
// destination, source, the frame's format, the planar pixel format.
//
// 4:2:2 10-bit to yuv422p10le, 4:2:2 8-bit to yuv422p, RGB, BGR and 4:4:4
// 8-bit to gbrp or yuv444p, and the packed formats that are the pgroup
// layout (uyvy422, rgb24, bgr24, rgba, bgra, gray) convert a whole frame at
// a time, 8 octets or more at a step; the others convert pgroup by pgroup.
// On amd64 the 8-bit shuffles use SSE2, and SSSE3 where the CPU has it; the
// build tag purego keeps to Go.
func Unpack(dst, src []byte, f *Format, p PixelFormat) error {
	if err := checkConvert(f, p); err != nil {
		return err
	}
	need, err := PlanarSize(f, p)
	if err != nil {
		return err
	}
	if len(src) < f.FrameSize() || len(dst) < need {
		return fmt.Errorf("video: unpack %v: %d octets to %d, want %d to %d", p, len(src), len(dst), f.FrameSize(), need)
	}
	src, dst = src[:f.FrameSize()], dst[:need]
	c := newConvPlan(f, p)
	switch k, perm := c.fast(f, p); k {
	case fastCopy:
		copy(dst, src)
	case fast422p8:
		n := len(src) / 4
		unpackUYVY(dst[:2*n], dst[2*n:3*n], dst[3*n:], src)
	case fast422p10:
		unpack422p10(dst, src)
	case fast3x8:
		n := len(src) / 3
		deinterleave3(dst[perm[0]*n:][:n], dst[perm[1]*n:][:n], dst[perm[2]*n:][:n], src)
	default:
		unpackGeneric(dst, p, src, f)
	}
	return nil
}

// Fast paths: frames whose pgroups map to the pixel format's samples the
// same way at every position, so that the whole frame converts as one run.
const (
	fastNone   = iota
	fastCopy   // the pixel format is the pgroup layout (uyvy422, rgb24, gray, ...)
	fast422p8  // 4:2:2 8-bit, Cb Y0 Cr Y1, to yuv422p
	fast422p10 // 4:2:2 10-bit to yuv422p10le
	fast3x8    // one pixel of three 8-bit samples to three full planes (gbrp, yuv444p)
)

// fast returns the fast path of a conversion and, for fast3x8, the plane
// of each of the three samples.
func (c *convPlan) fast(f *Format, p PixelFormat) (kind int, perm [3]int) {
	pg := f.Pgroup()
	if pg.Height != 1 {
		return fastNone, perm
	}
	switch {
	case p == YUV422P10LE && f.Depth == Depth10 && f.Sampling.unit() == &unit422:
		return fast422p10, perm
	case p == YUV422P && f.Depth == Depth8 && f.Sampling.unit() == &unit422:
		return fast422p8, perm
	case c.bits != 8:
		return fastNone, perm
	}
	same := true // one plane, sample k at octet k of the pgroup
	for k := range c.n {
		same = same && c.plane[k] == 0 && c.rel[k] == k && c.adv[k] == pg.Size
	}
	if same && c.n == pg.Size {
		return fastCopy, perm
	}
	if c.n != 3 || pg.Size != 3 || pg.Width != 1 {
		return fastNone, perm
	}
	var used [4]bool
	for k := range 3 {
		pl := c.plane[k]
		if c.rel[k] != 0 || c.adv[k] != 1 || used[pl] {
			return fastNone, perm
		}
		used[pl], perm[k] = true, pl
	}
	return fast3x8, perm
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
func Pack(dst, src []byte, f *Format, p PixelFormat) error {
	if err := checkConvert(f, p); err != nil {
		return err
	}
	need, err := PlanarSize(f, p)
	if err != nil {
		return err
	}
	if len(src) < need || len(dst) < f.FrameSize() {
		return fmt.Errorf("video: pack %v: %d octets to %d, want %d to %d", p, len(src), len(dst), need, f.FrameSize())
	}
	src, dst = src[:need], dst[:f.FrameSize()]
	c := newConvPlan(f, p)
	switch k, perm := c.fast(f, p); k {
	case fastCopy:
		copy(dst, src)
	case fast422p8:
		n := len(dst) / 4
		packUYVY(dst, src[:2*n], src[2*n:3*n], src[3*n:])
	case fast422p10:
		pack422p10(dst, src)
	case fast3x8:
		n := len(dst) / 3
		interleave3(dst, src[perm[0]*n:][:n], src[perm[1]*n:][:n], src[perm[2]*n:][:n])
	default:
		packGeneric(dst, f, src, p)
	}
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

// The fast paths work on whole frames: for them, pgroup g of the frame
// holds the samples at position g (or 2g and 2g+1) of every plane, so rows
// need no bookkeeping. Each kernel converts a block of 48 to 80 octets in a
// function over array pointers (constant offsets: no bounds checks, and so
// few live values that the compiler keeps them all in registers), most of
// them reading and writing 8 octets at a time with encoding/binary; a loop
// of single pgroups does the rest of the frame. go build
// -gcflags=-d=ssa/check_bce finds no bounds check in the block functions.

// unpack422p10 converts 4:2:2 10-bit pgroups (Cb Y0 Cr Y1, 5 octets, most
// significant bit first; RFC 4175 section 4.3) to yuv422p10le: two Y words,
// one Cb and one Cr word each. len(dst) is 8/5 of len(src).
func unpack422p10(dst, src []byte) {
	n := len(src) / 5
	ys, us, vs := dst[:4*n], dst[4*n:6*n], dst[6*n:8*n]
	blocks := n / 16
	for i := range blocks {
		unpack16x10((*[64]byte)(ys[64*i:64*i+64]), (*[32]byte)(us[32*i:32*i+32]), (*[32]byte)(vs[32*i:32*i+32]), (*[80]byte)(src[80*i:80*i+80]))
	}
	for g := 16 * blocks; g < n; g++ {
		p := uint64(src[5*g])<<32 | uint64(binary.BigEndian.Uint32(src[5*g+1:]))
		binary.LittleEndian.PutUint16(us[2*g:], uint16(p>>30&0x3ff))
		binary.LittleEndian.PutUint16(ys[4*g:], uint16(p>>20&0x3ff))
		binary.LittleEndian.PutUint16(vs[2*g:], uint16(p>>10&0x3ff))
		binary.LittleEndian.PutUint16(ys[4*g+2:], uint16(p&0x3ff))
	}
}

// unpack16x10 unpacks 16 pgroups, four at a time: four overlapping 8-octet
// loads give each pgroup as a 40-bit number, Cb<<30 | Y0<<20 | Cr<<10 | Y1.
func unpack16x10(y *[64]byte, u, v *[32]byte, s *[80]byte) {
	// Unrolled by hand: the loop form needs more registers than amd64 has.
	p0, p1, p2, p3 := load4x10((*[20]byte)(s[0:]))
	binary.LittleEndian.PutUint64(y[0:], y2x10(p0, p1))
	binary.LittleEndian.PutUint64(y[8:], y2x10(p2, p3))
	binary.LittleEndian.PutUint64(u[0:], cb4x10(p0, p1, p2, p3))
	binary.LittleEndian.PutUint64(v[0:], cr4x10(p0, p1, p2, p3))
	p0, p1, p2, p3 = load4x10((*[20]byte)(s[20:]))
	binary.LittleEndian.PutUint64(y[16:], y2x10(p0, p1))
	binary.LittleEndian.PutUint64(y[24:], y2x10(p2, p3))
	binary.LittleEndian.PutUint64(u[8:], cb4x10(p0, p1, p2, p3))
	binary.LittleEndian.PutUint64(v[8:], cr4x10(p0, p1, p2, p3))
	p0, p1, p2, p3 = load4x10((*[20]byte)(s[40:]))
	binary.LittleEndian.PutUint64(y[32:], y2x10(p0, p1))
	binary.LittleEndian.PutUint64(y[40:], y2x10(p2, p3))
	binary.LittleEndian.PutUint64(u[16:], cb4x10(p0, p1, p2, p3))
	binary.LittleEndian.PutUint64(v[16:], cr4x10(p0, p1, p2, p3))
	p0, p1, p2, p3 = load4x10((*[20]byte)(s[60:]))
	binary.LittleEndian.PutUint64(y[48:], y2x10(p0, p1))
	binary.LittleEndian.PutUint64(y[56:], y2x10(p2, p3))
	binary.LittleEndian.PutUint64(u[24:], cb4x10(p0, p1, p2, p3))
	binary.LittleEndian.PutUint64(v[24:], cr4x10(p0, p1, p2, p3))
}

// load4x10 returns four 4:2:2 10-bit pgroups as 40-bit numbers.
func load4x10(s *[20]byte) (p0, p1, p2, p3 uint64) {
	return binary.BigEndian.Uint64(s[0:]) >> 24, binary.BigEndian.Uint64(s[5:]) >> 24,
		binary.BigEndian.Uint64(s[10:]) >> 24, binary.BigEndian.Uint64(s[12:]) & (1<<40 - 1)
}

// y2x10 returns the Y samples of two pgroups in four 16-bit lanes. The
// product puts Y0 at bit 32 and Y1 at bit 48, the other partial products
// falling below bit 32 or past bit 63.
func y2x10(p0, p1 uint64) uint64 {
	const mask, mul = 0x3ff003ff, 1<<48 | 1<<12
	return (p0&mask)*mul>>32 | (p1&mask)*mul&^0xffffffff
}

// cb4x10 and cr4x10 return the Cb (Cr) samples of four pgroups in 16-bit
// lanes.
func cb4x10(p0, p1, p2, p3 uint64) uint64 {
	const m = 0x3ff
	return p0>>30&m | p1>>14&(m<<16) | p2<<2&(m<<32) | p3<<18&(m<<48)
}

func cr4x10(p0, p1, p2, p3 uint64) uint64 {
	const m = 0x3ff
	return p0>>10&m | p1<<6&(m<<16) | p2<<22&(m<<32) | p3<<38&(m<<48)
}

// pack422p10 is the inverse of unpack422p10; samples keep their low 10
// bits. len(src) is 8/5 of len(dst).
func pack422p10(dst, src []byte) {
	n := len(dst) / 5
	ys, us, vs := src[:4*n], src[4*n:6*n], src[6*n:8*n]
	blocks := n / 16
	for i := range blocks {
		pack16x10((*[80]byte)(dst[80*i:80*i+80]), (*[64]byte)(ys[64*i:64*i+64]), (*[32]byte)(us[32*i:32*i+32]), (*[32]byte)(vs[32*i:32*i+32]))
	}
	const m = 0x3ff
	for g := 16 * blocks; g < n; g++ {
		p := uint64(binary.LittleEndian.Uint16(us[2*g:])&m)<<30 |
			uint64(binary.LittleEndian.Uint16(ys[4*g:])&m)<<20 |
			uint64(binary.LittleEndian.Uint16(vs[2*g:])&m)<<10 |
			uint64(binary.LittleEndian.Uint16(ys[4*g+2:])&m)
		dst[5*g] = byte(p >> 32)
		binary.BigEndian.PutUint32(dst[5*g+1:], uint32(p))
	}
}

// pack16x10 packs 16 pgroups, four at a time.
func pack16x10(d *[80]byte, y *[64]byte, u, v *[32]byte) {
	// Unrolled by hand: the loop form needs more registers than amd64 has.
	ub, vb := binary.LittleEndian.Uint64(u[0:]), binary.LittleEndian.Uint64(v[0:])
	p0, p1 := pg2x10(binary.LittleEndian.Uint64(y[0:]), ub, vb)
	p2, p3 := pg2x10(binary.LittleEndian.Uint64(y[8:]), ub>>32, vb>>32)
	store4x10((*[20]byte)(d[0:]), p0, p1, p2, p3)
	ub, vb = binary.LittleEndian.Uint64(u[8:]), binary.LittleEndian.Uint64(v[8:])
	p0, p1 = pg2x10(binary.LittleEndian.Uint64(y[16:]), ub, vb)
	p2, p3 = pg2x10(binary.LittleEndian.Uint64(y[24:]), ub>>32, vb>>32)
	store4x10((*[20]byte)(d[20:]), p0, p1, p2, p3)
	ub, vb = binary.LittleEndian.Uint64(u[16:]), binary.LittleEndian.Uint64(v[16:])
	p0, p1 = pg2x10(binary.LittleEndian.Uint64(y[32:]), ub, vb)
	p2, p3 = pg2x10(binary.LittleEndian.Uint64(y[40:]), ub>>32, vb>>32)
	store4x10((*[20]byte)(d[40:]), p0, p1, p2, p3)
	ub, vb = binary.LittleEndian.Uint64(u[24:]), binary.LittleEndian.Uint64(v[24:])
	p0, p1 = pg2x10(binary.LittleEndian.Uint64(y[48:]), ub, vb)
	p2, p3 = pg2x10(binary.LittleEndian.Uint64(y[56:]), ub>>32, vb>>32)
	store4x10((*[20]byte)(d[60:]), p0, p1, p2, p3)
}

// pg2x10 returns two pgroups as 40-bit numbers from four Y samples and two
// Cb and two Cr samples in 16-bit lanes (Cb and Cr in the low two).
func pg2x10(y, u, v uint64) (p0, p1 uint64) {
	const m = 0x3ff
	return u<<30&(m<<30) | y<<20&(m<<20) | v<<10&(m<<10) | y>>16&m,
		u<<14&(m<<30) | y>>12&(m<<20) | v>>6&(m<<10) | y>>48&m
}

// store4x10 writes four 40-bit pgroups with overlapping 8-octet stores, in
// order: each writes its pgroup and zeros that the next overwrites; the
// last carries p2's tail.
func store4x10(d *[20]byte, p0, p1, p2, p3 uint64) {
	binary.BigEndian.PutUint64(d[0:], p0<<24)
	binary.BigEndian.PutUint64(d[5:], p1<<24)
	binary.BigEndian.PutUint64(d[10:], p2<<24)
	binary.BigEndian.PutUint64(d[12:], p2<<40|p3)
}

// unpackUYVYGo converts 4:2:2 8-bit pgroups (Cb Y0 Cr Y1, the layout of
// FFmpeg's uyvy422) to three planes: len(y) == len(src)/2, len(u) ==
// len(v) == len(src)/4.
func unpackUYVYGo(y, u, v, src []byte) {
	n := len(src) / 4
	y, u, v = y[:2*n], u[:n], v[:n]
	blocks := n / 16
	for i := range blocks {
		unpack16x8((*[32]byte)(y[32*i:32*i+32]), (*[16]byte)(u[16*i:16*i+16]), (*[16]byte)(v[16*i:16*i+16]), (*[64]byte)(src[64*i:64*i+64]))
	}
	for g := 16 * blocks; g < n; g++ {
		u[g], y[2*g], v[g], y[2*g+1] = src[4*g], src[4*g+1], src[4*g+2], src[4*g+3]
	}
}

func unpack16x8(y *[32]byte, u, v *[16]byte, s *[64]byte) {
	for k := range 4 {
		a, b := binary.LittleEndian.Uint64(s[16*k:]), binary.LittleEndian.Uint64(s[16*k+8:])
		binary.LittleEndian.PutUint64(y[8*k:], uyvyY(a, b))
		binary.LittleEndian.PutUint32(u[4*k:], uyvyCb(a, b))
		binary.LittleEndian.PutUint32(v[4*k:], uyvyCr(a, b))
	}
}

// uyvyY returns the Y octets (the odd ones) of two words of pgroups,
// gathered 16 bits, then 32 bits at a time.
func uyvyY(a, b uint64) uint64 {
	const lo = 0x00ff00ff00ff00ff
	a, b = a>>8&lo, b>>8&lo
	a, b = (a|a>>8)&0x0000ffff0000ffff, (b|b>>8)&0x0000ffff0000ffff
	a, b = a|a>>16, b|b>>16
	return uint64(uint32(a)) | b<<32
}

// uyvyCb and uyvyCr return the Cb (octets 0 and 4) and Cr (2 and 6)
// octets of two words of pgroups.
func uyvyCb(a, b uint64) uint32 {
	return uint32(a&0xff | a>>24&0xff00 | b<<16&0xff0000 | b>>8&0xff000000)
}

func uyvyCr(a, b uint64) uint32 {
	return uint32(a>>16&0xff | a>>40&0xff00 | b&0xff0000 | b>>24&0xff000000)
}

// packUYVYGo is the inverse of unpackUYVYGo.
func packUYVYGo(dst, y, u, v []byte) {
	n := len(dst) / 4
	y, u, v = y[:2*n], u[:n], v[:n]
	blocks := n / 16
	for i := range blocks {
		pack16x8((*[64]byte)(dst[64*i:64*i+64]), (*[32]byte)(y[32*i:32*i+32]), (*[16]byte)(u[16*i:16*i+16]), (*[16]byte)(v[16*i:16*i+16]))
	}
	for g := 16 * blocks; g < n; g++ {
		dst[4*g], dst[4*g+1], dst[4*g+2], dst[4*g+3] = u[g], y[2*g], v[g], y[2*g+1]
	}
}

func pack16x8(d *[64]byte, y *[32]byte, u, v *[16]byte) {
	for k := range 4 {
		a, b := uyvyWords(binary.LittleEndian.Uint64(y[8*k:]),
			uint64(binary.LittleEndian.Uint32(u[4*k:])), uint64(binary.LittleEndian.Uint32(v[4*k:])))
		binary.LittleEndian.PutUint64(d[16*k:], a)
		binary.LittleEndian.PutUint64(d[16*k+8:], b)
	}
}

// uyvyWords returns two words of pgroups from 8 Y, 4 Cb and 4 Cr octets:
// Y spread to the odd octets, Cb to octets 0 and 4, Cr to 2 and 6.
func uyvyWords(y, u, v uint64) (a, b uint64) {
	ya, yb := y&0xffffffff, y>>32
	ya, yb = (ya|ya<<16)&0x0000ffff0000ffff, (yb|yb<<16)&0x0000ffff0000ffff
	ya, yb = (ya|ya<<8)&0x00ff00ff00ff00ff, (yb|yb<<8)&0x00ff00ff00ff00ff
	return ya<<8 | u&0xff | u<<24&0xff00000000 | v<<16&0xff0000 | v<<40&0xff000000000000,
		yb<<8 | u>>16&0xff | u<<8&0xff00000000 | v&0xff0000 | v<<24&0xff000000000000
}

// deinterleave3Go splits runs of three octets: octet 3i+k of src goes to
// d_k[i]. len(d0) == len(d1) == len(d2) == len(src)/3.
func deinterleave3Go(d0, d1, d2, src []byte) {
	n := len(src) / 3
	d0, d1, d2 = d0[:n], d1[:n], d2[:n]
	blocks := n / 16
	for i := range blocks {
		split16x3((*[16]byte)(d0[16*i:16*i+16]), (*[16]byte)(d1[16*i:16*i+16]), (*[16]byte)(d2[16*i:16*i+16]), (*[48]byte)(src[48*i:48*i+48]))
	}
	for j := 16 * blocks; j < n; j++ {
		d0[j], d1[j], d2[j] = src[3*j], src[3*j+1], src[3*j+2]
	}
}

// split16x3 splits 16 pixels, eight (three words) at a time. Octet k of the
// pixels lies at octets k, k+3, k+6 of the run; a mask keeps the ones in
// one word and a multiplication by three powers of two gathers them side by
// side at the top of the product, the other partial products landing below
// them (no carries: the masked octets do not overlap). Pixel octets in the
// words (pixel.sample):
//
//	a: 0.0 0.1 0.2 1.0 1.1 1.2 2.0 2.1
//	b: 2.2 3.0 3.1 3.2 4.0 4.1 4.2 5.0
//	c: 5.1 5.2 6.0 6.1 6.2 7.0 7.1 7.2
func split16x3(d0, d1, d2 *[16]byte, s *[48]byte) {
	for k := range 2 {
		a := binary.LittleEndian.Uint64(s[24*k:])
		b := binary.LittleEndian.Uint64(s[24*k+8:])
		c := binary.LittleEndian.Uint64(s[24*k+16:])
		const (
			m036 = 0x00ff0000ff0000ff // octets 0, 3, 6
			m147 = m036 << 8          // octets 1, 4, 7
			m25  = 0x0000ff0000ff0000 // octets 2, 5
			g036 = 1<<40 | 1<<24 | 1<<8
			g147 = 1<<32 | 1<<16 | 1
			g25  = 1<<32 | 1<<16
		)
		// Sample 0: a 0,3,6 -> 0,1,2; b 1,4,7 -> 3,4,5; c 2,5 -> 6,7.
		binary.LittleEndian.PutUint64(d0[8*k:], (a&m036)*g036>>40|(b&m147)*g147>>16&0xffffff000000|(c&m25)*g25&0xffff000000000000)
		// Sample 1: a 1,4,7 -> 0,1,2; b 2,5 -> 3,4; c 0,3,6 -> 5,6,7.
		binary.LittleEndian.PutUint64(d1[8*k:], (a&m147)*g147>>40|(b&m25)*g25>>24&0xffff000000|(c&m036)*g036&0xffffff0000000000)
		// Sample 2: a 2,5 -> 0,1; b 0,3,6 -> 2,3,4; c 1,4,7 -> 5,6,7.
		binary.LittleEndian.PutUint64(d2[8*k:], (a&m25)*g25>>48|(b&m036)*g036>>24&0xffffff0000|(c&m147)*g147&0xffffff0000000000)
	}
}

// interleave3Go is the inverse of deinterleave3Go: s_k[i] goes to octet
// 3i+k of dst.
func interleave3Go(dst, s0, s1, s2 []byte) {
	n := len(dst) / 3
	s0, s1, s2 = s0[:n], s1[:n], s2[:n]
	blocks := n / 16
	for i := range blocks {
		merge16x3((*[48]byte)(dst[48*i:48*i+48]), (*[16]byte)(s0[16*i:16*i+16]), (*[16]byte)(s1[16*i:16*i+16]), (*[16]byte)(s2[16*i:16*i+16]))
	}
	for j := 16 * blocks; j < n; j++ {
		dst[3*j], dst[3*j+1], dst[3*j+2] = s0[j], s1[j], s2[j]
	}
}

// merge16x3 merges 16 pixels octet by octet: on amd64 that takes fewer
// instructions than spreading octets in words with shifts and masks.
func merge16x3(d *[48]byte, s0, s1, s2 *[16]byte) {
	for i := range 16 {
		d[3*i], d[3*i+1], d[3*i+2] = s0[i], s1[i], s2[i]
	}
}
