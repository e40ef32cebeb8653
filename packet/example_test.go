package packet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings/ringstest"
)

var cfg = packet.TemplateConfig{
	SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0x01, 0x00, 0x5e, 0x01, 0x02, 0x03},
	Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.1.2.3:5004"),
	PayloadType: 96, SSRC: 0x2110, RFC4175: true,
}

// Build ST 2110-20 packets: the header template is serialized once; per
// packet the payload (SRD header and samples) goes straight into the frame
// buffer and Write patches the header in front of it.
func ExampleTemplate() {
	tpl, err := packet.NewTemplate(&cfg)
	if err != nil {
		panic(err)
	}
	frame := make([]byte, 2048) // a TX slot buffer, in real use
	seq := uint32(0xfffe)       // the 32-bit extended sequence number
	for line := uint16(0); line < 3; line++ {
		p := frame[tpl.Len():]
		packet.PutSRD(p, 1200, false, line, false, 0)
		// ... 1200 bytes of 4:2:2 10-bit samples into p[packet.SRDLen:] ...
		n := tpl.Write(frame, packet.SRDLen+1200, &packet.Fields{Seq: seq, Timestamp: 90000, Marker: line == 2})
		fmt.Printf("frame %d bytes: RTP seq %02x, ESN %02x, marker byte %02x\n",
			n, frame[tpl.Len()-12:tpl.Len()-10], frame[tpl.Len()-2:tpl.Len()], frame[tpl.Len()-13])
		seq++
	}
	// Output:
	// frame 1262 bytes: RTP seq fffe, ESN 0000, marker byte 60
	// frame 1262 bytes: RTP seq ffff, ESN 0000, marker byte 60
	// frame 1262 bytes: RTP seq 0000, ESN 0001, marker byte e0
}

// Decode Ethernet, IPv4, UDP, RTP and the RFC 4175 header in one
// DecodingLayerParser pass, without allocating: packet.UDP leads on to
// RTP, and RTP.NextType to RFC 4175, without registering any UDP port in
// gopacket's global map.
func ExampleUDP() {
	tpl, _ := packet.NewTemplate(&cfg)
	frame := make([]byte, 2048)
	p := frame[tpl.Len():]
	packet.PutSRD(p, 600, false, 539, true, 1440)
	packet.PutSRD(p[packet.SRDLen:], 600, false, 540, false, 0)
	n := tpl.Write(frame, 2*packet.SRDLen+1200, &packet.Fields{Seq: 0x00012345, Timestamp: 3003, Marker: true})

	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		udp     packet.UDP
		rtp     = packet.RTP{NextType: packet.LayerTypeRFC4175}
		video   packet.RFC4175
		samples gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &udp, &rtp, &video, &samples)
	var decoded []gopacket.LayerType
	if err := parser.DecodeLayers(frame[:n], &decoded); err != nil {
		panic(err)
	}
	fmt.Println(decoded)
	fmt.Printf("PT %d seq %d ts %d marker %v SSRC %#x\n", rtp.PayloadType, video.Seq(rtp.SequenceNumber), rtp.Timestamp, rtp.Marker, rtp.SSRC)
	for i, s := range video.SRDs {
		fmt.Printf("row %d: line %d offset %d, %d bytes\n", i, s.Line, s.Offset, len(video.Data(i)))
	}
	// Output:
	// [Ethernet IPv4 UDP RTP RFC4175 Payload]
	// PT 96 seq 74565 ts 3003 marker true SSRC 0x2110
	// row 0: line 539 offset 1440, 600 bytes
	// row 1: line 540 offset 0, 600 bytes
}

// Decode an RTP header on its own, from a UDP payload.
func ExampleRTP() {
	payload := []byte{0x80, 0xe0, 0xfa, 0x9f, 0x2d, 0x0f, 0x8a, 0x13, 0, 0, 0, 0, 0x56, 0x58, 0, 0}
	var rtp packet.RTP
	if err := rtp.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
		panic(err)
	}
	fmt.Println(rtp.PayloadType, rtp.Marker, rtp.SequenceNumber, rtp.Timestamp, len(rtp.Payload))
	err := rtp.DecodeFromBytes(payload[:7], gopacket.NilDecodeFeedback)
	fmt.Println(err)
	// Output:
	// 96 true 64159 755993107 4
	// rtp: truncated header: 7 bytes, need 12
}

// Capture with gopacket from netmap RX rings. Here a ringstest.Port, a
// netmap port in memory, plays the port; with a real one, port is an
// *nmsys.Port.
func ExampleSource() {
	port, err := ringstest.NewPort(&ringstest.Config{RxSlots: 64})
	if err != nil {
		panic(err)
	}
	tpl, _ := packet.NewTemplate(&cfg)
	for i := range 3 {
		f := make([]byte, tpl.Len()+packet.SRDLen+20)
		packet.PutSRD(f[tpl.Len():], 20, false, uint16(i), false, 0)
		port.Inject(0, f[:tpl.Write(f, packet.SRDLen+20, &packet.Fields{Seq: uint32(i)})])
	}
	ring, err := port.RxRing(0)
	if err != nil {
		panic(err)
	}
	src, err := packet.NewSource(port, ring)
	if err != nil {
		panic(err)
	}
	ps := gopacket.NewPacketSource(src, src.LinkType())
	n := 0
	for p := range ps.Packets() { // ends when the port is closed
		udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		fmt.Println(p.Metadata().Length, uint16(udp.DstPort), p.Metadata().Timestamp.UTC().Format(time.RFC3339Nano))
		if n++; n == 3 {
			port.Close() // the Source's WaitRx returns, and Packets ends
		}
	}
	// Output:
	// 82 5004 2023-11-14T22:13:20.000001Z
	// 82 5004 2023-11-14T22:13:20.000001Z
	// 82 5004 2023-11-14T22:13:20.000001Z
}

// Write captured frames to a pcap file that tcpdump, tshark and Wireshark
// read (wrap the file in a bufio.Writer in real use).
func ExamplePcapWriter() {
	var file bytes.Buffer
	w, err := packet.NewPcapWriter(&file, 0)
	if err != nil {
		panic(err)
	}
	tpl, _ := packet.NewTemplate(&cfg)
	f := make([]byte, tpl.Len()+packet.SRDLen)
	n := tpl.Write(f, packet.SRDLen, &packet.Fields{Seq: 1})
	if err := w.WritePacket(time.Unix(1_700_000_000, 250_000), f[:n]); err != nil {
		panic(err)
	}

	r, _ := pcapgo.NewReader(&file)
	data, ci, _ := r.ReadPacketData()
	fmt.Println(r.LinkType(), len(data), ci.Timestamp.UTC().Format(time.StampMicro))
	// Output:
	// Ethernet 62 Nov 14 22:13:20.000250
}

// Read the packets of a capture, pcap or pcapng: here three frames that a
// PcapWriter wrote with nanosecond timestamps, then the same capture cut
// short in the middle of its last packet, which is an error, not an end.
func ExamplePcapReader() {
	var file bytes.Buffer
	w, err := packet.NewPcapWriterNanos(&file, 0)
	if err != nil {
		panic(err)
	}
	tpl, _ := packet.NewTemplate(&cfg)
	f := make([]byte, tpl.Len()+packet.SRDLen)
	for i := range 3 {
		n := tpl.Write(f, packet.SRDLen, &packet.Fields{Seq: uint32(i)})
		if err := w.WritePacket(time.Unix(1_700_000_000, int64(i)*1001), f[:n]); err != nil {
			panic(err)
		}
	}
	capture := file.Bytes()

	for _, in := range [][]byte{capture, capture[:len(capture)-10]} {
		r, err := packet.NewPcapReader(bytes.NewReader(in))
		if err != nil {
			panic(err)
		}
		fmt.Println(r.Format(), r.LinkType())
		for {
			data, ci, err := r.ZeroCopyReadPacketData() // data is valid until the next read
			if err == io.EOF {
				break
			}
			if err != nil {
				fmt.Println("error:", err, "truncated:", errors.Is(err, packet.ErrTruncated))
				break
			}
			p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
			udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			fmt.Println(len(data), uint16(udp.DstPort), ci.Timestamp.UTC().Format(time.RFC3339Nano))
		}
		fmt.Println(r.Packets(), "packets")
	}
	// Output:
	// pcap, nanosecond timestamps Ethernet
	// 62 5004 2023-11-14T22:13:20Z
	// 62 5004 2023-11-14T22:13:20.000001001Z
	// 62 5004 2023-11-14T22:13:20.000002002Z
	// 3 packets
	// pcap, nanosecond timestamps Ethernet
	// 62 5004 2023-11-14T22:13:20Z
	// 62 5004 2023-11-14T22:13:20.000001001Z
	// error: packet: capture: packet 3 at offset 180 cut short: 78 octets announced, 68 in the file truncated: true
	// 2 packets
}
