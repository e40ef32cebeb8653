package nmsys

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeTxPort returns a Port without netmap for a TX wait in poll(2): its
// file the write end of a pipe whose read end is closed (poll reports
// POLLERR at once), one TX ring in heap memory with no room (cur ==
// tail), and a sync that fails with errno from its second call on (the
// first, before the poll, works).
func fakeTxPort(t *testing.T, errno syscall.Errno) *Port {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { w.Close() })
	rc, err := w.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	p := &Port{name: "fake", file: w, rc: rc, mem: make([]byte, 4096), txOffs: []int{0}, threadWait: true}
	syncs := 0
	p.txPoll.init(p, func(uintptr) bool {
		if syncs++; syncs > 1 {
			p.txWaitErr = errno
		}
		return p.txWaitErr != 0
	}, pollOut)
	return p
}

// A TX ring stopped while the wait for room is in poll(2) (a NIC reset:
// POLLERR, and the sync then fails with EIO) gives the sync's error, not
// the cursors' message; a POLLERR whose sync works still gives that.
func TestPollWaitStoppedRing(t *testing.T) {
	p := fakeTxPort(t, syscall.EIO)
	err := p.pollWait(time.Now().Add(time.Second), &p.txPoll, &p.txWaitErr, "wait tx")
	if !errors.Is(err, syscall.EIO) || strings.Contains(err.Error(), "cursors") {
		t.Errorf("a ring stopped: %v, want EIO", err)
	}
	p = fakeTxPort(t, 0)
	err = p.pollWait(time.Now().Add(time.Second), &p.txPoll, &p.txWaitErr, "wait tx")
	var e syscall.Errno
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "POLLERR: netmap rejects the cursors of a ring (tx ring 0: head 0 cur 0 tail 0 of 0 slots)") {
		t.Errorf("cursors rejected: %v", err)
	}
}
