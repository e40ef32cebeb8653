package st2110

import "testing"

// TestXDPRxConfig: ListenConfig.ReadBuffer sizes an AF_XDP receiver's
// UMEM in a power of two of frames, within xsk's limits, RX ring alike.
func TestXDPRxConfig(t *testing.T) {
	for _, tc := range []struct{ umem, frames int }{
		{0, 8192}, {1, 64}, {3 << 20, 1024}, {4 << 20, 2048}, {1 << 40, 1 << 20},
	} {
		c := xdpRxConfig(2, tc.umem)
		if c.Frames != tc.frames || c.RxSize != tc.frames || c.Queue != 2 || !c.RxOnly {
			t.Errorf("ReadBuffer %d: %+v, want %d frames", tc.umem, c, tc.frames)
		}
	}
}
