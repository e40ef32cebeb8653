//go:build linux

package st2110

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// openCapture opens the capture file name for reading. A FIFO it opens
// without waiting for its writer: O_NONBLOCK, which succeeds with no
// writer and puts the file in the netpoller (its reads wait there, as
// those of an os.Open of a FIFO do, and a read deadline or Close ends
// them); fifo says so, and its reader waits for the writer with
// waitWriter before it reads. Any other file it opens with os.Open: an
// O_NONBLOCK open would differ there (on a regular file under another's
// write lease it fails at once with EAGAIN, where os.Open waits for the
// lease to break; a serial line without CLOCAL would not wait for its
// carrier; some devices, ALSA's, read it as the mode of their use), and
// os.Open already puts a file the netpoller takes (a tty, a character
// device that polls) there, where a read deadline and Close end a
// waiting read.
func openCapture(name string) (f *os.File, fifo bool, err error) {
	if fi, err := statCapture(name); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		f, err := os.Open(name)
		return f, false, err
	}
	var fd int
	for {
		fd, err = unix.Open(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, false, &os.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, false, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	f = os.NewFile(uintptr(fd), name)
	if st.Mode&unix.S_IFMT == unix.S_IFIFO {
		return f, true, nil
	}
	// No longer a FIFO, replaced between the Stat and the open: left as
	// os.Open leaves it, in the netpoller if it takes it, else (a
	// regular file, which epoll refuses) in blocking mode, as
	// os.newFile's clearNonBlock does.
	if errors.Is(f.SetReadDeadline(time.Time{}), os.ErrNoDeadline) {
		if err := unix.SetNonblock(fd, false); err != nil {
			f.Close()
			return nil, false, &os.PathError{Op: "fcntl", Path: name, Err: err}
		}
	}
	return f, false, nil
}

// statCapture is os.Stat. A variable for the tests (a FIFO replaced by
// another file between openCapture's stat and its open).
var statCapture = os.Stat

// waitWriter waits, in the netpoller, until the FIFO f (openCapture) has
// data or has had a writer come and go: a read before would find no
// writer and return 0, the end of the file, at once. poll(2) tells the
// two apart: Linux reports no POLLHUP to a reader opened O_NONBLOCK until
// a writer has come (fs/pipe.c, fifo_open), so readable means data, or a
// writer that came and went (the end of the file, as the reader of a
// blocking open would see). A read deadline on f ends the wait with
// os.ErrDeadlineExceeded, Close with os.ErrClosed.
func waitWriter(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			// EINTR is asked again here: false would wait for
			// the next edge, which, the FIFO's data or end already
			// there, might never come.
			ready, err := pollIn(fd)
			if err != unix.EINTR {
				perr = err
				return err != nil || ready
			}
		}
	})
	if err == nil && perr != nil {
		err = os.NewSyscallError("poll", perr)
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		err = &os.PathError{Op: "wait", Path: f.Name(), Err: err}
	}
	return err
}

// pollIn is poll(2) of fd for POLLIN, without waiting: whether fd is
// readable. A variable for the tests (an EINTR, which a poll that does
// not wait hardly ever sees).
var pollIn = func(fd uintptr) (ready bool, err error) {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds[:], 0)
	return n > 0, err
}
