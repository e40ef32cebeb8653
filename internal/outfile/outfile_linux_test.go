package outfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/nmtest"
)

func nonblocking(t *testing.T, f *os.File) bool {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		fl, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil || errno != 0 {
		t.Fatal(err, errno)
	}
	return fl&syscall.O_NONBLOCK != 0
}

// Open's descriptor is blocking for anything but a FIFO that the poller
// takes (Linux): a regular file opened non-blocking (to open a FIFO
// without waiting) is made blocking again, as it is on macOS for a FIFO,
// whose full pipe would otherwise fail writes with EAGAIN. A FIFO's
// writes can have a deadline, a regular file's not.
func TestOpenBlocking(t *testing.T) {
	dir := t.TempDir()
	for _, exists := range []bool{false, true} {
		name := filepath.Join(dir, "file")
		o, err := Open(name, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if nonblocking(t, o.File) || o.Pollable() {
			t.Errorf("a regular file (existed: %v): non-blocking %v, pollable %v; want neither", exists, nonblocking(t, o.File), o.Pollable())
		}
		o.Close()
	}
	fifo := nmtest.FIFO(t)
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	o, err := Open(fifo, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if !nonblocking(t, o.File) || !o.Pollable() {
		t.Errorf("a FIFO with a reader: non-blocking %v, pollable %v; want both on Linux", nonblocking(t, o.File), o.Pollable())
	}
}

// A Wait that its context ends leaves nothing behind: no goroutine, and
// no writer of the FIFO (a reader opened afterwards reads its end, not
// EAGAIN); a FIFO removed while Wait waits ends it with the open's
// error, not a wait for a reader that can never come.
func TestWaitLeavesNothing(t *testing.T) {
	base := runtime.NumGoroutine()
	fifo := nmtest.FIFO(t)
	o, err := Open(fifo, 0o644)
	if err != nil || o.File != nil {
		t.Fatalf("Open of a FIFO with no reader: %v, %v", o, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait, its context cancelled: %v", err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := syscall.Read(int(r.Fd()), make([]byte, 1))
	r.Close()
	if n != 0 || err != nil {
		t.Errorf("a reader after the cancelled Wait: %d, %v; want 0 (no writer)", n, err)
	}

	// Removed while Wait waits: a minute bounds a hang.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- o.Wait(ctx) }()
	time.Sleep(100 * time.Millisecond) // not an assertion: lets Wait start
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Wait for a FIFO removed meanwhile: %v, want ErrNotExist", err)
	}
	// Goroutines that end take a moment to be counted out.
	for range 100 {
		if runtime.NumGoroutine() <= base {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines after the waits, %d before", runtime.NumGoroutine(), base)
}

// A FIFO removed between an open that found no reader and the look at
// what the name is ends the wait as a removed one does, with
// fs.ErrNotExist: the open's ENXIO would name a Unix socket. The race
// is too narrow to lose by timing, so the look is made after the
// removal here.
func TestNoReaderRemoved(t *testing.T) {
	fifo := nmtest.FIFO(t)
	_, oerr := openFile(fifo, false, 0)
	if !errors.Is(oerr, syscall.ENXIO) {
		t.Fatalf("open of a FIFO with no reader: %v, want ENXIO", oerr)
	}
	if waiting, err := noReader(fifo, oerr); !waiting || err != nil {
		t.Fatalf("noReader of a FIFO: %v, %v; want true, nil", waiting, err)
	}
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	waiting, err := noReader(fifo, oerr)
	if waiting || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("noReader of a FIFO removed since the open: %v, %v; want false, ErrNotExist", waiting, err)
	}
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "open" || pe.Path != fifo {
		t.Errorf("the error %v is not the open's of %s", err, fifo)
	}
}

// /dev/fd/N is the process's descriptor N, duplicated: never emptied,
// and written where it is (appended to a file opened O_APPEND), where a
// new open of the file would write it from its start.
func TestOpenOwnDescriptor(t *testing.T) {
	name := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(name, []byte("before,"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o, err := Open("/dev/fd/"+itoa(int(f.Fd())), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Begin(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := o.WriteString("after"); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if b, err := os.ReadFile(name); string(b) != "before,after" {
		t.Errorf("the file holds %q (%v), want %q", b, err, "before,after")
	}
}

// A dangling symbolic link's target is made, by the name the kernel
// finds it by (a ".." after a linked directory is the link target's
// parent, not the lexical one), and removed by Abandon.
func TestOpenDanglingLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "other", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "other", "deep"), filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "sub", "link")
	if err := os.Symlink("../target", link); err != nil {
		t.Fatal(err)
	}
	o, err := Open(link, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "other", "target")
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("the link's target: %v", err)
	}
	if err := o.Abandon(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{target, filepath.Join(dir, "target")} {
		if _, err := os.Lstat(name); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Abandon: %v", name, err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestEndSlowReader: once End has been called, a write into a FIFO whose
// reader reads, but takes longer than Grace to read it all (64 KiB every
// 100 ms, 1.25 MiB), is written whole: each stretch of Grace in which
// bytes move gives the write another. So are WriteString and ReadFrom
// (io.Copy, bufio.Writer.ReadFrom), which *os.File's would have written
// past the re-arming. A reader that reads nothing fails the next write
// with os.ErrDeadlineExceeded and nothing written.
func TestEndSlowReader(t *testing.T) {
	const size = 1<<20 + 1<<18
	writes := []struct {
		name  string
		write func(o *File) (int64, error)
	}{
		{"Write", func(o *File) (int64, error) {
			n, err := o.Write(make([]byte, size))
			return int64(n), err
		}},
		{"WriteString", func(o *File) (int64, error) {
			n, err := o.WriteString(string(make([]byte, size)))
			return int64(n), err
		}},
		{"ReadFrom", func(o *File) (int64, error) {
			// A reader with no WriteTo, as a network stream's.
			return o.ReadFrom(struct{ io.Reader }{bytes.NewReader(make([]byte, size))})
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			name := nmtest.FIFO(t)
			r, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			o, err := Open(name, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			if !o.Pollable() {
				t.Fatal("a FIFO on Linux is not pollable")
			}
			o.End()
			done := make(chan struct{})
			got := 0
			go func() {
				defer close(done)
				buf := make([]byte, 64<<10)
				for deadline := time.Now().Add(time.Minute); got < size && time.Now().Before(deadline); {
					time.Sleep(100 * time.Millisecond)
					n, err := r.Read(buf)
					got += n
					if err == io.EOF { // the writer gave up
						return
					}
					if err != nil && !errors.Is(err, syscall.EAGAIN) {
						t.Error(err)
						return
					}
				}
			}()
			if n, err := w.write(o); n != size || err != nil {
				o.Close() // the reader's next read ends
				<-done
				t.Fatalf("%s to a slow reader after End: %d, %v; want %d, nil", w.name, n, err, size)
			}
			<-done
			if w.name != "Write" {
				return
			}
			// The reader stops reading: the pipe fills and the write fails.
			n, err := o.Write(make([]byte, 1<<20))
			if !errors.Is(err, os.ErrDeadlineExceeded) || n >= 1<<20 {
				t.Errorf("Write to a reader that reads nothing after End: %d, %v; want os.ErrDeadlineExceeded", n, err)
			}
		})
	}
}

// A pipe named by its descriptor (/dev/stdout into `| wireshark -k -i -`,
// /proc/self/fd/N) is opened anew, non-blocking and polled, not
// duplicated: the duplicate would share the shell's blocking open, whose
// writes no deadline ends, and End would not cut a reader that reads
// nothing. The pipe's descriptor the process holds stays blocking. 10 s
// bounds a hang, not a speed.
func TestOpenOwnPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, dir := range []string{"/dev/fd/", "/proc/self/fd/"} {
		o, err := Open(dir+itoa(int(w.Fd())), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Begin(context.Background()); err != nil {
			t.Fatal(err)
		}
		o.End()
		done := make(chan error, 1)
		go func() {
			_, err := o.Write(make([]byte, 1<<20)) // more than the pipe holds
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s: a write after End that the reader does not read: %v, want os.ErrDeadlineExceeded", dir, err)
			}
		case <-time.After(10 * time.Second):
			go io.Copy(io.Discard, r)
			t.Fatalf("%s: End does not cut a write into a pipe whose reader reads nothing; once it read: %v", dir, <-done)
		}
		o.Close()
		if nonblocking(t, w) {
			t.Errorf("%s: the process's own descriptor of the pipe was made non-blocking", dir)
		}
		// Empty the pipe for the next round.
		if err := r.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err == nil {
			io.Copy(io.Discard, r)
		}
	}
}

// A Unix socket's name fails Open and Wait with ENXIO, as an open of a
// socket does: it is not a FIFO with no reader yet, for which Wait would
// wait until its context ended ("no reader of the FIFO").
func TestOpenUnixSocket(t *testing.T) {
	name := filepath.Join(t.TempDir(), "sock")
	l, err := net.Listen("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if o, err := Open(name, 0o644); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("Open of a Unix socket: %v, %v; want ENXIO", o, err)
	}

	// A FIFO with no reader at Open, a socket by the time Wait looks.
	fifo := nmtest.FIFO(t)
	o, err := Open(fifo, 0o644)
	if err != nil || o.File != nil {
		t.Fatalf("Open of a FIFO with no reader: %v, %v", o, err)
	}
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	l2, err := net.Listen("unix", fifo)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hang, not a speed
	defer cancel()
	if err := o.Wait(ctx); !errors.Is(err, syscall.ENXIO) {
		t.Errorf("Wait for a FIFO that became a Unix socket: %v, want ENXIO", err)
	}
}

// A pipe on a descriptor that cannot be opened anew through /proc/self/fd
// (another user's pipe: EACCES; no /proc: ENOENT) is still an output: the
// process's own descriptor, duplicated, as before the reopen.
func TestOpenOwnPipeNoReopen(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	defer func(f func(string, bool, fs.FileMode) (*os.File, error)) { openProcFD = f }(openProcFD)
	openProcFD = func(name string, _ bool, _ fs.FileMode) (*os.File, error) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	o, err := Open("/dev/fd/"+itoa(int(w.Fd())), 0o644)
	if err != nil {
		t.Fatalf("a pipe that cannot be opened anew: %v, want its duplicate", err)
	}
	defer o.Close()
	if err := o.Begin(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(r, b); err != nil || b[0] != 'x' {
		t.Fatalf("read %q, %v; want what was written", b, err)
	}
}
