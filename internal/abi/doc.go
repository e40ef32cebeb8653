// Package abi mirrors the netmap kernel ABI (API version 14) that nmgo speaks:
// the ioctl request numbers, the NETMAP_REQ_* request types and their bodies,
// the option header, and the shared-memory layouts of netmap_if, netmap_ring
// and netmap_slot.
//
// Constants keep netmap's C spelling so they can be grepped against netmap.h
// and netmap's own documentation (NIOCCTRL, NR_REG_ALL_NIC, NS_BUF_CHANGED); structs get Go names
// (ReqHeader, ReqRegister, If, RingHeader, Slot). Every struct is laid out
// with structs.HostLayout, spells C padding explicitly and carries a
// compile-time size guard, so a wrong layout fails the build. A golden test
// checks every offset against the layout measured with gcc on the C headers.
// The layouts are those of a 64-bit kernel on every platform: netmap's
// fields are fixed-width (its user pointers are uint64_t, which [Pointer]
// widens a 32-bit pointer to), so a 32-bit program builds the same bytes,
// and the guards hold for GOARCH=386 and arm as for amd64.
//
// This package does not issue system calls and holds no state; it is
// internal because its names are netmap's, not nmgo's API. It needs no
// privilege and everything in it is safe for concurrent use.
package abi
