package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/nmgo/nmgo/packet"
	"golang.org/x/net/ipv4"
)

// The udp: backend sends and receives through kernel UDP sockets, batched
// with sendmmsg and recvmmsg (golang.org/x/net/ipv4's WriteBatch and
// ReadBatch), so one command compares kernel bypass with the socket path,
// and nmbench does something useful on a host without netmap.
//
// -l is still the Ethernet frame length: the UDP payload is that minus the
// 42 bytes of Ethernet, IPv4 and UDP headers the kernel adds, and txseq puts
// its sequence number at the start of the payload, where it sits in the
// netmap frames too.

const udpPrefix = "udp:"

// udpMaxBatch bounds -b on the udp: backend: the datagrams of one
// sendmmsg or recvmmsg (UIO_MAXIOV is 1024).
const udpMaxBatch = 1024

// isUDP reports whether port names kernel UDP sockets: udp:HOST:PORT,
// and for vtx and vrx also udp and udp:IFACE (st2110's names).
func isUDP(port string) bool { return port == "udp" || strings.HasPrefix(port, udpPrefix) }

// udpAddr resolves the IPv4 destination or group of tx, rx, txseq and
// rxseq: their sockets are IPv4 ones (-l counts an IPv4 header), and an
// IPv6 address is refused as such, not as an address without a host.
func udpAddr(port string) (*net.UDPAddr, error) {
	host := strings.TrimPrefix(port, udpPrefix)
	a, err := net.ResolveUDPAddr("udp4", host)
	if err != nil {
		if a6, err6 := net.ResolveUDPAddr("udp6", host); err6 == nil && a6.IP.To4() == nil {
			return nil, fmt.Errorf("-i %s: %v is an IPv6 address: tx, rx, txseq and rxseq over udp: are IPv4 only (vtx and vrx take IPv6)", port, a6.IP)
		}
		return nil, fmt.Errorf("-i %s: want udp:HOST:PORT with an IPv4 HOST: %v", port, err)
	}
	if a.Port == 0 {
		// A sender would send to port 0, a receiver listen on a port
		// the kernel picks, that no sender knows.
		return nil, fmt.Errorf("-i %s: port 0; want udp:HOST:PORT with PORT in 1..65535", port)
	}
	return a, nil
}

// udpSend is tx and txseq on the udp: backend.
func udpSend(ctx context.Context, cfg *config, st *stats) error {
	addr, err := udpAddr(cfg.port)
	if err != nil {
		return err
	}
	c, err := net.DialUDP("udp4", nil, addr)
	if err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	return udpTx(ctx, cfg, c, st)
}

// udpRecv is rx and rxseq on the udp: backend.
func udpRecv(ctx context.Context, cfg *config, st *stats) error {
	addr, err := udpAddr(cfg.port)
	if err != nil {
		return err
	}
	listen := net.ListenUDP
	if addr.IP.IsMulticast() {
		// A group's datagrams reach a socket of a host that joined it:
		// join on the interface the system picks for it, as a sender's
		// datagrams leave by (vtx and vrx choose one: udp:GROUP:PORT@IFACE).
		listen = func(network string, a *net.UDPAddr) (*net.UDPConn, error) {
			return net.ListenMulticastUDP(network, nil, a)
		}
	}
	c, err := listen("udp4", addr)
	if err != nil {
		return fmt.Errorf("udp: %w", err)
	}
	defer c.Close()
	_ = c.SetReadBuffer(8 << 20)
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	return udpRx(ctx, cfg, c, st)
}

func udpTx(ctx context.Context, cfg *config, c *net.UDPConn, st *stats) error {
	pc := ipv4.NewPacketConn(c)
	g, err := newGen(cfg)
	if err != nil {
		return err
	}
	batch := cfg.batch // at most udpMaxBatch: checkPackets
	msgs := make([]ipv4.Message, batch)
	bufs := make([][]byte, batch)
	for i := range msgs {
		bufs[i] = make([]byte, cfg.lens.max()-packet.UDPHdrLen)
		if !cfg.noTouch {
			copy(bufs[i], g.payload[packet.UDPHdrLen:])
		}
		msgs[i].Buffers = [][]byte{bufs[i]}
	}
	var sent uint64
	var seq uint32
	pace := newPacer(cfg)
	for ctx.Err() == nil && (cfg.count == 0 || sent < cfg.count) {
		n := pace.next(batch, sent)
		if n == 0 {
			continue
		}
		var bytes uint64
		for i := 0; i < n; i++ {
			l := g.length()
			msgs[i].Buffers[0] = bufs[i][:l-packet.UDPHdrLen]
			if g.sequence && l-packet.UDPHdrLen >= 4 {
				binary.BigEndian.PutUint32(bufs[i], seq)
				seq++
			}
			bytes += uint64(l)
		}
		k, err := pc.WriteBatch(msgs[:n], 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if !skipSendErr(err, st) {
				return sendErr(c.RemoteAddr(), err)
			}
			k = 0 // x/net says -1
		}
		if k < n { // the sequence numbers of the unsent ones are sent again
			seq -= uint32(n - k)
			bytes = bytes * uint64(k) / uint64(n)
		}
		if k == 0 {
			continue
		}
		sent += uint64(k)
		st.packets.Add(uint64(k))
		st.bytes.Add(bytes)
		st.batches.Add(1)
	}
	return nil
}

// skipSendErr reports whether err, from sendmmsg, is one the senders skip,
// and counts it in st. ECONNREFUSED is the ICMP port unreachable that an
// earlier datagram drew from a destination where nothing listens, reported
// by the next send on a connected socket (whose own datagram then is not
// sent); ENOBUFS is a full device queue, after which the sender pauses a
// moment. Neither says Temporary() (syscall.Errno reserves that for EINTR,
// EAGAIN and a few more), so the errno itself is tested.
func skipSendErr(err error, st *stats) bool {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		st.refused.Add(1)
	case errors.Is(err, syscall.ENOBUFS):
		st.noBufs.Add(1)
		time.Sleep(50 * time.Microsecond)
	default:
		return false
	}
	return true
}

// sendErr is the error of a send to dst that failed: the system call's
// error named after the destination (x/net's names the local address).
func sendErr(dst net.Addr, err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	return fmt.Errorf("udp: send to %v: %w", dst, err)
}

// udpRx receives until -n or ctx. Per datagram it allocates only inside
// x/net's ReadBatch, which parses each source address into a new
// net.UDPAddr (two allocations, TestUDPLoopsAllocs): part of the socket
// path this backend stands for, and not in the netmap loops.
func udpRx(ctx context.Context, cfg *config, c *net.UDPConn, st *stats) error {
	pc := ipv4.NewPacketConn(c)
	batch := cfg.batch // at most udpMaxBatch: checkPackets
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, maxFrame)}
	}
	check := cfg.mode.seq
	win := seqWindow{need: cfg.count} // -n 1 takes the first number unconfirmed, and a jump to -n's last number
	var got uint64
	for ctx.Err() == nil && (cfg.count == 0 || win.remaining(cfg.count, got, check) > 0) {
		want := len(msgs)
		if cfg.count != 0 {
			want = int(min(uint64(want), win.remaining(cfg.count, got, check)))
		}
		n, err := pc.ReadBatch(msgs[:want], 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return fmt.Errorf("udp receive: %w", err)
		}
		var c batchCounts
		for i := 0; i < n; i++ {
			m := &msgs[i]
			c.bytes += uint64(m.N + packet.UDPHdrLen)
			if check && m.N >= 4 {
				c.seq(&win, binary.BigEndian.Uint32(m.Buffers[0]))
			}
		}
		got += uint64(n)
		c.publish(st, n, check)
	}
	return nil
}
