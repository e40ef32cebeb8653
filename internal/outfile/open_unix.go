//go:build unix

package outfile

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

var (
	errNoReader = syscall.ENXIO
	errLoop     = syscall.ELOOP
)

func isNotLink(err error) bool { return errors.Is(err, syscall.EINVAL) }

// fifoPolled: the os package puts a FIFO opened non-blocking in its
// poller (on darwin, and the other BSDs' kqueue, it leaves it out, or
// may not work with it: $GOROOT/src/os/file_unix.go, newFile).
var fifoPolled = runtime.GOOS == "linux" || runtime.GOOS == "android" || runtime.GOOS == "freebsd"

// openFile opens name for writing only, creating it with perm if create
// (O_EXCL: it fails if name exists, a dangling link included), without
// waiting for a FIFO's reader: a FIFO with none fails with errNoReader.
// The descriptor is non-blocking, in the poller, only for a FIFO where
// the os package polls it; anything else is blocking again after the
// open, as os.OpenFile leaves it (a regular file, a device; a FIFO on
// macOS, whose full pipe would otherwise fail writes with EAGAIN).
func openFile(name string, create bool, perm fs.FileMode) (*os.File, error) {
	flags := syscall.O_WRONLY | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if create {
		flags |= syscall.O_CREAT | syscall.O_EXCL
	}
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, flags, uint32(perm.Perm()))
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFIFO || !fifoPolled {
		if err := syscall.SetNonblock(fd, false); err != nil {
			syscall.Close(fd)
			return nil, &fs.PathError{Op: "fcntl", Path: name, Err: err}
		}
	}
	// os.NewFile puts a non-blocking descriptor in the poller, and
	// leaves a blocking one out.
	return os.NewFile(uintptr(fd), name), nil
}

// openOwn returns a duplicate of the process's descriptor that name
// names (/dev/stdout, /dev/stderr, /dev/fd/N; on Linux /proc/self/fd/N),
// and ok; not ok for any other name. The duplicate shares the
// descriptor's offset and flags (O_APPEND, and blocking: it is not made
// non-blocking, which would change the descriptor the process, and its
// parent, write to). On Linux a pipe or FIFO (the shell's |, as in
// `nmbench ... -out /dev/stdout | wireshark -k -i -`) is opened anew
// instead, through /proc/self/fd/N, as openFile opens a FIFO: an open
// of its own, non-blocking and in the poller, so that End ends a write
// that waits for a reader that reads nothing, which the duplicate of the
// shell's blocking descriptor would leave waiting for ever, deaf to -t
// and signals (a pipe has no offset, and O_APPEND changes nothing in
// it).
// openProcFD is openFile, for openOwn's open of a pipe through
// /proc/self/fd: a test makes it fail.
var openProcFD = openFile

func openOwn(name string) (_ *os.File, ok bool, _ error) {
	fd := -1
	switch name {
	case "/dev/stdout":
		fd = 1
	case "/dev/stderr":
		fd = 2
	default:
		for _, dir := range []string{"/dev/fd/", "/proc/self/fd/"} {
			if s, found := strings.CutPrefix(name, dir); found && (dir == "/dev/fd/" || runtime.GOOS == "linux") {
				if n, err := strconv.Atoi(s); err == nil && n >= 0 && strconv.Itoa(n) == s {
					fd = n
				}
			}
		}
	}
	if fd < 0 {
		return nil, false, nil
	}
	var st syscall.Stat_t
	if runtime.GOOS == "linux" && syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFIFO {
		// A fresh open is checked against the pipe's own mode, where a
		// dup needs no permission: a pipe another user made (a
		// container's runtime, sudo -u) refuses it with EACCES, and
		// without /proc it is ENOENT. Then the duplicate, as before:
		// blocking, which End cannot cut.
		if f, err := openProcFD("/proc/self/fd/"+strconv.Itoa(fd), false, 0); err == nil {
			return f, true, nil
		}
	}
	syscall.ForkLock.RLock()
	nfd, err := syscall.Dup(fd)
	if err == nil {
		syscall.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, true, &fs.PathError{Op: "dup", Path: name, Err: err}
	}
	return os.NewFile(uintptr(nfd), name), true, nil
}
