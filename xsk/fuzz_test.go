package xsk

import (
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzRingState drives a TX and an RX queue over heap rings while a
// simulated kernel both moves the rings as it should and writes arbitrary
// values into every shared index and descriptor. Whatever it writes, the
// queues must not panic, must return only integrity errors, must hand out
// slices inside the UMEM only, must never write outside the UMEM or a ring,
// must keep every frame's ownership consistent, must count what waits on
// a ring (Unsent, Pending) within the ring, and must tell the waits either
// whether packets wait or an integrity error.
func FuzzRingState(f *testing.F) {
	f.Add([]byte{0, 8, 2, 8, 1, 8, 0, 3, 2, 3, 1, 3})
	f.Add([]byte{3, 0, 4, 1, 0, 0, 0, 0, 1, 4, 1, 2, 1, 1})
	f.Add([]byte{0, 4, 2, 4, 5, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 8})
	f.Add([]byte{0, 4, 5, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2})
	// A received packet's descriptor rewritten with XDP_PKT_CONTD in
	// its options, then with every option bit and the length of the
	// whole frame: each still one packet, of the descriptor's length.
	f.Add([]byte{3, 10, 5, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 80, 0, 0, 0, 1, 0, 0, 0, 1, 4, 0,
		5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 4, 1})
	f.Fuzz(fuzzRings)
}

func fuzzRings(t *testing.T, prog []byte) {
	// Long programs add nothing a short one cannot reach, and make the
	// fuzzer's minimisation of a large input crawl.
	if len(prog) > 2048 {
		prog = prog[:2048]
	}
	s, err := newSim(simConfig{frames: 16, rxSize: 8, txSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	rings := []*simRing{s.fill, s.comp, s.rx, s.tx}
	next := func() byte {
		if len(prog) == 0 {
			return 0
		}
		b := prog[0]
		prog = prog[1:]
		return b
	}
	next32 := func() uint32 {
		var b [4]byte
		for i := range b {
			b[i] = next()
		}
		return binary.LittleEndian.Uint32(b[:])
	}
	check := func(op string, err error) {
		if err != nil && !errors.Is(err, ErrIntegrity) {
			t.Fatalf("%s: %v is not an integrity error", op, err)
		}
	}
	var seq uint32
	for len(prog) > 0 {
		switch op := next() % 7; op {
		case 0: // user: reserve, fill, publish part
			k, err := s.tq.Reserve(int(next() % 12))
			check("Reserve", err)
			for i := range k {
				b := s.tq.Buf(i)
				if !s.inUmem(b) || len(b) != s.frameSize {
					t.Fatalf("Buf(%d) outside the UMEM or of length %d", i, len(b))
				}
				s.tq.SetLen(i, seqPacket(b, seq, 60))
				seq++
			}
			s.tq.Publish(int(next()) % (k + 1))
		case 1: // user: acquire, read, release part
			k, err := s.rq.Acquire(int(next() % 12))
			check("Acquire", err)
			for i := range k {
				p, err := s.rq.Packet(i)
				check("Packet", err)
				if (p == nil) == (err == nil) || !s.inUmem(p) {
					t.Fatalf("Packet(%d) = %d bytes, %v", i, len(p), err)
				}
				// A good packet is what its descriptor says, whatever
				// the options word holds.
				e := s.rx.entry(s.rq.rx.local + uint32(i))
				a, l := binary.NativeEndian.Uint64(e), binary.NativeEndian.Uint32(e[8:])
				if err == nil && (len(p) != int(l) || len(p) > 0 && &p[0] != &s.umem[a]) {
					t.Fatalf("Packet(%d) = %d bytes, the descriptor says %d at %#x (options %#x)", i, len(p), l, a, binary.NativeEndian.Uint32(e[12:]))
				}
			}
			s.rq.Release(int(next()) % (k + 1))
		case 2: // kernel: send, looping back
			s.transmit(int(next()%12), next()%2 == 0)
		case 3: // kernel: receive a packet
			s.deliver(make([]byte, int(next())*8))
		case 4: // kernel: write an index or flags word
			r := rings[next()%4]
			off := [3]uint64{simLayout.Producer, simLayout.Consumer, simLayout.Flags}[next()%3]
			corrupt(r, off, next32())
		case 5: // kernel: write a descriptor
			r := rings[next()%4]
			e := r.entry(uint32(next()))
			for i := range e {
				e[i] = next()
			}
		case 6: // kernel: take fill entries
			s.takeFill(int(next() % 16))
		}
		if err := s.guardsOK(); err != nil {
			t.Fatal(err)
		}
		// The counts read from the kernel's indices stay within the
		// rings, whatever the indices say.
		if n := s.tq.Unsent(); n < 0 || n > s.tq.Frames() || n > int(s.tx.size) {
			t.Fatalf("Unsent %d, %d frames, ring of %d", n, s.tq.Frames(), s.tx.size)
		}
		if n := s.rq.Pending(); n < 0 || n > int(s.rx.size) {
			t.Fatalf("Pending %d, ring of %d", n, s.rx.size)
		}
		// What the waits read: an integrity error or a yes or no.
		if _, err := s.rq.waiting(); err != nil && !errors.Is(err, ErrIntegrity) {
			t.Fatalf("the waits' look at the RX ring: %v is not an integrity error", err)
		}
		own := s.ownerCounts()
		tx := own[ownTxFree] + own[ownTxUser] + own[ownTxKernel]
		rx := own[ownRxPend] + own[ownRxKernel] + own[ownRxUser]
		if tx != s.txFrames || rx != s.rxFrames || own[ownNone] != 0 {
			t.Fatalf("frame owners %v", own)
		}
		if own[ownTxFree] != len(s.tq.free) || own[ownTxUser] != s.tq.n {
			t.Fatalf("TX free stack %d / reserved %d, owners %v", len(s.tq.free), s.tq.n, own)
		}
		if own[ownRxPend] != len(s.rq.pend) {
			t.Fatalf("RX pending %d, owners %v", len(s.rq.pend), own)
		}
	}
}

// FuzzParseName: an "xdp:" port name (as a user types it) is split into
// an interface the kernel could have named (1 to 15 octets, not "." or
// "..", no '/', ':', white space as its isspace has it or NUL, which
// would end the name the kernel reads) and a queue in [0, maxQueues), or refused with an error
// naming it; never a panic. A name the kernel could have, without a '-',
// is taken whole, queue 0. What it returns reads back: IFACE-Q names the
// same interface and queue.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"eth0", "eth0-3", "veth-1-0", "x-1023", "x-1024", "eth0-+1", "-1", "lo-", "a/b",
		"sixteen-chars-xx", "eth0\x00-1", "eth0--1", "eth0-01", "..-2", "", "eth\v0", "eth\f0-1", "eth\u00a0-1", "eth\xa0",
		"fifteen_chars_x", "e.0", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		iface, q, err := ParseName(s)
		if kernelName(s) && !strings.Contains(s, "-") {
			if err != nil || iface != s || q != 0 {
				t.Fatalf("ParseName(%q) = %q, %d, %v; the kernel could name an interface so", s, iface, q, err)
			}
			if i2, q2, err := ParseName(s + "-7"); err != nil || i2 != s || q2 != 7 {
				t.Fatalf("ParseName(%q) = %q, %d, %v", s+"-7", i2, q2, err)
			}
		}
		if err != nil {
			if iface != "" || q != 0 || !strings.HasPrefix(err.Error(), "xsk: ") || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseName(%q) = %q, %d, %v", s, iface, q, err)
			}
			return
		}
		if !kernelName(iface) || q < 0 || q >= maxQueues || !strings.HasPrefix(s, iface) {
			t.Fatalf("ParseName(%q) = %q, %d", s, iface, q)
		}
		back := iface + "-" + strconv.Itoa(q)
		if i2, q2, err := ParseName(back); err != nil || i2 != iface || q2 != q {
			t.Fatalf("ParseName(%q) = %q, %d; ParseName(%q) = %q, %d, %v", s, iface, q, back, i2, q2, err)
		}
	})
}

// kernelName reports whether the kernel could name an interface s (its
// dev_valid_name): 1 to 15 octets, not "." or "..", none of '/', ':', NUL
// or what its isspace takes for white space (\t \n \v \f \r, space and
// 0xa0).
func kernelName(s string) bool {
	return s != "" && len(s) <= 15 && s != "." && s != ".." && !strings.ContainsAny(s, "/: \t\n\v\f\r\x00") && strings.IndexByte(s, 0xa0) < 0
}
