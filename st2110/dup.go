package st2110

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/video"
)

// The receiving side of SMPTE ST 2022-7 seamless protection: a Receiver
// with a second path (ListenConfig.Second) reads both paths' transports;
// each reader's video.Receiver hands the packets of every flow to the
// flow's video.Merge, as the path they came on, and the merges hand the
// frames, each rebuilt once, to one more sink. The readers of both paths
// take turns over each batch (rxSink.enter and leave).

// dupRx is what a Receiver with two paths adds.
type dupRx struct {
	ep     endpoint          // the second path's transport
	legs   [2][]video.Stream // the flows as each path sees them
	merges []*video.Merge    // per flow

	mu     sync.Mutex    // held by a reader over each batch; guards the merges and what follows
	sink   *rxSink       // hands out the merged frames (the stats' last column)
	paths  []int         // per reader: its path
	live   int           // readers not finished
	next   int64         // when tick publishes the merges' counts again
	stop   chan struct{} // ends expireLoop, once every reader has finished
	exited chan struct{} // closed when expireLoop has returned

	pub []dupPub // per flow, under the Receiver's mu

	// What became of each reader of a pathsRx, under the Receiver's mu,
	// so that a flow whose readers stopped on both paths ends the
	// receiver (stopped).
	track   bool
	brings  [][]int // per reader: the flows it may bring, nil for all
	ended   []bool  // per reader: it has stopped
	failure []error // per reader: why it failed, nil if it did not
	lost    bool    // a flow was lost on both paths
}

// FlowError is the error of a flow of a receiver of two paths (ST 2022-7)
// that lost both: on each path, a reader that brings it failed, or every
// reader that brings it stopped, and on one at least a reader failed.
// The receiver then stops, as a receiver of one path stops when an input
// fails: [Receiver.Frames] ends with it and [Receiver.Err] returns it.
type FlowError struct {
	Flow  int               // the flow, an index into Receiver.Flows
	Dst   [2]netip.AddrPort // each path's address of the flow, Receiver.Flows()[Flow].Leg(p).Dst; invalid for a flow that takes any (no c= line)
	Paths [2]string         // the transports of path 0 (Listen's name) and path 1 (ListenConfig.Second)
	Err   [2]error          // why each path stopped: its reader's error, nil if the path's input ended
}

// anyDst is a flow's address as an error names it: "any address" for a
// flow whose SDP gave none.
func anyDst(a netip.AddrPort) string {
	if !a.IsValid() {
		return "any address"
	}
	return a.String()
}

func (e *FlowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "st2110: flow %d (%s", e.Flow, anyDst(e.Dst[0]))
	if e.Dst[1] != e.Dst[0] {
		fmt.Fprintf(&b, " and %s", anyDst(e.Dst[1]))
	}
	b.WriteString(") lost on both paths")
	for p := range 2 {
		why := "input ended"
		if e.Err[p] != nil {
			why = e.Err[p].Error()
		}
		fmt.Fprintf(&b, "; path %d (%s): %s", p, e.Paths[p], why)
	}
	return b.String()
}

// Unwrap returns the paths' errors, for errors.Is and errors.As.
func (e *FlowError) Unwrap() []error {
	var errs []error
	for _, err := range e.Err {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// dupPub is what a merge publishes besides the flow's counts.
type dupPub struct {
	paths [2]video.PathStats
	skew  video.Skew
}

// newDupRx checks the second path of r's config, works out each path's
// flows and makes (and charges) the merges.
func newDupRx(r *Receiver, sess *video.Session) (*dupRx, error) {
	c := &r.cfg
	if c.Second == "" {
		return nil, fmt.Errorf("st2110: listen %s: ListenConfig.MergeWindow without a Second path", r.ep.name)
	}
	if c.MergeWindow < 0 || c.MergeWindow > video.MaxMergeWindow {
		return nil, fmt.Errorf("st2110: listen %s: ListenConfig.MergeWindow %v outside [0, %v]", r.ep.name, c.MergeWindow, video.MaxMergeWindow)
	}
	ep, err := parseName(c.Second)
	if err != nil {
		return nil, secondErr("listen", r.ep.name, c.Second, err)
	}
	if c.Linger > 0 && ep.kind == kindPcap {
		return nil, fmt.Errorf("st2110: listen %s: second path %s: ListenConfig.Linger with a capture: a capture is read, not waited for, so a linger has nothing to gather", r.ep.name, ep.name)
	}
	fs, err := flows(legSession(sess, 1), &ep, false)
	if err != nil {
		return nil, secondErr("listen", r.ep.name, ep.name, err)
	}
	if why := samePath(&r.ep, &ep, c.Interface, ep.iface, r.flows, fs, false); why != "" {
		return nil, fmt.Errorf("st2110: listen %s: second path %s: %s", r.ep.name, ep.name, why)
	}
	d := &dupRx{ep: ep, merges: make([]*video.Merge, len(r.flows)), pub: make([]dupPub, len(r.flows))}
	for k := range r.flows {
		f := &r.flows[k]
		f.Second = video.Leg{Dst: fs[k].Dst, TTL: fs[k].TTL, Source: fs[k].Source, MID: fs[k].MID}
		d.legs[0] = append(d.legs[0], f.Leg(0))
		d.legs[1] = append(d.legs[1], f.Leg(1))
		m, err := video.NewMerge(&video.MergeConfig{Format: f.Format, PayloadType: f.PayloadType,
			Window: c.MergeWindow, Budget: c.Budget, TROffset: trOffset(f.TROff),
			TakeFrame: func(buf []byte, st *video.FrameStats, arrival int64) []byte {
				return d.sink.take(k, buf, st, arrival)
			}})
		if err != nil {
			return nil, fmt.Errorf("st2110: listen %s: flow %d: %w", r.ep.name, k, err)
		}
		d.merges[k] = m
	}
	return d, nil
}

// legSession returns sess as path p sees it: each flow's leg p.
func legSession(sess *video.Session, p int) *video.Session {
	if sess == nil {
		return nil
	}
	s := *sess
	s.Streams = make([]video.Stream, len(sess.Streams))
	for k := range sess.Streams {
		s.Streams[k] = sess.Streams[k].Leg(p)
	}
	return &s
}

// open opens both paths' transports: two captures are read as one, in
// time order (pcapPair); other pairs each by their own readers.
func (d *dupRx) open(ctx context.Context, r *Receiver) (rxTransport, error) {
	if r.ep.kind == kindPcap && d.ep.kind == kindPcap {
		a, err := openPcapRx(ctx, &r.ep, &r.cfg)
		if err != nil {
			return nil, err
		}
		b, err := openPcapRx(ctx, &d.ep, &r.cfg)
		if err != nil {
			a.close()
			return nil, secondErr("listen", r.ep.name, d.ep.name, err)
		}
		return &pcapPair{p: [2]*pcapRx{a.(*pcapRx), b.(*pcapRx)}, done: make(chan struct{})}, nil
	}
	a, err := openRx(ctx, &r.ep, d.legs[0], &r.cfg)
	if err != nil {
		return nil, err
	}
	cfg := r.cfg
	cfg.Interface = d.ep.iface
	b, err := openRx(ctx, &d.ep, d.legs[1], &cfg)
	if err != nil {
		a.close()
		return nil, secondErr("listen", r.ep.name, d.ep.name, err)
	}
	return &pathsRx{a: a, b: b}, nil
}

// prepare assigns each of the readers its path and makes the sink that
// hands out the merged frames, with a column of its own in the counts.
func (d *dupRx) prepare(r *Receiver, readers []rxReader) error {
	d.paths = make([]int, len(readers))
	switch t := r.tr.(type) {
	case *pcapPair:
		d.paths[1] = 1
	case *pathsRx:
		for i := t.firstB; i < len(readers); i++ {
			d.paths[i] = 1
		}
		// Two captures (pcapPair) are read by one reader, whose
		// failure ends both paths at once: only separate readers are
		// tracked.
		d.track = true
		d.brings, d.ended, d.failure = make([][]int, len(readers)), make([]bool, len(readers)), make([]error, len(readers))
		for i, rd := range readers {
			d.brings[i] = rd.flows()
		}
	default:
		return fmt.Errorf("st2110: listen %s: a second path on a transport of %T", r.ep.name, r.tr)
	}
	s := &rxSink{rx: r, idx: len(readers), flows: make([]int, len(r.flows)), st: make([]FlowStats, len(r.flows)),
		clock: r.clock, merges: d.merges, mu: &d.mu}
	for k := range s.flows {
		s.flows[k] = k
		s.st[k].Latency.Limit = r.cfg.LatencyLimit
		r.stats[k] = append(r.stats[k], FlowStats{})
	}
	_, pair := r.tr.(*pcapPair)
	s.block = pair && !r.cfg.Replay
	r.other = append(r.other, 0)
	d.sink, d.live = s, len(readers)
	return nil
}

// begin starts the clock that expires the merges' frames (expireLoop),
// for readers that wait for their input; pairs of captures are read
// without waiting and need none. Receiver.start calls it once nothing
// can fail any more: the loop ends only when every reader has finished,
// so one started for readers that never run would never end.
func (d *dupRx) begin(r *Receiver) {
	if _, pair := r.tr.(*pcapPair); !pair {
		d.stop, d.exited = make(chan struct{}), make(chan struct{})
		go func() {
			defer close(d.exited)
			d.expireLoop(r.clock, r.cfg.MergeWindow)
		}()
	}
}

// wait waits for expireLoop to return, once every reader has finished
// (which ends it): the receiver is done (Done, Close) only then, so
// that nothing of it reads the clock after Close has returned.
func (d *dupRx) wait() {
	if d.exited != nil {
		<-d.exited
	}
}

// idleExpiry is how much longer than the window the merges wait, when no
// packets come, before the clock hands their frames out: a pause of the
// stream, not a host that was slow to run the readers.
const idleExpiry = 100 * time.Millisecond

// expireLoop hands out the frames whose window has passed once no
// packets have come for idleExpiry and a window (readers of sockets and rings
// tick only when packets do, and the last frames before a pause would
// wait for the next packet), and publishes the counts, until every reader
// has finished. While packets come, the readers' own times expire the
// frames: a reader the host has not scheduled for a while, with the
// other path's copies in its socket, is not overtaken by this clock.
func (d *dupRx) expireLoop(clock *Clock, window time.Duration) {
	if window == 0 {
		window = video.SkewClassA
	}
	every := min(max(window/4, time.Millisecond), 20*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var seen uint64 // packets the merges had taken at the last change
	var since int64 // when that was
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		now, err := clock.now()
		if err != nil {
			continue // a PHC read that failed: no tick with 0 as the time (the readers end if it stays so)
		}
		d.mu.Lock()
		var n uint64
		for _, m := range d.merges {
			n += m.PathStats(0).Packets + m.PathStats(1).Packets
		}
		if n != seen {
			seen, since = n, now
		}
		if d.live > 0 && now-since >= int64(window+idleExpiry) {
			d.tick(now)
		}
		d.mu.Unlock()
	}
}

// path makes stream, flow k of reader idx's sink s, a path of the flow's
// merge, at that path's address.
func (d *dupRx) path(s *rxSink, idx, k int, stream *video.RxStream) {
	p := d.paths[idx]
	leg := &d.legs[p][k]
	s.mu = &d.mu
	stream.Port, stream.Source, stream.Addr = leg.Dst.Port(), leg.Source, netip.Addr{}
	if a := leg.Dst.Addr(); a.IsValid() && !a.IsUnspecified() {
		stream.Addr = a
	}
	stream.TakeFrame, stream.Merge, stream.Path = nil, d.merges[k], p
}

// publish brings the counts of merged flow j (of the merges' sink s) up
// to date in the Receiver, and copies the flow's totals to f; under d.mu.
func (d *dupRx) publish(s *rxSink, j int, st *FlowStats, f *Frame) {
	k := s.flows[j]
	m := d.merges[j]
	st.RxStats = m.Stats()
	pub := dupPub{paths: [2]video.PathStats{m.PathStats(0), m.PathStats(1)}, skew: m.Skew()}
	s.rx.mu.Lock()
	s.rx.stats[k][s.idx] = *st
	d.pub[k] = pub
	if f != nil {
		f.Stats = s.rx.sumLocked(k)
	}
	s.rx.mu.Unlock()
}

// tick hands out the frames whose window has passed at at, and now and
// then publishes the merges' counts; a reader calls it within a batch.
func (d *dupRx) tick(at int64) {
	for _, m := range d.merges {
		m.Expire(at)
	}
	if at >= d.next {
		d.next = at + publishEvery
		for j := range d.sink.flows {
			d.sink.publish(j, nil)
		}
	}
}

// finish is called as each reader stops: once all have, the frames held
// are handed out (unless the receiver was closed) and the counts
// published.
func (d *dupRx) finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live--; d.live > 0 {
		return
	}
	if d.stop != nil {
		close(d.stop)
	}
	if !d.sink.rx.closed.Load() {
		for _, m := range d.merges {
			m.Flush()
		}
	}
	for j := range d.sink.flows {
		d.sink.publish(j, nil)
	}
}

// stopped records that reader idx stopped, having failed with err (nil:
// its input ended, or the receiver was closed), and returns the error of
// the first flow that has now lost both paths, if any; under the
// Receiver's mu. A path of a flow is lost once a reader of that path
// that may bring the flow has failed (a reader of a netmap port opened
// per ring may bring any flow, and which ring a flow arrives on is not
// known in advance), or once every such reader has stopped; a flow is
// lost once both paths are, by a failure on one at least.
func (d *dupRx) stopped(r *Receiver, idx int, err error) *FlowError {
	if !d.track || d.lost {
		return nil
	}
	d.ended[idx], d.failure[idx] = true, err
	brings := func(i, k int) bool { return d.brings[i] == nil || slices.Contains(d.brings[i], k) }
	for k := range r.flows {
		if !brings(idx, k) {
			continue
		}
		fe := &FlowError{Flow: k, Dst: [2]netip.AddrPort{d.legs[0][k].Dst, d.legs[1][k].Dst}, Paths: [2]string{r.ep.name, d.ep.name}}
		down, failed := 0, false
		for p := range 2 {
			all := true
			for i := range d.brings {
				if d.paths[i] != p || !brings(i, k) {
					continue
				}
				if d.failure[i] != nil && fe.Err[p] == nil {
					fe.Err[p] = d.failure[i]
				}
				all = all && d.ended[i]
			}
			if fe.Err[p] != nil || all {
				down++
				failed = failed || fe.Err[p] != nil
			}
		}
		if down == 2 && failed {
			d.lost = true
			return fe
		}
	}
	return nil
}

// named returns err, the error of reader idx, named by the reader's
// path where the reader has one (a UDP reader's error names only its
// port, which both paths may share); a pair of captures' reader reads
// both, and its errors name the file.
func (d *dupRx) named(r *Receiver, idx int, err error) error {
	if !d.track {
		return err
	}
	name := r.ep.name
	if d.paths[idx] == 1 {
		name = d.ep.name
	}
	return fmt.Errorf("st2110: path %d (%s): %w", d.paths[idx], name, err)
}

// analysis returns the ST 2110-21 analysis of merged flow k: of the
// packets taken, as they arrived.
func (d *dupRx) analysis(k int) (video.Analysis, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.merges[k].Analysis()
}

// Paths returns how many paths the receiver takes its flows from: 2 with
// ListenConfig.Second (ST 2022-7), else 1.
func (r *Receiver) Paths() int {
	if r.dup != nil {
		return 2
	}
	return 1
}

// PathStats returns the counts of path p (0: the transport Listen was
// named, 1: ListenConfig.Second) of flow k: the packets it brought, those
// whose first copy it brought, the copies absorbed as duplicates or
// dropped as late, and the packets it lost. Zero for a receiver of one
// path, or for p not 0 or 1; it panics for k out of range, as Stats. They
// are brought up to date as Stats are.
func (r *Receiver) PathStats(k, p int) video.PathStats {
	checkFlow("Receiver", "PathStats", k, len(r.flows))
	if r.dup == nil || p < 0 || p > 1 {
		return video.PathStats{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dup.pub[k].paths[p]
}

// Skew returns the measured path differential of flow k of a receiver of
// two paths: how much later path 1's copies arrived than path 0's. Zero
// for a receiver of one path; it panics for k out of range, as Stats.
func (r *Receiver) Skew(k int) video.Skew {
	checkFlow("Receiver", "Skew", k, len(r.flows))
	if r.dup == nil {
		return video.Skew{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dup.pub[k].skew
}

// pathsRx is the transports of two paths, each with its own readers.
type pathsRx struct {
	a, b   rxTransport
	firstB int // the index of b's first reader
}

func (t *pathsRx) readers() []rxReader {
	ra := t.a.readers()
	t.firstB = len(ra)
	return append(ra, t.b.readers()...)
}

func (t *pathsRx) wake() { t.a.wake(); t.b.wake() }

func (t *pathsRx) close() error { return errors.Join(t.a.close(), t.b.close()) }

// pcapPair is two captures read as the two paths of a flow: one reader
// reads both, each packet in capture time order (path 0 first on a tie),
// so that the merge sees the copies as they arrived, however fast the
// files are read; the second reader only waits for the first to end, so
// that each path keeps its sink.
type pcapPair struct {
	p    [2]*pcapRx
	done chan struct{}
}

func (t *pcapPair) readers() []rxReader { return []rxReader{pairLead{t}, pairFollow{t}} }

func (t *pcapPair) wake() { t.p[0].wake(); t.p[1].wake() }

func (t *pcapPair) close() error { return errors.Join(t.p[0].close(), t.p[1].close()) }

// pairLead reads both captures, into its own sink (path 0) and the next
// reader's (path 1).
type pairLead struct{ t *pcapPair }

func (pairLead) flows() []int { return nil }

func (l pairLead) run(ctx context.Context, s *rxSink) error {
	t := l.t
	defer close(t.done)
	sinks := [2]*rxSink{s, s.rx.sinks[s.idx+1]}
	for _, sk := range sinks {
		sk.block = !t.p[0].replay
	}
	var st pcapState // one time base for both: the first packet's
	var pend [2]pcapPacket
	var have, ended [2]bool
	for ctx.Err() == nil {
		for p := range 2 {
			if have[p] || ended[p] {
				continue
			}
			switch err := t.p[p].read(sinks[p], &st, &pend[p]); {
			case err == io.EOF:
				ended[p] = true
			case err != nil:
				return err
			default:
				have[p] = true
			}
		}
		p := 0
		switch {
		case !have[0] && !have[1]:
			return io.EOF
		case !have[0] || have[1] && pend[1].at < pend[0].at:
			p = 1
		}
		if err := t.p[p].push(ctx, sinks[p], &st, &pend[p]); err != nil {
			return err
		}
		have[p] = false
	}
	return nil
}

// pairFollow is the second capture's reader: pairLead reads it.
type pairFollow struct{ t *pcapPair }

func (pairFollow) flows() []int { return nil }

// run waits for pairLead to end, also once ctx has: until then the lead
// pushes into this reader's sink, which the reader's goroutine finishes
// (rxSink.finish) as soon as run returns. The lead ends soon after ctx
// does (its waits for a buffer and replay's sleeps end with it, and its
// file is closed).
func (f pairFollow) run(context.Context, *rxSink) error {
	<-f.t.done
	return io.EOF
}

// samePath says why a and b, the transports of a flow's two paths, would
// carry the same packets, "" if they need not: ST 2022-7 wants two
// independent networks, and two paths over one port or queue are one
// network at best, at worst two users of one ring; one capture written
// twice (send) is two writers of one file. ifA and ifB are the UDP
// interfaces of the paths (empty: the kernel's choice), la and lb the
// flows as each path sees them: two UDP paths on one interface, or one
// capture read twice (a capture of a port that sees both networks), are
// two paths as long as each flow's legs go to different addresses.
func samePath(a, b *endpoint, ifA, ifB string, la, lb []video.Stream, send bool) string {
	if a.kind != b.kind {
		return ""
	}
	over := ""
	switch a.kind {
	case kindNetmap:
		na, errA := nmsys.ParseName(a.port)
		nb, errB := nmsys.ParseName(b.port)
		if errA != nil || errB != nil {
			return ""
		}
		why := ringFallback(na, nb, send)
		if shared := sharedRings(na, nb); shared != "" {
			return fmt.Sprintf("both paths bind %s of netmap port %s (%s and %s%s)", shared, na.Port, a.port, b.port, why)
		}
		return ""
	case kindXDP:
		if a.iface == b.iface && a.queue == b.queue {
			return fmt.Sprintf("both paths are queue %d of %s", a.queue, a.iface)
		}
		return ""
	case kindPcap:
		fa, errA := filepath.Abs(a.file)
		fb, errB := filepath.Abs(b.file)
		same := errA == nil && errB == nil && fa == fb
		if sa, err := os.Stat(a.file); !same && err == nil {
			if sb, err := os.Stat(b.file); err == nil {
				same = os.SameFile(sa, sb)
			}
		}
		switch {
		case !same:
			return ""
		case send:
			return fmt.Sprintf("both paths write the capture %s", a.file)
		}
		over = "read from the one capture " + a.file
	case kindUDP:
		if ifA != ifB {
			return ""
		}
		over = "over the kernel's choice of interface"
		if ifA != "" {
			over = "over interface " + ifA
		}
	}
	for k := range min(len(la), len(lb)) {
		if la[k].Dst == lb[k].Dst && la[k].Source == lb[k].Source {
			return fmt.Sprintf("flow %d goes to %v on both paths, %s (give it a second leg, a=group:DUP, or name another path)", k, la[k].Dst, over)
		}
	}
	return ""
}

// lookupPortInfo is nmsys.LookupPortInfo; tests replace it.
var lookupPortInfo = nmsys.LookupPortInfo

// ringFallback applies the kernel's rule for one ring ("-N", "^N") of a
// direction that has fewer rings than N to a and b, two names of one ring
// each of one port: the direction falls back to its ring 0 (where N is
// below the other direction's count; else the port cannot be opened). A
// receiver binds RX rings only, a sender TX rings only, so "eth0-0" and
// "eth0-3" share TX ring 0 on a NIC of 4 RX rings and 1 TX ring. It asks
// the kernel for the port's rings only then, and returns why it changed a
// ring, "" if it did not. It asks with a's whole name: a is the first
// path, opened first, so a VALE port that does not exist yet gets the ring
// counts of a's "@conf:" (nmsys.LookupPortInfo creates it with them to
// answer), not the kernel's defaults.
func ringFallback(a, b *nmsys.Name, send bool) string {
	if a.Port != b.Port || a.Mode != b.Mode || a.RingID == b.RingID || a.Mode != nmsys.ModeOneNIC && a.Mode != nmsys.ModeOneSW {
		return ""
	}
	pi, err := lookupPortInfo(a.String())
	if err != nil {
		return "" // the port does not open: Listen or Dial will say why
	}
	n, other, kind := pi.RxRings, pi.TxRings, "RX"
	if send {
		n, other, kind = pi.TxRings, pi.RxRings, "TX"
	}
	if a.Mode == nmsys.ModeOneSW {
		n, other, kind = pi.HostRxRings, pi.HostTxRings, "host RX"
		if send {
			n, other, kind = pi.HostTxRings, pi.HostRxRings, "host TX"
		}
	}
	why := ""
	for _, x := range []*nmsys.Name{a, b} {
		if x.RingID >= n && x.RingID < other {
			why += fmt.Sprintf("; the port has %d %s rings: ring %d falls back to ring 0", n, kind, x.RingID)
			x.RingID = 0
		}
	}
	return why
}

// sharedRings says which rings two netmap port names bind in common, ""
// if none ("ring 2", "the rings", "host ring 0", "the host rings"): the kernel name is the port ("netmap:eth0" and "eth0" are one,
// a pipe end "eth0{1" another port than eth0), and the mode the rings of
// it (netmap's NR_REG_* modes: none binds every NIC ring, "-N" NIC ring N,
// "^" every host ring, "^N" host ring N, "*" every NIC and host ring).
// Names that bind only RX rings ("/R") and only TX rings ("/T") share
// none. The memory region ("@N", "@share") and the other flags do not
// change which rings are bound.
func sharedRings(a, b *nmsys.Name) string {
	if a.Port != b.Port {
		return ""
	}
	const dirs = nmsys.FlagRxRingsOnly | nmsys.FlagTxRingsOnly
	if da, db := a.Flags&dirs, b.Flags&dirs; da != 0 && db != 0 && da != db {
		return ""
	}
	// Each name's NIC and host rings: -1 for all of them, -2 for none,
	// else the one ring.
	const all, none = -1, -2
	rings := func(n *nmsys.Name) (nic, host int) {
		switch n.Mode {
		case nmsys.ModeAllNIC:
			return all, none
		case nmsys.ModeOneNIC:
			return n.RingID, none
		case nmsys.ModeSW:
			return none, all
		case nmsys.ModeOneSW:
			return none, n.RingID
		case nmsys.ModeNICSW:
			return all, all
		}
		return none, none
	}
	overlap := func(x, y int, kind string) string {
		switch {
		case x == none || y == none || x >= 0 && y >= 0 && x != y:
			return ""
		case x >= 0:
			return fmt.Sprintf("%sring %d", kind, x)
		case y >= 0:
			return fmt.Sprintf("%sring %d", kind, y)
		}
		return "the " + kind + "rings"
	}
	nicA, hostA := rings(a)
	nicB, hostB := rings(b)
	n, h := overlap(nicA, nicB, ""), overlap(hostA, hostB, "host ")
	switch {
	case n != "" && h != "":
		return n + " and " + h
	case n != "":
		return n
	}
	return h
}
