package video_test

import (
	"fmt"
	"log"
	"net/netip"
	"strings"

	"github.com/nmgo/nmgo/video"
)

// The packet plan of a 1080p59.94 4:2:2 10-bit frame in the two packing
// modes.
func ExamplePacketizer_Packets() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
		Scan: video.Progressive, Rate: video.Rate59_94}
	for _, c := range []*video.PacketizerConfig{nil, {Packing: video.BPM}} { // nil: GPM, one line per packet
		p, err := video.NewPacketizer(&f, c)
		if err != nil {
			log.Fatal(err)
		}
		sizes := map[int]int{} // sample octets -> packets
		srds := 0
		for pk := range p.Packets() {
			n := 0
			for _, s := range pk.Segments {
				n += s.Length
			}
			sizes[n]++
			srds += len(pk.Segments)
		}
		fmt.Printf("%v %v: %d packets, %d SRDs, max %d octets; sample octets per packet %v\n",
			f, p.Packing(), p.PacketsPerFrame(), srds, p.MaxPacketLen(), sizes)
	}
	// Output:
	// 1920x1080p 60000/1001 YCbCr-4:2:2/10 2110GPM: 4320 packets, 4320 SRDs, max 1220 octets; sample octets per packet map[1200:4320]
	// 1920x1080p 60000/1001 YCbCr-4:2:2/10 2110BPM: 4115 packets, 5143 SRDs, max 1286 octets; sample octets per packet map[360:1 1260:4114]
}

// The first packets of a 2160p frame: seven per line, the last one shorter.
func ExamplePacketizer_Packets_uhd() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 3840, Height: 2160,
		Scan: video.Progressive, Rate: video.Rate50}
	p, err := video.NewPacketizer(&f, nil)
	if err != nil {
		log.Fatal(err)
	}
	i := 0
	for pk := range p.Packets() {
		s := pk.Segments[0]
		fmt.Printf("packet %d: line %d offset %4d length %d\n", i, s.Line, s.Offset, s.Length)
		if i++; i == 8 {
			break
		}
	}
	fmt.Println(p.PacketsPerFrame(), "packets per frame")
	// Output:
	// packet 0: line 0 offset    0 length 1375
	// packet 1: line 0 offset  550 length 1375
	// packet 2: line 0 offset 1100 length 1375
	// packet 3: line 0 offset 1650 length 1375
	// packet 4: line 0 offset 2200 length 1375
	// packet 5: line 0 offset 2750 length 1375
	// packet 6: line 0 offset 3300 length 1350
	// packet 7: line 1 offset    0 length 1375
	// 15120 packets per frame
}

func ExampleSession_Marshal() {
	s := video.Session{Origin: netip.MustParseAddr("192.168.100.2"), ID: 1, Version: 1, Name: "nmgo",
		Streams: []video.Stream{{
			Format: video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
				Scan: video.Interlaced, Rate: video.Rate29_97, Colorimetry: video.BT709, TCS: video.SDR},
			PayloadType: 96,
			Dst:         netip.MustParseAddrPort("239.1.1.1:5004"), TTL: 64, Source: netip.MustParseAddr("192.168.100.2"),
			RefClock: "ptp=IEEE1588-2008:traceable",
		}}}
	b, err := s.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.ReplaceAll(string(b), "\r\n", "\n")) // SDP lines end in CRLF
	// Output:
	// v=0
	// o=- 1 1 IN IP4 192.168.100.2
	// s=nmgo
	// t=0 0
	// m=video 5004 RTP/AVP 96
	// c=IN IP4 239.1.1.1/64
	// a=source-filter: incl IN IP4 239.1.1.1 192.168.100.2
	// a=rtpmap:96 raw/90000
	// a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; exactframerate=30000/1001; depth=10; TCS=SDR; colorimetry=BT709; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPW; interlace;
	// a=ts-refclk:ptp=IEEE1588-2008:traceable
	// a=mediaclk:direct=0
}

func ExampleParseSDP() {
	s, err := video.ParseSDP([]byte("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=No Name\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=video 5004 RTP/AVP 96\r\na=rtpmap:96 raw/90000\r\n" +
		"a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10\r\n"))
	if err != nil {
		log.Fatal(err)
	}
	st := s.Streams[0]
	fmt.Println(st.Format, st.Dst, st.Format.FrameSize(), "octets per frame")
	// Output:
	// 1920x1080p 0 YCbCr-4:2:2/10 127.0.0.1:5004 5184000 octets per frame
}
