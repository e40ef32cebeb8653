package xsk

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentKernel runs the simulated kernel in its own goroutine while
// one goroutine sends and another receives, as a socket's TX and RX sides
// and the kernel do: under -race this checks that the queues order their
// accesses to shared memory through the ring indices alone.
func TestConcurrentKernel(t *testing.T) {
	s := mustSim(t, simConfig{frames: 128, rxSize: 32, txSize: 32})
	s.stall = true
	const total = 10000
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // the kernel
		defer wg.Done()
		for !stop.Load() {
			if s.transmit(16, true) == 0 {
				runtime.Gosched() // three spinning goroutines on few cores
			}
		}
	}()
	errc := make(chan error, 2)
	go func() { // TX
		defer wg.Done()
		var seq uint32
		for seq < total && !stop.Load() {
			k, err := s.tq.Reserve(min(8, total-int(seq)))
			if err != nil {
				errc <- err
				return
			}
			for i := range k {
				s.tq.SetLen(i, seqPacket(s.tq.Buf(i), seq, 64+int(seq%512)))
				seq++
			}
			s.tq.Publish(k)
			if k == 0 {
				runtime.Gosched()
			}
		}
	}()
	go func() { // RX
		defer wg.Done()
		defer stop.Store(true)
		var seq uint32
		for seq < total {
			k, err := s.rq.Acquire(8)
			if err != nil {
				errc <- err
				return
			}
			for i := range k {
				p, err := s.rq.Packet(i)
				if err == nil {
					err = checkSeqPacket(p, seq, 64+int(seq%512))
				}
				if err != nil {
					errc <- err
					return
				}
				seq++
			}
			s.rq.Release(k)
			if k == 0 {
				runtime.Gosched()
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if err := s.guardsOK(); err != nil {
		t.Fatal(err)
	}
}
