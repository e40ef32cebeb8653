// Package packet builds, decodes and captures the packets nmgo puts on the
// wire, with gopacket (github.com/gopacket/gopacket, the maintained
// continuation of google/gopacket) for correctness and prebuilt header
// templates for speed.
//
// Layers. [RTP] (RFC 3550) and [RFC4175] (the RFC 4175 payload header of
// ST 2110-20 video: extended sequence number and sample row data headers)
// are gopacket DecodingLayers and SerializableLayers, registered as
// [LayerTypeRTP] and [LayerTypeRFC4175] (layer numbers 1350 and 1351).
// They decode without allocating and return errors matching
// [ErrTruncated] or [ErrMalformed] for bad input, never panicking. RTP has
// no port of its own, and this package never touches gopacket's global
// port maps: decode RTP from a UDP payload, or put [UDP] in a
// DecodingLayerParser in place of layers.UDP to decode Ethernet, 802.1Q,
// IPv4/IPv6, UDP, RTP and RFC 4175 in one pass. [PutSRD] and [ReadSRD]
// write and read one SRD header for framers.
//
// Templates. A [Template] is an Ethernet [802.1Q] IPv4/IPv6 UDP RTP [RFC
// 4175] header serialized once by gopacket; [Template.Write] copies it in
// front of a payload already in the frame buffer and patches lengths,
// IPv4 identification, RTP sequence number, timestamp and marker, the
// extended sequence number and the checksums (incrementally, RFC 1624)
// without allocating. [UDPTemplate] is the same idea for plain
// Ethernet/IPv4/UDP frames.
//
// Capture. A [Source] reads netmap RX rings (package rings) as a
// gopacket.ZeroCopyPacketDataSource and PacketDataSource, so
// gopacket.NewPacketSource works on a netmap port; the port's side (sync
// and wait) is the small [RxPort] interface, which nmsys.Port satisfies.
// [PcapWriter] writes captured frames to pcap files with pcapgo, with
// microsecond or nanosecond timestamps. [PcapReader] reads pcap and pcapng
// files (any link type; the caller looks at it) without allocating per
// packet, and reports a file cut short in the middle of a packet, or one
// that is not a capture at all, as an error.
//
// The package does no system calls itself and needs no privilege; a Source
// needs whatever its port needed to open (usually root). Templates are
// read-only after construction and safe for concurrent use; layers,
// Sources, PcapWriters and PcapReaders belong to one goroutine at a time.
package packet
