package xsk

import (
	"encoding/binary"
	"fmt"
	"testing"
	"unsafe"
)

// xdpPktContd is XDP_PKT_CONTD, the options bit by which a kernel marks a
// descriptor of a multi-buffer packet (XDP_USE_SG) that more descriptors
// continue.
const xdpPktContd = 1

// TestHostileRxDesc writes RX descriptors at the edges of a frame and of
// the UMEM, and with option bits set, over the heap layout: a descriptor
// that ends exactly at its frame's end (the UMEM's last RX frame, with no
// headroom or with one byte) is a packet; one byte more crosses the frame;
// the UMEM's last byte is a TX frame, and its end address and high bits
// (the unaligned mode's offset field) are outside. The options word is
// not read: the socket is bound without XDP_USE_SG, so a descriptor with
// XDP_PKT_CONTD (or any other bit) is checked and handed out as a packet
// of its own, its length never taken from the options word.
func TestHostileRxDesc(t *testing.T) {
	const fs, frames = 2048, 64
	last := uint64(frames/2-1) * fs // the last RX frame; TX frames follow
	end := uint64(frames) * fs
	for _, c := range []struct {
		addr    uint64
		len     uint32
		options uint32
		why     string // "" for a good packet
	}{
		{last + fs - 1, 1, 0, ""},
		{last + fs - 1, 2, 0, whyCrosses},
		{last, fs, 0, ""},
		{last, fs + 1, 0, whyCrosses},
		{last + packetHeadroom, fs - packetHeadroom, 0, ""},
		{last + packetHeadroom, fs - packetHeadroom + 1, 0, whyCrosses},
		{last + fs - 1, 0, 0, ""},
		{end - 1, 1, 0, whyNotLent},
		{end - 1, 2, 0, whyCrosses},
		{end, 0, 0, whyOutside},
		{end + packetHeadroom, 1, 0, whyOutside},
		{1<<48 | packetHeadroom, 1, 0, whyOutside},
		{packetHeadroom, 100, xdpPktContd, ""},
		{packetHeadroom, 100, ^uint32(0), ""},
		{packetHeadroom, 100, 2, ""},
		{last + fs - 1, 1, xdpPktContd, ""},
		{last + fs - 1, 2, xdpPktContd, whyCrosses},
		{end, 1, xdpPktContd, whyOutside},
	} {
		t.Run(fmt.Sprintf("%#x+%d,opt%#x", c.addr, c.len, c.options), func(t *testing.T) {
			s := mustSim(t, simConfig{frameSize: fs, frames: frames})
			if !s.deliver(make([]byte, 100)) {
				t.Fatal("deliver")
			}
			e := s.rx.entry(0)
			binary.NativeEndian.PutUint64(e[0:], c.addr)
			binary.NativeEndian.PutUint32(e[8:], c.len)
			binary.NativeEndian.PutUint32(e[12:], c.options)
			n, err := s.rq.Acquire(8)
			if n != 1 || err != nil {
				t.Fatalf("Acquire = %d, %v", n, err)
			}
			p, err := s.rq.Packet(0)
			if c.why != "" {
				if p != nil {
					t.Fatalf("got a packet of %d bytes", len(p))
				}
				isIntegrity(t, err, c.why)
				if ie := err.(*IntegrityError); ie.Reason != c.why {
					t.Fatalf("reason %q, want %q", ie.Reason, c.why)
				}
			} else {
				if err != nil || len(p) != int(c.len) || cap(p) != len(p) || s.rq.Len(0) != int(c.len) {
					t.Fatalf("Packet = %d bytes (cap %d), %v; Len %d; want %d bytes", len(p), cap(p), err, s.rq.Len(0), c.len)
				}
				if len(p) > 0 && unsafe.Pointer(&p[0]) != unsafe.Pointer(&s.umem[c.addr]) {
					t.Fatal("the packet is not at the descriptor's address")
				}
			}
			s.rq.Release(1)
			if err := s.guardsOK(); err != nil {
				t.Fatal(err)
			}
			own := s.ownerCounts()
			if own[ownRxPend]+own[ownRxKernel]+own[ownRxUser] != s.rxFrames || own[ownRxUser] != 0 || own[ownNone] != 0 {
				t.Fatalf("frame owners %v", own)
			}
			if st := s.rq.Stats(); (st.Integrity == 1) != (c.why != "") {
				t.Fatalf("integrity count %d", st.Integrity)
			}
		})
	}
}

// TestPublishClearsOptions: Publish writes every field of the descriptors
// it produces, options included, whatever the TX ring held before (the
// kernel's last use of the entry, or a hostile write): a stale
// XDP_PKT_CONTD would make the kernel join the frame to the next one or
// refuse it, a stale XDP_TX_METADATA would make it read metadata in front
// of the frame.
func TestPublishClearsOptions(t *testing.T) {
	s := mustSim(t, simConfig{})
	for i := range s.tx.size {
		e := s.tx.entry(i)
		for j := range e {
			e[j] = 0xff
		}
	}
	k, err := s.tq.Reserve(3)
	if k != 3 || err != nil {
		t.Fatal(k, err)
	}
	var addrs [3]uint64
	for i := range k {
		addrs[i] = uint64(uintptr(unsafe.Pointer(&s.tq.Buf(i)[0])) - uintptr(unsafe.Pointer(&s.umem[0])))
		s.tq.SetLen(i, 60+i)
	}
	s.tq.Publish(k)
	for i := range k {
		e := s.tx.entry(uint32(i))
		a, l, o := binary.NativeEndian.Uint64(e[0:]), binary.NativeEndian.Uint32(e[8:]), binary.NativeEndian.Uint32(e[12:])
		if a != addrs[i] || l != uint32(60+i) || o != 0 {
			t.Errorf("descriptor %d: addr %#x len %d options %#x; want %#x %d 0", i, a, l, o, addrs[i], 60+i)
		}
	}
}
