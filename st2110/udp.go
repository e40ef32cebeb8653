package st2110

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/nmgo/nmgo/internal/handoff"
	"github.com/nmgo/nmgo/video"
)

// The UDP transport: kernel sockets, one per UDP port (and IP version) of
// the flows, bound to the wildcard address with SO_REUSEADDR so that
// other receivers of the same groups may share the port, joined to each
// flow's group (any-source, or source-specific with IGMPv3 or MLDv2),
// with the destination address of each datagram (IP_PKTINFO) so that
// flows sharing a port are told apart. On Linux a socket only gets the
// groups it joined itself (IP_MULTICAST_ALL off), and reads and writes go
// in batches through recvmmsg(2) and sendmmsg(2) into preallocated
// buffers: no allocation per datagram. Elsewhere they go one at a time
// through package net.

// maxDatagram is the largest UDP payload a receiver reads whole: ST 2110's
// extended MAXUDP with room to spare (a longer one is cut, and counted
// as truncated, FlowStats.Truncated: on Linux with its length, which
// recvmmsg gives; elsewhere the kernel only tells that it was cut, and
// FlowStats.Bytes counts it as maxDatagram+1 octets: readMsg).
const maxDatagram = video.MaxUDPExtended + 256

// MaxUDPBatch bounds ListenConfig.Batch and SendConfig.Batch over UDP: the
// most datagrams one recvmmsg(2) or sendmmsg(2) call takes (the kernel's
// UIO_MAXIOV). Each datagram of a batch has a buffer of some 9 kB, charged
// to the Budget.
const MaxUDPBatch = 1024

// udpBatchSize checks the Batch of a UDP transport's config (field names
// it, 0 means 64) and charges the buffers of a batch, for what: each of
// them holds a whole datagram.
func udpBatchSize(op, name, field string, batch int, b *video.Budget, what string) (int, error) {
	if batch == 0 {
		batch = 64
	}
	if batch > MaxUDPBatch {
		return 0, fmt.Errorf("st2110: %s %s: %s %d: more than MaxUDPBatch (%d), the most datagrams one recvmmsg(2) or sendmmsg(2) call takes", op, name, field, batch, MaxUDPBatch)
	}
	if b == nil { // a transport opened by a test
		return batch, nil
	}
	if err := b.Charge(fmt.Sprintf("%s: buffers of a batch of %d datagrams", what, batch), int64(batch)*maxDatagram); err != nil {
		return 0, fmt.Errorf("st2110: %s %s: %w", op, name, err)
	}
	return batch, nil
}

// udpRx receives on one socket per UDP port and IP version.
type udpRx struct {
	socks    []*udpSock
	rds      []rxReader
	wakeOnce sync.Once // wake may come from a failed reader and from Close
	closeErr error
}

// udpSock is one receiving socket and the flows on its port.
type udpSock struct {
	conn  *net.UDPConn
	port  uint16
	v6    bool
	fl    []int
	batch int

	// linger is ListenConfig.Linger: the sleep after a read that took
	// datagrams but fewer than it asked for (lingerAfter).
	linger time.Duration
	sleep  func(d time.Duration) // replaces holdSleep in tests
	ho     handoff.Clock         // when a linger yields first (lingerNow)
}

// lingerAfter returns how long the reader sleeps after a read that took
// got datagrams of the n it asked for: the linger (at most MaxLinger)
// after a partial batch, so that the datagrams of the next bursts gather
// in the socket and come in one read; nothing after an empty read (the
// next waits in the netpoller) or a full one (more may be waiting).
func (s *udpSock) lingerAfter(got, n int) time.Duration {
	if s.linger <= 0 || got <= 0 || got >= n {
		return 0
	}
	return min(s.linger, MaxLinger)
}

// lingerNow sleeps d, keeping the goroutine's P (holdSleep); the first
// linger a millisecond or more after the last that did (at, the read's
// time on the receiver's clock: rxSink.waitAt) yields the P first (runtime.Gosched), so
// that the process's other goroutines run. A reader that lingers after
// every read never parks in the netpoller, and a raw system call is
// preempted by the runtime only after it: with one P, a 640x480p50 flow
// over loopback (24,000 datagrams a second) and Linger 200 µs, a
// goroutine sleeping 500 µs beside it woke over 2 ms late 132 and 163
// times of 200 and 210 (median 8 ms), at Linger 1 ms 98 and 100 of 98 and
// 104 (median 20 ms); yielding, 22 and 30 of 1,719 and 1,660, and 61 and
// 14 of 1,483 and 1,667, the process's CPU unchanged (docs/benchmarks.md,
// "The ring readers' waits").
func (s *udpSock) lingerNow(d time.Duration, at int64) {
	if s.ho.Due(at) {
		runtime.Gosched()
	}
	if s.sleep != nil {
		s.sleep(d)
		return
	}
	holdSleep(d)
}

func (s *udpSock) flows() []int { return s.fl }

// clockCheck is how long a UDP reader whose clock is a PHC waits for
// datagrams before it reads the clock anyway (a read deadline): a reader
// reads its clock for each batch, and a PHC gone for good must end it
// (after maxClockFailure) whether datagrams come or not, as it ends a
// ring reader, which reads its clock at each pass; else, while the flows
// pause, the error would go unreported and the frames a merge holds
// would stay held (its time no longer moves).
const clockCheck = maxClockFailure / 10

// clockWatch keeps a read deadline clockCheck ahead for a reader whose
// clock is a PHC (watch, set by the reader from its clock). at is the
// time of the batch just read: the deadline is moved on only once half
// of clockCheck has passed since it was set, so that a steady flow costs
// a comparison per batch and never meets the deadline.
type clockWatch struct {
	watch bool
	next  int64 // the at from which the deadline is moved on
}

// arm sets the deadline clockCheck from now, if the reader watches its
// clock and at has reached next (0 sets it at once).
func (w *clockWatch) arm(s *udpSock, at int64) {
	if !w.watch || at < w.next {
		return
	}
	s.conn.SetReadDeadline(time.Now().Add(clockCheck))
	w.next = at + int64(clockCheck/2)
}

// idle tells whether err, a read's error, is the deadline of a watched
// clock that passed with no datagram: then it reads the clock (ending
// the reader with the clock's error once it has failed for
// maxClockFailure), sets the deadline again, and the reader reads again.
func (w *clockWatch) idle(ctx context.Context, s *udpSock, sink *rxSink, err error) (bool, error) {
	if !w.watch || ctx.Err() != nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false, err
	}
	at, err := sink.now()
	if err != nil {
		return false, err
	}
	w.next = at
	w.arm(s, at)
	return true, nil
}

// interfaceOf returns the named interface, nil for "". Its error names the
// interface, not the operation: the caller prefixes that.
func interfaceOf(name string) (*net.Interface, error) {
	if name == "" {
		return nil, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	return ifi, nil
}

func openUDPRx(ep *endpoint, fs []video.Stream, cfg *ListenConfig) (rxTransport, error) {
	ifi, err := interfaceOf(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
	}
	type key struct {
		port uint16
		v6   bool
	}
	var keys []key
	byKey := map[key][]int{}
	for k := range fs {
		kk := key{fs[k].Dst.Port(), !fs[k].Dst.Addr().Is4()}
		if byKey[kk] == nil {
			keys = append(keys, kk)
		}
		byKey[kk] = append(byKey[kk], k)
	}
	t := &udpRx{}
	rbuf := cfg.ReadBuffer
	if rbuf == 0 {
		rbuf = 8 << 20
	}
	// Every socket's batch is charged before the first socket is opened.
	batch := 0
	for _, kk := range keys {
		if batch, err = udpBatchSize("listen", ep.name, "ListenConfig.Batch", cfg.Batch, cfg.Budget, fmt.Sprintf("udp port %d", kk.port)); err != nil {
			return nil, err
		}
	}
	for _, kk := range keys {
		s, err := listenUDP(kk.port, kk.v6, rbuf)
		if err != nil {
			t.closeAll()
			return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
		}
		s.fl, s.batch, s.linger = byKey[kk], batch, cfg.Linger
		t.socks = append(t.socks, s)
		t.rds = append(t.rds, s)
		if err := s.join(fs, ifi); err != nil {
			t.closeAll()
			return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
		}
	}
	return t, nil
}

// listenUDP opens a socket on the wildcard address and port, with
// SO_REUSEADDR, the destination address of each datagram, and a receive
// buffer of rbuf octets.
func listenUDP(port uint16, v6 bool, rbuf int) (*udpSock, error) {
	network, addr := "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), port)
	if v6 {
		network, addr = "udp6", netip.AddrPortFrom(netip.IPv6Unspecified(), port)
	}
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		if err := socketOptions(network, address, rc); err != nil {
			return err
		}
		setReadBuffer(rc, rbuf)
		return nil
	}}
	pc, err := lc.ListenPacket(context.Background(), network, addr.String())
	if err != nil {
		return nil, err
	}
	c := pc.(*net.UDPConn)
	s := &udpSock{conn: c, port: port, v6: v6}
	if !readBufferBeforeBind {
		_ = c.SetReadBuffer(rbuf)
	}
	if v6 {
		err = ipv6.NewPacketConn(c).SetControlMessage(ipv6.FlagDst, true)
	} else {
		err = ipv4.NewPacketConn(c).SetControlMessage(ipv4.FlagDst, true)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("destination address option: %w", err)
	}
	return s, nil
}

// join joins the multicast groups of the socket's flows on ifi (nil: the
// kernel's choice): any-source if some flow to the group has no source
// filter, else source-specific for each source.
func (s *udpSock) join(fs []video.Stream, ifi *net.Interface) error {
	type join struct{ group, source netip.Addr }
	var joins []join
	for _, k := range s.fl {
		g := fs[k].Dst.Addr()
		if !g.IsMulticast() {
			continue
		}
		j := join{g, fs[k].Source}
		if !slices.Contains(joins, j) {
			joins = append(joins, j)
		}
	}
	asm := func(g netip.Addr) bool { return slices.Contains(joins, join{group: g}) }
	p4, p6 := ipv4.NewPacketConn(s.conn), ipv6.NewPacketConn(s.conn)
	for _, j := range joins {
		if j.source.IsValid() && asm(j.group) {
			continue // the any-source join takes this source too
		}
		g := &net.UDPAddr{IP: j.group.AsSlice()}
		var err error
		switch {
		case j.source.IsValid() && s.v6:
			err = p6.JoinSourceSpecificGroup(ifi, g, &net.UDPAddr{IP: j.source.AsSlice()})
		case j.source.IsValid():
			err = p4.JoinSourceSpecificGroup(ifi, g, &net.UDPAddr{IP: j.source.AsSlice()})
		case s.v6:
			err = p6.JoinGroup(ifi, g)
		default:
			err = p4.JoinGroup(ifi, g)
		}
		if err != nil {
			what := "join " + j.group.String()
			if j.source.IsValid() {
				what += " source " + j.source.String()
			}
			if ifi != nil {
				what += " on " + ifi.Name
			}
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func (t *udpRx) readers() []rxReader { return t.rds }

// wake closes the sockets, which ends their readers' recvmmsg and leaves
// the groups.
func (t *udpRx) wake() {
	t.wakeOnce.Do(func() { t.closeErr = t.closeAll() })
}

// close closes the sockets, after every reader has returned: once woken,
// it returns what wake's close did.
func (t *udpRx) close() error {
	t.wake()
	return t.closeErr
}

func (t *udpRx) closeAll() error {
	var first error
	for _, s := range t.socks {
		if err := s.conn.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// run reads datagrams until ctx ends or the socket is closed.
func (s *udpSock) run(ctx context.Context, sink *rxSink) error {
	stop := context.AfterFunc(ctx, func() { s.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	err := s.read(ctx, sink)
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("st2110: udp port %d: %w", s.port, err)
	}
	return nil
}

// udpTx sends the RTP packets of every flow through one socket, to each
// flow's destination.
type udpTx struct {
	conn   *net.UDPConn
	v6     bool
	origin netip.Addr // the address the kernel sends from, for the SDP
	dsts   []netip.AddrPort
	bind_  []int // the flow of each stream of the Transmitter
	cnt    txCounts
	mm     udpBatch

	sendHook func(from int) (int, error) // replaces mm.send in tests

	sentBeforeErr int // the datagrams the last flush that failed sent first
}

// openUDPTx opens the sending socket: multicast out of cfg.Interface (or
// the kernel's choice), with the flows' TTL.
func openUDPTx(ep *endpoint, fs []video.Stream, cfg *SendConfig) (*udpTx, error) {
	v6 := !fs[0].Dst.Addr().Is4()
	for k := range fs {
		if !fs[k].Dst.Addr().Is4() != v6 {
			return nil, fmt.Errorf("st2110: dial %s: flows %d and 0 are not of one IP version (send them with two Senders)", ep.name, k)
		}
	}
	batch, err := udpBatchSize("dial", ep.name, "SendConfig.Batch", cfg.Batch, cfg.Budget, "socket")
	if err != nil {
		return nil, err
	}
	mttl, uttl := socketTTLs(fs, cfg.TTL)
	ifi, err := interfaceOf(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	network, laddr := "udp4", netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if v6 {
		network, laddr = "udp6", netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(laddr))
	if err != nil {
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	_ = c.SetWriteBuffer(4 << 20)
	t := &udpTx{conn: c, v6: v6}
	if v6 {
		p := ipv6.NewPacketConn(c)
		if ifi != nil {
			err = p.SetMulticastInterface(ifi)
		}
		if err == nil && mttl != 0 {
			err = p.SetMulticastHopLimit(mttl)
		}
		if err == nil && uttl != 0 {
			err = p.SetHopLimit(uttl)
		}
	} else {
		p := ipv4.NewPacketConn(c)
		if ifi != nil {
			err = p.SetMulticastInterface(ifi)
		}
		if err == nil && mttl != 0 {
			err = p.SetMulticastTTL(mttl)
		}
		if err == nil && uttl != 0 {
			err = p.SetTTL(uttl)
		}
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	t.origin = sourceFor(fs[0].Dst, ifi)
	for k := range fs {
		t.dsts = append(t.dsts, fs[k].Dst)
	}
	if err := t.mm.initSend(batch, t.dsts); err != nil {
		c.Close()
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	return t, nil
}

// socketTTLs returns the TTLs (hop limits) of the one socket that sends
// the flows fs: one for the multicast flows (IP_MULTICAST_TTL), one for
// the unicast ones (IP_TTL), each a flow's own (the SDP's c= .../TTL) or
// def; 0 leaves the kernel's default. A socket has one TTL of each kind:
// where the flows of one kind give different ones, it is the largest, so
// that every flow reaches at least as far as its SDP says (the Sender's
// session then gives each multicast flow the TTL it is sent with).
func socketTTLs(fs []video.Stream, def int) (multicast, unicast int) {
	for k := range fs {
		v := fs[k].TTL
		if v == 0 {
			v = def
		}
		if fs[k].Dst.Addr().IsMulticast() {
			multicast = max(multicast, v)
		} else {
			unicast = max(unicast, v)
		}
	}
	return multicast, unicast
}

// sourceFor returns the address the kernel sends to dst from (out of
// ifi, for a multicast group, as IP_MULTICAST_IF makes it): it connects a
// UDP socket and asks; no packet is sent. Where the multicast interface
// cannot be given to the connect, it takes the interface's first address
// of dst's family that is neither loopback nor link-local. The invalid
// Addr if there is none.
func sourceFor(dst netip.AddrPort, ifi *net.Interface) netip.Addr {
	d := net.Dialer{}
	if ifi != nil && dst.Addr().IsMulticast() {
		if !multicastIFConnect {
			return firstAddr(ifi, dst.Addr().Is4())
		}
		d.Control = func(network, address string, c syscall.RawConn) error {
			return setMulticastIF(c, ifi.Index, dst.Addr().Is4())
		}
	}
	c, err := d.Dial("udp", dst.String())
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	a := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// firstAddr returns the first address of ifi of the family (IPv4 if v4)
// that is neither loopback nor link-local.
func firstAddr(ifi *net.Interface, v4 bool) netip.Addr {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				ip = ip.Unmap()
				if ip.Is4() == v4 && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
					return ip
				}
			}
		}
	}
	return netip.Addr{}
}

// bind maps the Transmitter's streams to flows.
func (t *udpTx) bind(flows []int) { t.bind_ = flows }

func (t *udpTx) counts() *txCounts              { return &t.cnt }
func (t *udpTx) wait(ctx context.Context) error { return nil }
func (t *udpTx) drain()                         {}

// close closes the socket and lets go of the batch's buffers, which
// Close has given back to the budget.
func (t *udpTx) close() error {
	t.mm = udpBatch{}
	return t.conn.Close()
}

func (t *udpTx) Reserve(n int) (int, error) { return min(n, t.mm.n), nil }
func (t *udpTx) Buf(i int) []byte           { return t.mm.buf(i) }
func (t *udpTx) SetLen(i, n int)            { t.mm.setLen(i, n) }
func (t *udpTx) Publish(n int)              { t.mm.pending = n }
func (t *udpTx) Stamp(i, stream int, _ int64) {
	t.mm.setDst(i, t.bind_[stream])
}

// flush sends the published datagrams. A full device queue (ENOBUFS,
// EAGAIN) is retried for a while, then what is left of the batch is
// dropped and counted; an ICMP port unreachable report (ECONNREFUSED,
// which the kernel gives back on the next send) is counted and the send
// retried. A full send buffer is waited for in the netpoller, until
// there is room or ctx ends (interrupt). Once ctx has ended, what is left
// of the batch is dropped, counted with the full queues', and flush
// returns ctx's error.
func (t *udpTx) flush(ctx context.Context) error {
	const retries = 200 // of 50 µs: 10 ms
	tries := 0
	for sent := 0; sent < t.mm.pending; {
		var n int
		var err error
		if t.sendHook != nil {
			n, err = t.sendHook(sent)
		} else {
			n, err = t.mm.send(t.conn, sent)
		}
		sent += n
		if err != nil && ctx.Err() != nil {
			t.cnt.noBufs.Add(uint64(t.mm.pending - sent))
			t.mm.pending = 0
			return ctx.Err()
		}
		switch {
		case err == nil:
			continue
		case isRefused(err):
			t.cnt.refused.Add(1)
		case isFiltered(err):
			t.cnt.filtered.Add(1) // the datagram at sent was dropped
			sent++
		case isNoBufs(err):
			if tries++; tries > retries {
				t.cnt.noBufs.Add(uint64(t.mm.pending - sent))
				t.mm.pending = 0
				return nil
			}
			time.Sleep(50 * time.Microsecond)
		default:
			t.sentBeforeErr = sent
			return fmt.Errorf("sendmmsg to %v: %w", t.mm.dstOf(sent), err)
		}
	}
	t.mm.pending = 0
	return nil
}

func (t *udpTx) flushedBeforeErr() int { return t.sentBeforeErr }

// interrupt makes a send waiting in the netpoller for room in the
// socket's send buffer return at once, and every later one: a write
// deadline in the past. Run calls it when its context ends; the socket
// sends nothing more.
func (t *udpTx) interrupt() { _ = t.conn.SetWriteDeadline(time.Unix(1, 0)) }
