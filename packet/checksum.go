package packet

import (
	"encoding/binary"
	"math/bits"
)

// Internet checksum (RFC 1071) helpers. The one's-complement sum is order
// independent and may be accumulated in wider words with end-around carry;
// folding the wide sum back to 16 bits gives the 16-bit sum.

// sum64 returns the one's-complement sum of b read as big-endian 16-bit
// words (an odd final byte is the high half of a word padded with zero),
// accumulated 64 bits at a time and folded to 32 bits, so that callers may
// add further 32-bit terms in a uint64 without overflow.
func sum64(b []byte) uint64 {
	var acc, c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) > 0 {
		var w [8]byte
		copy(w[:], b)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(w[:]), c)
	}
	acc, c = bits.Add64(acc, 0, c)
	acc += c
	// Fold to 32 bits (with end-around carry).
	acc = acc>>32 + acc&0xffffffff
	return acc>>32 + acc&0xffffffff
}

// fold64 folds a one's-complement sum to 16 bits. Folding never turns a
// non-zero sum into 0, so the sum of any non-zero data stays non-zero, as
// in end-around-carry arithmetic.
func fold64(s uint64) uint16 {
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

// fold32 is fold64 for a sum known to fit in 32 bits (an IPv4 header's):
// two steps instead of four on the per-packet path.
func fold32(s uint32) uint16 {
	s = s>>16 + s&0xffff
	s += s >> 16
	return uint16(s)
}
