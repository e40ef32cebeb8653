package nmsys

import (
	"fmt"
	"runtime"

	"github.com/nmgo/nmgo/rings"
)

// TxRingOffset returns the byte offset in [Port.Mem] of TX ring i, which
// must be in [Info.FirstTx, Info.LastTx). The ring header and its slot array
// were checked to lie inside the region.
func (p *Port) TxRingOffset(i int) (int, error) {
	if i < p.info.FirstTx || i >= p.info.LastTx {
		return 0, fmt.Errorf("nmsys: tx ring %d not bound (bound: [%d, %d))", i, p.info.FirstTx, p.info.LastTx)
	}
	return p.txOffs[i-p.info.FirstTx], nil
}

// RxRingOffset returns the byte offset in [Port.Mem] of RX ring i, which
// must be in [Info.FirstRx, Info.LastRx).
func (p *Port) RxRingOffset(i int) (int, error) {
	if i < p.info.FirstRx || i >= p.info.LastRx {
		return 0, fmt.Errorf("nmsys: rx ring %d not bound (bound: [%d, %d))", i, p.info.FirstRx, p.info.LastRx)
	}
	return p.rxOffs[i-p.info.FirstRx], nil
}

// TxRing returns the view of bound TX ring i (in [Info.FirstTx,
// Info.LastTx)) that the rings package provides: batch, zero-copy and
// multi-slot operations on the shared ring. Every call returns the same
// view; like the ring itself it belongs to one goroutine at a time. Sync it
// with [Port.TxSync] or [Port.WaitTx].
//
// Building the view reads every page of the buffers the ring's slots hold
// ([rings.TxRing.Prefault]): Linux maps netmap memory on demand, page by
// page, and the faults are better taken here than by the first packets.
//
// After Close, a goroutine still using the view does not fault: Close
// replaces the mapping with private zeroed memory (so the view reports
// integrity errors, and syncs return [ErrClosed]), which is freed once the
// Port and its views are garbage.
func (p *Port) TxRing(i int) (*rings.TxRing, error) {
	off, err := p.TxRingOffset(i)
	if err != nil {
		return nil, err
	}
	return ringView(p, &p.txRings, len(p.txOffs), i-p.info.FirstTx, off, rings.NewTxRing, "tx ring")
}

// ringView returns the cached view k of *views, building it with mk at
// byte offset off on first use and tying the region's lifetime to it.
func ringView[R any](p *Port, views *[]*R, n, k, off int, mk func([]byte, int) (*R, error), op string) (*R, error) {
	p.ringsMu.Lock()
	defer p.ringsMu.Unlock()
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if *views == nil {
		*views = make([]*R, n)
	}
	if (*views)[k] == nil {
		r, err := mk(p.mem, off)
		if err != nil {
			return nil, &Error{Op: op, Port: p.name, Err: err}
		}
		// The region is mapped on demand, page by page: take the faults
		// of the ring's buffers now, not while its first packets flow.
		if pf, ok := any(r).(interface{ Prefault() int }); ok {
			pf.Prefault()
		}
		p.region.refs.Add(1)
		runtime.AddCleanup(r, (*region).release, p.region)
		p.region.markViews()
		(*views)[k] = r
	}
	return (*views)[k], nil
}

// RxRing returns the view of bound RX ring i (in [Info.FirstRx,
// Info.LastRx)); see [Port.TxRing] for the rules. Sync it with
// [Port.RxSync] or [Port.WaitRx].
func (p *Port) RxRing(i int) (*rings.RxRing, error) {
	off, err := p.RxRingOffset(i)
	if err != nil {
		return nil, err
	}
	return ringView(p, &p.rxRings, len(p.rxOffs), i-p.info.FirstRx, off, rings.NewRxRing, "rx ring")
}
