//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/signal"
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

// endBySignal sends sig to the test process and returns done's status
// (cli's), as a user's Ctrl-C or kill reaches nmbench while it waits for
// a stalled reader (waiter): once, or, with repeat, every 50 ms until
// done comes, for a cli that may not yet watch the signals (one just
// started). A signal.Notify of the test's own keeps sig from ending the
// test binary, and each signal is sent only once the one before has
// been delivered, so that none is left in flight once it returns. After
// 20 s it closes r, which fails a write that waits (EPIPE), and fails
// the test: a way out of a hang, no timing assertion.
func endBySignal(t *testing.T, sig syscall.Signal, done <-chan int, r *os.File, repeat bool) int {
	t.Helper()
	c := make(chan os.Signal, 1)
	signal.Notify(c, sig)
	defer signal.Stop(c)
	safety := time.After(20 * time.Second)
	for sent := false; ; sent = true {
		if !sent || repeat {
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			<-c // delivered, to every channel notified of sig
		}
		select {
		case code := <-done:
			return code
		case <-time.After(50 * time.Millisecond):
		case <-safety:
			r.Close()
			t.Fatalf("not ended 20 s after the first %v; once the reader went away: exit %d", sig, <-done)
		}
	}
}

// notEnded fails the test if done (cli's status) comes within d: cli
// was to wait for a reader for as long as it takes.
func notEnded(t *testing.T, done <-chan int, d time.Duration, what string) {
	t.Helper()
	select {
	case code := <-done:
		t.Fatalf("%s: ended (exit %d) with no signal, the reader not read", what, code)
	case <-time.After(d):
	}
}

// TestStdoutStalled: reports to a stdout whose reader reads nothing (a
// pipe full before the run: `nmbench ... | consumer` whose consumer
// stalled) keep no run from ending, by -frames, -t or its context (the
// first signal): the interval reports are queued or dropped, not waited
// for. The final report is waited for with no time bound (a pager, a
// late reader: before, 1 s of a reader that read nothing ended nmbench
// without it, exit 1), until a signal arrives as it waits (SIGINT or
// SIGTERM; before the fix, the first signal's NotifyContext kept
// swallowing them): exit 1 and a message that says so.
func TestStdoutStalled(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "10")
	for _, c := range []struct {
		name   string
		args   func(t *testing.T) []string
		polled bool
		cancel bool // the run ends by its context (the first signal)
		sig    syscall.Signal
	}{
		{"vrx -frames", func(t *testing.T) []string {
			return []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-frames", "10"}
		}, false, false, syscall.SIGTERM},
		{"tx -t", func(t *testing.T) []string {
			return []string{"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "tx", "-t", "300ms", "-T", "10ms"}
		}, true, false, syscall.SIGINT},
		{"tx signal", func(t *testing.T) []string {
			return []string{"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "tx", "-T", "10ms", "-json"}
		}, false, true, syscall.SIGTERM},
	} {
		// Not parallel: the signals are the process's.
		t.Run(c.name, func(t *testing.T) {
			r, w := stdoutPipe(t, c.polled)
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
			notEnded(t, done, 2500*time.Millisecond, "the final report's wait")
			code := endBySignal(t, c.sig, done, r, false)
			want := "nmbench: stdout: a signal ended the wait for its reader after the end of the run: the report was not written whole\n"
			if code != 1 || errb.String() != want {
				t.Errorf("exit %d, %q; want 1 and %q", code, errb.String(), want)
			}
		})
	}
}

// TestStdoutTwoSignals: a run that a first signal ends, its stdout
// stalled, ends by a second signal sent right after the first (Ctrl-C
// twice), one that arrives while the run winds down, before the final
// report's wait begins: exit 1 with
// the message, and no third signal is needed. Before the fix, main's
// signal.NotifyContext (here the test's own, as main's) took the second
// and nmbench waited for a third, for ever.
func TestStdoutTwoSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		// Not parallel: the signals are the process's.
		t.Run(sig.String(), func(t *testing.T) {
			r, w := stdoutPipe(t, false)
			fillPipe(t, w)
			ctx, stop := signal.NotifyContext(context.Background(), sig)
			defer stop()
			c := make(chan os.Signal, 2)
			signal.Notify(c, sig)
			defer signal.Stop(c)
			args := []string{"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "tx", "-T", "10ms", "-json"}
			var errb bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- cli(ctx, args, w, &errb) }()
			notEnded(t, done, time.Second, "the run") // and cli watches the signals
			for range 2 {
				if err := syscall.Kill(os.Getpid(), sig); err != nil {
					t.Fatal(err)
				}
				// Delivered (two signals sent at once may be
				// delivered as one), and none left in flight.
				<-c
			}
			var code int
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				r.Close()
				t.Fatalf("not ended 20 s after two signals; once the reader went away: exit %d, %q", <-done, errb.String())
			}
			want := "nmbench: stdout: a signal ended the wait for its reader after the end of the run: the report was not written whole\n"
			if code != 1 || errb.String() != want {
				t.Errorf("exit %d, %q; want 1 and %q", code, errb.String(), want)
			}
		})
	}
}

// TestStderrStalled: a stderr whose reader reads nothing waits as the
// final report does, until a signal: stdout's stalled pipe too (2>&1),
// whose message, after the signal, is given outfile.Grace and left out
// (exit 1), and before the run, a usage error (exit 2) or -h (exit 1:
// its text was cut), which waited in the kernel for ever, deaf to
// signals.
func TestStderrStalled(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "10")
	for _, c := range []struct {
		name  string
		args  []string
		both  bool // stdout is the stalled pipe too
		check bool // it must not end without a signal
		want  int
	}{
		{"2>&1", nil, true, true, 1},
		{"usage", []string{"-bogus"}, false, false, 2},
		{"-h", []string{"-h"}, false, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if args == nil {
				args = []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-frames", "10"}
			}
			r, w := stdoutPipe(t, false)
			fillPipe(t, w)
			var stdout io.Writer = new(bytes.Buffer)
			if c.both {
				stdout = w
			}
			done := make(chan int, 1)
			go func() { done <- cli(context.Background(), args, stdout, w) }()
			if c.check {
				notEnded(t, done, 3*time.Second, "the final report's and the message's waits")
			}
			// A single signal where cli waits already; else again
			// and again, until cli watches them.
			if code := endBySignal(t, syscall.SIGTERM, done, r, !c.check); code != c.want {
				t.Errorf("exit %d; want %d", code, c.want)
			}
		})
	}
}

// TestStderrPipeRead: what nmbench writes to a stderr that is a pipe
// whose reader reads (errOut) is what it writes to any other, byte for
// byte.
func TestStderrPipeRead(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"-bogus"}, {"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "nonesuch"}} {
		var want bytes.Buffer
		wcode := cli(context.Background(), args, io.Discard, &want)
		r, w := stdoutPipe(t, false)
		read := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(r)
			read <- b
		}()
		code := cli(context.Background(), args, io.Discard, w)
		w.Close()
		if got := <-read; code != wcode || !bytes.Equal(got, want.Bytes()) || want.Len() == 0 {
			t.Errorf("%q: exit %d, %d octets on a pipe; want %d and the %d octets written to a buffer", args, code, len(got), wcode, want.Len())
		}
	}
}

// pipeSize makes the pipe whose write end is w as small as it goes (a
// page, or two), so that a slow reader's test need not read 64 KiB.
func pipeSize(t *testing.T, w *os.File) {
	t.Helper()
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	const fSetPipeSz = 1031 // F_SETPIPE_SZ, which package syscall lacks
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, 4096)
	}); err != nil || errno != 0 {
		t.Fatal(err, errno)
	}
}

// readJSONReports checks that out is whole JSON reports, one a line,
// the last, and only the last, final.
func readJSONReports(t *testing.T, out []byte) int {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, l := range lines {
		var rep struct{ Final *bool }
		if err := json.Unmarshal([]byte(l), &rep); err != nil || rep.Final == nil || *rep.Final != (i == len(lines)-1) {
			t.Errorf("line %d of %d, %q: %v", i+1, len(lines), l, err)
		}
	}
	return len(lines)
}

// TestStdoutSlowReader: a reader that reads slowly, 2 KiB every 0.7 s,
// from a pipe made as small as it goes and full (`| less` scrolled a
// line at a time), gets the final report, exit 0. Its progress is not
// seen for 1.4 s at a time: a blocking write returns only once the
// reader has emptied a page of the pipe. Before, a second without
// progress after the end of the run ended nmbench without the report,
// exit 1.
func TestStdoutSlowReader(t *testing.T) {
	readerGetsFinal(t, func(r, w *os.File, read chan<- []byte) {
		pipeSize(t, w)
		fillPipe(t, w)
		go func() {
			var got []byte
			b := make([]byte, 2048)
			for {
				time.Sleep(700 * time.Millisecond)
				n, err := r.Read(b)
				got = append(got, b[:n]...)
				if err != nil {
					read <- got
					return
				}
			}
		}()
	})
}

// TestStdoutLateReader: a reader that starts reading only 2 s after the
// start (`nmbench ... | (sleep 11; cat)`), a full pipe until then, gets
// the final report, exit 0. Before, it was given up on after a second.
func TestStdoutLateReader(t *testing.T) {
	readerGetsFinal(t, func(r, w *os.File, read chan<- []byte) {
		fillPipe(t, w)
		time.AfterFunc(2*time.Second, func() {
			b, _ := io.ReadAll(r)
			read <- b
		})
	})
}

// readerGetsFinal runs vrx -json on a capture into a stdout pipe whose
// reader reader starts (it sends what it read on read once the pipe is
// closed) and checks that the run exits 0, silent, and that the reader
// got the final report.
func readerGetsFinal(t *testing.T, reader func(r, w *os.File, read chan<- []byte)) {
	t.Helper()
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "10")
	r, w := stdoutPipe(t, false)
	read := make(chan []byte, 1)
	reader(r, w, read)
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-frames", "10", "-json"}, w, &errb)
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(60 * time.Second):
		r.Close()
		t.Fatalf("not ended 60 s after it began; once the reader went away: exit %d, %q", <-done, errb.String())
	}
	w.Close()
	out := <-read
	if code != 0 || errb.Len() != 0 {
		t.Errorf("exit %d, %q; want 0 and nothing", code, errb.String())
	}
	out = bytes.TrimLeft(out, "\x00") // fillPipe's
	if n := readJSONReports(t, out); n != 1 {
		t.Errorf("%d reports; want the final one", n)
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
		if n := readJSONReports(t, out); args[3] == "tx" && n < 10 {
			t.Errorf("%q: %d lines; want the interval reports of 300ms at 10ms", args, n)
		}
	}
}
