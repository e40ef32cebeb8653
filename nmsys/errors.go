package nmsys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrClosed is returned by operations on a closed [Port]. It matches
// os.ErrClosed (and net.ErrClosed does not apply: a Port is not a socket).
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string        { return "nmsys: port closed" }
func (closedError) Is(target error) bool { return target == os.ErrClosed }

// ErrNotSupported is matched by errors that mean netmap is not available on
// this host: no /dev/netmap (that error also matches [fs.ErrNotExist]), or an
// operating system nmgo has no netmap support for.
var ErrNotSupported = errors.New("nmsys: netmap not supported")

// notSupportedError carries the hint and the underlying cause.
type notSupportedError struct {
	msg string
	err error
}

func (e *notSupportedError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}
func (e *notSupportedError) Unwrap() error        { return e.err }
func (e *notSupportedError) Is(target error) bool { return target == ErrNotSupported }

// ErrAPIVersion is matched by an [*APIVersionError].
var ErrAPIVersion = errors.New("nmsys: unsupported netmap API version")

// APIVersionError reports a kernel module that does not speak the netmap
// API nmgo was written for.
type APIVersionError struct {
	Kernel int // version the kernel reported, 0 if unknown
	Want   int // version nmgo speaks
}

func (e *APIVersionError) Error() string {
	if e.Kernel == 0 {
		return fmt.Sprintf("nmsys: the netmap module does not accept API version %d (it does not speak NIOCCTRL); load a netmap.ko built from a 2019 or later snapshot", e.Want)
	}
	return fmt.Sprintf("nmsys: the netmap module speaks API version %d, nmgo needs %d; load a netmap.ko built from a 2019 or later snapshot", e.Kernel, e.Want)
}
func (e *APIVersionError) Is(target error) bool { return target == ErrAPIVersion }

// Error is the error returned by control operations on a port. It names the
// operation and the port, and wraps the cause (usually an *os.SyscallError
// wrapping a syscall.Errno, so errors.Is(err, unix.EBUSY) works).
type Error struct {
	Op   string // "open", "register", "mmap", "vale attach", ...
	Port string // the port name as given by the caller
	Err  error
}

func (e *Error) Error() string {
	if e.Port == "" {
		return "nmsys: " + e.Op + ": " + e.Err.Error()
	}
	return fmt.Sprintf("nmsys: %s %q: %v", e.Op, e.Port, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// devMissing builds the error for a host without /dev/netmap.
func devMissing(err error) error {
	return &notSupportedError{
		msg: "nmsys: /dev/netmap is missing: load the netmap kernel module (insmod netmap.ko; netmap is not in mainline Linux, it is built from the netmap sources)",
		err: err,
	}
}

type pathError = fs.PathError

// hintError adds advice to an error without hiding it from errors.Is.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() + " (" + e.hint + ")" }
func (e *hintError) Unwrap() error { return e.err }
