package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
)

// run executes one benchmark: it opens the port, runs the function until
// the count, the duration or ctx ends it, prints reports to out, and
// returns the final report.
func run(ctx context.Context, cfg *config, out io.Writer) (_ report, runErr error) {
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	tx := cfg.fn == "tx" || cfg.fn == "txseq"
	var rt *rtts
	if cfg.fn == "ping" {
		rt = newRTTs()
	}
	var work func(context.Context, *stats) error
	if isVideo(cfg.fn) {
		vr, err := newVideoRun(ctx, cfg)
		if err != nil {
			return report{}, err
		}
		defer func() {
			if err := vr.close(); err != nil && runErr == nil {
				runErr = err
			}
		}()
		cfg.vid, work = vr, vr.work
	} else if isUDP(cfg.port) {
		if _, err := udpAddr(cfg.port); err != nil {
			return report{}, err
		}
		work = func(ctx context.Context, st *stats) error { return udpRun(ctx, cfg, st) }
	} else {
		var pc nmsys.Config
		switch {
		case cfg.fn == "ping" || cfg.fn == "pong":
			pc.NoTxPoll = true
		case tx:
			pc.TxOnly = true
		default:
			pc.RxOnly, pc.NoTxPoll = true, true
		}
		var ports []*nmsys.Port
		for i := range cfg.parallel {
			c := pc
			if cfg.parallel > 1 {
				c.Mode, c.RingID = nmsys.ModeOneNIC, i
			}
			port, closePort, err := openPort(ctx, cfg.port, &c)
			if err != nil {
				return report{}, err
			}
			defer closePort()
			ports = append(ports, port)
			if max := port.Info().BufSize; cfg.lens.max() > max {
				return report{}, fmt.Errorf("-l %s: frames longer than the port's %d-byte buffers are not supported", cfg.lens, max)
			}
		}
		waitLink(ctx, cfg.wait)
		loop := func(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error {
			switch {
			case cfg.fn == "ping":
				return pingLoop(ctx, cfg, port, st, rt)
			case cfg.fn == "pong":
				return pongLoop(ctx, cfg, port, st)
			case tx:
				return txLoop(ctx, cfg, port, st)
			}
			return rxLoop(ctx, cfg, port, st)
		}
		work = func(ctx context.Context, st *stats) error {
			if len(ports) == 1 {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				return loop(ctx, cfg, ports[0], st)
			}
			// One goroutine per ring, each on its own OS thread; the
			// first error ends them all.
			var left *budget
			if cfg.count > 0 && cfg.fn == "rx" {
				left = newBudget(cfg.count)
			}
			return group(ctx, len(ports), func(ctx context.Context, i int) error {
				// -n and -R are totals. A sender's ring gets its share; the
				// receivers take from one budget, since the NIC decides
				// which ring a packet arrives on.
				share := *cfg
				share.rate = cfg.rate / float64(len(ports))
				if left != nil {
					share.count, share.left = 0, left
				} else if cfg.count > 0 {
					share.count = cfg.count / uint64(len(ports))
					if uint64(i) < cfg.count%uint64(len(ports)) {
						share.count++
					}
					if share.count == 0 { // fewer packets than rings
						return nil
					}
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				return loop(ctx, &share, ports[i], st)
			})
		}
	}

	if cfg.pcap != "" {
		f, err := os.Create(cfg.pcap)
		if err != nil {
			return report{}, fmt.Errorf("-pcap: %w", err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		if cfg.capture, err = packet.NewPcapWriter(bw, 0); err != nil {
			f.Close()
			return report{}, fmt.Errorf("-pcap: %w", err)
		}
		defer func() {
			ferr := bw.Flush()
			if cerr := f.Close(); ferr == nil {
				ferr = cerr
			}
			if ferr != nil && runErr == nil {
				runErr = fmt.Errorf("-pcap: %w", ferr)
			}
		}()
	}
	st := &stats{}
	rep := &reporter{cfg: cfg, out: out, rtt: rt}
	rep.start = st.sample(time.Now())
	rep.start.allocs = heapAllocs()
	rep.last = rep.start
	done := make(chan error, 1)
	go func() { done <- work(ctx, st) }()
	tick := time.NewTicker(cfg.interval)
	defer tick.Stop()
	var liveC <-chan time.Time
	if cfg.progress && !cfg.json && !cfg.quiet && (cfg.count > 0 || cfg.duration > 0) {
		lt := time.NewTicker(250 * time.Millisecond)
		defer lt.Stop()
		liveC = lt.C
	}
	for {
		select {
		case now := <-liveC:
			cur := st.sample(now)
			done := 0.0
			if cfg.count > 0 {
				done = float64(cur.packets) / float64(cfg.count)
			}
			if cfg.duration > 0 {
				done = max(done, float64(now.Sub(rep.start.at))/float64(cfg.duration))
			}
			rep.live(cur, done)
		case now := <-tick.C:
			rep.tick(st.sample(now))
		case err := <-done:
			cur := st.sample(time.Now())
			cur.allocs = heapAllocs()
			final := rep.final(cur)
			return final, err
		}
	}
}

// gen writes the frames of a TX run.
type gen struct {
	cfg      *config
	tpl      *packet.UDPTemplate
	seq      uint32
	id       uint16
	lenIdx   int
	rnd      uint32
	src, dst [4]byte
	sp, dp   uint16
	payload  []byte
	sequence bool
	varies   bool // lengths, addresses or ports change per packet
	touch    bool // after the first lap a frame still needs patching
	fixed    int  // the frame length if it never changes, else 0
	warm     int  // packets still to be written whole (the first lap)
}

func newGen(cfg *config) (*gen, error) {
	tpl, err := packet.NewUDPTemplate(packet.UDPConfig{SrcMAC: cfg.srcMAC, DstMAC: cfg.dstMAC,
		SrcIP: addr(cfg.src.ip0), DstIP: addr(cfg.dst.ip0), SrcPort: cfg.src.port0, DstPort: cfg.dst.port0})
	if err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, tpl: tpl, rnd: 0x9e3779b9, src: cfg.src.ip0, dst: cfg.dst.ip0,
		sp: cfg.src.port0, dp: cfg.dst.port0, sequence: cfg.fn == "txseq"}
	g.varies = len(cfg.lens.list) != 1 || cfg.src.ip0 != cfg.src.ip1 || cfg.src.port0 != cfg.src.port1 ||
		cfg.dst.ip0 != cfg.dst.ip1 || cfg.dst.port0 != cfg.dst.port1
	g.touch = g.varies || g.sequence
	if len(cfg.lens.list) == 1 {
		g.fixed = cfg.lens.list[0]
	}
	g.payload = make([]byte, cfg.lens.max())
	const text = "nmgo nmbench payload\n"
	for i := range g.payload {
		g.payload[i] = text[i%len(text)]
	}
	return g, nil
}

// length returns the next frame length.
func (g *gen) length() int {
	l := &g.cfg.lens
	if l.list != nil {
		if len(l.list) == 1 {
			return l.list[0]
		}
		v := l.list[g.lenIdx]
		if g.lenIdx++; g.lenIdx == len(l.list) {
			g.lenIdx = 0
		}
		return v
	}
	g.rnd ^= g.rnd << 13 // xorshift32
	g.rnd ^= g.rnd >> 17
	g.rnd ^= g.rnd << 5
	return l.lo + int(g.rnd%uint32(l.hi-l.lo+1))
}

// fill writes the n reserved slots of r and returns the bytes queued.
// During the first lap over the ring it writes whole frames (with -Z, the
// headers only); after that every buffer holds one, so per packet it
// writes only what changes: the length always; the header when lengths,
// addresses or ports vary; the sequence number for txseq. Fixed frames
// are lengths only, like pkt-gen's default. It does not allocate.
func (g *gen) fill(r *rings.TxRing, n int) uint64 {
	if g.warm == 0 && !g.touch && g.fixed > 0 {
		r.SetLens(n, g.fixed) // nothing to patch: lengths only
		return uint64(n) * uint64(g.fixed)
	}
	var bytes uint64
	for i := 0; i < n; i++ {
		l := g.length()
		if g.warm > 0 {
			g.warm--
			g.full(r.Buf(i), l)
		} else if g.touch {
			g.header(r.Buf(i), l)
		}
		r.SetLen(i, l)
		bytes += uint64(l)
	}
	return bytes
}

// full writes a whole frame: payload pattern (not with -Z), then the
// header fields of header.
func (g *gen) full(buf []byte, n int) {
	if !g.cfg.noTouch {
		copy(buf[packet.UDPHdrLen:n], g.payload[packet.UDPHdrLen:n])
	}
	g.write(buf, n)
}

// header patches the per-packet fields of a frame whose payload is in
// place, where they change (see write).
func (g *gen) header(buf []byte, n int) {
	if g.varies {
		g.write(buf, n)
		return
	}
	g.number(buf)
}

// write writes the header of a frame n bytes long, numbers it and steps
// the addresses: the IPv4 id counts, txseq's sequence number goes at the
// start of the payload, and addresses and ports walk their ranges.
func (g *gen) write(buf []byte, n int) {
	g.tpl.Write(buf, n, g.src, g.dst, g.sp, g.dp, g.id)
	g.id++
	g.number(buf)
	c := &g.cfg.src
	if c.port0 != c.port1 || c.ip0 != c.ip1 {
		g.sp, g.src = step(g.sp, g.src, c)
	}
	if d := &g.cfg.dst; d.port0 != d.port1 || d.ip0 != d.ip1 {
		g.dp, g.dst = step(g.dp, g.dst, d)
	}
}

// number writes txseq's next sequence number.
func (g *gen) number(buf []byte) {
	if g.sequence {
		binary.BigEndian.PutUint32(buf[packet.UDPHdrLen:], g.seq)
		g.seq++
	}
}

func step(p uint16, ip [4]byte, e *endpoints) (uint16, [4]byte) {
	if p < e.port1 {
		return p + 1, ip
	}
	v := ip4num(ip) + 1
	if v > ip4num(e.ip1) {
		v = ip4num(e.ip0)
	}
	return e.port0, [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// pacer bounds a sender by -n and -R.
type pacer struct {
	cfg   *config
	start time.Time
}

func newPacer(cfg *config) pacer { return pacer{cfg: cfg, start: time.Now()} }

// next returns how many packets may go now, at most batch, given sent so
// far; 0 after sleeping for one packet's time, or maxPaceSleep if that is
// shorter, when the rate says wait. The first packet goes at once.
func (p pacer) next(batch int, sent uint64) int {
	want := batch
	if p.cfg.count != 0 {
		want = int(min(uint64(want), p.cfg.count-sent))
	}
	if p.cfg.rate > 0 {
		allowed := int64(p.cfg.rate*time.Since(p.start).Seconds()) + 1 - int64(sent)
		if allowed <= 0 {
			time.Sleep(min(time.Duration(float64(time.Second)/p.cfg.rate), maxPaceSleep))
			return 0
		}
		want = int(min(int64(want), allowed))
	}
	return want
}

// maxPaceSleep bounds one sleep of a paced sender, so that at low rates
// (-R 0.1) a signal or -t still ends the run at once: the loop looks at
// its context between sleeps.
const maxPaceSleep = 10 * time.Millisecond

// waitErr turns the end of a wait into the end of the loop: nil to go on,
// errStop when ctx ended it, else the error.
var errStop = errors.New("stop")

func waitErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return errStop
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}

func txLoop(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error {
	rs, err := port.TxRings()
	if err != nil {
		return err
	}
	g, err := newGen(cfg)
	if err != nil {
		return err
	}
	// The first lap over each ring writes whole frames, so that every
	// slot's buffer holds one before later laps touch only what changes.
	for _, r := range rs {
		g.warm += r.NumSlots()
	}
	var sent, moved uint64
	var y osthread.Yielder
	pace := newPacer(cfg)
	for ctx.Err() == nil && (cfg.count == 0 || sent < cfg.count) {
		y.Pass(moved) // the bytes of the previous pass
		moved = 0
		want := pace.next(cfg.batch, sent)
		if want == 0 {
			continue
		}
		put := 0
		for _, r := range rs {
			n, err := r.Reserve(want - put)
			if err != nil {
				return fmt.Errorf("tx ring: %w", err)
			}
			bytes := g.fill(r, n)
			r.Publish(n)
			if n > 0 {
				put += n
				moved += bytes
				st.packets.Add(uint64(n))
				st.bytes.Add(bytes)
				st.batches.Add(1)
			}
			if put == want {
				break
			}
		}
		sent += uint64(put)
		if put == 0 {
			if err := waitErr(ctx, port.WaitTx()); err != nil {
				if err == errStop {
					break
				}
				return err
			}
			continue
		}
		if err := port.TxSync(); err != nil {
			return err
		}
	}
	return drainTx(port, rs...)
}

// drainTx lets the last packets of rs leave before port closes, syncing
// for at most a second.
func drainTx(port *nmsys.Port, rs ...*rings.TxRing) error {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		pending := 0
		for _, r := range rs {
			pending += r.InFlight()
		}
		if pending == 0 {
			break
		}
		if err := port.TxSync(); err != nil {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

// seqWindow tracks received sequence numbers to tell lost, duplicated and
// reordered packets apart within a window of recent numbers.
type seqWindow struct {
	started bool
	first   uint32 // first number seen; older ones are not counted as gaps filled
	next    uint32
	seen    [1 << 16 / 64]uint64
}

const seqWin = 1 << 16

func (w *seqWindow) bit(s uint32) (*uint64, uint64) {
	i := s % seqWin
	return &w.seen[i/64], 1 << (i % 64)
}

// add records s and returns the changes to the lost, dup and reordered
// counters (lost may go down when a late packet fills a gap).
func (w *seqWindow) add(s uint32) (lost int64, dup, reord uint64) {
	if !w.started {
		w.started, w.first, w.next = true, s, s
	}
	d := int32(s - w.next)
	switch {
	case d < 0 && int32(s-w.first) < 0:
		return 0, 1, 0 // from before the run's first frame: stale, a duplicate
	case d >= 0:
		gap := uint32(d)
		lost = int64(gap)
		if gap >= seqWin {
			clear(w.seen[:])
		} else {
			for k := uint32(0); k < gap; k++ {
				wd, b := w.bit(w.next + k)
				*wd &^= b
			}
		}
		wd, b := w.bit(s)
		*wd |= b
		w.next = s + 1
	case -d < seqWin:
		wd, b := w.bit(s)
		if *wd&b != 0 {
			return 0, 1, 0
		}
		*wd |= b
		return -1, 0, 1
	default:
		return 0, 1, 0 // older than the window: cannot tell, count as duplicate
	}
	return lost, 0, 0
}

// spinSyncs is how many empty RX syncs ping and pong issue before they
// sleep, trading a CPU for latency. Throughput receivers do not spin (see
// nmsys.Idler).
const spinSyncs = 256

// batchCounts are the counters of one received batch.
type batchCounts struct {
	bytes      uint64
	lost       int64
	dup, reord uint64
}

// drain reads the n acquired slots of r, counting bytes and, with check,
// sequence numbers. It does not allocate.
func (c *batchCounts) drain(r *rings.RxRing, n int, check bool, win *seqWindow) error {
	if !check { // count only: read slot lengths, like pkt-gen rx
		b, err := r.Bytes()
		c.bytes += uint64(b)
		return err
	}
	for i := 0; i < n; i++ {
		pkt, err := r.Packet(i)
		if err != nil {
			return err
		}
		c.bytes += uint64(len(pkt))
		if len(pkt) >= packet.UDPHdrLen+4 {
			c.seq(win, binary.BigEndian.Uint32(pkt[packet.UDPHdrLen:]))
		}
	}
	return nil
}

// seq counts sequence number s against win.
func (c *batchCounts) seq(win *seqWindow, s uint32) {
	l, d, o := win.add(s)
	c.lost, c.dup, c.reord = c.lost+l, c.dup+d, c.reord+o
}

// publish adds the counts of a batch of n packets to st; check says
// whether sequence numbers were counted.
func (c *batchCounts) publish(st *stats, n int, check bool) {
	st.packets.Add(uint64(n))
	st.bytes.Add(c.bytes)
	st.batches.Add(1)
	if check {
		st.lost.Add(uint64(c.lost))
		st.dup.Add(c.dup)
		st.reordered.Add(c.reord)
	}
}

func rxLoop(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error {
	rs, err := port.RxRings()
	if err != nil {
		return err
	}
	check := cfg.fn == "rxseq"
	var win seqWindow
	var got uint64
	var idle nmsys.Idler
	for ctx.Err() == nil && (cfg.count == 0 || got < cfg.count) {
		want := cfg.batch
		if cfg.count != 0 {
			want = int(min(uint64(want), cfg.count-got))
		}
		if cfg.left != nil {
			if cfg.left.done() {
				return nil
			}
			// Claims of other rings may come back: wait, then look again.
			if want = cfg.left.claim(want); want == 0 {
				if err := waitErr(ctx, idle.Next(port, false, 0)); err != nil {
					return stopOK(err)
				}
				continue
			}
		}
		total := 0
		var moved uint64
		for _, r := range rs {
			n, err := r.Acquire(want - total)
			if err != nil && n == 0 {
				return fmt.Errorf("rx ring: %w", err)
			}
			var c batchCounts
			if err := c.drain(r, n, check, &win); err != nil {
				return fmt.Errorf("rx ring: %w", err)
			}
			if cfg.capture != nil && n > 0 {
				if err := capture(cfg.capture, r, n); err != nil {
					return err
				}
			}
			r.Release(n)
			if n > 0 {
				total += n
				moved += c.bytes
				c.publish(st, n, check)
			}
			if total == want {
				break
			}
		}
		got += uint64(total)
		if cfg.left != nil {
			cfg.left.settle(want, total)
		}
		if err := waitErr(ctx, idle.Next(port, total > 0, moved)); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

// budget is the -n of receivers on several rings: each claims up to a
// batch before it acquires, and gives back what it did not receive, so
// that together they take exactly the count, however the packets spread.
type budget struct {
	left, got atomic.Int64
	total     int64
}

func newBudget(n uint64) *budget {
	b := &budget{total: int64(n)}
	b.left.Store(b.total)
	return b
}

// claim takes up to want packets of the budget and returns how many.
func (b *budget) claim(want int) int {
	for {
		l := b.left.Load()
		if l <= 0 {
			return 0
		}
		k := min(int64(want), l)
		if b.left.CompareAndSwap(l, l-k) {
			return int(k)
		}
	}
}

// settle returns the unused part of a claim and counts what was received.
func (b *budget) settle(claimed, used int) {
	if claimed > used {
		b.left.Add(int64(claimed - used))
	}
	b.got.Add(int64(used))
}

// done reports whether the whole count has been received.
func (b *budget) done() bool { return b.got.Load() >= b.total }

// openPort opens the netmap port name for a loop that owns the port and its
// OS thread, so waits block the thread in poll(2) and the fd stays out of
// epoll (Config.ThreadWait): no wake-up of another thread per delivered
// batch. A cancelled ctx wakes a blocked wait through a past deadline.
// closePort undoes both.
func openPort(ctx context.Context, name string, c *nmsys.Config) (_ *nmsys.Port, closePort func() error, _ error) {
	c.ThreadWait = true
	port, err := nmsys.Open(name, c)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { port.SetDeadline(time.Unix(1, 0)) })
	return port, func() error { stop(); return port.Close() }, nil
}

// waitLink gives a freshly opened NIC d (-w) to bring its link up, or
// less if ctx ends first.
func waitLink(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// group runs f(ctx, i) for i in [0, n), each in its own goroutine, and
// returns the first error once all have returned; that error cancels the
// ctx the others see.
func group(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			err := f(ctx, i)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// capture writes the n acquired slots of r to w, stamped with the time of
// the sync that delivered them (the ring's ts, or now if the kernel left it
// zero).
func capture(w *packet.PcapWriter, r *rings.RxRing, n int) error {
	ts := r.Timestamp()
	if ts.Unix() == 0 {
		ts = time.Now()
	}
	for i := range n {
		pkt, err := r.Packet(i)
		if err != nil {
			return fmt.Errorf("rx ring: %w", err)
		}
		if err := w.WritePacket(ts, pkt); err != nil {
			return fmt.Errorf("-pcap: %w", err)
		}
	}
	return nil
}
