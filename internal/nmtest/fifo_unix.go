//go:build unix

package nmtest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// FIFO makes a FIFO in a directory of t's and returns its name.
func FIFO(t testing.TB) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// FIFOReader opens fifo for reading without waiting for a writer, as a
// reader that holds it open but reads only what the test has it read;
// it is closed when the test ends.
func FIFOReader(t testing.TB, fifo string) *os.File {
	t.Helper()
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
