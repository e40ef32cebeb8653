//go:build unix

package porttest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// lockName is the lock file's name, in os.TempDir().
const lockName = "nmgo-udp-ports.lock"

// lockFile is the file whose bytes [p, p+n) a process locks to reserve
// ports p..p+n-1, or why there is none. It is opened once and never
// closed: closing any descriptor of a file drops all of the process's
// record locks on it.
var lockFile = sync.OnceValues(func() (*os.File, error) { return openLockFile(os.TempDir()) })

// lockFileErr says why there is no lock file, or is nil.
func lockFileErr() error {
	_, err := lockFile()
	return err
}

// openLockFile opens dir's lock file, making it if there is none. The
// name is fixed and guessable, in a directory anyone may write (/tmp),
// and tests run as root: so it follows no symbolic link (O_NOFOLLOW, and
// O_EXCL when it makes the file), changes the mode only of a file it made
// itself, and takes only a regular file (not a FIFO, whose open could
// block, nor a device). It opens an existing file without O_CREAT: with
// fs.protected_regular (systemd's default) an O_CREAT open of another
// user's file in a sticky directory fails, even for root.
func openLockFile(dir string) (*os.File, error) {
	name := filepath.Join(dir, lockName)
	const flags = os.O_RDWR | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	f, err := os.OpenFile(name, flags, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(name, flags|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			f.Chmod(0o666) // past the umask, for other users' tests; best effort
		} else if errors.Is(err, fs.ErrExist) {
			f, err = os.OpenFile(name, flags, 0) // made by another process meanwhile
		}
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file (%v)", name, fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockRange reserves ports p..p+n-1 against other processes with a
// record lock on bytes [p, p+n) of the lock file, and returns how to
// release it. Record locks of one process do not exclude each other:
// within the process, the pool's held set does (and keeps the ranges
// locked disjoint, so that one's unlock leaves the others locked). Without
// a lock file, or where the file system refuses record locks, it reserves
// nothing and succeeds: the reservation is then the process's only.
func lockRange(p, n int) (func(), error) {
	f, err := lockFile()
	if err != nil {
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
