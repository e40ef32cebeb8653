package st2110

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// The sending side of SMPTE ST 2022-7 seamless protection: each output of
// a Sender with a second path (SendConfig.Second) is a dupTx, which hands
// every packet the Transmitter writes into the first path's queue to the
// second path's queue too, the same RTP packet under that path's headers.

// second opens the second path of s, whose flows are sess's legs 1, and
// pairs each output of s with one of it; on error it closes what it
// opened.
func (s *Sender) second(sess *video.Session) error {
	ep, fs, err := s.secondPath(sess)
	if err != nil {
		return err
	}
	b := &Sender{ep: ep, flows: fs, cfg: s.cfg, clock: s.clock, sess: s.sess}
	b.cfg.Interface = ep.iface
	b.cfg.SrcAddr = netip.AddrPortFrom(netip.Addr{}, s.cfg.SrcAddr.Port())
	var conns []txConn
	var eth *ethInfo
	var origin netip.Addr
	switch ep.kind {
	case kindNetmap:
		conns, err = openNetmapTx(&ep)
		if err == nil {
			eth, err = b.ethernet()
		}
	case kindXDP:
		var q *xdpTx
		if q, err = openXDPTx(&ep, s.cfg.Batch); err == nil {
			conns = []txConn{q}
			eth, err = b.ethernet()
		}
	case kindPcap:
		var q txConn
		if q, err = openPcapTx(&ep, s.cfg.Batch, s.utc); err == nil {
			conns = []txConn{q}
			eth, err = b.ethernet()
		}
	case kindUDP:
		var q *udpTx
		if q, err = openUDPTx(&ep, fs, &b.cfg); err == nil {
			conns, origin = []txConn{q}, q.origin
		}
	default:
		err = fmt.Errorf("st2110: dial %s: not a transport for a second path", ep.name)
	}
	if err == nil && len(conns) < len(s.parts) {
		err = fmt.Errorf("st2110: dial %s: %d outputs for the first path's %d", ep.name, len(conns), len(s.parts))
	}
	var tees []*dupTx
	if err == nil {
		tees, err = s.pair(b, conns, eth, origin)
	}
	if err != nil {
		for _, q := range conns {
			q.close()
		}
		return err
	}
	for _, q := range conns[len(s.parts):] {
		q.close()
	}
	for i, p := range s.parts {
		p.q = tees[i]
	}
	return nil
}

// secondPath reads the name of the second path of s and returns its
// flows, sess's legs 1; newSender calls it too, so that a second path
// that shares the first's port, socket address or file fails Dial before
// either is opened.
func (s *Sender) secondPath(sess *video.Session) (endpoint, []video.Stream, error) {
	ep, err := parseName(s.cfg.Second)
	if err != nil {
		return ep, nil, err
	}
	fs, err := flows(legSession(sess, 1), &ep, true)
	if err != nil {
		return ep, nil, fmt.Errorf("st2110: second path %s: %w", ep.name, err)
	}
	if why := samePath(&s.ep, &ep, s.cfg.Interface, ep.iface, s.flows, fs, true); why != "" {
		return ep, nil, fmt.Errorf("st2110: dial %s: second path %s: %s", s.ep.name, ep.name, why)
	}
	return ep, fs, nil
}

// pair makes the dupTx of each output of s, with b's conns[i] as the
// second path of output i, and adds the second legs to the session.
func (s *Sender) pair(b *Sender, conns []txConn, eth *ethInfo, origin netip.Addr) ([]*dupTx, error) {
	tees := make([]*dupTx, len(s.parts))
	var sockTTL int // the multicast TTL of a UDP second path's one socket
	if eth == nil {
		sockTTL, _ = socketTTLs(b.flows, s.cfg.TTL)
	}
	for i, p := range s.parts {
		t := &dupTx{a: p.q, b: conns[i], names: [2]string{s.ep.name, b.ep.name}, streams: make([]dupStream, len(p.flows)), batch: min(s.cfg.Batch, maxDupBatch)}
		for j, k := range p.flows {
			pk := p.tx.Packetizer(j)
			t.maxA = max(t.maxA, pk.MaxPacketLen())
			f := &s.sess.Streams[k]
			leg := b.flows[k]
			ds := &t.streams[j]
			ds.offA = pk.HeaderLen() - packet.RTPLen - packet.ExtSeqLen
			ds.idOff = -1
			if ds.offA > 0 && s.flows[k].Dst.Addr().Is4() {
				ds.idOff = ds.offA - packet.UDPLen - packet.IPv4Len + 4 // a's IPv4 identification: b's too
			}
			ttl := leg.TTL
			if ttl == 0 {
				ttl = s.cfg.TTL
			}
			if eth == nil && leg.Dst.Addr().IsMulticast() {
				ttl = sockTTL
			}
			maxLen := pk.MaxPacketLen() - ds.offA // RTP only
			if eth != nil {
				tmpl, src, err := b.template(k, eth, ttl, pk.SSRC())
				if err != nil {
					return nil, err
				}
				ds.tmpl = tmpl
				maxLen += tmpl.Len() - packet.RTPLen - packet.ExtSeqLen
				if leg.Dst.Addr().IsMulticast() {
					leg.Source = src
				}
			} else if leg.Dst.Addr().IsMulticast() && origin.IsValid() && origin.Is4() == leg.Dst.Addr().Is4() {
				leg.Source = origin
			}
			if m, ok := t.b.(interface{ BufSize() int }); ok && maxLen > m.BufSize() {
				return nil, fmt.Errorf("st2110: dial %s: packets of %d octets do not fit the port's %d-octet buffers", b.ep.name, maxLen, m.BufSize())
			}
			if pq, ok := t.b.(*pcapTx); ok {
				if err := s.cfg.Budget.Charge(fmt.Sprintf("flow %d (%v): second path's capture buffers of %d-octet packets", k, s.flows[k].Format, maxLen), pq.growth(maxLen)); err != nil {
					return nil, fmt.Errorf("st2110: dial %s: %w", b.ep.name, err)
				}
				pq.grow(maxLen)
			}
			f.Second = video.Leg{Dst: leg.Dst, TTL: sdpTTL(leg.Dst.Addr(), ttl, eth != nil), Source: leg.Source, MID: leg.MID}
		}
		if u, ok := t.b.(*udpTx); ok {
			u.bind(p.flows)
		}
		tees[i] = t
	}
	return tees, nil
}

// dupTx is one output of a sender of two paths: the Transmitter writes
// into path a's queue, and at Publish every packet is copied into path
// b's, with b's headers. Path a sets the pace: a packet b has no room for
// is not sent on b (counted in Skipped, per stream), so that a stalled
// path does not stall the other.
//
// A path that fails (a hard error of its queue: a flush, a wait, or a
// Reserve that gives no buffers) stops alone (ST 2022-7: the other carries the flows): it is
// not touched again until close, its error is kept (SendPathStats.Err)
// and the packets it no longer gets are counted, per stream. Once a has
// failed, b sets the pace, and the Transmitter writes into buffers of the
// dupTx's own (scratch, made then, once for a batch) that are
// copied into b's. Only when both
// have failed does the output's send loop end, with both errors.
// maxDupBatch bounds the batch a dupTx sizes its buffers for ahead of
// need (SendConfig.Batch is not bounded on every transport: a huge one must
// not be allocated, nor overflow int): a queue that gives more buffers at
// once than this (a netmap ring of more slots) has them grown to its
// count, which its ring bounds.
const maxDupBatch = 1024

type dupTx struct {
	a, b    txConn
	names   [2]string   // the paths' transports (Dial's name, SendConfig.Second), for their errors
	maxA    int         // the longest packet the Transmitter writes
	batch   int         // the packets a step usually takes: SendConfig.Batch, at most maxDupBatch
	streams []dupStream // per stream of the output's Transmitter

	// Per reserved buffer: its length, stream and send time.
	lens []int
	strm []int
	at   []int64
	kb   int // buffers reserved on b

	dead    [2]bool // the send loop's view of the paths that failed
	scratch []byte  // the Transmitter's buffers once a has failed, maxA octets each

	mu   sync.Mutex
	errs [2]error // why each path failed, named by it (SendPathStats.Err)
}

// dupStream is how one stream's packets are copied to path b.
type dupStream struct {
	offA  int              // where the RTP header starts in a's packets
	tmpl  *packet.Template // b's headers, nil if b takes RTP packets (UDP)
	id    uint16           // b's IPv4 identification, where a's packets have none
	idOff int              // where a's packets have theirs, or -1

	skipped atomic.Uint64    // the stream's packets not sent on b for want of room
	unsent  [2]atomic.Uint64 // its packets not handed to a path once it had failed
}

func (t *dupTx) Reserve(n int) (int, error) {
	if t.dead[0] {
		return t.reserveB(n)
	}
	// A queue's error that comes with buffers (an integrity error of a
	// ring, with good slots before it) is not a failure: those buffers
	// may be used, as a single path's Transmitter.Step uses them.
	k, err := t.a.Reserve(n)
	if k == 0 {
		if err == nil {
			return 0, nil
		}
		if err := t.fail(0, err); err != nil {
			return 0, err
		}
		return t.reserveB(n)
	}
	t.grow(k)
	clear(t.strm[:k])
	t.kb = 0
	if !t.dead[1] {
		if t.kb, err = t.b.Reserve(k); t.kb == 0 && err != nil {
			t.fail(1, err) // a goes on
		}
	}
	return k, nil
}

// reserveB reserves n buffers on b alone, path a having failed: b's room
// is the output's, and the Transmitter writes into scratch.
func (t *dupTx) reserveB(n int) (int, error) {
	k, err := t.b.Reserve(n)
	if k == 0 {
		if err != nil {
			return 0, t.fail(1, err)
		}
		return 0, nil
	}
	t.grow(k)
	clear(t.strm[:k])
	t.kb = k
	if m := len(t.lens) * t.maxA; len(t.scratch) < m {
		t.scratch = make([]byte, m) // once, unless a queue gives more than the batch at once
	}
	return k, nil
}

// grow makes the per-buffer slices hold k buffers (what a queue gave: at
// most its ring), and at least a batch.
func (t *dupTx) grow(k int) {
	if len(t.lens) < k {
		k = max(k, t.batch)
		t.lens, t.strm, t.at = make([]int, k), make([]int, k), make([]int64, k)
	}
}

// fail stops path p for err, once; it returns the output's error if both
// paths have now failed, else nil.
func (t *dupTx) fail(p int, err error) error {
	if !t.dead[p] {
		t.dead[p] = true
		t.mu.Lock()
		t.errs[p] = fmt.Errorf("st2110: send path %d (%s): %w", p, t.names[p], err)
		t.mu.Unlock()
	}
	return t.failed()
}

// failed returns the output's error once both paths have failed: both
// errors, each named by its path; nil while one sends.
func (t *dupTx) failed() error {
	if !t.dead[0] || !t.dead[1] {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Each path's error as its queue gave it, not named again.
	return fmt.Errorf("both paths failed: path 0 (%s): %w; path 1 (%s): %w", t.names[0], errors.Unwrap(t.errs[0]), t.names[1], errors.Unwrap(t.errs[1]))
}

// Buf returns the buffer the Transmitter writes packet i into: path a's,
// or once a has failed the scratch's.
func (t *dupTx) Buf(i int) []byte {
	if t.dead[0] {
		return t.scratch[i*t.maxA : (i+1)*t.maxA : (i+1)*t.maxA]
	}
	return t.a.Buf(i)
}

func (t *dupTx) SetLen(i, n int) {
	if !t.dead[0] {
		t.a.SetLen(i, n)
	}
	t.lens[i] = n
}

func (t *dupTx) Stamp(i, stream int, at int64) {
	if st, ok := t.a.(video.TxStamper); ok && !t.dead[0] {
		st.Stamp(i, stream, at)
	}
	t.strm[i], t.at[i] = stream, at
}

// Publish publishes the first n packets on a, and their copies on b (on
// the paths that have not failed).
func (t *dupTx) Publish(n int) {
	nb := min(n, t.kb)
	stamp, _ := t.b.(video.TxStamper)
	for i := range nb {
		if !t.copy(i) {
			nb = i // a buffer gone bad: what follows is not sent on b
			break
		}
		if stamp != nil {
			stamp.Stamp(i, t.strm[i], t.at[i])
		}
	}
	if t.dead[0] {
		t.count(0, n, 0)
	} else {
		t.a.Publish(n)
	}
	switch {
	case t.dead[1]:
		t.count(1, n, 0)
	default:
		t.b.Publish(nb)
		t.count(-1, n, nb)
	}
}

// count counts packets from..n-1 against their streams: unsent on path
// p, or skipped (on b) for p < 0.
func (t *dupTx) count(p, n, from int) {
	for i := from; i < n; i++ {
		ds := &t.streams[t.strm[i]]
		if p < 0 {
			ds.skipped.Add(1)
		} else {
			ds.unsent[p].Add(1)
		}
	}
}

// copy writes the copy of a's packet i into b's buffer i.
func (t *dupTx) copy(i int) bool {
	ds := &t.streams[t.strm[i]]
	src, dst := t.Buf(i), t.b.Buf(i)
	if src == nil || dst == nil || t.lens[i] < ds.offA+packet.RTPLen+packet.ExtSeqLen || t.lens[i] > len(src) {
		return false
	}
	rtp := src[ds.offA:t.lens[i]]
	if ds.tmpl == nil {
		if len(dst) < len(rtp) {
			return false
		}
		t.b.SetLen(i, copy(dst, rtp))
		return true
	}
	h := ds.tmpl.Len()
	payload := rtp[packet.RTPLen+packet.ExtSeqLen:]
	if len(dst) < h+len(payload) || len(payload) > ds.tmpl.MaxPayload() {
		return false
	}
	copy(dst[h:], payload)
	f := packet.Fields{
		Seq:       uint32(binary.BigEndian.Uint16(rtp[packet.RTPLen:]))<<16 | uint32(binary.BigEndian.Uint16(rtp[2:])),
		Timestamp: binary.BigEndian.Uint32(rtp[4:]),
		Marker:    rtp[1]&0x80 != 0,
		ID:        ds.id,
	}
	if ds.idOff >= 0 {
		f.ID = binary.BigEndian.Uint16(src[ds.idOff:])
	} else {
		ds.id++
	}
	t.b.SetLen(i, ds.tmpl.Write(dst, len(payload), &f))
	return true
}

// flush flushes the paths that have not failed; one that fails now
// stops (fail), and flush's error is the output's once both have. An
// error of ctx's (Run's end, in a wait for room) is returned as it is.
func (t *dupTx) flush(ctx context.Context) error {
	var errs [2]error
	for p, q := range []txConn{t.a, t.b} {
		if !t.dead[p] {
			errs[p] = q.flush(ctx)
		}
	}
	for _, err := range errs {
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
	}
	for p, err := range errs {
		if err != nil {
			t.fail(p, err)
		}
	}
	return t.failed()
}

// wait waits for room on the path that sets the pace: a, else b.
func (t *dupTx) wait(ctx context.Context) error {
	for p, q := range []txConn{t.a, t.b} {
		if !t.dead[p] {
			if err := q.wait(ctx); err != nil {
				return t.fail(p, err)
			}
			return nil
		}
	}
	return t.failed()
}

// interrupt interrupts the paths' flushes that may wait.
func (t *dupTx) interrupt() {
	for _, q := range []txConn{t.a, t.b} {
		if in, ok := q.(interrupter); ok {
			in.interrupt()
		}
	}
}

// drain drains the paths that have not failed.
func (t *dupTx) drain() {
	for p, q := range []txConn{t.a, t.b} {
		if !t.dead[p] {
			q.drain()
		}
	}
}

// finish finishes the paths that have not failed and hold packets back
// (captures); one that fails now stops, as in flush.
func (t *dupTx) finish() error {
	for p, q := range []txConn{t.a, t.b} {
		if f, ok := q.(finisher); ok && !t.dead[p] {
			if err := f.finish(); err != nil {
				t.fail(p, err)
			}
		}
	}
	return t.failed()
}

// close closes both paths, a failed one too.
func (t *dupTx) close() error { return errors.Join(t.a.close(), t.b.close()) }

// counts returns path a's counts; Sender.Stats adds path b's.
func (t *dupTx) counts() *txCounts { return t.a.counts() }

// Skipped returns how many of flow k's packets were not sent on the
// second path (ST 2022-7) for want of room in its queue; 0 without one.
// The count is flow k's own, though several flows may share an output.
func (s *Sender) Skipped(k int) uint64 {
	p, j := s.part(k)
	if t, ok := p.q.(*dupTx); ok {
		return t.streams[j].skipped.Load()
	}
	return 0
}

// SendPathStats are the counts of one path of one flow of a sender of
// two paths (SendConfig.Second), as they happen. Skipped and Unsent are
// the flow's own packets, though several flows may share an output (and
// its paths): they add up over the flows to the output's.
type SendPathStats struct {
	// Skipped is the flow's packets not sent on the path for want of
	// room in its queue (the second path only: the first sets the pace,
	// as Sender.Skipped).
	Skipped uint64

	// Unsent is the flow's packets not handed to the path once it had
	// failed. Those of the step in which it failed are counted if the
	// failure was its Reserve (they were never written to it), not if it
	// was its flush or a wait for room (they had been handed on).
	Unsent uint64

	// Err is the error that stopped the path, which names it ("st2110:
	// send path 1 (udp:eth1): ..." and matches the transport's error,
	// errors.Is); nil while it sends.
	Err error
}

// PathStats returns the counts of path p (0, the first, or 1, the
// second) for flow k: a path whose queue fails (a send the network
// cannot route, ENETUNREACH-like, a failed TX sync, an AF_XDP socket
// gone; not a refused send, ECONNREFUSED, which is counted in
// SendStats.Refused and retried) stops alone, the other goes on at the
// same pace, and Err says why it stopped. Err is that of the output flow
// k is sent on (every flow of it stops on that path); Skipped and Unsent
// are flow k's. Zero without a second path, or for p not 0 or 1.
func (s *Sender) PathStats(k, p int) SendPathStats {
	pt, j := s.part(k)
	t, ok := pt.q.(*dupTx)
	if !ok || p < 0 || p > 1 {
		return SendPathStats{}
	}
	ds := &t.streams[j]
	st := SendPathStats{Unsent: ds.unsent[p].Load()}
	if p == 1 {
		st.Skipped = ds.skipped.Load()
	}
	t.mu.Lock()
	st.Err = t.errs[p]
	t.mu.Unlock()
	return st
}
