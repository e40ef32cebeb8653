package vale_test

import (
	"context"
	"testing"
	"time"

	"github.com/nmgo/nmgo/nmsys"
)

// BenchmarkVALETx: fill and publish 512 60-byte frames, then TxSync, per
// iteration, on a VALE port (the switch forwards them to a port nobody
// reads, so this is the sender's cost including the kernel's forwarding).
func BenchmarkVALETx(b *testing.B) {
	for _, size := range []int{60, 1500} {
		b.Run(sizeName(size), func(b *testing.B) {
			p := open(b, "vale18:tx", &nmsys.Config{TxOnly: true})
			open(b, "vale18:sink", &nmsys.Config{RxOnly: true})
			tx, err := p.TxRing(0)
			if err != nil {
				b.Fatal(err)
			}
			f := frame(size, 0)
			n, _ := tx.Reserve(tx.NumSlots())
			for i := 0; i < n; i++ {
				copy(tx.Buf(i), f)
			}
			var pkts int
			b.ReportAllocs()
			b.SetBytes(int64(512 * size))
			for b.Loop() {
				n, err := tx.Reserve(512)
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < n; i++ {
					tx.SetLen(i, size)
				}
				tx.Publish(n)
				pkts += n
				if err := p.TxSync(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// BenchmarkVALERx: view and release received frames, with a sender
// goroutine on another port of the switch sending flat out. An iteration
// is one pass over what the ring holds, at least one frame: a pass that
// finds the ring empty waits for the sender and looks again, so that a
// single iteration (CI runs each benchmark once) receives something.
func BenchmarkVALERx(b *testing.B) {
	for _, size := range []int{60, 1500} {
		b.Run(sizeName(size), func(b *testing.B) {
			rxp := open(b, "vale19:rx", &nmsys.Config{RxOnly: true, NoTxPoll: true})
			txp := open(b, "vale19:tx", &nmsys.Config{TxOnly: true})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				tx, _ := txp.TxRing(0)
				f := frame(size, 0)
				for ctx.Err() == nil {
					n, _ := tx.Reserve(256)
					for i := 0; i < n; i++ {
						copy(tx.Buf(i), f)
						tx.SetLen(i, size)
					}
					tx.Publish(n)
					if txp.TxSync() != nil {
						return
					}
				}
			}()
			defer func() { cancel(); <-done }()
			rx, err := rxp.RxRing(0)
			if err != nil {
				b.Fatal(err)
			}
			rxp.SetReadDeadline(time.Now().Add(time.Minute))
			var pkts, bytes int
			b.ReportAllocs()
			for b.Loop() {
				n, err := rx.Acquire(512)
				for err == nil && n == 0 {
					if err = rxp.WaitRx(); err == nil {
						n, err = rx.Acquire(512)
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < n; i++ {
					pkt, _ := rx.Packet(i)
					bytes += len(pkt)
				}
				rx.Release(n)
				pkts += n
				if err := rxp.RxSync(); err != nil {
					b.Fatal(err)
				}
			}
			if pkts == 0 || bytes != pkts*size {
				b.Fatalf("received %d frames, %d octets: want at least one frame, each %d octets", pkts, bytes, size)
			}
			b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(pkts)/float64(b.N), "pkts/op")
		})
	}
}

func sizeName(n int) string {
	if n == 60 {
		return "60B"
	}
	return "1500B"
}
