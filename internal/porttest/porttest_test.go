package porttest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// free is a pool's claim that finds every port free and reserves nothing
// beyond the process: what is left to test is the pool's own
// reservation.
func free(p, n int) (func(), error) { return func() {}, nil }

// takeAll has k goroutines take a run of n ports each from pl at once and
// returns the runs' first ports, held until t ends.
func takeAll(t *testing.T, pl *pool, k, n int) []int {
	t.Helper()
	got := make([]int, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			var release func()
			got[i], release, errs[i] = pl.take(n)
			if errs[i] == nil {
				t.Cleanup(release)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// Callers at once get disjoint runs, although the check finds every port
// free: the ports of a run are its caller's until it gives them back.
// Without the pool's held set, 16 draws of one port of 16 all differ once
// in a million, and 16 runs of 4 from 128 ports are disjoint once in a
// thousand.
func TestDisjoint(t *testing.T) {
	for _, c := range []struct{ ports, callers, n int }{{16, 16, 1}, {128, 16, 4}} {
		pl := &pool{lo: 1000, hi: 1000 + c.ports, claim: free, held: map[int]bool{}}
		got := takeAll(t, pl, c.callers, c.n)
		owner := map[int]int{}
		for i, p := range got {
			if p < pl.lo || p+c.n > pl.hi {
				t.Errorf("run %d..%d outside [%d, %d)", p, p+c.n-1, pl.lo, pl.hi)
			}
			for k := p; k < p+c.n; k++ {
				if j, ok := owner[k]; ok {
					t.Errorf("%d callers of %d ports: port %d handed to callers %d and %d (runs at %d and %d)", c.callers, c.n, k, j, i, got[j], p)
				}
				owner[k] = i
			}
		}
	}
}

// A port given back is handed out again, and one held is not: with all
// of a pool's ports held, take fails until one is given back.
func TestRelease(t *testing.T) {
	pl := &pool{lo: 1000, hi: 1004, claim: free, held: map[int]bool{}}
	var got [4]int
	var releases [4]func()
	for i := range releases {
		var err error
		if got[i], releases[i], err = pl.take(1); err != nil {
			t.Fatal(err)
		}
	}
	if p, _, err := pl.take(1); err == nil {
		t.Fatalf("take of a pool of 4 held ports gave %d", p)
	}
	if p, _, err := pl.take(2); err == nil {
		t.Fatalf("take of 2 ports of a pool of 4 held ports gave %d", p)
	}
	releases[2]()
	p, _, err := pl.take(1)
	if err != nil {
		t.Fatalf("take after a release: %v", err)
	}
	if p != got[2] {
		t.Errorf("take after port %d's release gave %d", got[2], p)
	}
	if len(pl.held) != 4 {
		t.Errorf("%d ports held, want 4", len(pl.held))
	}
}

// A claim that refuses is not handed out and its ports are not held.
func TestClaimRefused(t *testing.T) {
	pl := &pool{lo: 1000, hi: 1010, claim: func(p, n int) (func(), error) {
		if p+n > 1005 {
			return func() {}, nil
		}
		return nil, errBusy
	}, held: map[int]bool{}}
	for range 20 {
		p, release, err := pl.take(2)
		if err != nil {
			t.Fatal(err)
		}
		if p+2 <= 1005 {
			t.Fatalf("take gave %d, which the claim refused", p)
		}
		release()
	}
	if len(pl.held) != 0 {
		t.Errorf("%d ports held after every release, want 0", len(pl.held))
	}
	if _, _, err := pl.take(0); err == nil {
		t.Error("take(0) succeeded")
	}
	if _, _, err := pl.take(11); err == nil {
		t.Error("take of more ports than the pool's succeeded")
	}
}

// When every draw is refused, take's error counts them by why: a port
// this process holds, a lock another process holds, a port that does not
// bind.
func TestRefusalsCounted(t *testing.T) {
	var held, busy int
	pl := &pool{lo: 1000, hi: 1010, claim: func(p, n int) (func(), error) {
		if p < 1005 {
			held++
			return nil, errHeld
		}
		busy++
		return nil, errBusy
	}, held: map[int]bool{1009: true}}
	_, _, err := pl.take(1)
	if err == nil {
		t.Fatal("take succeeded, every claim refused")
	}
	mine := tries - held - busy
	if held == 0 || busy == 0 || mine == 0 {
		t.Fatalf("%d draws held here, %d locked, %d busy of %d: want some of each", mine, held, busy, tries)
	}
	want := fmt.Sprintf("%d held by this process, %d reserved by another (record lock), %d not bindable", mine, held, busy)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("take's error %q, want it to say %q", err, want)
	}
}

// UDP's runs bind, on the wildcard address (which a receiver binds), and
// two of them are disjoint.
func TestUDP(t *testing.T) {
	p, q := int(UDP(t, 3)), int(UDP(t, 3))
	if p < lo || p+3 > hi || q < lo || q+3 > hi {
		t.Fatalf("runs at %d and %d, want within [%d, %d)", p, q, lo, hi)
	}
	if p < q+3 && q < p+3 {
		t.Fatalf("runs at %d and %d overlap", p, q)
	}
	for _, b := range []int{p, q} {
		for k := b; k < b+3; k++ {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: k})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	}
}

// logTB records what a test logs.
type logTB struct {
	testing.TB
	logs []string
}

func (t *logTB) Helper()                      {}
func (t *logTB) Logf(format string, a ...any) { t.logs = append(t.logs, fmt.Sprintf(format, a...)) }

// Without a lock file, the first call says why, in its test's log; the
// others say nothing; with one, nothing is said.
func TestNoteLocal(t *testing.T) {
	rec := &logTB{TB: t}
	var done atomic.Bool
	noteLocal(rec, &done, nil)
	if len(rec.logs) != 0 {
		t.Fatalf("logged %q with a lock file", rec.logs)
	}
	why := errors.New("no lock file here")
	for range 3 {
		noteLocal(rec, &done, why)
	}
	if len(rec.logs) != 1 || !strings.Contains(rec.logs[0], why.Error()) {
		t.Fatalf("logged %q, want one line saying %q", rec.logs, why)
	}
}

// UDP's ports are given back when their test ends: the process holds
// them no longer (and so unlocks them: the release does both).
func TestUDPGivenBack(t *testing.T) {
	const n = 3
	var p int
	held := func() (k int) {
		ports.mu.Lock()
		defer ports.mu.Unlock()
		for i := range n {
			if ports.held[p+i] {
				k++
			}
		}
		return k
	}
	t.Run("take", func(t *testing.T) {
		p = int(UDP(t, n))
		if k := held(); k != n {
			t.Fatalf("%d of the run's %d ports held while its test runs", k, n)
		}
	})
	if k := held(); k != 0 {
		t.Errorf("%d of the ports %d..%d still held after their test ended", k, p, p+n-1)
	}
}
