package st2110

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
)

// goneClock is a PHC that reads the system clock (37 s ahead, as TAI)
// until gone is set, and then fails every read, as one whose NIC was
// removed.
func goneClock(gone *atomic.Bool) *Clock {
	return &Clock{src: ClockPHC, leap: 37e9, phc: "/dev/gone", phcNow: func() (int64, error) {
		if gone.Load() {
			return 0, errors.New("no such device")
		}
		return time.Now().UnixNano() + 37e9, nil
	}}
}

// A receiver stamps the arrivals of batches whose clock read failed with
// the last time it read (never 0, never out of order), and a PHC that
// fails every read ends its readers after about maxClockFailure with an
// error naming it, yielded by Frames, while packets come (and while none
// do: TestUDPReceiverPHCGoneIdle); before, a reader stamped such arrivals
// 0 and went on for ever.
func TestReceiverPHCFails(t *testing.T) {
	t.Run("every-third-read", func(t *testing.T) {
		var reads atomic.Int64
		clk := &Clock{src: ClockPHC, leap: 37e9, phc: "/dev/flaky", phcNow: func() (int64, error) {
			if reads.Add(1)%3 == 0 {
				return 0, errors.New("a read that failed")
			}
			return time.Now().UnixNano() + 37e9, nil
		}}
		rx, tx := phcFlow(t, clk, 25)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wait := runSender(t, tx)
		defer wait()
		n := 0
		var last int64
		for f, err := range rx.Frames(ctx) {
			if err != nil {
				t.Fatalf("after %d frames: %v", n, err)
			}
			if f.Arrival == 0 || f.Arrival < last {
				t.Errorf("frame %d arrived at %d, after one at %d: want a time, in order", n, f.Arrival, last)
			}
			last = f.Arrival
			if n++; n == 20 { // without the fix, a frame whose first batch's read failed arrives at 0: 1 in 3, none of 20 3 in 10^4
				break
			}
		}
		t.Logf("%d frames, %d clock reads", n, reads.Load())
	})
	t.Run("gone", func(t *testing.T) {
		var gone atomic.Bool
		rx, tx := phcFlow(t, goneClock(&gone), 500) // 10 s at 50 frames a second: packets keep coming
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now() // before the first read that can fail
		gone.Store(true)
		runSender(t, tx) // ended by tx.Close in phcFlow's clean-up
		var got error
		n, zero := 0, 0
		for f, err := range rx.Frames(ctx) {
			if err != nil {
				got = err
				break
			}
			if n++; f.Arrival == 0 {
				zero++
			}
		}
		if zero != 0 {
			t.Errorf("%d of %d frames arrived at 0: want the time read before the PHC failed", zero, n)
		}
		took := time.Since(start)
		if got == nil || ctx.Err() != nil {
			t.Fatalf("Frames ended after %v with %v (context %v): want the failing PHC's error", took, got, ctx.Err())
		}
		t.Logf("after %v: %v", took, got)
		if !strings.Contains(got.Error(), "/dev/gone") || !strings.Contains(got.Error(), "no such device") {
			t.Errorf("Frames: %v; want the PHC's name and its error", got)
		}
		if took < maxClockFailure {
			t.Errorf("the reader ended after %v; want at least %v of failed reads", took, maxClockFailure)
		}
	})
}

// phcFlow is a receiver with clock clk of one flow of fmtSmall over UDP
// on the loopback, and a sender of frames frames to it (not running).
func phcFlow(t *testing.T, clk *Clock, frames int) (*Receiver, *Sender) {
	t.Helper()
	sess := session("", flow(fmtSmall, "127.0.0.1:"+strconv.Itoa(int(freePort(t))), ""))
	rx, err := Listen("udp", sess, &ListenConfig{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Close() })
	tx, err := Dial("udp", sess, &SendConfig{Source: loopOf(t, fmtSmall, randomFrames(fmtSmall, frames, 1)), Count: uint64(frames), MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close() })
	return rx, tx
}

// A UDP receiver whose PHC is gone while no datagram comes ends with the
// PHC's error after about maxClockFailure, as a ring reader does: its
// readers read the clock while idle too. Before, a UDP reader read it only
// when datagrams came, so the error went unreported for as long as the
// flows paused.
func TestUDPReceiverPHCGoneIdle(t *testing.T) {
	var gone atomic.Bool
	sess := session("", flow(fmtSmall, "127.0.0.1:"+strconv.Itoa(int(freePort(t))), ""))
	rx, err := Listen("udp", sess, &ListenConfig{Clock: goneClock(&gone)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	start := time.Now()
	gone.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got error
	for _, err := range rx.Frames(ctx) {
		got = err
	}
	if got == nil || ctx.Err() != nil {
		t.Fatalf("Frames ended with %v (context %v): want the PHC's error", got, ctx.Err())
	}
	if !strings.Contains(got.Error(), "/dev/gone") || time.Since(start) < maxClockFailure {
		t.Errorf("after %v: %v; want the PHC's error after at least %v", time.Since(start), got, maxClockFailure)
	}
}

// A receiver of two UDP paths whose PHC is gone holds a frame that the
// first path brought incomplete until the window has passed on its
// clock, which no longer moves: once the flow pauses, only the readers'
// end hands the frame out. They now end on the PHC's error, idle or not,
// and Frames hands out the frame, then the error. Before, the frame
// stayed held, and the error unreported, until packets came again.
func TestDupUDPPHCGone(t *testing.T) {
	var gone atomic.Bool
	sess := twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2")
	rx, err := Listen("udp", sess, &ListenConfig{Second: "udp", Clock: goneClock(&gone)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	gone.Store(true)
	all := rtpDatagrams(t, sess, 1) // to the first path's address
	if len(all) < 3 {
		t.Fatalf("a frame of %d packets", len(all))
	}
	conn, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i, d := range all {
		if i == 1 {
			continue // lost on the first path; the second brings nothing
		}
		if _, err := conn.WriteToUDPAddrPort(d.payload, d.dst); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	var ferr error
	for f, err := range rx.Frames(ctx) {
		if err != nil {
			ferr = err
			break
		}
		if n++; f.Info.Complete {
			t.Error("a frame complete, without its second packet")
		}
	}
	if ferr == nil || !strings.Contains(ferr.Error(), "/dev/gone") {
		t.Fatalf("Frames ended with %v (context %v) after %d frames: want the PHC's error", ferr, ctx.Err(), n)
	}
	if n != 1 {
		t.Errorf("%d frames handed out, want the one held", n)
	}
}

// nowKernel is a ringKernel that records the time each wait is given,
// sleeping a millisecond a wait, and closes the rings after waits
// waits once gone is set.
type nowKernel struct {
	gone  *atomic.Bool
	waits int
	at    []int64 // the times of the waits after gone was set
}

func (k *nowKernel) next(_ int, _ bool, _ uint64, now int64) error {
	time.Sleep(time.Millisecond)
	if !k.gone.Load() {
		k.gone.Store(true) // the clock fails from the next pass on
		return nil
	}
	k.at = append(k.at, now)
	if len(k.at) == k.waits {
		return errRingClosed
	}
	return nil
}

// A ring reader whose PHC fails gives its waits a time that moves on
// (the last read's, plus the time since the reads began to fail), so that
// they still hand its P to the runtime once a millisecond for as long as
// the reader goes on (up to maxClockFailure). Before, they were given
// the last time read, and a hand-off clock never came due: a failing
// second of 892 waits handed off none.
func TestRingWaitTimePHCFails(t *testing.T) {
	var gone atomic.Bool
	s := &rxSink{clock: goneClock(&gone)}
	s.lastAt, _ = s.clock.now()
	k := &nowKernel{gone: &gone, waits: 10}
	pass := func(s *rxSink) (int, bool, error) {
		_, err := s.now()
		return 0, false, err
	}
	if err := runRings(context.Background(), "test", false, k, s, pass); err != nil {
		t.Fatal(err)
	}
	if s.failing.IsZero() {
		t.Fatal("the clock's reads did not fail")
	}
	for i := 1; i < len(k.at); i++ {
		if k.at[i] <= k.at[i-1] {
			t.Fatalf("while the clock failed, wait %d was given %d, after one given %d (waits a millisecond apart): want a time that moves on", i, k.at[i], k.at[i-1])
		}
	}
	var ho handoff.Clock
	for _, at := range k.at {
		ho.Due(at)
	}
	if ho.Count() < 2 {
		t.Errorf("%d of %d waits a millisecond apart, while the clock failed, would hand off", ho.Count(), len(k.at))
	}
}
