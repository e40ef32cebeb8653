package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
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
// reader to take it all, as long as it takes bytes, and gives up once it
// has taken nothing for outfile.Grace, as an output's FIFO does
// (outfile.File.End). The goroutine of a write given up on is left
// waiting in the kernel: nmbench exits.
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
	moved   atomic.Uint64 // octets written to w
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

// errStalled is finish's: the reader took nothing for outfile.Grace.
var errStalled = fmt.Errorf("stdout: its reader read nothing for %v after the end of the run: the report was not written whole", outfile.Grace)

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
			o.moved.Add(uint64(n))
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

// finish waits until everything queued is written, or until the reader
// has taken nothing for outfile.Grace (between one and two Grace after
// its last progress), and then returns errStalled; a reader that takes
// bytes, however slowly, gets everything. It returns the count of the
// reports dropped too.
func (o *stallOut) finish() (dropped int, err error) {
	o.mu.Lock()
	o.final, o.closed = true, true
	dropped = o.dropped
	o.more.Signal()
	o.mu.Unlock()
	t := time.NewTimer(outfile.Grace)
	defer t.Stop()
	last := o.moved.Load()
	for {
		select {
		case <-o.done:
			return dropped, nil
		case <-t.C:
		}
		m := o.moved.Load()
		if m == last {
			select {
			case <-o.done: // it ended meanwhile
				return dropped, nil
			default:
				return dropped, errStalled
			}
		}
		last = m
		t.Reset(outfile.Grace)
	}
}
