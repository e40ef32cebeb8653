//go:build 386 || arm || mipsle

package abi

import "unsafe"

// pointer is a 32-bit little-endian platform's pointer widened to a C
// uint64_t address field: the 4-byte pointer is the low half, the zero
// upper half follows. The kernel (a 32-bit one, or a 64-bit one through its
// compat ioctl entry) reads the 8 bytes as the zero-extended address.
type pointer struct {
	ptr unsafe.Pointer
	_   uint32
}
