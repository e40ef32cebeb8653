package st2110

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/nmgo/nmgo/video"
)

// Tests of a two-path sender's dupTx over queues of the test's own
// (recTx), first written by a reviewer as probes.

// recTx records every packet published on it and flushed (a flush that
// fails sends none of the packets published since the last); it can
// fail its Reserve, its flush (from the flushAt'th on, if set), or give
// at most room buffers a step (if set); while rerr (ferr) is set its
// Reserve (flush) fails with it.
type recTx struct {
	bufs                   [][]byte
	lens                   []int
	got                    [][]byte
	failReserve, failFlush bool
	reserves, flushes      int
	flushAt, room          int
	rerr, ferr             error
	full                   bool // Reserve gives nothing, and no error
	published              int  // packets published since the last flush
}

func (r *recTx) Reserve(n int) (int, error) {
	r.reserves++
	if r.failReserve {
		return 0, errors.New("reserve: gone")
	}
	if r.rerr != nil {
		return 0, r.rerr
	}
	if r.full {
		return 0, nil
	}
	if r.room > 0 {
		n = min(n, r.room)
	}
	for len(r.bufs) < n {
		r.bufs = append(r.bufs, make([]byte, 2048))
		r.lens = append(r.lens, 0)
	}
	return n, nil
}
func (r *recTx) Buf(i int) []byte { return r.bufs[i] }
func (r *recTx) SetLen(i, n int)  { r.lens[i] = n }
func (r *recTx) Publish(n int) {
	for i := range n {
		r.got = append(r.got, bytes.Clone(r.bufs[i][:r.lens[i]]))
	}
	r.published += n
}
func (r *recTx) flush(context.Context) error {
	r.flushes++
	n := r.published
	r.published = 0
	err := r.ferr
	if err == nil && (r.failFlush || r.flushAt > 0 && r.flushes >= r.flushAt) {
		err = errors.New("flush: gone")
	}
	if err != nil {
		r.got = r.got[:len(r.got)-n] // not sent
	}
	return err
}
func (r *recTx) wait(context.Context) error { return nil }
func (r *recTx) drain()                     {}
func (r *recTx) close() error               { return nil }
func (r *recTx) counts() *txCounts          { return nil }

func rvDial(t *testing.T, a, b txConn) *Sender { return rvDialN(t, a, b, 1) }

// rvDialN dials a sender of n flows, one output, whose paths are a and b;
// flow k goes to 239.1.1.<k+1> and 239.2.1.<k+1>.
func rvDialN(t *testing.T, a, b txConn, n int) *Sender { return rvDialCount(t, a, b, n, 4) }

// rvDialCount is rvDialN sending count frames of each flow.
func rvDialCount(t *testing.T, a, b txConn, n, count int) *Sender {
	var fs []video.Stream
	var srcs []video.FrameSource
	for k := range n {
		f := flow(fmtSmall, fmt.Sprintf("239.1.1.%d:5004", k+1), "")
		f.Second = video.Leg{Dst: netip.MustParseAddrPort(fmt.Sprintf("239.2.1.%d:5006", k+1))}
		fs = append(fs, f)
		srcs = append(srcs, loopOf(t, fmtSmall, randomFrames(fmtSmall, 4, uint64(7+k))))
	}
	sess := session("10.0.0.1", fs...)
	cfg := &SendConfig{Sources: srcs, Count: uint64(count), MaxLag: -1, Second: "vale0:heap2"}
	s, sources, err := newSenderFrames("vale0:heap", sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.build([]txConn{a}, &ethInfo{srcMAC: defaultMAC}, sources); err != nil {
		t.Fatal(err)
	}
	ep, fs, err := s.secondPath(sess)
	if err != nil {
		t.Fatal(err)
	}
	sb := &Sender{ep: ep, flows: fs, cfg: s.cfg, clock: s.clock, sess: s.sess}
	sb.cfg.SrcAddr = netip.MustParseAddrPort("10.9.9.9:0")
	tees, err := s.pair(sb, []txConn{b}, &ethInfo{srcMAC: net.HardwareAddr{2, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb}}, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	s.parts[0].q = tees[0]
	return s
}

// rvRun sends rvDial's 128 packets, several a step, and returns the
// sender.
func rvRun(t *testing.T, a, b *recTx) *Sender {
	s := rvDial(t, a, b)
	p := s.parts[0]
	if err := p.tx.Start(1_000_000_000_000, 0); err != nil {
		t.Fatal(err)
	}
	for !p.tx.Done() {
		if n, _, err := s.step(context.Background(), p, p.tx.Next()+2_000_000); err != nil || n < 2 && !p.tx.Done() {
			t.Logf("n %d", n)
			t.Fatal(err)
		}
	}
	t.Logf("path0 %+v path1 %+v", s.PathStats(0, 0), s.PathStats(0, 1))
	return s
}

// Path a fails (at its first Reserve, or first flush) and b goes on from
// the scratch buffers, several packets a step: b's packets are those of a
// run where nothing fails, its sequence numbers and IPv4 identifications
// continuous, its headers its own.
func TestDupScratchIdentical(t *testing.T) {
	a0, b0 := &recTx{}, &recTx{}
	rvRun(t, a0, b0)
	for name, a := range map[string]*recTx{"reserve": {failReserve: true}, "flush": {failFlush: true}} {
		b := &recTx{}
		s := rvRun(t, a, b)
		// The step of a failed Reserve (not written to a) or of a failed
		// flush (not sent) is counted unsent.
		if want := uint64(len(b.got) - len(a.got)); s.PathStats(0, 0).Unsent != want {
			t.Errorf("%s: path 0 %+v, want %d unsent (%d packets on it)", name, s.PathStats(0, 0), want, len(a.got))
		}
		if len(b.got) != len(b0.got) {
			t.Fatalf("%s: %d packets on b, want %d", name, len(b.got), len(b0.got))
		}
		diff := 0
		norm := func(x []byte) []byte {
			x = bytes.Clone(x)
			for _, o := range []int{18, 19, 24, 25, 44, 45, 50, 51, 52, 53, 54, 55} {
				x[o] = 0
			}
			return x
		}
		for i := range b.got {
			if i > 0 {
				seq := func(x []byte) uint32 { return uint32(x[54])<<24 | uint32(x[55])<<16 | uint32(x[44])<<8 | uint32(x[45]) }
				id := func(x []byte) uint16 { return uint16(x[18])<<8 | uint16(x[19]) }
				if seq(b.got[i]) != seq(b.got[i-1])+1 || id(b.got[i]) != id(b.got[i-1])+1 {
					t.Errorf("%s: packet %d: seq/id not continuous", name, i)
				}
			}
			if !bytes.Equal(norm(b.got[i]), norm(b0.got[i])) {
				if diff < 3 {
					t.Errorf("%s: packet %d differs:\n%x\n%x", name, i, b.got[i][:60], b0.got[i][:60])
				}
				diff++
			}
		}
		t.Logf("%s: %d packets, %d differ; a reserves %d", name, len(b.got), diff, a.reserves)
	}
	if !bytes.Equal(b0.got[0][6:12], []byte{2, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb}) || bytes.Equal(a0.got[0][:42], b0.got[0][:42]) {
		t.Errorf("b's headers not its own: %x / %x", a0.got[0][:42], b0.got[0][:42])
	}
}

// The context ends while a flush of path 0 waits (udp: it returns ctx's
// error): no path failed, Run returns nil; also when path 1 had failed before.
func TestDupCtxDuringFlush(t *testing.T) {
	for _, bDead := range []bool{false, true} {
		tx, err := Dial("udp", twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2"), &SendConfig{Count: 100, Second: "udp", MaxLag: -1})
		if err != nil {
			t.Fatal(err)
		}
		d := tx.parts[0].q.(*dupTx)
		ctx, cancel := context.WithCancel(context.Background())
		var na, nb, fb int
		d.a.(*udpTx).sendHook = func(int) (int, error) {
			if na++; na == 40 {
				cancel()
				return 0, errors.New("i/o timeout")
			}
			return 1, nil
		}
		lim := -1
		if bDead {
			lim = 5
		}
		d.b.(*udpTx).sendHook = failAfter(lim, &nb, &fb)
		err = tx.Run(ctx)
		if err != nil || tx.PathStats(0, 0).Err != nil || (tx.PathStats(0, 1).Err != nil) != bDead {
			t.Errorf("bDead %v: Run %v; %+v %+v", bDead, err, tx.PathStats(0, 0), tx.PathStats(0, 1))
		}
		tx.Close()
	}
}

// softTx's first Reserve gives its buffers and an error, as rings.TxRing
// and xsk.TxQueue do for an integrity error with good slots before it.
type softTx struct{ recTx }

func (s *softTx) Reserve(n int) (int, error) {
	k, _ := s.recTx.Reserve(n)
	if s.reserves == 1 {
		return k, errors.New("integrity: a completion not in flight (skipped)")
	}
	return k, nil
}

// A Reserve that gives buffers with an error (an integrity error) does
// not fail the path: the buffers are used, as with one path.
func TestDupSoftReserve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a, b  txConn
		aDead bool
	}{
		{"path 0", &softTx{}, &recTx{}, false},
		{"path 1", &recTx{}, &softTx{}, false},
		{"path 1, path 0 failed", &recTx{failReserve: true}, &softTx{}, true},
	} {
		s := rvDial(t, tc.a, tc.b)
		p := s.parts[0]
		if err := p.tx.Start(1_000_000_000_000, 0); err != nil {
			t.Fatal(err)
		}
		for !p.tx.Done() {
			if _, _, err := s.step(context.Background(), p, p.tx.Next()+2_000_000); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		got := func(q txConn) int {
			if st, ok := q.(*softTx); ok {
				return len(st.got)
			}
			return len(q.(*recTx).got)
		}
		st0, st1 := s.PathStats(0, 0), s.PathStats(0, 1)
		t.Logf("%s: %d packets on a, %d on b; %+v %+v", tc.name, got(tc.a), got(tc.b), st0, st1)
		aDead := tc.aDead
		if st1.Err != nil || st1.Unsent != 0 || got(tc.b) != 128 || (st0.Err != nil) != aDead || !aDead && got(tc.a) != 128 {
			t.Errorf("%s: a Reserve's error with buffers failed the path: %+v %+v; %d packets on a, %d on b, want 128", tc.name, st0, st1, got(tc.a), got(tc.b))
		}
	}
	// single path
	a1 := &softTx{}
	f0 := flow(fmtSmall, "239.1.1.1:5004", "")
	s1, sources, err := newSenderFrames("vale0:heap", session("10.0.0.1", f0), &SendConfig{Source: loopOf(t, fmtSmall, randomFrames(fmtSmall, 4, 7)), Count: 4, MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.build([]txConn{a1}, &ethInfo{srcMAC: defaultMAC}, sources); err != nil {
		t.Fatal(err)
	}
	p1 := s1.parts[0]
	if err := p1.tx.Start(1_000_000_000_000, 0); err != nil {
		t.Fatal(err)
	}
	for !p1.tx.Done() && err == nil {
		_, _, err = s1.step(context.Background(), p1, p1.tx.Next()+2_000_000)
	}
	t.Logf("single path: %d packets, err %v", len(a1.got), err)
	if err != nil || len(a1.got) != 128 {
		t.Errorf("single path: %d packets, err %v; want 128, nil", len(a1.got), err)
	}
}

// Two flows share one output whose second path is short of room and then
// fails at a flush: each flow's Skipped and Unsent are its own packets
// (what it sent on b, skipped and unsent add up to its packets), and
// they add up over the flows to the output's.
func TestDupPathStatsPerFlow(t *testing.T) {
	a, b := &recTx{}, &recTx{room: 3, flushAt: 20}
	s := rvDialN(t, a, b, 2)
	if len(s.parts) != 1 {
		t.Fatalf("%d outputs, want 1", len(s.parts))
	}
	p := s.parts[0]
	if err := p.tx.Start(1_000_000_000_000, 0); err != nil {
		t.Fatal(err)
	}
	for !p.tx.Done() {
		if _, _, err := s.step(context.Background(), p, p.tx.Next()+2_000_000); err != nil {
			t.Fatal(err)
		}
	}
	var onB [2]uint64
	for _, x := range b.got {
		onB[x[33]-1]++ // 239.2.1.<k+1>
	}
	var sumSkipped, sumUnsent, sumPackets uint64
	for k := range 2 {
		st, packets := s.PathStats(k, 1), p.tx.Stats(k).Packets
		t.Logf("flow %d: %d packets, %d on b; path 1 %+v", k, packets, onB[k], st)
		if st.Err == nil || st.Skipped == 0 || st.Unsent == 0 {
			t.Errorf("flow %d: path 1 %+v: want a failure, skipped and unsent packets", k, st)
		}
		if onB[k]+st.Skipped+st.Unsent != packets || st.Skipped+st.Unsent > packets {
			t.Errorf("flow %d: %d on b + %d skipped + %d unsent, want its %d packets", k, onB[k], st.Skipped, st.Unsent, packets)
		}
		if s.Skipped(k) != st.Skipped {
			t.Errorf("flow %d: Skipped %d, PathStats %d", k, s.Skipped(k), st.Skipped)
		}
		sumSkipped, sumUnsent, sumPackets = sumSkipped+st.Skipped, sumUnsent+st.Unsent, sumPackets+packets
	}
	if sumPackets != uint64(len(a.got)) || uint64(len(b.got))+sumSkipped+sumUnsent != sumPackets {
		t.Errorf("output: %d packets on a, %d on b + %d skipped + %d unsent", len(a.got), len(b.got), sumSkipped, sumUnsent)
	}
}

// Once path a has failed, the scratch buffers (and per-buffer slices)
// are made once, for the largest batch, however many packets the steps
// that follow reserve.
func TestDupScratchOnce(t *testing.T) {
	a, b := &recTx{failReserve: true}, &recTx{}
	s := rvDial(t, a, b)
	d := s.parts[0].q.(*dupTx)
	if k, err := d.Reserve(1); k != 1 || err != nil || !d.dead[0] {
		t.Fatalf("Reserve(1) = %d, %v; path a dead %v", k, err, d.dead[0])
	}
	d.Publish(1)
	scratch, lens := &d.scratch[0], &d.lens[0]
	allocs := testing.AllocsPerRun(1, func() {
		for _, n := range []int{12, 54, 55, 64, 2, s.cfg.Batch} {
			if k, err := d.Reserve(n); k != n || err != nil {
				t.Fatalf("Reserve(%d) = %d, %v", n, k, err)
			}
			d.Publish(0)
		}
	})
	if allocs != 0 || &d.scratch[0] != scratch || &d.lens[0] != lens || len(d.scratch) != s.cfg.Batch*d.maxA {
		t.Errorf("%v allocations; scratch made again %v, of %d octets for a batch of %d of %d", allocs, &d.scratch[0] != scratch || &d.lens[0] != lens, len(d.scratch), s.cfg.Batch, d.maxA)
	}
}

// SendConfig.Batch is bounded only over UDP: a two-path sender with a huge
// one (here over two captures) sizes its buffers for what its queues give,
// not for the batch, which it neither allocates (out of memory) nor
// multiplies past an int.
func TestDupHugeBatch(t *testing.T) {
	sess := dupFlows()
	const n = 2
	dir := t.TempDir()
	frames := make([][]byte, len(sess.Streams))
	for k, s := range sess.Streams {
		frames[k] = randomFrames(s.Format, 1, uint64(k+1))
	}
	sendCapture(t, "pcap:"+filepath.Join(dir, "a.pcap"), sess, &SendConfig{Sources: loops(t, sess, frames), Count: n,
		Second: "pcap:" + filepath.Join(dir, "b.pcap"), Batch: math.MaxInt})
}

// closeTx is a txConn whose buffers hold bufSize octets (BufSize, as a
// netmap ring's) and that counts its closes.
type closeTx struct {
	recTx
	bufSize int
	closes  int
}

func (c *closeTx) close() error { c.closes++; return nil }
func (c *closeTx) BufSize() int { return c.bufSize }

// Dial closes each output it opened exactly once: all of them if it
// fails after it has opened them (here: a flow's packets do not fit the
// ring's buffers), and on success the rings beyond the flows (a port of
// more TX rings than flows), then Close the others. Before, build closed
// those extra rings and a Dial failing after it closed every output,
// them a second time. No closer of this package is hurt by that today:
// nmsys.Port.Close, xsk.Socket.Close, a UDP socket's and a capture's
// (pcapTx.close) answer a second call with ErrClosed and close no
// descriptor again, and a ringTx's drain before it only reads its ring
// (parked, or still mapped for another port of the region) until the
// closed port's sync fails; but an output's close must not have to be
// safe to call twice.
func TestDialClosesOutputsOnce(t *testing.T) {
	for _, fit := range []bool{false, true} {
		sess := session("10.0.0.1", flow(fmtSmall, "239.1.1.1:5004", ""))
		s, err := newSender("vale0:a", sess, &SendConfig{Count: 1})
		if err != nil {
			t.Fatal(err)
		}
		size := 64 // less than a packet
		if fit {
			size = 2048
		}
		qs := []*closeTx{{bufSize: size}, {bufSize: size}, {bufSize: size}} // 3 rings, 1 flow
		conns := []txConn{qs[0], qs[1], qs[2]}
		err = s.dialOn(sess, conns, &ethInfo{srcMAC: defaultMAC}, netip.Addr{})
		if fit != (err == nil) {
			t.Fatalf("buffers of %d octets: %v", size, err)
		}
		want := []int{1, 1, 1}
		if fit {
			want[0] = 0 // the flow's ring, until Close
			for i, q := range qs {
				if q.closes != want[i] {
					t.Errorf("after Dial, ring %d closed %d times, want %d", i, q.closes, want[i])
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			want[0] = 1
		}
		for i, q := range qs {
			if q.closes != want[i] {
				t.Errorf("Dial that fits %v: ring %d closed %d times, want %d", fit, i, q.closes, want[i])
			}
		}
	}
}
