package st2110

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nmgo/nmgo/video"
	"github.com/nmgo/nmgo/xsk"
)

// The AF_XDP transport: one AF_XDP socket (package xsk) on one queue of an
// interface, in copy or zero-copy mode as the driver allows, for a stock
// Linux kernel without netmap. Its queues have the shape of a netmap
// ring's, so the receiver is a ringReader with the socket as its kernel
// side and the sender a txConn over the TX queue; packets are whole
// Ethernet frames read and written in place in the UMEM. The goroutines
// own their OS threads and wait in poll(2), as the netmap transport's do.

// xdpRxUMEM is the default UMEM of a receiving socket
// (ListenConfig.ReadBuffer): 8192 frames of 2048 octets, all of them on
// the fill ring, with an RX ring that holds them all, so that a reader
// that does not run for 30 ms loses nothing of a 1080p59.94 flow (some
// 260,000 packets a second).
const xdpRxUMEM = 16 << 20

// xdpRxConfig is the socket configuration of a receiver on queue q with a
// UMEM of about umem octets: a power of two of frames of the default size,
// at least 64, at most 2^20 (xsk's limit); an RX ring as large; zero-copy
// where the driver has it.
func xdpRxConfig(q, umem int) *xsk.Config {
	if umem == 0 {
		umem = xdpRxUMEM
	}
	// In int64: in a 32-bit program frames*2*2048 wraps at 2^19 frames,
	// which once asked for 2^20 frames (2 GiB) of a 1 GiB ReadBuffer.
	frames := 64
	for frames < 1<<20 && int64(frames)*2*xsk.DefaultFrameSize <= min(int64(umem), xsk.MaxUMEM) {
		frames *= 2
	}
	return &xsk.Config{Queue: q, RxOnly: true, Frames: frames, RxSize: frames, Bind: xsk.BindZeroCopyOrCopy}
}

// xdpRx receives from one AF_XDP socket.
type xdpRx struct {
	sock *xsk.Socket
	rds  []rxReader
}

func openXDPRx(ep *endpoint, cfg *ListenConfig) (rxTransport, error) {
	s, err := xsk.Open(ep.iface, xdpRxConfig(ep.queue, cfg.ReadBuffer))
	if err != nil {
		return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
	}
	batch := cfg.Batch
	if batch == 0 {
		batch = 512
	}
	// A batch the queue cannot hold would never be full, and the reader
	// would linger with its ring full.
	batch = min(batch, s.Rx().Frames())
	rd := &ringReader{name: ep.name, rings: []video.RxQueue{s.Rx()}, kernel: &xskWaiter{sock: s, idle: xsk.Idler{Linger: cfg.Linger}}, batch: batch, lock: true}
	return &xdpRx{sock: s, rds: []rxReader{rd}}, nil
}

func (t *xdpRx) readers() []rxReader { return t.rds }

// wake does nothing: the reader sleeps in poll(2) for at most 20 ms
// (xsk.Idler) and then sees its context done.
func (t *xdpRx) wake() {}

// close closes the socket, which detaches the XDP program with the last
// socket of the process on the interface.
func (t *xdpRx) close() error {
	return t.sock.Close()
}

// xskWaiter is an AF_XDP socket as a ringReader's kernel side: the rings
// need no sync, so after a pass that found packets the reader goes on at
// once (or lingers, if told to, after a partial batch), and after an
// empty one it sleeps in poll(2) on its own thread (xsk.Idler, which also
// yields to the scheduler every few milliseconds).
type xskWaiter struct {
	sock *xsk.Socket
	idle xsk.Idler
}

func (w *xskWaiter) next(took int, full bool, bytes uint64, now int64) error {
	err := w.idle.NextBatchAt(w.sock, took, full, bytes, now)
	switch {
	case err == nil || errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case errors.Is(err, xsk.ErrClosed):
		return errRingClosed
	}
	return err
}

// xdpTxConfig is the socket configuration of a sender on queue q that
// writes up to batch packets a step, zero-copy where the driver has it.
func xdpTxConfig(q, batch int) *xsk.Config {
	return &xsk.Config{Queue: q, TxOnly: true, TxBudget: min(max(batch, xsk.MinTxBudget), xsk.DefaultRingSize), Bind: xsk.BindZeroCopyOrCopy}
}

// xdpTx sends through the TX queue of one AF_XDP socket.
type xdpTx struct {
	*xsk.TxQueue
	sock *xsk.Socket
}

// openXDPTx opens the socket of a sender that writes up to batch packets
// a step: one kick sends them all where the kernel can (Linux 6.17 and
// later), else 32 at a time.
func openXDPTx(ep *endpoint, batch int) (*xdpTx, error) {
	c := xdpTxConfig(ep.queue, batch)
	s, err := xsk.Open(ep.iface, c)
	if errors.Is(err, xsk.ErrNotSupported) {
		c.TxBudget = 0
		s, err = xsk.Open(ep.iface, c)
	}
	if err != nil {
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	return &xdpTx{TxQueue: s.Tx(), sock: s}, nil
}

// BufSize is the longest frame the queue sends, for Dial's check of the
// packets' size.
func (x *xdpTx) BufSize() int { return x.FrameSize() }

// maxKicks bounds the kicks of one flush: in copy mode a kick sends at
// most the socket's TX budget (SendConfig.Batch, or the kernel's 32), a
// step writes at most SendConfig.Batch.
const maxKicks = 64

// flush kicks the kernel until it has taken everything published off the
// TX ring (or for at most maxKicks kicks), so that packets leave when
// their step wrote them, not at the next step.
func (x *xdpTx) flush(context.Context) error {
	for range maxKicks {
		if err := x.sock.Kick(); err != nil {
			return err
		}
		if x.Unsent() == 0 {
			return nil
		}
	}
	return nil
}

// keepsFailed: a kick that fails leaves the TX ring's packets in it.
func (x *xdpTx) keepsFailed() {}

// xdpWaitSlice bounds one wait for room, so that the send loop sees its
// context end that soon.
const xdpWaitSlice = 20 * time.Millisecond

func (x *xdpTx) wait(ctx context.Context) error {
	_ = x.sock.SetWriteDeadline(time.Now().Add(xdpWaitSlice))
	err := x.sock.WaitTx()
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
		return nil
	}
	return err
}

// drain lets the packets in flight leave, for at most a second.
func (x *xdpTx) drain() {
	deadline := time.Now().Add(time.Second)
	for x.InFlight() > 0 && time.Now().Before(deadline) {
		if x.sock.Kick() != nil {
			return
		}
		if _, err := x.Reserve(0); err != nil {
			return
		}
		if x.InFlight() > 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

func (x *xdpTx) close() error {
	x.drain()
	return x.sock.Close()
}

func (x *xdpTx) counts() *txCounts { return nil }

// The AF_XDP queues satisfy package video's queue interfaces as they are.
var (
	_ video.TxQueue = (*xsk.TxQueue)(nil)
	_ video.RxQueue = (*xsk.RxQueue)(nil)
)
