//go:build amd64 && !purego

package video

import "golang.org/x/sys/cpu"

// The 8-bit kernels are byte permutations, which scalar code does a few
// octets a cycle and a vector shuffle 16 or 32 at a time. On amd64 the
// 4:2:2 ones use SSE2, which every amd64 CPU has (so there is no feature
// check), and AVX2 where the CPU has it for pgroups to planes (which
// FFmpeg's swscale does at about the speed of copy()); the 3-sample ones
// use SSSE3's PSHUFB where the CPU has it. The assembly handles whole
// blocks (128, 64 and 48 octets of pgroups) and the Go kernels the rest.
// TestConvertKernels holds the kernels Unpack and Pack use to the Go ones
// and to byte loops, TestConvertAsm each assembly function alone. Build
// with -tags purego for Go only.

//go:noescape
func unpackUYVYSSE2(y, u, v, src []byte)

//go:noescape
func packUYVYSSE2(dst, y, u, v []byte)

//go:noescape
func unpackUYVYAVX2(y, u, v, src []byte)

func unpackUYVY(y, u, v, src []byte) {
	// The assembly trusts the lengths: check them here.
	y, u, v = y[:len(src)/2], u[:len(src)/4], v[:len(src)/4]
	n := 0 // octets of src done
	if cpu.X86.HasAVX2 {
		if n = len(src) &^ 127; n > 0 {
			unpackUYVYAVX2(y[:n/2], u[:n/4], v[:n/4], src[:n])
		}
	}
	if m := n + (len(src)-n)&^63; m > n {
		unpackUYVYSSE2(y[n/2:m/2], u[n/4:m/4], v[n/4:m/4], src[n:m])
		n = m
	}
	unpackUYVYGo(y[n/2:], u[n/4:], v[n/4:], src[n:])
}

func packUYVY(dst, y, u, v []byte) {
	n := len(dst) &^ 63
	if n > 0 {
		y, u, v = y[:len(dst)/2], u[:len(dst)/4], v[:len(dst)/4]
		packUYVYSSE2(dst[:n], y[:n/2], u[:n/4], v[:n/4])
	}
	packUYVYGo(dst[n:], y[n/2:], u[n/4:], v[n/4:])
}

//go:noescape
func split3SSSE3(d0, d1, d2, src []byte)

//go:noescape
func merge3SSSE3(dst, s0, s1, s2 []byte)

func deinterleave3(d0, d1, d2, src []byte) {
	n := len(src) / 48 * 48
	if n > 0 && cpu.X86.HasSSSE3 {
		d0, d1, d2 = d0[:len(src)/3], d1[:len(src)/3], d2[:len(src)/3]
		split3SSSE3(d0[:n/3], d1[:n/3], d2[:n/3], src[:n])
		d0, d1, d2, src = d0[n/3:], d1[n/3:], d2[n/3:], src[n:]
	}
	deinterleave3Go(d0, d1, d2, src)
}

func interleave3(dst, s0, s1, s2 []byte) {
	n := len(dst) / 48 * 48
	if n > 0 && cpu.X86.HasSSSE3 {
		s0, s1, s2 = s0[:len(dst)/3], s1[:len(dst)/3], s2[:len(dst)/3]
		merge3SSSE3(dst[:n], s0[:n/3], s1[:n/3], s2[:n/3])
		dst, s0, s1, s2 = dst[n:], s0[n/3:], s1[n/3:], s2[n/3:]
	}
	interleave3Go(dst, s0, s1, s2)
}
