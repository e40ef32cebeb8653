//go:build !freebsd

package abi

// Linux encoding of the argument-less sync requests: _IO('i', n).
const (
	NIOCTXSYNC = 0x00006994 // _IO('i', 148)
	NIOCRXSYNC = 0x00006995 // _IO('i', 149)
)
