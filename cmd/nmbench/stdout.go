package main

import (
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
	w     io.Writer
	mu    sync.Mutex
	more  sync.Cond // pend filled, or closed
	pend  []byte    // written, not yet taken by the writer
	busy  int       // taken by the writer, not yet written
	final bool      // the run is over: nothing is dropped
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

// stallChunk is the most written at once: a blocking pipe's write
// returns only once all of it is in, and a reader that reads, however
// slowly, must be seen to (a pipe's atomic write, PIPE_BUF on Linux).
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
	o.more.Signal()
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

// write is the writer: it writes what is queued, in order, in writes of
// at most stallChunk. A write that fails loses the rest of what it was
// given (the reports so far), as a report whose write failed was lost
// before, and the writer goes on with what follows.
func (o *stallOut) write() {
	defer close(o.done)
	var b []byte // the buffer written, reused: no allocation once grown
	for {
		o.mu.Lock()
		o.busy = 0
		for len(o.pend) == 0 && !o.closed {
			o.more.Wait()
		}
		if len(o.pend) == 0 {
			o.mu.Unlock()
			return
		}
		b, o.pend = o.pend, b[:0]
		o.busy = len(b)
		o.mu.Unlock()
		for p := b; len(p) > 0; {
			n, err := o.w.Write(p[:min(len(p), stallChunk)])
			o.moved.Add(uint64(n))
			if err != nil {
				break
			}
			p = p[n:]
		}
	}
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
