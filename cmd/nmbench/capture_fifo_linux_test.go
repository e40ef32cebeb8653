//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// TestCaptureFIFOInterrupted: vrx -i pcap:FIFO with no writer waits in
// Listen's open of the FIFO, and with a writer that writes nothing in its
// read of the file header; a cancelled context (a signal, -t) ends either
// wait with an error that says so, and leaves no reader of the FIFO
// behind. A writer opened (or closed) after unsticks a run that does not
// end: the minute's bound is no timing assertion, only a way out of a
// hang.
func TestCaptureFIFOInterrupted(t *testing.T) {
	for _, writer := range []bool{false, true} {
		t.Run(map[bool]string{false: "no-writer", true: "silent-writer"}[writer], func(t *testing.T) {
			fifo := nmtest.FIFO(t)
			code, stderr := interruptCaptureWait(t, fifo, writer, "-i", "pcap:"+fifo)
			want := "nmbench: -i pcap:" + fifo + ": interrupted while waiting for its capture header\n"
			if code != 1 || stderr != want {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
			}
			// -t ends the wait too, its error naming it.
			code, stderr = interruptCaptureWait(t, fifo, writer, "-i", "pcap:"+fifo, "-t", "20ms")
			want = "nmbench: -i pcap:" + fifo + ": no capture header within -t 20ms\n"
			if code != 1 || stderr != want {
				t.Errorf("-t 20ms: exit %d, stderr %q; want 1 and %q", code, stderr, want)
			}
		})
	}
}

// TestCaptureFIFOSecondInterrupted: a FIFO given as the second -i (ST
// 2022-7's second path) is waited for as the first is, after a UDP port
// or a capture read whole; the error names the FIFO, not the other path.
func TestCaptureFIFOSecondInterrupted(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.pcap")
	var errb bytes.Buffer
	if code := cli(context.Background(), []string{"-i", "pcap:" + good, "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-q"}, io.Discard, &errb); code != 0 {
		t.Fatalf("vtx: exit %d, %s", code, errb.String())
	}
	for _, first := range []string{"udp", "pcap"} {
		t.Run(first, func(t *testing.T) {
			p := "udp:127.0.0.1:" + strconv.Itoa(freePorts(t, 1))
			if first == "pcap" {
				p = "pcap:" + good
			}
			fifo := nmtest.FIFO(t)
			code, stderr := interruptCaptureWait(t, fifo, false, "-i", p, "-i", "pcap:"+fifo)
			want := "nmbench: -i pcap:" + fifo + ": interrupted while waiting for its capture header\n"
			if code != 1 || stderr != want {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
			}
		})
	}
}

// TestCaptureFIFOSecondOfTwoInterrupted: with two FIFOs, the first's
// header already written, vrx waits for the second's, and its error names
// the second (not the first FIFO, the first -i that is no regular file).
func TestCaptureFIFOSecondOfTwoInterrupted(t *testing.T) {
	first := nmtest.FIFO(t)
	w, err := os.OpenFile(first, os.O_RDWR, 0) // read-write: waits for no reader
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := packet.NewPcapWriterNanos(w, 0); err != nil { // in the pipe's buffer
		t.Fatal(err)
	}
	fifo := nmtest.FIFO(t)
	code, stderr := interruptCaptureWait(t, fifo, false, "-i", "pcap:"+first, "-i", "pcap:"+fifo)
	want := "nmbench: -i pcap:" + fifo + ": interrupted while waiting for its capture header\n"
	if code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

// TestAbandonListen: abandonListen (listenCapture outside Linux, where
// the open of a FIFO waits for its writer and no context ends it) returns
// when its context ends, with an error that names the capture and wraps
// ctx.Err(), while the listen it runs still waits; here st2110.Listen,
// which no context ends, in the wait for a FIFO's writer. Once a writer
// has written the capture's header, the Receiver the abandoned Listen gets
// is closed (no reader of the FIFO is left). A hang is failed after 10 s,
// a bound, not a speed.
func TestAbandonListen(t *testing.T) {
	fifo := nmtest.FIFO(t)
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 64, Height: 32,
		Scan: video.Progressive, Rate: video.Rate50}
	sess := &video.Session{Name: "test", Origin: netip.MustParseAddr("10.0.0.1"),
		Streams: []video.Stream{{Format: f, PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.1:5004")}}}
	listen := func(_ context.Context, name string, sess *video.Session, lc *st2110.ListenConfig) (*st2110.Receiver, error) {
		return st2110.Listen(name, sess, lc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		rx, err := abandonListen(ctx, "pcap:"+fifo, sess, nil, listen)
		if err == nil {
			rx.Close()
		}
		errc <- err
	}()
	waitOpened(t, fifo)
	cancel()
	var w *os.File
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	openWriter := func() {
		var err error
		if w, err = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || err.Error() != "st2110: listen pcap:"+fifo+": context canceled" {
			t.Fatalf("abandonListen: %v, want an error naming the capture and wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		openWriter()
		w.Close()
		t.Fatalf("abandonListen still waits after its context ended; once the writer had gone: %v", <-errc)
	}
	openWriter()
	if _, err := packet.NewPcapWriterNanos(w, 0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		w2, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if errors.Is(err, syscall.ENXIO) {
			break // no reader: the Receiver was closed
		}
		if err != nil {
			t.Fatal(err)
		}
		w2.Close()
		if time.Now().After(deadline) {
			t.Fatal("the abandoned Listen's Receiver still reads the FIFO after 10 s")
		}
	}
}

// interruptCaptureWait runs vrx with the flags in, one of them -i
// pcap:fifo, cancels its context (unless in has a -t, left to end the
// wait) while it waits for fifo (in its open, or with writer in its read
// of the header), and returns its exit code and stderr. Once vrx has
// ended, no reader of fifo is left (the wait was released, not
// abandoned). A writer opened (or closed) after unsticks a run that does
// not end: the minute's bound is no timing assertion, only a way out of a
// hang.
func interruptCaptureWait(t *testing.T, fifo string, writer bool, in ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(ctx, append(in, "-f", "vrx", "-fmt", fmt64x32, "-q"), io.Discard, &errb)
	}()
	// An open for writing without blocking succeeds once a reader is
	// there (and lets its open return).
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
		waitOpened(t, fifo) // the reader waits for a writer
	}
	if !slices.Contains(in, "-t") {
		cancel()
	}
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
	if w != nil {
		w.Close()
	}
	// No reader is left: an open for writing finds none.
	if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); !errors.Is(err, syscall.ENXIO) {
		if err == nil {
			w.Close() // and lets a Listen left waiting in its open go on
		}
		t.Errorf("an open for writing once vrx had ended: %v, want ENXIO (no reader left)", err)
	}
	return code, errb.String()
}

// waitOpened waits until this process has fifo open (a look in
// /proc/self/fd, which takes no writer's place). A hang is failed after
// 10 s, a bound, not a speed.
func waitOpened(t *testing.T, fifo string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range fds {
			if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && l == fifo {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not opened after 10 s", fifo)
		}
	}
}

// TestCaptureFIFOBadFiles: a file vrx cannot read whole gets the same
// error from a FIFO (or the pipe of a shell's <(...)) as from a regular
// file: one wording, Listen's, for either.
func TestCaptureFIFOBadFiles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range badCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			run := func(name string) (int, string) {
				var errb bytes.Buffer
				code := cli(context.Background(), []string{"-i", "pcap:" + name, "-f", "vrx", "-fmt", fmt64x32, "-q"}, io.Discard, &errb)
				return code, strings.ReplaceAll(errb.String(), name, "FILE")
			}
			file := filepath.Join(dir, c.name)
			if err := os.WriteFile(file, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			fifo := filepath.Join(dir, c.name+".fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			go func() {
				w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the reader
				if err != nil {
					return
				}
				w.Write(c.data) // an error (the reader gone) is the reader's to tell
				w.Close()
			}()
			fcode, fifoErr := run(fifo)
			code, fileErr := run(file)
			if fcode != code || fifoErr != fileErr {
				t.Errorf("a FIFO: exit %d, %q; a regular file: exit %d, %q", fcode, fifoErr, code, fileErr)
			}
		})
	}
}

// TestOutputFIFONoReader: an output that is a FIFO with no reader is
// waited for, once the port is open, as a writer of a FIFO waits; a
// cancelled context (a signal) or -t ends the wait with an error that
// says so, for nmbench's own outputs and for vtx's capture (st2110's
// Run waits). A reader opened after a minute unsticks a run that does
// not end: no timing assertion, only a way out of a hang.
func TestOutputFIFONoReader(t *testing.T) {
	tx := func() []string {
		return []string{"-i", "udp:127.0.0.1:" + freeUDPPort(t), "-f", "tx", "-n", "1", "-q"}
	}
	for _, c := range []struct {
		name string
		args func(fifo string) []string
		err  string // of a cancelled context; "" if as of -t
		errT string // of -t 20ms
	}{
		{"-cpuprofile", func(fifo string) []string { return append(tx(), "-cpuprofile", fifo) },
			"-cpuprofile: FIFO: interrupted while waiting for a reader of the FIFO",
			"-cpuprofile: FIFO: no reader of the FIFO within -t 20ms"},
		{"-sdp-out", func(fifo string) []string {
			return []string{"-i", "pcap:" + filepath.Join(filepath.Dir(fifo), "v.pcap"), "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-q", "-sdp-out", fifo}
		},
			"-sdp-out: FIFO: interrupted while waiting for a reader of the FIFO",
			"-sdp-out: FIFO: no reader of the FIFO within -t 20ms"},
		{"vtx's capture", func(fifo string) []string {
			return []string{"-i", "pcap:" + fifo, "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-q"}
		},
			"st2110: send pcap:FIFO: FIFO: no reader opened the FIFO: context canceled",
			"st2110: send pcap:FIFO: FIFO: no reader opened the FIFO: context canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, withT := range []bool{false, true} {
				fifo := nmtest.FIFO(t)
				args, want := c.args(fifo), c.err
				if withT {
					args, want = append(args, "-t", "20ms"), c.errT
				}
				code, _, stderr := runFIFOOutput(t, fifo, !withT, args...)
				if stderr = strings.ReplaceAll(stderr, fifo, "FIFO"); code != 1 || stderr != "nmbench: "+want+"\n" {
					t.Errorf("-t %v: exit %d, stderr %q; want 1 and %q", withT, code, stderr, want)
				}
			}
		})
	}
}

// TestOutputFIFOReaderGone: an output that is a FIFO whose reader goes
// away ends the run with the write's error (EPIPE), for nmbench's own
// outputs (vrx's -out, -cpuprofile, whose writes pprof does not check)
// and for vtx's capture: the run holds no read end of the FIFO, which
// would have kept its writes blocked for ever once the pipe was full,
// deaf to -t and signals.
func TestOutputFIFOReaderGone(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "100")
	for _, c := range []struct {
		name string
		args func(fifo string) []string
		err  string
	}{
		// 100 frames of 5120 octets.
		{"vrx -out", func(fifo string) []string {
			return []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-q", "-json", "-out", fifo}
		}, "nmbench: -out: write FIFO: broken pipe\n"},
		{"-cpuprofile", func(fifo string) []string {
			return []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-q", "-cpuprofile", fifo}
		}, "nmbench: -cpuprofile: write FIFO: broken pipe\n"},
		// Two 720p frames: some 5 MB, more than the pipe and the
		// capture's buffer hold.
		{"vtx's capture", func(fifo string) []string {
			return []string{"-i", "pcap:" + fifo, "-f", "vtx", "-fmt", fmt720p, "-frames", "2", "-q"}
		}, "nmbench: st2110: send pcap:FIFO: write FIFO: broken pipe\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fifo := nmtest.FIFO(t)
			// The reader is there before the run, and goes away as soon
			// as the run has opened the FIFO for writing: a read that
			// finds no writer returns 0 (EOF), one that finds a writer
			// and no data EAGAIN.
			r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := r.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			// A pipe of one page, and a read of one octet: the first
			// frame (5120 octets) cannot all go in before the reader
			// has gone, however the two run, so that no frame is
			// written whole (not a matter of timing).
			var errno syscall.Errno
			if err := rc.Control(func(fd uintptr) {
				_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETPIPE_SZ, 4096)
			}); err != nil || errno != 0 {
				t.Fatal(err, errno)
			}
			go func() {
				defer r.Close()
				buf := make([]byte, 1)
				for {
					var n int
					var rerr error
					if err := rc.Control(func(fd uintptr) { n, rerr = syscall.Read(int(fd), buf) }); err != nil {
						return
					}
					if n != 0 || rerr != nil {
						return // a writer: data, or EAGAIN
					}
					time.Sleep(time.Millisecond)
				}
			}()
			args := c.args(fifo)
			code, stdout, stderr := runFIFOOutput(t, fifo, false, args...)
			if stderr = strings.ReplaceAll(stderr, fifo, "FIFO"); code != 1 || stderr != c.err {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, c.err)
			}
			if slices.Contains(args, "-json") {
				// vrx stops at the write that failed: it takes no
				// frame it cannot write.
				lines := strings.Split(strings.TrimSpace(stdout), "\n")
				var r videoReport
				if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || r.Frames != 0 {
					t.Errorf("final report %q (%v): want 0 frames taken", lines[len(lines)-1], err)
				}
			}
		})
	}
}

// runFIFOOutput runs nmbench with args, one of whose outputs is fifo,
// cancelling its context at once if cancel, and returns its exit code,
// stdout and stderr. A run not ended after a minute gets a reader of fifo that reads
// it all, which unsticks it: no timing assertion, only a way out of a
// hang.
func runFIFOOutput(t *testing.T, fifo string, cancel bool, args ...string) (int, string, string) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if cancel {
		stop()
	}
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- cli(ctx, args, &out, &errb) }()
	select {
	case code := <-done:
		return code, out.String(), errb.String()
	case <-time.After(time.Minute):
	}
	r := nmtest.FIFOReader(t, fifo)
	go io.Copy(io.Discard, r)
	code := <-done
	t.Fatalf("not ended after a minute; once a reader came: exit %d, %s", code, errb.String())
	return 0, "", ""
}

// TestCaptureOutputFIFONoReader: vtx into a FIFO whose reader keeps it
// open but reads nothing ends at -t (its writes waited for room, deaf
// to -t and signals) and says that the capture was cut. A minute bounds
// a hang: no timing assertion.
func TestCaptureOutputFIFONoReader(t *testing.T) {
	fifo := nmtest.FIFO(t)
	r := nmtest.FIFOReader(t, fifo) // reads nothing
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "pcap:" + fifo, "-f", "vtx", "-fmt", fmt64x32, "-frames", "1000000", "-t", "20ms", "-q"}, io.Discard, &errb)
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(time.Minute):
		go io.Copy(io.Discard, r)
		t.Fatalf("vtx waited for the reader of its FIFO past -t; once it read: exit %d, %s", <-done, errb.String())
	}
	if want := "nmbench: st2110: " + fifo + ": capture cut: "; code != 1 || !strings.HasPrefix(errb.String(), want) {
		t.Errorf("exit %d, %q; want 1 and %q...", code, errb.String(), want)
	}
}

// TestOutputFIFONoRead: vrx's -out into a FIFO whose reader keeps it
// open but reads nothing ends at -t with an error that says so (the
// write waited for room, deaf to -t and signals). A minute bounds a
// hang: no timing assertion.
func TestOutputFIFONoRead(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	// 100 frames of 5120 octets: more than the pipe holds.
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "100")
	fifo := nmtest.FIFO(t)
	r := nmtest.FIFOReader(t, fifo) // reads nothing
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-q", "-t", "200ms", "-out", fifo}, io.Discard, &errb)
	}()
	var code int
	select {
	case code = <-done:
	case <-time.After(time.Minute):
		go io.Copy(io.Discard, r)
		t.Fatalf("vrx waited for the reader of its -out FIFO past -t; once it read: exit %d, %s", <-done, errb.String())
	}
	want := "nmbench: -out: the FIFO's reader read nothing for 1s after the end of the run: write FIFO: i/o timeout\n"
	if got := strings.ReplaceAll(errb.String(), fifo, "FIFO"); code != 1 || got != want {
		t.Errorf("exit %d, %q; want 1 and %q", code, got, want)
	}
}

// TestOutputsWaitBeforeEmpty: vrx's -out of two streams, X.0 a file that
// exists and X.1 a FIFO whose reader does not come by -t: the run fails,
// and X.0 is left as it was, for every FIFO's reader is waited for
// before any file is emptied.
func TestOutputsWaitBeforeEmpty(t *testing.T) {
	dir := t.TempDir()
	pc, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "x")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-streams", "2")
	want := []byte("an earlier file")
	if err := os.WriteFile(out+".0", want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(out+".1", 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runFIFOOutput(t, out+".1", false, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", fmt64x32, "-streams", "2", "-q", "-t", "20ms", "-out", out)
	if want := "nmbench: -out: X.1: no reader of the FIFO within -t 20ms\n"; code != 1 || strings.ReplaceAll(stderr, out, "X") != want {
		t.Errorf("exit %d, %q; want 1 and %q", code, stderr, want)
	}
	if got, err := os.ReadFile(out + ".0"); err != nil || !bytes.Equal(got, want) {
		t.Errorf("X.0 holds %q (%v), not %q", got, err, want)
	}
}

// TestCaptureOutputFIFOSlowReader: vtx into a FIFO whose reader reads,
// but slower than vtx writes (64 KiB every 5 ms; any live Wireshark or
// ffmpeg), is not cut at -t: the reader gets the rest, vtx exits 0, and
// the capture read back is whole. Only a reader that reads nothing is
// cut (TestCaptureOutputFIFONoReader). A minute bounds a hang.
func TestCaptureOutputFIFOSlowReader(t *testing.T) {
	fifo := nmtest.FIFO(t)
	r := nmtest.FIFOReader(t, fifo)
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "pcap:" + fifo, "-f", "vtx", "-fmt", fmt64x32, "-frames", "1000000", "-t", "300ms", "-q"}, io.Discard, &errb)
	}()
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	eof := false
	for deadline := time.Now().Add(time.Minute); !eof && time.Now().Before(deadline); {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		switch {
		case err == io.EOF && got.Len() > 0: // the writer closed it
			eof = true
		case err != nil && err != io.EOF && !errors.Is(err, syscall.EAGAIN):
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !eof {
		t.Fatalf("vtx did not close its FIFO within a minute; %d octets read", got.Len())
	}
	if code := <-done; code != 0 {
		t.Errorf("exit %d, %s; want 0 (the reader read it all)", code, errb.String())
	}
	pr, err := packet.NewPcapReader(bytes.NewReader(got.Bytes()))
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
			t.Fatalf("the capture read back (%d octets), packet %d: %v", got.Len(), n, err)
		}
		n++
	}
	if got.Len() <= 1<<20 || n == 0 {
		t.Errorf("the capture read back: %d octets, %d packets; want more than the 1 MiB vtx buffers", got.Len(), n)
	}
}

// TestOutputFIFOSlowRead: vrx's -out into a FIFO whose reader reads, but
// slower than vrx writes (4 KiB every 5 ms), is not cut at -t: the frame
// being written when -t ends is written whole, and vrx exits 0. Only a
// reader that reads nothing is cut (TestOutputFIFONoRead). A minute
// bounds a hang.
func TestOutputFIFOSlowRead(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	// 100 frames of 5120 octets: more than the pipe holds, and more
	// than the reader reads in -t.
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "100")
	fifo := nmtest.FIFO(t)
	r := nmtest.FIFOReader(t, fifo)
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli(context.Background(), []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-q", "-t", "100ms", "-out", fifo}, io.Discard, &errb)
	}()
	var got int
	buf := make([]byte, 4<<10)
	eof := false
	for deadline := time.Now().Add(time.Minute); !eof && time.Now().Before(deadline); {
		n, err := r.Read(buf)
		got += n
		switch {
		case err == io.EOF && got > 0: // the writer closed it
			eof = true
		case err != nil && err != io.EOF && !errors.Is(err, syscall.EAGAIN):
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !eof {
		t.Fatalf("vrx did not close its -out FIFO within a minute; %d octets read", got)
	}
	if code := <-done; code != 0 {
		t.Errorf("exit %d, %s; want 0 (the reader read it all)", code, errb.String())
	}
	if got == 0 || got%5120 != 0 {
		t.Errorf("-out read back: %d octets, want whole frames of 5120", got)
	}
}

// TestOutputFIFOEndByCount: a run that ends by itself (-frames) with a
// -cpuprofile FIFO whose reader keeps it open but reads nothing (the
// pipe full before the run begins: the profile, written at the end,
// waits for room) ends: its outputs are ended with the run, not only by
// -t or a signal, which never came. It fails, exit 1, saying that the
// FIFO's reader read nothing. A minute bounds a hang: no timing
// assertion.
func TestOutputFIFOEndByCount(t *testing.T) {
	dir := t.TempDir()
	pc := filepath.Join(dir, "in.pcap")
	runCLI(t, context.Background(), "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "10")
	fifo := nmtest.FIFO(t)
	nmtest.FIFOReader(t, fifo) // reads nothing
	// Fill the pipe, then let go of the writer: what it wrote stays.
	w, err := syscall.Open(fifo, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := syscall.Write(w, make([]byte, 4096)); err != nil {
			break
		}
	}
	syscall.Close(w)
	code, _, stderr := runFIFOOutput(t, fifo, false, "-i", "pcap:"+pc, "-f", "vrx", "-fmt", fmt64x32, "-q", "-frames", "10", "-cpuprofile", fifo)
	want := "nmbench: -cpuprofile: the FIFO's reader read nothing for 1s after the end of the run: write FIFO: i/o timeout\n"
	if got := strings.ReplaceAll(stderr, fifo, "FIFO"); code != 1 || got != want {
		t.Errorf("exit %d, %q; want 1 and %q", code, got, want)
	}
}
