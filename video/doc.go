// Package video is nmgo's ST 2110-20 framer: pure computation that turns
// uncompressed video frames into RFC 4175 packets written straight into
// slot buffers, and packets back into frames.
//
// # What it is
//
//   - [Format] describes the video (sampling, depth, size, scan, exact frame
//     rate, colorimetry, TCS, range) with [Format.Validate] rejecting what
//     ST 2110-20 and RFC 4175 do not allow, and the pgroup table
//     ([PgroupOf]).
//   - [Packetizer] writes one packet per [Packetizer.Next] into a caller's
//     buffer: general packing (one line per packet in equal pgroup-aligned
//     parts, or lines packed back to back as GStreamer does) or block
//     packing (multiples of 180 octets), extended sequence numbers, the
//     marker on the last packet of each frame or field, 90 kHz timestamps
//     from TAI ([Timestamp]), and the F bit for the second field. With a
//     [github.com/nmgo/nmgo/packet.Template] it writes whole Ethernet frames
//     for a netmap ring; without, the RTP packet for a UDP socket.
//   - [Depacketizer] reassembles packets into a caller's frame buffer from
//     their SRD headers, through loss, reordering, duplicates, late packets
//     and lost markers, with per-frame [FrameStats] and running [Stats]. A
//     row whose line, offset or length falls outside the frame is counted
//     and dropped, never written.
//   - [ParseSDP] and [Session.Marshal] read and write ST 2110-20 session
//     descriptions (with github.com/pion/sdp/v3), including what FFmpeg and
//     GStreamer write.
//   - [Unpack] and [Pack] convert frames between pgroup layout and FFmpeg's
//     raw pixel formats ([PixelFormat]: yuv422p10le, yuv420p, gbrp12le,
//     rgb24, uyvy422, ...).
//   - [Transmitter] sends many streams from one goroutine, each with its
//     own packetizer on its own ST 2110-21 schedule ([Pacer]), interleaved
//     in the order their packets are due, into a [TxQueue]: the slots of a
//     netmap TX ring (*rings.TxRing is one), a socket's batch, a capture.
//     Frames come from a [FrameSource]: frames in memory ([FrameLoop]) or
//     a moving test picture ([Pattern]).
//   - [Receiver] takes Ethernet frames (from an [RxQueue] such as
//     *rings.RxRing, or one by one from a capture) or a socket's RTP
//     packets, demultiplexes them by UDP port (and, where streams name
//     them, destination and source address) into one depacketizer per
//     stream, and analyses each stream: packets per field, packing mode,
//     and the ST 2110-21 timing ([Analyzer]).
//   - [Merge] rebuilds one flow from the copies of its packets that two
//     paths bring (SMPTE ST 2022-7 seamless protection): the first copy of
//     each packet is taken, frames wait up to a window for the other
//     path's copies, and each path is counted ([PathStats], [Skew]).
//
// Frames are kept in pgroup wire layout: the rows of the picture top to
// bottom, each Width/pgroup-width pgroups, no padding; for interlaced video
// and PsF the two fields' rows interleave (see [Format.FrameSize]). A
// 1920x1080 4:2:2 10-bit frame is 5,184,000 octets, the same bytes as
// GStreamer's UYVP and FFmpeg's bitpacked. So general packing is a copy of
// contiguous bytes plus a 20-octet header, and depacketizing a copy back.
//
// # What it is not
//
// It does no I/O: the Transmitter and the Receiver fill and drain queues
// their caller syncs, flushes and waits on. It keeps no clock (TAI comes from
// the caller), and does not decode or scale video. It imports neither nmsys nor rings nor any
// system-call package, and needs no privilege.
//
// # Concurrency
//
// A [Packetizer], a [Depacketizer], a [Transmitter], a [Receiver] or a
// [Merge] is not safe for concurrent use: one goroutine each (a Merge fed
// by two must have them take turns), and they share nothing. [Format], [Session] and
// the conversion functions are plain values and functions; the frame and
// packet buffers passed in belong to the caller, who must not change a frame
// while the packetizer is reading it (until its last packet is written).
// The per-packet paths ([Packetizer.Next], [Depacketizer.Push]) and the
// conversions do not allocate.
package video
