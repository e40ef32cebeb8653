package ringstest

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// Config describes a Port. A nil *Config means one TX and one RX ring of
// 1024 slots and 2048-octet buffers.
type Config struct {
	TxRings, RxRings int // rings per direction; 0 means 1, at most 64
	TxSlots, RxSlots int // slots per ring; 0 means 1024, at most 65536
	BufSize          int // octets per buffer; 0 means 2048, at least 8
	ExtraBufs        int // buffers on the extra-buffer list (see rings.NewExtraBufs)
}

// Errors of the simulated syncs.
var (
	// ErrClosed is returned by syncs and waits on a closed Port. It
	// matches os.ErrClosed, as nmsys's ErrClosed does.
	ErrClosed = fmt.Errorf("ringstest: port closed: %w", os.ErrClosed)
	// ErrReinit is returned by a sync that found a ring's head or cur out
	// of the range the kernel allows and reinitialised the ring, as
	// netmap does (where the ioctl succeeds and poll reports POLLERR).
	ErrReinit = errors.New("ringstest: ring reinitialised: head or cur out of range")
)

// Port is a netmap port in memory. Make one with [NewPort].
type Port struct {
	region *heapmem.Region
	tx     []*rings.TxRing
	rx     []*rings.RxRing

	mu       sync.Mutex
	peers    []*Port // ports whose RX rings this port's TX rings feed
	deadline time.Time
	closed   bool
	done     chan struct{} // closed by Close
	wake     chan struct{} // a frame may have arrived
}

// NewPort builds a port as cfg describes.
func NewPort(cfg *Config) (*Port, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.TxRings < 0 || c.RxRings < 0 {
		return nil, fmt.Errorf("ringstest: %d TX and %d RX rings", c.TxRings, c.RxRings)
	}
	r, err := heapmem.New(&heapmem.Config{Name: "ringstest", TxRings: c.TxRings, RxRings: c.RxRings,
		TxSlots: c.TxSlots, RxSlots: c.RxSlots, BufSize: c.BufSize, ExtraBufs: c.ExtraBufs})
	if err != nil {
		return nil, fmt.Errorf("ringstest: %w", err)
	}
	p := &Port{region: r, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	for i := range max(c.TxRings, 1) {
		t, err := rings.NewTxRing(r.Mem, r.TxRingOff(i))
		if err != nil {
			return nil, fmt.Errorf("ringstest: tx ring %d: %w", i, err)
		}
		p.tx = append(p.tx, t)
	}
	for i := range max(c.RxRings, 1) {
		x, err := rings.NewRxRing(r.Mem, r.RxRingOff(i))
		if err != nil {
			return nil, fmt.Errorf("ringstest: rx ring %d: %w", i, err)
		}
		p.rx = append(p.rx, x)
	}
	return p, nil
}

// TxRing returns the view of TX ring i; every call returns the same view.
func (p *Port) TxRing(i int) (*rings.TxRing, error) {
	if i < 0 || i >= len(p.tx) {
		return nil, fmt.Errorf("ringstest: tx ring %d not in [0, %d)", i, len(p.tx))
	}
	return p.tx[i], nil
}

// RxRing returns the view of RX ring i; every call returns the same view.
func (p *Port) RxRing(i int) (*rings.RxRing, error) {
	if i < 0 || i >= len(p.rx) {
		return nil, fmt.Errorf("ringstest: rx ring %d not in [0, %d)", i, len(p.rx))
	}
	return p.rx[i], nil
}

// TxRings returns the views of every TX ring, in ring order.
func (p *Port) TxRings() ([]*rings.TxRing, error) { return append([]*rings.TxRing(nil), p.tx...), nil }

// RxRings returns the views of every RX ring, in ring order.
func (p *Port) RxRings() ([]*rings.RxRing, error) { return append([]*rings.RxRing(nil), p.rx...), nil }

// Mem returns the memory region, as nmsys's Port.Mem does.
func (p *Port) Mem() []byte { return p.region.Mem }

// IfOffset returns the offset of the netmap_if in [Port.Mem].
func (p *Port) IfOffset() int { return p.region.IfOff }

// TxRingOffset returns the offset of TX ring i in [Port.Mem].
func (p *Port) TxRingOffset(i int) (int, error) {
	if _, err := p.TxRing(i); err != nil {
		return 0, err
	}
	return p.region.TxRingOff(i), nil
}

// RxRingOffset returns the offset of RX ring i in [Port.Mem].
func (p *Port) RxRingOffset(i int) (int, error) {
	if _, err := p.RxRing(i); err != nil {
		return 0, err
	}
	return p.region.RxRingOff(i), nil
}

// TxSync sends what was published on every TX ring: each frame goes to the
// ring's [Port.OnSend] callback and its [Connect]ed RX ring (which drops it
// when full, as a VALE switch does), and the slots come back at once, so
// the rings are empty again afterwards.
func (p *Port) TxSync() error {
	err := p.syncAll(len(p.tx), p.region.TxSync)
	p.mu.Lock()
	peers := p.peers
	p.mu.Unlock()
	for _, q := range peers {
		q.signal()
	}
	return err
}

// RxSync returns the released slots of every RX ring and makes the frames
// injected since the last sync visible. Each sync advances the rings'
// timestamp by a microsecond from 2023-11-14 22:13:20 UTC.
func (p *Port) RxSync() error { return p.syncAll(len(p.rx), p.region.RxSync) }

// syncAll runs the simulator's sync on rings 0..n-1 and returns the first
// error.
func (p *Port) syncAll(n int, sync func(int) error) error {
	if p.isClosed() {
		return ErrClosed
	}
	var first error
	for i := range n {
		if err := sync(i); err != nil && first == nil {
			first = syncErr(err)
		}
	}
	return first
}

// WaitTx syncs the TX rings. A simulated TX ring is empty after every
// sync, so WaitTx never blocks.
func (p *Port) WaitTx() error { return p.TxSync() }

// WaitRx syncs the RX rings and, if none holds frames (after cur: slots
// held with rings.RxRing.ReleaseHold do not count, as in nmsys's WaitRx
// and netmap's poll), blocks until a frame is injected or sent to one by a
// connected port, the read deadline passes (os.ErrDeadlineExceeded) or
// the port is closed ([ErrClosed]).
func (p *Port) WaitRx() error {
	for {
		// Drain a stale wake-up first: what it announced is seen by
		// the sync below.
		select {
		case <-p.wake:
		default:
		}
		if err := p.RxSync(); err != nil {
			return err
		}
		for i := range p.rx {
			if p.region.RxReady(i) {
				return nil
			}
		}
		p.mu.Lock()
		deadline := p.deadline
		p.mu.Unlock()
		if err := p.sleep(deadline); err != nil {
			return err
		}
	}
}

// sleep waits for a wake-up, Close or deadline (none if zero).
func (p *Port) sleep(deadline time.Time) error {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.wake:
		return nil
	case <-p.done:
		return ErrClosed
	case <-timeout:
		return os.ErrDeadlineExceeded
	}
}

// SetReadDeadline sets the deadline of [Port.WaitRx]; the zero time means
// none.
func (p *Port) SetReadDeadline(t time.Time) error {
	p.mu.Lock()
	p.deadline = t
	p.mu.Unlock()
	p.signal() // a waiting WaitRx looks at the new deadline
	return nil
}

// Close makes the port's syncs and waits return [ErrClosed] and wakes a
// blocked WaitRx. The memory stays valid: ring views may still be read. A
// second Close returns ErrClosed.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.closed = true
	close(p.done)
	return nil
}

// Inject plays the wire: it writes frame into the free slots of RX ring i,
// in as many slots as it needs (chained with NS_MOREFRAG when it is larger
// than a buffer), to be seen at the next [Port.RxSync]. It reports whether
// there was room.
func (p *Port) Inject(i int, frame []byte) bool {
	if i < 0 || i >= len(p.rx) {
		return false
	}
	ok := p.region.Inject(i, frame)
	p.signal()
	return ok
}

// OnSend makes [Port.TxSync] call fn with every frame it sends from TX
// ring i (joined from its slots; fn must not keep the slice), in addition
// to any [Connect]ed delivery.
func (p *Port) OnSend(i int, fn func(frame []byte)) error {
	if _, err := p.TxRing(i); err != nil {
		return err
	}
	p.region.Capture(i, fn)
	return nil
}

// Connect makes the frames that TX ring txRing of tx sends arrive on RX
// ring rxRing of rx, copied, as between two ports of a VALE switch: rx
// sees them at its next RxSync, and a WaitRx blocked on rx wakes. A full
// RX ring drops them. tx and rx may be the same Port.
func Connect(tx *Port, txRing int, rx *Port, rxRing int) error {
	if _, err := tx.TxRing(txRing); err != nil {
		return err
	}
	if _, err := rx.RxRing(rxRing); err != nil {
		return err
	}
	if err := tx.region.Connect(txRing, rx.region, rxRing, heapmem.Copy); err != nil {
		return fmt.Errorf("ringstest: %w", err)
	}
	tx.mu.Lock()
	tx.peers = append(tx.peers, rx)
	tx.mu.Unlock()
	return nil
}

func (p *Port) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// signal wakes a WaitRx, or the next one.
func (p *Port) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func syncErr(err error) error {
	if errors.Is(err, heapmem.ErrReinit) {
		return ErrReinit
	}
	return fmt.Errorf("ringstest: %w", err)
}
