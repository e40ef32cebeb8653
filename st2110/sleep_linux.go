package st2110

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// A sender that owns its OS thread on a netmap port sleeps between its
// packets' send times in clock_nanosleep(2) on that thread, with the thread's timer slack at 1 ns: Go's timers wake a
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
	slack int // the thread's timer slack before start, ns; -1 unknown
}

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
// rest of it again after a signal.
func (t *threadSleeper) sleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
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
// Across a yield (osthread.Yielder) the thread keeps the priority: given
// back and taken again, the sender waited behind whatever ran on its CPU
// meanwhile, up to milliseconds, every few milliseconds. For the moment
// of the yield the runtime may run other goroutines on the thread at that
// priority; follow, after the yield, moves the priority with the
// goroutine if it came back on another thread.
type threadPriority struct {
	old  *unix.SchedAttr // what the thread had, nil while not set
	tid  int             // the thread set
	prio int
}

// set puts the thread under SCHED_FIFO at priority prio (1 to 99).
func (t *threadPriority) set(prio int) error {
	old, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return fmt.Errorf("sched_getattr: %w", err)
	}
	attr := unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w (needs root or CAP_SYS_NICE, and an RLIMIT_RTPRIO of at least the priority)", prio, err)
		}
		return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w", prio, err)
	}
	t.old, t.tid, t.prio = old, unix.Gettid(), prio
	return nil
}

// follow, after the goroutine let go of its thread for a moment, gives
// the priority to the thread it holds now if that is another, and the
// first thread its own scheduling back.
func (t *threadPriority) follow() error {
	if t.old == nil || unix.Gettid() == t.tid {
		return nil
	}
	_ = unix.SchedSetAttr(t.tid, t.old, 0)
	t.old = nil
	return t.set(t.prio)
}

// restore gives the thread the scheduling it had before set.
func (t *threadPriority) restore() {
	if t.old != nil {
		_ = unix.SchedSetAttr(t.tid, t.old, 0)
		t.old = nil
	}
}
