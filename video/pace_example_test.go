package video_test

import (
	"fmt"
	"log"

	"github.com/nmgo/nmgo/video"
)

// The ST 2110-21 constants of a 1080p59.94 narrow sender, 4:2:2 10-bit in
// single-line GPM packets.
func ExampleTiming_Params() {
	t := video.Timing{Rate: video.Rate59_94, Scan: video.Progressive, Height: 1080, Packets: 4320}
	p, err := t.Params(video.SenderNarrow)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v: NPACKETS %d, RACTIVE %d/%d\n", p.Sender, p.Packets, p.RActive[0], p.RActive[1])
	fmt.Println("TFRAME", p.TFrame, "TRS", p.TRS, "TROffset", p.TROffset, "T_DRAIN", p.TDrain)
	fmt.Println("CMAX", p.CMax, "VRX_FULL", p.VRXFull)
	// Output:
	// 2110TPN: NPACKETS 4320, RACTIVE 1080/1125
	// TFRAME 16.683333ms TRS 3.707µs TROffset 637.674µs T_DRAIN 3.511µs
	// CMAX 6 VRX_FULL 9
}

// A paced 1080p59.94 narrow sender checked by the analyzer: three frames
// sent on schedule, five packets ahead of the ideal read schedule.
func ExampleAnalyzer() {
	const start = 1_780_000_000_000_000_000 // TAI ns, in 2026
	tm := video.Timing{Rate: video.Rate59_94, Scan: video.Progressive, Height: 1080, Packets: 4320}
	p, err := tm.Params(video.SenderNarrow)
	if err != nil {
		log.Fatal(err)
	}
	pacer, err := video.NewPacer(p, nil)
	if err != nil {
		log.Fatal(err)
	}
	a, err := video.NewAnalyzer(tm)
	if err != nil {
		log.Fatal(err)
	}
	pacer.Start(start)
	for range 3 * tm.Packets {
		frame, k := pacer.Pos()
		at := pacer.Next() // a real sender waits until then
		pacer.Due(at, 1)
		a.Packet(at, video.Timestamp(pacer.FrameTime(frame)), k == tm.Packets-1)
	}
	fmt.Println(a.Report())
	// Output:
	// 4320 pkts/frame gapped: 2110TPN, Cinst 0, VRX 5..5, TRO 619.138µs
}
