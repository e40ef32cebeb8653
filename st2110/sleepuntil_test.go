package st2110

import (
	"context"
	"slices"
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

// A sender on its own thread sleeps to each packet's send time, not for
// the time from the clock read before its step: the flush (a TX sync)
// between them must not make every packet that much late. Each flush here
// takes 3 ms and the packets are 10 ms apart (MaxRate 100): a sleep for
// the duration worked out before the flush wakes every packet at least
// 3 ms late, whatever the host's load; to the time, only its wake-up
// latency late. (The packets must be less than maxSleep apart: a longer
// wait is cut in two, and the second part was always timed afresh.)
func TestSenderSleepsToSendTime(t *testing.T) {
	const flushTime = 3 * time.Millisecond
	q, _ := heapLink(t, 1024)
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	src := loopOf(t, fmtSmall, randomFrames(fmtSmall, 1, 1))
	s, sources, err := newSender("vale0:heap", sess, &SendConfig{Sources: []video.FrameSource{src}, Count: 1, MaxLag: -1, MaxRate: 100, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	f := &slowFlush{heapTx: q, d: flushTime}
	if err := s.build([]txConn{f}, &ethInfo{srcMAC: defaultMAC}, sources); err != nil {
		t.Fatal(err)
	}
	f.clock, f.tx = s.clock, s.parts[0].tx
	if err := runSender(t, s)(); err != nil {
		t.Fatal(err)
	}
	if len(f.late) < 16 {
		t.Fatalf("%d flushes measured, want at least 16 of a 32-packet frame", len(f.late))
	}
	late := slices.Clone(f.late)
	slices.Sort(late)
	if med := late[len(late)/2]; med >= flushTime {
		t.Errorf("median packet %v late after a %v flush (all: %v): the sleep ran from before the flush", med, flushTime, f.late)
	}
}
