//go:build !(386 || arm || mipsle || mips)

package abi

import "unsafe"

// pointer is a 64-bit platform's pointer: already the 8 bytes of a C
// uint64_t address field.
type pointer struct {
	ptr unsafe.Pointer
}
