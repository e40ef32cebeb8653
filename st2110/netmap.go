package st2110

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/video"
)

// The netmap transport: a port's rings, driven by goroutines locked to
// their OS threads that wait in poll(2) on their own thread
// (nmsys.Config.ThreadWait) and give the scheduler a turn every few
// milliseconds (nmsys.Idler, osthread.Yielder), the strategy nmbench
// measured against netmap's pkt-gen. Packets are read and written in
// place in the slot buffers.

// openPorts opens name once, or once per ring pair (nmsys.OpenPerRing)
// when it binds all NIC rings of a port that has several of the side that
// matters (RX or TX): a NIC or an existing port as the kernel reports it,
// or a VALE port or pipe that the name's "@conf:" creates with several.
func openPorts(name string, cfg *nmsys.Config, rxSide bool) ([]*nmsys.Port, error) {
	n, err := nmsys.ParseName(name)
	if err != nil {
		return nil, err
	}
	if n.Mode == nmsys.ModeAllNIC {
		rings := n.Conf.TxRings
		if rxSide {
			rings = n.Conf.RxRings
		}
		if pi, err := nmsys.LookupPortInfo(name); err == nil {
			if rxSide {
				rings = max(rings, pi.RxRings)
			} else {
				rings = max(rings, pi.TxRings)
			}
		}
		if rings > 1 {
			return nmsys.OpenPerRing(name, cfg)
		}
	}
	p, err := nmsys.Open(name, cfg)
	if err != nil {
		return nil, err
	}
	return []*nmsys.Port{p}, nil
}

// netmapRx receives from a netmap port: one reader per Port, each
// draining the RX rings that Port binds.
type netmapRx struct {
	ports []*nmsys.Port
	rds   []rxReader
}

func openNetmapRx(ep *endpoint, cfg *ListenConfig) (rxTransport, error) {
	if cfg.Passthrough {
		return openPassRx(ep, cfg)
	}
	ports, err := openPorts(ep.port, &nmsys.Config{RxOnly: true, NoTxPoll: true, ThreadWait: true}, true)
	if err != nil {
		return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
	}
	t := &netmapRx{ports: ports}
	batch := cfg.Batch
	if batch == 0 {
		batch = 512
	}
	for _, p := range ports {
		rs, err := p.RxRings()
		if err != nil {
			t.close()
			return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
		}
		qs := make([]video.RxQueue, len(rs))
		b := batch
		for i, r := range rs {
			qs[i] = r
			// A batch the ring cannot hold would never be full, and
			// the reader would linger with its ring full.
			b = min(b, max(r.Capacity(), 1))
		}
		t.rds = append(t.rds, &ringReader{name: p.Name(), rings: qs, kernel: &portWaiter{port: p, idle: nmsys.Idler{Linger: cfg.Linger}}, batch: b, lock: true})
	}
	return t, nil
}

func (t *netmapRx) readers() []rxReader { return t.rds }

// wake does nothing: a ring reader sleeps in poll(2) for at most 20 ms
// (nmsys.Idler) and then sees its context done; its rings stay mapped
// until close.
func (t *netmapRx) wake() {}

func (t *netmapRx) close() error {
	var first error
	for _, p := range t.ports {
		if err := p.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ringKernel is the kernel side of a ringReader's rings: a netmap Port,
// an AF_XDP socket, or in tests a heap region's simulated kernel.
type ringKernel interface {
	// next syncs the rings, or waits for packets, after a pass over them
	// that took took packets, all it asked for (full: more may be
	// waiting) or not, and moved that many bytes; after a partial batch it
	// may linger first (ListenConfig.Linger). now is the pass's time on
	// the receiver's clock (rxSink.waitAt), by which one wait a
	// millisecond lets the process's other goroutines run on the
	// goroutine's P (nmsys.Idler.NextBatchAt). It returns errRingClosed once the rings
	// are closed.
	next(took int, full bool, bytes uint64, now int64) error
}

// errRingClosed ends a ringReader without an error.
var errRingClosed = errors.New("st2110: rings closed")

// portWaiter is a netmap Port's side: syncs and poll(2) on the reader's
// own thread (nmsys.Idler), which also yields to the scheduler every few
// milliseconds, and lingers after a partial batch if told to.
type portWaiter struct {
	port *nmsys.Port
	idle nmsys.Idler
}

func (w *portWaiter) next(took int, full bool, bytes uint64, now int64) error {
	return waitErr(w.idle.NextBatchAt(w.port, took, full, bytes, now))
}

// waitErr maps the error of a netmap sync or wait to a ringKernel's: a
// passed deadline is none, a closed port ends the reader.
func waitErr(err error) error {
	switch {
	case err == nil || errors.Is(err, os.ErrDeadlineExceeded):
		return nil
	case errors.Is(err, nmsys.ErrClosed):
		return errRingClosed
	}
	return err
}

// ringReader drains rings whose slots hold whole Ethernet frames into a
// sink, every batch stamped with the time it was read.
type ringReader struct {
	name   string
	rings  []video.RxQueue
	kernel ringKernel
	batch  int
	lock   bool // own the OS thread (a netmap port opened with ThreadWait)
}

func (r *ringReader) flows() []int { return nil }

// estFrame is the octets a pass is taken to move per packet, for the
// Yielder's clock reads: about one ST 2110-20 packet.
const estFrame = 1500

func (r *ringReader) run(ctx context.Context, s *rxSink) error {
	return runRings(ctx, r.name, r.lock, r.kernel, s, r.pass)
}

// runRings is the loop of a reader of rings: a pass over them, then the
// kernel's sync or wait (or linger), until ctx ends or the rings are
// closed. lock makes it own its OS thread. A pass returns the packets it
// took and whether a ring filled its batch (full: more may be waiting).
func runRings(ctx context.Context, name string, lock bool, kernel ringKernel, s *rxSink, pass func(*rxSink) (int, bool, error)) error {
	if lock {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for ctx.Err() == nil {
		got, full, err := pass(s)
		if err != nil {
			return err
		}
		if err := kernel.next(got, full, uint64(got)*estFrame, s.waitAt()); err != nil {
			if err == errRingClosed {
				return nil
			}
			return fmt.Errorf("st2110: %s: %w", name, err)
		}
	}
	return nil
}

// pass drains every ring once, at most batch packets a ring, and returns
// the packets it took and whether a ring gave a whole batch.
func (r *ringReader) pass(s *rxSink) (int, bool, error) {
	at, err := s.now()
	if err != nil {
		return 0, false, fmt.Errorf("st2110: %s: %w", r.name, err)
	}
	got, full := 0, false
	s.enter()
	defer s.leave()
	for _, ring := range r.rings {
		n, err := s.r.Drain(ring, at, r.batch)
		if err != nil {
			return got, full, fmt.Errorf("st2110: %s: rx ring: %w", r.name, err)
		}
		got += n
		full = full || n == r.batch
	}
	if got > 0 {
		s.batches.Add(1)
	}
	s.tick(at)
	return got, full, nil
}

// ringTx sends through the first TX ring of one Port.
type ringTx struct {
	*rings.TxRing
	port *nmsys.Port
}

func (r *ringTx) flush(context.Context) error { return r.port.TxSync() }

// keepsFailed: a TX sync that fails leaves the ring's packets in it.
func (r *ringTx) keepsFailed() {}

// txWaitSlice is the longest a sender waits for room in its TX ring
// before it looks at its context again: room may never come (a pipe
// whose other end was closed, a receiver that stopped reading), and
// Sender.Close must still end Run.
const txWaitSlice = 20 * time.Millisecond

func (r *ringTx) wait(ctx context.Context) error {
	r.port.SetWriteDeadline(time.Now().Add(txWaitSlice))
	err := r.port.WaitTx()
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) || ctx.Err() != nil {
		return nil
	}
	return err
}

// drain lets the packets in flight leave, for at most a second.
func (r *ringTx) drain() {
	deadline := time.Now().Add(time.Second)
	for r.InFlight() > 0 && time.Now().Before(deadline) {
		if r.port.TxSync() != nil {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func (r *ringTx) close() error {
	r.drain()
	return r.port.Close()
}

func (r *ringTx) counts() *txCounts { return nil }

// openNetmapTx opens the port for sending: one txConn per Port (per TX
// ring pair when the port has several), each taking every n-th flow.
func openNetmapTx(ep *endpoint) ([]txConn, error) {
	ports, err := openPorts(ep.port, &nmsys.Config{TxOnly: true, ThreadWait: true}, false)
	if err != nil {
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	var out []txConn
	for _, p := range ports {
		r, err := p.TxRing(p.Info().FirstTx)
		if err != nil {
			for _, q := range ports {
				q.Close()
			}
			return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
		}
		out = append(out, &ringTx{TxRing: r, port: p})
	}
	return out, nil
}

// The rings satisfy package video's queue interfaces as they are.
var (
	_ video.TxQueue = (*rings.TxRing)(nil)
	_ video.RxQueue = (*rings.RxRing)(nil)
)
