package st2110

import (
	"runtime"
	"testing"
	"time"
)

// TestThreadSleeper checks that a sender's thread sleeps with 1 ns timer
// slack while it sends, gets its own slack back after, and sleeps at
// least as long as asked.
func TestThreadSleeper(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	slack := func() int {
		s := timerSlack()
		if s < 0 {
			t.Fatal("PR_GET_TIMERSLACK failed")
		}
		return s
	}
	before := slack()
	var sl threadSleeper
	sl.start()
	if s := slack(); s != 1 {
		t.Fatalf("timer slack while sending: %d ns, want 1", s)
	}
	const d = 300 * time.Microsecond
	t0 := time.Now()
	sl.sleep(d)
	if got := time.Since(t0); got < d {
		t.Errorf("slept %v, asked %v", got, d)
	}
	sl.stop()
	if s := slack(); s != before {
		t.Fatalf("timer slack after: %d ns, want %d back", s, before)
	}
}
