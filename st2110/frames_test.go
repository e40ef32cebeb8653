package st2110

import (
	"context"
	"testing"
	"time"
)

// A loop body that panics, recovered as a supervisor would, gives its
// frame back: with one buffer a flow, a later loop gets the rest of the
// capture (else the reader would wait for that buffer forever).
func TestFramesBodyPanicGivesFrameBack(t *testing.T) {
	sess := pcapFlows()
	const n = 6
	frames := [][]byte{randomFrames(fmtSmall, n, 1), randomFrames(fmtSmall, n, 2), randomFrames(fmtSD, n, 3)}
	name, _ := writeCapture(t, sess, frames, n)
	rx, err := Listen("pcap:"+name, sess, &ListenConfig{FrameBuffers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// A guard against the hang, not a measure of time.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := 0
	func() {
		defer func() {
			if r := recover(); r != "body" {
				t.Errorf("recovered %v", r)
			}
		}()
		for f, err := range rx.Frames(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			got++
			if f.Flow == 2 {
				panic("body")
			}
		}
	}()
	for _, err := range rx.Frames(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got++
	}
	if ctx.Err() != nil {
		t.Fatalf("%d frames of %d, then the loop waited until its context ended", got, 3*n)
	}
	if got != 3*n {
		t.Errorf("%d frames of %d", got, 3*n)
	}
}
