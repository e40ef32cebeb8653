package rings_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// TestConcurrentRings runs a pipeline with one goroutine per ring, as
// netmap applications do, so that the race detector sees every shared
// access the rings package makes:
//
//	producer (A tx0) ──copy──► bridge (B rx0 ─swap─► B tx0) ──copy──► consumer (C rx0)
//	producer2 (A tx1) ──swap──► consumer2 (A rx1)      (same region as the first producer)
//
// Each goroutine syncs only its own ring (through the simulator), and the
// consumers check every packet's bytes and order. Multi-slot packets go
// through the first pipeline.
func TestConcurrentRings(t *testing.T) {
	total := 20000
	if testing.Short() {
		total = 300
	}
	a := region(t, &heapmem.Config{Name: "a", TxRings: 2, RxRings: 2, TxSlots: 61, RxSlots: 61, BufSize: 256})
	b := region(t, &heapmem.Config{Name: "b", TxSlots: 100, RxSlots: 37, BufSize: 512})
	c := region(t, &heapmem.Config{Name: "c", TxSlots: 8, RxSlots: 129, BufSize: 128})
	for _, l := range []struct {
		from   *heapmem.Region
		tx     int
		to     *heapmem.Region
		rx     int
		how    heapmem.LinkMode
		orphan bool
	}{
		{from: a, tx: 0, to: b, rx: 0, how: heapmem.Copy},
		{from: b, tx: 0, to: c, rx: 0, how: heapmem.Copy},
		{from: a, tx: 1, to: a, rx: 1, how: heapmem.Swap},
	} {
		if err := l.from.Connect(l.tx, l.to, l.rx, l.how); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	size := func(seq int) int { return 4 + seq*37%1200 }

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	idle := func() error {
		if time.Now().After(deadline) {
			fa, da, _ := a.Stats(true, 0)
			fb, db, _ := b.Stats(true, 0)
			fc, dc, _ := c.Stats(false, 0)
			fr, dr, _ := b.Stats(false, 0)
			return fmt.Errorf("timed out %d %d / %d %d / %d %d / %d %d", fa, da, fb, db, fc, dc, fr, dr)
		}
		runtime.Gosched()
		return nil
	}
	produce := func(r *heapmem.Region, i int) func() error {
		return func() error {
			tx := txRing(t, r, i)
			for seq := 0; seq < total; {
				// Vary the batch, but never below what the next
				// packet needs.
				n, err := tx.Reserve(max(1+seq%17, (size(seq)+r.BufSize-1)/r.BufSize))
				if err != nil {
					return err
				}
				j := 0
				for j < n && seq < total {
					m, err := tx.WritePacket(j, payload(seq, size(seq)))
					if err == rings.ErrNoSpace {
						break
					}
					if err != nil {
						return err
					}
					j += m
					seq++
				}
				tx.Publish(j)
				if err := r.TxSync(i); err != nil {
					return err
				}
				if j == 0 {
					if err := idle(); err != nil {
						return err
					}
				}
			}
			for tx.InFlight() > 0 {
				if err := r.TxSync(i); err != nil {
					return err
				}
				if err := idle(); err != nil {
					return err
				}
			}
			return nil
		}
	}
	consume := func(r *heapmem.Region, i int) func() error {
		return func() error {
			rx := rxRing(t, r, i)
			dst := make([]byte, 64*r.BufSize)
			stuck := false
			for seq := 0; seq < total; {
				if err := r.RxSync(i); err != nil {
					return err
				}
				// Vary the batch; a packet cut by its end is
				// read again, from its start, with a larger one.
				want := 1 + seq%23
				if stuck {
					want = rx.NumSlots()
				}
				n, err := rx.Acquire(want)
				if err != nil {
					return err
				}
				j := 0
				for j < n {
					m, s, err := rx.ReadPacket(j, dst)
					if err == rings.ErrIncomplete {
						break
					}
					if err != nil {
						return err
					}
					if want := payload(seq, size(seq)); !bytes.Equal(dst[:m], want) {
						return fmt.Errorf("packet %d: got %d bytes (seq %d), want %d", seq, m, binary.BigEndian.Uint32(dst), len(want))
					}
					j += s
					seq++
				}
				rx.Release(j)
				stuck = j == 0 && n > 0
				if j == 0 {
					if err := idle(); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	bridge := func() error {
		rx, tx := rxRing(t, b, 0), txRing(t, b, 0)
		moved := 0
		for {
			if err := b.RxSync(0); err != nil {
				return err
			}
			n, err := rx.Acquire(64)
			if err != nil {
				return err
			}
			m, err := tx.Reserve(n)
			if err != nil {
				return err
			}
			// Forward whole packets only, so a chain never straddles
			// two batches.
			end := 0
			for i := range m {
				if rx.Flags(i)&0x20 == 0 { // NS_MOREFRAG
					end = i + 1
				}
			}
			for i := range end {
				if err := tx.Swap(i, rx, i); err != nil {
					return err
				}
			}
			tx.Publish(end)
			rx.Release(end)
			if err := b.TxSync(0); err != nil {
				return err
			}
			moved += end
			if end == 0 {
				if frames, _, _ := c.Stats(false, 0); frames == total && tx.InFlight() == 0 {
					return nil
				}
				if err := idle(); err != nil {
					return err
				}
			}
		}
	}
	run("producer", produce(a, 0))
	run("bridge", bridge)
	run("consumer", consume(c, 0))
	run("producer2", produce(a, 1))
	run("consumer2", consume(a, 1))
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTimestampConcurrent reads an RX ring's timestamp while "the kernel"
// rewrites it, as netmap's poll does from another thread when the port is
// waited on through the netpoller: the race detector must see no plain
// access. Torn reads (seconds of one write, microseconds of another) are
// only counted: netmap's two stores have no sequence counter, so a read
// that falls between them cannot be told from a consistent one.
func TestTimestampConcurrent(t *testing.T) {
	r := region(t, &heapmem.Config{RxSlots: 8, BufSize: 256})
	rx := rxRing(t, r, 0)
	off := r.RxRingOff(0)
	sec := (*atomic.Int64)(unsafe.Pointer(&r.Mem[off+abi.RingTsSec]))
	usec := (*atomic.Int64)(unsafe.Pointer(&r.Mem[off+abi.RingTsUsec]))
	sec.Store(1_700_000_000)
	usec.Store(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Each write has usec = sec - 1_700_000_000, a pair a torn
		// read would break.
		for k := int64(1); k < 20000; k++ {
			sec.Store(1_700_000_000 + k)
			usec.Store(k)
		}
	}()
	torn := 0
	for {
		ts := rx.Timestamp()
		if ts.Nanosecond()/1000 != int(ts.Unix()-1_700_000_000) {
			torn++
		}
		select {
		case <-done:
			t.Logf("%d torn reads", torn)
			return
		default:
		}
	}
}
