package st2110

import (
	"os"
	"runtime"
	"strconv"
	"strings"
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

// threadSched returns the calling thread's scheduling policy and
// real-time priority, fields 41 and 40 of /proc/thread-self/stat.
func threadSched(t *testing.T) (policy, prio int) {
	t.Helper()
	return taskSched(t, "/proc/thread-self/stat")
}

// taskSched returns the policy and real-time priority in a stat file of
// /proc.
func taskSched(t *testing.T, stat string) (policy, prio int) {
	t.Helper()
	b, err := os.ReadFile(stat)
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 39 {
		t.Fatalf("%s: %d fields after the name", stat, len(f))
	}
	prio, err1 := strconv.Atoi(f[40-3])
	policy, err2 := strconv.Atoi(f[41-3])
	if err1 != nil || err2 != nil {
		t.Fatalf("%s: %q %q", stat, f[40-3], f[41-3])
	}
	return policy, prio
}

// TestThreadPriority: a sender's thread runs under SCHED_FIFO at the
// priority asked while it sends and gets its own scheduling back after;
// refused (no CAP_SYS_NICE and no RLIMIT_RTPRIO), the error says what is
// needed, and the test skips saying so, unless NMTEST_REQUIRE=1.
func TestThreadPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const fifo = 1 // SCHED_FIFO
	policy, prio := threadSched(t)
	var rt threadPriority
	if err := rt.set(10); err != nil {
		if !strings.Contains(err.Error(), "CAP_SYS_NICE") || !strings.Contains(err.Error(), "RLIMIT_RTPRIO") {
			t.Errorf("error %q, want one naming CAP_SYS_NICE and RLIMIT_RTPRIO", err)
		}
		if os.Getenv("NMTEST_REQUIRE") == "1" {
			t.Fatalf("NMTEST_REQUIRE=1: %v", err)
		}
		t.Skipf("SCHED_FIFO refused here (the error checked above): %v", err)
	}
	if !rt.on() {
		t.Error("on() false after set")
	}
	if p, r := threadSched(t); p != fifo || r != 10 {
		t.Errorf("while sending: policy %d priority %d, want SCHED_FIFO (%d) 10", p, r, fifo)
	}
	rt.restore()
	if p, r := threadSched(t); p != policy || r != prio {
		t.Errorf("after: policy %d priority %d, want %d %d back", p, r, policy, prio)
	}
	if rt.on() {
		t.Error("on() true after restore")
	}
	rt.restore() // a second restore changes nothing
	if p, _ := threadSched(t); p != policy {
		t.Errorf("after a second restore: policy %d, want %d", p, policy)
	}
}
