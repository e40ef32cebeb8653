//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
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

// TestCaptureFIFOInterrupted: vrx -i pcap:FIFO with no writer waits in
// Listen's open of the FIFO, and with a writer that writes nothing in its
// read of the file header; a cancelled context (a signal, -t) ends either
// wait with an error that says so. A writer opened (or closed) after lets
// the abandoned Listen end, and unsticks a run that does not end: the
// minute's bound is no timing assertion, only a way out of a hang.
func TestCaptureFIFOInterrupted(t *testing.T) {
	for _, writer := range []bool{false, true} {
		t.Run(map[bool]string{false: "no-writer", true: "silent-writer"}[writer], func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var errb bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- cli(ctx, []string{"-i", "pcap:" + fifo, "-f", "vrx", "-fmt", fmt64x32, "-q"}, io.Discard, &errb)
			}()
			// An open for writing without blocking succeeds once a reader
			// is there (and lets its open return).
			openWriter := func() *os.File {
				for {
					w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
					if err == nil {
						return w
					}
					if !errors.Is(err, syscall.ENXIO) {
						t.Fatal(err)
					}
					time.Sleep(time.Millisecond)
				}
			}
			var w *os.File
			if writer {
				w = openWriter() // the reader now waits in its read of the header
			} else {
				time.Sleep(10 * time.Millisecond) // the reader waits in its open
			}
			cancel()
			var code int
			select {
			case code = <-done:
			case <-time.After(time.Minute):
				if w == nil {
					w = openWriter()
				}
				w.Close()
				t.Fatalf("not ended by the cancelled context; once the writer had gone: exit %d, %s", <-done, errb.String())
			}
			if w == nil {
				w = openWriter() // the abandoned Listen's open returns
			}
			w.Close()
			want := "nmbench: interrupted while waiting for the capture " + fifo + " (context canceled)\n"
			if code != 1 || errb.String() != want {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, errb.String(), want)
			}
		})
	}
}
