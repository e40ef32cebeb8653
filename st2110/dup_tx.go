package st2110

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
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
		t := &dupTx{a: p.q, b: conns[i], bName: b.ep.name, streams: make([]dupStream, len(p.flows))}
		for j, k := range p.flows {
			pk := p.tx.Packetizer(j)
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
// is not sent on b (counted in Skipped), so that a stalled path does not
// stall the other.
type dupTx struct {
	a, b    txConn
	bName   string      // b's transport (SendConfig.Second), for its errors
	streams []dupStream // per stream of the output's Transmitter

	// Per reserved buffer: its length, stream and send time.
	lens []int
	strm []int
	at   []int64
	kb   int // buffers reserved on b

	skipped atomic.Uint64
}

// dupStream is how one stream's packets are copied to path b.
type dupStream struct {
	offA  int              // where the RTP header starts in a's packets
	tmpl  *packet.Template // b's headers, nil if b takes RTP packets (UDP)
	id    uint16           // b's IPv4 identification, where a's packets have none
	idOff int              // where a's packets have theirs, or -1
}

func (t *dupTx) Reserve(n int) (int, error) {
	k, err := t.a.Reserve(n)
	if err != nil || k == 0 {
		return k, err
	}
	if len(t.lens) < k {
		t.lens, t.strm, t.at = make([]int, k), make([]int, k), make([]int64, k)
	}
	clear(t.strm[:k])
	if t.kb, err = t.b.Reserve(k); err != nil {
		t.kb = 0
	}
	return k, nil
}

func (t *dupTx) Buf(i int) []byte { return t.a.Buf(i) }

func (t *dupTx) SetLen(i, n int) {
	t.a.SetLen(i, n)
	t.lens[i] = n
}

func (t *dupTx) Stamp(i, stream int, at int64) {
	if st, ok := t.a.(video.TxStamper); ok {
		st.Stamp(i, stream, at)
	}
	t.strm[i], t.at[i] = stream, at
}

// Publish publishes the first n packets on a, and their copies on b.
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
	t.a.Publish(n)
	t.b.Publish(nb)
	if nb < n {
		t.skipped.Add(uint64(n - nb))
	}
}

// copy writes the copy of a's packet i into b's buffer i.
func (t *dupTx) copy(i int) bool {
	ds := &t.streams[t.strm[i]]
	src, dst := t.a.Buf(i), t.b.Buf(i)
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

// flush flushes both paths; an error of b's names it (Run's error names
// the first path's transport: both may go to one address).
func (t *dupTx) flush(ctx context.Context) error {
	ea, eb := t.a.flush(ctx), t.b.flush(ctx)
	if ea != nil {
		return ea
	}
	if eb != nil {
		return fmt.Errorf("second path %s: %w", t.bName, eb)
	}
	return nil
}

func (t *dupTx) wait(ctx context.Context) error { return t.a.wait(ctx) }

// interrupt interrupts the paths' flushes that may wait.
func (t *dupTx) interrupt() {
	for _, q := range []txConn{t.a, t.b} {
		if in, ok := q.(interrupter); ok {
			in.interrupt()
		}
	}
}

func (t *dupTx) drain() { t.a.drain(); t.b.drain() }

func (t *dupTx) close() error { return errors.Join(t.a.close(), t.b.close()) }

// counts returns path a's counts; Sender.Stats adds path b's.
func (t *dupTx) counts() *txCounts { return t.a.counts() }

// Skipped returns how many packets flow k's output did not send on the
// second path (ST 2022-7) for want of room in its queue; 0 without one.
func (s *Sender) Skipped(k int) uint64 {
	p, _ := s.part(k)
	if t, ok := p.q.(*dupTx); ok {
		return t.skipped.Load()
	}
	return 0
}
