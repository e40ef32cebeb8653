package video_test

import (
	"fmt"
	"log"

	"github.com/nmgo/nmgo/video"
)

// Two paths of one 720p50 flow (SMPTE ST 2022-7), each losing packets the
// other brings: path 0 loses every 50th packet, path 1 as many others and
// the last ten (a path's Lost counts up to the highest it brought). The
// merge takes the first copy of each packet and hands out every frame
// whole. The packets come from a Transmitter, as in
// the Transmitter's example, and go to Merge.Push, as a Receiver with
// RxStream.Merge set hands them on.
func ExampleMerge() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1280, Height: 720,
		Scan: video.Progressive, Rate: video.Rate50}
	pattern, err := video.NewPattern(&f)
	if err != nil {
		log.Fatal(err)
	}
	tx, err := video.NewTransmitter(&video.TransmitterConfig{Streams: []video.TxStream{
		{Format: f, TP: video.SenderNarrow, Frames: pattern, Count: 3},
	}})
	if err != nil {
		log.Fatal(err)
	}
	complete := 0
	m, err := video.NewMerge(&video.MergeConfig{Format: f, Window: video.SkewClassA,
		OnFrame: func(frame []byte, st *video.FrameStats) {
			if st.Complete {
				complete++
			}
		}})
	if err != nil {
		log.Fatal(err)
	}
	q := &queue{bufs: make([][]byte, 16), lens: make([]int, 16)}
	for i := range q.bufs {
		q.bufs[i] = make([]byte, tx.Packetizer(0).MaxPacketLen())
	}
	now := int64(1_800_000_000_000_000_000) // TAI nanoseconds
	if err := tx.Start(now, 0); err != nil {
		log.Fatal(err)
	}
	sent := 0
	for !tx.Done() {
		now = tx.Next()
		n, _, err := tx.Step(q, now, len(q.bufs))
		if err != nil {
			log.Fatal(err)
		}
		for i := range n {
			pkt, _ := q.Packet(i)
			sent++
			if sent%50 != 0 {
				m.Push(0, pkt, now)
			}
			if sent%50 != 25 && sent <= 3*2160-10 {
				m.Push(1, pkt, now+100_000) // 100 µs behind path 0
			}
		}
		q.Release(n)
	}
	m.Flush() // both paths have ended
	st := m.Stats()
	p0, p1 := m.PathStats(0), m.PathStats(1)
	fmt.Printf("%d packets, %d frames complete, %d lost\n", st.Packets, complete, st.Lost)
	fmt.Printf("path 0: %d taken, %d lost\n", p0.Taken, p0.Lost)
	fmt.Printf("path 1: %d taken, %d absorbed as duplicates, %d lost\n", p1.Taken, p1.Duplicates, p1.Lost)
	// Output:
	// 6480 packets, 3 frames complete, 0 lost
	// path 0: 6351 taken, 129 lost
	// path 1: 129 taken, 6212 absorbed as duplicates, 129 lost
}
