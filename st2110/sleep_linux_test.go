package st2110

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
	"github.com/nmgo/nmgo/osthread"
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
	sl.sleep(d, time.Now().UnixNano())
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

// TestThreadPriorityTwoSenders: sender A yields (as runPart does); sender
// B's goroutine may start in A's yield window, on A's thread, and take its
// priority there. B keeps its priority while it sends whatever A's follow
// does after, and B's thread goes back to the runtime at its own
// scheduling, not A's priority.
func TestThreadPriorityTwoSenders(t *testing.T) {
	if err := func() error { // may this process ask for SCHED_FIFO?
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var rt threadPriority
		defer rt.restore()
		return rt.set(10)
	}(); err != nil {
		if os.Getenv("NMTEST_REQUIRE") == "1" {
			t.Fatalf("NMTEST_REQUIRE=1: %v", err)
		}
		t.Skipf("SCHED_FIFO refused here (TestThreadPriority checks the refusal): %v", err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	bSet, aFollowed, bDone := make(chan int), make(chan struct{}), make(chan struct{})
	bSched := make(chan [2]int, 2)
	aDone := make(chan struct{})
	go func() { // sender A
		defer close(aDone)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var rt threadPriority
		if err := rt.set(10); err != nil {
			t.Error(err)
			return
		}
		defer rt.restore()
		go func() { // sender B: starts while A yields
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var rt threadPriority
			if err := rt.set(20); err != nil {
				t.Error(err)
			}
			bSet <- syscall.Gettid()
			<-aFollowed
			p, r := threadSched(t)
			bSched <- [2]int{p, r}
			rt.restore()
			p, r = threadSched(t)
			bSched <- [2]int{p, r}
			close(bDone)
		}()
		tidA := syscall.Gettid()
		var y osthread.Yielder
		y.Yield()
		if err := rt.follow(); err != nil {
			t.Error(err)
		}
		tidB := <-bSet
		t.Logf("A on tid %d, back on %d; B on tid %d", tidA, syscall.Gettid(), tidB)
		close(aFollowed)
		<-bDone
	}()
	<-aDone
	s1, s2 := <-bSched, <-bSched
	t.Logf("B while sending: policy %d prio %d (set FIFO 20); B's thread after B's restore: policy %d prio %d", s1[0], s1[1], s2[0], s2[1])
	if s1 != [2]int{1, 20} {
		t.Errorf("B lost its priority while sending: policy %d prio %d", s1[0], s1[1])
	}
	if s2[0] != 0 {
		t.Errorf("B's thread goes back to the runtime at policy %d prio %d", s2[0], s2[1])
	}
}

// TestThreadSleeperHandsOff: a sleep gives the P to the runtime at least
// every handoff.Every, so that with one P another goroutine runnable on it
// runs during the sender's sleep; a clock_nanosleep through the runtime's
// system call path keeps the P (its monitor takes it only from a call
// that spans two of its looks, 20 µs apart at best, and a 1 µs sleep
// does not), and the goroutine would wait for the sender's next yield.
func TestThreadSleeperHandsOff(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var sl threadSleeper
	sl.start()
	defer sl.stop()
	// The sleeper reads ran only after its sleep: with one P the
	// goroutine can have run only on the sleeper's P, given away for the
	// sleep. Three tries a round: the thread woken to take the P may come
	// to its scheduler only after the sleeper woke and queued itself for
	// the P, and the scheduler takes the global queue first once in 61
	// turns (the sleeper, before the goroutine).
	first := true
	for round := range 3 {
		ran := false
		for try := 0; try < 3 && !ran; try++ {
			if !first {
				// Hold the P (spin, no sleep) until a hand-off is due.
				for t0 := time.Now(); time.Since(t0) <= handoff.Every; {
				}
			}
			first = false
			var r atomic.Bool
			go func() { r.Store(true) }()
			sl.sleep(time.Microsecond, time.Now().UnixNano())
			ran = r.Load()
		}
		if !ran {
			t.Fatalf("round %d: in 3 sleeps, each after %v holding the P, a goroutine runnable on the only P never ran during one", round, handoff.Every)
		}
	}
	// A sleeper at a real-time priority keeps its P: no sleep hands off.
	// (When a sleep hands off, a clock stepped back among them, is
	// handoff.Clock's, tested there.)
	var kept threadSleeper
	kept.keepP()
	kept.sleep(time.Microsecond, time.Now().UnixNano())
	if kept.handOffs() != 0 {
		t.Error("a sleeper told keepP handed its P off")
	}
	// Both kinds of sleep allocate nothing.
	now := time.Now().UnixNano()
	before := sl.handOffs()
	if n := testing.AllocsPerRun(100, func() {
		now += int64(handoff.Every)
		sl.sleep(time.Microsecond, now) // hands off
		sl.sleep(time.Microsecond, now) // keeps the P
	}); n != 0 {
		t.Errorf("%v allocations per two sleeps", n)
	}
	if n := sl.handOffs() - before; n != 101 {
		t.Errorf("%d hand-offs in 101 pairs of sleeps, want one a pair", n)
	}
}
