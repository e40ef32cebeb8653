// Package packet builds and decodes the headers nmgo puts on the wire, with
// gopacket (github.com/gopacket/gopacket, the maintained continuation of
// google/gopacket) for correctness and prebuilt header templates for speed:
// a [UDPTemplate] is serialized once by gopacket and then copied and patched
// per packet without allocating.
//
// It does no I/O, needs no privilege, and imports neither nmsys nor any
// system-call package. A template is read-only after construction and safe
// for concurrent use; writing into a destination buffer is the caller's
// business.
package packet
