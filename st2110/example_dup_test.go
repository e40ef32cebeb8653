package st2110_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// ST 2022-7 seamless protection: send a flow on two paths (here two
// captures), each copy to its own group, then receive both and rebuild
// the flow once from whichever copy of each packet comes first.
func ExampleListenConfig_second() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 64, Height: 32,
		Scan: video.Progressive, Rate: video.Rate50}
	sess := &video.Session{Name: "example", ID: 1, Origin: netip.MustParseAddr("192.168.1.10"),
		Streams: []video.Stream{{Format: f, Dst: netip.MustParseAddrPort("239.10.0.1:5004"),
			Second: video.Leg{Dst: netip.MustParseAddrPort("239.20.0.1:5004")}}}}
	dir, err := os.MkdirTemp("", "st2110-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	a, b := "pcap:"+filepath.Join(dir, "a.pcap"), "pcap:"+filepath.Join(dir, "b.pcap")
	tx, err := st2110.Dial(a, sess, &st2110.SendConfig{Count: 3, Second: b})
	if err != nil {
		log.Fatal(err)
	}
	if err := tx.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	if err := tx.Close(); err != nil {
		log.Fatal(err)
	}
	// What the sender sent, as an SDP: the flow's two legs (a=group:DUP).
	sent := tx.Session()
	rx, err := st2110.Listen(a, sent, &st2110.ListenConfig{Second: b, MergeWindow: video.SkewClassA})
	if err != nil {
		log.Fatal(err)
	}
	defer rx.Close()
	for fr, err := range rx.Frames(context.Background()) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("frame: %d packets, complete %v, first copies from path 0: %d, from path 1: %d\n",
			fr.Info.Packets, fr.Info.Complete, fr.Info.Paths[0], fr.Info.Paths[1])
	}
	st := rx.Stats(0)
	fmt.Printf("flow: %d packets, %d lost, %d duplicates absorbed\n", st.Packets, st.Lost, st.Duplicates)
	for p := range 2 {
		ps := rx.PathStats(0, p)
		fmt.Printf("path %d (%v): %d packets, %d first\n", p, sent.Streams[0].Leg(p).Dst, ps.Packets, ps.Taken)
	}
	// Output:
	// frame: 32 packets, complete true, first copies from path 0: 32, from path 1: 0
	// frame: 32 packets, complete true, first copies from path 0: 32, from path 1: 0
	// frame: 32 packets, complete true, first copies from path 0: 32, from path 1: 0
	// flow: 96 packets, 0 lost, 96 duplicates absorbed
	// path 0 (239.10.0.1:5004): 96 packets, 96 first
	// path 1 (239.20.0.1:5004): 96 packets, 0 first
}
