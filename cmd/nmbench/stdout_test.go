package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedWriter is a stdout whose reader reads nothing until open is
// closed, then everything, every write after a pause of each. It keeps
// the length of each write and whether it ended a line.
type gatedWriter struct {
	open   chan struct{}
	each   time.Duration
	mu     sync.Mutex
	got    bytes.Buffer
	writes [][]byte
}

func (g *gatedWriter) Write(b []byte) (int, error) {
	<-g.open
	time.Sleep(g.each)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes = append(g.writes, bytes.Clone(b))
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
	dropped, written := o.finish(new(waiter))
	if !written || dropped != lines-kept {
		t.Errorf("finish: %d dropped, written %v; want %d, true", dropped, written, lines-kept)
	}
	if !bytes.Equal(g.got.Bytes(), want.Bytes()) {
		t.Errorf("written: %d octets, not the %d of the reports kept", g.got.Len(), want.Len())
	}
}

// TestStallOutWholeLines: every write to stdout is whole lines of at
// most stallChunk octets (PIPE_BUF: atomic, so that another writer of
// the pipe lands between lines), or one line longer than that, whole,
// and a line queued in several Writes (the video summary) is written
// whole; only what finish finds after the last '\n' ends a write
// without one. Before, the writes were cut every 4 KiB, inside lines.
func TestStallOutWholeLines(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{})}
	close(g.open)
	o := newStallOut(g)
	var want bytes.Buffer
	write := func(s string) {
		o.Write([]byte(s))
		want.WriteString(s)
	}
	for i := range 400 {
		write(strings.Repeat("x", i%97) + fmt.Sprintf(" line %d\n", i))
		if i == 200 {
			write(strings.Repeat("long", 2000) + "\n")
		}
		if i%50 == 0 { // a line in three Writes
			write("Video: 10 frames")
			time.Sleep(time.Millisecond)
			write(", 0 lost")
			write(" (1 streams)\n")
		}
	}
	write("no end")
	if _, written := o.finish(new(waiter)); !written {
		t.Fatal("finish: not written")
	}
	if !bytes.Equal(g.got.Bytes(), want.Bytes()) {
		t.Fatalf("written: %d octets, not the %d queued", g.got.Len(), want.Len())
	}
	for i, w := range g.writes {
		if i == len(g.writes)-1 {
			w = bytes.TrimSuffix(w, []byte("no end"))
		}
		switch {
		case len(w) == 0:
		case w[len(w)-1] != '\n':
			t.Errorf("write %d of %d, %d octets, ends inside a line: %q", i+1, len(g.writes), len(w), w[max(0, len(w)-20):])
		case len(w) > stallChunk && bytes.Count(w, []byte{'\n'}) > 1:
			t.Errorf("write %d of %d: %d octets, more than %d, of several lines", i+1, len(g.writes), len(w), stallChunk)
		}
	}
}

// TestStallOutSlowReader: a reader that reads, however slowly (a chunk
// every 50 ms, for 2 s), gets everything: finish waits for it.
func TestStallOutSlowReader(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{}), each: 50 * time.Millisecond}
	close(g.open)
	o := newStallOut(g)
	o.endLive()
	want := bytes.Repeat([]byte("0123456789abcde\n"), 40*stallChunk/16)
	o.Write(want)
	if _, written := o.finish(new(waiter)); !written || !bytes.Equal(g.got.Bytes(), want) {
		t.Errorf("finish: written %v, %d of %d octets written; want true and all", written, g.got.Len(), len(want))
	}
}
