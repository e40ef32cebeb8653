//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stdoutPipe returns the two ends of a pipe for cli's stdout: blocking,
// as nmbench gets the shell's (outside the runtime's poller: a write of
// a full pipe waits in the kernel, and no deadline ends it), or, if
// polled, os.Pipe's, in the poller. The read end is closed when t ends,
// which fails a write still waiting (EPIPE) and ends its goroutine.
func stdoutPipe(t *testing.T, polled bool) (r, w *os.File) {
	t.Helper()
	if polled {
		var err error
		if r, w, err = os.Pipe(); err != nil {
			t.Fatal(err)
		}
	} else {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		r, w = os.NewFile(uintptr(p[0]), "|r"), os.NewFile(uintptr(p[1]), "|w")
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	return r, w
}

// fillPipe fills the pipe whose write end is w, as a reader that has
// stopped reading leaves it: through an open of its own, non-blocking,
// so that w's descriptor is left as it was.
func fillPipe(t *testing.T, w *os.File) {
	t.Helper()
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	if err := rc.Control(func(d uintptr) { fd = int(d) }); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	if err := fc.Control(func(d uintptr) {
		for werr == nil {
			_, werr = syscall.Write(int(d), make([]byte, 4096))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(werr, syscall.EAGAIN) {
		t.Fatal(werr)
	}
}

// TestStdoutStalled: reports to a stdout whose reader reads nothing (a
// pipe full before the run: `nmbench ... | consumer` whose consumer
// stalled) keep no run from ending, by -frames, -t or a signal: the
// interval reports are queued or dropped, not waited for, and the final
// report's write is given up once the reader has read nothing for
// outfile.Grace after the end of the run, exit 1 with an error that
// says so. Before, a write waited in the kernel until the reader read
// or went away, deaf to -t and signals. A run not ended after 30 s
// fails: no timing assertion, only a way out of a hang.
func TestStdoutStalled(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "10")
	for _, c := range []struct {
		name   string
		args   func(t *testing.T) []string
		cancel bool // the run ends by its context (a signal)
	}{
		{"vrx -frames", func(t *testing.T) []string {
			return []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-frames", "10"}
		}, false},
		{"tx -t", func(t *testing.T) []string {
			return []string{"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "tx", "-t", "300ms", "-T", "10ms"}
		}, false},
		{"tx signal", func(t *testing.T) []string {
			return []string{"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "tx", "-T", "10ms", "-json"}
		}, true},
	} {
		for _, polled := range []bool{false, true} {
			t.Run(c.name+"/polled="+strconv.FormatBool(polled), func(t *testing.T) {
				t.Parallel()
				r, w := stdoutPipe(t, polled)
				fillPipe(t, w)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if c.cancel {
					time.AfterFunc(300*time.Millisecond, cancel)
				}
				args := c.args(t)
				var errb bytes.Buffer
				done := make(chan int, 1)
				go func() { done <- cli(ctx, args, w, &errb) }()
				var code int
				select {
				case code = <-done:
				case <-time.After(30 * time.Second):
					r.Close() // the write waiting fails (EPIPE)
					t.Fatalf("not ended 30 s after it began; once the reader went away: exit %d, %q", <-done, errb.String())
				}
				want := "nmbench: stdout: its reader read nothing for 1s after the end of the run: the report was not written whole\n"
				if code != 1 || errb.String() != want {
					t.Errorf("exit %d, %q; want 1 and %q", code, errb.String(), want)
				}
			})
		}
	}
}

// TestStderrStalled: a stderr that is the stalled pipe of stdout too
// (2>&1) is given outfile.Grace to take the error, and nmbench exits 1
// without it. A run not ended after 30 s fails.
func TestStderrStalled(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "10")
	r, w := stdoutPipe(t, false)
	fillPipe(t, w)
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-frames", "10"}, w, w)
	}()
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("exit %d; want 1", code)
		}
	case <-time.After(30 * time.Second):
		r.Close()
		t.Fatalf("not ended 30 s after it began; once the reader went away: exit %d", <-done)
	}
}

// TestStdoutPipeRead: reports to a pipe whose reader reads are written
// whole and in order, every interval report and the final one, and the
// run exits 0 with nothing on stderr, as before.
func TestStdoutPipeRead(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "10")
	port := freeUDPPort(t)
	for _, args := range [][]string{
		{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-frames", "10", "-json"},
		{"-i", "udp:127.0.0.1:" + port, "-f", "tx", "-t", "300ms", "-T", "10ms", "-json"},
	} {
		r, w := stdoutPipe(t, false)
		read := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(r)
			read <- b
		}()
		var errb bytes.Buffer
		code := cli(context.Background(), args, w, &errb)
		w.Close()
		out := <-read
		if code != 0 || errb.Len() != 0 {
			t.Errorf("%q: exit %d, %q; want 0 and nothing", args, code, errb.String())
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		for i, l := range lines {
			var rep struct{ Final *bool }
			if err := json.Unmarshal([]byte(l), &rep); err != nil || rep.Final == nil || *rep.Final != (i == len(lines)-1) {
				t.Errorf("%q: line %d of %d, %q: %v", args, i+1, len(lines), l, err)
			}
		}
		if args[3] == "tx" && len(lines) < 10 {
			t.Errorf("%q: %d lines; want the interval reports of 300ms at 10ms", args, len(lines))
		}
	}
}
