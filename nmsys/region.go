package nmsys

import (
	"sync"
	"sync/atomic"
)

// A region is one mapping of a netmap memory region (allocator), shared by
// every open Port of this process whose registration landed in the same
// allocator, as libnetmap shares them: buffers of one region can then move
// between those ports' rings without copying (rings.TxRing.Swap).
//
// Two counts keep it alive:
//   - open: Ports registered and not closed. When the last one closes, the
//     region leaves the registry and is unmapped, or, if ring views were
//     ever handed out, parked (replaced by zeroed private memory) so that
//     goroutines still holding views do not fault.
//   - refs: garbage-collector references: every Port and every ring view
//     holds one, dropped by a runtime cleanup when it becomes unreachable
//     (and a Port's at Close). At zero nothing can reach the memory, so a
//     parked placeholder, or the mapping of a Port that was never closed,
//     is unmapped.
//
// The mapping is made through one Port's descriptor and holds that file
// open: netmap releases a registration (a NIC leaves netmap mode, a VALE
// port its switch, an exclusive claim ends) only when its file's last
// reference goes. So when that Port closes while others of the region stay
// open, the mapping is remade at the same address through one of theirs
// (forget). Separate mappings per Port would not do: ring views of one
// region must share one address to swap buffers (rings.TxRing.Swap,
// rings.Forward), and a 32-bit process has little address space.
type region struct {
	memID int
	mem   []byte
	refs  atomic.Int32

	// Guarded by regions.mu.
	fds      []int // descriptors of the Ports not yet closing, all open
	mapFD    int   // the descriptor the mapping is made through, -1 if none of fds
	open     int
	views    bool
	parked   bool
	unmapped bool
}

var regions = struct {
	mu   sync.Mutex
	byID map[int]*region
}{byID: map[int]*region{}}

// acquireRegion returns the mapping of memory region memID of the given
// size, mapping it through fd if this process has none yet. The caller
// owns one open count and one reference.
func acquireRegion(fd, memID, size int) (*region, error) {
	regions.mu.Lock()
	defer regions.mu.Unlock()
	if r := regions.byID[memID]; r != nil && !r.parked && !r.unmapped && len(r.mem) == size {
		switch {
		case r.mapFD >= 0:
		case remapRegion(r.mem, fd) == nil:
			// The mapping's Port is closing (or gone unclosed): its
			// file must not stay open for this one's sake.
			r.mapFD = fd
		default:
			// The failed MAP_FIXED may have left a hole: park the old
			// region (its Ports read zeros, not a fault) and map anew.
			r.parked = true
			_ = parkRegion(r.mem)
			delete(regions.byID, memID)
			goto fresh
		}
		r.open++
		r.fds = append(r.fds, fd)
		r.refs.Add(1)
		return r, nil
	}
fresh:
	mem, err := mmapRegion(fd, size)
	if err != nil {
		return nil, err
	}
	r := &region{memID: memID, mem: mem, open: 1, fds: []int{fd}, mapFD: fd}
	r.refs.Store(1)
	regions.byID[memID] = r
	return r, nil
}

// markViews records that ring views of r exist, so the last close parks the
// region instead of unmapping it.
func (r *region) markViews() {
	regions.mu.Lock()
	r.views = true
	regions.mu.Unlock()
}

// forget takes fd off the region's descriptors before its file closes. If
// the mapping was made through fd and another Port's descriptor remains,
// the mapping is remade through that one at the same address (MAP_FIXED
// replaces it, the pages are the same), so that closing fd releases its
// registration now rather than with the region's last Port.
func (r *region) forget(fd int) error {
	regions.mu.Lock()
	defer regions.mu.Unlock()
	for i, f := range r.fds {
		if f == fd {
			r.fds = append(r.fds[:i], r.fds[i+1:]...)
			break
		}
	}
	if fd != r.mapFD {
		return nil
	}
	r.mapFD = -1
	if len(r.fds) == 0 || r.parked || r.unmapped {
		return nil
	}
	if err := remapRegion(r.mem, r.fds[0]); err != nil {
		// MAP_FIXED may have removed the old mapping before the new
		// one failed: map it again through fd, still open (its
		// registration then lingers with the mapping, as before), or,
		// failing that, park the region, so that the other Ports'
		// rings read zeros and fail their checks instead of faulting.
		if remapRegion(r.mem, fd) == nil {
			r.mapFD = fd
		} else {
			r.parked = true
			_ = parkRegion(r.mem)
		}
		return err
	}
	r.mapFD = r.fds[0]
	return nil
}

// closePort drops one open count; the last one takes the region out of the
// registry and unmaps or parks it.
func (r *region) closePort() error {
	regions.mu.Lock()
	defer regions.mu.Unlock()
	r.open--
	if r.open > 0 {
		return nil
	}
	if regions.byID[r.memID] == r {
		delete(regions.byID, r.memID)
	}
	if r.unmapped || r.parked {
		return nil
	}
	if r.views {
		r.parked = true
		return parkRegion(r.mem)
	}
	r.unmapped = true
	return munmapRegion(r.mem)
}

// release drops one reference; the last one unmaps whatever is still
// mapped. It runs from runtime cleanups and from Close.
func (r *region) release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if hookReleasing != nil {
		hookReleasing(r)
	}
	regions.mu.Lock()
	defer regions.mu.Unlock()
	if r.refs.Load() != 0 {
		// An Open took the region up again (acquireRegion, under the
		// lock) after the count reached zero: it is its Port's now, and
		// that Port's last reference unmaps it.
		return
	}
	if regions.byID[r.memID] == r {
		delete(regions.byID, r.memID)
	}
	if !r.unmapped {
		r.unmapped = true
		_ = munmapRegion(r.mem)
	}
}

// hookReleasing, when a test sets it, runs in release between the drop of
// the last reference and taking regions.mu: where an Open of the same
// memory region may find the region still registered and take it up again.
var hookReleasing func(*region)
