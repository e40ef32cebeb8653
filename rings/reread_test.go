package rings_test

import (
	"errors"
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// TestReadOnce: every method that finds a bad value in shared memory
// decides on that one read. Each case puts a bad value in the region; the
// hook, which the rings package runs first on the path after a failed
// check, puts a good value back, as a kernel (or another process) writing
// at that moment would. The method must still report the bad value it
// read, as an integrity error, and never a result that neither read
// supports (such as Bytes' (0, nil): neither the true total nor an error).
// The hook must run exactly once, so that each case exercises the path it
// names.
func TestReadOnce(t *testing.T) {
	const slots, bufSize = 8, 256
	type env struct {
		r  *heapmem.Region
		tx *rings.TxRing
		rx *rings.RxRing
		x  *rings.ExtraBufs
	}
	// rxWith returns an env whose RX ring holds n received packets of 100
	// octets.
	rxWith := func(t *testing.T, n int) *env {
		r := region(t, &heapmem.Config{TxSlots: slots, RxSlots: slots, BufSize: bufSize, ExtraBufs: 4})
		for i := range n {
			if !r.Inject(0, payload(i, 100)) {
				t.Fatal("inject")
			}
		}
		if err := r.RxSync(0); err != nil {
			t.Fatal(err)
		}
		e := &env{r: r, tx: txRing(t, r, 0), rx: rxRing(t, r, 0)}
		x, err := rings.NewExtraBufs(r.Mem, r.IfOff, r.TxRingOff(0), 0)
		if err != nil {
			t.Fatal(err)
		}
		e.x = x
		return e
	}
	rxOff := func(e *env) int { return e.r.RxRingOff(0) }
	txOff := func(e *env) int { return e.r.TxRingOff(0) }
	const badLen, badIdx = 60000, 1 << 30
	for _, c := range []struct {
		name  string
		n     int // packets received; 0 means 2
		field string
		value int64
		bad   func(e *env) // before the call
		good  func(e *env) // in the hook
		call  func(e *env) error
	}{{
		name: "RxRing.Bytes", field: "len", value: badLen,
		bad:  func(e *env) { e.r.SetLen(rxOff(e), 0, badLen) },
		good: func(e *env) { e.r.SetLen(rxOff(e), 0, 100) },
		call: func(e *env) error {
			e.rx.Acquire(slots)
			n, err := e.rx.Bytes()
			if err == nil {
				return errors.New("Bytes: no error, total " + itoa(n))
			}
			return err
		},
	}, {
		name: "RxRing.Len", field: "len", value: badLen,
		bad:  func(e *env) { e.r.SetLen(rxOff(e), 1, badLen) },
		good: func(e *env) { e.r.SetLen(rxOff(e), 1, 100) },
		call: func(e *env) error { e.rx.Acquire(slots); _, err := e.rx.Len(1); return err },
	}, {
		name: "RxRing.Packet", field: "len", value: badLen,
		bad:  func(e *env) { e.r.SetLen(rxOff(e), 0, badLen) },
		good: func(e *env) { e.r.SetLen(rxOff(e), 0, 100) },
		call: func(e *env) error { e.rx.Acquire(slots); _, err := e.rx.Packet(0); return err },
	}, {
		name: "RxRing.Slot", field: "buf_idx", value: badIdx,
		bad:  func(e *env) { e.r.SetBufIdx(rxOff(e), 0, badIdx) },
		good: func(e *env) { e.r.SetBufIdx(rxOff(e), 0, 20) },
		call: func(e *env) error { e.rx.Acquire(slots); _, _, err := e.rx.Slot(0); return err },
	}, {
		name: "RxRing.View", field: "buf_idx", value: badIdx,
		bad:  func(e *env) { e.r.SetBufIdx(rxOff(e), 1, badIdx) },
		good: func(e *env) { e.r.SetBufIdx(rxOff(e), 1, 20) },
		call: func(e *env) error {
			pkts := make([][]byte, slots)
			n, err := e.rx.View(pkts)
			if n != 2 || pkts[1] != nil {
				return errors.New("View handed out the slot it found bad")
			}
			return err
		},
	}, {
		name: "RxRing.ReadPacket", field: "len", value: badLen,
		bad:  func(e *env) { e.r.SetFlags(rxOff(e), 0, abi.NS_MOREFRAG); e.r.SetLen(rxOff(e), 1, badLen) },
		good: func(e *env) { e.r.SetLen(rxOff(e), 1, 100) },
		call: func(e *env) error {
			e.rx.Acquire(slots)
			_, _, err := e.rx.ReadPacket(0, make([]byte, 1000))
			return err
		},
	}, {
		name: "RxRing.ReadPacket fills the ring", n: slots - 1, field: "flags", value: abi.NS_MOREFRAG,
		bad: func(e *env) {
			for i := range slots - 1 {
				e.r.SetFlags(rxOff(e), i, abi.NS_MOREFRAG)
			}
		},
		good: func(e *env) { e.r.SetFlags(rxOff(e), slots-2, 0) },
		call: func(e *env) error {
			e.rx.Acquire(slots)
			_, _, err := e.rx.ReadPacket(0, make([]byte, 4000))
			return err
		},
	}, {
		name: "RxRing.Acquire", field: "tail", value: 99,
		bad:  func(e *env) { e.r.SetTail(rxOff(e), 99) },
		good: func(e *env) { e.r.SetTail(rxOff(e), 2) },
		call: func(e *env) error { _, err := e.rx.Acquire(slots); return err },
	}, {
		name: "RxRing.Reset", field: "head", value: 99,
		bad:  func(e *env) { e.r.SetHead(rxOff(e), 99) },
		good: func(e *env) { e.r.SetHead(rxOff(e), 0) },
		call: func(e *env) error { return e.rx.Reset() },
	}, {
		name: "RxRing.SwapBuf", field: "buf_idx", value: badIdx,
		bad:  func(e *env) { e.r.SetBufIdx(rxOff(e), 0, badIdx) },
		good: func(e *env) { e.r.SetBufIdx(rxOff(e), 0, 20) },
		call: func(e *env) error {
			e.rx.Acquire(slots)
			idx, err := e.x.Get()
			if err != nil {
				return err
			}
			_, err = e.rx.SwapBuf(0, idx)
			return err
		},
	}, {
		name: "TxRing.Reserve", field: "buf_idx", value: badIdx,
		bad:  func(e *env) { e.r.SetBufIdx(txOff(e), 3, badIdx) },
		good: func(e *env) { e.r.SetBufIdx(txOff(e), 3, 4) },
		call: func(e *env) error {
			n, err := e.tx.Reserve(slots)
			if n != 3 {
				return errors.New("Reserve reserved past the bad slot")
			}
			return err
		},
	}, {
		name: "TxRing.WritePacket", field: "buf_idx", value: badIdx,
		bad:  func(e *env) {},
		good: func(e *env) { e.r.SetBufIdx(txOff(e), 0, 2) },
		call: func(e *env) error {
			e.tx.Reserve(slots)
			e.r.SetBufIdx(txOff(e), 0, badIdx)
			_, err := e.tx.WritePacket(0, payload(0, 100))
			return err
		},
	}, {
		name: "TxRing.Swap", field: "len", value: badLen,
		bad:  func(e *env) { e.r.SetLen(rxOff(e), 0, badLen) },
		good: func(e *env) { e.r.SetLen(rxOff(e), 0, 100) },
		call: func(e *env) error {
			e.tx.Reserve(slots)
			e.rx.Acquire(slots)
			return e.tx.Swap(0, e.rx, 0)
		},
	}, {
		name: "ExtraBufs.Get", field: "next", value: badIdx,
		bad:  func(e *env) { e.r.PutU32(e.r.BufOff+int(e.r.ExtraHead)*bufSize, badIdx) },
		good: func(e *env) { e.r.PutU32(e.r.BufOff+int(e.r.ExtraHead)*bufSize, e.r.ExtraHead+1) },
		call: func(e *env) error { _, err := e.x.Get(); return err },
	}, {
		name: "NewRxRing", field: "num_slots", value: 1 << 30,
		bad:  func(e *env) { e.r.PutU32(rxOff(e)+abi.RingNumSlots, 1<<30) },
		good: func(e *env) { e.r.PutU32(rxOff(e)+abi.RingNumSlots, slots) },
		call: func(e *env) error { _, err := rings.NewRxRing(e.r.Mem, rxOff(e)); return err },
	}, {
		name: "NewExtraBufs", field: "buf_idx", value: badIdx,
		bad:  func(e *env) { e.r.PutU32(e.r.BufOff+int(e.r.ExtraHead+1)*bufSize, badIdx) },
		good: func(e *env) { e.r.PutU32(e.r.BufOff+int(e.r.ExtraHead+1)*bufSize, e.r.ExtraHead+2) },
		call: func(e *env) error {
			_, err := rings.NewExtraBufs(e.r.Mem, e.r.IfOff, e.r.TxRingOff(0), 0)
			return err
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			e := rxWith(t, max(c.n, 2))
			c.bad(e)
			calls := 0
			defer rings.SetCheckFailedHook(func() {
				calls++
				c.good(e)
			})()
			err := c.call(e)
			var ie *rings.IntegrityError
			if !errors.As(err, &ie) || ie.Field != c.field || ie.Value != c.value {
				t.Fatalf("got %v; want an integrity error on %s %d, the value read", err, c.field, c.value)
			}
			if calls != 1 {
				t.Errorf("the failed-check path ran %d times, want 1", calls)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
