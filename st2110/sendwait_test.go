//go:build linux

package st2110

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// slowFlush is a heap TX ring whose flush takes d, as a TX sync on VALE
// takes the switch's forwarding, and which, given tx, records how late
// each flush after the first came: its clock at the flush against the
// time the transmitter gave as the next packet's at the flush before. It
// records too whether the sender waited for that packet: whether the
// flush before ended before the packet was due (else the sender, behind
// its schedule, stepped again at once). With fail set, the first clock
// read after its failAt-th flush fails.
type slowFlush struct {
	*heapTx
	d      time.Duration
	clock  *Clock
	tx     *video.Transmitter
	due    int64
	end    int64
	late   []time.Duration
	waited []bool
	reads  int // of clock, by flush
	n      int
	failAt int
	fail   *atomic.Bool
}

func (f *slowFlush) flush(ctx context.Context) error {
	if f.n++; f.n == f.failAt {
		f.fail.Store(true)
	}
	if f.tx != nil {
		now := f.clock.Now()
		if f.due != 0 {
			f.late = append(f.late, time.Duration(now-f.due))
			f.waited = append(f.waited, f.end < f.due)
		}
		f.due = f.tx.Next()
	}
	time.Sleep(f.d)
	if f.tx != nil {
		f.end = f.clock.Now()
		f.reads += 2
	}
	return f.heapTx.flush(ctx)
}

// countingPHC is a PHC that reads the system clock (37 s ahead, as TAI)
// and counts its reads; after fail is set, one read fails.
func countingPHC(reads *atomic.Int64, fail *atomic.Bool) *Clock {
	return &Clock{src: ClockPHC, leap: 37e9, phc: "/dev/counting", phcNow: func() (int64, error) {
		reads.Add(1)
		if fail.CompareAndSwap(true, false) {
			return 0, errors.New("a PHC read that failed")
		}
		return time.Now().UnixNano() + 37e9, nil
	}}
}

// waitSender builds a sender of one 32-packet frame of fmtSmall at rate
// packets a second onto f, its transport's kind set by hand (the heap
// ring stands for a netmap port's or for a socket's), with cfg's Clock
// and Spin.
func waitSender(t *testing.T, k kind, f *slowFlush, rate float64, clock *Clock, spin time.Duration) *Sender {
	t.Helper()
	q, _ := heapLink(t, 1024)
	f.heapTx = q
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	src := loopOf(t, fmtSmall, randomFrames(fmtSmall, 1, 1))
	s, sources, err := newSenderFrames("vale0:heap", sess, &SendConfig{Clock: clock, Spin: spin, Sources: []video.FrameSource{src}, Count: 1, MaxLag: -1, MaxRate: rate, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.ep.kind = k
	if err := s.build([]txConn{f}, &ethInfo{srcMAC: defaultMAC}, sources); err != nil {
		t.Fatal(err)
	}
	return s
}

// The waits of both kinds of sender: a netmap sender's sleep on its own
// thread, and the Go timer of the others.
var waitKinds = []struct {
	name string
	kind kind
}{{"netmap-sleep", kindNetmap}, {"timer", kindUDP}}

// A sender times its wait for the next packet from the clock read after
// its flush, not before: the flush (a TX sync, on VALE the switch's
// forwarding) between them must not make every packet that much late.
// Each flush here takes 3 ms and the packets are 10 ms apart (MaxRate
// 100): a wait timed from before the flush wakes every packet it waited
// for at least 3 ms late (a sleep never ends early, and it starts after
// the flush); timed after it, each packet only its wake-up latency late.
// So the test asks that the earliest of the packets waited for came less
// than a flush late: on a loaded host many wake-ups are late by
// milliseconds (the median went past 3 ms at a load average of 14 on two
// cores), but not every one of them. The packets sent without a wait,
// the sender behind its schedule, are left out: after the sender was kept
// from its CPU for longer than a few packets (100 to 450 ms, seen at a
// load average of 10 on two cores), it sends the late ones back to back
// (MaxLag -1), each some 6 ms less late than the one before, and a
// 32-packet frame ended before it caught up, every packet more than a
// flush late. As such a stall, or wake-ups all late, can still spoil a
// run, the sender runs up to ten times, and one run that shows a packet
// waited for less than a flush late passes: with the wait timed from
// before the flush, no run can. (At a load average of 10 to 15 on two
// cores, with GOMAXPROCS=1, 150 runs of the test each: with one run of
// the sender and every packet judged, 47 failed; with up to five runs
// and only the packets waited for, 1, its Go timer's wake-ups 2 to 10 ms
// late in all five; with up to ten, none, and the most runs a subtest
// needed was 6.) And the sender sleeps: it reads its clock a few times a
// packet (a loop that did not wait would read it thousands of times),
// counted by a PHC that reads the system clock.
// (The packets are maxSleep apart: a longer wait is cut, and its second
// part was always timed afresh.)
func TestSenderSleepsToSendTime(t *testing.T) {
	const flushTime, runs = 3 * time.Millisecond, 10
	for _, c := range waitKinds {
		t.Run(c.name, func(t *testing.T) {
			for run := 1; ; run++ {
				var reads atomic.Int64
				f := &slowFlush{d: flushTime}
				s := waitSender(t, c.kind, f, 100, countingPHC(&reads, new(atomic.Bool)), 0)
				f.clock, f.tx = s.clock, s.parts[0].tx
				if err := runSender(t, s)(); err != nil {
					t.Fatal(err)
				}
				if len(f.late) < 16 {
					t.Fatalf("%d flushes measured, want at least 16 of a 32-packet frame", len(f.late))
				}
				perPacket := float64(reads.Load()-int64(f.reads)) / float64(f.n)
				if perPacket > 20 {
					t.Errorf("%.1f clock reads a packet: the sender did not wait", perPacket)
				}
				var waited []time.Duration
				for i, d := range f.late {
					if f.waited[i] {
						waited = append(waited, d)
					}
				}
				slices.Sort(waited)
				t.Logf("run %d: %d packets of %d waited for, the earliest %v late after a %v flush; %.1f clock reads a packet; all: %v",
					run, len(waited), len(f.late), waited[:min(1, len(waited))], flushTime, perPacket, f.late)
				if len(waited) > 0 && waited[0] < flushTime {
					return
				}
				if run == runs {
					t.Fatalf("in %d runs no packet waited for came less than a %v flush late: the wait was timed from before the flush", runs, flushTime)
				}
			}
		})
	}
}

// A netmap sender's sleeps on its own thread give its P to the runtime
// (threadSleeper: the first, then one each handoff.Every), counted by its
// part's sleeper, which TestXDPSenderSleeps and TestXDPPriority read too.
// Its 32 packets go 10 ms apart: it sleeps before the second at the
// latest. (That a sleep that hands off lets others run is
// TestThreadSleeperHandsOff's.)
func TestSenderSleepsHandOff(t *testing.T) {
	s := waitSender(t, kindNetmap, &slowFlush{}, 100, countingPHC(new(atomic.Int64), new(atomic.Bool)), 0)
	if err := runSender(t, s)(); err != nil {
		t.Fatal(err)
	}
	if n := s.parts[0].sleep.handOffs(); n == 0 {
		t.Error("a netmap sender sent 32 packets 10 ms apart and its part's sleeper counts no sleep that gave the P to the runtime")
	}
}

// A PHC read that fails (Now gives 0) once does not stall the sender: its
// waits are cut at maxSleep, after which it reads the clock again. A Go
// timer set from that one read used to wait for decades, until the
// context ended.
func TestSenderPHCReadError(t *testing.T) {
	for _, c := range waitKinds {
		t.Run(c.name, func(t *testing.T) {
			var reads atomic.Int64
			var fail atomic.Bool
			f := &slowFlush{failAt: 5, fail: &fail}
			s := waitSender(t, c.kind, f, 100, countingPHC(&reads, &fail), 0)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Run(ctx); err != nil || ctx.Err() != nil {
				t.Fatalf("Run: %v, context %v after %d flushes of 32: one failed PHC read stalled the sender", err, ctx.Err(), f.n)
			}
		})
	}
}

// A PHC whose every read fails (a NIC gone) ends Run after about
// maxClockFailure with an error naming it, whether it fails from the
// start or from the sender's 5th flush on (it used to wait, cut at
// maxSleep, until its context ended); a spin on it ends at once.
func TestSenderPHCGone(t *testing.T) {
	for _, c := range waitKinds {
		for _, failAt := range []int{0, 5} {
			t.Run(fmt.Sprintf("%s/from-flush-%d", c.name, failAt), func(t *testing.T) {
				var gone atomic.Bool
				gone.Store(failAt == 0)
				f := &slowFlush{failAt: failAt, fail: &gone}
				s := waitSender(t, c.kind, f, 100, goneClock(&gone), 0)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				start := time.Now()
				err := s.Run(ctx)
				took := time.Since(start)
				if err == nil || ctx.Err() != nil {
					t.Fatalf("Run: %v after %v, %d flushes (context %v): a PHC that fails every read must end it with an error", err, took, f.n, ctx.Err())
				}
				t.Logf("Run after %v, %d flushes: %v", took, f.n, err)
				if !strings.Contains(err.Error(), "/dev/gone") || !strings.Contains(err.Error(), "no such device") {
					t.Errorf("Run: %v; want the PHC's name and its error", err)
				}
				if took < maxClockFailure {
					t.Errorf("Run ended %v after it began; want at least %v of failed reads", took, maxClockFailure)
				}
			})
		}
	}
	var gone atomic.Bool
	clock := goneClock(&gone)
	done := make(chan int64)
	go func() {
		go func() { time.Sleep(10 * time.Millisecond); gone.Store(true) }()
		done <- spinUntil(context.Background(), clock, clock.Now()+int64(time.Hour), time.Hour)
	}()
	select {
	case spun := <-done:
		t.Logf("spun %v before the PHC failed", time.Duration(spun))
	case <-time.After(5 * time.Second):
		t.Fatal("spinUntil on a PHC whose reads fail did not return")
	}
}

// Run ends with nil, not the clock's error, and at once, when its context
// ends or the sender is closed while its PHC is failing (Sender.now's
// wait between reads looks at the context). The context ends (or Close
// has ended it) while Run is inside its first read of the clock, which
// fails: before maxClockFailure has begun to run, however late the host
// runs the test. Before, the test ended it 100 ms after Run began, and a
// host that ran it a second late would have failed it.
func TestSenderPHCGoneCancel(t *testing.T) {
	for _, c := range waitKinds {
		for _, viaClose := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/close-%v", c.name, viaClose), func(t *testing.T) {
				var gone, held atomic.Bool
				gone.Store(true)
				entered, open := make(chan struct{}), make(chan struct{})
				var once sync.Once
				clock := goneClock(&gone)
				read := clock.phcNow
				clock.phcNow = func() (int64, error) {
					if held.Load() {
						once.Do(func() { close(entered); <-open })
					}
					return read()
				}
				s := waitSender(t, c.kind, &slowFlush{}, 100, clock, 0)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				held.Store(true) // Run's reads, not Dial's
				errc := make(chan error, 1)
				go func() { errc <- s.Run(ctx) }()
				select {
				case <-entered:
				case <-time.After(10 * time.Second):
					t.Fatal("Run did not read its clock in 10 s")
				}
				closed := make(chan struct{})
				if viaClose {
					go func() { s.Close(); close(closed) }()
					waitBlocked(t, "chan receive", "st2110.(*Sender).Close(") // it has cancelled Run's context
				} else {
					cancel()
					close(closed)
				}
				close(open)
				if err := <-errc; err != nil {
					t.Errorf("Run: %v; want nil once its context ended (or Close), before the clock's %v ran out", err, maxClockFailure)
				}
				<-closed
			})
		}
	}
}

// A sender spinning for a packet (a Spin longer than every wait: a
// minute, the packets 10 ms apart) whose TAI clock steps back an hour
// while it spins spins no longer than the wait it spun for, plus
// maxSleep, and counts what it spun on the monotonic clock; then it waits
// for its schedule, an hour on, in cut sleeps. Before, it spun until its
// context ended and counted minus an hour. The clock (a PHC reading the
// system clock) steps at the 100th read made inside spinUntil, and once
// Spun has moved after the step (the spin returned) it ends the context
// with errSpinReturned; the context's deadline of 20 s is only the
// test's safety net (the spin's limit is the wait it is the end of, well
// under a second here, plus maxSleep; the Spin is a minute).
func TestSenderSpinClockStepsBack(t *testing.T) {
	errSpinReturned := errors.New("the spin returned after the clock's step")
	for _, c := range waitKinds {
		t.Run(c.name, func(t *testing.T) {
			timeout, stop := context.WithTimeout(context.Background(), 20*time.Second)
			defer stop()
			ctx, cancel := context.WithCancelCause(timeout)
			defer cancel(nil)
			var (
				s         *Sender
				spinReads int
				back      int64
				spunAt    int64 // Spun at the step
				pcs       [16]uintptr
			)
			clock := &Clock{src: ClockPHC, leap: 37e9, phc: "/dev/stepped", phcNow: func() (int64, error) {
				now := time.Now().UnixNano() + 37e9
				switch {
				case back != 0:
					if int64(s.Spun()) != spunAt {
						cancel(errSpinReturned)
					}
				case inSpinUntil(pcs[:runtime.Callers(2, pcs[:])]):
					if spinReads++; spinReads == 100 {
						back, spunAt = int64(time.Hour), int64(s.Spun())
					}
				}
				return now - back, nil
			}}
			s = waitSender(t, c.kind, &slowFlush{}, 100, clock, time.Minute)
			start := time.Now()
			err := s.Run(ctx)
			took := time.Since(start)
			t.Logf("Run after %v (%v): spun %v, %d reads in spins before the step", took, context.Cause(ctx), s.Spun(), spinReads)
			if err != nil {
				t.Fatal(err)
			}
			if back == 0 {
				t.Fatalf("Run ended (%v) before the clock stepped", context.Cause(ctx))
			}
			if cause := context.Cause(ctx); cause != errSpinReturned {
				t.Errorf("Run ended by %v after %v: the spin went on after the clock stepped back an hour", cause, took)
			}
			if s.Spun() < 0 || s.Spun() > took {
				t.Errorf("spun %v in a run of %v", s.Spun(), took)
			}
		})
	}
}

// inSpinUntil reports whether spinUntil is among the callers pcs.
func inSpinUntil(pcs []uintptr) bool {
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".spinUntil") {
			return true
		}
		if !more {
			return false
		}
	}
}

// A wait longer than maxSleep is cut, and the sender spins (Spin) only
// before the send time, not through the rest of a cut wait: packets 40 ms
// apart with a Spin of 100 µs spun most of the run before.
func TestSenderSpinAfterCutWait(t *testing.T) {
	for _, c := range waitKinds {
		t.Run(c.name, func(t *testing.T) {
			s := waitSender(t, c.kind, &slowFlush{}, 25, nil, 100*time.Microsecond)
			start := time.Now()
			if err := runSender(t, s)(); err != nil {
				t.Fatal(err)
			}
			wall := time.Since(start)
			t.Logf("spun %v of a %v run", s.Spun(), wall)
			if s.Spun() > wall/4 {
				t.Errorf("spun %v of a %v run: the spin ran through the rest of a wait cut at maxSleep", s.Spun(), wall)
			}
		})
	}
}
