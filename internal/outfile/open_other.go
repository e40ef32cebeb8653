//go:build !unix

package outfile

import (
	"errors"
	"io/fs"
	"os"
)

// No FIFOs: no open waits for a reader.
var (
	errNoReader = errors.New("no reader")
	errLoop     = errors.New("too many levels of symbolic links")
)

func isNotLink(error) bool { return true }

func openFile(name string, create bool, perm fs.FileMode) (*os.File, error) {
	flags := os.O_WRONLY
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	return os.OpenFile(name, flags, perm)
}

func openOwn(string) (*os.File, bool, error) { return nil, false, nil }
