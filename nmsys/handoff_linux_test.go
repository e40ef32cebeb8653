package nmsys

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
	"github.com/nmgo/nmgo/internal/handoff/handofftest"
	"golang.org/x/sys/unix"
)

// fakeRxPort returns a Port without netmap for PollRx's waits: its file
// an eventfd that is always readable (poll(2) returns at once), one RX
// ring in heap memory that stays empty (cur == tail: PollRx polls again
// until its timeout).
func fakeRxPort(t *testing.T) *Port {
	t.Helper()
	efd, err := unix.Eventfd(1, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(efd), "eventfd")
	t.Cleanup(func() { f.Close() })
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	p := &Port{name: "fake", file: f, rc: rc, mem: make([]byte, 4096), rxOffs: []int{0}, threadWait: true}
	p.rxPoll.init(p, func(uintptr) bool { return false }, pollIn)
	return p
}

// TestWaitDeadlineClock: a wait compares the deadline of SetReadDeadline
// with the clock it is kept on (handoff.Now's, monotonic since the
// package's start), not the Unix nanoseconds of time.Now().UnixNano():
// mixed, a deadline an hour away was long past (a few seconds of the
// process's clock against 56 years of Unix time) and every wait with a
// deadline returned os.ErrDeadlineExceeded at once. A wait still ends at
// a deadline that has passed.
func TestWaitDeadlineClock(t *testing.T) {
	p := fakeRxPort(t)
	syncs := 0
	p.rxPoll.sync = func(uintptr) bool { syncs++; return syncs%4 == 0 }
	p.SetReadDeadline(time.Now().Add(time.Hour))
	if err := p.WaitRx(); err != nil {
		t.Fatalf("deadline an hour away: %v", err)
	}
	p.rxPoll.sync = func(uintptr) bool { return false }
	p.SetReadDeadline(time.Now().Add(time.Millisecond))
	if err := p.WaitRx(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
}

// TestHandOffWaits: the waits of a receive loop that Idler.NextBatchAt
// tells to let others run do: with one P, a goroutine runnable on it runs
// during a PollRx whose poll(2) returns at
// once (which through the runtime's system call path keeps the P), and
// at a linger of a microsecond (a raw system call that keeps it: the loop
// yields before). One wait a millisecond on the loop's clock lets others
// run, and none allocates.
func TestHandOffWaits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := fakeRxPort(t)
	d := Idler{Poll: time.Millisecond}
	now := int64(time.Hour)
	// An empty pass: the wait is the poll.
	if !handofftest.RanDuring(func() {
		now += int64(time.Millisecond)
		if err := d.NextBatchAt(p, 0, false, 0, now); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Error("in 3 polls of NextBatchAt a millisecond apart, a goroutine runnable on the only P never ran during one")
	}
	// A partial batch: the loop yields before the linger, and the poll
	// after it keeps the P.
	d.Linger = time.Microsecond
	before := d.HandOffs()
	if !handofftest.RanDuring(func() {
		now += int64(time.Millisecond)
		if err := d.NextBatchAt(p, 5, false, 300, now); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Error("in 3 lingers of NextBatchAt a millisecond apart, a goroutine runnable on the only P never ran before or during one")
	}
	if n := d.HandOffs() - before; n == 0 || n > 3 {
		t.Errorf("%d hand-offs in up to 3 lingers and their polls, a millisecond apart: want one each", n)
	}
	before = d.HandOffs()
	if n := testing.AllocsPerRun(50, func() {
		now += int64(time.Millisecond)
		d.NextBatchAt(p, 5, false, 300, now) // the loop yields before the linger
		d.NextBatchAt(p, 0, false, 0, now)   // keeps the P
		now += int64(time.Millisecond)
		d.NextBatchAt(p, 0, false, 0, now) // the poll hands off
		d.NextBatch(p, 5, false, 300)      // keeps the P
	}); n != 0 {
		t.Errorf("%v allocations per round of waits", n)
	}
	if n := d.HandOffs() - before; n != 2*51 {
		t.Errorf("%d hand-offs in 51 rounds of four waits, want two a round", n)
	}
}

// TestRxPairHandOff: RxPair.PollAt gives the goroutine's P to the runtime
// for its poll(2) once a millisecond, as Idler.NextBatchAt does, and Poll
// keeps it; neither allocates.
func TestRxPairHandOff(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	w, err := NewRxPair(fakeRxPort(t), fakeRxPort(t))
	if err != nil {
		t.Fatal(err)
	}
	now := int64(time.Hour)
	if !handofftest.RanDuring(func() {
		now += int64(time.Millisecond)
		if err := w.PollAt(time.Millisecond, now); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Error("in 3 polls of PollAt a millisecond apart, a goroutine runnable on the only P never ran during one")
	}
	before := w.HandOffs()
	if n := testing.AllocsPerRun(50, func() {
		now += int64(time.Millisecond)
		w.PollAt(time.Millisecond, now) // hands off
		w.PollAt(time.Millisecond, now) // keeps the P
		w.Poll(time.Millisecond)        // keeps the P
	}); n != 0 {
		t.Errorf("%v allocations per round of polls", n)
	}
	if n := w.HandOffs() - before; n != 51 {
		t.Errorf("%d hand-offs in 51 rounds of three polls, want one a round", n)
	}
}

// TestWaitRxKeepsP: a WaitRx on a ThreadWait port (which waits in poll(2)
// on the thread, as PollRx does) keeps the goroutine's P for its polls
// after a PollRx of NextBatchAt's that handed it off. The two share the
// direction's poll state, whose hand-off flag PollRx leaves set: WaitRx's
// polls must clear it. The port's sync (called by WaitRx before each of
// its polls, never by PollRx) records the flag the previous poll ran with,
// and reports the ring ready at its fourth call, after three polls.
func TestWaitRxKeepsP(t *testing.T) {
	p := fakeRxPort(t)
	var syncs, handedOff int
	p.rxPoll.sync = func(uintptr) bool {
		syncs++
		if syncs > 1 && p.rxPoll.handOff {
			handedOff++
		}
		return syncs%4 == 0
	}
	var ho handoff.Clock
	for try := range 3 {
		if err := p.pollRx(0, &ho, int64(time.Hour)*int64(try+1)); err != nil {
			t.Fatal(err)
		}
		if ho.Count() != uint64(try+1) {
			t.Fatalf("the PollRx with a hand-off clock made %d hand-offs in %d calls, want one each", ho.Count(), try+1)
		}
		if !p.rxPoll.handOff {
			t.Fatal("PollRx's hand-off poll left the poll state's hand-off flag clear; the test no longer tests WaitRx")
		}
		syncs, handedOff = 0, 0
		if err := p.WaitRx(); err != nil {
			t.Fatalf("WaitRx on a ring ready at the fourth sync: %v", err)
		}
		if syncs != 4 {
			t.Fatalf("WaitRx synced %d times, want 4 (three polls)", syncs)
		}
		if handedOff != 0 {
			t.Errorf("try %d: %d of WaitRx's 3 polls after a PollRx that handed the P off gave the P to the runtime too, want none", try, handedOff)
		}
		if p.rxPoll.handOff {
			t.Errorf("try %d: the poll state's hand-off flag is still set after WaitRx", try)
		}
	}
}
