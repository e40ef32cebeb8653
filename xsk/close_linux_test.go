//go:build linux

package xsk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/xdptest"
)

// A Close that gives up on goroutines still inside a system call leaves
// the socket open and says so; a later Close, once they are out, closes
// it (the descriptor is not leaked), and only then does Close return
// ErrClosed. A goroutine stuck in the kernel is stood in for by the count
// of users the system calls keep.
func TestCloseAgainAfterTimeout(t *testing.T) {
	p := xdptest.NewPair(t)
	defer func(d time.Duration) { closeWait = d }(closeWait)
	closeWait = 50 * time.Millisecond
	fds := xdptest.FDs(t)
	var s *Socket
	if err := xdptest.In(p.NsA, func() (err error) { s, err = Open(p.A, &Config{TxOnly: true}); return }); err != nil {
		t.Fatal(err)
	}
	s.users.Add(1) // a goroutine inside poll(2)
	err := s.Close()
	if err == nil || !strings.Contains(err.Error(), "left open") {
		t.Fatalf("Close with a user inside a system call: %v, want the socket left open", err)
	}
	if n := xdptest.FDs(t); n != fds+1 {
		t.Fatalf("%d file descriptors after the Close that gave up, want %d (the socket's)", n, fds+1)
	}
	if err := s.Kick(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Kick after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "left open") {
		t.Fatalf("second Close, the user still inside: %v", err)
	}
	s.users.Add(-1) // it returns
	if err := s.Close(); err != nil {
		t.Fatalf("Close once the user is out: %v", err)
	}
	if n := xdptest.FDs(t); n != fds {
		t.Fatalf("%d file descriptors after Close, %d before Open", n, fds)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Close after the socket was closed: %v, want ErrClosed", err)
	}
}
