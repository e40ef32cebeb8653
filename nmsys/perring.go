package nmsys

import (
	"errors"
	"runtime"

	"github.com/nmgo/nmgo/rings"
)

// OpenPerRing opens the port name once per hardware ring pair, each Port
// bound to one pair (ModeOneNIC, ring i), and returns them in ring order.
// That is the pattern for spreading a port's rings over goroutines: one
// goroutine per returned Port (ideally locked to its OS thread with
// runtime.LockOSThread), each owning its rings and syncing its own fd, so
// no two goroutines ever sync the same ring. The Ports share one mapping.
//
// The name must not select a mode itself ("^", "*", "-N"); cfg.Mode and
// cfg.RingID must be unset. The first registration creates the port when
// it does not exist (a VALE port or pipe, with cfg's or "@conf:" ring
// counts), so the count of ring pairs is what the kernel then reports: the
// larger of the TX and RX NIC ring counts. On error every Port opened so
// far is closed.
func OpenPerRing(name string, cfg *Config) ([]*Port, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	if n.Mode != ModeAllNIC {
		return nil, &Error{Op: "open per ring", Port: name, Err: errors.New("the name already selects rings (^, *, -N)")}
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Mode != ModeFromName {
		return nil, &Error{Op: "open per ring", Port: name, Err: errors.New("Config.Mode must be unset")}
	}
	c.Mode = ModeOneNIC
	var ports []*Port
	fail := func(err error) ([]*Port, error) {
		for _, p := range ports {
			p.Close()
		}
		return nil, err
	}
	for i := 0; ; i++ {
		c.RingID = i
		p, err := Open(name, &c)
		if err != nil {
			return fail(err)
		}
		ports = append(ports, p)
		in := p.Info()
		if i+1 >= max(in.TxRings, in.RxRings) {
			return ports, nil
		}
	}
}

// ExtraBuffers returns the list of extra buffers this registration got
// (Config.ExtraBuffers; Info.ExtraBuffers says how many) as a pool to take
// buffers from and return them to, for swapping into slots with
// [rings.TxRing.SwapBuf] and [rings.RxRing.SwapBuf]. Every call returns
// the same pool (two over one list would hand out the same buffers). Every
// buffer taken must be back in the pool or in a slot when the Port closes:
// the kernel frees the list then.
// The pool is not safe for concurrent use. Like a ring view it keeps the
// region mapped: after the region's last Port closes it reads private
// zeroed memory (see [Port.TxRing]) instead of faulting. While other Ports
// of the region stay open the mapping stays, and the buffers and list of a
// closed Port are netmap's again, to give to another registration: do not
// use the pool after Close.
func (p *Port) ExtraBuffers() (*rings.ExtraBufs, error) {
	p.ringsMu.Lock() // Close unmaps under ringsMu: p.mem stays while we walk it
	defer p.ringsMu.Unlock()
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if p.extra != nil {
		return p.extra, nil
	}
	off := 0
	switch {
	case len(p.txOffs) > 0:
		off = p.txOffs[0]
	case len(p.rxOffs) > 0:
		off = p.rxOffs[0]
	}
	x, err := rings.NewExtraBufs(p.mem, p.ifOff, off, p.info.BufCount)
	if err != nil {
		return nil, &Error{Op: "extra buffers", Port: p.name, Err: err}
	}
	p.region.refs.Add(1)
	runtime.AddCleanup(x, (*region).release, p.region)
	p.region.markViews()
	p.extra = x
	return x, nil
}
