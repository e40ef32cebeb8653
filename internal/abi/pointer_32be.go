//go:build mips

package abi

import "unsafe"

// pointer is a 32-bit big-endian platform's pointer widened to a C
// uint64_t address field: the zero upper half comes first, then the 4-byte
// pointer as the low half.
type pointer struct {
	_   uint32
	ptr unsafe.Pointer
}
