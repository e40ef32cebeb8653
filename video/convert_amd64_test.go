//go:build amd64 && !purego

package video

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestConvertAsm runs each assembly kernel alone over 0 to 40 blocks
// against the pure-Go kernel: TestConvertKernels reaches the SSE2 4:2:2
// kernel only for the one block AVX2 leaves, where the CPU has AVX2.
func TestConvertAsm(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	fill := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	type split func(a, b, c, src []byte)
	for _, k := range []struct {
		name  string
		ok    bool
		block int
		lens  func(n int) [3]int
		asm   split
		ref   split
	}{
		{"unpackUYVYSSE2", true, 64, func(n int) [3]int { return [3]int{n / 2, n / 4, n / 4} }, unpackUYVYSSE2, unpackUYVYGo},
		{"unpackUYVYAVX2", cpu.X86.HasAVX2, 128, func(n int) [3]int { return [3]int{n / 2, n / 4, n / 4} }, unpackUYVYAVX2, unpackUYVYGo},
		{"split3SSSE3", cpu.X86.HasSSSE3, 48, func(n int) [3]int { return [3]int{n / 3, n / 3, n / 3} }, split3SSSE3, deinterleave3Go},
	} {
		if !k.ok {
			t.Logf("%s: the CPU lacks its instructions; not run", k.name)
			continue
		}
		for blocks := range 41 {
			src := fill(blocks * k.block)
			l := k.lens(len(src))
			got := [3][]byte{make([]byte, l[0]), make([]byte, l[1]), make([]byte, l[2])}
			want := [3][]byte{make([]byte, l[0]), make([]byte, l[1]), make([]byte, l[2])}
			k.asm(got[0], got[1], got[2], src)
			k.ref(want[0], want[1], want[2], src)
			for i := range got {
				if string(got[i]) != string(want[i]) {
					t.Fatalf("%s, %d blocks: plane %d differs at %d", k.name, blocks, i, firstDiff(got[i], want[i]))
				}
			}
		}
	}
	type merge func(dst, a, b, c []byte)
	for _, k := range []struct {
		name  string
		ok    bool
		block int
		lens  func(n int) [3]int
		asm   merge
		ref   merge
	}{
		{"packUYVYSSE2", true, 64, func(n int) [3]int { return [3]int{n / 2, n / 4, n / 4} }, packUYVYSSE2, packUYVYGo},
		{"merge3SSSE3", cpu.X86.HasSSSE3, 48, func(n int) [3]int { return [3]int{n / 3, n / 3, n / 3} }, merge3SSSE3, interleave3Go},
	} {
		if !k.ok {
			t.Logf("%s: the CPU lacks its instructions; not run", k.name)
			continue
		}
		for blocks := range 41 {
			n := blocks * k.block
			l := k.lens(n)
			p := [3][]byte{fill(l[0]), fill(l[1]), fill(l[2])}
			got, want := make([]byte, n), make([]byte, n)
			k.asm(got, p[0], p[1], p[2])
			k.ref(want, p[0], p[1], p[2])
			if string(got) != string(want) {
				t.Fatalf("%s, %d blocks: differs at %d", k.name, blocks, firstDiff(got, want))
			}
		}
	}
}
