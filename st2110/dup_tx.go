package st2110

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// The sending side of SMPTE ST 2022-7 seamless protection: each output of
// a Sender with a second path (SendConfig.Second) is a dupTx, which hands
// every packet the Transmitter writes into the first path's queue to the
// second path's queue too, the same RTP packet under that path's headers.

// secondOut is the second path of a Sender: opened (openSecond) with the
// first, before the test patterns are drawn, and paired with the first
// path's outputs once they are built (pairSecond).
type secondOut struct {
	b      *Sender // the second path's flows, endpoint and config
	conns  []txConn
	eth    *ethInfo
	origin netip.Addr
}

// close closes the second path's outputs.
func (o *secondOut) close() {
	for _, q := range o.conns {
		q.close()
	}
}

// openSecond opens the second path of s, whose flows are sess's legs 1;
// on error it closes what it opened.
func (s *Sender) openSecond(sess *video.Session) (*secondOut, error) {
	ep, fs, err := s.secondPath(sess)
	if err != nil {
		return nil, err
	}
	b := &Sender{ep: ep, flows: fs, cfg: s.cfg, clock: s.clock, utc: s.utc}
	b.cfg.Interface = ep.iface
	b.cfg.SrcAddr = netip.AddrPortFrom(netip.Addr{}, s.cfg.SrcAddr.Port())
	o := &secondOut{b: b}
	o.conns, o.eth, o.origin, err = b.openOutputs()
	if err != nil {
		o.close()
		return nil, secondErr("dial", s.ep.name, ep.name, err)
	}
	return o, nil
}

// pairSecond pairs each output of s, built, with one of its second path
// o's; on error it closes o's outputs.
func (s *Sender) pairSecond(o *secondOut) error {
	b := o.b
	b.sess = s.sess // as build left it: its origin is a source address of the second path's frames
	var err error
	if len(o.conns) < len(s.parts) {
		err = fmt.Errorf("st2110: dial %s: %d outputs for the first path's %d", b.ep.name, len(o.conns), len(s.parts))
	}
	var tees []*dupTx
	if err == nil {
		tees, err = s.pair(b, o.conns, o.eth, o.origin)
	}
	if err != nil {
		o.close()
		return secondErr("dial", s.ep.name, b.ep.name, err)
	}
	for _, q := range o.conns[len(s.parts):] {
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
		return ep, nil, secondErr("dial", s.ep.name, s.cfg.Second, err)
	}
	fs, err := flows(legSession(sess, 1), &ep, true)
	if err != nil {
		return ep, nil, secondErr("dial", s.ep.name, ep.name, err)
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
		t := &dupTx{a: p.q, b: conns[i], names: [2]string{s.ep.name, b.ep.name}, streams: make([]dupStream, len(p.flows)), batch: min(s.cfg.Batch, maxDupBatch), direct: true}
		t.stampA, _ = t.a.(video.TxStamper)
		t.stampB, _ = t.b.(video.TxStamper)
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
// A path that fails (an error of its queue: a flush, a wait, or a Reserve
// that gives no buffers) stops alone (ST 2022-7: the other carries the
// flows): its error is kept (SendPathStats.Err) and the packets it no
// longer gets are counted, per stream. Once a has failed, b sets the
// pace, and the Transmitter writes into buffers of the dupTx's own
// (scratch, made then, once for a batch) that are copied into b's.
//
// A path whose error is transient (retryable: the network, not the
// socket, ring or file) is tried again after a backoff on the send
// loop's clock (minRetry, doubled at every failed try, at most maxRetry):
// the step due then hands it its packets as it does b's, copied, a
// packet it has no room for skipped, the other path keeping the pace (on
// a ring, keeper, only once a flush alone has worked).
// Its first flush that takes packets brings it back (path a then sets
// the pace again, the Transmitter writing into its buffers); a failure
// stops it again until the next try. A permanent error stops the path
// until close. While neither path is up (both failed, one at least to be
// tried again) the Transmitter writes into the scratch buffers at its own
// pace and the packets are counted unsent on the paths that do not take
// them; only when both paths have failed for good does the output's send
// loop end, with both errors.
//
// maxDupBatch bounds the batch a dupTx sizes its buffers for ahead of
// need (SendConfig.Batch is not bounded on every transport: a huge one must
// not be allocated, nor overflow int): a queue that gives more buffers at
// once than this (a netmap ring of more slots) has them grown to its
// count, which its ring bounds.
const maxDupBatch = 1024

// minRetry and maxRetry bound the wait of a path stopped by a transient
// error before it is tried again: minRetry after it failed, doubled at
// every try that fails, at most maxRetry.
const (
	minRetry = 4 * time.Millisecond
	maxRetry = time.Second
)

type dupTx struct {
	a, b    txConn
	names   [2]string   // the paths' transports (Dial's name, SendConfig.Second), for their errors
	maxA    int         // the longest packet the Transmitter writes
	batch   int         // the packets a step usually takes: SendConfig.Batch, at most maxDupBatch
	streams []dupStream // per stream of the output's Transmitter

	stampA, stampB video.TxStamper // a and b, if they take send times (nil if not)

	// Per reserved buffer: its length, stream and send time.
	lens   []int
	strm   []int
	at     []int64
	ka, kb int // buffers reserved on a, where it follows (not direct), and on b

	// The send loop's view of the paths.
	dead    [2]bool  // paths that get no packets: failed, not yet tried again
	gone    [2]bool  // paths failed for good (a permanent error): dead until close
	probing [2]bool  // paths tried again that no flush has yet brought back: they follow
	handed  [2]int   // the packets each path was handed in the step (Publish), for its flush
	direct  bool     // the Transmitter writes into a's buffers: a is up, and sets the pace
	now     int64    // the step's time, on the send loop's clock (Sender.step)
	retryAt [2]int64 // when a dead path that is not gone is tried again (now's clock)
	backoff [2]int64 // the wait before that try, ns
	upAt    [2]int64 // when each came back last (now's clock)

	scratch []byte // the Transmitter's buffers while a is not direct, maxA octets each

	mu         sync.Mutex
	errs       [2]error  // why each path is down, named by it (SendPathStats.Err); nil while up
	failures   [2]uint64 // times each path went down (SendPathStats.Failures)
	recoveries [2]uint64 // times each came back (SendPathStats.Recoveries)
}

// dupStream is how one stream's packets are copied to path b.
type dupStream struct {
	offA  int              // where the RTP header starts in a's packets
	tmpl  *packet.Template // b's headers, nil if b takes RTP packets (UDP)
	id    uint16           // b's IPv4 identification, where a's packets have none
	idOff int              // where a's packets have theirs, or -1

	skipped [2]atomic.Uint64 // the stream's packets not sent on a path for want of room (a: only while it follows)
	unsent  [2]atomic.Uint64 // its packets not handed to a path while it was down
}

// retryable tells whether err, from path q's queue, is transient: the
// network (a link or route that went away, a device queue or the
// kernel's memory short for a moment, a netmap ring stopped while its NIC
// resets, EIO), after which the same socket or ring sends again once the
// network is back. Everything else is permanent: a closed socket, port or
// file (os.ErrClosed, net.ErrClosed, EBADF), an AF_XDP socket the kernel
// unbound when its interface went away (ENXIO), a capture's write error
// (the file keeps it), the end of a context, and any error not known to
// be transient. It is the one place that decides which errors a path of
// a sender is tried again after.
func retryable(q txConn, err error) bool {
	if _, ok := q.(*pcapTx); ok {
		return false
	}
	switch {
	case err == nil,
		errors.Is(err, os.ErrClosed), errors.Is(err, net.ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.EBADF), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV):
		return false
	}
	for _, e := range transientErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// transientErrnos are the errors of a send or a sync that the network
// gives while it is down or short of room (retryable). ENOBUFS and
// EAGAIN do not reach a dupTx from the transports of this package (udpTx
// drops and counts a full device queue's datagrams, xsk's Kick takes
// them as more to send); they are here for a queue that would give them.
var transientErrnos = [...]error{
	syscall.ENETDOWN, syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EHOSTDOWN,
	syscall.EADDRNOTAVAIL, syscall.ENOBUFS, syscall.ENOMEM, syscall.EAGAIN, syscall.EIO,
}

func (t *dupTx) Reserve(n int) (int, error) {
	if t.dead[0] || t.dead[1] { // a path to try again, maybe
		if err := t.retry(); err != nil {
			return 0, err
		}
	}
	if !t.direct {
		return t.reserveScratch(n)
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
		return t.reserveScratch(n)
	}
	t.grow(k)
	clear(t.strm[:k])
	t.kb = 0
	if !t.dead[1] {
		t.kb = t.follow(1, k) // a goes on if b fails
	}
	return k, nil
}

// retry makes the dead paths whose try is due probe: they take the
// step's packets, following the pace. A ring's try is first its flush
// alone (keeper): one that fails is a try that failed, and the ring is
// handed no packets to keep. It returns the output's error if both
// paths have now failed for good, else nil.
func (t *dupTx) retry() error {
	for p := range 2 {
		if !t.dead[p] || t.gone[p] {
			continue
		}
		if !t.due(p) {
			continue
		}
		t.dead[p], t.probing[p] = false, true
		if _, ok := t.conn(p).(keeper); ok {
			// A ring's flush does not wait: no context to end it.
			if err := t.conn(p).flush(context.Background()); err != nil {
				if err := t.fail(p, err); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// due tells whether path p's try is due at the step's time. A try never
// waits more than its backoff from now: a clock stepped back (CLOCK_TAI
// set back) does not put it off by the step.
func (t *dupTx) due(p int) bool {
	if t.retryAt[p] > t.now && t.retryAt[p]-t.now > t.backoff[p] {
		t.retryAt[p] = t.now + t.backoff[p] // the clock stepped back
	}
	return t.now >= t.retryAt[p]
}

// keeper is a txConn whose packets a flush that fails leaves in its
// ring, to leave at its next flush that works (a netmap TX ring, an
// AF_XDP socket): a path on one is tried again by a flush alone, and
// handed packets only once that works, so that a long outage does not
// fill its ring with old packets to send all at once when it ends. On
// an AF_XDP socket in need-wakeup mode (the default) the flush alone
// works whenever the kernel wants no wakeup (its Kick makes no system
// call then, xsk.Socket.Kick): the try takes packets at once, and the
// flush that follows tells.
type keeper interface {
	txConn
	keepsFailed()
}

// up tells whether path p is up: neither dead nor probing.
func (t *dupTx) up(p int) bool { return !t.dead[p] && !t.probing[p] }

// conn returns path p's queue.
func (t *dupTx) conn(p int) txConn {
	if p == 0 {
		return t.a
	}
	return t.b
}

// follow reserves up to k buffers on path p, which follows the pace;
// one that fails stops p alone.
func (t *dupTx) follow(p, k int) int {
	got, err := t.conn(p).Reserve(k)
	if got == 0 && err != nil {
		t.fail(p, err)
	}
	return got
}

// reserveScratch reserves n buffers of scratch, a not being direct: b's
// room is the output's if b is up, else the batch's (no path sets the
// pace); a probing path takes what room it has. While b has no room (a
// NIC that holds its slots, no error) the output waits for it, except
// in a step in which a's try is due: that step goes on at the batch's
// pace, b skipping its packets as a follower does, so that a full b
// cannot keep a from coming back; while a takes none it is tried so
// again after a backoff doubled each time (b loses at most a batch of
// packets each).
func (t *dupTx) reserveScratch(n int) (int, error) {
	k, try := 0, false
	if t.up(1) {
		kb, err := t.b.Reserve(n)
		if kb == 0 {
			switch {
			case err != nil:
				if err := t.fail(1, err); err != nil {
					return 0, err
				}
			case !t.probing[0] || !t.due(0):
				return 0, nil
			default:
				try = true // a's try, b having no room
			}
		}
		k = kb
	}
	paced := k > 0
	if !paced {
		k = min(n, t.batch)
		if k <= 0 {
			return 0, nil
		}
	}
	t.grow(k)
	clear(t.strm[:k])
	t.ka, t.kb = 0, 0
	if paced {
		t.kb = k
	} else if t.probing[1] {
		t.kb = t.follow(1, k)
	}
	if t.probing[0] {
		t.ka = t.follow(0, k)
		if try && t.probing[0] && t.ka == 0 {
			// a took none: its next try while b has no room is a
			// backoff doubled later, as after a try that failed (one
			// that fails, or takes packets, has its own next).
			t.backoff[0] = min(2*t.backoff[0], int64(maxRetry))
			t.schedule(0)
		}
	}
	if err := t.failed(); err != nil {
		return 0, err
	}
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

// fail stops path p for err, once: until close if err is permanent, else
// until its next try (the first minRetry after it was up, doubled at
// every try that fails, at most maxRetry; doubled from the last also if
// it had been back for less than maxRetry). It returns the output's
// error if both paths have now failed for good, else nil.
func (t *dupTx) fail(p int, err error) error {
	if t.dead[p] {
		return t.failed()
	}
	probe := t.probing[p]
	t.dead[p], t.probing[p] = true, false
	if p == 0 {
		t.direct = false
	}
	if retryable(t.conn(p), err) {
		// A path that fails again within maxRetry of coming back (a link
		// that flaps) goes on from its last backoff: it does not come
		// and go every minRetry.
		b := int64(minRetry)
		if t.backoff[p] > 0 && (probe || t.now-t.upAt[p] < int64(maxRetry)) {
			b = min(2*t.backoff[p], int64(maxRetry))
		}
		t.backoff[p] = b
		t.schedule(p)
	} else {
		t.gone[p] = true
	}
	t.mu.Lock()
	t.errs[p] = fmt.Errorf("st2110: send path %d (%s): %w", p, t.names[p], err)
	if !probe {
		t.failures[p]++ // a try that fails is the same outage
	}
	t.mu.Unlock()
	return t.failed()
}

// schedule sets path p's next try a backoff from now.
func (t *dupTx) schedule(p int) {
	t.retryAt[p] = t.now + t.backoff[p]
	if t.retryAt[p] < t.now {
		t.retryAt[p] = math.MaxInt64 // the end of the clock
	}
}

// recover brings back path p, probing, after a flush that took its
// packets: path a sets the pace again.
func (t *dupTx) recover(p int) {
	t.probing[p], t.upAt[p] = false, t.now
	if p == 0 {
		t.direct = true
	}
	t.mu.Lock()
	t.errs[p] = nil
	t.recoveries[p]++
	t.mu.Unlock()
}

// failed returns the output's error once both paths have failed for
// good: both errors, each named by its path; nil while one sends or may
// be tried again.
func (t *dupTx) failed() error {
	if !t.gone[0] || !t.gone[1] {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// Each path's error as its queue gave it, not named again.
	return fmt.Errorf("both paths failed: path 0 (%s): %w; path 1 (%s): %w", t.names[0], errors.Unwrap(t.errs[0]), t.names[1], errors.Unwrap(t.errs[1]))
}

// Buf returns the buffer the Transmitter writes packet i into: path a's,
// or while a is not direct the scratch's.
func (t *dupTx) Buf(i int) []byte {
	if !t.direct {
		return t.scratch[i*t.maxA : (i+1)*t.maxA : (i+1)*t.maxA]
	}
	return t.a.Buf(i)
}

func (t *dupTx) SetLen(i, n int) {
	if t.direct {
		t.a.SetLen(i, n)
	}
	t.lens[i] = n
}

func (t *dupTx) Stamp(i, stream int, at int64) {
	if t.stampA != nil && t.direct {
		t.stampA.Stamp(i, stream, at)
	}
	t.strm[i], t.at[i] = stream, at
}

// Publish publishes the first n packets on a, and their copies on b (on
// the paths that are not dead); a that follows gets the scratch's
// packets as they are.
func (t *dupTx) Publish(n int) {
	nb := 0
	if !t.dead[1] {
		nb = min(n, t.kb)
		stamp := t.stampB
		for i := range nb {
			if !t.copy(i) {
				nb = i // a buffer gone bad: what follows is not sent on b
				break
			}
			if stamp != nil {
				stamp.Stamp(i, t.strm[i], t.at[i])
			}
		}
	}
	na := 0
	if !t.direct && !t.dead[0] {
		na = min(n, t.ka)
		stamp := t.stampA
		for i := range na {
			if !t.copyA(i) {
				na = i
				break
			}
			if stamp != nil {
				stamp.Stamp(i, t.strm[i], t.at[i])
			}
		}
	}
	switch {
	case t.direct:
		t.a.Publish(n)
		na = n
	case t.dead[0]:
		t.count(0, n, 0, false)
	default:
		t.a.Publish(na)
		t.count(0, n, na, true)
	}
	if t.dead[1] {
		t.count(1, n, 0, false)
	} else {
		t.b.Publish(nb)
		t.count(1, n, nb, true)
	}
	t.handed = [2]int{na, nb}
}

// count counts packets from..n-1 against their streams on path p:
// skipped for want of room, or unsent (the path down).
func (t *dupTx) count(p, n, from int, skipped bool) {
	for i := from; i < n; i++ {
		ds := &t.streams[t.strm[i]]
		if skipped {
			ds.skipped[p].Add(1)
		} else {
			ds.unsent[p].Add(1)
		}
	}
}

// copyA writes the scratch's packet i, as the Transmitter wrote it, into
// a's buffer i, a following.
func (t *dupTx) copyA(i int) bool {
	dst, n := t.a.Buf(i), t.lens[i]
	if n < 0 || n > t.maxA || len(dst) < n {
		return false
	}
	t.a.SetLen(i, copy(dst, t.scratch[i*t.maxA:i*t.maxA+n]))
	return true
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

// partialFlusher is a txConn whose flush, when it fails, may have sent
// some of the packets first (a UDP socket's sendmmsg, one datagram after
// another).
type partialFlusher interface {
	// flushedBeforeErr returns how many of the packets published before
	// the last flush that failed went out before the error.
	flushedBeforeErr() int
}

// flush flushes the paths that are not dead; one that fails now stops
// (fail), the step's packets it was handed counted unsent (but those a
// partialFlusher sent), and flush's error is the output's once both have
// failed for good. A probing path whose flush took packets is back
// (recover). An error of ctx's (Run's end, in a wait for room) is
// returned as it is.
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
		switch {
		case err != nil:
			from := 0
			if pf, ok := t.conn(p).(partialFlusher); ok {
				from = min(max(pf.flushedBeforeErr(), 0), t.handed[p])
			}
			t.count(p, t.handed[p], from, false)
			t.fail(p, err)
		case t.probing[p] && t.handed[p] > 0:
			t.recover(p)
		}
	}
	t.handed = [2]int{}
	return t.failed()
}

// wait waits for room on the path that sets the pace: a if direct, else
// b if it is up; with neither there is no queue to wait for.
func (t *dupTx) wait(ctx context.Context) error {
	p := 0
	switch {
	case t.direct:
	case t.up(1):
		p = 1
	default:
		return t.failed()
	}
	if err := t.conn(p).wait(ctx); err != nil {
		return t.fail(p, err)
	}
	return nil
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

// commit begins the paths' captures when Run starts, in two steps: it
// waits for the readers of every FIFO first, then empties the files, so
// that a path whose capture cannot begin (a FIFO whose reader does not
// come) leaves the other path's file as it was if Run then fails. A path
// that cannot begin fails alone, as it would later in Run: its error is
// in PathStats(k, p).Err (not Close's: its file, never begun, is left as
// Dial found it, or removed if Dial made it), and commit's error is the
// output's only once both have failed. A wait that ctx ended is commit's error as
// it is, nothing emptied: Run ends before it sent anything.
func (t *dupTx) commit(ctx context.Context) error {
	qs := [2]txConn{t.a, t.b}
	var errs [2]error
	for p, q := range qs {
		if c, ok := q.(*pcapTx); ok {
			errs[p] = c.awaitReader(ctx)
		}
	}
	if ctx.Err() != nil {
		for _, err := range errs {
			if errors.Is(err, ctx.Err()) {
				return err
			}
		}
	}
	for p, q := range qs {
		if c, ok := q.(*pcapTx); ok && errs[p] == nil {
			errs[p] = c.empty()
		}
	}
	for p, err := range errs {
		if err != nil {
			t.fail(p, err)
		}
	}
	return t.failed()
}

// close closes both paths and lets go of the scratch buffers (a batch of
// packets, made once path a failed), which nothing uses once Run has
// returned, so that a closed Sender the caller keeps does not hold them.
func (t *dupTx) close() error {
	t.scratch = nil
	return errors.Join(t.a.close(), t.b.close())
}

// counts returns path a's counts; Sender.Stats adds path b's.
func (t *dupTx) counts() *txCounts { return t.a.counts() }

// Skipped returns how many of flow k's packets were not sent on the
// second path (ST 2022-7) for want of room in its queue; 0 without a
// second path. The count is flow k's own, though several flows may share
// an output. It panics for k out of range, as Stats.
func (s *Sender) Skipped(k int) uint64 {
	p, j := s.part("Skipped", k)
	if t, ok := p.q.(*dupTx); ok {
		return t.streams[j].skipped[1].Load()
	}
	return 0
}

// SendPathStats are the counts of one path of one flow of a sender of
// two paths (SendConfig.Second), as they happen. Skipped and Unsent are
// the flow's own packets, though several flows may share an output (and
// its paths): they add up over the flows to the output's.
type SendPathStats struct {
	// Skipped is the flow's packets not sent on the path for want of
	// room in its queue: on the second path, as Sender.Skipped, and on
	// the first only while it is tried again after a failure (the other
	// path then sets the pace; otherwise the first does).
	Skipped uint64

	// Unsent is the flow's packets the path did not send because it was
	// down: those not handed to it while it was down, and those of a
	// step whose send on it failed (its flush: on UDP but the datagrams
	// that went out before the error; a netmap ring or AF_XDP socket may
	// still send them once it is back, late, and the receiver drops
	// them as copies it has).
	Unsent uint64

	// Failures is the times the path went down, and Recoveries the times
	// it came back (a path whose error is transient is tried again, see
	// Sender.PathStats): Failures-Recoveries is 1 while it is down, else 0.
	Failures, Recoveries uint64

	// Err is the error that keeps the path down, which names it
	// ("st2110: send path 1 (udp:eth1): ..." and matches the transport's
	// error, errors.Is): the one that stopped it, or that of the latest
	// try that failed; nil while it sends.
	Err error
}

// PathStats returns the counts of path p (0, the first, or 1, the
// second) for flow k. A path whose queue fails stops alone, the other
// goes on at the same pace, and Err says why it stopped. An error of the
// network (retryable: a send it cannot route, ENETUNREACH, EHOSTUNREACH,
// ENETDOWN, EADDRNOTAVAIL; the kernel short of memory, ENOMEM; a netmap
// ring stopped while its NIC resets, EIO) stops it for a while: it is
// tried again after 4 ms, then after twice as long at every try that
// fails, at most a second apart, each try the packets due then, and the
// first whose packets leave brings it back. No packet of the outage is
// sent late (the receiver has the other path's copies) but on a netmap
// ring or AF_XDP socket, whose try is first a sync alone: what the ring
// kept from the failed send leaves at the first that works, late (see
// Unsent; an AF_XDP socket in need-wakeup mode, the default, makes no
// system call when the kernel wants no wakeup, so that its sync alone
// always works and the try goes on to the packets due). One that fails again within a
// second of coming back (a link that flaps) waits from where its last
// wait stopped, not from 4 ms. A netmap port whose interface was removed
// gives EIO for ever: it is tried once a second to the end of the run. A
// full device queue (ENOBUFS, EAGAIN) stops no path: UDP drops and
// counts those datagrams (SendStats.NoBufs), an AF_XDP kick takes it as
// more to send. Any other error stops it for the rest of the run: a
// closed socket or port, an AF_XDP socket whose interface went away, a
// capture's write error. A refused unicast send (ECONNREFUSED) is
// counted in SendStats.Refused and retried, as with one path, and does
// not stop a path. Err is that of the output flow k is sent on (every
// flow of it stops on that path); Skipped and Unsent are flow k's. Zero
// without a second path, or for p not 0 or 1; it panics for k out of
// range, as Stats.
func (s *Sender) PathStats(k, p int) SendPathStats {
	pt, j := s.part("PathStats", k)
	t, ok := pt.q.(*dupTx)
	if !ok || p < 0 || p > 1 {
		return SendPathStats{}
	}
	ds := &t.streams[j]
	st := SendPathStats{Skipped: ds.skipped[p].Load(), Unsent: ds.unsent[p].Load()}
	t.mu.Lock()
	st.Err, st.Failures, st.Recoveries = t.errs[p], t.failures[p], t.recoveries[p]
	t.mu.Unlock()
	return st
}
