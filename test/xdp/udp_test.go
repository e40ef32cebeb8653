//go:build linux

package xdp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
	"github.com/nmgo/nmgo/xsk"
)

// listenUDP opens a UDP socket on addr inside namespace ns, with a 4 MiB
// receive buffer.
func listenUDP(t *testing.T, ns string, addr netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := xdptest.In(ns, func() (err error) {
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadBuffer(4 << 20)
	return c
}

const udpCount = 100000

// TestXskToUDP: an AF_XDP socket on A sends sequence-numbered UDP frames
// to a UDP socket on B, which must read each datagram once and in order.
// The sender keeps at most 256 datagrams unread (credit pacing through the
// reader's count), within the reader's socket buffer.
func TestXskToUDP(t *testing.T) {
	p := xdptest.NewPair(t)
	conn := listenUDP(t, p.NsB, netip.AddrPortFrom(p.IPB, dstPort))
	txs := open(t, p.NsA, p.A, &xsk.Config{TxOnly: true})
	var read atomic.Uint64
	done := make(chan counter, 1)
	go func() {
		var c counter
		buf := make([]byte, 2048)
		_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		for c.next < udpCount {
			n, _, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Errorf("read after %d datagrams: %v", c.received, err)
				break
			}
			if n != 100-42 {
				t.Errorf("datagram of %d octets, want 58", n)
			}
			c.add(binary.BigEndian.Uint64(buf))
			read.Store(c.received)
		}
		done <- c
	}()
	tx := txs.Tx()
	write := frameWriter(t, p)
	start := time.Now()
	for seq := uint64(0); seq < udpCount; {
		credit := int(min(256-min(seq-read.Load(), 256), udpCount-seq))
		if credit == 0 {
			if err := txs.Kick(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		k, err := tx.Reserve(min(credit, 32))
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			if err := txs.WaitTx(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for i := range k {
			tx.SetLen(i, write(tx.Buf(i), seq, 100))
			seq++
		}
		tx.Publish(k)
		if err := txs.Kick(); err != nil {
			t.Fatal(err)
		}
	}
	c := <-done
	t.Logf("AF_XDP -> UDP: %d datagrams read, %d lost, %d reordered, %v (%.0f pps)",
		c.received, c.lost, c.reordered, time.Since(start), float64(c.received)/time.Since(start).Seconds())
	if c.received != udpCount || c.lost != 0 || c.reordered != 0 {
		t.Fatalf("sent %d: %+v", udpCount, c)
	}
}

// TestUDPToXsk: a UDP socket on B sends sequence-numbered datagrams to A,
// where an AF_XDP socket (whose program takes every packet of the queue)
// must receive each once and in order, with the IPv4 and UDP headers the
// kernel wrote. The sender keeps at most 512 datagrams unreceived.
func TestUDPToXsk(t *testing.T) {
	p := xdptest.NewPair(t)
	rxs := open(t, p.NsA, p.A, &xsk.Config{RxOnly: true})
	var conn *net.UDPConn
	err := xdptest.In(p.NsB, func() (err error) {
		conn, err = net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.IPB, srcPort)),
			net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.IPA, dstPort)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got atomic.Uint64
	done := make(chan counter, 1)
	go func() {
		var c counter
		rx := rxs.Rx()
		_ = rxs.SetReadDeadline(time.Now().Add(60 * time.Second))
		for c.next < udpCount {
			k, err := rx.Acquire(64)
			if err != nil {
				t.Error(err)
				break
			}
			if k == 0 {
				if err := rxs.WaitRx(); err != nil {
					t.Errorf("WaitRx after %d: %v", c.received, err)
					break
				}
				continue
			}
			for i := range k {
				pkt, err := rx.Packet(i)
				if err != nil {
					t.Error(err)
					continue
				}
				if s, ok := frameSeq(pkt); ok {
					if len(pkt) != 42+64 || !netip.AddrFrom4([4]byte(pkt[26:30])).Is4() || [4]byte(pkt[30:34]) != p.IPA.As4() {
						t.Errorf("frame %d: %d octets, %x", s, len(pkt), pkt[:42])
					}
					c.add(s)
				}
			}
			rx.Release(k)
			got.Store(c.received)
		}
		done <- c
	}()
	buf := make([]byte, 64)
	start := time.Now()
	for seq := uint64(0); seq < udpCount; {
		if seq-got.Load() >= 512 {
			time.Sleep(10 * time.Microsecond)
			continue
		}
		binary.BigEndian.PutUint64(buf, seq)
		if _, err := conn.Write(buf); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			t.Fatal(err)
		}
		seq++
	}
	c := <-done
	t.Logf("UDP -> AF_XDP: %d frames received, %d lost, %d reordered, %v (%.0f pps)",
		c.received, c.lost, c.reordered, time.Since(start), float64(c.received)/time.Since(start).Seconds())
	if c.received != udpCount || c.lost != 0 || c.reordered != 0 {
		t.Fatalf("sent %d: %+v", udpCount, c)
	}
}
