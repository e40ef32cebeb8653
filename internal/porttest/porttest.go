package porttest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// The ports handed out: below every system's ephemeral range.
const lo, hi = 20000, 32768

// tries bounds the random draws of one call.
const tries = 1000

// UDP returns a UDP port p such that p, p+1, ... p+n-1 were free on every
// IPv4 address a moment ago, and reserves them until t ends. It fails t if
// it finds no such run.
//
// Without the lock file, so with the ports reserved within the process
// only, the first call of the process logs why to its t.
func UDP(t testing.TB, n int) uint16 {
	t.Helper()
	noteLocal(t, &noted, lockFileErr())
	p, release, err := ports.take(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return uint16(p)
}

// noted is whether noteLocal logged, for the process.
var noted atomic.Bool

// noteLocal logs err, why there is no lock file, to t unless done says
// it was logged before: a clash with another process is then left to
// chance, which the test's log should say once.
func noteLocal(t testing.TB, done *atomic.Bool, err error) {
	t.Helper()
	if err != nil && done.CompareAndSwap(false, true) {
		t.Logf("porttest: UDP ports reserved in this process only, not across processes: %v", err)
	}
}

// A pool hands out runs of ports from [lo, hi).
type pool struct {
	lo, hi int
	// claim reserves p..p+n-1 beyond the process and checks that they
	// are free, and returns how to give them back; or, if they are not
	// to be had, errHeld (another process reserved one) or errBusy (one
	// did not bind).
	claim func(p, n int) (release func(), err error)

	mu   sync.Mutex
	held map[int]bool // the ports handed out and not given back
}

// ports is the process's pool.
var ports = &pool{lo: lo, hi: hi, claim: claimHost, held: map[int]bool{}}

// take reserves a run of n ports and returns its first, and the function
// that gives them back.
func (pl *pool) take(n int) (int, func(), error) {
	if n < 1 || n > pl.hi-pl.lo {
		return 0, nil, fmt.Errorf("porttest: %d ports asked for, want 1 to %d", n, pl.hi-pl.lo)
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	var mine, others, busy int // the draws refused, by why
draw:
	for range tries {
		p := pl.lo + rand.IntN(pl.hi-pl.lo-n+1)
		for i := range n {
			if pl.held[p+i] {
				mine++
				continue draw
			}
		}
		release, err := pl.claim(p, n)
		if err == errHeld {
			others++
			continue
		}
		if err != nil {
			busy++
			continue
		}
		for i := range n {
			pl.held[p+i] = true
		}
		return p, func() {
			pl.mu.Lock()
			defer pl.mu.Unlock()
			for i := range n {
				delete(pl.held, p+i)
			}
			release()
		}, nil
	}
	return 0, nil, fmt.Errorf("porttest: no %d consecutive free UDP ports in [%d, %d) in %d tries: %d held by this process, %d reserved by another (record lock), %d not bindable",
		n, pl.lo, pl.hi, tries, mine, others, busy)
}

// claimHost locks p..p+n-1 against other processes (lockRange) and then
// checks that each is free: that it binds on the wildcard address, which
// a receiver binds, and so on every address.
func claimHost(p, n int) (func(), error) {
	unlock, err := lockRange(p, n)
	if err != nil {
		return nil, err
	}
	for i := range n {
		if !bindable(p + i) {
			unlock()
			return nil, errBusy
		}
	}
	return unlock, nil
}

// errHeld is lockRange's error when another process holds part of the
// range, and errBusy claimHost's when a port does not bind.
var (
	errHeld = errors.New("porttest: ports reserved by another process")
	errBusy = errors.New("porttest: port in use")
)

// bindable reports whether UDP port p binds on the IPv4 wildcard address.
func bindable(p int) bool {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: p})
	if err != nil {
		return false
	}
	c.Close()
	return true
}
