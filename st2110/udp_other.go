//go:build !linux

package st2110

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Outside Linux the UDP transport reads and writes one datagram at a time
// through package net (readMsg, udp_msg.go).

func socketOptions(network, address string, c syscall.RawConn) error { return nil }

// setReadBuffer does nothing before the bind: elsewhere the buffer is set
// after it, with net.UDPConn.SetReadBuffer (readBufferBeforeBind).
func setReadBuffer(c syscall.RawConn, n int) {}

const readBufferBeforeBind = false

// holdSleep is time.Sleep outside Linux, where a UDP reader takes one
// datagram at a time and so never lingers.
func holdSleep(d time.Duration) { time.Sleep(d) }

// multicastIFConnect: elsewhere the source of a multicast flow is taken
// from the interface's addresses.
const multicastIFConnect = false

func setMulticastIF(c syscall.RawConn, index int, v4 bool) error { return nil }

func (s *udpSock) read(ctx context.Context, sink *rxSink) error {
	buf, oob := make([]byte, maxDatagram), make([]byte, controlLen)
	cw := clockWatch{watch: sink.clock.Source() == ClockPHC}
	cw.arm(s, 0)
	for ctx.Err() == nil {
		n, wire, src, dst, err := readMsg(s.conn, buf, oob, s.port)
		if err != nil {
			if again, err := cw.idle(ctx, s, sink, err); !again {
				return err
			}
			continue
		}
		at, err := sink.now()
		if err != nil {
			return err
		}
		cw.arm(s, at)
		sink.enter()
		sink.r.PushUDPCut(src, dst, buf[:n], wire, at)
		sink.batches.Add(1)
		sink.tick(at)
		sink.leave()
	}
	return nil
}

// udpBatch holds the datagrams of a step, sent one at a time.
type udpBatch struct {
	n       int
	bufs    [][]byte
	lens    []int
	to      []int
	dsts    []netip.AddrPort
	pending int
}

func (m *udpBatch) initSend(n int, dsts []netip.AddrPort) error {
	if n <= 0 {
		n = 64
	}
	m.n = n
	m.bufs, m.lens, m.to = make([][]byte, m.n), make([]int, m.n), make([]int, m.n)
	for i := range m.bufs {
		m.bufs[i] = make([]byte, maxDatagram)
	}
	m.dsts = dsts
	return nil
}

func (m *udpBatch) buf(i int) []byte   { return m.bufs[i] }
func (m *udpBatch) setLen(i, n int)    { m.lens[i] = n }
func (m *udpBatch) setDst(i, flow int) { m.to[i] = flow }
func (m *udpBatch) dstOf(i int) netip.AddrPort {
	if i >= m.pending {
		return netip.AddrPort{}
	}
	return m.dsts[m.to[i]]
}

func (m *udpBatch) send(c *net.UDPConn, from int) (int, error) {
	for i := from; i < m.pending; i++ {
		if _, err := c.WriteToUDPAddrPort(m.bufs[i][:m.lens[i]], m.dsts[m.to[i]]); err != nil {
			return i - from, err
		}
	}
	return m.pending - from, nil
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

func isFiltered(err error) bool { return errors.Is(err, syscall.EPERM) }

func isNoBufs(err error) bool {
	return errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EAGAIN)
}
