package xsk

import "testing"

// The benchmarks run on the simulated kernel (no socket). Instruction
// counts are the figures to compare on a shared host: per iteration, the
// difference of two callgrind runs of one benchmark, e.g.
//
//	go test -c -o /tmp/xsk.test ./xsk
//	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 GOGC=off valgrind --tool=callgrind \
//	    /tmp/xsk.test -test.run '^$' -test.bench '^BenchmarkAcquire32$' -test.benchtime 5000x
//
// and again with 10000x; (Ir(10000x) - Ir(5000x)) / 5000.

// BenchmarkCycle: a batch of 8 sent, reclaimed and received.
func BenchmarkCycle(b *testing.B) {
	s := mustSim(b, simConfig{frames: 256, rxSize: 64, txSize: 64})
	b.ReportAllocs()
	for b.Loop() {
		k, _ := s.tq.Reserve(8)
		s.tq.SetLens(k, 60)
		s.tq.Publish(k)
		s.transmit(64, true)
		m, _ := s.rq.Acquire(64)
		s.rq.Release(m)
	}
}

// BenchmarkEmptyCalls: a Reserve and an Acquire that find nothing.
func BenchmarkEmptyCalls(b *testing.B) {
	s := mustSim(b, simConfig{frames: 256, rxSize: 64, txSize: 64})
	b.ReportAllocs()
	for b.Loop() {
		s.tq.Reserve(0)
		s.rq.Acquire(1)
	}
}

// benchAcquire delivers p packets, then acquires and releases them.
func benchAcquire(b *testing.B, p int) {
	s := mustSim(b, simConfig{frames: 256, rxSize: 64, txSize: 64})
	pkt := make([]byte, 60)
	b.ReportAllocs()
	for b.Loop() {
		for range p {
			s.deliver(pkt)
		}
		m, _ := s.rq.Acquire(64)
		s.rq.Release(m)
	}
}

func BenchmarkAcquire1(b *testing.B)  { benchAcquire(b, 1) }
func BenchmarkAcquire32(b *testing.B) { benchAcquire(b, 32) }
