//go:build linux

package st2110

import (
	"fmt"
	"os"

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
// nanoseconds. The file stays open (its descriptor is the clock id) until
// closer is called.
func openPHC(name string) (now func() (int64, error), closer func() error, err error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("st2110: clock: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("st2110: clock %s: %w", name, err)
	}
	var id int32
	if err := rc.Control(func(fd uintptr) { id = phcClockID(int(fd)) }); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("st2110: clock %s: %w", name, err)
	}
	now = func() (int64, error) {
		var ts unix.Timespec
		if err := unix.ClockGettime(id, &ts); err != nil {
			return 0, os.NewSyscallError("clock_gettime", err)
		}
		return ts.Nano(), nil
	}
	return now, f.Close, nil
}
