package st2110

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// clockMonotonic is Linux's CLOCK_MONOTONIC, a clock id that reads.
const clockMonotonic = 1

// A PHC is read on the clock id of its open file; once it is closed, a
// read fails with os.ErrClosed, even when another file has since taken the
// descriptor's number (the clock id was once taken from the number with
// nothing to stop a read after Close, which read that other file). A read
// does not allocate. (/dev/null stands for the PHC: there is none here;
// its own reads fail with EINVAL.)
func TestPHCReaderClosed(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newPHCReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.now(); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("a read of %s: %v, want clock_gettime's EINVAL", os.DevNull, err)
	}
	id := r.id
	r.id = clockMonotonic // a clock that reads, to see a good read
	if ns, err := r.now(); ns <= 0 || err != nil {
		t.Errorf("a read of CLOCK_MONOTONIC: %d, %v", ns, err)
	}
	if n := testing.AllocsPerRun(100, func() { r.now() }); n != 0 {
		t.Errorf("%v allocations per read", n)
	}
	r.id = id
	if err := r.close(); err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(os.DevNull) // likely the same descriptor number
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := r.now(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("a read after Close: %v", err) // EINVAL: it read g
	}
	if n := testing.AllocsPerRun(100, func() { r.now() }); n != 0 {
		t.Errorf("%v allocations per read after Close", n)
	}
	if err := r.close(); err == nil {
		t.Error("a second Close: nil error")
	}
}

// Reads of one PHC run concurrently with each other and with its Close:
// every read that starts after Close has returned fails with os.ErrClosed
// (never a clock_gettime on a closed or reused descriptor: EBADF, or
// EINVAL from the /dev/null opened after), and every read before fails as
// /dev/null's do (EINVAL). Run it with -race.
func TestPHCReaderConcurrentClose(t *testing.T) {
	for range 20 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		r, err := newPHCReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var closed atomic.Bool // set once close has returned
		var reads atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					after := closed.Load()
					_, err := r.now()
					reads.Add(1)
					switch {
					case after && !errors.Is(err, os.ErrClosed):
						errs <- err
						return
					case !after && !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EINVAL):
						errs <- err
						return
					case after && n > 100:
						return
					}
				}
			}()
		}
		for reads.Load() < 100 {
			// let the readers run before Close
		}
		if err := r.close(); err != nil {
			t.Fatal(err)
		}
		closed.Store(true)
		g, err := os.Open(os.DevNull) // likely f's descriptor number
		if err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		g.Close()
		close(errs)
		for err := range errs {
			t.Fatalf("a read after Close: %v, want os.ErrClosed", err)
		}
	}
}
