package st2110

import (
	"errors"
	"os"
	"testing"
)

// A PHC is read through its open file: once it is closed, a read fails
// with os.ErrClosed, even when another file has since taken the
// descriptor's number (the clock id was once taken from the number at
// open, and a read after Close read that other file). A read does not
// allocate. (/dev/null stands for the PHC: there is none here; its own
// reads fail with EINVAL.)
func TestPHCReaderClosed(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	r, err := newPHCReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.now(); err == nil || errors.Is(err, os.ErrClosed) {
		t.Errorf("a read of %s: %v, want clock_gettime's EINVAL", os.DevNull, err)
	}
	var fds []uintptr
	r.get = func(fd uintptr) { fds = append(fds, fd); r.ts.Sec, r.ts.Nsec, r.err = 1, 2, nil }
	if ns, err := r.now(); ns != 1e9+2 || err != nil {
		t.Errorf("a read: %d, %v", ns, err)
	}
	fds = make([]uintptr, 0, 1000)
	if n := testing.AllocsPerRun(100, func() { r.now() }); n != 0 {
		t.Errorf("%v allocations per read", n)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(os.DevNull) // likely the same descriptor number
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	fds = fds[:0]
	if _, err := r.now(); !errors.Is(err, os.ErrClosed) || len(fds) != 0 {
		t.Errorf("a read after Close: %v, with %d reads of a descriptor", err, len(fds))
	}
	if n := testing.AllocsPerRun(100, func() { r.now() }); n != 0 {
		t.Errorf("%v allocations per read after Close", n)
	}
}
