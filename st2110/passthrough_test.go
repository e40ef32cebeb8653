package st2110

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/video"
)

// The passthrough reader over a heap region laid out as netmap:eth0*
// binds a NIC: TX ring 0 (the wire) and 1 (into the host stack), RX ring
// 0 (from the wire) and 1 (what the host stack sends).

// regionTx is the txSyncer of TX ring i of a heap region.
type regionTx struct {
	reg *heapmem.Region
	i   int
}

// TxSync syncs the ring; a ring the simulator reinitialised is not an
// error, as netmap's ioctl returns 0 then.
func (s regionTx) TxSync() error {
	if err := s.reg.TxSync(s.i); err != nil && !errors.Is(err, heapmem.ErrReinit) {
		return err
	}
	return nil
}

// injectAll injects pkt on reg's receive ring i, waiting for room.
func injectAll(reg *heapmem.Region, i int, pkt []byte) {
	for !reg.Inject(i, pkt) {
		time.Sleep(50 * time.Microsecond)
	}
}

// passKernel syncs both RX rings of the region.
type passKernel struct{ reg *heapmem.Region }

func (k *passKernel) next(took int, _ bool, _ uint64, _ int64) error {
	if took == 0 {
		time.Sleep(20 * time.Microsecond)
	}
	k.reg.RxSync(0)
	k.reg.RxSync(1)
	return nil
}

// passHeap builds the region and a passthrough reader over it, and
// captures what goes to the wire and to the host stack.
type passHeap struct {
	reg          *heapmem.Region
	rd           *passReader
	mu           sync.Mutex
	wire, host   [][]byte
	nicRx, hstRx *rings.RxRing
}

// checkForwarded checks that h captured others frames each way, in
// order: other(0) on to the host stack, other(1000) on to the wire.
func (h *passHeap) checkForwarded(t *testing.T, others int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for dir, c := range map[string]struct {
		got  [][]byte
		base int
	}{"to host": {h.host, 0}, "to wire": {h.wire, 1000}} {
		if len(c.got) != others {
			t.Errorf("%s: %d frames, want %d", dir, len(c.got), others)
			continue
		}
		for i, f := range c.got {
			if !bytes.Equal(f, other(c.base+i)) {
				t.Fatalf("%s frame %d: % x", dir, i, f[:24])
			}
		}
	}
}

func newPassHeap(t testing.TB, slots int) *passHeap {
	t.Helper()
	reg := heapmem.MustNew(&heapmem.Config{Name: "eth0", TxSlots: slots, RxSlots: slots, BufSize: 2048})
	h := &passHeap{reg: reg}
	reg.Capture(0, func(f []byte) { h.mu.Lock(); h.wire = append(h.wire, bytes.Clone(f)); h.mu.Unlock() })
	reg.Capture(1, func(f []byte) { h.mu.Lock(); h.host = append(h.host, bytes.Clone(f)); h.mu.Unlock() })
	var err error
	rd := &passReader{name: "eth0", batch: 64, kernel: &passKernel{reg: reg}, hostSync: regionTx{reg, 1}, wireSync: regionTx{reg, 0}}
	if rd.toWire, err = rings.NewTxRing(reg.Mem, reg.TxRingOff(0)); err != nil {
		t.Fatal(err)
	}
	if rd.toHost, err = rings.NewTxRing(reg.Mem, reg.TxRingOff(1)); err != nil {
		t.Fatal(err)
	}
	if h.nicRx, err = rings.NewRxRing(reg.Mem, reg.RxRingOff(0)); err != nil {
		t.Fatal(err)
	}
	if h.hstRx, err = rings.NewRxRing(reg.Mem, reg.RxRingOff(1)); err != nil {
		t.Fatal(err)
	}
	rd.nicRx, rd.hostRx = []*rings.RxRing{h.nicRx}, []*rings.RxRing{h.hstRx}
	h.rd = newPassReader(rd)
	t.Cleanup(func() {
		if err := reg.CheckGuards(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// other is a frame of no flow: an ARP-sized broadcast with seq in it.
func other(seq int) []byte {
	f := make([]byte, 60)
	copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06})
	binary.BigEndian.PutUint32(f[20:], uint32(seq))
	return f
}

// Dial -> Listen with passthrough over heap rings: the flow's frames
// byte for byte, and at the same time every other packet of the wire in
// the host stack and every packet of the host stack on the wire, in
// order, each once.
func TestPassHeap(t *testing.T) {
	h := newPassHeap(t, 1024)
	q, _ := heapLink(t, 1024)
	q.reg.Connect(0, h.reg, 0, heapmem.Copy) // the sender's wire is eth0's
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	const n = 6
	frames := randomFrames(fmtSmall, n, 7)
	rx, err := newReceiver("netmap:eth0", sess, &ListenConfig{FrameBuffers: n + 1, Passthrough: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := rx.start(&passRx{rds: []*passReader{h.rd}}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// Other traffic both ways, while the flow runs.
	const others = 200
	go func() {
		for i := range others {
			injectAll(h.reg, 0, other(i))
			injectAll(h.reg, 1, other(1000+i))
		}
	}()
	tx := dialHeap(t, q, sess, &SendConfig{Sources: srcsOf(t, frames), Count: n, MaxLag: -1})
	wait := runSender(t, tx)
	got := collect(t, rx, n, 20*time.Second)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if st := rx.Stats(0); !bytes.Equal(got[0], frames) || st.Lost != 0 {
		t.Errorf("flow: %d octets of %d, %+v", len(got[0]), len(frames), st.RxStats)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps, _ := rx.Passthrough()
		if ps.ToHost == others && ps.ToWire == others {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("passthrough %+v, want %d each way", ps, others)
		}
		time.Sleep(time.Millisecond)
	}
	rx.Close()
	h.checkForwarded(t, others)
	if ps, ok := rx.Passthrough(); !ok || ps.Dropped != 0 || ps.Stopped != 0 || ps.Err != nil {
		t.Errorf("Passthrough() = %+v, %v", ps, ok)
	}
}

// A pass over rings whose cursors and slots the kernel fills with
// anything: it never panics, never writes outside the region, never does
// more than a batch of slots per ring, and either works or returns an
// integrity error; the reader's loop never spins on a bad ring (it ends
// with the error).
func TestPassHeapHostile(t *testing.T) {
	const slots = 32
	rng := rand.New(rand.NewPCG(3, 4))
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	var passes, moved, failed int
	for round := range 300 {
		h := newPassHeap(t, slots)
		h.rd.batch = 1 + rng.IntN(2*slots)
		rx, err := newReceiver("netmap:eth0", sess, &ListenConfig{Passthrough: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := rx.start(&oneReader{&idleReader{}}); err != nil {
			t.Fatal(err)
		}
		s := rx.sinks[0]
		for step := range 10 {
			for range rng.IntN(8) {
				h.reg.Inject(rng.IntN(2), other(step))
			}
			h.reg.RxSync(0)
			h.reg.RxSync(1)
			h.reg.TxSync(0)
			h.reg.TxSync(1)
			for range 2 {
				off := []int{h.reg.RxRingOff(0), h.reg.RxRingOff(1), h.reg.TxRingOff(0), h.reg.TxRingOff(1)}[rng.IntN(4)]
				h.reg.Scramble(rng, off)
			}
			got, _, err := h.rd.pass(s)
			passes++
			moved += got
			if got > 2*h.rd.batch {
				t.Fatalf("round %d: a pass took %d slots, batch %d", round, got, h.rd.batch)
			}
			if err != nil {
				if !errors.Is(err, rings.ErrIntegrity) {
					t.Fatalf("round %d: %v", round, err)
				}
				failed++
				break // the reader ends here
			}
		}
		rx.Close()
	}
	t.Logf("%d passes took %d slots; %d ended with an integrity error", passes, moved, failed)
	if moved == 0 || failed == 0 {
		t.Error("the test exercised only one side")
	}
}

// The passthrough path allocates nothing: a pass that takes flow
// packets, moves other packets to the host stack and the host stack's to
// the wire, with the TX syncs.
func TestPassHeapAllocs(t *testing.T) {
	h := newPassHeap(t, 1024)
	h.reg.Capture(0, nil) // the test's capture copies; the path must not
	h.reg.Capture(1, nil)
	q, _ := heapLink(t, 1024)
	q.reg.Connect(0, h.reg, 0, heapmem.Copy)
	rx := startPass(t, &oneReader{&idleReader{}}, ListenConfig{})
	defer rx.Close()
	frames := drainFrames(rx)
	tx := dialHeap(t, q, session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", "")), nil)
	part := tx.parts[0]
	if err := part.tx.Start(tx.clock.Now(), 0); err != nil {
		t.Fatal(err)
	}
	sink := rx.sinks[0]
	pkt := other(1)
	round := func() {
		for range 4 {
			if _, _, err := tx.step(context.Background(), part, part.tx.Next()); err != nil {
				t.Fatal(err)
			}
		}
		h.reg.Inject(0, pkt)
		h.reg.Inject(1, pkt)
		h.reg.RxSync(0)
		h.reg.RxSync(1)
		if _, _, err := h.rd.pass(sink); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		round()
	}
	if n := testing.AllocsPerRun(200, round); n != 0 {
		t.Errorf("%v allocations per round", n)
	}
	if c := &h.rd.c; c.toHost.Load() == 0 || c.toWire.Load() == 0 {
		t.Errorf("nothing forwarded: %d to host, %d to wire", c.toHost.Load(), c.toWire.Load())
	}
	if n := closeDrained(rx, frames); n == 0 {
		t.Error("no frame reached the consumer")
	}
}

func srcsOf(t testing.TB, frames []byte) []video.FrameSource {
	return []video.FrameSource{loopOf(t, fmtSmall, frames)}
}

// Passthrough is for a NIC's every ring: other names fail in Listen,
// before anything is opened, saying why.
func TestPassthroughNames(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	for _, c := range []struct{ name, want string }{
		{"vale0:a", "VALE ports and pipes have no host stack"},
		{"netmap:eth0{1", "VALE ports and pipes have no host stack"},
		{"netmap:eth0-1", "without a ring suffix"},
		{"netmap:eth0^", "without a ring suffix"},
		{"netmap:eth0/R", "no /R, /T or monitor flags"},
		{"udp", "passthrough is for netmap NIC ports"},
		{"pcap:x.pcap", "passthrough is for netmap NIC ports"},
	} {
		rx, err := Listen(c.name, sess, &ListenConfig{Passthrough: true})
		if err == nil {
			rx.Close()
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}

// pairKernel syncs one ring pair's NIC and host RX rings.
type pairKernel struct {
	reg       *heapmem.Region
	nic, host int
}

func (k *pairKernel) next(took int, _ bool, _ uint64, _ int64) error {
	if took == 0 {
		time.Sleep(20 * time.Microsecond)
	}
	k.reg.RxSync(k.nic)
	k.reg.RxSync(k.host)
	return nil
}

// A NIC of two ring pairs, one reader each, as openPassPerRing sets them
// up: each reader forwards its own rings only (ring pair k's wire packets
// to host TX ring k, host RX ring k's to NIC TX ring k), concurrently
// (run it with -race), every packet once.
func TestPassHeapTwoPairs(t *testing.T) {
	const pairs, others = 2, 300
	reg := heapmem.MustNew(&heapmem.Config{Name: "eth0", TxRings: pairs, RxRings: pairs, HostTxRings: pairs, HostRxRings: pairs,
		TxSlots: 256, RxSlots: 256, BufSize: 2048})
	var mu sync.Mutex
	sent := map[int][][]byte{} // by TX ring
	for i := range 2 * pairs {
		reg.Capture(i, func(f []byte) { mu.Lock(); sent[i] = append(sent[i], bytes.Clone(f)); mu.Unlock() })
	}
	tr := passPairs(t, reg, pairs)
	rx := startPass(t, tr, ListenConfig{})
	defer rx.Close()
	// RX ring r gets packets r*10000+i: NIC rings 0 and 1, host rings 2 and 3.
	for i := range others {
		for r := range 2 * pairs {
			injectAll(reg, r, other(r*10000+i))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ps, _ := rx.Passthrough()
		if ps.ToHost == pairs*others && ps.ToWire == pairs*others {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("passthrough %+v, want %d each way", ps, pairs*others)
		}
		time.Sleep(time.Millisecond)
	}
	rx.Close()
	mu.Lock()
	defer mu.Unlock()
	// TX ring k (wire of pair k) carries host RX ring pairs+k's packets;
	// TX ring pairs+k (host of pair k) carries NIC RX ring k's.
	for k := range pairs {
		for tx, from := range map[int]int{k: pairs + k, pairs + k: k} {
			if len(sent[tx]) != others {
				t.Errorf("TX ring %d: %d frames, want %d", tx, len(sent[tx]), others)
				continue
			}
			for i, f := range sent[tx] {
				if !bytes.Equal(f, other(from*10000+i)) {
					t.Fatalf("TX ring %d frame %d: % x, want RX ring %d's packet %d", tx, i, f[20:24], from, i)
				}
			}
		}
	}
}

// passPairs builds the readers of a region of pairs ring pairs (TX, RX,
// host TX and host RX rings k for reader k), as openPassPerRing sets them
// up, each synced by a pairKernel.
func passPairs(t testing.TB, reg *heapmem.Region, pairs int) *passRx {
	t.Helper()
	tr := &passRx{}
	for k := range pairs {
		rd := &passReader{name: fmt.Sprintf("eth0-%d", k), batch: 32, kernel: &pairKernel{reg, k, pairs + k},
			hostSync: regionTx{reg, pairs + k}, wireSync: regionTx{reg, k}}
		var err error
		mk := func(tx bool, i int) {
			if err != nil {
				return
			}
			if tx {
				var r *rings.TxRing
				if r, err = rings.NewTxRing(reg.Mem, reg.TxRingOff(i)); i < pairs {
					rd.toWire = r
				} else {
					rd.toHost = r
				}
				return
			}
			var r *rings.RxRing
			if r, err = rings.NewRxRing(reg.Mem, reg.RxRingOff(i)); i < pairs {
				rd.nicRx = []*rings.RxRing{r}
			} else {
				rd.hostRx = []*rings.RxRing{r}
			}
		}
		mk(true, k)
		mk(true, pairs+k)
		mk(false, k)
		mk(false, pairs+k)
		if err != nil {
			t.Fatal(err)
		}
		tr.rds = append(tr.rds, newPassReader(rd))
	}
	return tr
}

// waitPass waits until the receiver's passthrough has moved toHost
// packets to the host stack and toWire to the wire.
func waitPass(t *testing.T, rx *Receiver, toHost, toWire uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		ps, _ := rx.Passthrough()
		if ps.ToHost == toHost && ps.ToWire == toWire {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("passthrough %+v, want %d to the host stack and %d to the wire", ps, toHost, toWire)
		}
	}
}

// framesErr ranges over Frames until it ends and returns its error.
func framesErr(t *testing.T, rx *Receiver) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got error
	for _, err := range rx.Frames(ctx) {
		got = err
	}
	if ctx.Err() != nil {
		t.Fatal("Frames did not end")
	}
	return got
}

// A passthrough reader whose clock (a PHC) fails ends the flows with the
// clock's error, as every reader does, but the host stack keeps its NIC:
// forwarding needs no clock, and goes on both ways (the NIC's every
// packet to the host stack) until Close, which stops it. Before, the host
// stack was cut off (no ARP, ssh, PTP) from the failure to Close.
func TestPassHeapClockGone(t *testing.T) {
	h := newPassHeap(t, 256)
	var gone atomic.Bool
	rx := startPass(t, &passRx{rds: []*passReader{h.rd}}, ListenConfig{Clock: goneClock(&gone)})
	defer rx.Close()
	gone.Store(true)
	if err := framesErr(t, rx); err == nil || !strings.Contains(err.Error(), "/dev/gone") {
		t.Fatalf("Frames ended with %v, want the PHC's error", err)
	}
	if err := rx.Err(); err == nil {
		t.Error("Err() = nil after the clock failed")
	}
	const others = 100
	for i := range others {
		injectAll(h.reg, 0, other(i))
		injectAll(h.reg, 1, other(1000+i))
	}
	waitPass(t, rx, others, others)
	if ps, _ := rx.Passthrough(); ps.Stopped != 0 || ps.Err != nil {
		t.Errorf("forwarding after the clock failed: Passthrough() = %+v, want none stopped", ps)
	}
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	h.reg.Inject(0, other(others))
	h.reg.Inject(1, other(1000+others))
	time.Sleep(20 * time.Millisecond) // a forwarder left running would move them
	if ps, _ := rx.Passthrough(); ps.ToHost != others || ps.ToWire != others || ps.Stopped != 0 || ps.Err != nil {
		t.Errorf("after Close: passthrough %+v, want %d each way and none stopped", ps, others)
	}
	h.checkForwarded(t, others)
}

// The readers of a passthrough that another input's failure stopped
// (their context cancelled, so that Frames ends with the error) go on
// forwarding their ring pairs until Close; the failed reader, whose
// waits fail, cannot.
func TestPassHeapOtherInputFails(t *testing.T) {
	const pairs, others = 2, 100
	reg := heapmem.MustNew(&heapmem.Config{Name: "eth0", TxRings: pairs, RxRings: pairs, HostTxRings: pairs, HostRxRings: pairs,
		TxSlots: 256, RxSlots: 256, BufSize: 2048})
	var mu sync.Mutex
	sent := map[int]int{} // frames by TX ring
	for i := range 2 * pairs {
		reg.Capture(i, func([]byte) { mu.Lock(); sent[i]++; mu.Unlock() })
	}
	tr := passPairs(t, reg, pairs)
	// Pair 0's wait fails once: were its reader to go on forwarding
	// after its own failure, its later waits would sync its rings.
	tr.rds[0].kernel = &failOnce{then: tr.rds[0].kernel}
	rx := startPass(t, tr, ListenConfig{})
	defer rx.Close()
	if err := framesErr(t, rx); err == nil || !strings.Contains(err.Error(), "eth0-0: rx sync: no such device") {
		t.Fatalf("Frames ended with %v, want ring pair 0's error", err)
	}
	// Pair 0 gets packets both ways first, then pair 1: NIC RX ring 1
	// to host TX ring 3, host RX ring 3 to NIC TX ring 1.
	for _, r := range []int{0, pairs} {
		for i := range others {
			injectAll(reg, r, other(i))
		}
	}
	for i := range others {
		injectAll(reg, 1, other(i))
		injectAll(reg, pairs+1, other(1000+i))
	}
	waitPass(t, rx, others, others)
	c := &tr.rds[0].c
	mu.Lock()
	defer mu.Unlock()
	if c.toHost.Load() != 0 || c.toWire.Load() != 0 || sent[0] != 0 || sent[pairs] != 0 {
		t.Errorf("the failed pair forwarded: %d to the host stack, %d to the wire; TX rings 0 and %d sent %d and %d frames",
			c.toHost.Load(), c.toWire.Load(), pairs, sent[0], sent[pairs])
	}
	if ps, _ := rx.Passthrough(); ps.Stopped != 1 || ps.Err == nil || !strings.Contains(ps.Err.Error(), "eth0-0: rx sync: no such device") {
		t.Errorf("Passthrough() = %+v, want ring pair 0 stopped with its error", ps)
	}
}

// failLater is then until fail is set, then failKernel: a ring pair
// whose waits fail after the flows stopped.
type failLater struct {
	then ringKernel
	fail atomic.Bool
}

func (k *failLater) next(took int, full bool, bytes uint64, now int64) error {
	if k.fail.Load() {
		return failKernel{}.next(took, full, bytes, now)
	}
	return k.then.next(took, full, bytes, now)
}

// Forwarding that goes on after the flows stopped (a failed clock) and
// then fails on its own wait ends, and the host stack has lost the NIC:
// Passthrough reports the ring pair stopped with the wait's error, before
// Close and after it. Before, the goroutine returned without a trace.
func TestPassHeapForwardingFails(t *testing.T) {
	h := newPassHeap(t, 256)
	k := &failLater{then: h.rd.kernel}
	h.rd.kernel = k
	var gone atomic.Bool
	rx := startPass(t, &passRx{rds: []*passReader{h.rd}}, ListenConfig{Clock: goneClock(&gone)})
	defer rx.Close()
	gone.Store(true)
	if err := framesErr(t, rx); err == nil {
		t.Fatal("Frames ended without the clock's error")
	}
	injectAll(h.reg, 0, other(0))
	waitPass(t, rx, 1, 0) // forwarding goes on
	if ps, _ := rx.Passthrough(); ps.Stopped != 0 || ps.Err != nil {
		t.Fatalf("forwarding: Passthrough() = %+v, want none stopped", ps)
	}
	k.fail.Store(true)
	var ps PassStats
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if ps, _ = rx.Passthrough(); ps.Stopped != 0 || time.Now().After(deadline) {
			break
		}
	}
	want := "eth0: rx sync: no such device"
	if ps.Stopped != 1 || ps.Err == nil || !strings.Contains(ps.Err.Error(), want) {
		t.Fatalf("after the wait failed: Passthrough() = %+v, want 1 stopped with %q", ps, want)
	}
	if err := rx.Close(); err != nil {
		t.Fatal(err)
	}
	if ps, _ := rx.Passthrough(); ps.Stopped != 1 || ps.Err == nil {
		t.Errorf("after Close: Passthrough() = %+v, want the stop still reported", ps)
	}
}

// failInClose is then until shut; then a wait blocks until open is
// closed and fails: a reader whose wait fails while Close is under way.
type failInClose struct {
	then          ringKernel
	shut          atomic.Bool
	entered, open chan struct{}
	once          sync.Once
}

func (k *failInClose) next(took int, full bool, bytes uint64, now int64) error {
	if !k.shut.Load() {
		return k.then.next(took, full, bytes, now)
	}
	k.once.Do(func() { close(k.entered); <-k.open })
	return failKernel{}.next(took, full, bytes, now)
}

// A reader whose wait fails once Close has begun has not lost the host
// stack its NIC (Close takes it back): Passthrough reports no ring pair
// stopped.
func TestPassHeapFailInClose(t *testing.T) {
	h := newPassHeap(t, 256)
	k := &failInClose{then: h.rd.kernel, entered: make(chan struct{}), open: make(chan struct{})}
	h.rd.kernel = k
	rx := startPass(t, &passRx{rds: []*passReader{h.rd}}, ListenConfig{})
	defer rx.Close()
	k.shut.Store(true)
	select {
	case <-k.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no wait")
	}
	closed := make(chan struct{})
	go func() { rx.Close(); close(closed) }()
	for !rx.closed.Load() {
		time.Sleep(time.Millisecond)
	}
	close(k.open)
	<-closed
	if ps, _ := rx.Passthrough(); ps.Stopped != 0 || ps.Err != nil {
		t.Errorf("Passthrough() = %+v, want none stopped", ps)
	}
}

// Of two ring pairs that stop, Passthrough counts both and reports the
// error of the first: ring pair 0's reader fails on its rings (which
// stops the flows), then ring pair 1's forwarding fails on its waits.
func TestPassHeapStopsFirstErr(t *testing.T) {
	const pairs = 2
	reg := heapmem.MustNew(&heapmem.Config{Name: "eth0", TxRings: pairs, RxRings: pairs, HostTxRings: pairs, HostRxRings: pairs,
		TxSlots: 64, RxSlots: 64, BufSize: 2048})
	tr := passPairs(t, reg, pairs)
	// Ring pair 1 fails first: the first stop is not the first reader.
	tr.rds[1].kernel = failKernel{}
	k := &failLater{then: tr.rds[0].kernel}
	tr.rds[0].kernel = k
	rx := startPass(t, tr, ListenConfig{})
	defer rx.Close()
	if err := framesErr(t, rx); err == nil {
		t.Fatal("Frames ended without ring pair 1's error")
	}
	// The stops are watched on the readers, so that Passthrough first
	// reads both: it must order them, not take the one it saw first.
	if tr.rds[1].c.stop.Load() == nil || tr.rds[0].c.stop.Load() != nil {
		t.Fatal("want ring pair 1 stopped, 0 not")
	}
	k.fail.Store(true)
	for deadline := time.Now().Add(10 * time.Second); tr.rds[0].c.stop.Load() == nil && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	ps, _ := rx.Passthrough()
	if ps.Stopped != pairs || ps.Err == nil || !strings.Contains(ps.Err.Error(), "eth0-1: rx sync") {
		t.Errorf("Passthrough() = %+v, want %d stopped and ring pair 1's error", ps, pairs)
	}
	// Once reported, the first stays.
	if ps2, _ := rx.Passthrough(); ps2.Err != ps.Err {
		t.Errorf("Passthrough() again: Err %v, was %v", ps2.Err, ps.Err)
	}
}

// failOnce is a kernel whose first wait fails (as failKernel's), and
// whose later ones are then's.
type failOnce struct {
	then   ringKernel
	failed atomic.Bool
}

func (k *failOnce) next(took int, full bool, bytes uint64, now int64) error {
	if !k.failed.Swap(true) {
		return failKernel{}.next(took, full, bytes, now)
	}
	return k.then.next(took, full, bytes, now)
}

// gateKernel is passKernel, but once shut, a wait blocks until open is
// closed: a forwarding goroutine caught in a wait.
type gateKernel struct {
	passKernel
	shut    atomic.Bool
	entered chan struct{} // closed when a wait has blocked
	open    chan struct{}
	left    atomic.Bool // the blocked wait has returned
	once    sync.Once
}

func (k *gateKernel) next(took int, full bool, bytes uint64, now int64) error {
	if k.shut.Load() {
		k.once.Do(func() {
			close(k.entered)
			<-k.open
			k.left.Store(true)
		})
	}
	return k.passKernel.next(took, full, bytes, now)
}

// Close waits for the forwarding that outlived the readers (its rings are
// about to be unmapped): with the forwarding goroutine inside a wait,
// Close returns only once it has left the wait.
func TestPassHeapCloseWaitsForwarding(t *testing.T) {
	h := newPassHeap(t, 256)
	k := &gateKernel{passKernel: passKernel{reg: h.reg}, entered: make(chan struct{}), open: make(chan struct{})}
	h.rd.kernel = k
	var gone atomic.Bool
	rx := startPass(t, &passRx{rds: []*passReader{h.rd}}, ListenConfig{Clock: goneClock(&gone)})
	defer rx.Close()
	gone.Store(true)
	if err := framesErr(t, rx); err == nil {
		t.Fatal("Frames ended without the clock's error")
	}
	// The reader has returned; its forwarding goes on, and is caught in
	// its next wait.
	k.shut.Store(true)
	select {
	case <-k.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no forwarding after the reader stopped")
	}
	closed := make(chan bool, 1)
	go func() {
		rx.Close()
		closed <- k.left.Load()
	}()
	select {
	case <-closed:
		close(k.open)
		t.Fatal("Close returned while the forwarding goroutine was in a wait")
	case <-time.After(100 * time.Millisecond):
	}
	close(k.open)
	if left := <-closed; !left {
		t.Error("Close returned before the forwarding goroutine left its wait")
	}
}

// Close right after Frames ended on another input's failure, as an
// application does: the forwarding goroutine may not have started yet,
// and Close must still stop it and return.
func TestPassHeapCloseRightAway(t *testing.T) {
	for i := range 100 {
		const pairs = 2
		reg := heapmem.MustNew(&heapmem.Config{Name: "eth0", TxRings: pairs, RxRings: pairs, HostTxRings: pairs, HostRxRings: pairs,
			TxSlots: 64, RxSlots: 64, BufSize: 2048})
		tr := passPairs(t, reg, pairs)
		tr.rds[0].kernel = failKernel{}
		rx := startPass(t, tr, ListenConfig{})
		<-rx.Done()
		done := make(chan struct{})
		go func() { rx.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: Close hangs", i)
		}
	}
}

// A receiver with a Second path reports the passthrough of whichever
// paths have one (their transport is then the two paths', not a
// passthrough's): the sum over both NICs when both have it, the one
// path's counts when only one has, none without. Before, it reported
// nothing with a Second path.
func TestPassHeapSecondPath(t *testing.T) {
	sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
	inject := func(h *passHeap, toHost, toWire int) {
		for i := range max(toHost, toWire) {
			if i < toHost {
				injectAll(h.reg, 0, other(i))
			}
			if i < toWire {
				injectAll(h.reg, 1, other(1000+i))
			}
		}
	}
	for _, c := range []struct {
		name         string
		a, b         bool // which paths have a passthrough
		host, wire   [2]int
		wantH, wantW uint64
	}{
		{"both", true, true, [2]int{30, 50}, [2]int{40, 70}, 80, 110},
		{"first", true, false, [2]int{30, 50}, [2]int{40, 70}, 30, 40},
		{"second", false, true, [2]int{30, 50}, [2]int{40, 70}, 50, 70},
	} {
		t.Run(c.name, func(t *testing.T) {
			hs := [2]*passHeap{newPassHeap(t, 256), newPassHeap(t, 256)}
			var trs [2]rxTransport
			for p, on := range [2]bool{c.a, c.b} {
				trs[p] = readersOf{idleReader{}}
				if on {
					trs[p] = &passRx{rds: []*passReader{hs[p].rd}}
				}
			}
			rx, err := newReceiver("netmap:eth0", sess, &ListenConfig{Passthrough: true, Second: "netmap:eth1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := rx.start(&pathsRx{a: trs[0], b: trs[1]}); err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			for p, on := range [2]bool{c.a, c.b} {
				if on {
					inject(hs[p], c.host[p], c.wire[p])
				}
			}
			waitPass(t, rx, c.wantH, c.wantW)
			if ps, ok := rx.Passthrough(); !ok || ps.Dropped != 0 {
				t.Errorf("Passthrough() = %+v, %v", ps, ok)
			}
		})
	}
	t.Run("stopped", func(t *testing.T) {
		// The second path's reader fails on its rings: it stops alone,
		// and the sum reports its ring pair stopped.
		hs := [2]*passHeap{newPassHeap(t, 256), newPassHeap(t, 256)}
		hs[1].rd.kernel = failKernel{}
		rx, err := newReceiver("netmap:eth0", sess, &ListenConfig{Passthrough: true, Second: "netmap:eth1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := rx.start(&pathsRx{a: &passRx{rds: []*passReader{hs[0].rd}}, b: &passRx{rds: []*passReader{hs[1].rd}}}); err != nil {
			t.Fatal(err)
		}
		defer rx.Close()
		inject(hs[0], 30, 40)
		var ps PassStats
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if ps, _ = rx.Passthrough(); ps.Stopped != 0 && ps.ToHost == 30 && ps.ToWire == 40 || time.Now().After(deadline) {
				break
			}
		}
		if ps.Stopped != 1 || ps.Err == nil || !strings.Contains(ps.Err.Error(), "rx sync: no such device") || ps.ToHost != 30 || ps.ToWire != 40 {
			t.Errorf("Passthrough() = %+v, want the first path's 30 and 40 and the second's ring pair stopped", ps)
		}
	})
	rx, err := newReceiver("netmap:eth0", sess, &ListenConfig{Second: "netmap:eth1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := rx.start(&pathsRx{a: readersOf{idleReader{}}, b: readersOf{idleReader{}}}); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if ps, ok := rx.Passthrough(); ok {
		t.Errorf("two paths without passthrough: Passthrough() = %+v, true", ps)
	}
}

// startPass starts a Receiver of one small flow on "netmap:eth0" with
// Passthrough and cfg over tr; the caller closes it.
func startPass(t *testing.T, tr rxTransport, cfg ListenConfig) *Receiver {
	t.Helper()
	cfg.Passthrough = true
	rx, err := newReceiver("netmap:eth0", session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", "")), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rx.start(tr); err != nil {
		t.Fatal(err)
	}
	return rx
}
