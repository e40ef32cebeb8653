package st2110

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/packet"
)

// openFIFOWriter opens the FIFO name for writing once a reader has it
// open (an open for writing without blocking fails with ENXIO until then).
func openFIFOWriter(t *testing.T, name string) *os.File {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		w, err := os.OpenFile(name, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return w
		}
		if !errors.Is(err, syscall.ENXIO) || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// settleGoroutines fails t unless the goroutines are back to n (those
// that ended may take a moment to be gone; 10 s is a bound on a hang,
// not a speed).
func settleGoroutines(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
			return
		}
	}
}

// TestListenContextFIFO: ListenContext on a FIFO that no writer opens
// (its open), whose writer writes nothing (the wait for data) or writes
// half a header (the read of the header) gives up when its context is
// cancelled or its deadline passes, with an error that wraps ctx.Err(),
// its wait released (the FIFO is closed: a writer opened after finds no
// reader) and no goroutine left behind. Listen alone waits on. A hang is
// failed after 10 s, a bound on a hang, not a speed.
func TestListenContextFIFO(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	for _, writer := range []string{"none", "silent", "half-header"} {
		for _, end := range []string{"cancel", "deadline"} {
			t.Run(writer+"/"+end, func(t *testing.T) {
				name := filepath.Join(t.TempDir(), "fifo")
				if err := syscall.Mkfifo(name, 0o600); err != nil {
					t.Fatal(err)
				}
				before := runtime.NumGoroutine()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				want := context.Canceled
				if end == "deadline" {
					want = context.DeadlineExceeded
				}
				// The writer opens first, read-write (which does not
				// wait for a reader), so that ListenContext, ended
				// before the test goes on, does not leave it waiting.
				var w *os.File
				if writer != "none" {
					var err error
					if w, err = os.OpenFile(name, os.O_RDWR, 0); err != nil {
						t.Fatal(err)
					}
					defer w.Close()
				}
				if writer == "half-header" {
					if _, err := w.Write([]byte{0xd4, 0xc3}); err != nil {
						t.Fatal(err)
					}
				}
				errc := make(chan error, 1)
				go func() {
					ctx := ctx
					if end == "deadline" {
						// Its timer starts here; if it passes
						// before ListenContext looks, the call
						// fails at once (checked below).
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, 20*time.Millisecond)
						defer cancel()
					}
					rx, err := ListenContext(ctx, "pcap:"+name, sess, nil)
					if err == nil {
						rx.Close()
					}
					errc <- err
				}()
				if end == "cancel" {
					// Where it waits: for a writer, for data, in
					// the read of the header.
					if writer == "half-header" {
						waitBlocked(t, "IO wait", "packet.NewPcapReader(")
					} else {
						waitBlocked(t, "IO wait", "st2110.waitWriter(")
					}
					cancel()
				}
				var err error
				select {
				case err = <-errc:
				case <-time.After(10 * time.Second):
					if w == nil {
						w = openFIFOWriter(t, name)
					}
					w.Close()
					t.Fatalf("ListenContext still waits after its context ended; once the writer closed: %v", <-errc)
				}
				// Cancelled where it waits, it says so; a deadline
				// may pass before the call, failed at once (a busy
				// host: no timing is assumed), or during the wait.
				if !errors.Is(err, want) || !strings.HasPrefix(err.Error(), "st2110: listen pcap:"+name+": ") ||
					end == "cancel" && !strings.Contains(err.Error(), ": waiting for the capture's header: ") {
					t.Fatalf("ListenContext: %v, want an error naming the capture and wrapping %v", err, want)
				}
				// No goroutine is left, waiting in an open or a read
				// (the writer is still there: a read would wait).
				settleGoroutines(t, before)
				if w != nil {
					w.Close()
				}
				// The FIFO is closed: a writer finds no reader (and
				// lets an open left waiting return).
				if w, err := os.OpenFile(name, os.O_WRONLY|syscall.O_NONBLOCK, 0); !errors.Is(err, syscall.ENXIO) {
					if err == nil {
						w.Close()
					}
					t.Errorf("open for writing after ListenContext failed: %v, want ENXIO (no reader)", err)
				}
			})
		}
	}
}

// TestListenContextFIFOWriter: a writer that comes while ListenContext
// waits, before its context ends, is read as by Listen; the context's end
// after ListenContext returned does not touch the Receiver, which reads on
// until the writer closes the FIFO (the end of the capture, no error).
func TestListenContextFIFOWriter(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	name := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	type listened struct {
		rx  *Receiver
		err error
	}
	c := make(chan listened, 1)
	go func() {
		rx, err := ListenContext(ctx, "pcap:"+name, sess, nil)
		c <- listened{rx, err}
	}()
	waitBlocked(t, "IO wait", "st2110.waitWriter(") // no writer has come
	w := openFIFOWriter(t, name)
	defer w.Close()
	if _, err := packet.NewPcapWriterNanos(w, 0); err != nil {
		t.Fatal(err)
	}
	l := <-c
	if l.err != nil {
		t.Fatalf("ListenContext: %v", l.err)
	}
	defer l.rx.Close()
	cancel()
	waitBlocked(t, "IO wait", "st2110.(*pcapRx).read(") // waits for a packet
	w.Close()
	select {
	case <-l.rx.Done():
	case <-time.After(10 * time.Second): // a hang, not a speed
		t.Fatal("the reader did not end at the end of the capture")
	}
	if err := l.rx.Err(); err != nil {
		t.Errorf("Err: %v, want nil (the end of the capture)", err)
	}
}

// TestListenContextDone: a context done before ListenContext fails it
// at once, before it opens anything (a capture file that is missing,
// which an open would fail with its own error), with an error that
// wraps ctx.Err().
func TestListenContextDone(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	name := filepath.Join(t.TempDir(), "missing.pcap")
	_, err := ListenContext(ctx, "pcap:"+name, sess, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("ListenContext with a cancelled context: %v, want context.Canceled", err)
	}
}

// TestListenContextPollableDevice: a capture that is a character device
// the netpoller takes (here a pty's master, /dev/ptmx, which no slave
// writes to) is read there, as os.Open leaves it: ListenContext's context
// ends its wait for the header, its read waiting in the netpoller (not in
// a blocking read(2) that nothing ends), and leaves no goroutine behind.
// Without /dev/ptmx the test skips, unless NMTEST_REQUIRE=1; any other
// error opening it fails the test.
func TestListenContextPollableDevice(t *testing.T) {
	const dev = "/dev/ptmx"
	if f, err := os.Open(dev); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if os.Getenv("NMTEST_REQUIRE") == "1" {
			t.Fatalf("NMTEST_REQUIRE=1 but no pty: %v", err)
		}
		t.Skipf("no pty: %v", err)
	} else {
		f.Close()
	}
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		rx, err := ListenContext(ctx, "pcap:"+dev, sess, nil)
		if err == nil {
			rx.Close()
		}
		errc <- err
	}()
	waitBlocked(t, "IO wait", "packet.NewPcapReader(")
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "pcap:"+dev+": waiting for the capture's header") {
			t.Fatalf("ListenContext: %v, want an error naming the capture and wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second): // a hang, not a speed
		t.Fatal("ListenContext still waits for the header after its context ended")
	}
	settleGoroutines(t, before)
}

// TestWaitWriterEINTR: a poll in waitWriter that fails with EINTR is
// made again, not taken for "not yet" (which waits in the netpoller for
// the next edge: with the writer's data already there, none comes). The
// poll fails once, the first time the FIFO is readable, after the wait
// for the writer's write woke waitWriter. A hang is failed after 10 s
// (a bound, not a speed); closing the FIFO then ends the wait.
func TestWaitWriterEINTR(t *testing.T) {
	name := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Fatal(err)
	}
	f, fifo, err := openCapture(name)
	if err != nil || !fifo {
		t.Fatalf("openCapture: fifo %v, %v", fifo, err)
	}
	defer f.Close()
	orig := pollIn
	defer func() { pollIn = orig }()
	var interrupted atomic.Bool
	pollIn = func(fd uintptr) (bool, error) {
		ready, err := orig(fd)
		if ready && err == nil && !interrupted.Swap(true) {
			return false, syscall.EINTR
		}
		return ready, err
	}
	errc := make(chan error, 1)
	go func() { errc <- waitWriter(f) }()
	waitBlocked(t, "IO wait", "st2110.waitWriter(")
	w := openFIFOWriter(t, name)
	defer w.Close()
	if _, err := w.Write([]byte{0xd4}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("waitWriter: %v", err)
		}
	case <-time.After(10 * time.Second):
		f.Close()
		t.Fatalf("waitWriter still waits after an EINTR, the FIFO readable; once closed: %v", <-errc)
	}
	if !interrupted.Load() {
		t.Error("the poll was never interrupted: the test tested nothing")
	}
}

// TestOpenCaptureReplacedFIFO: a capture that was a FIFO when
// openCapture looked (its stat) but is a regular file when it opens it
// (replaced in between) is left as os.Open leaves a regular file: not a
// FIFO, so no wait for a writer, and in blocking mode, as the netpoller
// refuses it, its O_NONBLOCK cleared. The replacement is a stat that
// reports another path's FIFO.
func TestOpenCaptureReplacedFIFO(t *testing.T) {
	dir := t.TempDir()
	fifoName := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifoName, 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "capture.pcap")
	if err := os.WriteFile(name, []byte("a regular file"), 0o600); err != nil {
		t.Fatal(err)
	}
	defer func(stat func(string) (fs.FileInfo, error)) { statCapture = stat }(statCapture)
	statCapture = func(string) (fs.FileInfo, error) { return os.Stat(fifoName) }
	f, fifo, err := openCapture(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fifo {
		t.Error("openCapture: fifo true for a regular file")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil {
		t.Fatal(err)
	}
	if errno != 0 {
		t.Fatal(errno)
	}
	if flags&syscall.O_NONBLOCK != 0 {
		t.Errorf("openCapture left the regular file O_NONBLOCK (flags %#x)", flags)
	}
	if b, err := io.ReadAll(f); err != nil || string(b) != "a regular file" {
		t.Errorf("read %q, %v", b, err)
	}
}
