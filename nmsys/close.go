package nmsys

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// closeWait bounds how long Close waits for goroutines inside the port's
// memory before it gives up and returns an error instead of hanging.
const closeWait = 5 * time.Second

// Close unregisters the port and unmaps its memory, in this order: mark the
// port closed (new syncs and waits return [ErrClosed]), close the file
// (which wakes goroutines blocked in WaitRx/WaitTx; they return ErrClosed),
// wait until no goroutine is still inside a wait, then unmap the region.
//
// Ports of one memory region share one mapping (see [Port.Mem]); it is
// unmapped when the last of them closes. Closing any of them releases its
// registration at once (netmap mode, VALE port, exclusive claim), whichever
// Port's descriptor the mapping was made through. If ring views were handed out
// ([Port.TxRing], [Port.RxRing]), goroutines may still be using them, so
// the netmap mapping is then replaced by private zeroed memory at the same
// address rather than removed: they see integrity errors and ErrClosed
// instead of a fault, and the placeholder is unmapped when the Ports and
// views are garbage. That holds for the region's last Port: while other
// Ports of the region stay open, its mapping stays, and the rings, netmap_if
// and extra buffers of a Port just closed are netmap's again, which may give
// them to the next registration; stop using a Port's ring views and extra
// buffers before its Close. A second Close returns ErrClosed.
//
// Slices taken from [Port.Mem] directly must not be used after Close.
//
// One call Close cannot wake: a sync, wait or poll on a NIC whose link is
// down sleeps inside the kernel until the link is up again (netmap locks
// the rings of such a NIC), whatever happens to the file. Close still
// returns: at once for a sync; a wait or poll is inside the port's memory,
// so Close gives up on it after 5 seconds with an error and leaves the
// mapping in place. The blocked call returns once the link comes up.
func (p *Port) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed.Swap(true) {
		return ErrClosed
	}
	// The mapping must not hold the file open past its Close.
	ferr := p.region.forget(p.fd)
	err := p.file.Close()
	if err == nil && ferr != nil {
		err = fmt.Errorf("remap the region through another port: %w", ferr)
	}
	deadline := time.Now().Add(closeWait)
	for p.users.Load() != 0 {
		if time.Now().After(deadline) {
			// Leave the mapping in place rather than pull it from
			// under a running goroutine; a cleanup unmaps it. Not the
			// Port's own: its descriptor is forgotten and closed
			// already, and its number may be another Port's by then.
			p.cleanup.Stop()
			p.cleanup = runtime.AddCleanup(p, (*region).release, p.region)
			return &Error{Op: "close", Port: p.name, Err: errors.New("goroutines still inside the port's memory; mapping left in place")}
		}
		time.Sleep(50 * time.Microsecond)
	}
	p.ringsMu.Lock() // no new ring views from here on
	defer p.ringsMu.Unlock()
	if merr := p.region.closePort(); merr != nil && err == nil {
		err = merr
	}
	p.cleanup.Stop()
	p.region.release()
	if err != nil {
		return &Error{Op: "close", Port: p.name, Err: err}
	}
	return nil
}
