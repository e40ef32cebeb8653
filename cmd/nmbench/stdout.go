package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nmgo/nmgo/internal/outfile"
)

// stallOut writes the reports to a stdout whose reader may stop reading
// (a pipe, a FIFO, a socket: `nmbench ... | consumer`), where a write
// of a full pipe waits in the kernel until the reader reads, deaf to -t
// and signals: a blocking descriptor, the shell's, whose write the
// runtime cannot end (no deadline; the descriptor is not its to make
// non-blocking, for the shell and the process's parent share it). The
// writes go to a goroutine of their own, in order, whole and unchanged;
// the run does not wait for them. While the run goes, a report that
// would take the octets not yet written past stallLimit is dropped, and
// counted (the interval lines of a reader that fell behind); once the
// run is over (endLive) nothing is dropped, and finish waits for the
// reader to take it all, for as long as it takes (a pager, a reader that
// starts late), unless a signal ends the wait (waiter). The goroutine of
// a write given up on is left waiting in the kernel: nmbench exits.
//
// Its methods are safe for concurrent use; nothing is written after
// finish.
type stallOut struct {
	w    io.Writer
	mu   sync.Mutex
	more sync.Cond // a whole line in pend, or closed
	pend []byte    // written, not yet taken by the writer
	// lines is how much of pend is whole lines (up to its last '\n'):
	// the writer takes only those until finish, so that a line written
	// in several Writes (the video summary) is written whole.
	lines int
	busy  int  // taken by the writer, not yet written
	final bool // the run is over: nothing is dropped
	// closed: finish was called, and the writer ends once it has
	// written everything.
	closed  bool
	dropped int           // live reports dropped
	done    chan struct{} // the writer has written everything and ended
}

// stallLimit is how many octets of reports a stalled stdout may hold
// back (beyond its pipe's own buffer) while the run goes: at -T 10ms,
// seconds of interval lines.
const stallLimit = 64 << 10

// stallChunk is the most written at once, ending at a line's end: a
// pipe's write of at most PIPE_BUF octets (4096 on Linux) is atomic, so
// that another writer of the pipe (a second nmbench, -out /dev/stdout's
// frames) lands between two lines, never inside one, as when each
// report line was a write of its own.
const stallChunk = 4096

// stalls reports whether w is a file whose writes may wait for a reader
// for ever: a pipe, a FIFO or a socket. A regular file does not wait; a
// terminal waits for its user (^S), who is there.
func stalls(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0
}

// newStallOut starts the writer of w.
func newStallOut(w io.Writer) *stallOut {
	o := &stallOut{w: w, done: make(chan struct{})}
	o.more.L = &o.mu
	go o.write()
	return o
}

// Write queues b, or, while the run goes, drops it if it would take
// what is not yet written past stallLimit. It never waits for the
// reader, and never fails.
func (o *stallOut) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.final && o.busy+len(o.pend)+len(b) > stallLimit {
		o.dropped++
		return len(b), nil
	}
	o.pend = append(o.pend, b...)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		o.lines = len(o.pend) - len(b) + i + 1
		o.more.Signal()
	}
	return len(b), nil
}

// endLive marks the end of the run: what follows (the final report) is
// never dropped.
func (o *stallOut) endLive() {
	o.mu.Lock()
	o.final = true
	o.mu.Unlock()
}

// endLive marks the end of the run for out, if it is a stallOut.
func endLive(out io.Writer) {
	if o, ok := out.(*stallOut); ok {
		o.endLive()
	}
}

// write is the writer: it writes the whole lines queued (after finish,
// everything), in order, in chunks of whole lines (lineChunk). A write
// that fails loses the rest of what it was given (the reports so far),
// as a report whose write failed was lost before, and the writer goes
// on with what follows.
func (o *stallOut) write() {
	defer close(o.done)
	var b []byte // the buffer written, reused: no allocation once grown
	for {
		o.mu.Lock()
		o.busy = 0
		for o.lines == 0 && !o.closed {
			o.more.Wait()
		}
		n := o.lines
		if o.closed {
			n = len(o.pend)
		}
		if n == 0 {
			o.mu.Unlock()
			return
		}
		b = append(b[:0], o.pend[:n]...)
		o.pend = append(o.pend[:0], o.pend[n:]...)
		o.lines, o.busy = 0, n
		o.mu.Unlock()
		for p := b; len(p) > 0; {
			n, err := o.w.Write(p[:lineChunk(p)])
			if err != nil {
				break
			}
			p = p[n:]
		}
	}
}

// lineChunk is how much of p to write at once: up to its last '\n'
// within stallChunk octets; a line longer than that is written whole
// (as it was), and so is what is left without a '\n' at the end.
func lineChunk(p []byte) int {
	if len(p) <= stallChunk {
		return len(p)
	}
	if i := bytes.LastIndexByte(p[:stallChunk], '\n'); i >= 0 {
		return i + 1
	}
	if i := bytes.IndexByte(p[stallChunk:], '\n'); i >= 0 {
		return stallChunk + i + 1
	}
	return len(p)
}

// finish waits until everything queued is written, for as long as the
// reader takes, or until wt gives up (a signal): it returns whether it
// was written, and the count of the reports dropped.
func (o *stallOut) finish(wt *waiter) (dropped int, written bool) {
	o.mu.Lock()
	o.final, o.closed = true, true
	dropped = o.dropped
	o.more.Signal()
	o.mu.Unlock()
	return dropped, wt.wait(o.done)
}

// waiter watches SIGINT and SIGTERM for all of cli, through one
// signal.Notify, and is how nmbench waits for the reader of a stdout or
// stderr that may stall (stalls) once the run is over, or before it (a
// usage error, -h): for as long as the reader takes, so that a pager or
// a reader that starts late gets everything, unless a signal ends the
// wait. It counts the signals: the first one that arrives while the
// run goes ends the run (cancel), and every other one, whenever it
// arrives, ends a wait, once: a wait that begins after it (a second
// signal sent right after the first, while the run winds down, or
// between two waits) ends at once. Once a signal has ended a wait,
// nmbench was told to stop: a later wait (the messages at the end, to a
// stderr that stalls too: 2>&1) is given outfile.Grace, or until a
// further signal.
type waiter struct {
	sig    chan os.Signal
	quit   chan struct{} // stop: the watcher ends
	ended  chan struct{} // the watcher has ended
	cancel func()        // ends the run

	mu      sync.Mutex
	n       int           // signals so far
	used    int           // signals that ended the run or a wait
	running bool          // the run goes: a first signal ends it
	kick    chan struct{} // closed at each signal, then made anew

	hit bool // a signal ended a wait
}

// watchSignals starts watching SIGINT and SIGTERM, which then no longer
// end the process; the first one calls cancel. stop ends the watch.
func watchSignals(cancel func()) *waiter {
	wt := &waiter{
		sig:    make(chan os.Signal, 8),
		quit:   make(chan struct{}),
		ended:  make(chan struct{}),
		cancel: cancel,
		kick:   make(chan struct{}),
	}
	signal.Notify(wt.sig, os.Interrupt, syscall.SIGTERM)
	go wt.watch()
	return wt
}

// watch counts the signals, and wakes the wait that waits (kick).
func (wt *waiter) watch() {
	defer close(wt.ended)
	for {
		select {
		case <-wt.sig:
		case <-wt.quit:
			return
		}
		wt.mu.Lock()
		wt.n++
		if wt.n == 1 {
			wt.cancel()
			if wt.running {
				wt.used++
			}
		}
		close(wt.kick)
		wt.kick = make(chan struct{})
		wt.mu.Unlock()
	}
}

// stop ends the watch: SIGINT and SIGTERM are the process's again.
func (wt *waiter) stop() {
	signal.Stop(wt.sig)
	close(wt.quit)
	<-wt.ended
}

// setRunning tells whether the run goes: a first signal that arrives
// then ends the run and no wait.
func (wt *waiter) setRunning(on bool) {
	wt.mu.Lock()
	wt.running = on
	wt.mu.Unlock()
}

// wait waits until done is closed (true), or a signal not yet used
// ends the wait (false): one that arrived before the wait began, or
// while it waits.
func (wt *waiter) wait(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
	}
	var grace <-chan time.Time
	if wt.hit {
		t := time.NewTimer(outfile.Grace)
		defer t.Stop()
		grace = t.C
	}
wait:
	for {
		wt.mu.Lock()
		sig, kick := wt.n > wt.used, wt.kick
		wt.mu.Unlock()
		if sig {
			break
		}
		select {
		case <-done:
			return true
		case <-kick:
		case <-grace:
			break wait
		}
	}
	// done and a signal (or the grace's end) at the same moment: the
	// write is done, and the signal is left to a later wait.
	select {
	case <-done:
		return true
	default:
	}
	wt.mu.Lock()
	if wt.n > wt.used {
		wt.used++
	}
	wt.mu.Unlock()
	wt.hit = true
	return false
}

// errOut is a stderr that may stall (stalls), its every write made by
// a goroutine and waited for by wt: a signal ends the wait, and the
// writes after a write given up on are left out (its goroutine is still
// in the kernel, and a later write would land before it).
type errOut struct {
	w    io.Writer
	wt   *waiter
	lost bool // a write was given up on
}

// errLost is errOut's error once a signal ended a write's wait.
var errLost = errors.New("stderr: a signal ended the wait for its reader")

func (e *errOut) Write(b []byte) (int, error) {
	if e.lost {
		return 0, errLost
	}
	b = bytes.Clone(b) // the goroutine may outlive the caller's buffer
	done := make(chan struct{})
	var n int
	var err error
	go func() {
		n, err = e.w.Write(b)
		close(done)
	}()
	if !e.wt.wait(done) {
		e.lost = true
		return 0, errLost
	}
	return n, err
}
