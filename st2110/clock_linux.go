//go:build linux

package st2110

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// kernelTAIOffset returns TAI - UTC in nanoseconds as the kernel keeps it
// (struct timex's tai, set by ADJ_TAI); ok is false when it is 0 (not
// set: CLOCK_TAI then equals CLOCK_REALTIME) or cannot be read.
func kernelTAIOffset() (int64, bool) {
	var tx unix.Timex // modes 0: read only, no privilege
	if _, err := unix.Adjtimex(&tx); err != nil || tx.Tai <= 0 {
		return 0, false
	}
	return int64(tx.Tai) * 1e9, true
}

// openPHC opens a PTP hardware clock and returns a reader of its time in
// nanoseconds. The file stays open until closer is called, which waits
// for the reads in flight; a read after closer fails with os.ErrClosed
// rather than reading whatever then has the descriptor's number.
func openPHC(name string) (now func() (int64, error), closer func() error, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("st2110: clock: %w", err)
	}
	r, err := newPHCReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("st2110: clock %s: %w", name, err)
	}
	return r.now, r.close, nil
}

// A phcReader reads the PTP hardware clock of an open file with
// clock_gettime on the clock id of its descriptor, taken once at open.
// Reads share mu (an RLock each, so that a goroutine reading in a loop,
// as SendConfig.Spin does, does not hold off the others); close takes it
// whole, so it waits for the reads in flight and no read runs on the
// descriptor's number once the file is closed. A read does not allocate.
type phcReader struct {
	mu     sync.RWMutex
	id     int32 // phcClockID of f's descriptor
	closed bool
	f      *os.File
	errc   error // the error of a read after close
}

func newPHCReader(f *os.File) (*phcReader, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &phcReader{f: f, errc: &os.PathError{Op: "clock_gettime", Path: f.Name(), Err: os.ErrClosed}}
	if err := rc.Control(func(fd uintptr) { r.id = phcClockID(int(fd)) }); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *phcReader) now() (int64, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return 0, r.errc
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(r.id, &ts); err != nil {
		return 0, os.NewSyscallError("clock_gettime", err)
	}
	return ts.Nano(), nil
}

// close closes the file once the reads in flight are done.
func (r *phcReader) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.f.Close()
}
