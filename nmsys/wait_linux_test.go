package nmsys

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/abi"
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

// A POLLERR whose sync then works, the ring's cursors in order (a ring
// stopped for a NIC reset that ended between the poll and the sync): the
// wait goes on, and ends when the ring has room. A POLLERR that keeps
// coming with such cursors gives the cursors' error after a few rounds,
// not a wait that spins to its deadline.
func TestPollWaitRingBack(t *testing.T) {
	for _, readyAt := range []int{3, 0} {
		p := fakeTxPort(t, 0)
		binary.NativeEndian.PutUint32(p.mem[abi.RingNumSlots:], 8) // head = cur = tail = 0: in order, no room
		syncs := 0
		p.txPoll.init(p, func(uintptr) bool {
			syncs++
			return syncs == readyAt
		}, pollOut)
		err := p.pollWait(time.Now().Add(time.Second), &p.txPoll, &p.txWaitErr, "wait tx")
		if readyAt != 0 {
			if err != nil {
				t.Errorf("ring back, room at sync %d: %v after %d syncs", readyAt, err, syncs)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "POLLERR: netmap rejects the cursors of a ring (tx ring 0: head 0 cur 0 tail 0 of 8 slots)") || syncs > 2*maxPollErrs+1 {
			t.Errorf("POLLERR at every poll: %v after %d syncs", err, syncs)
		}
	}
}

// inOrder is rings' check of cursors: all below num_slots, cur between
// head and tail in ring order.
func TestRingStatesInOrder(t *testing.T) {
	for _, c := range []struct {
		head, cur, tail, slots uint32
		ok                     bool
	}{
		{0, 0, 0, 8, true}, {2, 5, 7, 8, true}, {6, 1, 3, 8, true}, {6, 7, 6, 8, false},
		{2, 1, 3, 8, false}, {8, 0, 0, 8, false}, {0, 8, 0, 8, false}, {0, 0, 8, 8, false}, {0, 0, 0, 0, false},
	} {
		var st ringStates
		st.n = 1
		st.r[0].head, st.r[0].cur, st.r[0].tail, st.r[0].slots = c.head, c.cur, c.tail, c.slots
		if st.inOrder() != c.ok {
			t.Errorf("head %d cur %d tail %d of %d: in order %v, want %v", c.head, c.cur, c.tail, c.slots, !c.ok, c.ok)
		}
	}
}
