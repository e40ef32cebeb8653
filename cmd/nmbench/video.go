package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// The video functions, -f vtx and -f vrx, send and receive ST 2110-20
// flows through package st2110's Dial and Listen: on a netmap port
// (Ethernet frames to -d's address, or the SDP's), on kernel UDP sockets
// (udp:HOST:PORT, stream k on PORT+k, multicast groups joined; or udp and
// udp:IFACE, the SDP's addresses) or to and from a pcap file (pcap:FILE).
// nmbench adds the flags, the -in and -out files in the -pix layout, and
// the reports.

const pcapPrefix = "pcap:"

func isPcap(port string) bool { return strings.HasPrefix(port, pcapPrefix) }

// videoConfig holds the video flags and what they resolve to.
type videoConfig struct {
	fmtp    string        // -fmt
	sdp     string        // -sdp
	sdpOut  string        // -sdp-out
	in      string        // -in
	out     string        // -out
	pix     string        // -pix
	tp      string        // -tp
	frames  uint64        // -frames
	buffers int           // -frame-buffers
	nstream int           // -streams
	maxMem  byteSize      // -max-mem
	check   bool          // -selfcheck
	burst   int           // -burst
	maxRows int           // -max-rows: st2110.SendConfig.MaxRows (0: rows split into equal packets)
	rt      int           // -rt
	maxLag  time.Duration // -max-lag: st2110.SendConfig.MaxLag (-1: off, the default)
	pass    bool          // -passthrough
	window  time.Duration // -window
	spin    time.Duration // -spin (when set)
	spinSet bool

	streams   []video.Stream    // one per stream, Dst set where known
	pixFmt    video.PixelFormat // 0: pgroup
	dstSet    bool              // -d given
	budget    *video.Budget     // of -max-mem octets
	transport string            // the st2110 transport name of -i
	second    string            // ... of the second -i, if given
}

// addVideoFlags registers the video flags on fs.
func addVideoFlags(fs *flag.FlagSet, v *videoConfig) {
	fs.StringVar(&v.fmtp, "fmt", "", "vtx, vrx: the video format in SDP fmtp syntax, such as \"sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001\" (interlace, PM, TP, MAXUDP and the other keys allowed)")
	fs.StringVar(&v.sdp, "sdp", "", "vtx, vrx: read the format (and addresses) from this SDP file instead of -fmt; each m=video line is a stream")
	fs.StringVar(&v.sdpOut, "sdp-out", "", "vtx: write the SDP of the streams it sends to this file")
	fs.StringVar(&v.in, "in", "", "vtx: send the raw frames of this file (in the -pix layout), looped; default a moving test pattern")
	fs.StringVar(&v.out, "out", "", "vrx: write the received frames to this file, in the -pix layout (FILE.K for stream K when there are several)")
	fs.StringVar(&v.pix, "pix", "pgroup", "vtx, vrx: layout of -in and -out frames: pgroup (RFC 4175 wire layout, what ffmpeg -c:v copy and GStreamer's UYVP write) or an ffmpeg pix_fmt such as yuv422p10le")
	fs.StringVar(&v.tp, "tp", "", "vtx: ST 2110-21 sender type N, NL or W (default: TP of -fmt or -sdp, else N)")
	fs.Uint64Var(&v.frames, "frames", 0, "vtx: frames to send per stream; vrx: frames to receive per stream, then stop (0: until -t or a signal); a frame whose last packet (its marker) is lost completes when the next frame begins, so a vrx whose last frame lost its end waits until -t or a signal")
	fs.IntVar(&v.buffers, "frame-buffers", 0, fmt.Sprintf("vrx: frame buffers per stream (st2110.ListenConfig.FrameBuffers): a frame completed while vrx holds them all (writing -out) is dropped and counted (dropped_frames); 0 means st2110's default (4, fewer for a stream whose 4 frames and vrx's own do not fit -max-mem, as 4320p RGBA at 16 bits in 1 GiB), at most %d", st2110.MaxFrameBuffers))
	fs.IntVar(&v.nstream, "streams", 1, "vtx, vrx: number of streams (stream K on UDP port PORT+K), at most 1024")
	v.maxMem = video.DefaultMemory
	fs.Var(&v.maxMem, "max-mem", "vtx, vrx: memory the inputs may make nmbench allocate (frame buffers, test pattern, -in frames), in `octets` (k, M, G suffixes)")
	fs.IntVar(&v.burst, "burst", 1, "vtx: packets sent together at the time of the first (the ST 2110-21 pacer's Burst): fewer flushes and wake-ups; Cinst grows to about the burst, which a narrow sender keeps under CMAX (6 for 1080p59.94); a burst above -b goes out in writes of -b, one after the other at the burst's time: the same stream, with more flushes (pkt-gen has one knob for both: its -b is the packets per ring operation and, with -R, the burst sent at each tick)")
	fs.IntVar(&v.maxRows, "max-rows", 0, "vtx: pack rows back to back as GStreamer and FFmpeg do (a packet that ends a row goes on with the next), with at most `N` SRD headers (rows or parts of rows) a packet, as many as fit if fewer: above 3 many short rows share a packet (GStreamer's rule), which RFC 4175 allows and ST 2110-20 does not, although the SDP still says PM=2110GPM and SSN=ST2110-20:2017 (st2110.SendConfig.MaxRows); GPM only; 0: each row split into equal packets that never cross its end, as hardware senders do")
	fs.Var((*windowFlag)(&v.window), "window", "vrx with -i twice: the merge window, the path differential absorbed: A, B or C (ST 2022-7's classes: 10, 50, 450 ms) or a duration (default A)")
	fs.BoolVar(&v.pass, "passthrough", false, "vrx on a NIC (netmap:eth0): also bind its host rings and give the host stack every packet that is not a stream's, and the wire what the host stack sends (ARP, IGMP, PTP, ssh keep working)")
	fs.Func("spin", "vtx: how much of each wait for the next send time to spin on the clock instead of sleeping, as a `duration` (default 0 on a netmap port or xdp:, whose sender sleeps in clock_nanosleep with 1 ns timer slack; 2ms over UDP, whose sender sleeps on Go's timers, which wake up to a millisecond late); a spin takes the CPU from the receiver when they share it", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 0, 50us or 2ms, not %q", s)
		}
		v.spin, v.spinSet = d, true
		return nil
	})
	v.maxLag = -1
	fs.Func("max-lag", "vtx: how far behind its schedule a stream may fall (the sender descheduled, a queue stalled) before it gives up the frames it missed and resumes at the first frame not yet due, counted in the report (JSON skipped_tx_frames and resyncs, text skipped behind and resyncs): a `duration` such as 5ms, frame (one frame period, TFRAME: a field period when interlaced or PsF; st2110's default), or off (the default: every packet is sent, the late ones at once, so that a benchmark measures the work of every frame asked for)", func(s string) error {
		switch s {
		case "off":
			v.maxLag = -1
			return nil
		case "frame":
			v.maxLag = 0
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a duration above 0 such as 5ms, frame (one frame period) or off, not %q", s)
		}
		v.maxLag = d
		return nil
	})
	fs.IntVar(&v.rt, "rt", 0, "vtx over netmap or xdp: run the sender's thread under SCHED_FIFO at this real-time priority (1-99; needs root or CAP_SYS_NICE), so that at each burst's time it takes its CPU from a receiver or anything else sharing it; 0: the thread's own scheduling")
	fs.BoolVar(&v.check, "selfcheck", true, "vtx: analyse the times it writes its own packets against ST 2110-21 (the transmitter's self-check, in the final report); -selfcheck=false leaves that work out")
}

// checkVideo validates the flags of vtx and vrx against the rest of the
// command line and resolves the streams. set holds the flags given.
func checkVideo(c *config, set map[string]bool) error {
	v := c.video
	tx := c.mode.send
	if set["n"] {
		return fmt.Errorf("-n: -f %s counts frames: use -frames", c.mode.name)
	}
	if set["l"] {
		return fmt.Errorf("-l: -f %s sends what the format needs", c.mode.name)
	}
	if set["r"] {
		return fmt.Errorf("-r: -f %s writes the video, not rubbish", c.mode.name)
	}
	if err := checkUDPHeaders(c, set); err != nil {
		return err
	}
	// A slice, not a map: of several flags given, the one named is the
	// same each time.
	for _, f := range []struct {
		name string
		ok   bool
	}{{"sdp-out", tx}, {"in", tx}, {"tp", tx}, {"R", tx}, {"selfcheck", tx}, {"burst", tx}, {"max-rows", tx}, {"spin", tx}, {"rt", tx}, {"max-lag", tx}, {"s", tx}, {"S", tx}, {"D", tx}, {"out", !tx}, {"passthrough", !tx}, {"frame-buffers", !tx}} {
		if set[f.name] && !f.ok {
			return fmt.Errorf("-%s: not for -f %s", f.name, c.mode.name)
		}
	}
	for _, e := range []struct {
		name string
		v    *endpoints
	}{{"s", &c.src}, {"d", &c.dst}} {
		if v := e.v; set[e.name] && (v.ip0 != v.ip1 || v.port0 != v.port1) {
			// Only the range's first address and port would be used.
			return fmt.Errorf("-%s: -f %s takes one IP[:PORT] (stream K on PORT+K), not a range: ranges are walked by tx, txseq and ping", e.name, c.mode.name)
		}
	}
	if set["rt"] {
		switch {
		case v.rt < 1 || v.rt > 99:
			return fmt.Errorf("-rt %d: a SCHED_FIFO priority is 1 to 99", v.rt)
		case isUDP(c.port) || isPcap(c.port):
			return fmt.Errorf("-rt: only a sender over a netmap port or xdp: has a thread of its own to run at a real-time priority, not over %s", c.port)
		}
	}
	if set["max-lag"] && v.maxLag >= 0 && isPcap(c.port) && (c.port2 == "" || isPcap(c.port2)) {
		return fmt.Errorf("-max-lag: a capture (%s) is written without waiting and never falls behind", c.port)
	}
	if isUDP(c.port) && !set["b"] {
		// Over udp: a batch is a sendmmsg or recvmmsg of datagrams of up
		// to 9 kB, each socket's charged to -max-mem: st2110's default,
		// not the rings' 512, so that many streams fit by default.
		c.batch = 0
	}
	if (isUDP(c.port) || isUDP(c.port2)) && c.batch > st2110.MaxUDPBatch {
		// Refused by st2110 as SendConfig.Batch or ListenConfig.Batch
		// once the run starts: named here as the flag it is.
		return fmt.Errorf("-b %d: over udp: at most %d datagrams per sendmmsg or recvmmsg", c.batch, st2110.MaxUDPBatch)
	}
	if isPcap(c.port) && strings.TrimPrefix(c.port, pcapPrefix) == "" {
		return errors.New("-i pcap:FILE: no file name")
	}
	if tx && isPcap(c.port) && v.frames == 0 {
		return errors.New("-i pcap:FILE: vtx writes a capture as fast as it can; give -frames N")
	}
	if v.pass && (isPcap(c.port) || c.port == "udp" || strings.HasPrefix(c.port, "udp:")) {
		return fmt.Errorf("-passthrough: for a netmap NIC port (netmap:eth0), not %s", c.port)
	}
	if v.maxRows < 0 {
		return fmt.Errorf("-max-rows %d: must be >= 0 (0: rows split into equal packets)", v.maxRows)
	}
	if v.burst < 1 || v.burst > 256 {
		return fmt.Errorf("-burst %d: must be in 1..256", v.burst)
	}
	if v.buffers < 0 || v.buffers > st2110.MaxFrameBuffers {
		return fmt.Errorf("-frame-buffers %d: must be in 0..%d", v.buffers, st2110.MaxFrameBuffers)
	}
	if v.nstream < 1 || v.nstream > maxStreams {
		return fmt.Errorf("-streams %d: must be in 1..%d", v.nstream, maxStreams)
	}
	budget, err := video.NewBudget(int64(v.maxMem))
	if err != nil {
		return fmt.Errorf("-max-mem: %w", err)
	}
	v.budget = budget
	v.dstSet = set["d"]

	// The base streams: from the SDP, or one from -fmt.
	var base []video.Stream
	var sdpWrap error // -streams K of an SDP of one stream took its port past 65535
	switch {
	case v.fmtp != "" && v.sdp != "":
		return errors.New("-fmt and -sdp: give one")
	case v.fmtp != "":
		s, err := video.ParseFmtp(v.fmtp)
		if err != nil {
			return fmt.Errorf("-fmt %q: %w", v.fmtp, err)
		}
		s.PayloadType = 96
		base = []video.Stream{*s}
	case v.sdp != "":
		b, err := readCapped(v.sdp, video.MaxSDPSize)
		if err != nil {
			return fmt.Errorf("-sdp: %w", err)
		}
		sess, err := video.ParseSDP(b)
		if err != nil {
			return fmt.Errorf("-sdp %s: %w", v.sdp, err)
		}
		base = sess.Streams
	default:
		return fmt.Errorf("-f %s needs the video format: -fmt \"sampling=...; width=...; height=...; depth=...; exactframerate=...\" or -sdp FILE", c.mode.name)
	}
	switch {
	case len(base) == 1:
		if p := base[0].Dst.Port(); base[0].Dst.IsValid() && int(p)+v.nstream > 65536 {
			// An error only where the SDP's ports are used (not with
			// -i udp:HOST:PORT or -d, which give the streams theirs).
			sdpWrap = fmt.Errorf("-streams %d: %d streams do not fit above the SDP's port %d (stream K takes port+K)", v.nstream, v.nstream, p)
		}
		for k := range v.nstream {
			s := base[0]
			if s.Dst.IsValid() {
				s.Dst = netip.AddrPortFrom(s.Dst.Addr(), s.Dst.Port()+uint16(k))
			}
			v.streams = append(v.streams, s)
		}
	case set["streams"] && v.nstream != len(base):
		return fmt.Errorf("-streams %d: the SDP describes %d streams", v.nstream, len(base))
	default:
		v.streams, v.nstream = base, len(base)
	}
	if len(v.streams) > maxStreams { // ParseSDP's limit; the same for every source of streams
		return fmt.Errorf("-sdp %s: %d streams, at most %d", v.sdp, len(v.streams), maxStreams)
	}

	if v.tp != "" {
		tp, err := video.ParseSender(v.tp)
		if err != nil {
			return fmt.Errorf("-tp %q: want N, NL or W", v.tp)
		}
		for i := range v.streams {
			v.streams[i].Sender = tp
		}
	}
	for i := range v.streams {
		s := &v.streams[i]
		if s.Sender == 0 {
			s.Sender = video.SenderNarrow
		}
		if tx && s.Format.Rate.IsZero() {
			return fmt.Errorf("stream %d: vtx needs the frame rate (exactframerate)", i)
		}
		if s.PayloadType == 0 {
			s.PayloadType = 96
		}
		if v.maxRows != 0 && s.Packing == video.BPM {
			return fmt.Errorf("-max-rows %d: stream %d is block packed (PM=2110BPM): rows packed back to back are GPM", v.maxRows, i)
		}
	}

	if tx && v.burst > 1 {
		if err := checkBurst(v); err != nil {
			return err
		}
	}

	if v.pix != "pgroup" {
		p, err := video.ParsePixelFormat(v.pix)
		if err != nil {
			return fmt.Errorf("-pix %q: want pgroup or an ffmpeg pix_fmt (yuv422p10le, uyvy422, ...): %w", v.pix, err)
		}
		for i := range v.streams {
			if _, err := video.PlanarSize(&v.streams[i].Format, p); err != nil {
				return fmt.Errorf("-pix %s: stream %d: %w", v.pix, i, err)
			}
		}
		v.pixFmt = p
	}

	// Where the streams go: stream K of udp:HOST:PORT on PORT+K, udp and
	// udp:IFACE the SDP's addresses; on netmap ports, AF_XDP sockets and in
	// captures the SDP's addresses, unless -d gives them.
	v.transport = c.port
	switch {
	case isUDP(c.port):
		name, ap, err := videoUDP(c.port)
		if err != nil {
			return err
		}
		v.transport = name
		if !ap.IsValid() {
			if sdpWrap != nil {
				return sdpWrap
			}
			for k := range v.streams {
				if !v.streams[k].Dst.IsValid() || v.streams[k].Dst.Port() == 0 {
					return fmt.Errorf("-i %s: stream %d has no address and port: give -i udp:HOST:PORT, or -sdp with c= and m= lines", c.port, k)
				}
			}
			break
		}
		if int(ap.Port())+len(v.streams) > 65536 {
			return fmt.Errorf("-i %s: %d streams do not fit above port %d", c.port, len(v.streams), ap.Port())
		}
		for k := range v.streams {
			v.streams[k].Dst = netip.AddrPortFrom(ap.Addr(), ap.Port()+uint16(k))
		}
	case v.dstSet || tx:
		if sdpWrap != nil && !v.dstSet {
			return sdpWrap
		}
		for k := range v.streams {
			s := &v.streams[k]
			if v.dstSet || !s.Dst.IsValid() {
				if int(c.dst.port0)+k > 65535 {
					return fmt.Errorf("-d %v: %d streams do not fit above port %d (stream K takes port+K)",
						netip.AddrPortFrom(addr(c.dst.ip0), c.dst.port0), len(v.streams), c.dst.port0)
				}
				s.Dst = netip.AddrPortFrom(addr(c.dst.ip0), c.dst.port0+uint16(k))
			}
			if tx && !s.Dst.Addr().Is4() {
				return fmt.Errorf("stream %d: destination %v: vtx sends IPv4", k, s.Dst)
			}
		}
	case sdpWrap != nil:
		return sdpWrap
	}
	return checkSecond(c, set)
}

// checkBurst refuses a -burst above the CMAX of a stream, which the
// pacer would refuse when vtx dials: CMAX follows from the format, the
// packets of a frame (the stream's packing and MAXUDP) and the sender
// type, all known here. The refusal names the stream of the smallest CMAX,
// the most -burst may be. A stream whose packets or timing cannot be
// worked out is left for Dial to refuse.
func checkBurst(v *videoConfig) error {
	least, cmax, packets := -1, 0, 0
	sc := st2110.SendConfig{MaxRows: v.maxRows} // what st2110.Dial packs the streams with
	for i := range v.streams {
		s := &v.streams[i]
		p, err := video.NewPacketizer(&s.Format, sc.PacketizerConfig(s))
		if err != nil {
			continue
		}
		tm := video.Timing{Rate: s.Format.Rate, Scan: s.Format.Scan, Height: s.Format.Height, Packets: p.PacketsPerField()}
		par, err := tm.Params(s.Sender)
		if err != nil {
			continue
		}
		if least < 0 || par.CMax < cmax {
			least, cmax, packets = i, par.CMax, p.PacketsPerField()
		}
	}
	if least >= 0 && v.burst > cmax {
		s := &v.streams[least]
		return fmt.Errorf("-burst %d: above the CMAX %d of stream %d (%v, %d packets a frame, sender type %v): at most %d, as the pacer keeps Cinst within CMAX",
			v.burst, cmax, least, s.Format, packets, s.Sender, cmax)
	}
	return nil
}

// pixName is the -pix layout's name for reports.
func (v *videoConfig) pixName() string {
	if v.pixFmt == 0 {
		return "pgroup"
	}
	return v.pixFmt.String()
}

// frameBytes returns the octets of one frame of stream i in the -pix
// layout.
func (v *videoConfig) frameBytes(i int) int {
	f := &v.streams[i].Format
	if v.pixFmt == 0 {
		return f.FrameSize()
	}
	n, _ := video.PlanarSize(f, v.pixFmt)
	return n
}

// videoUDP reads -i udp:HOST:PORT[@IFACE], udp:IFACE or udp for vtx and
// vrx: the st2110 transport name it stands for (a host name resolved to
// its IPv4 address) and stream 0's destination, if it gives one.
func videoUDP(port string) (name string, dst netip.AddrPort, err error) {
	rest := strings.TrimPrefix(strings.TrimPrefix(port, "udp"), ":")
	var iface string
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest, iface = rest[:at], rest[at:]
	}
	if !strings.Contains(rest, ":") {
		return port, netip.AddrPort{}, nil // udp, udp:IFACE: st2110 reads it
	}
	if dst, err = netip.ParseAddrPort(rest); err != nil {
		a, rerr := net.ResolveUDPAddr("udp4", rest)
		if rerr != nil {
			return "", dst, fmt.Errorf("-i %s: want udp:HOST:PORT[@IFACE], udp:IFACE or udp: %v", port, rerr)
		}
		dst = a.AddrPort()
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if dst.Port() == 0 {
		return "", dst, fmt.Errorf("-i %s: port 0", port)
	}
	return "udp:" + dst.String() + iface, dst, nil
}
