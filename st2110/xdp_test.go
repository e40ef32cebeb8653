package st2110

import (
	"math"
	"testing"

	"github.com/nmgo/nmgo/xsk"
)

// TestXDPRxConfig: ListenConfig.ReadBuffer sizes an AF_XDP receiver's
// UMEM in a power of two of frames, within xsk's limits, RX ring alike.
func TestXDPRxConfig(t *testing.T) {
	for _, tc := range []struct{ umem, frames int }{
		{0, 8192}, {1, 64}, {3 << 20, 1024}, {4 << 20, 2048},
		{1 << 30, min(1<<30, xsk.MaxUMEM) / xsk.DefaultFrameSize},
		// The largest: 2^20 frames, fewer where xsk.MaxUMEM is
		// smaller (a 32-bit program).
		{math.MaxInt, xsk.MaxUMEM / xsk.DefaultFrameSize},
	} {
		c := xdpRxConfig(2, tc.umem)
		if c.Frames != tc.frames || c.RxSize != tc.frames || c.Queue != 2 || !c.RxOnly {
			t.Errorf("ReadBuffer %d: %+v, want %d frames", tc.umem, c, tc.frames)
		}
		if c.Bind != xsk.BindZeroCopyOrCopy {
			t.Errorf("ReadBuffer %d: bind %v, want zero-copy where the driver has it (the package doc's promise)", tc.umem, c.Bind)
		}
	}
}

// TestXDPTxConfig: a sender's socket is TX only, binds zero-copy where the
// driver has it, and asks for a TX budget of its batch (at least the
// kernel's 32, at most the TX ring).
func TestXDPTxConfig(t *testing.T) {
	for _, tc := range []struct{ batch, budget int }{{0, 32}, {1, 32}, {64, 64}, {512, 512}, {1 << 20, xsk.DefaultRingSize}} {
		c := xdpTxConfig(3, tc.batch)
		if c.Queue != 3 || !c.TxOnly || c.TxBudget != tc.budget {
			t.Errorf("batch %d: %+v, want a TX-only socket on queue 3 with a budget of %d", tc.batch, c, tc.budget)
		}
		if c.Bind != xsk.BindZeroCopyOrCopy {
			t.Errorf("batch %d: bind %v, want zero-copy where the driver has it (the package doc's promise)", tc.batch, c.Bind)
		}
	}
}
