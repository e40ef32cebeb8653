package st2110

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
	"golang.org/x/sys/unix"
)

// A sender that owns its OS thread (a netmap port, an AF_XDP socket)
// sleeps between its packets' send times in clock_nanosleep(2) on that
// thread, with the thread's timer slack at 1 ns: Go's timers wake a
// goroutine up to a millisecond late (the runtime's poller waits in whole
// milliseconds), and a thread's default slack lets the kernel wake it 50 µs
// late, where a narrow ST 2110-21 schedule needs a few microseconds (a
// burst of 6 packets every 22 µs at 1080p59.94). A sleep yields the CPU to
// the receiver, the kernel and other programs, which a spin does not.

// threadSleeper sleeps the calling OS thread, which it must own
// (runtime.LockOSThread) from start to stop. A goroutine that lets go of
// its thread for a moment (osthread.Yielder) calls stop before and start
// after, on the thread it then holds: a thread the runtime takes back must
// not keep the 1 ns slack, which every process forked from it would
// inherit as its default (a Go program forked so has its monitor wake
// every 20 µs exactly instead of within the default 50 µs).
type threadSleeper struct {
	slack int           // the thread's timer slack before start, ns; -1 unknown
	ho    handoff.Clock // when a sleep gives the P to the runtime
}

// handOffs returns how many sleeps gave the P to the runtime.
func (t *threadSleeper) handOffs() uint64 { return t.ho.Count() }

// keepP makes every sleep keep the goroutine's P, for a sender whose
// thread runs at a real-time priority (threadPriority), which takes its
// CPU from every ordinary thread, the one the runtime would wake to take
// the P among them: in the netmap VM's one vCPU (icount, 1080p59.94 over
// VALE to vrx, vtx -rt 50, a burst a sync) bursts of 6 went as well either
// way, but at bursts of 4, where vrx is starved and loses packets either
// way, the sender handing off every millisecond took 1.9 s of CPU for
// 2.1 s and sent 37,496 packets late, against 0.38 s and none keeping it.
func (t *threadSleeper) keepP() { t.ho.Keep() }

// start sets the thread's timer slack to 1 ns, if it can read the slack
// to give back.
func (t *threadSleeper) start() {
	if t.slack = timerSlack(); t.slack < 0 {
		return // it could not be given back: sleep with the thread's own
	}
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
}

// timerSlack returns the calling thread's timer slack in ns, -1 if it
// cannot be read.
func timerSlack() int {
	s, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return -1
	}
	return s
}

// stop gives the thread its timer slack back, before it is unlocked.
func (t *threadSleeper) stop() {
	if t.slack >= 0 {
		_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(t.slack), 0, 0, 0)
	}
}

// sleep sleeps for d on CLOCK_MONOTONIC (the Clock's time, TAI or PTP,
// runs at its rate to within parts per million over these waits), the
// rest of it again after a signal. now is the time on the caller's
// clock, in nanoseconds, read just before (the sleep reads none itself: a
// clock read is a system call where the clock source has no vDSO, as in
// the netmap VM, and one more a sleep there made a sender at a real-time
// priority fall behind its schedule).
//
// Every handoff.Every a sleep gives the goroutine's P to the runtime for
// the sleep, so that other goroutines of the process run on it (a
// receiver's consumer, timers, the garbage collector's workers): a sleep
// through the runtime's system call keeps the P, and a sender waking every
// 20 µs would otherwise hold it from one yield to the next (7 ms). A
// threadSleeper's first sleep hands off, and so does one whose now is
// before the last hand-off's (a clock stepped back). The thread stays the sender's
// through the sleep (the P goes to another thread), and so does its
// timer slack.
func (t *threadSleeper) sleep(d time.Duration, now int64) {
	ts := unix.NsecToTimespec(int64(d))
	if t.ho.Due(now) {
		if handoff.Nanosleep((*syscall.Timespec)(&ts)) != syscall.EINTR {
			return
		}
		// The rest after a signal (a profiler's SIGPROF) keeps the P it
		// took back: one hand-off a sleep.
	}
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, &ts) == unix.EINTR {
	}
}

// threadPriority runs the calling OS thread, which it must own from set to
// restore, under SCHED_FIFO: at each send time the sender then takes its
// CPU back from any normal thread at once (the kernel's own wake-up
// preemption lets a busy receiver run on for up to milliseconds), which a
// narrow schedule on a CPU shared with other work needs. The thread's
// scheduling before is given back at restore; a process forked from the
// thread starts with the default policy (SCHED_RESET_ON_FORK).
//
// Across a yield (osthread.Yielder, every 7 ms) the thread keeps the
// priority: given back and taken again, or held through the yield, the
// sender waited behind whatever ran on its CPU meanwhile (Cinst 91 to 195
// in the one-CPU VM, against 8). For the moment of the yield the runtime
// may run other goroutines on the thread at that priority; follow, after
// it, moves the priority with the goroutine if it came back on another
// thread. Which threads hold a sender's priority, and what each had
// before, is kept for the process (prioThreads), so that a second sender
// that starts on a thread the first left at its priority takes the
// thread's own scheduling as the one to give back, and the first, back on
// another thread, leaves that one to it.
type threadPriority struct {
	tid  int // the thread set, 0 while not
	prio int
}

// prioThread is a thread a sender has set: what it had before, and which
// sender holds it.
type prioThread struct {
	old   unix.SchedAttr
	owner *threadPriority
}

var (
	prioMu      sync.Mutex
	prioThreads = map[int]*prioThread{}
)

// prioritySupported: SCHED_FIFO for a sender's thread is there to ask for.
const prioritySupported = true

// set puts the calling thread under SCHED_FIFO at priority prio (1 to 99).
func (t *threadPriority) set(prio int) error {
	prioMu.Lock()
	defer prioMu.Unlock()
	return t.setLocked(prio)
}

func (t *threadPriority) setLocked(prio int) error {
	tid := unix.Gettid()
	pt := prioThreads[tid]
	if pt == nil {
		old, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			return fmt.Errorf("sched_getattr: %w", err)
		}
		pt = &prioThread{old: *old}
	}
	attr := unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w (needs CAP_SYS_NICE, which root in a container may lack, or an RLIMIT_RTPRIO of at least %d; a cgroup without real-time runtime refuses it too)", prio, err, prio)
		}
		return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w", prio, err)
	}
	pt.owner = t
	prioThreads[tid] = pt
	t.tid, t.prio = tid, prio
	return nil
}

// on reports whether the sender holds a thread at its priority.
func (t *threadPriority) on() bool { return t.tid != 0 }

// follow, after the goroutine let go of its thread for a moment, gives
// the priority to the thread it holds now if that is another, and the
// first thread its own scheduling back unless another sender holds it
// now.
func (t *threadPriority) follow() error {
	if t.tid == 0 {
		return nil
	}
	prioMu.Lock()
	defer prioMu.Unlock()
	pt := prioThreads[t.tid]
	if unix.Gettid() == t.tid && pt != nil && pt.owner == t {
		return nil // back on its own thread, still its
	}
	if unix.Gettid() != t.tid && pt != nil && pt.owner == t {
		if giveBack(t.tid, &pt.old) {
			delete(prioThreads, t.tid)
		} else {
			pt.owner = nil // kept: its own scheduling stays known
		}
	}
	t.tid = 0
	return t.setLocked(t.prio)
}

// restore gives the thread the scheduling it had before set. If it
// cannot, the thread stays locked to its goroutine for good, and the
// runtime ends it when the goroutine ends.
func (t *threadPriority) restore() {
	if t.tid == 0 {
		return
	}
	prioMu.Lock()
	defer prioMu.Unlock()
	if pt := prioThreads[t.tid]; pt != nil && pt.owner == t {
		if !giveBack(t.tid, &pt.old) && unix.Gettid() == t.tid {
			runtime.LockOSThread() // never unlocked: the thread goes with its goroutine
		}
		delete(prioThreads, t.tid)
	}
	t.tid = 0
}

// giveBack sets thread tid's scheduling to old, and reports whether it
// could. The kernel refuses a caller without CAP_SYS_NICE that clears
// SCHED_RESET_ON_FORK, so that is asked for with the flag kept.
func giveBack(tid int, old *unix.SchedAttr) bool {
	if unix.Tgkill(unix.Getpid(), tid, 0) != nil {
		return true // the thread has ended (its id may be another's now)
	}
	if unix.SchedSetAttr(tid, old, 0) == nil {
		return true
	}
	keep := *old
	keep.Flags |= unix.SCHED_FLAG_RESET_ON_FORK
	return unix.SchedSetAttr(tid, &keep, 0) == nil
}
