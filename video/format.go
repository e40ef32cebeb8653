package video

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Sampling is the colour-difference sampling structure of the sample data,
// as named by the fmtp "sampling" parameter. The zero value is invalid.
type Sampling uint8

// The ST 2110-20 samplings, then the ones only RFC 4175 defines (GStreamer's
// rtpvrawpay sends them).
const (
	_ Sampling = iota
	YCbCr444
	YCbCr422
	YCbCr420
	CLYCbCr444
	CLYCbCr422
	CLYCbCr420
	ICtCp444
	ICtCp422
	ICtCp420
	RGB
	XYZ
	KEY
	// RFC 4175 only (not in ST 2110-20).
	BGR
	RGBA
	BGRA
	YCbCr411
	numSampling
)

var samplingNames = [numSampling]string{
	YCbCr444: "YCbCr-4:4:4", YCbCr422: "YCbCr-4:2:2", YCbCr420: "YCbCr-4:2:0",
	CLYCbCr444: "CLYCbCr-4:4:4", CLYCbCr422: "CLYCbCr-4:2:2", CLYCbCr420: "CLYCbCr-4:2:0",
	ICtCp444: "ICtCp-4:4:4", ICtCp422: "ICtCp-4:2:2", ICtCp420: "ICtCp-4:2:0",
	RGB: "RGB", XYZ: "XYZ", KEY: "KEY",
	BGR: "BGR", RGBA: "RGBA", BGRA: "BGRA", YCbCr411: "YCbCr-4:1:1",
}

// String returns the SDP spelling, such as "YCbCr-4:2:2".
func (s Sampling) String() string {
	if s > 0 && s < numSampling {
		return samplingNames[s]
	}
	return fmt.Sprintf("Sampling(%d)", uint8(s))
}

// ST2110 reports whether ST 2110-20 permits the sampling (the others are
// RFC 4175 only).
func (s Sampling) ST2110() bool { return s >= YCbCr444 && s <= KEY }

// ParseSampling parses an SDP sampling name.
func ParseSampling(name string) (Sampling, error) {
	for s := Sampling(1); s < numSampling; s++ {
		if samplingNames[s] == name {
			return s, nil
		}
	}
	return 0, fmt.Errorf("video: unknown sampling %q", name)
}

// Depth is the number of bits per sample. Its numeric value is the bit count,
// except [Depth16f] (16-bit floating point). The zero value is invalid.
type Depth uint8

const (
	Depth8   Depth = 8
	Depth10  Depth = 10
	Depth12  Depth = 12
	Depth16  Depth = 16
	Depth16f Depth = 17 // IEEE 754 half-precision floating point
)

// Bits returns the bits per sample (16 for Depth16f), or 0 for an invalid depth.
func (d Depth) Bits() int {
	switch d {
	case Depth8, Depth10, Depth12, Depth16:
		return int(d)
	case Depth16f:
		return 16
	}
	return 0
}

// String returns the SDP spelling: "8", "10", "12", "16" or "16f".
func (d Depth) String() string {
	switch d {
	case Depth8:
		return "8"
	case Depth10:
		return "10"
	case Depth12:
		return "12"
	case Depth16:
		return "16"
	case Depth16f:
		return "16f"
	}
	return fmt.Sprintf("Depth(%d)", uint8(d))
}

// ParseDepth parses an SDP depth.
func ParseDepth(s string) (Depth, error) {
	switch s {
	case "8":
		return Depth8, nil
	case "10":
		return Depth10, nil
	case "12":
		return Depth12, nil
	case "16":
		return Depth16, nil
	case "16f":
		return Depth16f, nil
	}
	return 0, fmt.Errorf("video: unknown depth %q", s)
}

// Scan is the scanning of the picture. The zero value is invalid.
type Scan uint8

const (
	_           Scan = iota
	Progressive      // one RTP frame per picture
	Interlaced       // two fields, each its own RTP frame with its own timestamp; F bit set on the second
	PsF              // progressive segmented frame: two segments sent like fields, with one timestamp
)

// String returns "progressive", "interlaced" or "psf".
func (s Scan) String() string {
	switch s {
	case Progressive:
		return "progressive"
	case Interlaced:
		return "interlaced"
	case PsF:
		return "psf"
	}
	return fmt.Sprintf("Scan(%d)", uint8(s))
}

// Fields returns the number of RTP frames per picture: 1 for progressive, 2
// otherwise, and 0 for an invalid Scan.
func (s Scan) Fields() int {
	switch s {
	case Progressive:
		return 1
	case Interlaced, PsF:
		return 2
	}
	return 0
}

// Rate is an exact frame rate in frames per second, Num/Den. For interlaced
// video it is the frame rate (half the field rate), as exactframerate is
// written by real ST 2110 devices. The zero value means "not known".
type Rate struct{ Num, Den uint32 }

// Common rates.
var (
	Rate23_98 = Rate{24000, 1001}
	Rate24    = Rate{24, 1}
	Rate25    = Rate{25, 1}
	Rate29_97 = Rate{30000, 1001}
	Rate30    = Rate{30, 1}
	Rate50    = Rate{50, 1}
	Rate59_94 = Rate{60000, 1001}
	Rate60    = Rate{60, 1}
)

// String returns the exactframerate spelling: "25" or "60000/1001".
func (r Rate) String() string {
	if r.Den == 1 || r.IsZero() {
		return fmt.Sprint(r.Num)
	}
	return fmt.Sprintf("%d/%d", r.Num, r.Den)
}

// IsZero reports whether the rate is unknown.
func (r Rate) IsZero() bool { return r.Num == 0 || r.Den == 0 }

// inRange reports whether r is zero (no rate) or from 1/maxRate to
// maxRate pictures per second, the rates the ST 2110-21 model computes
// with (see Timing) and whose frame period in 90 kHz ticks fits 32 bits.
func (r Rate) inRange() bool {
	n, d := uint64(r.Num), uint64(r.Den)
	return r.IsZero() || n <= maxRate*d && d <= maxRate*n
}

// Period returns the frame period rounded to the nanosecond.
func (r Rate) Period() time.Duration {
	if r.IsZero() {
		return 0
	}
	return time.Duration((uint64(time.Second)*uint64(r.Den) + uint64(r.Num)/2) / uint64(r.Num))
}

// Colorimetry is the fmtp "colorimetry" value. The zero value means not
// signalled.
type Colorimetry uint8

const (
	_ Colorimetry = iota
	BT601
	BT709
	BT2020
	BT2100
	ST2065_1
	ST2065_3
	ColorimetryUnspecified
	ColorimetryXYZ
	SMPTE240M // RFC 4175 only (GStreamer)
	numColorimetry
)

var colorimetryNames = [numColorimetry]string{
	BT601: "BT601", BT709: "BT709", BT2020: "BT2020", BT2100: "BT2100",
	ST2065_1: "ST2065-1", ST2065_3: "ST2065-3", ColorimetryUnspecified: "UNSPECIFIED",
	ColorimetryXYZ: "XYZ", SMPTE240M: "SMPTE240M",
}

// String returns the SDP spelling, such as "BT709".
func (c Colorimetry) String() string {
	if c > 0 && c < numColorimetry {
		return colorimetryNames[c]
	}
	return fmt.Sprintf("Colorimetry(%d)", uint8(c))
}

// ParseColorimetry parses an SDP colorimetry. The RFC 4175 spellings
// "BT601-5" and "BT709-2" (which GStreamer writes) read as BT601 and BT709.
func ParseColorimetry(s string) (Colorimetry, error) {
	switch s {
	case "BT601-5":
		return BT601, nil
	case "BT709-2":
		return BT709, nil
	}
	for c := Colorimetry(1); c < numColorimetry; c++ {
		if colorimetryNames[c] == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("video: unknown colorimetry %q", s)
}

// TCS is the transfer characteristic system (fmtp "TCS"). The zero value
// means not signalled, which ST 2110-20 reads as SDR.
type TCS uint8

const (
	_ TCS = iota
	SDR
	PQ
	HLG
	Linear
	BT2100LinPQ
	BT2100LinHLG
	TCSST2065_1
	ST428_1
	Density
	TCSUnspecified
	numTCS
)

var tcsNames = [numTCS]string{
	SDR: "SDR", PQ: "PQ", HLG: "HLG", Linear: "LINEAR", BT2100LinPQ: "BT2100LINPQ",
	BT2100LinHLG: "BT2100LINHLG", TCSST2065_1: "ST2065-1", ST428_1: "ST428-1",
	Density: "DENSITY", TCSUnspecified: "UNSPECIFIED",
}

// String returns the SDP spelling, such as "SDR".
func (t TCS) String() string {
	if t > 0 && t < numTCS {
		return tcsNames[t]
	}
	return fmt.Sprintf("TCS(%d)", uint8(t))
}

// ParseTCS parses an SDP TCS value.
func ParseTCS(s string) (TCS, error) {
	for t := TCS(1); t < numTCS; t++ {
		if tcsNames[t] == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("video: unknown TCS %q", s)
}

// Range is the signal range (fmtp "RANGE"). The zero value means not
// signalled, which ST 2110-20 reads as NARROW.
type Range uint8

const (
	_ Range = iota
	Narrow
	FullProtect
	Full
)

// String returns the SDP spelling: "NARROW", "FULLPROTECT" or "FULL".
func (r Range) String() string {
	switch r {
	case Narrow:
		return "NARROW"
	case FullProtect:
		return "FULLPROTECT"
	case Full:
		return "FULL"
	}
	return fmt.Sprintf("Range(%d)", uint8(r))
}

// ParseRange parses an SDP RANGE value.
func ParseRange(s string) (Range, error) {
	switch s {
	case "NARROW":
		return Narrow, nil
	case "FULLPROTECT":
		return FullProtect, nil
	case "FULL":
		return Full, nil
	}
	return 0, fmt.Errorf("video: unknown RANGE %q", s)
}

// Format describes uncompressed video as ST 2110-20 carries it. Sampling,
// Depth, Width, Height and Scan are required; the rest may be zero (not
// signalled). Call [Format.Validate] before use; the constructors of this
// package do.
type Format struct {
	Sampling      Sampling
	Depth         Depth
	Width, Height int // pixels and lines of the whole frame (both fields)
	Scan          Scan
	Rate          Rate // frame rate; a Transmitter, a Merge and the ST 2110-21 analysis need it, and a Packetizer of interlaced video (to timestamp the second field)
	Colorimetry   Colorimetry
	TCS           TCS
	Range         Range
	PAR           [2]int // pixel aspect ratio w:h; zero means 1:1
}

// Pgroup is a pixel group: the smallest run of whole samples whose bit count
// is a multiple of 8 (RFC 4175 section 4). It covers Width pixels on each of
// Height lines (Height is 2 for 4:2:0 only).
type Pgroup struct {
	Size   int // octets
	Width  int // pixels across
	Height int // lines
}

// Pixels returns the pixels the pgroup covers, as the reference tables give
// them ("5 / 2" for 4:2:2 10-bit).
func (p Pgroup) Pixels() int { return p.Width * p.Height }

// Component identifiers of a sample in a pgroup pattern.
const (
	cY  = 0 // Y, I, R, X, key
	cCb = 1 // Cb, Ct, G, Y(XYZ)
	cCr = 2 // Cr, Cp, B, Z
	cA  = 3
)

// unit is the smallest sample pattern of a sampling, before depth packing.
type unit struct {
	w, h    int // pixels across, lines
	samples []sample
}

type sample struct{ comp, dx, dy uint8 }

// The sample order of each sampling (RFC 4175 section 4.3 and its figures;
// GStreamer's rtpvrawpay writes AYUV as Cb Y Cr, I420 as Y00 Y01 Y10 Y11 Cb
// Cr, Y41B as Cb Y0 Y1 Cr Y2 Y3). RGB-like samplings use cY/cCb/cCr for
// their first three components in wire order, then conversions map them.
var (
	unit444  = unit{1, 1, []sample{{cCb, 0, 0}, {cY, 0, 0}, {cCr, 0, 0}}}
	unit422  = unit{2, 1, []sample{{cCb, 0, 0}, {cY, 0, 0}, {cCr, 0, 0}, {cY, 1, 0}}}
	unit420  = unit{2, 2, []sample{{cY, 0, 0}, {cY, 1, 0}, {cY, 0, 1}, {cY, 1, 1}, {cCb, 0, 0}, {cCr, 0, 0}}}
	unit411  = unit{4, 1, []sample{{cCb, 0, 0}, {cY, 0, 0}, {cY, 1, 0}, {cCr, 0, 0}, {cY, 2, 0}, {cY, 3, 0}}}
	unitRGB  = unit{1, 1, []sample{{cY, 0, 0}, {cCb, 0, 0}, {cCr, 0, 0}}}
	unitRGBA = unit{1, 1, []sample{{cY, 0, 0}, {cCb, 0, 0}, {cCr, 0, 0}, {cA, 0, 0}}}
	unitKey  = unit{1, 1, []sample{{cY, 0, 0}}}
)

func (s Sampling) unit() *unit {
	switch s {
	case YCbCr444, CLYCbCr444, ICtCp444:
		return &unit444
	case YCbCr422, CLYCbCr422, ICtCp422:
		return &unit422
	case YCbCr420, CLYCbCr420, ICtCp420:
		return &unit420
	case YCbCr411:
		return &unit411
	case RGB, BGR, XYZ:
		return &unitRGB
	case RGBA, BGRA:
		return &unitRGBA
	case KEY:
		return &unitKey
	}
	return nil
}

// PgroupOf returns the pgroup of a sampling at a depth, by the rule of
// RFC 4175: the smallest whole number of sampling units whose bits fill whole
// octets. ok is false for an invalid sampling or depth.
func PgroupOf(s Sampling, d Depth) (p Pgroup, ok bool) {
	u, bits := s.unit(), d.Bits()
	if u == nil || bits == 0 {
		return Pgroup{}, false
	}
	ub := len(u.samples) * bits
	k := 1
	for ub*k%8 != 0 {
		k++
	}
	return Pgroup{Size: ub * k / 8, Width: u.w * k, Height: u.h}, true
}

// Pgroup returns the format's pixel group; the zero Pgroup if Sampling or
// Depth is invalid.
func (f *Format) Pgroup() Pgroup {
	p, _ := PgroupOf(f.Sampling, f.Depth)
	return p
}

// MaxDimension is the largest width or height: the SRD line and offset
// fields are 15 bits.
const MaxDimension = 32767

var errNil = errors.New("video: nil format")

// Validate checks that the format is one ST 2110-20 (or, for the RFC 4175
// samplings, RFC 4175) allows, and that the picture is made of whole pgroups.
func (f *Format) Validate() error {
	if f == nil {
		return errNil
	}
	if f.Sampling == 0 || f.Sampling >= numSampling {
		return fmt.Errorf("video: invalid sampling %v", f.Sampling)
	}
	if f.Depth.Bits() == 0 {
		return fmt.Errorf("video: invalid depth %v", f.Depth)
	}
	if f.Depth == Depth16f && !f.Sampling.ST2110() {
		return fmt.Errorf("video: depth 16f not allowed for %v (RFC 4175 has no floating point)", f.Sampling)
	}
	if f.Scan.Fields() == 0 {
		return fmt.Errorf("video: scan not set (want Progressive, Interlaced or PsF)")
	}
	if f.Width < 1 || f.Width > MaxDimension {
		return fmt.Errorf("video: width %d out of range 1..%d", f.Width, MaxDimension)
	}
	if f.Height < 1 || f.Height > MaxDimension {
		return fmt.Errorf("video: height %d out of range 1..%d", f.Height, MaxDimension)
	}
	pg := f.Pgroup()
	if f.Width%pg.Width != 0 {
		return fmt.Errorf("video: width %d is not a whole number of %v %v-bit pgroups (%d pixels each)",
			f.Width, f.Sampling, f.Depth, pg.Width)
	}
	if lines := pg.Height * f.Scan.Fields(); f.Height%lines != 0 {
		return fmt.Errorf("video: height %d of %v %v is not a multiple of %d", f.Height, f.Scan, f.Sampling, lines)
	}
	// 32767x32767 at 6 octets a pixel is 6.4 GB: in a 32-bit program
	// the frame size would wrap in int and the buffer could not exist.
	if n := int64(f.RowBytes()) * int64(f.Height/pg.Height); n > math.MaxInt {
		return fmt.Errorf("video: a %dx%d %v %v frame is %d octets, more than a %d-bit program can hold",
			f.Width, f.Height, f.Sampling, f.Depth, n, strconv.IntSize)
	}
	if (f.Rate.Num == 0) != (f.Rate.Den == 0) {
		return fmt.Errorf("video: frame rate %d/%d", f.Rate.Num, f.Rate.Den)
	}
	if !f.Rate.inRange() {
		return fmt.Errorf("video: frame rate %v: want 1/%d to %d pictures per second", f.Rate, maxRate, maxRate)
	}
	if f.Colorimetry >= numColorimetry {
		return fmt.Errorf("video: invalid colorimetry %v", f.Colorimetry)
	}
	if f.TCS >= numTCS {
		return fmt.Errorf("video: invalid TCS %v", f.TCS)
	}
	if f.Range > Full {
		return fmt.Errorf("video: invalid range %v", f.Range)
	}
	// ICtCp and constant-luminance YCbCr exist only in BT.2100 (and BT.2020
	// for constant luminance); XYZ samples go with XYZ colorimetry.
	switch {
	case f.Colorimetry == 0 || f.Colorimetry == ColorimetryUnspecified:
	case f.Sampling >= ICtCp444 && f.Sampling <= ICtCp420 && f.Colorimetry != BT2100:
		return fmt.Errorf("video: sampling %v needs colorimetry BT2100, not %v", f.Sampling, f.Colorimetry)
	case f.Sampling >= CLYCbCr444 && f.Sampling <= CLYCbCr420 && f.Colorimetry != BT2020 && f.Colorimetry != BT2100:
		return fmt.Errorf("video: sampling %v needs colorimetry BT2020 or BT2100, not %v", f.Sampling, f.Colorimetry)
	case f.Sampling == XYZ && f.Colorimetry != ColorimetryXYZ:
		return fmt.Errorf("video: sampling XYZ needs colorimetry XYZ, not %v", f.Colorimetry)
	}
	if f.Colorimetry == BT2100 && f.Range == FullProtect {
		return fmt.Errorf("video: RANGE FULLPROTECT not allowed with colorimetry BT2100")
	}
	if (f.PAR[0] == 0) != (f.PAR[1] == 0) || f.PAR[0] < 0 || f.PAR[1] < 0 {
		return fmt.Errorf("video: pixel aspect ratio %d:%d", f.PAR[0], f.PAR[1])
	}
	return nil
}

// Rows returns the SRD rows of one field (of the frame, if progressive): a
// row is one line, or two for 4:2:0.
func (f *Format) Rows() int {
	return f.Height / f.Pgroup().Height / f.Scan.Fields()
}

// RowBytes returns the octets of one SRD row: Width/pgroup width pgroups.
func (f *Format) RowBytes() int {
	pg := f.Pgroup()
	return f.Width / pg.Width * pg.Size
}

// FrameSize returns the octets of a frame buffer: all rows of all fields in
// pgroup wire layout, with the fields' rows interleaved (row r of field F at
// buffer row 2r+F), which is the picture in top-to-bottom order. For
// 1920x1080 4:2:2 10-bit it is 5,184,000, GStreamer's UYVP frame size.
// For a format that passes Validate it fits an int.
func (f *Format) FrameSize() int {
	return f.RowBytes() * (f.Height / f.Pgroup().Height) // Validate's product: a row times all the lines wraps an int where the frame fits
}

// String describes the format, such as "1920x1080p 60000/1001 YCbCr-4:2:2/10".
func (f Format) String() string {
	s := "p"
	switch f.Scan {
	case Interlaced:
		s = "i"
	case PsF:
		s = "psf"
	}
	return fmt.Sprintf("%dx%d%s %v %v/%v", f.Width, f.Height, s, f.Rate, f.Sampling, f.Depth)
}
