package st2110

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// TestPcapFIFO pins what the package doc says of a FIFO: Listen waits for
// a writer and the capture's header, and opening the FIFO for writing and
// closing it makes a waiting Listen fail as on an empty file; once Listen
// has returned, Close ends the reader waiting for packets from an idle
// writer.
func TestPcapFIFO(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	dir := t.TempDir()
	mkfifo := func(name string) string {
		p := filepath.Join(dir, name)
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const hang = 10 * time.Second // a hang, not a speed

	// Given up on: a writer that writes nothing.
	name := mkfifo("abandoned")
	errc := make(chan error, 1)
	go func() {
		rx, err := Listen("pcap:"+name, sess, nil)
		if err == nil {
			rx.Close()
		}
		errc <- err
	}()
	w, err := os.OpenFile(name, os.O_WRONLY, 0) // waits for Listen's open
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "empty file") {
			t.Fatalf("Listen on a FIFO whose writer closed at once: %v, want the empty file's error", err)
		}
	case <-time.After(hang):
		t.Fatal("Listen still waits after the FIFO's writer closed it")
	}

	// A writer that wrote the header and then waits.
	name = mkfifo("idle")
	wc := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err == nil {
			_, err = packet.NewPcapWriterNanos(w, 0)
		}
		if err != nil {
			t.Error(err)
			w = nil
		}
		wc <- w
	}()
	rx, err := Listen("pcap:"+name, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := <-wc; w != nil {
		defer w.Close()
	}
	// The reader has reached its read of the FIFO, and waits there for
	// a packet (a Close that came earlier would not test that).
	waitBlocked(t, "IO wait", "st2110.(*pcapRx).read(")
	done := make(chan error, 1)
	go func() { done <- rx.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(hang):
		t.Fatal("Close does not end the reader waiting on the FIFO")
	}
}
