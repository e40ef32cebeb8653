package rings_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
)

// Benchmarks run the real ring code over a heap region. Between batches an
// instant "kernel" makes every slot available again with one atomic store
// to tail, so they measure the user side only: per batch one tail load, a
// buffer-index check and a copy per slot, two stores to head and cur.
//
//	go test -run '^$' -bench . -count 10 ./rings | benchstat -
//
// Compare BenchmarkTxFillPublish and BenchmarkRxViewRelease with
// BenchmarkCopy, which copies the same bytes into (out of) the same
// buffers without the ring: the ratio is the ring's overhead.

const benchBatch = 256

var benchSizes = []int{60, 1500}

func benchRegion(b *testing.B) *heapmem.Region {
	return region(b, &heapmem.Config{TxSlots: 1024, RxSlots: 1024, BufSize: 2048})
}

// tailOf returns the shared tail word of the ring at off.
func tailOf(r *heapmem.Region, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.Mem[off+abi.RingTail]))
}

// headOf returns the shared head word of the ring at off.
func headOf(r *heapmem.Region, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.Mem[off+abi.RingHead]))
}

func reportPkts(b *testing.B, pkts int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(pkts)/s, "pkts/s")
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(pkts), "ns/pkt")
	}
}

func BenchmarkTxFillPublish(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			r := benchRegion(b)
			tx := txRing(b, r, 0)
			to := r.TxRingOff(0)
			tail, head := tailOf(r, to), headOf(r, to)
			pkt := payload(1, size)
			b.SetBytes(int64(benchBatch * size))
			b.ReportAllocs()
			pkts := 0
			for b.Loop() {
				n, err := tx.Reserve(benchBatch)
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					tx.SetLen(i, copy(tx.Buf(i), pkt))
				}
				tx.Publish(n)
				pkts += n
				tail.Store((head.Load() + 1023) % 1024) // all sent
			}
			reportPkts(b, pkts)
		})
	}
}

func BenchmarkRxViewRelease(b *testing.B) {
	for _, size := range benchSizes {
		for _, touch := range []bool{true, false} {
			name := fmt.Sprint(size)
			if !touch {
				name += "-nocopy"
			}
			if !touch && size != benchSizes[0] {
				continue // the same as for the first size
			}
			b.Run(name, func(b *testing.B) {
				r := benchRegion(b)
				fillRx(r, 0, size, 1)
				rx := rxRing(b, r, 0)
				ro := r.RxRingOff(0)
				tail, head := tailOf(r, ro), headOf(r, ro)
				dst := make([]byte, 2048)
				pkts := make([][]byte, benchBatch)
				if touch {
					b.SetBytes(int64(benchBatch * size))
				}
				b.ReportAllocs()
				count, sum := 0, 0
				for b.Loop() {
					n, err := rx.View(pkts)
					if err != nil {
						b.Fatal(err)
					}
					for _, p := range pkts[:n] {
						if touch {
							sum += copy(dst, p)
						} else {
							sum += len(p)
						}
					}
					rx.Release(n)
					count += n
					tail.Store((head.Load() + 1023) % 1024) // all full again
				}
				if sum == 0 {
					b.Fatal("nothing received")
				}
				reportPkts(b, count)
			})
		}
	}
}

// BenchmarkRxPacket is BenchmarkRxViewRelease/60-nocopy with the
// per-slot Acquire and Packet instead of View.
func BenchmarkRxPacket(b *testing.B) {
	r := benchRegion(b)
	fillRx(r, 0, 60, 1)
	rx := rxRing(b, r, 0)
	ro := r.RxRingOff(0)
	tail, head := tailOf(r, ro), headOf(r, ro)
	b.ReportAllocs()
	count, sum := 0, 0
	for b.Loop() {
		n, err := rx.Acquire(benchBatch)
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			p, err := rx.Packet(i)
			if err != nil {
				b.Fatal(err)
			}
			sum += len(p)
		}
		rx.Release(n)
		count += n
		tail.Store((head.Load() + 1023) % 1024)
	}
	if sum == 0 {
		b.Fatal("nothing received")
	}
	reportPkts(b, count)
}

// BenchmarkCopy is the baseline: the same bytes copied into (tx) or out of
// (rx) the same ring buffers, in slot order, with no ring logic.
func BenchmarkCopy(b *testing.B) {
	for _, dir := range []string{"tx", "rx"} {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%s-%d", dir, size), func(b *testing.B) {
				r := benchRegion(b)
				to := r.TxRingOff(0)
				bufs := make([][]byte, 1024)
				for s := range bufs {
					bufs[s] = r.Buf(r.U32(heapmem.SlotOff(to, s)))
				}
				pkt := payload(1, size)
				dst := make([]byte, 2048)
				for _, buf := range bufs {
					copy(buf, pkt)
				}
				b.SetBytes(int64(benchBatch * size))
				b.ReportAllocs()
				pkts, s := 0, 0
				for b.Loop() {
					for range benchBatch {
						if dir == "tx" {
							copy(bufs[s], pkt)
						} else {
							copy(dst, bufs[s][:size])
						}
						if s++; s == len(bufs) {
							s = 0
						}
					}
					pkts += benchBatch
				}
				reportPkts(b, pkts)
			})
		}
	}
}

// BenchmarkBridgeSwap forwards packets from an RX to a TX ring of one
// region without copying them (TxRing.Swap).
func BenchmarkBridgeSwap(b *testing.B) {
	r := benchRegion(b)
	fillRx(r, 0, 60, 1)
	tx, rx := txRing(b, r, 0), rxRing(b, r, 0)
	to, ro := r.TxRingOff(0), r.RxRingOff(0)
	ttail, thead := tailOf(r, to), headOf(r, to)
	rtail, rhead := tailOf(r, ro), headOf(r, ro)
	b.ReportAllocs()
	pkts := 0
	for b.Loop() {
		n, _ := rx.Acquire(benchBatch)
		m, _ := tx.Reserve(n)
		for i := range m {
			if err := tx.Swap(i, rx, i); err != nil {
				b.Fatal(err)
			}
		}
		tx.Publish(m)
		rx.Release(m)
		pkts += m
		ttail.Store((thead.Load() + 1023) % 1024)
		rtail.Store((rhead.Load() + 1023) % 1024)
	}
	reportPkts(b, pkts)
}
