package st2110

import (
	"errors"
	"fmt"
	"runtime"
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
// The thread never goes back to the runtime at that priority: while it is
// set, the sender yields without letting go of its thread (runPart), so
// that no other goroutine ever runs on it; and if restore cannot give the
// thread its scheduling back, it is locked once more, so that the runtime
// ends the thread with its goroutine instead of keeping it.
type threadPriority struct {
	old *unix.SchedAttr // what the thread had, nil while not set
}

// prioritySupported: SCHED_FIFO for a sender's thread is there to ask for.
const prioritySupported = true

// set puts the thread under SCHED_FIFO at priority prio (1 to 99).
func (t *threadPriority) set(prio int) error {
	old, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return fmt.Errorf("sched_getattr: %w", err)
	}
	attr := unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w (needs CAP_SYS_NICE, which root in a container may lack, or an RLIMIT_RTPRIO of at least %d; a cgroup without real-time runtime refuses it too)", prio, err, prio)
		}
		return fmt.Errorf("sched_setattr SCHED_FIFO %d: %w", prio, err)
	}
	t.old = old
	return nil
}

// on reports whether the thread is at the priority set.
func (t *threadPriority) on() bool { return t.old != nil }

// restore gives the thread the scheduling it had before set. The kernel
// refuses a caller without CAP_SYS_NICE that clears SCHED_RESET_ON_FORK,
// so that is asked for with the flag kept; if the thread still cannot
// have it back, it stays locked to its goroutine for good, and the
// runtime ends it when the goroutine ends.
func (t *threadPriority) restore() {
	if t.old == nil {
		return
	}
	err := unix.SchedSetAttr(0, t.old, 0)
	if err != nil {
		keep := *t.old
		keep.Flags |= unix.SCHED_FLAG_RESET_ON_FORK
		err = unix.SchedSetAttr(0, &keep, 0)
	}
	if err != nil {
		runtime.LockOSThread() // never unlocked: the thread goes with its goroutine
	}
	t.old = nil
}
