//go:build !amd64 || purego

package video

// The kernels are the pure-Go ones where no vector version is built.

func unpackUYVY(y, u, v, src []byte) { unpackUYVYGo(y, u, v, src) }

func packUYVY(dst, y, u, v []byte) { packUYVYGo(dst, y, u, v) }

func deinterleave3(d0, d1, d2, src []byte) { deinterleave3Go(d0, d1, d2, src) }

func interleave3(dst, s0, s1, s2 []byte) { interleave3Go(dst, s0, s1, s2) }
