package vale_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/rings"
)

const seqPackets = 1_000_000

// seqSender sends count frames numbered 0..count-1 on port's TX ring 0. If
// window > 0 it keeps at most window frames beyond *acked in flight (VALE
// drops what a full receiver ring cannot take, so the test paces the
// sender on the receiver, as flow control above VALE would).
func seqSender(p *nmsys.Port, count uint32, size int, window uint32, acked *atomic.Uint32) error {
	tx, err := p.TxRing(p.Info().FirstTx)
	if err != nil {
		return err
	}
	f := frame(size, 0)
	for seq := uint32(0); seq < count; {
		want := min(512, count-seq)
		if window > 0 {
			inflight := seq - acked.Load()
			if acked.Load() == ^uint32(0) {
				return errors.New("receiver gave up")
			}
			if inflight >= window {
				time.Sleep(20 * time.Microsecond)
				continue
			}
			want = min(want, window-inflight)
		}
		n, err := tx.Reserve(int(want))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			b := tx.Buf(i)
			if b == nil { // buffer index went bad: the port was closed and its region parked
				return fmt.Errorf("slot %d: %w", i, rings.ErrIntegrity)
			}
			copy(b, f)
			binary.BigEndian.PutUint32(b[14:], seq+uint32(i))
			tx.SetLen(i, size)
		}
		tx.Publish(n)
		seq += uint32(n)
		if n == 0 {
			if err := p.WaitTx(); err != nil {
				return err
			}
			continue
		}
		if err := p.TxSync(); err != nil {
			return err
		}
	}
	for tx.InFlight() > 0 {
		if err := p.TxSync(); err != nil {
			return err
		}
		time.Sleep(50 * time.Microsecond)
	}
	return nil
}

// seqReceiver receives count frames on port's RX ring 0 and checks their
// numbers arrive in order, none lost or repeated, with the right payload.
func seqReceiver(p *nmsys.Port, count uint32, size int, acked *atomic.Uint32) error {
	rx, err := p.RxRing(p.Info().FirstRx)
	if err != nil {
		return err
	}
	want := frame(size, 0)
	p.SetReadDeadline(time.Now().Add(120 * time.Second))
	var next uint32
	for next < count {
		n, err := rx.Acquire(512)
		if err != nil {
			return err
		}
		if n == 0 {
			if err := p.WaitRx(); err != nil {
				return fmt.Errorf("after %d frames: %w", next, err)
			}
			continue
		}
		for i := 0; i < n; i++ {
			pkt, err := rx.Packet(i)
			if err != nil {
				return err
			}
			if len(pkt) != size {
				return fmt.Errorf("frame %d: %d bytes, want %d", next, len(pkt), size)
			}
			if got := binary.BigEndian.Uint32(pkt[14:]); got != next {
				return fmt.Errorf("frame %d carries sequence %d: lost or reordered", next, got)
			}
			if !bytes.Equal(pkt[18:], want[18:]) || !bytes.Equal(pkt[:14], want[:14]) {
				return fmt.Errorf("frame %d: payload differs", next)
			}
			next++
		}
		rx.Release(n)
		if err := p.RxSync(); err != nil {
			return err
		}
		if acked != nil { // only now are the slots back with the kernel
			acked.Store(next)
		}
	}
	return nil
}

func runSeq(t *testing.T, txp, rxp *nmsys.Port, window uint32) {
	runSeqN(t, txp, rxp, window, seqPackets)
}

func runSeqN(t *testing.T, txp, rxp *nmsys.Port, window, count uint32) {
	var acked atomic.Uint32
	var wg sync.WaitGroup
	var txErr, rxErr error
	start := time.Now()
	wg.Add(2)
	go func() {
		defer wg.Done()
		if rxErr = seqReceiver(rxp, count, 60, &acked); rxErr != nil {
			acked.Store(^uint32(0))
		}
	}()
	go func() { defer wg.Done(); txErr = seqSender(txp, count, 60, window, &acked) }()
	wg.Wait()
	if txErr != nil {
		t.Errorf("sender %s: %v", txp.Name(), txErr)
	}
	if rxErr != nil {
		t.Errorf("receiver %s: %v", rxp.Name(), rxErr)
		return
	}
	d := time.Since(start)
	t.Logf("%s -> %s: %d frames in order, 0 lost, 0 reordered, in %v (%.0f pps)", txp.Name(), rxp.Name(), count, d.Round(time.Millisecond), float64(count)/d.Seconds())
}

// TestPipeSequence carries 10^6 numbered frames through a netmap pipe.
func TestPipeSequence(t *testing.T) {
	parent := uniq("sq")
	m := open(t, "netmap:"+parent+"{1", nil)
	s := open(t, "netmap:"+parent+"}1", nil)
	runSeq(t, m, s, 0)
}

// TestVALESequence carries 10^6 numbered frames between two VALE ports.
func TestVALESequence(t *testing.T) {
	a := open(t, "vale10:a", &nmsys.Config{TxOnly: true})
	b := open(t, "vale10:b", &nmsys.Config{RxOnly: true, NoTxPoll: true, RxSlots: 1024})
	runSeq(t, a, b, 512)
}

// TestZeroCopyBridge forwards frames from VALE switch vale11 to vale12 by
// swapping buffers between the RX ring of one port and the TX ring of
// another port in the same memory region, and checks them byte-exact.
func TestZeroCopyBridge(t *testing.T) {
	src := open(t, "vale11:src", nil)
	in := open(t, "vale11:in", nil)
	out := open(t, "vale12:out", &nmsys.Config{MemID: in.Info().MemID})
	dst := open(t, "vale12:dst", nil)
	if in.Info().MemID != out.Info().MemID {
		t.Fatalf("bridge ports in regions %d and %d", in.Info().MemID, out.Info().MemID)
	}
	inRx, err := in.RxRing(0)
	if err != nil {
		t.Fatal(err)
	}
	outTx, err := out.TxRing(0)
	if err != nil {
		t.Fatal(err)
	}
	const total = 2000
	var want [][]byte
	for i := range total {
		want = append(want, frame(60+(i*37)%1455, uint32(i)))
	}
	var got [][]byte
	sent, bridged := 0, 0
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < total && time.Now().Before(deadline) {
		if sent < total {
			k := min(total-sent, 64)
			send(t, src, 0, want[sent:sent+k]...)
			sent += k
		}
		// Bridge: every received slot's buffer goes to the TX ring.
		if err := in.RxSync(); err != nil {
			t.Fatal(err)
		}
		n, err := inRx.Acquire(256)
		if err != nil {
			t.Fatal(err)
		}
		m, err := outTx.Reserve(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < m; i++ {
			if err := outTx.Swap(i, inRx, i); err != nil {
				t.Fatal(err)
			}
		}
		outTx.Publish(m)
		inRx.Release(m)
		bridged += m
		if err := out.TxSync(); err != nil {
			t.Fatal(err)
		}
		got = append(got, recv(t, dst, 0, total-len(got), time.Millisecond)...)
	}
	if len(got) != total {
		t.Fatalf("received %d of %d frames (%d bridged)", len(got), total, bridged)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d differs", i)
		}
	}
	t.Logf("%d frames bridged zero-copy, byte-exact", total)
}

// TestMoreFrag sends frames larger than one buffer as NS_MOREFRAG chains
// through VALE and reassembles them on the other side.
func TestMoreFrag(t *testing.T) {
	a := open(t, "vale13:a", nil)
	b := open(t, "vale13:b", nil)
	tx, rx := ringPair(t, a, b)
	sizes := []int{2048, 2049, 4000, 6000, 9000, 16000}
	var want [][]byte
	for i, n := range sizes {
		want = append(want, frame(n, uint32(i)))
	}
	n, err := tx.Reserve(tx.Space())
	if err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, f := range want {
		k, err := tx.WritePacket(used, f)
		if err != nil {
			t.Fatal(err)
		}
		used += k
	}
	if used > n {
		t.Fatalf("used %d of %d reserved slots", used, n)
	}
	tx.Publish(used)
	if err := a.TxSync(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames in %d slots", len(want), used)
	buf := make([]byte, 65536)
	var got [][]byte
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < len(want) && time.Now().Before(deadline) {
		if err := b.RxSync(); err != nil {
			t.Fatal(err)
		}
		n, err := rx.Acquire(rx.NumSlots())
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for i < n {
			l, k, err := rx.ReadPacket(i, buf)
			if errors.Is(err, rings.ErrIncomplete) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, bytes.Clone(buf[:l]))
			i += k
		}
		rx.Release(i)
	}
	if len(got) != len(want) {
		t.Fatalf("reassembled %d of %d frames", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d (%d bytes): got %d bytes, differs", i, len(want[i]), len(got[i]))
		}
	}
}

// TestCloseDuringTraffic closes both ports while goroutines send and
// receive at full rate through ring views. The goroutines must end with
// ErrClosed (or an integrity error from the parked region), nothing may
// fault, and no fd or netmap mapping may remain.
func TestCloseDuringTraffic(t *testing.T) {
	nmtest.Require(t)
	fds, maps := fdCount(t), netmapMappings(t)
	for round := range 5 {
		txp, err := nmsys.Open("vale14:tx", nil)
		if err != nil {
			t.Fatal(err)
		}
		rxp, err := nmsys.Open("vale14:rx", nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var txErr, rxErr error
		var received atomic.Uint64
		wg.Add(2)
		go func() {
			defer wg.Done()
			txErr = seqSender(txp, 1<<31, 60, 0, nil)
		}()
		go func() {
			defer wg.Done()
			rx, err := rxp.RxRing(0)
			if err != nil {
				rxErr = err
				return
			}
			for {
				n, err := rx.Acquire(512)
				if err != nil {
					rxErr = err
					return
				}
				for i := 0; i < n; i++ {
					if _, err := rx.Packet(i); err != nil {
						rxErr = err
						return
					}
				}
				rx.Release(n)
				received.Add(uint64(n))
				if n == 0 {
					err = rxp.WaitRx()
				} else {
					err = rxp.RxSync()
				}
				if err != nil {
					rxErr = err
					return
				}
			}
		}()
		time.Sleep(200 * time.Millisecond)
		if received.Load() == 0 {
			t.Errorf("round %d: no traffic before Close", round)
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		if err := txp.Close(); err != nil {
			t.Errorf("close tx: %v", err)
		}
		if err := rxp.Close(); err != nil {
			t.Errorf("close rx: %v", err)
		}
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("round %d: traffic goroutines still running 2s after Close", round)
		}
		for _, err := range []error{txErr, rxErr} {
			if !errors.Is(err, nmsys.ErrClosed) && !errors.Is(err, rings.ErrIntegrity) {
				t.Errorf("round %d: goroutine ended with %v, want ErrClosed or an integrity error", round, err)
			}
		}
		t.Logf("round %d: %d frames received; goroutines ended with %v / %v", round, received.Load(), txErr, rxErr)
	}
	if got := fdCount(t); got != fds {
		t.Errorf("fds: %d before, %d after", fds, got)
	}
	if got := netmapMappings(t); got != maps {
		t.Errorf("netmap mappings: %d before, %d after", maps, got)
	}
}

// TestSyncAllocs: TxSync, RxSync, WaitTx and WaitRx allocate nothing, and
// neither do the per-batch ring operations on real shared memory.
func TestSyncAllocs(t *testing.T) {
	a := open(t, "vale15:a", nil)
	b := open(t, "vale15:b", nil)
	tx, rx := ringPair(t, a, b)
	check := func(name string, f func()) {
		t.Helper()
		if n := testing.AllocsPerRun(200, f); n != 0 {
			t.Errorf("%s: %v allocations per run", name, n)
		}
	}
	check("TxSync", func() { _ = a.TxSync() })
	check("RxSync", func() { _ = b.RxSync() })
	check("WaitTx", func() {
		if err := a.WaitTx(); err != nil {
			t.Fatal(err)
		}
	})
	tw := open(t, "vale15:tw", &nmsys.Config{ThreadWait: true})
	check("WaitTx (ThreadWait)", func() {
		if err := tw.WaitTx(); err != nil {
			t.Fatal(err)
		}
	})
	tw.SetReadDeadline(time.Now().Add(-time.Second))
	check("WaitRx (ThreadWait, past deadline)", func() { _ = tw.WaitRx() })
	tw.SetReadDeadline(time.Time{})
	check("PollRx (ThreadWait)", func() { _ = tw.PollRx(time.Millisecond) })
	f := frame(60, 1)
	check("send batch", func() {
		n, _ := tx.Reserve(4)
		for i := 0; i < n; i++ {
			copy(tx.Buf(i), f)
			tx.SetLen(i, len(f))
		}
		tx.Publish(n)
		_ = a.TxSync()
	})
	b.SetReadDeadline(time.Now().Add(time.Minute))
	check("WaitRx+receive batch", func() {
		if n, _ := tx.Reserve(1); n == 1 {
			copy(tx.Buf(0), f)
			tx.SetLen(0, len(f))
			tx.Publish(1)
		}
		_ = a.TxSync()
		if err := b.WaitRx(); err != nil {
			t.Fatal(err)
		}
		n, _ := rx.Acquire(512)
		for i := 0; i < n; i++ {
			_, _ = rx.Packet(i)
		}
		rx.Release(n)
	})
}

// TestOpenPerRing opens both ends of a 4-ring pipe with one Port per ring
// pair and runs one sender and one receiver goroutine per ring.
func TestOpenPerRing(t *testing.T) {
	nmtest.Require(t)
	parent := uniq("pr")
	masters, err := nmsys.OpenPerRing("netmap:"+parent+"{1@conf:rings=4", nil)
	if err != nil {
		t.Fatal(err)
	}
	slaves, err := nmsys.OpenPerRing("netmap:"+parent+"}1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, p := range append(masters, slaves...) {
			p.Close()
		}
	}()
	if len(masters) != 4 || len(slaves) != 4 {
		t.Fatalf("%d master and %d slave ports, want 4 each", len(masters), len(slaves))
	}
	var wg sync.WaitGroup
	for i := range masters {
		in := masters[i].Info()
		if in.FirstTx != i || in.LastTx != i+1 || masters[i].Mem() == nil || &masters[i].Mem()[0] != &masters[0].Mem()[0] {
			t.Errorf("master %d: bound tx [%d,%d), or not sharing the mapping", i, in.FirstTx, in.LastTx)
		}
		wg.Go(func() { runSeqN(t, masters[i], slaves[i], 0, 100_000) })
	}
	wg.Wait()
}

// TestExtraBuffers takes an extra buffer, fills it, swaps it into a TX
// slot and sends it, and returns the evicted buffer to the pool.
func TestExtraBuffers(t *testing.T) {
	a := open(t, "vale17:a", &nmsys.Config{ExtraBuffers: 64})
	b := open(t, "vale17:b", nil)
	if got := a.Info().ExtraBuffers; got != 64 {
		t.Fatalf("Info.ExtraBuffers = %d, want 64", got)
	}
	x, err := a.ExtraBuffers()
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 64 {
		t.Fatalf("pool holds %d buffers, want 64", x.Len())
	}
	tx, err := a.TxRing(0)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for round := range 3 {
		idx, err := x.Get()
		if err != nil {
			t.Fatal(err)
		}
		buf, err := x.Buf(idx)
		if err != nil {
			t.Fatal(err)
		}
		f := frame(900+round, uint32(round))
		copy(buf, f)
		want = append(want, f)
		if n, err := tx.Reserve(1); n != 1 || err != nil {
			t.Fatalf("Reserve: %d, %v", n, err)
		}
		old, err := tx.SwapBuf(0, idx)
		if err != nil {
			t.Fatal(err)
		}
		tx.SetLen(0, len(f))
		tx.Publish(1)
		if err := a.TxSync(); err != nil {
			t.Fatal(err)
		}
		if err := x.Put(old); err != nil {
			t.Fatal(err)
		}
	}
	got := recv(t, b, 0, len(want), 2*time.Second)
	if len(got) != len(want) {
		t.Fatalf("received %d of %d frames", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d differs", i)
		}
	}
	if x.Len() != 64 {
		t.Errorf("pool holds %d buffers after the swaps, want 64", x.Len())
	}
	idx, err := x.Get()
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Put(idx); err != nil {
		t.Fatal(err)
	}
	if err := x.Put(idx); !errors.Is(err, rings.ErrIntegrity) {
		t.Errorf("second Put of buffer %d: %v, want an integrity error", idx, err)
	}
}

// ringPair returns TX ring 0 of a and RX ring 0 of b.
func ringPair(t testing.TB, a, b *nmsys.Port) (*rings.TxRing, *rings.RxRing) {
	t.Helper()
	tx, err := a.TxRing(0)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := b.RxRing(0)
	if err != nil {
		t.Fatal(err)
	}
	return tx, rx
}
