//go:build !unix

package porttest

import (
	"errors"
	"runtime"
)

// lockRange reserves nothing on a system without POSIX record locks:
// ports are reserved within the process only (see the package doc).
func lockRange(p, n int) (func(), error) { return func() {}, nil }

// lockFileErr says why there is no lock file.
func lockFileErr() error { return errors.New("no POSIX record locks on " + runtime.GOOS) }
