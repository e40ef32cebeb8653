package video_test

import (
	"fmt"
	"log"

	"github.com/nmgo/nmgo/video"
)

// queue is a TxQueue and an RxQueue over a few buffers: what the
// Transmitter publishes, a Receiver drains. A netmap TX ring and RX ring
// (*rings.TxRing, *rings.RxRing) have the same methods.
type queue struct {
	bufs  [][]byte
	lens  []int
	ready int // published, not yet drained
}

func (q *queue) Reserve(n int) (int, error)   { return min(n, len(q.bufs)), nil }
func (q *queue) Buf(i int) []byte             { return q.bufs[i] }
func (q *queue) SetLen(i, n int)              { q.lens[i] = n }
func (q *queue) Publish(n int)                { q.ready = n }
func (q *queue) Acquire(n int) (int, error)   { return min(n, q.ready), nil }
func (q *queue) Packet(i int) ([]byte, error) { return q.bufs[i][:q.lens[i]], nil }
func (q *queue) Release(n int)                { q.ready = 0 }

// A 720p50 stream on the narrow schedule, sent on a virtual clock that
// jumps to each packet's send time, straight into a receiver that analyses
// its timing. Without a packet.Template the transmitter writes RTP packets
// for a socket; here they go to the receiver's PushRTP.
func ExampleTransmitter() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1280, Height: 720,
		Scan: video.Progressive, Rate: video.Rate50}
	pattern, err := video.NewPattern(&f)
	if err != nil {
		log.Fatal(err)
	}
	tx, err := video.NewTransmitter(&video.TransmitterConfig{Streams: []video.TxStream{
		{Format: f, TP: video.SenderNarrow, Frames: pattern, Count: 4},
	}})
	if err != nil {
		log.Fatal(err)
	}
	frames := 0
	rx, err := video.NewReceiver(&video.ReceiverConfig{Streams: []video.RxStream{
		{Format: f, OnFrame: func(frame []byte, st *video.FrameStats) { frames++ }},
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
	for !tx.Done() {
		now = tx.Next()
		n, _, err := tx.Step(q, now, len(q.bufs))
		if err != nil {
			log.Fatal(err)
		}
		for i := range n {
			pkt, _ := q.Packet(i)
			rx.PushRTP(0, pkt, now)
		}
		q.Release(n)
	}
	st := rx.Stats(0)
	a, _ := rx.Analysis(0)
	fmt.Printf("%d frames, %d packets, %d lost\n", frames, st.Packets, st.Lost)
	fmt.Println(a)
	// Output:
	// 4 frames, 8640 packets, 0 lost
	// 2160 pkts/frame 2110GPM gapped: 2110TPN, Cinst 0, VRX 4..4, TRO 711.112µs
}
