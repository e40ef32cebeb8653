package video

import "math/rand/v2"

// randomFrame returns a frame of f's size with pseudo-random content.
func randomFrame(f *Format, seed uint64) []byte {
	b := make([]byte, f.FrameSize())
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
