package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/xsk"
)

// The xdp: backend drives an AF_XDP socket (package xsk) on one queue of
// a network interface: -i xdp:IFACE or xdp:IFACE-Q. It runs tx, rx,
// txseq, rxseq, ping and pong with the netmap loops' shape and counters,
// so the output and the JSON are the same; vtx and vrx go through
// st2110's xdp: transport, as they go through its others.
const xdpPrefix = "xdp:"

// The UMEM frames of rx and rxseq over xdp: (-xdp-frames). By default
// 16384 frames (32 MiB) and an RX ring that holds them all: 40 ms of 400
// kpps, so that a receiver the scheduler keeps from its CPU for a while
// (it sleeps in poll(2) when idle) loses nothing; with 2048, 1500-octet
// frames at 400 kpps lost 10 to 35 % on a busy host. The price is the
// cache: the kernel takes the fill ring's frames in order, so it copies
// each packet into a frame it last touched 16384 frames ago, never in the
// cache. A busy receiver (-busy) that keeps up does best with few: at
// saturation on a quiet host (docs/benchmarks.md), against testpmd in the
// same rounds, 2048 frames took 1.07x (60 B) and 1.9x (1500 B) the share
// 16384 took.
const (
	xdpRxFrames  = 16384
	minXDPFrames = 64
	maxXDPFrames = 65536
)

func isXDP(port string) bool { return strings.HasPrefix(port, xdpPrefix) }

// xdpSocketConfig is the socket of a packet function on queue q: TX only
// for the senders, RX only (with -xdp-frames' UMEM, an RX ring that holds
// every frame) for the receivers, both for ping and pong.
func xdpSocketConfig(cfg *config, q int) *xsk.Config {
	m := cfg.mode
	c := &xsk.Config{Queue: q}
	switch {
	case m.send:
		c.TxOnly = true
	case m.name == "rx" || m.name == "rxseq":
		c.RxOnly = true
		c.Frames = xdpRxFrames
		if cfg.xdpFrames != 0 {
			c.Frames = cfg.xdpFrames
		}
		c.RxSize = c.Frames // the RX ring holds every frame
	}
	if m.send {
		// One kick sends a batch, not the kernel's default of 32
		// frames: a sixteenth of the system calls at -b 512, where the
		// kernel can (Linux 6.17 and later).
		c.TxBudget = min(max(cfg.batch, xsk.MinTxBudget), xsk.DefaultRingSize)
	}
	return c
}

// openXDP opens the socket of a packet function: TX only for the senders,
// RX only for the receivers, both for ping and pong. A cancelled ctx wakes
// a blocked wait through a past deadline.
func openXDP(ctx context.Context, cfg *config) (work, func() error, error) {
	m := cfg.mode
	iface, q, err := xsk.ParseName(strings.TrimPrefix(cfg.port, xdpPrefix))
	if err != nil {
		return nil, nil, fmt.Errorf("-i %s: %w", cfg.port, err)
	}
	c := xdpSocketConfig(cfg, q)
	s, err := xsk.Open(iface, c)
	if c.TxBudget > 0 && errors.Is(err, xsk.ErrNotSupported) {
		c.TxBudget = 0
		s, err = xsk.Open(iface, c)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := checkXDPLen(cfg, s, iface, c.RxOnly); err != nil {
		s.Close()
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { s.SetDeadline(time.Unix(1, 0)) })
	closeRun := func() error { stop(); return s.Close() }
	// A NIC's driver may reset the link when an AF_XDP socket binds
	// (zero-copy mode): -w waits for it, as on a netmap NIC.
	waitLink(ctx, cfg.wait)
	return func(ctx context.Context, st *stats) error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		return m.xdp(ctx, cfg, s, st)
	}, closeRun, nil
}

// checkXDPLen checks -l against the socket's UMEM frames and, for a socket
// that sends, the interface's MTU: a longer frame is taken from the TX
// ring and counted as sent, then dropped by the driver (veth) without a
// word. It runs where the socket was opened, in its network namespace.
func checkXDPLen(cfg *config, s *xsk.Socket, iface string, rxOnly bool) error {
	if max := s.Info().FrameSize - 256; cfg.lens.max() > max {
		return usage(fmt.Errorf("-l %s: frames longer than %d bytes do not fit an AF_XDP frame", cfg.lens, max))
	}
	if rxOnly {
		return nil
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return fmt.Errorf("-i %s: %w", cfg.port, err)
	}
	if max := ifi.MTU + packet.EthLen; cfg.lens.max() > max {
		return usage(fmt.Errorf("-l %s: frames longer than %d bytes do not fit %s's MTU of %d (plus the %d-byte Ethernet header)", cfg.lens, max, iface, ifi.MTU, packet.EthLen))
	}
	return nil
}

// fillXDP is gen.fill for an AF_XDP TX queue: each UMEM frame is written
// whole the first time it is handed out, then only what changes. Frames
// come back from the completion ring in the kernel's order, not the
// ring's, so the record is by frame (fresh counts those never written):
// a paced sender reuses a few frames for a long time and meets a fresh
// one late, which a count of packets (one lap) would have sent as zeros.
func (g *gen) fillXDP(q *xsk.TxQueue, n int, written []bool, fresh *int) uint64 {
	if !g.touch && g.fixed > 0 {
		// Fixed frames: lengths only, once a frame has been written.
		// A sender that kicks its ring empty may cycle through fewer
		// than all the frames and never leave this loop's check.
		for i := 0; *fresh > 0 && i < n; i++ {
			if f := q.Frame(i); !written[f] {
				written[f] = true
				*fresh--
				g.full(q.Buf(i), g.fixed)
			}
		}
		q.SetLens(n, g.fixed)
		return uint64(n) * uint64(g.fixed)
	}
	var bytes uint64
	for i := 0; i < n; i++ {
		l := g.length()
		if f := q.Frame(i); !written[f] {
			written[f] = true
			*fresh--
			g.full(q.Buf(i), l)
		} else if g.touch {
			g.header(q.Buf(i), l)
		}
		q.SetLen(i, l)
		bytes += uint64(l)
	}
	return bytes
}

// xdpTx is txLoop on an AF_XDP socket: reserve, fill, publish, kick; wait
// for sent frames when none is free.
func xdpTx(ctx context.Context, cfg *config, s *xsk.Socket, st *stats) error {
	q := s.Tx()
	g, err := newGen(cfg)
	if err != nil {
		return err
	}
	written, fresh := make([]bool, q.Frames()), q.Frames()
	var sent, moved uint64
	var y osthread.Yielder
	pace := newPacer(cfg)
	for ctx.Err() == nil && (cfg.count == 0 || sent < cfg.count) {
		y.Pass(moved)
		moved = 0
		want := pace.next(cfg.batch, sent)
		if want == 0 {
			continue
		}
		n, err := q.Reserve(want)
		if err != nil {
			return fmt.Errorf("tx queue: %w", err)
		}
		if n == 0 {
			if err := waitErr(ctx, s.WaitTx()); err != nil {
				if err == errStop {
					break
				}
				return err
			}
			continue
		}
		bytes := g.fillXDP(q, n, written, &fresh)
		q.Publish(n)
		sent += uint64(n)
		moved = bytes
		st.packets.Add(uint64(n))
		st.bytes.Add(bytes)
		st.batches.Add(1)
		if err := xdpFlush(s, q); err != nil {
			return err
		}
	}
	// Let the last frames leave before the socket closes, for at most a
	// second.
	deadline := time.Now().Add(time.Second)
	for q.InFlight() > 0 && time.Now().Before(deadline) {
		if err := s.Kick(); err != nil {
			return err
		}
		if _, err := q.Reserve(0); err != nil {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

// xdpFlush kicks until the kernel has taken every published frame off
// the TX ring, or for at most a UMEM's worth of kicks. In copy mode one
// kick sends at most the socket's TX budget; a loop that published more
// and went on would fill the ring, and the frames would then cycle
// through all of the UMEM (8 MiB), out of the CPU's caches when the
// kernel copies them into its buffers. Kicked empty, the ring holds one
// batch, and the free stack hands the same frames out again, warm: at
// 1500 octets that is what lets the kernel's copy run at the speed it has
// at 60.
func xdpFlush(s *xsk.Socket, q *xsk.TxQueue) error {
	for range q.Frames() {
		if err := s.Kick(); err != nil {
			return err
		}
		if q.Unsent() == 0 {
			return nil
		}
	}
	return nil
}

// xdpRx is rxLoop on an AF_XDP socket.
func xdpRx(ctx context.Context, cfg *config, s *xsk.Socket, st *stats) error {
	q := s.Rx()
	check := cfg.mode.seq
	win := seqWindow{need: cfg.count} // -n 1 takes the first number unconfirmed, and a jump to -n's last number
	var got, slept uint64
	idle := xsk.Idler{Linger: cfg.linger}
	if cfg.busy {
		idle.Spin = math.MaxInt // never sleeps: Next returns at once
	}
	batch := min(cfg.batch, q.Frames()) // a batch the queue cannot hold would never be full (see rxLoop)
	for ctx.Err() == nil && (cfg.count == 0 || win.remaining(cfg.count, got, check) > 0) {
		want := batch
		if cfg.count != 0 {
			want = int(min(uint64(want), win.remaining(cfg.count, got, check)))
		}
		n, err := q.Acquire(want)
		if err != nil {
			return fmt.Errorf("rx queue: %w", err)
		}
		var c batchCounts
		for i := range n {
			if !check {
				c.bytes += uint64(q.Len(i))
				continue
			}
			pkt, err := q.Packet(i)
			if err != nil {
				return fmt.Errorf("rx queue: %w", err)
			}
			c.frame(&win, pkt)
		}
		q.Release(n)
		if n > 0 {
			got += uint64(n)
			c.publish(st, n, check)
		}
		err = idle.NextBatch(s, n, n == want, c.bytes)
		if z := idle.Sleeps(); z != slept {
			st.sleeps.Add(z - slept)
			slept = z
		}
		if err := waitErr(ctx, err); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

// xdpPing is pingLoop on an AF_XDP socket.
func xdpPing(ctx context.Context, cfg *config, s *xsk.Socket, st *stats) error {
	rx := s.Rx()
	return pings(ctx, cfg, st, cfg.rtt, s.Tx(), "queue", s.WaitTx, s.Kick, func(seq uint32, until time.Time) (bool, error) {
		return awaitEchoXDP(ctx, s, rx, seq, until)
	})
}

// awaitEchoXDP is awaitEcho on an AF_XDP socket: it spins spinSyncs
// times, then sleeps in poll(2) until the echo of seq arrives (true) or
// until passes (false). Other frames are dropped.
func awaitEchoXDP(ctx context.Context, s *xsk.Socket, rx *xsk.RxQueue, seq uint32, until time.Time) (bool, error) {
	spins := 0
	for {
		found, err := takeEcho(rx, "queue", 64, seq)
		if err != nil {
			return false, err
		}
		if found {
			return true, nil
		}
		if time.Now().After(until) {
			return false, nil
		}
		if spins++; spins < spinSyncs {
			continue
		}
		spins = 0
		err = s.PollRx(time.Until(until))
		if ctx.Err() != nil {
			return false, errStop
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return false, err
		}
	}
}

// xdpPong is pongLoop on an AF_XDP socket.
func xdpPong(ctx context.Context, cfg *config, s *xsk.Socket, st *stats) error {
	idle := xsk.Idler{Spin: spinSyncs}
	return echoLoop(ctx, cfg, st, s.Rx(), s.Tx(), "queue", s.Kick, func(got bool, bytes uint64) error {
		return idle.Next(s, got, bytes)
	})
}
