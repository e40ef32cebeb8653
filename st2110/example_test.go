package st2110_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// Receive the frames of the flows an SDP describes from a capture: two
// flows to two multicast groups on one UDP port.
func ExampleListen() {
	sdp, err := os.ReadFile("testdata/flows.sdp")
	if err != nil {
		log.Fatal(err)
	}
	sess, err := video.ParseSDP(sdp)
	if err != nil {
		log.Fatal(err)
	}
	rx, err := st2110.Listen("pcap:testdata/flows.pcap", sess, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer rx.Close()
	for f, err := range rx.Frames(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("flow %d (%v): %d octets, complete %v, latency %v\n",
			f.Flow, rx.Flows()[f.Flow].Dst, len(f.Data), f.Info.Complete, f.Latency.Round(time.Microsecond))
	}
	st := rx.Stats(1)
	fmt.Printf("flow 1: %d packets, %d lost; %v\n", st.Packets, st.Lost, st.Latency.OK())
	// Output:
	// flow 0 (239.1.1.1:5004): 5120 octets, complete true, latency 147µs
	// flow 1 (239.1.1.2:5004): 5120 octets, complete true, latency 147µs
	// flow 0 (239.1.1.1:5004): 5120 octets, complete true, latency 147µs
	// flow 1 (239.1.1.2:5004): 5120 octets, complete true, latency 147µs
	// flow 0 (239.1.1.1:5004): 5120 octets, complete true, latency 147µs
	// flow 1 (239.1.1.2:5004): 5120 octets, complete true, latency 147µs
	// flow 1: 96 packets, 0 lost; true
}

// Send a flow described by a format, to a capture file, and print the SDP
// of what was sent: the sender type, packing, source filter and clock
// reference a receiver needs.
func ExampleDial() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
		Scan: video.Progressive, Rate: video.Rate59_94}
	sess := &video.Session{Name: "example", ID: 1, Origin: netip.MustParseAddr("192.168.1.10"),
		Streams: []video.Stream{{Format: f, Dst: netip.MustParseAddrPort("239.10.0.1:5004")}}}
	clk, err := st2110.NewClock(&st2110.ClockConfig{ForceOffset: true}) // UTC + 37 s, on any host
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "st2110-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	tx, err := st2110.Dial("pcap:"+filepath.Join(dir, "out.pcap"), sess, &st2110.SendConfig{Count: 2, Clock: clk})
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Run(context.Background()); err != nil { // a capture is written at once
		log.Fatal(err)
	}
	if err := tx.Close(); err != nil {
		log.Fatal(err)
	}
	st := tx.Stats(0)
	fmt.Printf("%d frames, %d packets\n", st.Frames, st.Packets)
	sdp, err := tx.SDP()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.ReplaceAll(string(sdp), "\r\n", "\n"))
	// Output:
	// 2 frames, 8640 packets
	// v=0
	// o=- 1 0 IN IP4 192.168.1.10
	// s=example
	// t=0 0
	// m=video 5004 RTP/AVP 96
	// c=IN IP4 239.10.0.1/64
	// a=source-filter: incl IN IP4 239.10.0.1 192.168.1.10
	// a=rtpmap:96 raw/90000
	// a=fmtp:96 sampling=YCbCr-4:2:2; width=1920; height=1080; exactframerate=60000/1001; depth=10; colorimetry=UNSPECIFIED; PM=2110GPM; SSN=ST2110-20:2017; TP=2110TPN;
	// a=ts-refclk:localmac=02-6E-6D-67-6F-01
	// a=mediaclk:direct=0
}

// Send and receive over UDP on the loopback interface: Dial and Listen on
// the same address, frames compared byte for byte.
func Example_loopback() {
	// A free port of 127.0.0.1. It is closed before Listen binds it, and
	// the kernel could hand it to another socket meanwhile: a tiny race,
	// accepted here as an example shows only the public API, and
	// Listen's receiver binds its flows' ports itself (udp:ADDR:PORT), so
	// it cannot be handed a bound socket. The package's tests reserve
	// their ports with internal/porttest instead.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()

	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 640, Height: 480,
		Scan: video.Progressive, Rate: video.Rate50}
	sess := &video.Session{Streams: []video.Stream{{Format: f}}}
	pattern, err := video.NewPattern(&f)
	if err != nil {
		log.Fatal(err)
	}
	rx, err := st2110.Listen("udp:"+addr, sess, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer rx.Close()
	// MaxLag -1: every frame whole, however late the sender runs (by
	// default it skips the frames it fell more than a frame period behind
	// on).
	tx, err := st2110.Dial("udp:"+addr, sess, &st2110.SendConfig{Source: pattern, Count: 3, MaxLag: -1})
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Close()
	go tx.Run(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	for fr, err := range rx.Frames(ctx) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("frame %d: identical %v\n", n, bytes.Equal(fr.Data, pattern.Frame(uint64(n))))
		if n++; n == 3 {
			break
		}
	}
	// Output:
	// frame 0: identical true
	// frame 1: identical true
	// frame 2: identical true
}
