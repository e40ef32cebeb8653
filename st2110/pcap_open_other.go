//go:build !linux

package st2110

import "os"

// openCapture opens the capture file name for reading. Outside Linux the
// open of a FIFO waits for its writer, and nothing interrupts it; fifo is
// false, as there is nothing left to wait for.
func openCapture(name string) (f *os.File, fifo bool, err error) {
	f, err = os.Open(name)
	return f, false, err
}

// waitWriter is never called outside Linux (openCapture's fifo is false).
func waitWriter(*os.File) error { return nil }
