// Package outfile opens the file a program writes its output to (a
// capture, a profile, an SDP) in steps: Open, before the program does
// anything that may fail, so that a name that cannot be written fails
// first; Wait, once it has succeeded, which waits for the reader of a
// FIFO that had none at Open; and Empty, which empties a regular file
// (Begin does both). A program with several outputs waits for every one
// before it empties any, so that an output that is given up on (no
// reader came) leaves the others as they were. An output abandoned
// before Empty is left as it was, or removed if Open made it.
//
// A FIFO is opened for writing only, never read-write: the program holds
// no read end of its own, so a reader that goes away makes the next write
// fail (EPIPE) rather than block it for ever. On Linux and FreeBSD a
// FIFO's writes wait in the runtime's poller, so that a write deadline
// (os.File.SetWriteDeadline) ends one that waits for a reader that does
// not read; elsewhere (macOS, whose kqueue the os package keeps FIFOs
// out of) they block in the kernel, and a deadline cannot be set.
// Anything else is opened as os.OpenFile would open it, blocking.
package outfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Grace is how long, once the program has ended the output (End), a
// write may wait for a FIFO's reader to read anything before it fails
// (os.ErrDeadlineExceeded). A reader that reads, however slowly, gets
// the rest: each write that moves bytes gives it another Grace. A
// reader that reads nothing ends the write between Grace and twice
// Grace after End.
const Grace = time.Second

// File is an output opened by Open. Write to it by its own Write,
// WriteString and ReadFrom (io.Copy), which keep to End's grace, not by
// its *os.File's.
type File struct {
	// File is the open file; nil, until Wait, for a FIFO that had no
	// reader when Open opened it.
	*os.File
	name string
	made string // the file Open created, if it did
	keep bool   // a descriptor of the process (/dev/stdout): never emptied

	// ending: End was called (from any goroutine): writes that wait
	// for a FIFO's reader have a deadline, re-armed while bytes move.
	ending atomic.Bool
}

// Open opens name for writing without emptying it, creating it with perm
// if it does not exist, as os.Create would (a dangling symbolic link gets
// its target made). A FIFO with no reader is left to Wait to open.
// /dev/stdout, /dev/stderr and /dev/fd/N (on Linux also /proc/self/fd/N)
// are the process's own descriptor, duplicated, where the os package
// would open the file anew: written where the descriptor is (appended to
// a file the shell opened with >>, after what the process wrote to it
// already) and never emptied. On Linux such a descriptor that is a pipe
// or FIFO (the shell's |) is opened anew, through /proc/self/fd/N, as
// any FIFO is: a duplicate would share the shell's blocking open, and
// End could not end a write that waits for its reader.
func Open(name string, perm fs.FileMode) (*File, error) {
	if f, ok, err := openOwn(name); ok {
		if err != nil {
			return nil, err
		}
		return &File{File: f, name: name, keep: true}, nil
	}
	f, err := openFile(name, true, perm)
	if err == nil {
		return &File{File: f, name: name, made: name}, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if _, serr := os.Stat(name); errors.Is(serr, fs.ErrNotExist) {
		// A dangling symbolic link: its target is made, by its own
		// name, so that the file made is known before it is.
		target, err := danglingTarget(name)
		if err != nil {
			return nil, err
		}
		f, err := openFile(target, true, perm)
		if err != nil {
			return nil, err
		}
		return &File{File: f, name: name, made: target}, nil
	}
	f, err = openFile(name, false, perm)
	if waiting, err := noReader(name, err); waiting || err != nil {
		if err != nil {
			return nil, err
		}
		return &File{name: name}, nil // no reader yet: Wait waits for one
	}
	return &File{File: f, name: name}, nil
}

// noReader reports whether err, an open's, is that of a FIFO that has
// no reader: errNoReader (ENXIO), which the open of a Unix socket
// returns too, of a name that is a FIFO. Otherwise it returns err, or,
// for a name gone since the open (removed while it was tried), the
// error of its absence (fs.ErrNotExist), not the open's ENXIO.
func noReader(name string, err error) (bool, error) {
	if !errors.Is(err, errNoReader) {
		return false, err
	}
	fi, serr := os.Stat(name)
	var pe *fs.PathError
	switch {
	case errors.As(serr, &pe):
		return false, &fs.PathError{Op: "open", Path: name, Err: pe.Err}
	case serr != nil:
		return false, serr
	case fi.Mode()&fs.ModeNamedPipe == 0:
		return false, err
	}
	return true, nil
}

// danglingTarget returns the name a dangling symbolic link's target is
// made by: the last link of its chain's target.
func danglingTarget(name string) (string, error) {
	p := name
	for range 40 { // Linux's limit on links followed (ELOOP)
		t, err := os.Readlink(p)
		switch {
		case errors.Is(err, fs.ErrNotExist) || err != nil && isNotLink(err):
			return p, nil
		case err != nil:
			return "", err
		}
		if !filepath.IsAbs(t) {
			// Relative to the link's directory as the kernel finds
			// it: not cleaned, which would take ".." lexically.
			t = p[:strings.LastIndexByte(p, filepath.Separator)+1] + t
		}
		p = t
	}
	return "", &fs.PathError{Op: "open", Path: name, Err: errLoop}
}

// Wait opens a FIFO that had no reader at Open once one opens it: it
// tries to open it for writing every 20 ms, without waiting in the
// kernel (no goroutine, no read end of its own), until a reader has it
// open or ctx ends, with an error that wraps ctx's. Any other output is
// open already, and Wait returns nil at once. An open that fails
// otherwise ends the wait with its error, also ENXIO for a name that is
// no longer a FIFO (a Unix socket, whose open fails so too), and
// fs.ErrNotExist for one removed, even between an open and the look at
// what failed it.
func (o *File) Wait(ctx context.Context) error {
	if o.File != nil {
		return nil
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		f, err := openFile(o.name, false, 0)
		if err == nil {
			o.File = f
			return nil
		}
		if waiting, err := noReader(o.name, err); !waiting {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: no reader opened the FIFO: %w", o.name, ctx.Err())
		case <-tick.C:
		}
	}
}

// Empty makes the file the output's: it empties a regular file (a
// device, a FIFO and the process's own descriptor are written as they
// are). It comes after Wait.
func (o *File) Empty() error {
	if o.File == nil {
		return fmt.Errorf("%s: %w", o.name, os.ErrClosed)
	}
	if o.keep {
		return nil
	}
	fi, err := o.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return err
	}
	return o.Truncate(0)
}

// Begin is Wait, then Empty: an output's that is the program's only.
func (o *File) Begin(ctx context.Context) error {
	if err := o.Wait(ctx); err != nil {
		return err
	}
	return o.Empty()
}

// Pollable reports whether the output's writes wait in the runtime's
// poller, so that a write deadline can end one that waits (a FIFO on
// Linux or FreeBSD).
func (o *File) Pollable() bool {
	return o.File != nil && o.SetWriteDeadline(time.Time{}) == nil
}

// End makes a write of o that waits for room (a FIFO whose reader keeps
// it open but does not read), now or later, fail once the reader has
// read nothing for Grace: the program's run is over (a -t, a signal, a
// context) and a reader that makes no progress must not hold it for
// ever. A reader that reads, however slowly, still gets everything
// written; Write re-arms the deadline while bytes move. It may be called
// from any goroutine, also while a write waits, and does nothing to an
// output that is not Pollable (a regular file, whose writes do not wait;
// a FIFO on macOS, whose writes wait in the kernel).
func (o *File) End() {
	o.ending.Store(true)
	if o.File != nil {
		_ = o.File.SetWriteDeadline(time.Now().Add(Grace))
	}
}

// Write writes b to the file. Once End has been called, each write has
// Grace to move bytes: one that ends at its deadline having written
// some is taken up again with a new deadline, and one that wrote nothing
// returns os.ErrDeadlineExceeded with the count of what was written.
func (o *File) Write(b []byte) (int, error) {
	if o.ending.Load() {
		_ = o.File.SetWriteDeadline(time.Now().Add(Grace))
	}
	var n int
	for {
		m, err := o.File.Write(b[n:])
		n += m
		if err == nil || m == 0 || !errors.Is(err, os.ErrDeadlineExceeded) || !o.ending.Load() {
			return n, err
		}
		_ = o.File.SetWriteDeadline(time.Now().Add(Grace))
	}
}

// WriteString is Write of s's bytes: *os.File's would write past the
// deadline's re-arming.
func (o *File) WriteString(s string) (int, error) {
	return o.Write([]byte(s))
}

// ReadFrom copies r to the file by Write, so that io.Copy and
// bufio.Writer.ReadFrom into it keep to End's grace: *os.File's would
// write past it (or splice, whose wait no re-arming sees).
func (o *File) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{o}, r)
}

// Abandon closes the file of an output given up before Empty, and
// removes it if Open made it.
func (o *File) Abandon() error {
	var err error
	if o.File != nil {
		err = o.File.Close()
	}
	if o.made != "" {
		if rerr := os.Remove(o.made); err == nil {
			err = rerr
		}
	}
	return err
}

// Name returns the name the output was opened with.
func (o *File) Name() string { return o.name }

// Close closes the file; an output whose FIFO never had a reader has
// nothing open.
func (o *File) Close() error {
	if o.File == nil {
		return nil
	}
	return o.File.Close()
}
