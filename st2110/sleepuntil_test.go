//go:build linux

package st2110

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// slowFlush is a heap TX ring whose flush takes d, as a TX sync on VALE
// takes the switch's forwarding, and which records how late each flush
// after the first came: its clock at the flush against the time the
// transmitter gave as the next packet's at the flush before.
type slowFlush struct {
	*heapTx
	d     time.Duration
	clock *Clock
	tx    *video.Transmitter
	due   int64
	late  []time.Duration
}

func (f *slowFlush) flush(ctx context.Context) error {
	now := f.clock.Now()
	if f.due != 0 {
		f.late = append(f.late, time.Duration(now-f.due))
	}
	f.due = f.tx.Next()
	time.Sleep(f.d)
	return f.heapTx.flush(ctx)
}

// A sender times its wait for the next packet from the clock read after
// its flush, not before: the flush (a TX sync, on VALE the switch's
// forwarding) between them must not make every packet that much late.
// Each flush here takes 3 ms and the packets are 10 ms apart (MaxRate
// 100): a wait timed from before the flush wakes every packet at least
// 3 ms late, whatever the host's load; timed after it, only its wake-up
// latency late. Both waits: a netmap sender's sleep on its thread and the
// Go timer of the others (the transport's kind set by hand on the heap
// ring). And the sender sleeps: the process's CPU time over the run stays
// under half its length (a loop that did not sleep would spin it all).
// (The packets are maxSleep apart: a longer wait is cut in two, and the
// second part was always timed afresh.)
func TestSenderSleepsToSendTime(t *testing.T) {
	const flushTime = 3 * time.Millisecond
	for _, c := range []struct {
		name string
		kind kind
	}{{"netmap-sleep", kindNetmap}, {"timer", kindUDP}} {
		t.Run(c.name, func(t *testing.T) {
			q, _ := heapLink(t, 1024)
			sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
			src := loopOf(t, fmtSmall, randomFrames(fmtSmall, 1, 1))
			s, sources, err := newSender("vale0:heap", sess, &SendConfig{Sources: []video.FrameSource{src}, Count: 1, MaxLag: -1, MaxRate: 100, Batch: 1})
			if err != nil {
				t.Fatal(err)
			}
			s.ep.kind = c.kind
			f := &slowFlush{heapTx: q, d: flushTime}
			if err := s.build([]txConn{f}, &ethInfo{srcMAC: defaultMAC}, sources); err != nil {
				t.Fatal(err)
			}
			f.clock, f.tx = s.clock, s.parts[0].tx
			cpu0, wall0 := processCPU(t), time.Now()
			if err := runSender(t, s)(); err != nil {
				t.Fatal(err)
			}
			cpu, wall := processCPU(t)-cpu0, time.Since(wall0)
			if len(f.late) < 16 {
				t.Fatalf("%d flushes measured, want at least 16 of a 32-packet frame", len(f.late))
			}
			late := slices.Clone(f.late)
			slices.Sort(late)
			t.Logf("median packet %v late after a %v flush; CPU %v in %v", late[len(late)/2], flushTime, cpu, wall)
			if med := late[len(late)/2]; med >= flushTime {
				t.Errorf("median packet %v late after a %v flush (all: %v): the wait was timed from before the flush", med, flushTime, f.late)
			}
			if cpu > wall/2 {
				t.Errorf("the process used %v of CPU in a %v run: the sender did not sleep", cpu, wall)
			}
		})
	}
}

// processCPU returns the CPU time the process has used (user and system).
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
