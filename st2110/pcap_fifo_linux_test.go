package st2110

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

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
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

// TestPcapTxFIFO: a sender's capture that is a FIFO is opened for writing
// only. Dial does not wait for a reader; Run does, until its context
// ends (an error that wraps the context's); a reader that goes away
// fails Run with the write's error (EPIPE), where a read end of the
// sender's own would have left the write blocked for ever once the pipe
// was full.
func TestPcapTxFIFO(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	const hang = time.Minute // a hang, not a speed
	fifo := nmtest.FIFO(t)
	run := func(tx *Sender, ctx context.Context) error {
		t.Helper()
		errc := make(chan error, 1)
		go func() { errc <- tx.Run(ctx) }()
		select {
		case err := <-errc:
			return err
		case <-time.After(hang):
		}
		// A reader that reads it all unsticks Run.
		r := nmtest.FIFOReader(t, fifo)
		go io.Copy(io.Discard, r)
		t.Fatalf("Run still runs after %v; once a reader came: %v", hang, <-errc)
		return nil
	}
	tx, err := Dial("pcap:"+fifo, sess, &SendConfig{Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(tx, ctx); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no reader") {
		t.Errorf("Run with no reader, its context cancelled: %v", err)
	}
	if err := tx.Close(); err != nil {
		t.Errorf("Close after Run found no reader: %v", err)
	}

	// A reader there at Dial, gone before Run writes: 300 frames of some
	// 7 kB are more than the pipe and the capture's buffer hold.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	tx, err = Dial("pcap:"+fifo, sess, &SendConfig{Count: 300})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := run(tx, context.Background()); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Run to a FIFO whose reader went away: %v, want EPIPE", err)
	}
}

// TestDialFIFONoReader: a Sender into a FIFO whose reader keeps it open
// but does not read (its writes wait for room once the pipe is full)
// ends its Run when Run's context ends or Close is called, and Close
// does not wait for the reader either: it says that the capture was
// cut. 10 s bounds a hang, not a speed.
func TestDialFIFONoReader(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	frames := [][]byte{randomFrames(fmtSmall, 1, 1)}
	for _, end := range []string{"context", "close"} {
		t.Run(end, func(t *testing.T) {
			name := nmtest.FIFO(t)
			// The reader that does not read; reading it after a hang
			// unsticks it.
			r := nmtest.FIFOReader(t, name)
			unstick := func() {
				go func() {
					buf := make([]byte, 1<<16)
					for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
						if _, err := r.Read(buf); err != nil && !errors.Is(err, syscall.EAGAIN) {
							return
						}
					}
				}()
			}
			tx, err := Dial("pcap:"+name, sess, &SendConfig{Sources: loops(t, sess, frames), Count: 1 << 30})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runc := make(chan error, 1)
			go func() { runc <- tx.Run(ctx) }()
			waitBlocked(t, "IO wait", "st2110.(*pcapTx).Publish(") // the pipe is full
			closec := make(chan error, 1)
			if end == "context" {
				cancel()
			} else {
				go func() { closec <- tx.Close() }()
			}
			select {
			case err := <-runc:
				if err != nil {
					t.Errorf("Run: %v, want nil (ended by its context or Close)", err)
				}
			case <-time.After(10 * time.Second):
				unstick()
				t.Fatalf("Run still waits for the FIFO's reader; once it read: %v", <-runc)
			}
			if end == "context" {
				go func() { closec <- tx.Close() }()
			}
			select {
			case err := <-closec:
				if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "capture cut") {
					t.Errorf("Close: %v, want the capture cut", err)
				}
			case <-time.After(10 * time.Second):
				unstick()
				t.Fatalf("Close waits for the FIFO's reader; once it read: %v", <-closec)
			}
		})
	}
}

// TestDupTxFIFOCommit: a sender of two paths, each a capture, waits for
// a FIFO's reader before it empties the other path's file: a Run whose
// context ends in the wait leaves the regular file of the other path as
// it was (and Close writes nothing into it). A path whose capture cannot
// begin (its FIFO removed) fails alone: the other sends, Run returns nil,
// and the path's error is in PathStats.
func TestDupTxFIFOCommit(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	dir := t.TempDir()
	file, fifo := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "fifo")
	want := []byte("an earlier capture")
	if err := os.WriteFile(file, want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tx, err := Dial("pcap:"+file, sess, &SendConfig{Count: 1, Second: "pcap:" + fifo})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tx.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Run, its context ended in the wait for the FIFO's reader: %v, want context.Canceled", err)
	}
	if err := tx.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, want) {
		t.Errorf("path 0's file holds %q (%v), not %q", got, err, want)
	}

	tx, err = Dial("pcap:"+file, sess, &SendConfig{Count: 1, Second: "pcap:" + fifo})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := tx.Run(context.Background()); err != nil {
		t.Errorf("Run, path 1's FIFO gone: %v, want nil (path 0 sends)", err)
	}
	if err := tx.PathStats(0, 1).Err; !errors.Is(err, os.ErrNotExist) {
		t.Errorf("path 1's error: %v, want ErrNotExist", err)
	}
	if st := tx.PathStats(0, 0); st.Err != nil {
		t.Errorf("path 0: %v", st.Err)
	}
	tx.Close()
	if got, err := os.ReadFile(file); err != nil || len(got) <= 24 || bytes.Equal(got, want) {
		t.Errorf("path 0's capture: %d octets (%v), want a header and a frame", len(got), err)
	}
}

// slowFIFOReader opens the FIFO name for reading and, once start is
// called, reads it in 64 KiB reads 5 ms apart (a live reader slower
// than the writer, as Wireshark or ffmpeg are) until its writer closes
// it. The channel it returns is closed once it has read more than
// after octets; the function returns all it read, once the writer has
// closed. The FIFO is opened for reading before the writer opens it.
func slowFIFOReader(t *testing.T, name string, after int) (start func(), past <-chan struct{}, all func() []byte) {
	t.Helper()
	r, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	pastc, done := make(chan struct{}), make(chan struct{})
	var got bytes.Buffer
	start = func() {
		go func() {
			defer close(done)
			buf := make([]byte, 64<<10)
			passed := false
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
				n, err := r.Read(buf)
				got.Write(buf[:n])
				if !passed && got.Len() > after {
					passed = true
					close(pastc)
				}
				if err == io.EOF {
					return
				}
				if err != nil && !errors.Is(err, syscall.EAGAIN) {
					t.Error(err)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Error("the FIFO's writer did not close it within a minute")
		}()
	}
	all = func() []byte {
		<-done
		return got.Bytes()
	}
	return start, pastc, all
}

// TestDialFIFOSlowReader: a Sender into a FIFO whose reader reads, but
// slower than Run writes (the pipe full again and again), is not cut when
// Run's context ends or Close is called: the reader gets the rest of the
// capture, Run and Close return nil, and the capture read back is whole,
// every packet of it. Only a reader that reads nothing is cut
// (TestDialFIFONoReader).
func TestDialFIFOSlowReader(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	frames := [][]byte{randomFrames(fmtSmall, 1, 1)}
	for _, end := range []string{"context", "close"} {
		t.Run(end, func(t *testing.T) {
			name := nmtest.FIFO(t)
			// Well past what the pipe (64 KiB) and the capture's buffer
			// (1 MiB) hold: the writer has waited for the reader.
			start, past, all := slowFIFOReader(t, name, 3<<20)
			tx, err := Dial("pcap:"+name, sess, &SendConfig{Sources: loops(t, sess, frames), Count: 1 << 30})
			if err != nil {
				t.Fatal(err)
			}
			start()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runc := make(chan error, 1)
			go func() { runc <- tx.Run(ctx) }()
			<-past
			if end == "context" {
				cancel()
				if err := <-runc; err != nil {
					t.Errorf("Run: %v, want nil (ended by its context)", err)
				}
			}
			if err := tx.Close(); err != nil {
				t.Errorf("Close: %v, want nil (the reader read it all)", err)
			}
			if end == "close" {
				if err := <-runc; err != nil {
					t.Errorf("Run: %v, want nil (ended by Close)", err)
				}
			}
			capture := all()
			pr, err := packet.NewPcapReader(bytes.NewReader(capture))
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for {
				_, _, err := pr.ReadPacketData()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("the capture read back (%d octets), packet %d: %v", len(capture), n, err)
				}
				n++
			}
			if len(capture) <= 3<<20 || n == 0 {
				t.Errorf("the capture read back: %d octets, %d packets; want more than 3 MiB", len(capture), n)
			}
		})
	}
}

// stopAt is a frame source that gives frame up to n and then nil, which
// ends Run with an error: a Run that ends without its context ending.
type stopAt struct {
	frame []byte
	n     uint64
}

func (s stopAt) Frame(n uint64) []byte {
	if n >= s.n {
		return nil
	}
	return s.frame
}

// TestDialFIFOCloseAfterError: a Run that ends with an error (its frame
// source failing at frame 60, some 300 kB buffered: more than the pipe
// holds, less than the capture's buffer) leaves its context alive, so
// nothing ended the capture; Close, which writes the buffer out, into a
// FIFO whose reader keeps it open but does not read, must not wait for
// that reader for ever: it cuts the capture and says so. 10 s bounds a
// hang, not a speed.
func TestDialFIFOCloseAfterError(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	name := nmtest.FIFO(t)
	r := nmtest.FIFOReader(t, name)
	src := stopAt{frame: randomFrames(fmtSmall, 1, 1), n: 60}
	tx, err := Dial("pcap:"+name, sess, &SendConfig{Sources: []video.FrameSource{src}, Count: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Run(context.Background()); err == nil {
		t.Fatal("Run: nil, want the frame source's error")
	}
	closec := make(chan error, 1)
	go func() { closec <- tx.Close() }()
	select {
	case err := <-closec:
		if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "capture cut") {
			t.Errorf("Close: %v, want the capture cut", err)
		}
	case <-time.After(10 * time.Second):
		go io.Copy(io.Discard, r)
		t.Fatalf("Close waits for the FIFO's reader; once it read: %v", <-closec)
	}
}

// TestPcapTxCutInHeader: a cut that falls inside a packet's 16-octet
// pcap header (fewer than 16 octets free in the buffer at the cut, about
// one cut in a hundred) is a cut, as one in the packet's data is: pcapgo
// wraps the header's write error with %v, which loses it, and Run would
// have ended with "error writing packet header: ... i/o timeout" (or an
// EPIPE that errors.Is did not find) instead of nil.
func TestPcapTxCutInHeader(t *testing.T) {
	name := nmtest.FIFO(t)
	nmtest.FIFOReader(t, name) // reads nothing
	q, err := openPcapTx(&endpoint{name: "pcap:" + name, kind: kindPcap, file: name}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	tx := q.(*pcapTx)
	defer tx.close()
	if err := tx.commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 8 octets free: the next packet's header fills the buffer, whose
	// flush waits for the reader until the cut.
	if _, err := tx.bw.Write(make([]byte, tx.bw.Available()-8)); err != nil {
		t.Fatal(err)
	}
	tx.interrupt()
	tx.grow(64)
	tx.lens[0] = 64
	tx.Publish(1)
	if tx.err == nil {
		t.Fatal("Publish into a full FIFO after interrupt: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tx.flush(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("flush after a cut in the packet's header: %v, want the context's error (a cut)", err)
	}
	if err := tx.finish(); err != nil {
		t.Errorf("finish after a cut in the packet's header: %v, want nil (a cut)", err)
	}
}
