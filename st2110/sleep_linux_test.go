package st2110

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
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
// without the privilege, the error says what is needed.
func TestThreadPriority(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const fifo = 1 // SCHED_FIFO
	policy, prio := threadSched(t)
	var rt threadPriority
	err := rt.set(10)
	if os.Geteuid() != 0 {
		if err == nil {
			rt.restore()
			t.Skip("SCHED_FIFO granted without root (CAP_SYS_NICE or RLIMIT_RTPRIO): nothing to check for the refusal")
		}
		if !strings.Contains(err.Error(), "CAP_SYS_NICE") {
			t.Errorf("error %q, want one naming CAP_SYS_NICE", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("as root: %v", err)
	}
	if p, r := threadSched(t); p != fifo || r != 10 {
		t.Errorf("while sending: policy %d priority %d, want SCHED_FIFO (%d) 10", p, r, fifo)
	}
	rt.restore()
	if p, r := threadSched(t); p != policy || r != prio {
		t.Errorf("after: policy %d priority %d, want %d %d back", p, r, policy, prio)
	}
	rt.restore() // a second restore changes nothing
	if p, _ := threadSched(t); p != policy {
		t.Errorf("after a second restore: policy %d, want %d", p, policy)
	}
}

// TestThreadPriorityFollows: a sender that comes back from a yield on
// another thread takes its priority there, and the thread it left gets
// its own scheduling back.
func TestThreadPriorityFollows(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for SCHED_FIFO (TestThreadPriority checks the refusal)")
	}
	var rt threadPriority
	first := make(chan int)
	release := make(chan struct{})
	go func() { // the thread the sender leaves, kept until the check
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := rt.set(10); err != nil {
			t.Error(err)
		}
		first <- syscall.Gettid()
		<-release
	}()
	tid := <-first
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	policy, prio := threadSched(t)
	if err := rt.follow(); err != nil {
		t.Fatal(err)
	}
	if p, r := threadSched(t); p != 1 || r != 10 {
		t.Errorf("the thread it came back on: policy %d priority %d, want SCHED_FIFO 10", p, r)
	}
	if p, _ := taskSched(t, fmt.Sprintf("/proc/self/task/%d/stat", tid)); p != policy {
		t.Errorf("the thread it left: policy %d, want %d back", p, policy)
	}
	close(release)
	rt.restore()
	if p, r := threadSched(t); p != policy || r != prio {
		t.Errorf("after: policy %d priority %d, want %d %d", p, r, policy, prio)
	}
}
