package st2110

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/rings"
)

// Host-stack passthrough (ListenConfig.Passthrough): a NIC in netmap mode
// delivers nothing to the kernel and sends nothing for it, so ARP, IGMP
// joins, PTP and ssh on that NIC stop. netmap's host rings are the
// kernel's side of the NIC: a host RX ring holds what the kernel sends
// out of the NIC, a host TX ring injects packets into the kernel as if
// the NIC had received them. A passthrough reader drains the NIC's RX
// rings into the flows and moves every other packet to a host TX ring,
// and moves the host RX ring's packets to a NIC TX ring, by buffer swap
// (rings.Forward): NIC and host rings are one adapter's, in one memory
// region.

// PassStats are the counts of a Receiver's host-stack passthrough.
type PassStats struct {
	// ToHost is the packets of no flow handed to the host stack.
	ToHost uint64
	// ToWire is the packets the host stack sent, put on the NIC.
	ToWire uint64
	// Dropped is the packets that found the other side's ring full.
	Dropped uint64
	// Stopped is the ring pairs (of the NIC's, or of both NICs' with a
	// Second path) whose forwarding has ended before Close: their own
	// rings or waits failed, so the host stack lost what they carried
	// (ARP, IGMP, PTP, ssh, on a NIC of one ring pair all of it). A
	// failed clock or another input's failure stops the flows, not the
	// forwarding, and Close is not a failure: 0 until a ring pair fails.
	Stopped int
	// Err is the error that ended the first of them to stop, nil while
	// Stopped is 0; once reported, the same in every later PassStats.
	Err error
}

// passCounts are one reader's PassStats, read by Receiver.Passthrough
// while the reader runs.
type passCounts struct {
	toHost, toWire, dropped atomic.Uint64
	// stop, set once, is why the ring pair's forwarding ended before
	// Close.
	stop atomic.Pointer[passStop]
}

// passStop is a ring pair's forwarding ended by err; seq orders the
// stops of a process (passStops), so that Passthrough names the first.
type passStop struct {
	err error
	seq uint64
}

var passStops atomic.Uint64

// stopped records err as the end of the ring pair's forwarding, if none
// was recorded.
func (c *passCounts) stopped(err error) {
	c.stop.CompareAndSwap(nil, &passStop{err: err, seq: passStops.Add(1)})
}

// txSyncer is the kernel side of a TX ring: a netmap Port, or in tests a
// heap region.
type txSyncer interface{ TxSync() error }

// passReader drains NIC RX rings into the flows and the host stack, and
// host RX rings onto the wire.
type passReader struct {
	name     string
	nicRx    []*rings.RxRing // the NIC's RX rings it owns
	hostRx   []*rings.RxRing // the host RX rings it owns
	toHost   *rings.TxRing   // a host TX ring
	toWire   *rings.TxRing   // a NIC TX ring
	hostSync txSyncer        // syncs toHost
	wireSync txSyncer        // syncs toWire (may be hostSync)
	kernel   ringKernel
	batch    int
	lock     bool
	c        passCounts

	// keep is the transport, whose close ends the forwarding a reader
	// goes on with once its flows have stopped (run); set by readers.
	keep *passRx
	// clockFailed: a pass ended on the clock's failure, not the rings'.
	clockFailed bool

	// The pass under way, for take.
	sink *rxSink
	at   int64
	take func([]byte) bool
}

func newPassReader(p *passReader) *passReader {
	p.take = p.push
	return p
}

// push offers one packet of a NIC RX ring to the flows.
func (p *passReader) push(pkt []byte) bool { return p.sink.r.Push(pkt, p.at) }

func (p *passReader) flows() []int { return nil }

// run takes the flows' packets and forwards the others until ctx ends or
// a pass fails. Forwarding needs no clock and the host stack no flows:
// unless the receiver is closing, a reader stopped by a failure of its
// clock or of another input (its context cancelled) returns, so that the
// error reaches Frames and Err and its flows end as designed, and leaves
// a goroutine forwarding (forwardOn) until the transport closes; one
// whose own rings or waits failed cannot forward either.
func (p *passReader) run(ctx context.Context, s *rxSink) error {
	err := runRings(ctx, p.name, p.lock, p.kernel, s, p.pass)
	if err != nil && !p.clockFailed && !s.rx.closed.Load() {
		p.c.stopped(err) // its rings or waits failed: it cannot forward
	}
	if p.keep != nil && !s.rx.closed.Load() && (err == nil && ctx.Err() != nil || p.clockFailed) {
		// stop is read here, not in the goroutine: close, which may run
		// before the goroutine does, sets the field to nil.
		k, stop := p.keep, p.keep.stop
		k.fwd.Add(1) // before run returns: the transport's close comes after
		go func() {
			defer k.fwd.Done()
			p.forwardOn(stop)
		}()
	}
	return err
}

// forwardOn moves packets between the NIC and the host stack, as pass
// does but with every packet of the NIC's RX rings going to the host
// stack (the flows have stopped: the NIC is the kernel's, as without
// netmap), until stop is closed or a pass or a wait fails; a failure
// (not Close's) is recorded for Passthrough (passCounts.stopped).
func (p *passReader) forwardOn(stop <-chan struct{}) {
	if p.lock {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	// The waits' hand-off cadence (a wait a millisecond gives the P
	// away) goes by the monotonic clock: the receiver's may have failed.
	start := time.Now()
	for {
		select {
		case <-stop:
			return
		default:
		}
		got, full, err := p.move(nil)
		if err == nil {
			err = p.kernel.next(got, full, uint64(got)*estFrame, int64(time.Since(start)))
			if err == errRingClosed {
				return
			}
			if err != nil {
				err = fmt.Errorf("st2110: %s: %w", p.name, err)
			}
		}
		if err != nil {
			select {
			case <-stop: // closing: not a failure of the ring pair
			default:
				p.c.stopped(fmt.Errorf("%w (forwarding after the flows stopped)", err))
			}
			return
		}
	}
}

// pass reads the clock, offers the packets of the NIC's RX rings to the
// flows and forwards the rest (move); it returns the slots it took and
// whether a ring gave a whole batch.
func (p *passReader) pass(s *rxSink) (int, bool, error) {
	at, err := s.now()
	if err != nil {
		p.clockFailed = true
		return 0, false, fmt.Errorf("st2110: %s: %w", p.name, err)
	}
	p.sink, p.at = s, at
	s.enter() // a path of two (ST 2022-7): the merges take one reader at a time
	defer s.leave()
	got, full, err := p.move(p.take)
	if err != nil {
		return got, full, err
	}
	if got > 0 {
		s.batches.Add(1)
	}
	s.tick(p.at)
	return got, full, nil
}

// move moves what every owned RX ring holds, at most batch slots a ring:
// the NIC's packets that take does not keep (all, if take is nil) to the
// host stack, the host stack's to the wire; then it sends what it moved.
// It returns the slots it took and whether a ring gave a whole batch.
func (p *passReader) move(take func([]byte) bool) (int, bool, error) {
	got, toHost, toWire, full := 0, 0, 0, false
	for _, rx := range p.nicRx {
		n, err := p.forward(p.toHost, p.hostSync, rx, take, &p.c.toHost)
		got, toHost, full = got+n.Acquired, toHost+n.Sent, full || n.Acquired == p.batch
		if err != nil {
			return got, full, fmt.Errorf("st2110: %s: rx ring to host: %w", p.name, err)
		}
	}
	for _, rx := range p.hostRx {
		n, err := p.forward(p.toWire, p.wireSync, rx, nil, &p.c.toWire)
		got, toWire, full = got+n.Acquired, toWire+n.Sent, full || n.Acquired == p.batch
		if err != nil {
			return got, full, fmt.Errorf("st2110: %s: host ring to wire: %w", p.name, err)
		}
	}
	var err error
	if toHost > 0 {
		err = p.hostSync.TxSync()
	}
	if toWire > 0 && (toHost == 0 || p.wireSync != p.hostSync) && err == nil {
		err = p.wireSync.TxSync()
	}
	if err != nil {
		return got, full, fmt.Errorf("st2110: %s: passthrough: %w", p.name, err)
	}
	return got, full, nil
}

// forward is rings.Forward from rx to tx, after a TX sync of tx if it
// has fewer free slots than rx brings (the kernel reclaims sent slots at a
// sync only), and counts what moved in sent.
func (p *passReader) forward(tx *rings.TxRing, sync txSyncer, rx *rings.RxRing, take func([]byte) bool, sent *atomic.Uint64) (rings.Forwarded, error) {
	if n := min(rx.Pending(), p.batch); n > 0 && tx.Space() < n {
		if err := sync.TxSync(); err != nil {
			return rings.Forwarded{}, err
		}
	}
	f, err := rings.Forward(tx, rx, p.batch, take)
	sent.Add(uint64(f.Sent))
	if f.Dropped > 0 {
		p.c.dropped.Add(uint64(f.Dropped))
	}
	return f, err
}

// passRx is a NIC port with passthrough: its Ports (one, or two per ring
// pair) and a reader per ring pair.
type passRx struct {
	ports []*nmsys.Port
	rds   []*passReader

	// stop, closed by close, ends the goroutines that go on forwarding
	// after their readers have stopped (passReader.run); fwd counts them.
	stop chan struct{}
	fwd  sync.WaitGroup
}

// readers returns the readers, each tied to t (passReader.keep).
func (t *passRx) readers() []rxReader {
	t.stop = make(chan struct{})
	out := make([]rxReader, len(t.rds))
	for i, r := range t.rds {
		r.keep = t
		out[i] = r
	}
	return out
}

// wake does nothing: the readers sleep in poll(2) for at most 20 ms.
func (t *passRx) wake() {}

// close stops the forwarding that outlived the readers, waits for it
// (its rings are about to be unmapped), then closes the ports.
func (t *passRx) close() error {
	if t.stop != nil {
		close(t.stop)
		t.stop = nil
		t.fwd.Wait()
	}
	return (&netmapRx{ports: t.ports}).close()
}

// Passthrough returns the counts of the receiver's host-stack passthrough
// (ListenConfig.Passthrough), and false if it has none. A receiver with a
// Second path sums the counts of its paths that have one: each path on a
// NIC port. A monitor that finds Stopped above 0 knows that the host
// stack has lost (some of) its NIC until the receiver is closed: Err says
// why.
func (r *Receiver) Passthrough() (PassStats, bool) {
	trs := [2]rxTransport{r.tr}
	if p, ok := r.tr.(*pathsRx); ok {
		trs = [2]rxTransport{p.a, p.b}
	}
	var s PassStats
	var first *passStop
	has := false
	for _, tr := range trs {
		t, ok := tr.(*passRx)
		if !ok {
			continue
		}
		has = true
		for _, rd := range t.rds {
			s.ToHost += rd.c.toHost.Load()
			s.ToWire += rd.c.toWire.Load()
			s.Dropped += rd.c.dropped.Load()
			if st := rd.c.stop.Load(); st != nil {
				s.Stopped++
				if first == nil || st.seq < first.seq {
					first = st
				}
			}
		}
	}
	if first != nil {
		// Once reported, the first stays: a stop recorded a moment after
		// one with a later number was read is not taken for the first.
		r.passFirst.CompareAndSwap(nil, first)
		s.Err = r.passFirst.Load().err
	}
	return s, has
}

// errFewHostRings: the NIC has fewer rings of some kind (TX, RX, host TX,
// host RX) than ring pairs, so its rings cannot be split into pairs.
var errFewHostRings = errors.New("fewer rings of a kind than ring pairs")

// openPassRx opens the NIC ep names with its host rings: each ring pair k
// gets a reader of its own, bound to NIC ring pair k and host ring pair k
// (two registrations, waited on together); a NIC with fewer rings of some
// kind (TX, RX, host TX, host RX) than ring pairs is one registration of
// every ring ("*") and one reader.
func openPassRx(ep *endpoint, cfg *ListenConfig) (rxTransport, error) {
	fail := func(err error) (rxTransport, error) {
		return nil, fmt.Errorf("st2110: listen %s: passthrough: %w", ep.name, err)
	}
	n, err := nmsys.ParseName(ep.port)
	if err != nil {
		return fail(err)
	}
	switch {
	case strings.HasPrefix(n.Port, "vale") || strings.ContainsAny(n.Port, "{}"):
		return fail(errors.New("needs a NIC (netmap:eth0): VALE ports and pipes have no host stack"))
	case n.Mode != nmsys.ModeAllNIC && n.Mode != nmsys.ModeNICSW:
		return fail(fmt.Errorf("binds every ring of the NIC and its host rings: name the NIC without a ring suffix (netmap:%s), not %s", n.Port, n.Mode))
	case n.Flags&^nmsys.FlagExclusive != 0:
		return fail(errors.New("binds TX and RX rings: no /R, /T or monitor flags"))
	}
	batch := cfg.Batch
	if batch == 0 {
		batch = 512
	}
	pairs := 1
	if pi, err := nmsys.LookupPortInfo(ep.port); err == nil {
		pairs = max(pi.RxRings, pi.TxRings)
	}
	t, err := openPassPerRing(ep.port, pairs, batch)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, errFewHostRings) {
		return fail(err)
	}
	p, err := nmsys.Open(ep.port, &nmsys.Config{Mode: nmsys.ModeNICSW, NoTxPoll: true, ThreadWait: true})
	if err != nil {
		return fail(err)
	}
	rd, err := passRings(p, p, 0, batch)
	if err != nil {
		p.Close()
		return fail(err)
	}
	rd.kernel = &portWaiter{port: p}
	return &passRx{ports: []*nmsys.Port{p}, rds: []*passReader{rd}}, nil
}

// openPassPerRing opens NIC ring pair k and host ring pair k of port for
// every k below pairs, asking for that many host rings.
func openPassPerRing(port string, pairs, batch int) (*passRx, error) {
	t := &passRx{}
	fail := func(err error) (*passRx, error) {
		t.close()
		return nil, err
	}
	for k := range pairs {
		c := nmsys.Config{Mode: nmsys.ModeOneNIC, RingID: k, HostTxRings: pairs, HostRxRings: pairs, NoTxPoll: true, ThreadWait: true}
		nic, err := nmsys.Open(port, &c)
		if err != nil {
			return fail(err)
		}
		t.ports = append(t.ports, nic)
		// Pair k must be rings k of all four kinds: with fewer rings of
		// a kind, netmap binds ring 0 of it instead, which another
		// pair's goroutine then drives too.
		if in := nic.Info(); min(in.TxRings, in.RxRings, in.HostRxRings, in.HostTxRings) < pairs {
			return fail(fmt.Errorf("%w (%d TX, %d RX, %d+%d host rings for %d pairs)", errFewHostRings, in.TxRings, in.RxRings, in.HostTxRings, in.HostRxRings, pairs))
		}
		c.Mode = nmsys.ModeOneSW
		host, err := nmsys.Open(port, &c)
		if err != nil {
			return fail(err)
		}
		t.ports = append(t.ports, host)
		rd, err := passRings(nic, host, k, batch)
		if err != nil {
			return fail(err)
		}
		w, err := nmsys.NewRxPair(nic, host)
		if err != nil {
			return fail(err)
		}
		rd.kernel = &pairWaiter{pair: w}
		t.rds = append(t.rds, rd)
	}
	return t, nil
}

// passRings builds the reader of NIC ring pair k (bound by nic) and host
// ring pair k (bound by host, which may be nic).
func passRings(nic, host *nmsys.Port, k, batch int) (*passReader, error) {
	in, hin := nic.Info(), host.Info()
	if in.MemID != hin.MemID {
		return nil, fmt.Errorf("NIC rings in memory region %d, host rings in %d: no zero-copy path", in.MemID, hin.MemID)
	}
	rd := &passReader{name: nic.Name(), batch: batch, lock: true, hostSync: host, wireSync: nic}
	if host == nic {
		rd.wireSync = rd.hostSync
	}
	for i := in.FirstRx; i < min(in.LastRx, in.RxRings); i++ {
		r, err := nic.RxRing(i)
		if err != nil {
			return nil, err
		}
		rd.nicRx = append(rd.nicRx, r)
	}
	for i := max(hin.FirstRx, hin.RxRings); i < hin.LastRx; i++ {
		r, err := host.RxRing(i)
		if err != nil {
			return nil, err
		}
		rd.hostRx = append(rd.hostRx, r)
	}
	wire, hostTx := in.FirstTx, max(hin.FirstTx, hin.TxRings)
	if wire >= in.TxRings || hostTx >= hin.LastTx || len(rd.nicRx) == 0 || len(rd.hostRx) == 0 {
		return nil, fmt.Errorf("ring pair %d: bound TX [%d, %d) RX [%d, %d) and host TX [%d, %d) RX [%d, %d) of %d+%d rings: not a NIC ring pair and a host ring pair",
			k, in.FirstTx, in.LastTx, in.FirstRx, in.LastRx, hin.FirstTx, hin.LastTx, hin.FirstRx, hin.LastRx, in.TxRings, in.HostTxRings)
	}
	var err error
	if rd.toWire, err = nic.TxRing(wire); err != nil {
		return nil, err
	}
	if rd.toHost, err = host.TxRing(hostTx); err != nil {
		return nil, err
	}
	return newPassReader(rd), nil
}

// pairWaiter waits on a NIC ring pair's Port and its host ring pair's
// together, yielding to the scheduler every few milliseconds.
type pairWaiter struct {
	pair *nmsys.RxPair
	y    osthread.Yielder
}

func (w *pairWaiter) next(_ int, _ bool, bytes uint64, now int64) error {
	w.y.Pass(bytes)
	return waitErr(w.pair.PollAt(20*time.Millisecond, now))
}
