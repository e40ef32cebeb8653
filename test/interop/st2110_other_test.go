//go:build !linux

package interop

// mcastRcvbufErrors: the multicast tests' namespace is Linux's.
func mcastRcvbufErrors() int64 { return -1 }
