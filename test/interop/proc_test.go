package interop

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/porttest"
)

// proc is a running peer or nmbench process. Its output is kept to be shown
// when a test fails.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a
// process's stdout and stderr copiers and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// start starts a process. The test's cleanup kills it if it still runs and
// shows its command line and output if the test failed.
func start(t testing.TB, args ...string) *proc {
	t.Helper()
	p := &proc{name: args[0], cmd: exec.Command(args[0], args[1:]...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	t.Logf("run: %s", shellQuote(args))
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s (%v), last lines of its output:\n%s", shellQuote(args), p.err, tail(p.out.Bytes(), 25))
		}
	})
	return p
}

// wait waits up to d for the process to exit and fails the test if it
// does not, or exits with an error.
func (p *proc) wait(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not finish within %v (killed); last output:\n%s", p.name, d, tail(p.out.Bytes(), 15))
	}
	if p.err != nil {
		t.Fatalf("%s: %v; last output:\n%s", p.name, p.err, tail(p.out.Bytes(), 15))
	}
}

// interrupt sends SIGINT, which makes gst-launch-1.0 -e end the stream
// cleanly (EOS, files flushed), and waits for the exit like wait.
func (p *proc) interrupt(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	default:
		if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatalf("interrupt %s: %v", p.name, err)
		}
	}
	p.wait(t, d)
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// waitSize waits until the file name holds at least size octets, the
// process exits, or d passes, and returns the file's size.
func waitSize(p *proc, name string, size int64, d time.Duration) int64 {
	deadline := time.Now().Add(d)
	for {
		fi, err := os.Stat(name)
		if err == nil && fi.Size() >= size {
			return fi.Size()
		}
		if !p.running() || time.Now().After(deadline) {
			if err != nil {
				return -1
			}
			return fi.Size()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a UDP port p that was free a moment ago on every
// address, with p+1: a peer receiving RTP binds p+1 too, for RTCP
// (ffmpeg's SDP input fails if it cannot). Both are reserved for t until
// it ends (internal/porttest): no other test, of this process or of
// another using porttest, is handed them, and they lie below the
// ephemeral range. Before, p was a port of 127.0.0.1 the kernel had found
// free and the test closed before a peer bound it: the kernel could hand
// it to any other socket meanwhile, and two calls could return the same
// port (TestDupSDPToFFmpeg's two legs).
func freePort(t testing.TB) int {
	t.Helper()
	return int(porttest.UDP(t, 2))
}

// shellQuote renders a command line that can be pasted into a shell.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && !strings.ContainsAny(a, " \t\n\"'\\$`;&|<>()*?![]{}#~") {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// fileSize returns the size of name, or -1 if it cannot be read.
func fileSize(name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// rcvbufErrors returns the kernel's count of UDP datagrams dropped for a
// full receive buffer (RcvbufErrors in /proc/net/snmp), or -1 where there
// is none.
func rcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	n := snmpRcvbufErrors(b)
	if n >= 0 {
		if m := mcastRcvbufErrors(); m > 0 {
			n += m // the multicast tests' namespace
		}
	}
	return n
}

// snmpRcvbufErrors reads RcvbufErrors from /proc/net/snmp's Udp lines.
func snmpRcvbufErrors(b []byte) int64 {
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, name := range names {
			if name == "RcvbufErrors" && i < len(fields) {
				n, err := strconv.ParseInt(fields[i], 10, 64)
				if err != nil {
					return -1
				}
				return n
			}
		}
	}
	return -1
}

// logDrops logs, when t ends, how many UDP datagrams the kernel dropped
// for full receive buffers while it ran (on the whole host): the sign of a
// receiver that did not keep up.
func logDrops(t testing.TB) {
	before := rcvbufErrors()
	if before < 0 {
		return
	}
	t.Cleanup(func() {
		if n := rcvbufErrors() - before; n != 0 || t.Failed() {
			t.Logf("the kernel dropped %d UDP datagrams for full receive buffers during the test", n)
		}
	})
}
