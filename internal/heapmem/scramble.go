package heapmem

import "math/rand/v2"

// Scramble writes a value chosen by rng, often one netmap would reject
// (past the ring, past the pool, all ones), into one of head, cur or tail
// of the ring at ringOff, or into the buffer index, length or flags of
// one of its slots: what a hostile or broken kernel could leave there.
func (r *Region) Scramble(rng *rand.Rand, ringOff int) {
	slots := 1
	for _, ks := range [][]kring{r.tx, r.rx} {
		for _, k := range ks {
			if k.off == ringOff {
				slots = int(k.n)
			}
		}
	}
	vals := []uint32{0, 1, 2, uint32(slots - 1), uint32(slots), 1 << 31, ^uint32(0),
		uint32(rng.IntN(4 * slots)), uint32(r.NumBufs), uint32(r.NumBufs - 1)}
	v := vals[rng.IntN(len(vals))]
	s := rng.IntN(slots)
	switch rng.IntN(6) {
	case 0:
		r.SetTail(ringOff, v)
	case 1:
		r.SetHead(ringOff, v)
	case 2:
		r.SetCur(ringOff, v)
	case 3:
		r.SetBufIdx(ringOff, s, v)
	case 4:
		r.SetLen(ringOff, s, uint16(v))
	case 5:
		r.SetFlags(ringOff, s, uint16(v))
	}
}
