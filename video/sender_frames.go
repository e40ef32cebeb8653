package video

import (
	"encoding/binary"
	"fmt"
)

// FrameLoop is a [FrameSource] over frames held in memory, played in a
// loop: frame n is frame n modulo their count. It is read-only after
// NewFrameLoop and safe for concurrent use; streams may share one.
type FrameLoop struct {
	frames []byte
	size   int
	count  uint64
}

// NewFrameLoop returns a loop over frames, whole frames of f in pgroup
// wire layout one after the other. It keeps frames, which must not change
// while the loop is in use.
func NewFrameLoop(f *Format, frames []byte) (*FrameLoop, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	size := f.FrameSize()
	if len(frames) == 0 || len(frames)%size != 0 {
		return nil, fmt.Errorf("video: %d octets are not whole %d-octet frames of %v", len(frames), size, f)
	}
	return &FrameLoop{frames: frames, size: size, count: uint64(len(frames) / size)}, nil
}

// Len returns the number of frames in the loop.
func (l *FrameLoop) Len() int { return int(l.count) }

// Frame returns frame n modulo Len. It does not allocate.
func (l *FrameLoop) Frame(n uint64) []byte {
	i := int(n % l.count)
	return l.frames[i*l.size : (i+1)*l.size]
}

// Pattern is a [FrameSource] of a moving test picture: diagonal colour
// stripes that scroll up by a few lines per frame, so every frame differs
// from the one before while the content stays deterministic. It holds one
// picture a little taller than the frame and hands out windows into it,
// so a frame costs nothing to make. It is read-only after NewPattern and
// safe for concurrent use; streams of one format may share one.
type Pattern struct {
	pic    []byte
	size   int
	row    int // octets per buffer row
	period uint64
}

// patternScroll is how many buffer rows the picture moves per frame, and
// patternPeriod after how many rows it repeats.
const (
	patternScroll = 4
	patternPeriod = 256
)

// NewPattern returns a moving test pattern in format f. It allocates
// [PatternMemory] octets (for a UHD 4:2:2 10-bit frame, some 24 MB).
func NewPattern(f *Format) (*Pattern, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	tall, extra := patternFormat(f)
	if err := tall.Validate(); err != nil { // up to 256 lines more than f: in a 32-bit program it may not fit an int
		return nil, fmt.Errorf("video: test pattern of %v: %w", f, err)
	}
	pic := make([]byte, tall.FrameSize())
	if pf, err := PixelFormatFor(&tall); err == nil {
		if err := packPattern(pic, &tall, pf); err != nil {
			return nil, err
		}
	} else {
		// No FFmpeg layout (16f): stripes straight in the pgroup bytes.
		rb, pgs := tall.RowBytes(), f.Pgroup().Size
		for i := range pic {
			pic[i] = byte(i/rb + i%rb/pgs)
		}
	}
	p := &Pattern{pic: pic, size: f.FrameSize(), row: f.RowBytes(), period: uint64(extra / f.Pgroup().Height / patternScroll)}
	return p, nil
}

// patternFormat returns the format of a pattern's picture: a progressive
// format patternPeriod buffer rows taller than f (fewer if that would pass
// MaxDimension), packed from a planar picture so that every sampling gets
// sensible samples; extra is the lines added.
func patternFormat(f *Format) (tall Format, extra int) {
	pg := f.Pgroup()
	extra = min(patternPeriod, (MaxDimension-f.Height)/pg.Height) * pg.Height
	tall = *f
	tall.Scan, tall.Height = Progressive, f.Height+extra
	return tall, extra
}

// PatternMemory returns the octets [NewPattern] allocates for format f, the
// picture and a strip of the planar picture it is packed from, for a
// caller to charge to a [Budget] first; 0 for an invalid format.
func PatternMemory(f *Format) int64 {
	if f.Validate() != nil {
		return 0
	}
	tall, _ := patternFormat(f)
	n := int64(tall.RowBytes()) * int64(tall.Height/tall.Pgroup().Height) // FrameSize, which may wrap an int here
	if pf, err := PixelFormatFor(&tall); err == nil {
		strip := tall
		strip.Height = min(patternStrip, tall.Height)
		planar, _ := PlanarSize(&strip, pf)
		n += int64(planar)
	}
	return n
}

// patternStrip is how many lines of the planar picture NewPattern draws
// and packs at a time: a multiple of every pgroup's and chroma plane's
// height (2), small against a frame, so that the planar picture, which
// only feeds Pack, takes a strip's memory instead of a frame's (for a
// 8192x4320 4:4:4 16-bit pattern, 3 MiB instead of 215 MiB).
const patternStrip = 64

// packPattern draws the picture of format tall (progressive) in planar
// pixel format pf and packs it into pic, a strip of patternStrip lines at
// a time (Pack is row by row, the strips' rows are pic's in order).
func packPattern(pic []byte, tall *Format, pf PixelFormat) error {
	strip := *tall
	var planar []byte
	row := tall.RowBytes() * (patternStrip / tall.Pgroup().Height) // octets of pic per strip (a pgroup row's octets may be odd)
	for y0, off := 0, 0; y0 < tall.Height; y0, off = y0+patternStrip, off+row {
		strip.Height = min(patternStrip, tall.Height-y0)
		size, err := PlanarSize(&strip, pf)
		if err != nil {
			return err
		}
		if planar == nil {
			planar = make([]byte, size) // the first strip is the tallest
		}
		patternPlanar(planar[:size], &strip, pf, y0)
		if err := Pack(pic[off:], planar[:size], &strip, pf); err != nil {
			return err
		}
	}
	return nil
}

// patternPlanar draws into b, a planar picture of format f in pixel
// format pf, the lines from y0 of the test picture: each channel a
// diagonal ramp of its own slope and phase.
func patternPlanar(b []byte, f *Format, pf PixelFormat, y0 int) {
	pi := &pixFmts[pf]
	planeOff := make([]int, len(pi.planes))
	stride := make([]int, len(pi.planes))
	off := 0
	for i, pl := range pi.planes {
		planeOff[i] = off
		stride[i] = (f.Width >> pl.xs) * pl.unit
		off += stride[i] * (f.Height >> pl.ys)
	}
	shift := uint(pi.bits - 8)
	for c, cl := range pi.ch {
		if !cl.ok {
			continue
		}
		for y := 0; y < f.Height>>cl.ys; y++ {
			for x := 0; x < f.Width>>cl.xs; x++ {
				fx, fy := x<<cl.xs, y0+y<<cl.ys
				v := uint16(byte((fx+fy*(c+1))/4 + 48*c))
				if c == chA {
					v = 255
				}
				at := planeOff[cl.plane] + y*stride[cl.plane] + x*cl.step + cl.off
				if pi.bits > 8 {
					binary.LittleEndian.PutUint16(b[at:], v<<shift|v>>(8-shift))
				} else {
					b[at] = byte(v)
				}
			}
		}
	}
}

// Frame returns frame n: the window of the picture that starts n scroll
// steps down, modulo its period. It does not allocate.
func (p *Pattern) Frame(n uint64) []byte {
	off := 0
	if p.period > 0 {
		off = int(n%p.period) * patternScroll * p.row
	}
	return p.pic[off : off+p.size]
}
