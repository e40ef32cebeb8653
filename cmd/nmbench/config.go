package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/xsk"
)

// config is a parsed command line.
type config struct {
	port      string        // -i
	port2     string        // a second -i: vtx and vrx's second path (ST 2022-7)
	mode      *mode         // -f
	lens      lengths       // -l
	count     uint64        // -n, 0 = forever
	batch     int           // -b
	rate      float64       // -R, packets per second, 0 = unlimited
	interval  time.Duration // -T
	duration  time.Duration // -t, 0 = until -n or a signal
	wait      time.Duration // -w: wait for the link after opening
	parallel  int           // -p: rings, one goroutine each
	linger    time.Duration // -linger: rx, rxseq and vrx over netmap or xdp, vrx over udp: the sleep after a partial batch
	busy      bool          // -busy: rx and rxseq over xdp never sleep
	xdpFrames int           // -xdp-frames: rx and rxseq over xdp: the UMEM's frames (0: xdpRxFrames)
	progress  bool          // live progress line (stdout is a terminal)
	srcMAC    net.HardwareAddr
	dstMAC    net.HardwareAddr
	dstMACSet bool         // -D given
	src, dst  endpoints    // -s, -d
	noTouch   bool         // -r: rubbish, as pkt-gen's -r
	json      bool         // -json
	quiet     bool         // -q: final summary only
	pcap      string       // -pcap FILE: rx and rxseq write what they receive
	cpuProf   string       // -cpuprofile FILE
	video     *videoConfig // -f vtx, vrx: the video flags (video.go)

	left    *budget            // set by run for rx -n with -p: the rings' shared count
	rtt     *rtts              // set by run for ping
	capture *packet.PcapWriter // set by run for -pcap
	vid     *videoRun          // set by run for vtx, vrx
}

// lengths is the frame-length plan of -l: one value, a list cycled in
// order, or a range A-B walked in a fixed pseudo-random order.
type lengths struct {
	list   []int
	lo, hi int
}

func (l lengths) max() int {
	if l.list != nil {
		m := 0
		for _, v := range l.list {
			m = max(m, v)
		}
		return m
	}
	return l.hi
}

func (l lengths) String() string {
	if l.list != nil {
		s := make([]string, len(l.list))
		for i, v := range l.list {
			s[i] = strconv.Itoa(v)
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("%d-%d", l.lo, l.hi)
}

const maxFrame = 65535

// minRate and maxRate bound -R: below one packet in about 17 minutes a
// rate is a mistake (and its period overflows a time.Duration near
// 1e-10), and a billion packets a second is beyond any port nmbench
// drives; Inf and NaN are refused too.
const (
	minRate = 1e-3
	maxRate = 1e9
)

func parseLengths(s string) (lengths, error) {
	num := func(t string) (int, error) {
		if t == "" { // -l 60-, -l 60, or -l "": not a length of ""
			return 0, fmt.Errorf("-l %q: a frame length is missing (want N, A-B or N,M,...)", s)
		}
		v, err := strconv.Atoi(t)
		if err != nil || v < packet.MinFrame || v > maxFrame {
			return 0, fmt.Errorf("-l %q: frame length %q must be a number in %d..%d", s, t, packet.MinFrame, maxFrame)
		}
		return v, nil
	}
	// A range A-B: a dash after the first character (one at the start is
	// a sign: -l -1 is the length -1, not a range from "") of a value
	// without commas (a list is split at those, -l 60,-1).
	dash := -1
	if len(s) > 1 && !strings.Contains(s, ",") {
		if i := strings.IndexByte(s[1:], '-'); i >= 0 {
			dash = i + 1
		}
	}
	if dash >= 0 {
		a, b := s[:dash], s[dash+1:]
		lo, err := num(a)
		if err != nil {
			return lengths{}, err
		}
		hi, err := num(b)
		if err != nil {
			return lengths{}, err
		}
		if lo > hi {
			return lengths{}, fmt.Errorf("-l %q: range is backwards", s)
		}
		return lengths{lo: lo, hi: hi}, nil
	}
	var l lengths
	for _, t := range strings.Split(s, ",") {
		v, err := num(t)
		if err != nil {
			return lengths{}, err
		}
		l.list = append(l.list, v)
	}
	return l, nil
}

// endpoints is an -s/-d value: IP[:PORT][-IP[:PORT]], a range of
// addresses and ports walked in order.
type endpoints struct {
	ip0, ip1     [4]byte
	port0, port1 uint16
}

func parseEndpoints(flagName, s string) (endpoints, error) {
	one := func(t string) ([4]byte, uint16, bool, error) {
		host, port, hasPort := strings.Cut(t, ":")
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is4() {
			return [4]byte{}, 0, false, fmt.Errorf("%s %q: %q is not an IPv4 address", flagName, s, host)
		}
		var p uint64
		if hasPort {
			p, err = strconv.ParseUint(port, 10, 16)
			if err != nil {
				return [4]byte{}, 0, false, fmt.Errorf("%s %q: port %q must be 0..65535", flagName, s, port)
			}
		}
		return a.As4(), uint16(p), hasPort, nil
	}
	first, last, isRange := strings.Cut(s, "-")
	ip0, p0, has0, err := one(first)
	if err != nil {
		return endpoints{}, err
	}
	if !has0 {
		p0 = 1234
	}
	e := endpoints{ip0: ip0, ip1: ip0, port0: p0, port1: p0}
	if isRange {
		ip1, p1, has1, err := one(last)
		if err != nil {
			return endpoints{}, err
		}
		if !has1 {
			p1 = p0
		}
		if ip4num(ip1) < ip4num(ip0) || p1 < p0 {
			return endpoints{}, fmt.Errorf("%s %q: range is backwards", flagName, s)
		}
		e.ip1, e.port1 = ip1, p1
	}
	return e, nil
}

func ip4num(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// parseFlags parses the command line. It returns flag.ErrHelp for -h.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("nmbench", flag.ContinueOnError)
	// The flag package would print its error and the whole usage; a bad
	// flag is one line from cli instead, and the usage is for -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	c := &config{video: &videoConfig{}}
	var fn, srcS, dstS, smacS, dmacS string
	var count int64
	fs.Var((*portFlag)(c), "i", "port: a netmap port (vale0:a, netmap:eth0, netmap:eth0-1, netmap:p{1, ...) or udp:HOST:PORT for kernel sockets (IPv4 HOST; rx and rxseq join a multicast HOST, on the interface of its route), or xdp:IFACE[-Q] for an AF_XDP socket on a queue; vtx and vrx also IPv6 (udp:[ADDR]:PORT), udp:HOST:PORT@IFACE, udp and udp:IFACE (the SDP's addresses; multicast groups joined), and pcap:FILE, a capture written or read; given twice to vtx or vrx, the two paths of ST 2022-7 seamless protection")
	fs.StringVar(&fn, "f", "rx", "function: "+strings.Join(modeNames(), ", "))
	lensF := &onceFlag{s: "60"}
	fs.Var(lensF, "l", "tx, txseq, ping: frame `length` in bytes without FCS: N, A-B (mixed sizes; pkt-gen's -l given twice) or a list N,M,...")
	fs.Int64Var(&count, "n", 0, "packets to send or receive (0: until -t or a signal); rxseq counts sequence numbers, a packet lost as one received, a frame without a number not at all, the first number and a jump of 65536 or more once a number less than 65536 after it or up to 8 before it follows (a stray frame is not the run's start, unless the next number lands within 65536 after it, a chance of 1 in 65536; -n 1 takes the first at once, a jump to -n's last number is taken at once, and a number past -n's last is a frame only); a receiver whose last packets are lost runs until -t or a signal")
	fs.IntVar(&c.batch, "b", 512, fmt.Sprintf("batch: slots per ring operation, not for ping (over udp:, datagrams per sendmmsg or recvmmsg, at most %d; vtx and vrx over udp: default st2110's, 64)", udpMaxBatch))
	fs.Float64Var(&c.rate, "R", 0, "tx, txseq, vtx: rate limit in packets per second (0: none); a sender that fell behind makes up at most one batch (-b)")
	c.interval = time.Second
	fs.Var((*millis)(&c.interval), "T", "report interval in `milliseconds` as pkt-gen's -T (500), or a duration with its unit (500ms, 2s); rxseq's lost in an interval report may be negative: a late packet, or a jump taken back, takes back loss an earlier interval counted")
	fs.Var((*seconds)(&c.duration), "t", "run for this long, in `seconds` or a duration, counted from the end of -w's wait (0: until -n or a signal); vrx: also the longest wait for a capture's header (-i pcap:FIFO); and the longest wait for the reader of an output that is a FIFO")
	fs.DurationVar(&c.linger, "linger", 0, "rx, rxseq and vrx over netmap or xdp, vrx over udp: after a pass that took packets but fewer than -b, sleep this long before the next, so that on a CPU shared with the sender the packets gather into batches instead of waking the receiver every few (adds up to that much latency; vrx: its arrival analysis then sees each linger's packets as a burst; at most 1ms; 0: look again at once, or sleep in poll(2) when the ring is empty)")
	fs.BoolVar(&c.busy, "busy", false, "rx and rxseq over xdp: never sleep: after an empty pass look at the ring again at once (no wait; a system call only to wake the driver when its fill ring asks, and once every 7 ms to see that the interface is still there), keeping the CPU busy as DPDK's poll-mode drivers do, so that no wake-up is paid when packets come (not with -linger)")
	fs.IntVar(&c.xdpFrames, "xdp-frames", 0, fmt.Sprintf("rx and rxseq over xdp: the UMEM's frames and the RX ring's slots, a power of two in %d..%d (default %d: deep, for a receiver that sleeps; fewer keep the frames the kernel copies into in the CPU's cache: DPDK's af_xdp driver rings 2048)", minXDPFrames, maxXDPFrames, xdpRxFrames))
	fs.IntVar(&c.parallel, "p", 1, "tx, rx on netmap: 1 registers the port as its name says (vale0:a, netmap:eth0: every ring; netmap:eth0-2: ring 2) and drives every ring it binds from one goroutine, as pkt-gen's -p 1; N > 1 binds rings 0..N-1, one registration and one goroutine each; the goroutines are locked to their OS threads")
	fs.Var((*seconds)(&c.wait), "w", "wait this long for the link after opening a NIC, before the run (and -t) starts (vrx receives, and reports, from the opening on, the wait included), in `seconds` as pkt-gen's -w (2) or a duration (500ms); default 2 for a NIC, 0 for VALE ports, pipes, udp:, pcap: and xdp:")
	fs.StringVar(&smacS, "S", "02:00:00:00:00:01", "source MAC of the frames tx, txseq, ping and vtx write (not over udp:, whose kernel sockets write the headers)")
	fs.StringVar(&dmacS, "D", "ff:ff:ff:ff:ff:ff", "destination MAC of the frames tx, txseq, ping and vtx write (not over udp:)")
	fs.StringVar(&srcS, "s", "10.0.0.1:1234", "source IP[:PORT][-IP[:PORT]] of the frames tx, txseq, ping and vtx write: a range is walked in order by tx, txseq and ping, vtx takes one IP[:PORT] (not over udp:)")
	fs.StringVar(&dstS, "d", "10.1.0.1:1234", "destination IP[:PORT][-IP[:PORT]], a range walked in order by tx, txseq and ping (vtx, vrx: one IP[:PORT], stream K on PORT+K; not over udp:, where -i udp:HOST:PORT is the destination)")
	fs.BoolVar(&c.noTouch, "r", false, "tx, ping: rubbish, as pkt-gen's -r: do not write the payload, not even once: frames carry whatever their buffers hold after the headers (headers are still written and patched)")
	var randSrc, randDst bool
	fs.BoolVar(&randSrc, "z", false, "pkt-gen's random source address and port: not supported (-s takes a range, walked in order)")
	fs.BoolVar(&randDst, "Z", false, "pkt-gen's random destination address and port: not supported (-d takes a range, walked in order)")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per report; the last has \"final\": true")
	fs.BoolVar(&c.quiet, "q", false, "print only the final summary")
	fs.StringVar(&c.pcap, "pcap", "", "rx, rxseq: also write the received frames to this pcap file (one ring, netmap ports)")
	fs.StringVar(&c.cpuProf, "cpuprofile", "", "write a CPU profile of the run (go tool pprof) to this file")
	addVideoFlags(fs, c.video)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "usage: nmbench -i PORT [-f tx|rx|txseq|rxseq|ping|pong] [options]\n"+
				"       nmbench -i PORT|udp:HOST:PORT|udp[:IFACE]|xdp:IFACE[-Q]|pcap:FILE -f vtx|vrx -fmt FMTP|-sdp FILE [options]\n\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, fmt.Errorf("%v (nmbench -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.port == "" {
		return nil, errors.New("-i PORT is required (for example -i vale0:a)")
	}
	if c.mode = modeOf(fn); c.mode == nil {
		return nil, fmt.Errorf("-f %q: function must be one of %s", fn, strings.Join(modeNames(), ", "))
	}
	switch {
	case isXDP(c.port):
		if _, _, err := xsk.ParseName(strings.TrimPrefix(c.port, xdpPrefix)); err != nil {
			return nil, fmt.Errorf("-i: %w", err)
		}
	case !isUDP(c.port) && !isPcap(c.port):
		if _, err := nmsys.ParseName(c.port); err != nil {
			return nil, fmt.Errorf("-i: %w", err)
		}
	}
	if err := checkPort2(c); err != nil {
		return nil, err
	}
	var err error
	if c.lens, err = parseLengths(lensF.s); err != nil {
		return nil, err
	}
	if err := checkLinger(c); err != nil {
		return nil, err
	}
	if c.parallel < 1 || c.parallel > 256 {
		return nil, fmt.Errorf("-p %d: must be in 1..256", c.parallel)
	}
	if c.parallel > 1 && !c.mode.parallel {
		return nil, fmt.Errorf("-p %d: only tx and rx run on several rings (as in pkt-gen)", c.parallel)
	}
	if c.parallel > 1 && (isUDP(c.port) || isXDP(c.port)) {
		return nil, errors.New("-p: the udp: and xdp: backends drive one socket (xdp:IFACE-Q names the queue)")
	}
	if c.pcap != "" && (!c.mode.capture || c.parallel > 1 || isUDP(c.port) || isXDP(c.port)) {
		return nil, errors.New("-pcap: only rx and rxseq on a netmap port with -p 1 write captures")
	}
	if count < 0 {
		return nil, fmt.Errorf("-n %d: count must be >= 0", count)
	}
	c.count = uint64(count)
	if c.batch < 1 || c.batch > 1<<16 {
		return nil, fmt.Errorf("-b %d: batch must be in 1..65536", c.batch)
	}
	if c.rate != 0 && !(c.rate >= minRate && c.rate <= maxRate) { // NaN fails both
		return nil, fmt.Errorf("-R %v: rate must be 0 (no limit) or in %g..%g packets per second", c.rate, minRate, maxRate)
	}
	if c.interval < 10*time.Millisecond {
		return nil, fmt.Errorf("-T %v: report interval must be at least 10ms", c.interval)
	}
	if c.duration < 0 {
		return nil, fmt.Errorf("-t %v: duration must be >= 0", c.duration)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, z := range []struct{ name, what, rng string }{{"z", "source", "-s"}, {"Z", "destination", "-d"}} {
		if set[z.name] {
			return nil, fmt.Errorf("-%s: random %s addresses and ports (pkt-gen's -%s) are not supported: %s takes a range, walked in order; a payload left unwritten (rubbish) is -r", z.name, z.what, z.name, z.rng)
		}
	}
	switch {
	case c.wait < 0:
		return nil, fmt.Errorf("-w %v: must be >= 0", c.wait)
	case set["w"]:
	case strings.HasPrefix(c.port, "vale") || strings.ContainsAny(c.port, "{}") || isUDP(c.port) || isPcap(c.port) || isXDP(c.port):
		c.wait = 0
	default:
		c.wait = 2 * time.Second // a NIC resets when it enters netmap mode
	}
	if c.srcMAC, err = parseMAC("-S", smacS); err != nil {
		return nil, err
	}
	if c.dstMAC, err = parseMAC("-D", dmacS); err != nil {
		return nil, err
	}
	c.dstMACSet = set["D"]
	if c.src, err = parseEndpoints("-s", srcS); err != nil {
		return nil, err
	}
	if c.dst, err = parseEndpoints("-d", dstS); err != nil {
		return nil, err
	}
	if err := c.mode.validate(c, set); err != nil {
		return nil, err
	}
	if err := checkBusy(c); err != nil { // after validate: a port the function does not take is named as such
		return nil, err
	}
	if err := checkFiles(c); err != nil { // after validate, which resolves vrx's streams (-out's files)
		return nil, err
	}
	return c, nil
}

// checkLinger refuses -linger where no receiver lingers: rx, rxseq and
// vrx over a netmap port or xdp:, and vrx over udp (st2110's UDP reader)
// do, for at most 1 ms (the P is held through the sleep: nmsys.MaxLinger,
// xsk.MaxLinger, st2110.MaxLinger). rx and rxseq over udp read with
// their own loop, which has no sleep that keeps its P (Go's timers sleep
// a millisecond at least), and a capture is read, not waited for, as
// st2110.Listen refuses it.
func checkLinger(c *config) error {
	switch {
	case c.linger == 0:
		return nil
	case c.linger < 0 || c.linger > st2110.MaxLinger:
		return fmt.Errorf("-linger %v: at most %v", c.linger, st2110.MaxLinger)
	case c.mode.name != "rx" && c.mode.name != "rxseq" && c.mode.name != "vrx":
		return fmt.Errorf("-linger %v: only for the receivers rx, rxseq and vrx", c.linger)
	case isPcap(c.port) || isPcap(c.port2):
		return fmt.Errorf("-linger %v: not with -i pcap:FILE: a capture is read, not waited for, so a linger has nothing to gather", c.linger)
	case isUDP(c.port) && c.mode.name != "vrx":
		return fmt.Errorf("-linger %v: -f %s over udp does not linger (vrx over udp does, and rx and rxseq over a netmap port or xdp:)", c.linger, c.mode.name)
	}
	return nil
}

// checkBusy refuses -busy and -xdp-frames where they would not apply:
// both are for rx and rxseq over xdp:, and -busy not with -linger, which
// sleeps. A netmap receiver does not busy-poll: on VALE a receiver that
// spins spares the sender its wake-ups and the switch then drops what
// does not fit (nmsys.Idler), and a socket over udp: blocks in recvmmsg.
func checkBusy(c *config) error {
	rx := c.mode.name == "rx" || c.mode.name == "rxseq"
	switch {
	case !c.busy:
	case !rx || !isXDP(c.port):
		return fmt.Errorf("-busy: only for rx and rxseq over an xdp: port")
	case c.linger != 0:
		return fmt.Errorf("-busy with -linger %v: a busy receiver never sleeps, a lingering one sleeps after a partial batch", c.linger)
	}
	switch n := c.xdpFrames; {
	case n == 0:
	case !rx || !isXDP(c.port):
		return fmt.Errorf("-xdp-frames %d: only for rx and rxseq over an xdp: port", n)
	case n < minXDPFrames || n > maxXDPFrames || n&(n-1) != 0:
		return fmt.Errorf("-xdp-frames %d: must be a power of two in %d..%d", n, minXDPFrames, maxXDPFrames)
	}
	return nil
}

// onceFlag is a string flag that may be given once: -l, which pkt-gen
// takes twice for random sizes between the two, where nmbench takes a
// range (-l A-B); the flag package would let the second silently win.
type onceFlag struct {
	s   string
	set bool
}

func (f *onceFlag) String() string {
	if f == nil {
		return ""
	}
	return f.s
}

func (f *onceFlag) Set(s string) error {
	if f.set {
		return errors.New("given twice: for frames of several sizes give -l A-B (pkt-gen's two -l) or a list (-l N,M,...)")
	}
	f.s, f.set = s, true
	return nil
}

// millis is a flag.Value for a time.Duration given as milliseconds, as
// pkt-gen's -T takes them (-T 500), or as a Go duration with its unit
// (500ms, 2s).
type millis time.Duration

func (d *millis) String() string { return time.Duration(*d).String() }

func (d *millis) Set(s string) error {
	return setDuration((*time.Duration)(d), s, time.Millisecond, "milliseconds", "500, as pkt-gen")
}

// seconds is a flag.Value for a time.Duration given as seconds, as pkt-gen
// takes them (-t 0.5, -w 2), or as a Go duration with its unit (500ms, 1m).
type seconds time.Duration

func (d *seconds) String() string { return time.Duration(*d).String() }

func (d *seconds) Set(s string) error {
	return setDuration((*time.Duration)(d), s, time.Second, "seconds", "2, 0.5")
}

// setDuration sets *d from s: a bare number of unit (called name, such as
// eg shows), or a Go duration with its unit.
func setDuration(d *time.Duration, s string, unit time.Duration, name, eg string) error {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		// The product is checked, not v against MaxInt64/unit: the
		// largest v under that bound rounds to 2^63 when multiplied,
		// which converts to a negative duration.
		ns := v * float64(unit)
		if !(math.Abs(ns) < 1<<63) { // NaN and Inf fail too
			return fmt.Errorf("not a number of %s", name)
		}
		*d = time.Duration(ns)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want %s (%s) or a duration with its unit (500ms, 2s)", name, eg)
	}
	*d = v
	return nil
}

func parseMAC(flagName, s string) (net.HardwareAddr, error) {
	m, err := net.ParseMAC(s)
	if err != nil || len(m) != 6 {
		return nil, fmt.Errorf("%s %q: not a 48-bit MAC address (like 02:00:00:00:00:01)", flagName, s)
	}
	return m, nil
}
