package main

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gatedWriter is a stdout whose reader reads nothing until open is
// closed, then everything, every chunk after a pause of each.
type gatedWriter struct {
	open  chan struct{}
	each  time.Duration
	mu    sync.Mutex
	got   bytes.Buffer
	calls int
}

func (g *gatedWriter) Write(b []byte) (int, error) {
	<-g.open
	time.Sleep(g.each)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	return g.got.Write(b)
}

// TestStallOutDropsWhileStalled: while the run goes, reports to a stdout
// whose reader reads nothing never wait; those past stallLimit are
// dropped and counted, and the final report never is. Once the reader
// reads, it gets the kept reports and the final one, byte for byte and
// in order.
func TestStallOutDropsWhileStalled(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{})}
	o := newStallOut(g)
	var want bytes.Buffer
	const lines = 2 * stallLimit / 32
	kept := 0
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := range lines {
			l := fmt.Sprintf("interval report %15d\n", i) // 32 octets
			o.Write([]byte(l))
			if want.Len()+len(l) <= stallLimit {
				want.WriteString(l)
				kept++
			}
		}
		o.endLive()
		for i := range 3 * stallLimit / 32 {
			l := fmt.Sprintf("final report line %13d\n", i)
			o.Write([]byte(l))
			want.WriteString(l)
		}
	}()
	select {
	case <-wrote:
	case <-time.After(30 * time.Second):
		close(g.open)
		t.Fatal("the writes waited 30 s for a reader that reads nothing")
	}
	close(g.open)
	dropped, err := o.finish()
	if err != nil || dropped != lines-kept {
		t.Errorf("finish: %d dropped, %v; want %d, nil", dropped, err, lines-kept)
	}
	if !bytes.Equal(g.got.Bytes(), want.Bytes()) {
		t.Errorf("written: %d octets, not the %d of the reports kept", g.got.Len(), want.Len())
	}
	if g.calls < want.Len()/stallChunk {
		t.Errorf("%d writes of %d octets; want writes of at most %d", g.calls, want.Len(), stallChunk)
	}
}

// TestStallOutGivesUp: once the run is over, a stdout whose reader reads
// nothing is given up on after outfile.Grace (finish: errStalled), not
// waited for for ever.
func TestStallOutGivesUp(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{})}
	defer close(g.open) // the writer's goroutine ends with the test
	o := newStallOut(g)
	o.Write([]byte("interval report\n"))
	o.endLive()
	o.Write([]byte("final report\n"))
	done := make(chan error, 1)
	go func() {
		_, err := o.finish()
		done <- err
	}()
	select {
	case err := <-done:
		if err != errStalled {
			t.Errorf("finish: %v; want %v", err, errStalled)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("finish waited 30 s for a reader that reads nothing")
	}
}

// TestStallOutSlowReader: a reader that reads, however slowly (a chunk
// every 50 ms, for 2 s, longer than outfile.Grace), gets everything:
// finish waits for as long as bytes move.
func TestStallOutSlowReader(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{}), each: 50 * time.Millisecond}
	close(g.open)
	o := newStallOut(g)
	o.endLive()
	want := bytes.Repeat([]byte("0123456789abcdef"), 40*stallChunk/16)
	o.Write(want)
	if _, err := o.finish(); err != nil || !bytes.Equal(g.got.Bytes(), want) {
		t.Errorf("finish: %v, %d of %d octets written; want nil and all", err, g.got.Len(), len(want))
	}
}
