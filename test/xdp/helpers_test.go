//go:build linux

package xdp

import (
	"encoding/binary"
	"testing"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/xsk"
)

// open opens a socket on dev inside namespace ns and closes it when t ends.
func open(t testing.TB, ns, dev string, cfg *xsk.Config) *xsk.Socket {
	t.Helper()
	var s *xsk.Socket
	err := xdptest.In(ns, func() (err error) {
		s, err = xsk.Open(dev, cfg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

const (
	srcPort = 4000
	dstPort = 5000
	seqOff  = packet.UDPHdrLen // the sequence number's place in a frame
)

// frameWriter returns a function that writes frame seq (a UDP datagram
// from A to B, port 4000 to 5000, the 8-octet seq first in its payload) of
// n octets into b.
func frameWriter(t testing.TB, p *xdptest.Pair) func(b []byte, seq uint64, n int) int {
	t.Helper()
	tpl, err := packet.NewUDPTemplate(&packet.UDPConfig{SrcMAC: p.MacA, DstMAC: p.MacB, SrcIP: p.IPA, DstIP: p.IPB, SrcPort: srcPort, DstPort: dstPort})
	if err != nil {
		t.Fatal(err)
	}
	src, dst := p.IPA.As4(), p.IPB.As4()
	return func(b []byte, seq uint64, n int) int {
		tpl.Write(b, n, src, dst, srcPort, dstPort, uint16(seq))
		binary.BigEndian.PutUint64(b[seqOff:], seq)
		return n
	}
}

// frameSeq returns the sequence number of a UDP frame to port 5000.
func frameSeq(pkt []byte) (uint64, bool) {
	if len(pkt) < seqOff+8 || pkt[12] != 0x08 || pkt[13] != 0 || pkt[23] != 17 || binary.BigEndian.Uint16(pkt[36:]) != dstPort {
		return 0, false
	}
	return binary.BigEndian.Uint64(pkt[seqOff:]), true
}

// counter counts sequence numbers as they arrive.
type counter struct {
	next, received, lost, reordered uint64
}

func (c *counter) add(s uint64) {
	c.received++
	switch {
	case s > c.next:
		c.lost += s - c.next
	case s < c.next:
		c.reordered++
	}
	c.next = max(c.next, s+1)
}
