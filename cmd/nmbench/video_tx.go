package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/video"
	"golang.org/x/net/ipv4"
)

// txSink is a video.TxQueue that nmbench drives: flush hands the published
// packets on (a TX sync, sendmmsg, nothing for a capture), wait blocks until
// a full queue has room, and bytes counts the frame octets written.
type txSink interface {
	video.TxQueue
	flush() error
	wait(ctx context.Context) error
	written() uint64
	close() error
}

// ssrcBase is the SSRC of stream 0; stream K has ssrcBase+K ("nm" and K).
const ssrcBase = 0x6e6d0000

// startLead is how far after the start the first frame's first packet may
// go at the earliest.
const startLead = 2 * time.Millisecond

// newTransmitter builds the Transmitter of a vtx run, with templates when
// the packets go out as Ethernet frames (netmap ports and captures).
func newTransmitter(cfg *config, frames []video.FrameSource) (*video.Transmitter, error) {
	v := cfg.video
	var streams []video.TxStream
	for k := range v.streams {
		s := &v.streams[k]
		pc := s.PacketizerConfig()
		pc.SSRC = ssrcBase + uint32(k)
		if !isUDP(cfg.port) {
			dstMAC := cfg.dstMAC
			if a := s.Dst.Addr().As4(); a[0] >= 224 && a[0] < 240 && dstMAC.String() == "ff:ff:ff:ff:ff:ff" {
				dstMAC = net.HardwareAddr{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]} // RFC 1112 mapping
			}
			tmpl, err := packet.NewTemplate(&packet.TemplateConfig{SrcMAC: cfg.srcMAC, DstMAC: dstMAC,
				Src: netip.AddrPortFrom(addr(cfg.src.ip0), cfg.src.port0), Dst: s.Dst,
				PayloadType: s.PayloadType, SSRC: pc.SSRC, RFC4175: true})
			if err != nil {
				return nil, fmt.Errorf("stream %d: %w", k, err)
			}
			pc.Template = tmpl
		}
		ts := video.TxStream{Format: s.Format, Packetizer: pc, TP: s.Sender, Frames: frames[k], Count: v.frames}
		if v.burst > 1 {
			ts.Pacing = &video.PacerConfig{Burst: v.burst}
		}
		streams = append(streams, ts)
	}
	return video.NewTransmitter(&video.TransmitterConfig{Streams: streams, MaxRate: cfg.rate, Analyze: v.check})
}

// frameSources returns the frames of each stream: -in, converted from the
// -pix layout, or a moving test pattern; streams of one format share.
func frameSources(v *videoConfig) ([]video.FrameSource, error) {
	var file []byte
	if v.in != "" {
		// The file is charged once read; what is left of the budget
		// bounds the read.
		var err error
		if file, err = readCapped(v.in, v.budget.Limit()-v.budget.Used()); err != nil {
			return nil, fmt.Errorf("-in: %w: over the memory budget (raise -max-mem)", err)
		}
		if err := v.charge("-in "+v.in, int64(len(file))); err != nil {
			return nil, err
		}
	}
	byFormat := map[video.Format]video.FrameSource{}
	var out []video.FrameSource
	for k := range v.streams {
		f := v.streams[k].Format
		src, ok := byFormat[f]
		if !ok {
			var err error
			if src, err = frameSource(v, k, file); err != nil {
				return nil, err
			}
			byFormat[f] = src
		}
		out = append(out, src)
	}
	return out, nil
}

func frameSource(v *videoConfig, k int, file []byte) (video.FrameSource, error) {
	f := &v.streams[k].Format
	if file == nil {
		if err := v.charge(fmt.Sprintf("stream %d (%v): test pattern", k, f), video.PatternMemory(f)); err != nil {
			return nil, err
		}
		return video.NewPattern(f)
	}
	size := v.frameBytes(k)
	if len(file) == 0 || len(file)%size != 0 {
		return nil, usage(fmt.Errorf("-in %s: %d octets are not whole frames of %v in the %s layout (%d octets each)",
			v.in, len(file), f, v.pixName(), size))
	}
	frames := file
	if v.pixFmt != 0 {
		n := len(file) / size
		if err := v.charge(fmt.Sprintf("stream %d (%v): %d frames from -in", k, f, n), int64(n)*int64(f.FrameSize())); err != nil {
			return nil, err
		}
		frames = make([]byte, n*f.FrameSize())
		for i := range n {
			if err := video.Pack(frames[i*f.FrameSize():(i+1)*f.FrameSize()], file[i*size:(i+1)*size], f, v.pixFmt); err != nil {
				return nil, fmt.Errorf("-in %s: frame %d: %w", v.in, i, err)
			}
		}
	}
	return video.NewFrameLoop(f, frames)
}

// writeSDP writes the SDP of the streams vtx sends to -sdp-out.
func writeSDP(cfg *config, tx *video.Transmitter) error {
	v := cfg.video
	sess := video.Session{Name: "nmbench vtx", ID: uint64(time.Now().Unix()) + 2208988800}
	var refclk string
	switch {
	case isUDP(cfg.port):
		sess.Origin = localIP(v.streams[0].Dst)
	default:
		sess.Origin = addr(cfg.src.ip0)
		refclk = "localmac=" + strings.ToUpper(strings.ReplaceAll(cfg.srcMAC.String(), ":", "-"))
	}
	for k := range v.streams {
		s := v.streams[k]
		s.Packing = tx.Packetizer(k).Packing()
		s.RefClock = refclk
		if s.Dst.Addr().IsMulticast() && sess.Origin.IsValid() {
			s.Source = sess.Origin
		}
		sess.Streams = append(sess.Streams, s)
	}
	b, err := sess.Marshal()
	if err != nil {
		return fmt.Errorf("-sdp-out: %w", err)
	}
	if err := os.WriteFile(v.sdpOut, b, 0o644); err != nil {
		return fmt.Errorf("-sdp-out: %w", err)
	}
	return nil
}

// runTx is the send loop of vtx: Step on the clock (the system clock as
// TAI, or for a capture a virtual one that jumps to each due time), flush
// what was written, wait for room or for the next packet.
//
// The wait for the next packet spins on the clock for the last spinWait of
// it: Go's timers wake a sleeping thread at millisecond granularity (the
// runtime's poller sleeps in whole milliseconds), which would send every
// stream in bursts of a millisecond's packets, far past the Cinst an ST
// 2110-21 narrow sender may reach (CMAX 6 for 1080p59.94). The time spent
// spinning is counted (spin_ns in the report), so that what vtx costs can
// be told from what it waited.
func (vr *videoRun) runTx(ctx context.Context, sink txSink, st *stats, virtual bool) error {
	tx := vr.tx
	batch := vr.cfg.batch
	if err := tx.Start(taiNow(), startLead); err != nil {
		return err
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var y osthread.Yielder
	var moved uint64
	for ctx.Err() == nil && !tx.Done() {
		if !virtual {
			y.Pass(moved)
		}
		moved = 0
		now := taiNow()
		if virtual {
			now = tx.Next()
		}
		before := sink.written()
		n, next, err := tx.Step(sink, now, batch)
		if err != nil {
			return fmt.Errorf("vtx: %w", err)
		}
		if n > 0 {
			if err := sink.flush(); err != nil {
				return err
			}
			moved = sink.written() - before
			st.packets.Add(uint64(n))
			st.bytes.Add(moved)
			st.batches.Add(1)
			vr.publishTx()
		}
		switch {
		case tx.Done():
		case virtual || next == now || next < now && n == batch:
			// More is due: step again at once.
		case next < now:
			// Due but not written: the queue is full.
			if err := sink.wait(ctx); err != nil {
				return err
			}
		default:
			if d := time.Duration(next - now); d > spinWait {
				timer.Reset(d - spinWait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					timer.Stop()
				}
			}
			vr.spinUntil(ctx, next)
		}
	}
	return nil
}

// spinWait is how much of a wait for the next packet vtx spins on the
// clock: twice the granularity of Go's timers, so that a timer for the
// rest never fires late.
const spinWait = 2 * time.Millisecond

// spinUntil spins until the TAI time t or the end of ctx, and counts the
// time spent.
func (vr *videoRun) spinUntil(ctx context.Context, t int64) {
	start := taiNow()
	now := start
	for i := 0; now < t; i++ {
		if i%64 == 63 && ctx.Err() != nil {
			break
		}
		now = taiNow()
	}
	vr.spun.Add(now - start)
}

// ringSink sends through the first TX ring of a netmap port.
type ringSink struct {
	*rings.TxRing
	port  *nmsys.Port
	bytes uint64
}

func (r *ringSink) SetLen(i, n int) {
	r.bytes += uint64(n)
	r.TxRing.SetLen(i, n)
}
func (r *ringSink) flush() error    { return r.port.TxSync() }
func (r *ringSink) written() uint64 { return r.bytes }
func (r *ringSink) wait(ctx context.Context) error {
	if err := waitErr(ctx, r.port.WaitTx()); err != nil && err != errStop {
		return err
	}
	return nil
}

// close lets the last packets leave before the port closes.
func (r *ringSink) close() error { return drainTx(r.port, r.TxRing) }

// udpSink sends each stream's RTP packets to its address through one UDP
// socket, a batch per sendmmsg.
type udpSink struct {
	conn  *net.UDPConn
	pc    *ipv4.PacketConn
	msgs  []ipv4.Message
	bufs  [][]byte
	addrs []*net.UDPAddr
	n     int
	bytes uint64

	skipped stats // sends refused or without buffer space, tried again
}

func newUDPSink(v *videoConfig, batch, maxLen int) (*udpSink, error) {
	c, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return nil, fmt.Errorf("udp: %w", err)
	}
	_ = c.SetWriteBuffer(4 << 20)
	s := &udpSink{conn: c, pc: ipv4.NewPacketConn(c), msgs: make([]ipv4.Message, min(batch, 1024))}
	s.bufs = make([][]byte, len(s.msgs))
	for i := range s.msgs {
		s.bufs[i] = make([]byte, maxLen)
		s.msgs[i].Buffers = [][]byte{s.bufs[i]}
	}
	for k := range v.streams {
		s.addrs = append(s.addrs, net.UDPAddrFromAddrPort(v.streams[k].Dst))
	}
	return s, nil
}

func (s *udpSink) Reserve(n int) (int, error) { return min(n, len(s.msgs)), nil }
func (s *udpSink) Buf(i int) []byte           { return s.bufs[i] }
func (s *udpSink) SetLen(i, n int) {
	s.msgs[i].Buffers[0] = s.bufs[i][:n]
	s.bytes += uint64(n + packet.UDPHdrLen) // counted as Ethernet frames, as the udp: backend does
}
func (s *udpSink) Stamp(i, stream int, _ int64) { s.msgs[i].Addr = s.addrs[stream] }
func (s *udpSink) Publish(n int)                { s.n = n }
func (s *udpSink) written() uint64              { return s.bytes }
func (s *udpSink) wait(context.Context) error   { return nil }
func (s *udpSink) close() error                 { return s.conn.Close() }

func (s *udpSink) flush() error {
	for sent := 0; sent < s.n; {
		k, err := s.pc.WriteBatch(s.msgs[sent:s.n], 0)
		if err != nil {
			if skipSendErr(err, &s.skipped) { // the packet goes again
				continue
			}
			return sendErr(s.msgs[sent].Addr, err)
		}
		sent += k
	}
	s.n = 0
	return nil
}

// pcapSink writes the packets to a capture, each stamped with its
// scheduled send time (on the system clock, UTC, as tcpdump would).
type pcapSink struct {
	f     *os.File
	bw    *bufio.Writer
	w     *packet.PcapWriter
	bufs  [][]byte
	lens  []int
	at    []int64
	bytes uint64
	err   error
}

func newPcapSink(name string, batch, maxLen int) (*pcapSink, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("-i pcap: %w", err)
	}
	s := &pcapSink{f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	if s.w, err = packet.NewPcapWriter(s.bw, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("-i pcap: %w", err)
	}
	n := min(batch, 1024)
	s.bufs, s.lens, s.at = make([][]byte, n), make([]int, n), make([]int64, n)
	for i := range s.bufs {
		s.bufs[i] = make([]byte, maxLen)
	}
	return s, nil
}

func (s *pcapSink) Reserve(n int) (int, error) { return min(n, len(s.bufs)), nil }
func (s *pcapSink) Buf(i int) []byte           { return s.bufs[i] }
func (s *pcapSink) SetLen(i, n int)            { s.lens[i] = n; s.bytes += uint64(n) }
func (s *pcapSink) Stamp(i, _ int, at int64)   { s.at[i] = at - int64(utcToTAI) }
func (s *pcapSink) written() uint64            { return s.bytes }
func (s *pcapSink) wait(context.Context) error { return nil }
func (s *pcapSink) flush() error               { return s.err }
func (s *pcapSink) Publish(n int) {
	for i := 0; i < n && s.err == nil; i++ {
		s.err = s.w.WritePacket(time.Unix(0, s.at[i]), s.bufs[i][:s.lens[i]])
	}
}

func (s *pcapSink) close() error {
	err := s.bw.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-i pcap: %w", err)
	}
	return s.err
}
