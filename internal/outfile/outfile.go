// Package outfile opens the file a program writes its output to (a
// capture, a profile, an SDP) in two steps: Open, before the program
// does anything that may fail, so that a name that cannot be written
// fails first, and Begin, once it has succeeded, which empties a regular
// file. An output abandoned between the two is left as it was, or
// removed if Open made it.
//
// A FIFO is opened for writing only, never read-write: the program holds
// no read end of its own, so a reader that goes away makes the next write
// fail (EPIPE) rather than block it for ever. A FIFO with no reader yet
// is not waited for in Open, which returns at once; Begin waits for one,
// until its context ends.
package outfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// File is an output opened by Open.
type File struct {
	// File is the open file; nil, until Begin, for a FIFO that had no
	// reader when Open opened it.
	*os.File
	name string
	made string // the file Open created, if it did
}

// Open opens name for writing without emptying it, creating it with perm
// if it does not exist, as os.Create would (a dangling symbolic link gets
// its target made). A FIFO with no reader is left to Begin to open.
func Open(name string, perm fs.FileMode) (*File, error) {
	// O_NONBLOCK: an open of a FIFO for writing fails (ENXIO) instead of
	// waiting for a reader; a regular file or a device takes no notice,
	// and the os package waits on a pipe's writes in its poller.
	const flags = os.O_WRONLY | os.O_CREATE | syscall.O_NONBLOCK
	f, err := os.OpenFile(name, flags|os.O_EXCL, perm)
	if err == nil {
		return &File{File: f, name: name, made: name}, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	fi, serr := os.Stat(name)
	f, err = os.OpenFile(name, flags, perm)
	switch {
	case errors.Is(err, syscall.ENXIO) && serr == nil && fi.Mode()&fs.ModeNamedPipe != 0:
		return &File{name: name}, nil // no reader yet: Begin waits for one
	case err != nil:
		return nil, err
	}
	o := &File{File: f, name: name}
	if errors.Is(serr, fs.ErrNotExist) { // a dangling link, whose target was made
		o.made, _ = filepath.EvalSymlinks(name)
	}
	return o, nil
}

// Begin makes the file the output's: it empties a regular file (a
// device, such as /dev/stdout, or a FIFO is written as it is), and opens
// a FIFO that had no reader at Open once one opens it. It gives up on
// the FIFO when ctx ends, with an error that wraps ctx's.
func (o *File) Begin(ctx context.Context) error {
	if o.File == nil {
		f, err := waitReader(ctx, o.name)
		if err != nil {
			return err
		}
		o.File = f
	}
	fi, err := o.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return err
	}
	return o.Truncate(0)
}

// Abandon closes the file of an output given up before Begin, and
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

// waitReader opens the FIFO name for writing once a reader has opened it.
// The open waits in the kernel, on a goroutine of its own; when ctx ends
// first, a read end opened here lets it return, and both are closed.
func waitReader(ctx context.Context, name string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	c := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		c <- opened{f, err}
	}()
	select {
	case o := <-c:
		return o.f, o.err
	case <-ctx.Done():
	}
	drop := func() {
		if o := <-c; o.f != nil {
			o.f.Close()
		}
	}
	if r, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
		drop()
		r.Close()
	} else {
		go drop() // the FIFO gone: its next reader lets the open return
	}
	return nil, fmt.Errorf("%s: no reader opened the FIFO: %w", name, ctx.Err())
}
