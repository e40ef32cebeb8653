//go:build linux

package vale_test

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/nmgo/nmgo/nmsys"
)

// TestRxPair: one poll(2) over two Ports' RX rings (a NIC ring pair and
// its host ring pair, for passthrough) sleeps while both are empty, wakes
// for a packet on either, allocates nothing, and ends with ErrClosed soon
// after either Port is closed.
func TestRxPair(t *testing.T) {
	rxa, txa := open(t, "vale17:rx", nil), open(t, "vale17:tx", nil)
	rxb, txb := open(t, "vale18:rx", nil), open(t, "vale18:tx", nil)
	w, err := nmsys.NewRxPair(rxa, rxb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nmsys.NewRxPair(rxa, open(t, "vale19:tx", &nmsys.Config{TxOnly: true})); err == nil {
		t.Error("NewRxPair with a Port that binds no RX ring: no error")
	}
	start := time.Now()
	if err := w.Poll(50 * time.Millisecond); err != nil {
		t.Fatalf("Poll on empty rings: %v", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 2*time.Second {
		t.Errorf("Poll(50ms) on empty rings returned after %v", d)
	}
	for i := range 20 {
		rx, tx := rxa, txa
		if i%2 == 1 {
			rx, tx = rxb, txb
		}
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			done <- w.Poll(5 * time.Second)
		}()
		time.Sleep(time.Duration(i%4) * time.Millisecond)
		send(t, tx, 0, frame(60, uint32(i)))
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Poll %d: %v", i, err)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("Poll %d did not wake for a packet on %s", i, rx.Name())
		}
		if got := recv(t, rx, 0, 1, time.Second); len(got) != 1 {
			t.Fatalf("packet %d: woke but %d packets on %s", i, len(got), rx.Name())
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = w.Poll(0) }); n != 0 {
		t.Errorf("Poll(0): %v allocations per run", n)
	}
	done := make(chan error, 1)
	go func() { done <- w.Poll(time.Minute) }()
	time.Sleep(20 * time.Millisecond)
	closed := time.Now()
	if err := rxb.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, nmsys.ErrClosed) {
			t.Errorf("Poll after Close = %v, want ErrClosed", err)
		}
		t.Logf("Poll(1m) returned %v after Close", time.Since(closed))
	case <-time.After(2 * time.Second):
		// Its poll(2) sleeps in slices of 20 ms; 2 s leaves room for
		// a loaded host's TCG.
		t.Fatal("Poll(1m) still blocked 2s after Close")
	}
}

// TestWaitsHandOffVale: on real netmap ports, the waits that give the
// goroutine's P to the runtime (nmsys.Idler.NextBatchAt, RxPair.PollAt:
// ppoll(2) through internal/handoff, on the wait's first poll) end with
// the packet that came meanwhile, and one a millisecond is counted. (That
// the P goes is nmsys's TestHandOffWaits and TestRxPairHandOff.)
func TestWaitsHandOffVale(t *testing.T) {
	rxa, txa := open(t, "vale20:rx", nil), open(t, "vale20:tx", nil)
	rxb, txb := open(t, "vale21:rx", nil), open(t, "vale21:tx", nil)
	w, err := nmsys.NewRxPair(rxa, rxb)
	if err != nil {
		t.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := nmsys.Idler{Poll: 5 * time.Second}
	const rounds = 20
	for i := range rounds {
		rx, tx := rxa, txa
		if i%2 == 1 {
			rx, tx = rxb, txb
		}
		go func() {
			time.Sleep(time.Duration(1+i%3) * time.Millisecond)
			send(t, tx, 0, frame(60, uint32(i)))
		}()
		start := time.Now()
		if i%2 == 0 {
			err = d.NextBatchAt(rx, 0, false, 0, start.UnixNano())
		} else {
			err = w.PollAt(5*time.Second, start.UnixNano())
		}
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Fatalf("round %d: the wait took %v for a packet sent after 1 to 3 ms", i, el)
		}
		if got := recv(t, rx, 0, 1, time.Second); len(got) != 1 {
			t.Fatalf("round %d: woke but %d packets on %s", i, len(got), rx.Name())
		}
	}
	// Each round's time is a millisecond or more after the last: every
	// wait hands off.
	if a, b := d.HandOffs(), w.HandOffs(); a != rounds/2 || b != rounds/2 {
		t.Errorf("%d and %d waits handed the P off, want %d each", a, b, rounds/2)
	}
}
