//go:build linux

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCaptureErrFIFO: the error of a capture that is a FIFO (or the pipe
// of a shell's <(...)) is worded without opening it again. Its writer had
// gone once Listen had read what was no capture, so an open for reading
// waited for another, for ever: nmbench -i pcap:FIFO hung instead of
// saying the file was no capture (and, stuck in open, did not even end
// on SIGTERM).
func TestCaptureErrFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	listenErr := errors.New("st2110: listen pcap:" + fifo + ": packet: capture: not a pcap or pcapng file: it starts with 67 61 72 62")
	done := make(chan error, 1)
	go func() { done <- captureErr("pcap:"+fifo, listenErr) }()
	// Until captureErr returns, look for a reader of the FIFO: an open for
	// writing without blocking succeeds only when one is there, and here
	// the only one can be captureErr's. The write end, closed at once,
	// lets that reader's open return (and read nothing).
	for {
		select {
		case err := <-done:
			if !errors.Is(err, listenErr) || !strings.HasPrefix(err.Error(), "-i pcap:"+fifo+": ") {
				t.Fatalf("captureErr: %v", err)
			}
			return
		default:
		}
		w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			w.Close()
			t.Fatalf("captureErr opened the FIFO again, waiting for a writer; then: %v", <-done)
		}
		if !errors.Is(err, syscall.ENXIO) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}
