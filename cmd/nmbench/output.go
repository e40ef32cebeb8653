package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// outputFile is a file a run writes once its port is open (-sdp-out,
// -cpuprofile, rx's -pcap, vrx's -out), opened before the port is, so
// that a path that cannot be opened fails the run before it waits for
// anything. The file is emptied only once the run has opened (begin),
// and removed again if the run fails before that and the file was made
// for it. vtx's capture (-i pcap:FILE) is emptied later still, when the
// st2110 Sender's Run starts: a write that fails after Dial (-sdp-out
// /dev/full) or a profile that does not start leaves it as it was.
type outputFile struct {
	*os.File
	made string // the file openOutput created, if it did
}

// openOutput opens name for writing without emptying it, as os.Create
// would open it (a dangling symbolic link gets its target made): for
// reading too, so that a FIFO with no reader opens at once, as
// st2110's capture output opens one, rather than waiting for a reader,
// deaf to -t and signals, before the port opens. A
// -cpuprofile file that existed is left empty, though, when
// pprof.StartCPUProfile fails after begin, which it does only when a
// profile is already running in the process (tests, or nmbench
// embedded), never in the command.
func openOutput(name string) (*outputFile, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		return &outputFile{File: f, made: name}, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	_, serr := os.Stat(name)
	if f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return nil, err
	}
	o := &outputFile{File: f}
	if errors.Is(serr, fs.ErrNotExist) { // a dangling link, whose target was made
		o.made, _ = filepath.EvalSymlinks(name)
	}
	return o, nil
}

// begin empties a regular file for what the run writes (a FIFO or a
// device, such as /dev/stdout, is written as it is).
func (o *outputFile) begin() error {
	fi, err := o.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return err
	}
	return o.Truncate(0)
}

// abandon closes the file of a run that failed before begin, and removes
// it if openOutput made it.
func (o *outputFile) abandon() {
	o.Close()
	if o.made != "" {
		os.Remove(o.made)
	}
}
