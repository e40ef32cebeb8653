package xsk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func mustSim(t testing.TB, c simConfig) *sim {
	t.Helper()
	s, err := newSim(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publishTx reserves n TX frames, failing t unless it got them all, and
// publishes them, 60 octets each.
func publishTx(t testing.TB, s *sim, n int) {
	t.Helper()
	k, err := s.tq.Reserve(n)
	if k != n || err != nil {
		t.Fatalf("Reserve(%d): %d, %v", n, k, err)
	}
	s.tq.SetLens(k, 60)
	s.tq.Publish(k)
}

// deliverN has the simulated kernel receive n packets of 60 octets.
func deliverN(s *sim, n int) {
	for range n {
		s.deliver(make([]byte, 60))
	}
}

// closeAt has hookQueue play a Close at point at of Reserve or Acquire
// until t ends: it sets the closed flag, then runs also (if not nil).
func closeAt(t testing.TB, s *sim, at int, also func()) {
	hookQueue = func(p int) {
		if p == at {
			s.closed.Store(true)
			if also != nil {
				also()
			}
		}
	}
	t.Cleanup(func() { hookQueue = nil })
}

// wantClosed fails t unless a queue call returned 0, ErrClosed.
func wantClosed(t testing.TB, k int, err error) {
	t.Helper()
	if k != 0 || !errors.Is(err, ErrClosed) {
		t.Fatalf("got %d, %v; want 0, ErrClosed", k, err)
	}
}

// TestLoopback sends sequence-numbered packets of random lengths through
// the TX queue, a simulated kernel that loops them into the RX ring, and
// the RX queue, in random batch sizes, and checks every packet arrives once,
// in order and intact, and that every frame is accounted for at the end.
func TestLoopback(t *testing.T) {
	s := mustSim(t, simConfig{frames: 64, rxSize: 16, txSize: 16})
	s.stall = true
	rng := rand.New(rand.NewPCG(1, 2))
	var next, want uint32
	const total = 20000
	lens := map[uint32]int{}
	for want < total {
		k, err := s.tq.Reserve(1 + rng.IntN(20))
		if err != nil {
			t.Fatal(err)
		}
		for i := range k {
			n := 14 + rng.IntN(s.frameSize-packetHeadroom-14)
			s.tq.SetLen(i, seqPacket(s.tq.Buf(i), next, n))
			lens[next] = n
			next++
		}
		pub := k
		if k > 0 && rng.IntN(4) == 0 {
			pub = rng.IntN(k + 1) // publish part, the rest goes back
			next -= uint32(k - pub)
		}
		s.tq.Publish(pub)
		s.transmit(1+rng.IntN(40), true)
		m, err := s.rq.Acquire(1 + rng.IntN(20))
		if err != nil {
			t.Fatal(err)
		}
		packetsAsPacket(t, &s.rq, m)
		rel := m
		if m > 0 && rng.IntN(4) == 0 {
			rel = rng.IntN(m + 1)
		}
		for i := range rel {
			p, err := s.rq.Packet(i)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkSeqPacket(p, want, lens[want]); err != nil {
				t.Fatal(err)
			}
			delete(lens, want)
			want++
		}
		s.rq.Release(rel)
	}
	if s.dropRxFull != 0 {
		t.Logf("%d drops in the simulated kernel (RX ring or fill ring empty)", s.dropRxFull)
	}
	// Drain: everything sent comes back as completions.
	for range 10 {
		s.transmit(1000, false)
		if _, err := s.tq.Reserve(0); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.tq.InFlight(); n != 0 {
		t.Fatalf("%d TX frames still in flight", n)
	}
	if st := s.tq.Stats(); st.Completed != st.Packets {
		t.Fatalf("TX stats %+v: completed != published", st)
	}
	own := s.owners()
	if own[ownTxFree] != s.txFrames || own[ownRxKernel]+own[ownRxPend] != s.rxFrames {
		t.Fatalf("frame owners at the end: %v", own)
	}
	if err := s.guardsOK(); err != nil {
		t.Fatal(err)
	}
}

// corrupt writes v into the 32-bit word at off of ring r.
func corrupt(r *simRing, off uint64, v uint32) { r.word(off).Store(v) }

func isIntegrity(t *testing.T, err error, want string) {
	t.Helper()
	var ie *IntegrityError
	if !errors.As(err, &ie) || !errors.Is(err, ErrIntegrity) {
		t.Fatalf("got %v, want an integrity error (%s)", err, want)
	}
	if ie.Error() == "" || ie.Reason == "" {
		t.Fatalf("empty integrity error %#v", ie)
	}
	t.Logf("%s: %v", want, err)
}

// packetsAsPacket checks that Packets, from every first and into buffers
// shorter than the rest of the acquisition, as long and longer, hands out
// what Packet does for each of the m acquired packets of q: the same slice
// of the UMEM, or nil where Packet gives an error.
func packetsAsPacket(t *testing.T, q *RxQueue, m int) {
	t.Helper()
	buf := make([][]byte, m+2)
	for first := range m + 1 {
		rest := m - first
		for _, size := range []int{0, 1, max(0, rest-1), rest, rest + 1} {
			for i := range buf {
				buf[i] = []byte{0xee} // not a frame's: Packets must overwrite it
			}
			k := q.Packets(first, buf[:size])
			if want := min(size, rest); k != want {
				t.Fatalf("Packets(%d, [%d]) = %d of %d acquired, want %d", first, size, k, m, want)
			}
			for i, got := range buf[:k] {
				p, err := q.Packet(first + i)
				if err != nil && got != nil || err == nil && (got == nil || unsafe.SliceData(got) != unsafe.SliceData(p) || len(got) != len(p) || cap(got) != cap(p)) {
					t.Fatalf("Packets(%d): packet %d gives %p len %d cap %d; Packet %p len %d cap %d, %v",
						first, first+i, got, len(got), cap(got), p, len(p), cap(p), err)
				}
			}
			if size > k && (len(buf[k]) != 1 || buf[k][0] != 0xee) {
				t.Fatalf("Packets(%d, [%d]) wrote past the %d it returned", first, size, k)
			}
		}
	}
}

// TestHostileRx: every bad value the kernel could write on the RX side
// gives an integrity error naming it, never a panic or a slice outside the
// UMEM.
func TestHostileRx(t *testing.T) {
	deliverOne := func(t *testing.T) *sim {
		s := mustSim(t, simConfig{})
		s.deliver(make([]byte, 100))
		return s
	}
	t.Run("producer ahead", func(t *testing.T) {
		s := deliverOne(t)
		corrupt(s.rx, simLayout.Producer, 1000)
		_, err := s.rq.Acquire(8)
		isIntegrity(t, err, "rx producer ahead")
		if s.rq.Pending() != 0 {
			t.Fatal("Pending counts a bad producer")
		}
	})
	t.Run("producer backwards", func(t *testing.T) {
		s := deliverOne(t)
		s.deliver(make([]byte, 100))
		if n, _ := s.rq.Acquire(1); n != 1 {
			t.Fatal("no packet")
		}
		s.rq.Release(0) // seen 2, consumed 0
		corrupt(s.rx, simLayout.Producer, 1)
		_, err := s.rq.Acquire(8)
		isIntegrity(t, err, "rx producer backwards")
	})
	descCase := func(name string, addr uint64, l uint32, why string) {
		t.Run(name, func(t *testing.T) {
			s := deliverOne(t)
			e := s.rx.entry(0)
			binary.NativeEndian.PutUint64(e[0:], addr)
			binary.NativeEndian.PutUint32(e[8:], l)
			n, err := s.rq.Acquire(8)
			if n != 1 || err != nil {
				t.Fatalf("Acquire = %d, %v", n, err)
			}
			p, err := s.rq.Packet(0)
			if p != nil {
				t.Fatalf("got a packet of %d bytes", len(p))
			}
			isIntegrity(t, err, name)
			packetsAsPacket(t, &s.rq, n)
			if ie := err.(*IntegrityError); ie.Reason != why {
				t.Fatalf("reason %q, want %q", ie.Reason, why)
			}
			// The kernel's length of a bad descriptor is not handed on.
			if n := s.rq.Len(0); n != 0 {
				t.Fatalf("Len of a bad descriptor %d, want 0", n)
			}
			s.rq.Release(1) // steps over it
			if st := s.rq.Stats(); st.Integrity != 1 {
				t.Fatalf("integrity count %d", st.Integrity)
			}
			if err := s.guardsOK(); err != nil {
				t.Fatal(err)
			}
		})
	}
	descCase("addr past the UMEM", uint64(len(make([]byte, 64*2048))), 10, whyOutside)
	descCase("addr far past the UMEM", 1<<63, 10, whyOutside)
	descCase("len past the frame", 256, 2048-255, whyCrosses)
	descCase("len huge", 256, 1<<31, whyCrosses)
	descCase("a TX frame", 40*2048+256, 10, whyNotLent)
	t.Run("same frame twice", func(t *testing.T) {
		s := deliverOne(t)
		s.deliver(make([]byte, 100))
		e0, e1 := s.rx.entry(0), s.rx.entry(1)
		copy(e1, e0)
		n, err := s.rq.Acquire(8)
		if n != 2 || err != nil {
			t.Fatalf("Acquire = %d, %v", n, err)
		}
		if _, err := s.rq.Packet(0); err != nil {
			t.Fatal(err)
		}
		_, err = s.rq.Packet(1)
		isIntegrity(t, err, "frame delivered twice")
		packetsAsPacket(t, &s.rq, n)
		s.rq.Release(2)
		if own := s.owners(); own[ownRxUser] != 0 {
			t.Fatalf("owners after release: %v", own)
		}
	})
	t.Run("fill consumer ahead", func(t *testing.T) {
		s := deliverOne(t)
		corrupt(s.fill, simLayout.Consumer, 12345)
		n, _ := s.rq.Acquire(1)
		s.rq.Release(n) // the frame waits: the fill ring is bad
		_, err := s.rq.Acquire(8)
		isIntegrity(t, err, "fill consumer ahead")
	})
}

// TestHostileTx: bad completion entries and TX ring indices.
func TestHostileTx(t *testing.T) {
	sendOne := func(t *testing.T) *sim {
		s := mustSim(t, simConfig{})
		k, err := s.tq.Reserve(2)
		if k != 2 || err != nil {
			t.Fatal(k, err)
		}
		s.tq.SetLen(0, 60)
		s.tq.SetLen(1, 60)
		s.tq.Publish(2)
		return s
	}
	compCase := func(name string, addr uint64, why string) {
		t.Run(name, func(t *testing.T) {
			s := sendOne(t)
			s.transmit(2, false)
			binary.NativeEndian.PutUint64(s.comp.entry(0), addr)
			k, err := s.tq.Reserve(4)
			isIntegrity(t, err, name)
			if ie := err.(*IntegrityError); ie.Reason != why {
				t.Fatalf("reason %q, want %q", ie.Reason, why)
			}
			if k != 4 {
				t.Fatalf("reserved %d after a bad completion, want 4", k)
			}
			if st := s.tq.Stats(); st.Completed != 1 || st.Integrity != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
	compCase("addr past the UMEM", 1<<40, whyOutside)
	compCase("addr at the UMEM's end", 64*2048, whyOutside)
	compCase("the UMEM's last byte", 64*2048-1, whyNotBase)
	compCase("addr inside a frame", 33*2048+8, whyNotBase)
	compCase("a free TX frame", 40*2048, whyNotLent)
	compCase("an RX frame", 0, whyNotLent)
	t.Run("completion twice", func(t *testing.T) {
		s := sendOne(t)
		s.transmit(2, false)
		copy(s.comp.entry(1), s.comp.entry(0))
		_, err := s.tq.Reserve(1)
		isIntegrity(t, err, "completion twice")
	})
	t.Run("completion producer ahead", func(t *testing.T) {
		s := sendOne(t)
		corrupt(s.comp, simLayout.Producer, 1<<31)
		_, err := s.tq.Reserve(1)
		isIntegrity(t, err, "completion producer ahead")
	})
	t.Run("tx consumer ahead of producer", func(t *testing.T) {
		s := sendOne(t)
		corrupt(s.tx, simLayout.Consumer, 3)
		k, err := s.tq.Reserve(1)
		isIntegrity(t, err, "tx consumer ahead")
		if k != 0 {
			t.Fatal("reserved on a bad ring")
		}
	})
	t.Run("tx consumer backwards", func(t *testing.T) {
		s := sendOne(t)
		s.transmit(2, false)
		if _, err := s.tq.Reserve(1); err != nil {
			t.Fatal(err)
		}
		corrupt(s.tx, simLayout.Consumer, 1)
		_, err := s.tq.Reserve(1)
		isIntegrity(t, err, "tx consumer backwards")
	})
}

// TestUnsent: Unsent counts what the kernel has not taken off the TX ring,
// one kick's worth at a time, and is 0 for a bad consumer and after Close.
func TestUnsent(t *testing.T) {
	s := mustSim(t, simConfig{frames: 256, rxSize: 64, txSize: 64})
	publishTx(t, s, 40)
	for _, want := range []int{40, 8, 0} {
		if n := s.tq.Unsent(); n != want {
			t.Fatalf("Unsent %d, want %d", n, want)
		}
		s.transmit(32, false)
	}
	if n := s.tq.InFlight(); n != 40 {
		t.Fatalf("InFlight %d before the completions are read, want 40", n)
	}
	corrupt(s.tx, simLayout.Consumer, 1<<31)
	if n := s.tq.Unsent(); n != 0 {
		t.Fatalf("Unsent %d with a consumer far ahead", n)
	}
	corrupt(s.tx, simLayout.Consumer, 40)
	s.closed.Store(true)
	if n := s.tq.Unsent(); n != 0 {
		t.Fatalf("Unsent %d after close", n)
	}
}

// TestRingLayout: ring layouts that do not fit their mapping are refused.
func TestRingLayout(t *testing.T) {
	mem := make([]byte, 4096)
	cases := []struct {
		name string
		lay  RingLayout
		size uint32
	}{
		{"size not a power of two", simLayout, 24},
		{"size zero", simLayout, 0},
		{"producer past the end", RingLayout{Producer: 4094, Consumer: 64, Flags: 128, Desc: 192}, 16},
		{"consumer misaligned", RingLayout{Producer: 0, Consumer: 65, Flags: 128, Desc: 192}, 16},
		{"flags huge", RingLayout{Producer: 0, Consumer: 64, Flags: 1 << 62, Desc: 192}, 16},
		{"descriptors past the end", simLayout, 256},
		{"descriptor offset huge", RingLayout{Producer: 0, Consumer: 64, Flags: 128, Desc: 1<<64 - 8}, 16},
	}
	for _, c := range cases {
		_, err := newRing("rx", mem, c.lay, c.size, descSize, false)
		isIntegrity(t, err, c.name)
	}
	binaryPut := func(off uint64, v uint32) { binary.NativeEndian.PutUint32(mem[off:], v) }
	binaryPut(0, 100) // producer 100, consumer 0, ring of 16
	_, err := newRing("rx", mem, simLayout, 16, descSize, false)
	isIntegrity(t, err, "initial producer ahead")
	if _, err := newUmem(make([]byte, 3000), 2048); err == nil {
		t.Fatal("a UMEM that is not a whole number of frames was accepted")
	}
	if _, err := newUmem(make([]byte, 3*3000), 3000); err == nil {
		t.Fatal("a frame size that is not a power of two was accepted")
	}
}

// TestPublishEmpty: a reserved frame published with length 0 is not put
// on the TX ring but goes back to the free stack. Since Linux 6.6 the
// kernel takes such a descriptor as invalid, and some versions step over
// it without handing the frame back on the completion ring (the simulated
// kernel here does): every one was a frame lost to the queue for good
// (Linux 6.18 hands it back; before 6.6 a zero-length frame is sent).
func TestPublishEmpty(t *testing.T) {
	s := mustSim(t, simConfig{})
	k, err := s.tq.Reserve(3)
	if k != 3 || err != nil {
		t.Fatal(k, err)
	}
	s.tq.SetLen(0, 60)
	s.tq.SetLen(2, 70) // frame 1 keeps the length Reserve gave it: 0
	s.tq.Publish(3)
	for range 3 {
		s.transmit(8, false)
		if _, err := s.tq.Reserve(0); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.tq.InFlight(); n != 0 || s.txInvalid != 0 || s.sentPkts != 2 {
		t.Fatalf("%d frames in flight, %d invalid descriptors, %d sent; want 0, 0, 2", n, s.txInvalid, s.sentPkts)
	}
	if st := s.tq.Stats(); st.Packets != 2 || st.Bytes != 130 || st.Completed != 2 {
		t.Fatalf("stats %+v, want 2 packets of 130 octets, 2 completed", st)
	}
	if own := s.owners(); own[ownTxFree] != s.txFrames {
		t.Fatalf("frame owners %v, want all %d TX frames free", own, s.txFrames)
	}
}

// TestAcquireMany: a batch size beyond uint32 takes what is waiting. It
// was cut to uint32: Acquire(1<<32) took nothing, Acquire(1<<32+1) one.
func TestAcquireMany(t *testing.T) {
	s := mustSim(t, simConfig{})
	for range 3 {
		s.deliver(make([]byte, 100))
	}
	for _, n := range []int{1 << (strconv.IntSize / 2), 1<<(strconv.IntSize/2) + 1, math.MaxInt} {
		if k, err := s.rq.Acquire(n); k != 3 || err != nil {
			t.Errorf("Acquire(%d) = %d, %v with 3 packets waiting", n, k, err)
		}
	}
	s.rq.Release(3)
}

// TestClosedQueues: after the socket's closed flag is set, the queues
// return ErrClosed.
func TestClosedQueues(t *testing.T) {
	s := mustSim(t, simConfig{})
	s.closed.Store(true)
	if _, err := s.tq.Reserve(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Reserve after close: %v", err)
	}
	if _, err := s.rq.Acquire(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Acquire after close: %v", err)
	}
	// Close's placeholder mappings read as zeros, which a wait that
	// looks at the RX ring's producer must not report as a bad ring.
	s.rq.rx.local = 1000
	if _, err := s.rq.waiting(); !errors.Is(err, ErrClosed) {
		t.Fatalf("the waits' look at the RX ring after close: %v", err)
	}
}

// closedCall runs call, into which a hook plays the Close, and checks
// that it returned 0, ErrClosed, and left the queues' stats, the errors
// the rings keep and the frames in flight as they were: after ErrClosed
// nothing the call read is trusted (it may have been Close's zeros).
func closedCall(t *testing.T, s *sim, call func(s *sim) (int, error)) {
	t.Helper()
	qstats := func() [2]QueueStats { return [2]QueueStats{s.tq.stats.load(), s.rq.stats.load()} }
	kept := func() [4]*IntegrityError {
		return [4]*IntegrityError{s.tq.tx.last, s.tq.comp.last, s.rq.rx.last, s.rq.fill.last}
	}
	before, keptBefore, inFlight := qstats(), kept(), s.tq.InFlight()
	k, err := call(s)
	wantClosed(t, k, err)
	if !s.closed.Load() {
		t.Fatal("the hook did not run: the case does not test the race")
	}
	if after := qstats(); after != before {
		t.Fatalf("stats moved on ErrClosed: %+v, then %+v", before, after)
	}
	if k := kept(); k != keptBefore {
		t.Fatalf("errors kept on ErrClosed: %v, then %v", keptBefore, k)
	}
	if n := s.tq.InFlight(); n != inFlight {
		t.Fatalf("InFlight %d after the call, was %d", n, inFlight)
	}
}

// TestCloseDuringQueueCall: a Close that swaps in its placeholder
// mappings (which read as zeros) after Reserve or Acquire looked at the
// closed flag makes the call return ErrClosed, not an *IntegrityError
// about the zeros. hookCheckFailed sets the flag at the failed check, as
// such a Close would have before swapping.
func TestCloseDuringQueueCall(t *testing.T) {
	// traffic moves every ring's indices off 0, so that zeros fail.
	traffic := func(t *testing.T, s *sim) {
		for range 5 {
			publishTx(t, s, 8)
			s.transmit(64, true)
			m, err := s.rq.Acquire(64)
			if err != nil {
				t.Fatal(err)
			}
			s.rq.Release(m)
		}
	}
	park := func(rs ...[]byte) {
		for _, r := range rs {
			clear(r)
		}
	}
	descs := func(r *simRing) []byte { return r.mem[simLayout.Desc:] }
	for _, c := range []struct {
		name string
		call func(s *sim) (int, error)
		zero func(t *testing.T, s *sim)
	}{
		{"Reserve, rings zeroed", func(s *sim) (int, error) { return s.tq.Reserve(1) },
			func(t *testing.T, s *sim) { park(s.tx.mem, s.comp.mem) }},
		{"Reserve, completions zeroed", func(s *sim) (int, error) { return s.tq.Reserve(1) },
			func(t *testing.T, s *sim) {
				publishTx(t, s, 4)
				s.transmit(64, false)
				park(descs(s.comp))
			}},
		{"Acquire, rings zeroed", func(s *sim) (int, error) { return s.rq.Acquire(1) },
			func(t *testing.T, s *sim) { park(s.rx.mem, s.fill.mem) }},
		{"Acquire, fill ring zeroed with frames to refill", func(s *sim) (int, error) { return s.rq.Acquire(1) },
			func(t *testing.T, s *sim) {
				deliverN(s, 4)
				m, _ := s.rq.Acquire(4)
				park(s.fill.mem)
				s.rq.Release(m) // its refill fails: the frames wait in pend
				if len(s.rq.pend) == 0 {
					t.Fatal("no frames left to refill")
				}
			}},
		{"Acquire, RX ring zeroed", func(s *sim) (int, error) { return s.rq.Acquire(1) },
			func(t *testing.T, s *sim) { park(s.rx.mem) }},
		{"Acquire, descriptors zeroed", func(s *sim) (int, error) { return s.rq.Acquire(4) },
			func(t *testing.T, s *sim) {
				deliverN(s, 4)
				park(descs(s.rx))
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := mustSim(t, simConfig{})
			traffic(t, s)
			c.zero(t, s)
			hookCheckFailed = func() { s.closed.Store(true) }
			defer func() { hookCheckFailed = nil }()
			closedCall(t, s, c.call)
		})
	}

	// Zeros that pass the checks: a Close between the look at the flag
	// and the reads of the rings, on rings whose state makes zeros look
	// sound. hookQueue plays the Close at the given point.
	for _, c := range []struct {
		name  string
		at    int
		setup func(t *testing.T, s *sim)
		zero  func(s *sim)
		call  func(s *sim) (int, error)
	}{
		{"Acquire, descriptor zeroed after the producer was read", hookAfterAvailable,
			func(t *testing.T, s *sim) { deliverN(s, 1) },
			func(s *sim) { park(descs(s.rx), s.fill.mem) },
			func(s *sim) (int, error) { return s.rq.Acquire(1) }},
		{"Reserve on a fresh socket, rings zeroed before reclaim", hookBeforeReclaim,
			func(t *testing.T, s *sim) { publishTx(t, s, 3) },
			func(s *sim) { park(s.tx.mem, s.comp.mem) },
			func(s *sim) (int, error) { return s.tq.Reserve(4) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := mustSim(t, simConfig{})
			c.setup(t, s)
			closeAt(t, s, c.at, func() { c.zero(s) })
			closedCall(t, s, c.call)
		})
	}
}

// releaseNoRefill releases the m acquired packets as Release does, but
// leaves their frames in pend (Release's own refill is not run).
func releaseNoRefill(s *sim, m int) {
	for i := range m {
		a := s.rq.addr[i]
		s.rq.um.owner[a>>s.rq.um.shift] = ownRxPend
		s.rq.pend = append(s.rq.pend, a&^(uint64(s.rq.FrameSize())-1))
	}
	s.rq.rx.consume(uint32(m))
	s.rq.n = 0
}

// pendFour has four packets delivered, acquired and released without a
// refill: four frames in pend for the next Acquire to refill.
func pendFour(t *testing.T, s *sim) {
	t.Helper()
	deliverN(s, 4)
	m, err := s.rq.Acquire(4)
	if err != nil || m != 4 {
		t.Fatal(m, err)
	}
	releaseNoRefill(s, m)
}

// TestCloseDuringQueueCallUndo: a Close that sets the flag while the rings
// are still the real ones (Close parks them only after its wait for
// syscall users). What Reserve and Acquire read is undone exactly; what
// Acquire's refill wrote to the fill ring is not, as the kernel may
// already hold those frames.
func TestCloseDuringQueueCallUndo(t *testing.T) {
	t.Run("Reserve", func(t *testing.T) {
		s := mustSim(t, simConfig{})
		publishTx(t, s, 8)
		s.transmit(64, false) // 8 completions waiting
		own, free, inFlight := slices.Clone(s.tq.um.owner), slices.Clone(s.tq.free), s.tq.InFlight()
		if inFlight != 8 {
			t.Fatalf("InFlight %d before the call, want 8", inFlight)
		}
		closeAt(t, s, hookBeforeReclaim, nil)
		closedCall(t, s, func(s *sim) (int, error) { return s.tq.Reserve(2) })
		if !slices.Equal(own, s.tq.um.owner) || !slices.Equal(free, s.tq.free) || s.tq.InFlight() != inFlight {
			t.Fatalf("not undone: InFlight %d -> %d, free %d -> %d", inFlight, s.tq.InFlight(), len(free), len(s.tq.free))
		}
	})
	t.Run("Acquire", func(t *testing.T) {
		s := mustSim(t, simConfig{})
		pendFour(t, s)
		deliverN(s, 4) // 4 packets for Acquire to take
		// The refill stays: its frames are the kernel's afterwards.
		own := slices.Clone(s.rq.um.owner)
		for _, a := range s.rq.pend {
			own[a>>s.rq.um.shift] = ownRxKernel
		}
		closeAt(t, s, hookAfterAvailable, nil)
		closedCall(t, s, func(s *sim) (int, error) { return s.rq.Acquire(4) })
		if len(s.rq.pend) != 0 || s.rq.n != 0 || !slices.Equal(own, s.rq.um.owner) {
			t.Fatalf("not as expected: pend %d (want 0), acquired %d (want 0), owner table equal %v",
				len(s.rq.pend), s.rq.n, slices.Equal(own, s.rq.um.owner))
		}
	})
}

// TestCloseDuringAcquireNoDoubleFill: frames Acquire refilled before it saw
// the flag set are not refilled again by a later Release: the kernel's fill
// ring never holds a frame twice.
func TestCloseDuringAcquireNoDoubleFill(t *testing.T) {
	s := mustSim(t, simConfig{})
	pendFour(t, s)
	closeAt(t, s, hookAfterAvailable, nil) // Close's flag; the rings are still real
	k, err := s.rq.Acquire(4)
	wantClosed(t, k, err)
	s.rq.Release(0) // Release does not look at the flag
	seen := map[uint64]bool{}
	p := s.fill.prod().Load()
	for i := s.fillCons; i != p; i++ {
		a := binary.NativeEndian.Uint64(s.fill.entry(i))
		if seen[a] {
			t.Errorf("frame at %#x is on the fill ring twice", a)
		}
		seen[a] = true
	}
}

// TestQueueAllocs: the per-batch and per-packet methods do not allocate.
func TestQueueAllocs(t *testing.T) {
	s := mustSim(t, simConfig{frames: 256, rxSize: 64, txSize: 64})
	var seq uint32
	var pkts [32][]byte
	n := testing.AllocsPerRun(1000, func() {
		k, _ := s.tq.Reserve(32)
		for i := range k {
			s.tq.SetLen(i, seqPacket(s.tq.Buf(i), seq, 60))
			seq++
		}
		s.tq.Publish(k)
		s.transmit(64, true)
		m, _ := s.rq.Acquire(32)
		for i := range m {
			if p, err := s.rq.Packet(i); err != nil || len(p) != 60 {
				panic("bad packet")
			}
		}
		if k := s.rq.Packets(0, pkts[:]); k != m || m > 0 && len(pkts[m-1]) != 60 {
			panic("bad packets")
		}
		s.rq.Release(m)
	})
	if n != 0 {
		t.Fatalf("%v allocations per batch", n)
	}
	if s.rq.Stats().Packets == 0 {
		t.Fatal("nothing went round")
	}
}

func TestParseName(t *testing.T) {
	for _, c := range []struct {
		in    string
		iface string
		q     int
		bad   bool
	}{
		{"eth0", "eth0", 0, false},
		{"eth0-3", "eth0", 3, false},
		{"veth-a", "veth-a", 0, false},
		{"veth-1-0", "veth-1", 0, false},
		{"x-1023", "x", 1023, false},
		{"x-1024", "", 0, true},
		{"eth0-+1", "eth0-+1", 0, false},
		{"", "", 0, true},
		{"-1", "-1", 0, false},
		{"lo-", "lo-", 0, false},
		{"a/b", "", 0, true},
		{"sixteen-chars-xx", "", 0, true},
		// White space as the kernel's isspace has it (dev_valid_name),
		// and NUL, which would end the name the kernel reads.
		{"eth\v0", "", 0, true},
		{"eth\f0-1", "", 0, true},
		{"eth\xa00", "", 0, true},
		{"eth\u00a0", "", 0, true},
		{"eth0\x00x-2", "", 0, true},
		{"eth\u00e9", "eth\u00e9", 0, false}, // other octets above 0x7f: the kernel takes them
	} {
		iface, q, err := ParseName(c.in)
		if (err != nil) != c.bad || iface != c.iface || q != c.q {
			t.Errorf("ParseName(%q) = %q, %d, %v", c.in, iface, q, err)
		}
	}
}

func TestResolve(t *testing.T) {
	c, err := resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.rxFrames != 2048 || c.txFrames != 2048 || c.fillSize != 2048 || c.compSize != 2048 || c.Bind != BindCopy || c.XDP != XDPAuto {
		t.Fatalf("defaults %+v", c)
	}
	c, _ = resolve(&Config{TxOnly: true, Frames: 1000})
	if c.XDP != XDPNone || c.txFrames != 1000 || c.compSize != 1024 || c.fillSize != 1 {
		t.Fatalf("TxOnly %+v", c)
	}
	for _, bad := range []Config{{FrameSize: 3000}, {Frames: 1}, {RxSize: 1000}, {TxOnly: true, RxOnly: true}, {Queue: -1}, {Bind: 9}, {XDP: -1}, {TxBudget: -1}, {TxBudget: 31}, {TxBudget: 4096}, {TxSize: 64, TxBudget: 128}} {
		if _, err := resolve(&bad); err == nil {
			t.Errorf("resolve(%+v) accepted", bad)
		}
	}
	// Configs that once passed and then crashed Open: a frame larger than
	// a page (the kernel refuses it), a UMEM of 64 GiB (allocated before
	// the kernel could refuse it: out of memory).
	page := os.Getpagesize()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{FrameSize: 2 * page}, fmt.Sprintf("frame size %d is not a power of two in [2048, page size %d]", 2*page, page)},
		{Config{FrameSize: 65536, Frames: 1 << 20}, "frame size 65536"},
		{Config{FrameSize: page, Frames: 1 << 20}, fmt.Sprintf("UMEM of 1048576 frames of %d octets is over %d MiB (MaxUMEM)", page, MaxUMEM>>20)},
		{Config{Frames: MaxUMEM/DefaultFrameSize + 1}, "MaxUMEM"},
		{Config{Frames: 1 << 30}, "MaxUMEM"},
		// Frames * FrameSize past int64: the product wrapped to 0 (and
		// Open panicked slicing an empty UMEM) or went negative (and
		// Open's make panicked).
		// (In a 64-bit program 2^53 and 2^52+1 frames of 2048 octets.)
		{Config{Frames: math.MaxInt>>10 + 1}, "MaxUMEM"},
		{Config{Frames: math.MaxInt>>11 + 2}, "MaxUMEM"},
		{Config{Frames: math.MaxInt}, "MaxUMEM"},
	} {
		if _, err := resolve(&c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("resolve(%+v): %v, want an error with %q", c.cfg, err, c.want)
		}
	}
	if _, err := resolve(&Config{Frames: MaxUMEM / DefaultFrameSize}); err != nil {
		t.Errorf("a UMEM of MaxUMEM: %v", err)
	}
	if _, err := resolve(&Config{FrameSize: page}); err != nil {
		t.Errorf("frames of a page: %v", err)
	}
}

// TestNeedWakeup: the queues see the kernel's XDP_RING_NEED_WAKEUP flag
// in the TX and fill rings, and only that bit.
func TestNeedWakeup(t *testing.T) {
	s := mustSim(t, simConfig{})
	if s.tq.tx.wantsWakeup() || s.rq.fill.wantsWakeup() {
		t.Fatal("wakeup wanted before the kernel asked")
	}
	s.tx.flags().Store(needWakeup)
	s.fill.flags().Store(needWakeup | 0x100)
	if !s.tq.tx.wantsWakeup() || !s.rq.fill.wantsWakeup() {
		t.Fatal("the kernel's need-wakeup flag was not seen")
	}
	s.tx.flags().Store(0x100)
	if s.tq.tx.wantsWakeup() {
		t.Fatal("another flag bit read as need-wakeup")
	}
}

// TestTxFrame: Frame numbers the queue's frames 0..Frames()-1, one number
// per frame whatever order the completion ring hands them back in.
func TestTxFrame(t *testing.T) {
	s := mustSim(t, simConfig{frames: 64, rxSize: 64, txSize: 64})
	seen := map[int]int{}
	for round := 0; round < 3; round++ {
		k, err := s.tq.Reserve(s.tq.Frames())
		if err != nil || k != s.tq.Frames() {
			t.Fatal(k, err)
		}
		for i := 0; i < k; i++ {
			f := s.tq.Frame(i)
			if f < 0 || f >= s.tq.Frames() {
				t.Fatalf("Frame(%d) = %d, out of [0, %d)", i, f, s.tq.Frames())
			}
			// The frame's number and its buffer go together.
			b := s.tq.Buf(i)
			if at, ok := seen[f]; ok && at != int(b[0]) {
				t.Fatalf("frame %d came back with another buffer", f)
			}
			b[0] = byte(f)
			seen[f] = f
		}
		s.tq.SetLens(k, 60)
		s.tq.Publish(k)
		for s.transmit(64, false) > 0 {
		}
		if _, err := s.tq.Reserve(0); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != s.tq.Frames() {
		t.Fatalf("%d frame numbers, want %d", len(seen), s.tq.Frames())
	}
}
