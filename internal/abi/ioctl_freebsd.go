package abi

// FreeBSD encoding of the argument-less sync requests: _IO('i', n) sets
// IOC_VOID (0x20000000).
const (
	NIOCTXSYNC = 0x20006994 // _IO('i', 148)
	NIOCRXSYNC = 0x20006995 // _IO('i', 149)
)
