package st2110

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// SendConfig configures [Dial]. A nil *SendConfig means the defaults: a
// moving test pattern on every flow, sent until Run's context ends.
type SendConfig struct {
	// Source supplies the frames of every flow (in pgroup layout, of the
	// flows' format); Sources, if set, one per flow, overrides it. Both
	// nil means a moving test pattern ([video.NewPattern]).
	//
	// Run sends each output from a goroutine of its own (a netmap port
	// opened per TX ring has several: Sender.Outputs), so the Frame
	// method of a source that several flows share (Source, or one value
	// in several Sources) may be called from several goroutines at once,
	// and must be safe for that. The calls for one flow come from one
	// goroutine, one at a time.
	Source  video.FrameSource
	Sources []video.FrameSource

	// Count is how many frames each flow sends before Run returns, those
	// it skipped having fallen behind (MaxLag) included; zero means until
	// Run's context ends. A pcap transport needs it.
	Count uint64

	// Clock times the schedule and the RTP timestamps; nil means the
	// system clock as TAI ([NewClock] with a nil config). A Clock not
	// made by NewClock (a zero Clock{}) is refused.
	Clock *Clock

	// MaxRate, if not zero, caps the packets per second of all flows
	// together: the schedule is kept, stretched in time (for peers or
	// virtual machines that cannot keep up), at most video.MaxStretch
	// times, so MaxRate is at least the flows' packet rate over it.
	MaxRate float64

	// Batch is the most packets written per step; zero means 64. Over UDP
	// it is at most MaxUDPBatch (Dial fails beyond), and the socket's
	// batch of datagram buffers is charged to the Budget.
	Batch int

	// MaxLag is how far behind its schedule a flow may fall (the process
	// descheduled, a queue stalled) before it gives up the frames it
	// missed and resumes at the first frame of its schedule not yet due,
	// with that frame's timestamp, counted in SendStats.Skipped; zero
	// means one frame period, negative never: every packet is sent, the
	// late ones at once (see video.TransmitterConfig.MaxLag). A capture
	// is written without waiting and never falls behind.
	MaxLag time.Duration

	// Lead is how long after Run starts the first frame's first packet
	// may go at the earliest; zero means 2 ms, and it is at most
	// video.MaxLead (an hour).
	Lead time.Duration

	// Interface is the network interface UDP sends multicast on (as
	// "udp:ADDR:PORT@IFACE" gives it); empty means the kernel's choice.
	Interface string

	// TTL is the IPv4 TTL or IPv6 hop limit of flows whose SDP gives none
	// (c= .../TTL); zero means the kernel's default over UDP (1 for
	// multicast) and 64 in Ethernet frames. Over UDP one socket sends
	// every flow, with one TTL for the multicast flows and one for the
	// unicast ones: where the flows of a kind differ, each is sent with
	// the largest, and the session the Sender describes says so.
	TTL int

	// The Ethernet and IP source of the frames a netmap port, an AF_XDP
	// socket or a capture carries. SrcMAC defaults to the NIC's address, else
	// 02:6e:6d:67:6f:01; DstMAC to the multicast address of each flow's
	// group (MulticastMAC), and a unicast destination needs it. SrcAddr
	// defaults to the flow's a=source-filter source, else the SDP's o=
	// address, else the NIC's address; its port to each flow's port.
	SrcMAC, DstMAC net.HardwareAddr
	SrcAddr        netip.AddrPort

	// SSRC is the RTP SSRC of flow 0 (flow k has SSRC+k); zero means a
	// random one (RFC 3550). The first sequence numbers are random.
	SSRC uint32

	// Analyze runs an ST 2110-21 analysis of the times the packets were
	// written ([Sender.Analysis]): a self-check of the schedule as kept.
	Analyze bool

	// Pacing tunes every flow's pacer (video.PacerConfig: its lead, and
	// how many packets go together in a burst); nil means its defaults.
	Pacing *video.PacerConfig

	// MaxRows, if not zero, packs every flow's rows back to back, as
	// GStreamer and FFmpeg do (video.PacketizerConfig.Continuous: a
	// packet that ends a row goes on with the next), with at most MaxRows
	// SRD headers a packet, as many as fit if fewer
	// (video.PacketizerConfig.MaxRows). Up to 3 the flows stay ST 2110-20
	// ones; more packs many short rows in one packet (GStreamer's rule),
	// which RFC 4175 allows and ST 2110-20 does not: the session
	// (Sender.SDP) still says PM=2110GPM and SSN=ST2110-20:2017, as
	// there is no SDP parameter for RFC 4175's rule, so a receiver of it
	// must take more than 3 SRDs a packet. Dial refuses it for a BPM
	// flow. Zero means each row is split into equal packets that never
	// cross a row's end, as hardware senders do.
	MaxRows int

	// Spin is how much of each wait for the next packet Run spends
	// spinning on the clock instead of sleeping. On a netmap port or an
	// AF_XDP socket the sender owns its OS thread and sleeps in
	// clock_nanosleep(2) with a timer slack of 1 ns, which wakes it
	// within microseconds of the time on an idle CPU (giving its P to
	// the Go scheduler for one sleep a millisecond, so that the process's
	// other goroutines run, unless it runs at a real-time Priority); over
	// UDP it sleeps on Go's timers, which may
	// wake it a millisecond late, and what fell due meanwhile then goes in
	// one burst, beyond the Cinst a narrow sender may reach (its CMAX: 6
	// packets at 1080p59.94). A spin keeps every packet to its time
	// where wake-ups are late, at the cost of a busy CPU while it waits
	// ([Sender.Spun] tells how long), which on a CPU shared with the
	// receiver is time taken from it. A spin lasts no longer on the
	// monotonic clock than the wait it ends plus 10 ms, however the
	// sender's clock steps meanwhile. Zero means no spinning. A capture
	// is written without waiting.
	Spin time.Duration

	// Priority, if not zero, runs the sender's OS thread under the
	// real-time policy SCHED_FIFO at that priority (1 to 99) while Run
	// runs: at each send time it then takes its CPU from any ordinary
	// thread at once, where the kernel otherwise lets a busy one (a
	// receiver on the same CPU) run on for up to milliseconds and the
	// bursts that fell due meanwhile go together, beyond a narrow
	// sender's CMAX. Netmap and AF_XDP senders own their thread and take
	// it (the first path's transport decides; a second path's rides on
	// it); a UDP or capture sender is refused, as is any outside Linux.
	// It needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least the priority
	// (Run fails with an error saying so). The sender yields to the Go
	// scheduler every 7 ms keeping the priority, so that for that moment
	// other goroutines may run on its thread at it: a goroutine that
	// spins then holds the CPU until the runtime preempts it (10 ms). A
	// sender that never waits (Spin as long as the gaps) starves its
	// CPU's ordinary threads.
	Priority int

	// Budget bounds the memory the flows' formats make the sender take
	// (the test pattern of each format, when it makes them, and a
	// capture's packet buffers) and the buffers of a UDP socket's batch
	// (SendConfig.Batch), charged before anything is allocated: a session
	// that does not fit fails in Dial with a *video.BudgetError naming
	// the flow or the socket. Nil means a budget of video.DefaultMemory
	// for this sender. A Dial that fails gives back all it charged, and
	// Close gives it back too and lets go of that memory, keeping only
	// the counts and analyses: what the budget no longer counts is
	// garbage, whether or not the caller keeps the closed Sender.
	// Frames from Source or Sources are the caller's and are not charged.
	Budget *video.Budget

	// Second, if set, names the transport of a second path (SMPTE ST
	// 2022-7 seamless protection, see the package documentation): every
	// packet goes on both, the same RTP packet, each path to its leg's
	// address (video.Stream.Second, else the flow's). The session then
	// describes each flow's two legs (an a=group:DUP pair). SrcAddr's
	// address and Interface are the first path's. A path that fails
	// stops alone, and one stopped by an error of the network is tried
	// again until it comes back (Sender.PathStats).
	Second string
}

// SendStats are the counts of one flow of a [Sender].
type SendStats struct {
	video.TxStats // frames, packets, octets and late packets written, frames skipped (SendConfig.MaxLag)

	// Send errors of a UDP transport, over all of its flows (and both
	// paths of a sender with a second one, SendConfig.Second): datagrams
	// the kernel refused for a full device queue (ENOBUFS, EAGAIN) and
	// dropped after retries, or left unsent when Run stopped (its context
	// ended, or Close) while they waited for room in a full send buffer,
	// and ICMP port unreachable reports (ECONNREFUSED) from a unicast
	// peer that does not listen. Neither stops the sender.
	NoBufs, Refused uint64

	// Filtered is the datagrams a local firewall rule (netfilter's
	// output chain) dropped, which the kernel reports as EPERM: counted
	// and not sent, not fatal.
	Filtered uint64
}

// txConn is one output of a transport, driven by one goroutine: a queue
// a video.Transmitter writes into, and how to hand its packets on. A
// second path of a flow (ST 2022-7) is a second txConn that gets the same
// packets; an AF_XDP socket is one like a netmap ring.
type txConn interface {
	video.TxQueue
	// flush hands the published packets on (a TX sync, sendmmsg, a file
	// write). Where it waits for room (a UDP socket's full send buffer)
	// it returns ctx's error once ctx ends.
	flush(ctx context.Context) error
	// wait blocks until a full queue has room, or ctx ends.
	wait(ctx context.Context) error
	// drain waits, for a while, until the packets handed on have left
	// (a netmap TX ring's slots are free again).
	drain()
	// close lets the packets in flight leave and releases the output.
	close() error
	// counts returns the output's send error counts, nil if it has none.
	counts() *txCounts
}

// finisher is a txConn that holds back what flush wrote (a capture's
// buffered file): finish writes it out once every flow has sent its
// SendConfig.Count frames, so that Run, not only Close, returns a failed
// write.
type finisher interface{ finish() error }

// interrupter is a txConn whose flush may wait in the kernel (a UDP
// socket waiting for room in its send buffer, through the netpoller):
// interrupt, called from another goroutine when Run's context ends, makes
// that wait, and every later one, return at once.
type interrupter interface{ interrupt() }

// txCounts are send errors a txConn counts, read by Stats.
type txCounts struct {
	noBufs, refused, filtered atomic.Uint64
}

// txPart is one output, its Transmitter and the flows it sends.
type txPart struct {
	q     txConn
	tx    *video.Transmitter
	flows []int // the Sender's flow of each stream of tx
	// What the part publishes for Stats, every publishEvery of its clock
	// and when it stops.
	mu      sync.Mutex
	stats   []video.TxStats
	nextPub int64
	// sleep is the part's sleeps on its own thread (a netmap or AF_XDP
	// sender), runPart's alone while it runs; after, its count of the
	// sleeps that gave the P to the runtime stays.
	sleep threadSleeper
	// final is each stream's Analysis, taken by Close (drop), which then
	// lets go of tx; under mu.
	final []flowAnalysis
}

// drop keeps each stream's Analysis and lets go of the Transmitter, and
// with it of the frame sources (the test patterns Dial made), once Run
// has returned: Close gives their charges back, and the memory is then
// garbage though the caller keeps the Sender.
func (p *txPart) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx == nil {
		return
	}
	p.final = make([]flowAnalysis, len(p.flows))
	for j := range p.final {
		p.final[j].a, p.final[j].ok = p.tx.Analysis(j)
	}
	p.tx = nil
}

// Sender sends the flows of a session on one transport, each flow paced
// on its own ST 2110-21 schedule (N, NL or W, the SDP's TP, narrow if
// absent; read from the SDP's TROFF, else TRO_DEFAULT, after each frame's
// alignment point) with RTP timestamps from TAI: the 90 kHz count since the PTP
// epoch of each frame's alignment point (ST 2110-10). [Dial] opens it;
// [Sender.Run] sends.
//
// Run belongs to one goroutine; Stats, PathStats, Skipped, Batches, Spun,
// Session, SDP and Close are safe for concurrent use.
//
// Only Dial makes a Sender: of a zero Sender{}, Close returns nil (it has
// nothing open) and the other methods may panic. As with any
// context.Context parameter, Run's ctx must not be nil.
type Sender struct {
	ep    endpoint
	flows []video.Stream
	cfg   SendConfig
	clock *Clock
	parts []*txPart
	sess  video.Session
	virt  bool // a capture: written at once, on the transmitter's clock
	utc   int64

	batches atomic.Uint64 // flushes that carried packets, over all parts
	spun    atomic.Int64  // ns spent spinning (SendConfig.Spin)

	runMu     sync.Mutex
	running   bool
	closing   bool
	runCancel context.CancelFunc
	runDone   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Dial opens the transport named by name (see [Listen] for the names)
// for sending the flows of sess: to the SDP's destinations, or over UDP
// to udp:ADDR:PORT (flow k at PORT+k). A netmap port, an AF_XDP socket
// or a capture gets whole Ethernet frames; UDP gets RTP packets, sent with
// sendmmsg(2).
// Nothing is sent before [Sender.Run].
func Dial(name string, sess *video.Session, cfg *SendConfig) (_ *Sender, err error) {
	s, err := newSender(name, sess, cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.cfg.Budget.Unwind()
		}
	}()
	// The transport, and a second path's, is opened before the test
	// patterns are drawn (for a 2160p flow some 24 MB and 100 ms of
	// CPU): a Dial retried on a missing interface or port fails at the
	// open, at no more cost.
	conns, eth, origin, err := s.openOutputs()
	if err != nil {
		for _, q := range conns {
			q.close()
		}
		return nil, err
	}
	if err := s.dialOn(sess, conns, eth, origin); err != nil {
		return nil, err
	}
	return s, nil
}

// dialOn makes s send on conns, the outputs openOutputs opened (with
// their Ethernet addresses eth, or a UDP socket's origin): it opens the
// second path, takes the frames, and builds the Transmitters and the
// session. It closes each of conns exactly once if it fails, and if it
// succeeds each output beyond the flows (more rings than flows); Close
// closes the others. Before, build closed those extra ones and a Dial
// failing after it closed every output: them a second time.
func (s *Sender) dialOn(sess *video.Session, conns []txConn, eth *ethInfo, origin netip.Addr) error {
	switch s.ep.kind {
	case kindPcap:
		s.virt = true
	case kindUDP:
		s.sess.Origin = origin
	}
	var sec *secondOut
	var err error
	if s.cfg.Second != "" {
		sec, err = s.openSecond(sess) // on error, it closes what it opened
	}
	var sources []video.FrameSource
	if err == nil {
		sources, err = s.frameSources()
	}
	if err == nil {
		err = s.build(conns, eth, sources)
	}
	if sec != nil {
		if err == nil {
			err = s.pairSecond(sec) // on error, it closes the second path's outputs
		} else {
			sec.close()
		}
	}
	if err != nil {
		for _, q := range conns {
			q.close()
		}
		return err
	}
	for _, q := range conns[len(s.parts):] {
		q.close() // more rings than flows
	}
	return nil
}

// PacketizerConfig returns the packetizer configuration [Dial] makes
// flow f's packets with under c, but for each flow's own SSRC, first
// sequence number and headers: f's packing, MAXUDP and payload type
// ([video.Stream.PacketizerConfig]), packed back to back with c.MaxRows.
// c may be nil, the defaults, as for Dial. An application that works out
// a flow's packets (a frame's: [video.Packetizer.PacketsPerField]) takes
// them from it. For a flow Dial refuses (a block packed one with
// MaxRows, a negative MaxRows) it returns a configuration
// [video.NewPacketizer] refuses too.
func (c *SendConfig) PacketizerConfig(f *video.Stream) *video.PacketizerConfig {
	pc := f.PacketizerConfig()
	if c != nil && c.MaxRows != 0 {
		pc.Continuous, pc.MaxRows = true, c.MaxRows
	}
	return pc
}

// openOutputs opens s's outputs on its transport (s.ep), and reads the
// Ethernet headers' addresses (s.ethernet) on one that writes frames; a
// UDP socket gives its source address instead. On error, what it opened
// is the caller's to close (conns).
func (s *Sender) openOutputs() (conns []txConn, eth *ethInfo, origin netip.Addr, err error) {
	switch s.ep.kind {
	case kindNetmap:
		conns, err = openNetmapTx(&s.ep)
	case kindXDP:
		var q *xdpTx
		if q, err = openXDPTx(&s.ep, s.cfg.Batch); err == nil {
			conns = []txConn{q}
		}
	case kindPcap:
		var q txConn
		if q, err = openPcapTx(&s.ep, s.cfg.Batch, s.utc); err == nil {
			conns = []txConn{q}
		}
	case kindUDP:
		var q *udpTx
		if q, err = openUDPTx(&s.ep, s.flows, &s.cfg); err == nil {
			return []txConn{q}, nil, q.origin, nil
		}
		return nil, nil, origin, err
	default:
		return nil, nil, origin, fmt.Errorf("st2110: dial %s: not a transport for a second path", s.ep.name)
	}
	if err == nil {
		eth, err = s.ethernet()
	}
	return conns, eth, origin, err
}

// commitConn tells an output that Run has started: a capture waits for a
// FIFO's reader until ctx ends, then empties its file (pcapTx.commit);
// one of a failed Dial, or of a Sender closed without Run, is left as it
// was. In a sender of two paths a capture that cannot begin is that
// path's failure alone (dupTx.commit).
func commitConn(ctx context.Context, q txConn) error {
	switch q := q.(type) {
	case *pcapTx:
		return q.commit(ctx)
	case *dupTx:
		return q.commit(ctx)
	}
	return nil
}

// newSender checks what Dial was given and sets the sender up, without a
// transport nor the frames of its flows (Sender.frameSources). What Dial
// charges goes through a ledger of the budget (s.cfg.Budget), made last,
// once nothing here can fail: Dial unwinds it if it fails, and Close.
func newSender(name string, sess *video.Session, cfg *SendConfig) (*Sender, error) {
	ep, err := parseName(name)
	if err != nil {
		return nil, err
	}
	fs, err := flows(sess, &ep, true)
	if err != nil {
		return nil, err
	}
	s := &Sender{ep: ep, flows: fs}
	if cfg != nil {
		s.cfg = *cfg
	}
	c := &s.cfg
	for _, v := range []struct {
		field string
		v     int64
		d     bool // a time.Duration
	}{{"Batch", int64(c.Batch), false}, {"Lead", int64(c.Lead), true}, {"Spin", int64(c.Spin), true}, {"MaxRows", int64(c.MaxRows), false}} {
		if v.v < 0 {
			val := fmt.Sprint(v.v)
			if v.d {
				val = time.Duration(v.v).String()
			}
			return nil, fmt.Errorf("st2110: dial %s: SendConfig.%s is negative (%s)", name, v.field, val)
		}
	}
	if c.Priority != 0 {
		if c.Priority < 1 || c.Priority > 99 {
			return nil, fmt.Errorf("st2110: dial %s: SendConfig.Priority %d: not in [1, 99] (SCHED_FIFO), or 0 for none", name, c.Priority)
		}
		if ep.kind != kindNetmap && ep.kind != kindXDP {
			return nil, fmt.Errorf("st2110: dial %s: SendConfig.Priority %d: only a netmap or AF_XDP sender has a thread of its own to run at it", name, c.Priority)
		}
		if !prioritySupported {
			return nil, fmt.Errorf("st2110: dial %s: SendConfig.Priority %d: a real-time priority for the sender's thread needs Linux (SCHED_FIFO)", name, c.Priority)
		}
	}
	if c.MaxRows != 0 {
		for k := range fs {
			if fs[k].Packing == video.BPM {
				return nil, fmt.Errorf("st2110: dial %s: flow %d: SendConfig.MaxRows %d: the flow is block packed (PM=2110BPM), and rows packed back to back are GPM", name, k, c.MaxRows)
			}
		}
	}
	if c.TTL < 0 || c.TTL > 255 {
		return nil, fmt.Errorf("st2110: dial %s: SendConfig.TTL %d: not in [0, 255]", name, c.TTL)
	}
	if c.MaxRate < 0 || math.IsNaN(c.MaxRate) {
		return nil, fmt.Errorf("st2110: dial %s: SendConfig.MaxRate %v: not a rate (packets per second, 0 for none)", name, c.MaxRate)
	}
	if c.Lead > video.MaxLead {
		return nil, fmt.Errorf("st2110: dial %s: SendConfig.Lead %v: more than video.MaxLead (%v)", name, c.Lead, video.MaxLead)
	}
	if c.Sources != nil && len(c.Sources) != len(fs) {
		return nil, fmt.Errorf("st2110: dial %s: %d SendConfig.Sources for %d flows", name, len(c.Sources), len(fs))
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.Lead == 0 {
		c.Lead = 2 * time.Millisecond
	}
	if c.Interface == "" {
		c.Interface = ep.iface
	}
	if s.clock = c.Clock; s.clock == nil {
		if s.clock, err = defaultClock(); err != nil {
			return nil, err
		}
	} else if s.clock.Source() == 0 {
		return nil, fmt.Errorf("st2110: dial %s: SendConfig.Clock %w", name, errZeroClock)
	}
	s.utc = int64(s.clock.UTCOffset())
	if ep.kind == kindPcap && c.Count == 0 {
		return nil, fmt.Errorf("st2110: dial %s: a capture is written as fast as it can be: set SendConfig.Count", name)
	}
	if c.Second != "" {
		if _, _, err := s.secondPath(sess); err != nil {
			return nil, err
		}
	}
	if c.Budget == nil {
		if c.Budget, err = video.NewBudget(video.DefaultMemory); err != nil {
			return nil, err
		}
	}
	c.Budget = c.Budget.Ledger()
	s.sess = video.Session{Name: sess.Name, Info: sess.Info, ID: sess.ID, Version: sess.Version, Origin: sess.Origin.Unmap(), Groups: sess.Groups}
	if s.sess.Name == "" {
		s.sess.Name = "nmgo st2110"
	}
	if s.sess.ID == 0 {
		s.sess.ID = uint64(time.Now().Unix()) + 2208988800 // NTP seconds, as RFC 4566 suggests
	}
	return s, nil
}

// newPattern makes a test pattern; tests replace it to see whether one
// was drawn.
var newPattern = video.NewPattern

// frameSources returns the frames of each flow: the configured sources,
// or one test pattern per format, charged to the Budget before it is made.
func (s *Sender) frameSources() ([]video.FrameSource, error) {
	fs, c := s.flows, &s.cfg
	out := make([]video.FrameSource, len(fs))
	patterns := map[video.Format]video.FrameSource{}
	for k := range fs {
		switch {
		case c.Sources != nil && c.Sources[k] != nil:
			out[k] = c.Sources[k]
		case c.Source != nil:
			out[k] = c.Source
		default:
			f := fs[k].Format
			p, ok := patterns[f]
			if !ok {
				if err := c.Budget.Charge(fmt.Sprintf("flow %d (%v): test pattern", k, f), video.PatternMemory(&f)); err != nil {
					return nil, fmt.Errorf("st2110: dial %s: %w", s.ep.name, err)
				}
				pat, err := newPattern(&f)
				if err != nil {
					return nil, fmt.Errorf("st2110: dial %s: flow %d: %w", s.ep.name, k, err)
				}
				p, patterns[f] = pat, pat
			}
			out[k] = p
		}
	}
	return out, nil
}

// ethInfo is the Ethernet and IP source of a netmap port's, an AF_XDP
// socket's or a capture's frames.
type ethInfo struct {
	srcMAC net.HardwareAddr
	nic    *net.Interface // the NIC of a netmap port or AF_XDP socket, if it is one here
}

// defaultMAC is the source MAC of frames from a port without one (a VALE
// port, a capture): locally administered, "nmgo".
var defaultMAC = net.HardwareAddr{0x02, 0x6e, 0x6d, 0x67, 0x6f, 0x01}

// ethernet finds the source MAC (and NIC) of a netmap port or an AF_XDP
// socket.
func (s *Sender) ethernet() (*ethInfo, error) {
	e := &ethInfo{srcMAC: s.cfg.SrcMAC}
	nic := ""
	switch s.ep.kind {
	case kindNetmap:
		if n, err := nmsys.ParseName(s.ep.port); err == nil && !strings.HasPrefix(n.Port, "vale") {
			nic = n.Port
		}
	case kindXDP:
		nic = s.ep.iface
	}
	if nic != "" {
		if ifi, err := net.InterfaceByName(nic); err == nil {
			e.nic = ifi
			if e.srcMAC == nil && len(ifi.HardwareAddr) == 6 {
				e.srcMAC = ifi.HardwareAddr
			}
		}
	}
	if e.srcMAC == nil {
		e.srcMAC = defaultMAC
	}
	if len(e.srcMAC) != 6 || s.cfg.DstMAC != nil && len(s.cfg.DstMAC) != 6 {
		return nil, fmt.Errorf("st2110: dial %s: SendConfig.SrcMAC %v and DstMAC %v: each must be 6 octets", s.ep.name, e.srcMAC, s.cfg.DstMAC)
	}
	return e, nil
}

// srcAddr picks the source address of flow k's frames (see SendConfig).
func (s *Sender) srcAddr(k int, e *ethInfo) (netip.Addr, error) {
	dst := s.flows[k].Dst.Addr()
	same := func(a netip.Addr) bool { return a.IsValid() && !a.IsUnspecified() && a.Is4() == dst.Is4() }
	for _, a := range []netip.Addr{s.cfg.SrcAddr.Addr().Unmap(), s.flows[k].Source, s.sess.Origin.Unmap()} {
		if same(a) {
			return a, nil
		}
	}
	if e.nic != nil {
		if addrs, err := e.nic.Addrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok && same(ip.Unmap()) {
						return ip.Unmap(), nil
					}
				}
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("st2110: dial %s: flow %d: no source address for %v (set SendConfig.SrcAddr, or the SDP's o= or a=source-filter)", s.ep.name, k, dst)
}

// build makes the Transmitter of each output (the flows dealt out in
// turn) and the session Sender.SDP describes.
func (s *Sender) build(conns []txConn, eth *ethInfo, sources []video.FrameSource) error {
	c := &s.cfg
	ssrc := c.SSRC
	if ssrc == 0 {
		ssrc = rand.Uint32()
	}
	parts := make([]*txPart, min(len(conns), len(s.flows)))
	for i := range parts {
		parts[i] = &txPart{q: conns[i]} // the rest, more rings than flows, are Dial's to close (dialOn)
	}
	streams := make([][]video.TxStream, len(parts))
	s.sess.Streams = make([]video.Stream, len(s.flows))
	var sockTTL int // the multicast TTL of a UDP sender's one socket
	if eth == nil {
		sockTTL, _ = socketTTLs(s.flows, c.TTL)
	}
	for k := range s.flows {
		f := s.flows[k]
		// A TROFF given (ST 2110-21 section 8.2, in microseconds) is the
		// TR offset the pacer reads on, in place of TRO_DEFAULT: the
		// session says it as given. CMAX describes a schedule too, but
		// the pacer keeps Cinst within the CMAX of the formula, so the
		// session must not claim a given one.
		if time.Duration(f.TROff) > maxTROff/time.Microsecond {
			return fmt.Errorf("st2110: dial %s: flow %d: TROFF %d µs: longer than %v", s.ep.name, k, f.TROff, maxTROff)
		}
		tro := time.Duration(f.TROff) * time.Microsecond
		f.CMax = 0
		i := k % len(parts)
		pc := c.PacketizerConfig(&f)
		pc.SSRC, pc.Seq = ssrc+uint32(k), rand.Uint32()
		ttl := f.TTL
		if ttl == 0 {
			ttl = c.TTL
		}
		if eth == nil && f.Dst.Addr().IsMulticast() {
			ttl = sockTTL
		}
		if eth != nil {
			tmpl, src, err := s.template(k, eth, ttl, pc.SSRC)
			if err != nil {
				return err
			}
			pc.Template = tmpl
			if f.Dst.Addr().IsMulticast() {
				f.Source = src
			}
			if !s.sess.Origin.IsValid() || s.sess.Origin.IsUnspecified() {
				s.sess.Origin = src
			}
		} else if f.Dst.Addr().IsMulticast() && s.sess.Origin.IsValid() && s.sess.Origin.Is4() == f.Dst.Addr().Is4() {
			f.Source = s.sess.Origin
		}
		// The clock reference, unless the session gave one (RFC 7273):
		// PTP-traceable for CLOCK_TAI and a PHC, else the sender's own
		// clock, by its MAC address where it has one.
		switch src := s.clock.Source(); {
		case f.RefClock != "":
		case src == ClockKernelTAI || src == ClockPHC:
			f.RefClock = "ptp=IEEE1588-2008:traceable"
		case eth != nil: // ClockUTCOffset: the sender's own clock
			f.RefClock = "localmac=" + strings.ToUpper(strings.ReplaceAll(eth.srcMAC.String(), ":", "-"))
		default:
			f.RefClock = "local" // RFC 7273 section 4.8: a free-running local clock
		}
		f.TTL = sdpTTL(f.Dst.Addr(), ttl, eth != nil)
		f.MediaClock = "direct=0"
		streams[i] = append(streams[i], video.TxStream{Format: f.Format, Packetizer: pc, TP: f.Sender,
			TROffset: tro, Pacing: c.Pacing, Frames: sources[k], Count: c.Count})
		parts[i].flows = append(parts[i].flows, k)
		s.sess.Streams[k] = f
	}
	for i, p := range parts {
		tx, err := video.NewTransmitter(&video.TransmitterConfig{Streams: streams[i], MaxRate: c.MaxRate / float64(len(parts)),
			Analyze: c.Analyze, MaxLag: c.MaxLag})
		if err != nil {
			return fmt.Errorf("st2110: dial %s: %w", s.ep.name, err)
		}
		if u, ok := p.q.(*udpTx); ok {
			u.bind(p.flows)
		}
		if m, ok := p.q.(interface{ BufSize() int }); ok {
			for j := range p.flows {
				if l := tx.Packetizer(j).MaxPacketLen(); l > m.BufSize() {
					return fmt.Errorf("st2110: dial %s: packets of %d octets do not fit the port's %d-octet buffers (MAXUDP %d needs larger buffers)",
						s.ep.name, l, m.BufSize(), s.flows[p.flows[j]].MaxUDP)
				}
			}
		}
		if pq, ok := p.q.(*pcapTx); ok {
			for j, k := range p.flows {
				l := tx.Packetizer(j).MaxPacketLen()
				if err := c.Budget.Charge(fmt.Sprintf("flow %d (%v): capture buffers of %d-octet packets", k, s.flows[k].Format, l), pq.growth(l)); err != nil {
					return fmt.Errorf("st2110: dial %s: %w", s.ep.name, err)
				}
				pq.grow(l)
			}
		}
		p.tx = tx
		p.stats = make([]video.TxStats, len(p.flows))
		for j, k := range p.flows {
			s.sess.Streams[k].Packing = tx.Packetizer(j).Packing()
		}
	}
	s.parts = parts
	return nil
}

// template makes the Ethernet, IP, UDP and RTP header of flow k's
// frames, and returns it with their source address.
func (s *Sender) template(k int, eth *ethInfo, ttl int, ssrc uint32) (*packet.Template, netip.Addr, error) {
	f := &s.flows[k]
	src, err := s.srcAddr(k, eth)
	if err != nil {
		return nil, src, err
	}
	dstMAC := s.cfg.DstMAC
	if dstMAC == nil {
		var ok bool
		if dstMAC, ok = MulticastMAC(f.Dst.Addr()); !ok {
			return nil, src, fmt.Errorf("st2110: dial %s: flow %d: unicast destination %v needs SendConfig.DstMAC (a netmap port or an AF_XDP socket does no ARP)", s.ep.name, k, f.Dst)
		}
	}
	sport := s.cfg.SrcAddr.Port()
	if sport == 0 {
		sport = f.Dst.Port()
	}
	tmpl, err := packet.NewTemplate(&packet.TemplateConfig{SrcMAC: eth.srcMAC, DstMAC: dstMAC,
		Src: netip.AddrPortFrom(src, sport), Dst: f.Dst, TTL: uint8(ttl),
		PayloadType: f.PayloadType, SSRC: ssrc, RFC4175: true})
	if err != nil {
		return nil, src, fmt.Errorf("st2110: dial %s: flow %d: %w", s.ep.name, k, err)
	}
	return tmpl, src, nil
}

// sdpTTL is the SDP's c= TTL of a flow to dst (IPv4 multicast only, and
// there required by RFC 4566): the one the packets get, ttl if set, else
// a template's default (eth) or a socket's.
func sdpTTL(dst netip.Addr, ttl int, eth bool) int {
	switch {
	case !dst.Is4() || !dst.IsMulticast():
		return 0
	case ttl != 0:
		return ttl
	case eth:
		return 64 // packet.TemplateConfig's default
	}
	return 1 // a socket's default multicast TTL
}

// Session returns the session the sender sends: the flows with their
// destinations, source, packing, sender type, TROFF if the session given
// to Dial had one, and clock reference. A flow with a TROFF is paced on
// it (video.TxStream.TROffset), one without from TRO_DEFAULT; a CMAX of
// the session given to Dial is not in it: the flows keep Cinst within the
// CMAX of ST 2110-21's formula.
func (s *Sender) Session() *video.Session {
	sess := s.sess
	sess.Streams = append([]video.Stream(nil), s.sess.Streams...)
	sess.Groups = append([]string(nil), s.sess.Groups...)
	return &sess
}

// SDP returns the session description of what the sender sends (ST
// 2110-20 and -10: fmtp with PM, TP and SSN, a=ts-refclk, a=mediaclk,
// a=source-filter for multicast), for receivers such as ffmpeg.
func (s *Sender) SDP() ([]byte, error) { return s.Session().Marshal() }

// Clock returns the clock that times the schedule.
func (s *Sender) Clock() *Clock { return s.clock }

// Run sends until every flow has sent SendConfig.Count frames (then it
// waits for the last packets to leave, and writes out a capture's
// buffer, whose failure is Run's error; in a sender of two paths that
// path stops alone, its error in PathStats(k, p).Err and Close's, and
// Run returns nil unless the other path failed too), ctx ends or
// [Sender.Close] is called (nil; a capture's buffer is written out, and
// its error returned, by Close; but while Run still waits for the
// reader of a capture that is a FIFO, before it has sent anything, an
// error that wraps ctx's, or context.Canceled for Close, and the
// capture is left as Dial found it), or sending fails (also when every read of a PHC
// ([ClockConfig.PHC]) fails for a second). It runs one goroutine per output of the
// transport: a netmap port with several TX rings sends flow k on ring k
// modulo their count. In a sender of two paths (SendConfig.Second) a
// path that fails stops alone, as a receiver's does: the other carries
// the flows on, at the same pace, and [Sender.PathStats] gives the
// failed path's error; a path stopped by an error of the network is
// tried again, with a backoff, and comes back when the network does (see
// the package documentation). Run ends with an error, naming both, only
// once an output has lost both paths for good; an output whose two paths
// are down, one at least to be tried again, keeps its schedule, its
// packets unsent, until one comes back or Run ends. Run may be called
// once; after Close it returns an error matching os.ErrClosed.
func (s *Sender) Run(ctx context.Context) error {
	s.runMu.Lock()
	switch {
	case s.closing:
		s.runMu.Unlock()
		return fmt.Errorf("st2110: send %s: Sender.Run after Close: %w", s.ep.name, os.ErrClosed)
	case s.running:
		s.runMu.Unlock()
		return fmt.Errorf("st2110: send %s: Sender.Run called twice", s.ep.name)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.running, s.runCancel, s.runDone = true, cancel, make(chan struct{})
	defer close(s.runDone)
	s.runMu.Unlock()
	// A capture is emptied now, not by Dial: what the caller does
	// between Dial and Run (write the SDP, start a profile) may fail, and
	// a Sender closed without Run leaves the file as Dial found it.
	for _, p := range s.parts {
		if err := commitConn(ctx, p.q); err != nil {
			return fmt.Errorf("st2110: send %s: %w", s.ep.name, err)
		}
	}
	errs := make(chan error, len(s.parts))
	for _, p := range s.parts {
		go func() {
			err := s.runPart(ctx, p)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range s.parts {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runPart is one output's send loop: Step on the clock (for a capture, a
// virtual clock that jumps to each due time), flush what was written,
// wait for room or for the next packet.
func (s *Sender) runPart(ctx context.Context, p *txPart) error {
	// A netmap or AF_XDP sender owns its thread and sleeps on it in
	// clock_nanosleep (threadSleeper).
	locked := s.ep.kind == kindNetmap || s.ep.kind == kindXDP
	sl := &p.sleep
	if locked {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		sl.start()
		defer sl.stop()
	}
	var rt threadPriority
	if prio := s.cfg.Priority; locked && prio > 0 {
		if err := rt.set(prio); err != nil {
			return fmt.Errorf("st2110: send %s: SendConfig.Priority %d: %w", s.ep.name, prio, err)
		}
		defer rt.restore()
		sl.keepP()
	}
	var y osthread.Yielder
	tx, q, batch := p.tx, p.q, s.cfg.Batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	start, err := s.now(ctx, timer)
	if err != nil {
		return s.clockErr(ctx, err)
	}
	if err := tx.Start(start, s.cfg.Lead); err != nil {
		return fmt.Errorf("st2110: %w", err)
	}
	defer s.publish(p)
	if in, ok := q.(interrupter); ok {
		stop := context.AfterFunc(ctx, in.interrupt)
		defer stop()
	}
	for ctx.Err() == nil && !tx.Done() {
		var now int64
		if !s.virt {
			if now, err = s.now(ctx, timer); err != nil {
				return s.clockErr(ctx, err)
			}
		} else {
			if now = tx.Next(); now == math.MaxInt64 {
				// Not done (the loop's condition), yet nothing is due
				// before the end of int64 nanoseconds: a schedule
				// that MaxRate stretched past it.
				return fmt.Errorf("st2110: send %s: the schedule runs past the end of int64 nanoseconds (year 2262) after %d frames of flow %d: SendConfig.MaxRate %v stretches it too far for SendConfig.Count %d",
					s.ep.name, tx.Stats(0).Frames, p.flows[0], s.cfg.MaxRate, s.cfg.Count)
			}
		}
		n, next, err := s.step(ctx, p, now)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				// Ended while a flush waited for room: Run's end
				// with its context, as anywhere else in the loop.
				break
			}
			return err
		}
		if locked && y.Due(uint64(n)*estFrame) {
			// The thread goes back to the runtime for the yield, with
			// the timer slack it had before start: 1 ns would stay with
			// whatever runs on it next and every process forked from
			// it. The goroutine may come back on another thread. At a
			// real-time priority the thread keeps it for the moment of
			// the yield (threadPriority), and follow moves it to the
			// thread the goroutine came back on.
			sl.stop()
			y.Yield()
			sl.start()
			if err := rt.follow(); err != nil {
				return fmt.Errorf("st2110: send %s: SendConfig.Priority %d: %w", s.ep.name, s.cfg.Priority, err)
			}
		}
		switch {
		case tx.Done():
		case s.virt || next == now || next < now && n == batch:
			// More is due: step again at once.
		case next < now:
			// Due but not written: the queue is full.
			if err := q.wait(ctx); err != nil {
				return fmt.Errorf("st2110: send %s: %w", s.ep.name, err)
			}
		default:
			// The wait is timed from the clock read again: the step and
			// its flush ran since now was read (on VALE the switch's
			// forwarding, about 10 µs a burst of 6 on a 1 GHz core),
			// and a wait for next-now put every burst that much late.
			// Both waits are relative (monotonic), and both cut at
			// maxSleep, after which the loop reads the clock again: a
			// sleep to an absolute CLOCK_REALTIME time would follow a
			// step of the system clock (or a change of the kernel's TAI
			// offset between two reads) past maxSleep and past ctx, and
			// a PHC that failed a read (Now gives 0) would make one wait
			// of decades (the loop's read then retries it: s.now).
			t := s.clock.Now()
			wait := sleepFor(next, t, s.cfg.Spin)
			cut := wait > maxSleep
			switch {
			case wait <= 0:
			case locked:
				// On its own thread, in clock_nanosleep: Go's timers
				// wake up to a millisecond late (over AF_XDP on a veth,
				// 3 % of the waits of 1080p59.94 a millisecond or more).
				sl.sleep(min(wait, maxSleep), t)
			default:
				timer.Reset(min(wait, maxSleep))
				select {
				case <-timer.C:
				case <-ctx.Done():
					timer.Stop()
				}
			}
			if s.cfg.Spin > 0 && !cut { // after a cut wait the loop comes round again first
				// The spin lasts no longer on the monotonic clock than
				// the wait it is the end of (at most Spin), with maxSleep
				// to spare for a PHC's rate: a step back of the TAI clock
				// while it spins cannot keep it spinning for the step.
				limit := min(time.Duration(next-t), s.cfg.Spin, math.MaxInt64-maxSleep) + maxSleep
				s.spun.Add(spinUntil(ctx, s.clock, next, limit))
			}
		}
	}
	if tx.Done() {
		q.drain()
		if f, ok := q.(finisher); ok {
			if err := f.finish(); err != nil {
				return fmt.Errorf("st2110: send %s: %w", s.ep.name, err)
			}
		}
	}
	return nil
}

// maxTROff bounds a flow's TROFF before it is converted to a duration;
// the timing model refuses one longer than two frame periods.
const maxTROff = time.Hour

// trOffset is a flow's SDP TROFF (microseconds, as sdpoker reads it) as
// the receive side's analysis takes it: zero (TRO_DEFAULT) when absent or
// beyond maxTROff.
func trOffset(troff int) time.Duration {
	if troff <= 0 || time.Duration(troff) > maxTROff/time.Microsecond {
		return 0
	}
	return time.Duration(troff) * time.Microsecond
}

// maxSleep is the longest a sender on its own thread sleeps before it
// looks at its context again.
const maxSleep = 10 * time.Millisecond

// maxClockFailure is how long the reads of a sender's or a receiver's
// clock (a PHC) may keep failing before Run, or the reader, gives up with
// the error.
const maxClockFailure = time.Second

// now reads the sender's clock. A read that fails (a PHC) is tried again
// every maxSleep, and after maxClockFailure of failures the error is
// returned: a sender never steps its schedule with a time that is not one
// (a PHC that fails gives 0), nor waits for a clock that is gone until its
// context ends. timer is Run's, stopped.
func (s *Sender) now(ctx context.Context, timer *time.Timer) (int64, error) {
	t, err := s.clock.now()
	if err == nil {
		return t, nil
	}
	failing := time.Now()
	for {
		timer.Reset(maxSleep)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return 0, ctx.Err()
		}
		if t, err = s.clock.now(); err == nil {
			return t, nil
		}
		if d := time.Since(failing); d >= maxClockFailure {
			return 0, s.clock.failedFor(d, err)
		}
	}
}

// clockErr is Run's error for err from now: none if ctx has ended (Run's
// end with its context).
func (s *Sender) clockErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	return fmt.Errorf("st2110: send %s: %w", s.ep.name, err)
}

// step writes the packets of part p due at now, hands them on and
// publishes the counts; it returns how many it wrote and when the next
// packet is due.
func (s *Sender) step(ctx context.Context, p *txPart, now int64) (int, int64, error) {
	if d, ok := p.q.(*dupTx); ok {
		d.now = now // the time its failed paths are tried again by
	}
	n, next, err := p.tx.Step(p.q, now, s.cfg.Batch)
	if err != nil {
		return n, next, fmt.Errorf("st2110: send %s: %w", s.ep.name, err)
	}
	if n > 0 {
		if err := p.q.flush(ctx); err != nil {
			return n, next, fmt.Errorf("st2110: send %s: %w", s.ep.name, err)
		}
		s.batches.Add(1)
		if now >= p.nextPub {
			s.publish(p)
			p.nextPub = now + publishEvery
		}
	}
	return n, next, nil
}

// publish copies a part's counts for Stats.
func (s *Sender) publish(p *txPart) {
	p.mu.Lock()
	for j := range p.flows {
		p.stats[j] = p.tx.Stats(j)
	}
	p.mu.Unlock()
}

// sleepFor returns how long to sleep before the TAI time next at t, the
// last spin of it left out: 0 if next is within spin of t or past.
// (next-t less spin would wrap for a spin near math.MaxInt64 and a next
// already past, and sleep a packet that is due.)
func sleepFor(next, t int64, spin time.Duration) time.Duration {
	return max(time.Duration(next-t), spin) - spin
}

// spinUntil spins on clock until the TAI time t, for at most limit on the
// monotonic clock, or until the end of ctx, and returns how long it spun
// on the monotonic clock (0 if t had come). A step of the TAI clock back
// while it spins (a PTP correction, a step of the system clock or of the
// kernel's TAI offset) would otherwise keep it spinning, and a core busy,
// for as long as the step was: an hour's step, an hour. Run's limit is the
// wait the spin ends (at most SendConfig.Spin) plus maxSleep, so a spin
// that reaches it is one the TAI clock moved under: Run reads the clock
// again and waits for t in cut sleeps. What it spun is counted on the
// monotonic clock too: as a TAI difference, a step back made it negative
// and a step forward made it the step. The monotonic clock is read at the
// start, every 64 reads of clock (with ctx) and at the end.
// A read of the clock that fails ends the spin (the sender's next read
// of it deals with the failure).
func spinUntil(ctx context.Context, clock *Clock, t int64, limit time.Duration) int64 {
	start := time.Now()
	now, err := clock.now()
	if err != nil || now >= t {
		return 0
	}
	for i := 0; now < t; i++ {
		if i%64 == 63 && (ctx.Err() != nil || time.Since(start) >= limit) {
			break
		}
		if now, err = clock.now(); err != nil {
			break
		}
	}
	return int64(time.Since(start))
}

// Batches returns how many batches of packets Run has handed on (ring
// syncs, sendmmsg calls, writes to a capture), over all outputs, as they
// happen: the packets sent over the batches is the mean batch.
func (s *Sender) Batches() uint64 { return s.batches.Load() }

// Spun returns how long Run has spun on the clock waiting for packets to
// fall due (SendConfig.Spin), over all outputs, as it happens: CPU time
// spent waiting rather than sending.
func (s *Sender) Spun() time.Duration { return time.Duration(s.spun.Load()) }

// Stats returns the counts of flow k, brought up to date every 100 ms
// while Run runs, and when it returns. It panics for k out of range, as
// the other methods taking a flow do but Analysis (ok false); the sender
// is left as it was.
func (s *Sender) Stats(k int) SendStats {
	p, j := s.part("Stats", k)
	p.mu.Lock()
	st := SendStats{TxStats: p.stats[j]}
	p.mu.Unlock()
	add := func(c *txCounts) {
		if c != nil {
			st.NoBufs, st.Refused, st.Filtered = st.NoBufs+c.noBufs.Load(), st.Refused+c.refused.Load(), st.Filtered+c.filtered.Load()
		}
	}
	if d, ok := p.q.(*dupTx); ok {
		add(d.a.counts())
		add(d.b.counts())
	} else {
		add(p.q.counts())
	}
	return st
}

// Analysis returns the ST 2110-21 analysis of the times flow k's packets
// were written; ok is false without SendConfig.Analyze, or for k out of
// range. Call it after Run has returned.
func (s *Sender) Analysis(k int) (video.Analysis, bool) {
	if uint(k) >= uint(len(s.flows)) {
		return video.Analysis{}, false
	}
	p, j := s.part("Analysis", k) // k in range: part does not panic
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx == nil { // closed (drop)
		return p.final[j].a, p.final[j].ok
	}
	return p.tx.Analysis(j)
}

// part returns the output flow k is sent on and its index there; it
// panics, naming method, for k out of range, before any lock is taken.
func (s *Sender) part(method string, k int) (*txPart, int) {
	checkFlow("Sender", method, k, len(s.flows))
	p := s.parts[k%len(s.parts)]
	return p, k / len(s.parts)
}

// Outputs returns how many outputs the sender sends on, each from its own
// goroutine: the TX rings of a netmap port opened per ring (as many as
// there are flows, at most), else 1.
func (s *Sender) Outputs() int { return len(s.parts) }

// Flows returns the flows the sender sends, as [Sender.Session] does.
func (s *Sender) Flows() []video.Stream { return s.Session().Streams }

// Close stops Run if it runs (and waits for it), lets the last packets
// leave, then closes the transport (a capture is flushed and closed: a
// write that fails there, after a Run that ctx or Close ended, is
// Close's error, as is a FIFO that did not take the rest without
// waiting: see the package documentation, "pcap:FILE"),
// both paths of a sender of two, a failed one too. Its error is the
// first of the outputs' close errors, a failed path's included: a
// capture that failed to write fails again to flush and close (its
// error returns), while a UDP socket or netmap port that failed closes
// cleanly. Since it waits for Run, which waits for the frame sources, a
// FrameSource's Frame must not call Close (it would wait for itself):
// cancel Run's context instead. Close gives back what Dial charged to
// SendConfig.Budget, and lets go of that memory (the test patterns, the
// sockets' and captures' buffers): Stats, PathStats and Analysis answer
// as they did when Run returned.
func (s *Sender) Close() error {
	s.runMu.Lock()
	s.closing = true
	cancel, done := s.runCancel, s.runDone
	s.runMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.closeOnce.Do(func() {
		for _, p := range s.parts {
			if err := p.q.close(); err != nil && s.closeErr == nil {
				s.closeErr = err
			}
			p.drop()
		}
		if s.cfg.Budget != nil { // nil in a zero Sender
			s.cfg.Budget.Unwind() // the patterns, the buffers of the sockets and captures
		}
	})
	return s.closeErr
}
