package st2110

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// panicOf calls f and returns what it panicked with, "" if it did not.
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// within calls f and fails the test if it has not returned in 10 s: a
// lock left held by a recovered panic would make it wait forever.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s has not returned in 10 s: a lock left held?", what)
	}
}

// A flow out of range panics naming the method and the flow count, and
// leaves the sender as it was: a caller that recovers (net/http recovers
// a handler's panic) still gets Stats, and Run and Close go on.
func TestSenderFlowOutOfRange(t *testing.T) {
	sess := twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2")
	tx, err := Dial("udp", sess, &SendConfig{Source: loopOf(t, fmtSmall, randomFrames(fmtSmall, 1, 1)), MaxRate: 100e3, Second: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- tx.Run(ctx) }()
	for tx.Batches() == 0 { // Run runs, and publishes its counts under the lock Stats takes
		select {
		case err := <-runErr:
			t.Fatalf("Run: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	for _, c := range []struct {
		name string
		f    func(k int)
	}{
		{"Stats", func(k int) { tx.Stats(k) }},
		{"Skipped", func(k int) { tx.Skipped(k) }},
		{"PathStats", func(k int) { tx.PathStats(k, 1) }},
	} {
		for _, k := range []int{1, -1, 1 << 30} {
			want := fmt.Sprintf("st2110: Sender.%s(%d): flow out of range [0, 1)", c.name, k)
			if got := panicOf(func() { c.f(k) }); got != want {
				t.Errorf("%s(%d) panicked with %q, want %q", c.name, k, got, want)
			}
			within(t, "Stats(0) after "+c.name, func() { tx.Stats(0) })
		}
	}
	within(t, "Close", func() {
		if err := tx.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := <-runErr; err != nil {
		t.Errorf("Run: %v", err)
	}
	for _, k := range []int{1, -1} { // Analysis, which has an ok, says so
		if _, ok := tx.Analysis(k); ok {
			t.Errorf("Analysis(%d) of a flow that does not exist", k)
		}
	}
}

// The Receiver's methods taking a flow panic alike, with no lock held.
func TestReceiverFlowOutOfRange(t *testing.T) {
	sess := twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2")
	rx, err := Listen("udp", sess, &ListenConfig{Second: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    func(k int)
	}{
		{"Stats", func(k int) { rx.Stats(k) }},
		{"PathStats", func(k int) { rx.PathStats(k, 0) }},
		{"Skew", func(k int) { rx.Skew(k) }},
	} {
		for _, k := range []int{1, -1} {
			want := fmt.Sprintf("st2110: Receiver.%s(%d): flow out of range [0, 1)", c.name, k)
			if got := panicOf(func() { c.f(k) }); got != want {
				t.Errorf("%s(%d) panicked with %q, want %q", c.name, k, got, want)
			}
			within(t, "Stats(0) after "+c.name, func() { rx.Stats(0) })
		}
	}
	within(t, "Close", func() { rx.Close() })
	for _, k := range []int{1, -1} { // Analysis, which has an ok, says so
		if _, ok := rx.Analysis(k); ok {
			t.Errorf("Analysis(%d) of a flow that does not exist", k)
		}
	}
}
