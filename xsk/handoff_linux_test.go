package xsk

import (
	"runtime"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/handoff/handofftest"
	"golang.org/x/sys/unix"
)

// TestHandOffWaits: the waits of a receive loop that Idler.NextBatchAt
// tells to let others run do: with one P, a goroutine runnable on it runs
// during a poll(2) that returns at once (which through the runtime's
// system call path keeps the P), and at a linger of a microsecond (a raw
// system call that keeps it: the loop yields before). One wait a
// millisecond on the loop's clock lets others run, and none allocates.
func TestHandOffWaits(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	efd, err := unix.Eventfd(1, unix.EFD_CLOEXEC) // readable: poll returns at once
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	var s Socket
	pfd := [1]unix.PollFd{{Fd: int32(efd), Events: unix.POLLIN}}
	if !handofftest.RanDuring(func() { s.poll(&pfd, 0, true) }) {
		t.Error("in 3 polls that hand off, a goroutine runnable on the only P never ran during one")
	}
	// The linger of a partial batch (a pass that took packets goes on
	// without polling: no socket needed).
	var d Idler
	d.Linger = time.Microsecond
	now := int64(time.Hour)
	if !handofftest.RanDuring(func() {
		now += int64(time.Millisecond)
		if err := d.NextBatchAt(nil, 5, false, 300, now); err != nil {
			t.Fatal(err)
		}
	}) {
		t.Error("in 3 lingers of NextBatchAt a millisecond apart, a goroutine runnable on the only P never ran before or during one")
	}
	before := d.HandOffs()
	if n := testing.AllocsPerRun(100, func() {
		now += int64(time.Millisecond)
		d.NextBatchAt(nil, 5, false, 300, now) // yields before the linger
		d.NextBatchAt(nil, 5, false, 300, now) // keeps the P
		d.NextBatch(nil, 5, false, 300)        // keeps the P
		s.poll(&pfd, 0, true)
	}); n != 0 {
		t.Errorf("%v allocations per round of waits", n)
	}
	if n := d.HandOffs() - before; n != 101 {
		t.Errorf("%d lingers let others run in 101 rounds of three, want one a round", n)
	}
}
