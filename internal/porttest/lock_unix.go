//go:build unix

package porttest

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// lockFile is the file whose bytes [p, p+n) a process locks to reserve
// ports p..p+n-1. It is opened once and never closed: closing any
// descriptor of a file drops all of the process's record locks on it.
var lockFile = sync.OnceValue(func() *os.File {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "nmgo-udp-ports.lock"), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil
	}
	f.Chmod(0o666) // past the umask, for other users' tests; best effort
	return f
})

// lockRange reserves ports p..p+n-1 against other processes with a
// record lock on bytes [p, p+n) of the lock file, and returns how to
// release it. Record locks of one process do not exclude each other:
// within the process, the pool's held set does (and keeps the ranges
// locked disjoint, so that one's unlock leaves the others locked). Without
// a lock file, or where the file system refuses record locks, it reserves
// nothing and succeeds: the reservation is then the process's only.
func lockRange(p, n int) (func(), error) {
	f := lockFile()
	if f == nil {
		return func() {}, nil
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Start: int64(p), Len: int64(n)}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		if err == syscall.EAGAIN || err == syscall.EACCES {
			return nil, errHeld
		}
		return func() {}, nil
	}
	return func() {
		lk := syscall.Flock_t{Type: syscall.F_UNLCK, Start: int64(p), Len: int64(n)}
		syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
	}, nil
}

// errHeld is lockRange's error when another process holds part of the
// range.
var errHeld = errors.New("porttest: ports reserved by another process")
