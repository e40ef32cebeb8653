//go:build linux

package st2110

import (
	"fmt"
	"os"
	"sync"
	"syscall"

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
// nanoseconds. The file stays open until closer is called; each read goes
// through it (phcReader), so that a read after closer fails with
// os.ErrClosed rather than reading whatever then has the descriptor's
// number.
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
	return r.now, f.Close, nil
}

// A phcReader reads the PTP hardware clock of an open file with
// clock_gettime on the clock id of its descriptor, taken for each read
// from the file (syscall.RawConn.Control), which keeps the descriptor
// open for the read's length. A read does not allocate: the function
// Control calls is made once, and its results are the reader's, under mu.
type phcReader struct {
	rc     syscall.RawConn
	mu     sync.Mutex
	ts     unix.Timespec
	err    error
	get    func(fd uintptr) // r.gettime; a variable for tests
	closed error            // the error of a read after the file's Close
}

func newPHCReader(f *os.File) (*phcReader, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &phcReader{rc: rc, closed: &os.PathError{Op: "clock_gettime", Path: f.Name(), Err: os.ErrClosed}}
	r.get = r.gettime
	return r, nil
}

func (r *phcReader) gettime(fd uintptr) {
	r.err = unix.ClockGettime(phcClockID(int(fd)), &r.ts)
}

func (r *phcReader) now() (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.rc.Control(r.get); err != nil {
		return 0, r.closed // the only error of Control on an *os.File opened
	}
	if r.err != nil {
		return 0, os.NewSyscallError("clock_gettime", r.err)
	}
	return r.ts.Nano(), nil
}
