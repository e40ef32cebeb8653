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
	}
}
