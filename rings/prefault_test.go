package rings_test

import (
	"testing"

	"github.com/nmgo/nmgo/internal/heapmem"
)

// Prefault reads every slot's buffer and counts them; a slot whose buffer
// index the kernel (or anyone) made hostile is skipped, never read.
func TestPrefault(t *testing.T) {
	const slots = 8
	for _, bufSize := range []int{256, 2048, 4096, 9000} {
		r := region(t, &heapmem.Config{TxSlots: slots, RxSlots: slots, BufSize: bufSize})
		tx, rx := txRing(t, r, 0), rxRing(t, r, 0)
		if n := tx.Prefault(); n != slots {
			t.Errorf("buffers of %d: TX Prefault %d, want %d", bufSize, n, slots)
		}
		if n := rx.Prefault(); n != slots {
			t.Errorf("buffers of %d: RX Prefault %d, want %d", bufSize, n, slots)
		}
		r.SetBufIdx(r.TxRingOff(0), 3, 1<<30)
		r.SetBufIdx(r.RxRingOff(0), 0, 1) // 0 and 1 are netmap's reserved buffers
		r.SetBufIdx(r.RxRingOff(0), 7, ^uint32(0))
		if n := tx.Prefault(); n != slots-1 {
			t.Errorf("buffers of %d, one bad TX slot: Prefault %d, want %d", bufSize, n, slots-1)
		}
		if n := rx.Prefault(); n != slots-2 {
			t.Errorf("buffers of %d, two bad RX slots: Prefault %d, want %d", bufSize, n, slots-2)
		}
	}
}
