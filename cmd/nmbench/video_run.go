package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// videoRun is one vtx or vrx run: its st2110 Sender or Receiver, what
// nmbench adds to it (the -in frames, the -out files), and what the
// reporter reads.
type videoRun struct {
	cfg *config
	tx  *st2110.Sender
	rx  *st2110.Receiver

	ppf     []int           // vtx: packets per field (frame) of each stream
	writers []*frameWriter  // vrx -out, per stream (nil entries without -out)
	taken   []atomic.Uint64 // vrx: frames taken of each stream, at most -frames
	frames  atomic.Uint64   // vrx: frames taken of all streams
	closers []func() error

	work func(context.Context, *stats) error
}

// ssrcBase is the SSRC of stream 0; stream K has ssrcBase+K ("nm" and K).
const ssrcBase = 0x6e6d0000

// spinWait is how much of a wait for the next packet vtx spins on the
// clock (st2110.SendConfig.Spin) over UDP unless -spin says otherwise:
// twice the granularity of Go's timers, so that a timer for the rest
// never fires late and every packet leaves at its time, not in the
// bursts of a millisecond's packets that would take a narrow sender past
// its CMAX. On a netmap port or xdp: the sender sleeps on its own thread
// to the microsecond and spins not at all: on a CPU it shares with the
// receiver a spin is time the receiver does not get. The time spent spinning is
// counted (spin_ns in the report), so that what vtx costs can be told
// from what it waited.
const spinWait = 2 * time.Millisecond

// openVideo opens what a vtx or vrx run needs; the run's closing function
// closes it.
func openVideo(ctx context.Context, cfg *config) (work, func() error, error) {
	vr := &videoRun{cfg: cfg}
	var err error
	if cfg.mode.send {
		err = vr.openTx(ctx)
	} else {
		err = vr.openRx(ctx)
	}
	if err != nil {
		vr.close()
		return nil, nil, err
	}
	cfg.vid = vr
	return vr.work, vr.close, nil
}

// close releases what openVideo opened, in reverse order.
func (vr *videoRun) close() error {
	var first error
	for i := len(vr.closers) - 1; i >= 0; i-- {
		if err := vr.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	vr.closers = nil
	return first
}

// session is the session of the streams, for Dial and Listen.
func (vr *videoRun) session() *video.Session {
	return &video.Session{Name: "nmbench " + vr.cfg.mode.name, Streams: vr.cfg.video.streams}
}

// openTx dials the streams with the frames of -in (or Dial's test pattern)
// and writes -sdp-out, which it opens first: a path that cannot be
// written fails before Dial. A capture (-i pcap:FILE) is emptied by the
// Sender's Run, not by Dial: an -sdp-out whose write fails after Dial
// leaves it as it was too.
func (vr *videoRun) openTx(ctx context.Context) (err error) {
	cfg, v := vr.cfg, vr.cfg.video
	var sdp *outputFile
	if v.sdpOut != "" {
		if sdp, err = openOutput(v.sdpOut); err != nil {
			return fmt.Errorf("-sdp-out: %w", err)
		}
		defer func() {
			if sdp != nil { // not written: the run did not open
				sdp.Abandon()
			}
		}()
	}
	// Without -in, Sources stays nil and Dial draws the test pattern
	// (video.NewPattern of each format, as -in's absence always meant)
	// after it has opened the transport, charged to -max-mem: a missing
	// interface or port fails before any is drawn.
	var frames []video.FrameSource
	if v.in != "" {
		if frames, err = frameSources(v); err != nil {
			return err
		}
	}
	sc := vr.sendConfig(frames)
	tx, err := st2110.Dial(v.transport, vr.session(), sc)
	if err != nil {
		return openErr(cfg, err)
	}
	vr.tx = tx
	vr.closers = append(vr.closers, tx.Close)
	waitLink(ctx, cfg.wait)
	for _, f := range tx.Flows() {
		p, err := video.NewPacketizer(&f.Format, sc.PacketizerConfig(&f))
		if err != nil {
			return err
		}
		vr.ppf = append(vr.ppf, p.PacketsPerField())
	}
	if sdp != nil {
		f := sdp
		sdp = nil
		b, err := tx.SDP()
		if err == nil {
			err = beginOutput(ctx, cfg, f)
		}
		if err == nil {
			_, err = f.Write(b)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("-sdp-out: %w", err)
		}
	}
	vr.work = func(ctx context.Context, _ *stats) error { return tx.Run(ctx) }
	return nil
}

// sendConfig is the configuration openTx dials the streams with, frames
// their sources: from the flags.
func (vr *videoRun) sendConfig(frames []video.FrameSource) *st2110.SendConfig {
	cfg, v := vr.cfg, vr.cfg.video
	sc := &st2110.SendConfig{Sources: frames, Budget: v.budget, Count: v.frames, MaxRate: cfg.rate, Batch: cfg.batch,
		SSRC: ssrcBase, Analyze: v.check, Spin: v.spin, Second: v.second, Priority: v.rt,
		// -max-lag; by default (-1) a benchmark sends every packet, the
		// late ones at once (counted as late): what it measures stays the
		// work of the frames asked for.
		MaxLag: v.maxLag, MaxRows: v.maxRows}
	if !v.spinSet && isUDP(cfg.port) {
		sc.Spin = spinWait
	}
	if v.burst > 1 {
		sc.Pacing = &video.PacerConfig{Burst: v.burst}
	}
	if !isUDP(cfg.port) || cfg.port2 != "" && !isUDP(cfg.port2) {
		// Ethernet frames: from -S and -s; to -D, or to each group's
		// multicast address unless -D is given (pkt-gen's broadcast
		// default is for unicast).
		sc.SrcMAC, sc.SrcAddr = cfg.srcMAC, netip.AddrPortFrom(addr(cfg.src.ip0), cfg.src.port0)
		for _, s := range v.streams {
			if cfg.dstMACSet || !s.Dst.Addr().IsMulticast() {
				sc.DstMAC = cfg.dstMAC
			}
		}
	}
	return sc
}

// openRx opens the -out files and starts listening. The files are opened
// before the receiver, so that a path that cannot be written fails the
// run before it waits for a capture, and emptied only once the receiver
// has opened: a run that fails before (a missing capture, an interrupted
// wait) leaves an existing file as it was and removes one it made.
func (vr *videoRun) openRx(ctx context.Context) (err error) {
	cfg, v := vr.cfg, vr.cfg.video
	vr.writers = make([]*frameWriter, len(v.streams))
	vr.taken = make([]atomic.Uint64, len(v.streams))
	var outs []*outputFile
	defer func() {
		for _, o := range outs { // not begun: the run did not open
			o.Abandon()
		}
	}()
	if v.out != "" {
		for k := range v.streams {
			o, err := openOutput(outName(v.out, k, len(v.streams)))
			if err != nil {
				return fmt.Errorf("-out: %w", err)
			}
			outs = append(outs, o)
			w := &frameWriter{pix: v.pixFmt, fmt: &v.streams[k].Format} // its file once begun
			if v.pixFmt != 0 {
				if err := v.charge(fmt.Sprintf("stream %d (%v): -pix %s buffer", k, w.fmt, v.pixName()), int64(v.frameBytes(k))); err != nil {
					return err
				}
				w.conv = make([]byte, v.frameBytes(k))
			}
			vr.writers[k] = w
		}
	}
	lc := &st2110.ListenConfig{Budget: v.budget, Batch: cfg.batch, Passthrough: v.pass, Second: v.second, MergeWindow: v.window, Linger: cfg.linger}
	lc.FrameBuffers = v.buffers
	if isXDP(cfg.port) {
		// A UMEM of 64 MiB: 125 ms of a 1080p59.94 flow for a receiver
		// kept from its CPU, as nmbench rx's rings are large too.
		lc.ReadBuffer = 64 << 20
	}
	rx, err := listen(ctx, cfg, v.transport, vr.session(), lc)
	if err != nil {
		return openErr(cfg, err)
	}
	// Every FIFO's reader is waited for, within one -t, before any file
	// is emptied: a FIFO given up on leaves the other files as they were.
	if err := beginOutputs(ctx, cfg, outs...); err != nil {
		rx.Close()
		return fmt.Errorf("-out: %w", err)
	}
	for k, o := range outs {
		vr.writers[k].f = o
		cutAtEnd(ctx, o)
	}
	for _, o := range outs {
		vr.closers = append(vr.closers, o.Close)
	}
	outs = nil
	vr.rx = rx
	vr.closers = append(vr.closers, rx.Close)
	waitLink(ctx, cfg.wait)
	vr.work = vr.runRx
	return nil
}

// listen calls st2110.Listen and, for a capture (either -i),
// listenCapture, which gives up when ctx ends (a signal) or -t passes: a
// capture that is a FIFO with no writer, or a writer that writes
// nothing, keeps Listen waiting in its open or in its read of the file
// header. Its error then says which ended the wait.
func listen(ctx context.Context, cfg *config, name string, sess *video.Session, lc *st2110.ListenConfig) (*st2110.Receiver, error) {
	if !isPcap(cfg.port) && !isPcap(cfg.port2) {
		return st2110.Listen(name, sess, lc)
	}
	parent := ctx
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	rx, err := listenCapture(ctx, name, sess, lc)
	if err == nil || ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
		return rx, err
	}
	if parent.Err() == nil { // -t passed
		return nil, fmt.Errorf("-i %s: no capture header within -t %v", waitedCapture(cfg, err), cfg.duration)
	}
	return nil, fmt.Errorf("-i %s: interrupted while waiting for its capture header", waitedCapture(cfg, err))
}

// abandonListen runs listen in a goroutine and returns what it returns,
// or, if ctx ends first, gives up on it: listen goes on in its goroutine,
// abandoned (vrx is about to exit), and a Receiver it still gets is
// closed; the error then wraps ctx.Err(). For a listen that ctx may not
// end (listenCapture outside Linux).
func abandonListen(ctx context.Context, name string, sess *video.Session, lc *st2110.ListenConfig,
	listen func(context.Context, string, *video.Session, *st2110.ListenConfig) (*st2110.Receiver, error)) (*st2110.Receiver, error) {
	type listened struct {
		rx  *st2110.Receiver
		err error
	}
	c := make(chan listened, 1)
	go func() {
		rx, err := listen(ctx, name, sess, lc)
		c <- listened{rx, err}
	}()
	select {
	case l := <-c:
		return l.rx, l.err
	case <-ctx.Done():
		go func() {
			if l := <-c; l.rx != nil {
				l.rx.Close()
			}
		}()
		return nil, fmt.Errorf("st2110: listen %s: %w", name, ctx.Err())
	}
}

// waitedCapture names the capture among -i's whose header Listen was
// waiting for when it was given up on with err. On Linux the name is
// exact: ListenContext's error names the capture ("listen pcap:X:
// waiting for the capture's header: ...", "second path pcap:X: waiting
// ..."), as its context ends the wait for a FIFO's writer and for the
// header. Elsewhere it is a guess: listenCapture is abandonListen, whose
// own error, which names no capture, wins when the context ends (and a
// Listen abandoned in the open of a FIFO has no other). So does an error
// that names none on Linux (the context done before anything was
// opened). The guess is the first capture that is not a regular file (a
// FIFO, a shell's pipe, a device), as a regular file's header is read at
// once; else the first capture.
func waitedCapture(cfg *config, err error) string {
	for _, p := range []string{cfg.port, cfg.port2} {
		if isPcap(p) && strings.Contains(err.Error(), " "+p+": waiting for the capture's header: ") {
			return p
		}
	}
	var first string
	for _, p := range []string{cfg.port, cfg.port2} {
		if !isPcap(p) {
			continue
		}
		if first == "" {
			first = p
		}
		if fi, err := os.Stat(strings.TrimPrefix(p, pcapPrefix)); err != nil || !fi.Mode().IsRegular() {
			return p
		}
	}
	return first
}

// runRx takes the frames as they come, each stream's up to -frames, into
// -out, until every stream has its frames, ctx ends (-t, a signal), or
// the input ends (a capture) or fails. It then stops the receiver, whose
// counts are final after.
//
// A frame the receiver dropped because vrx held every buffer of its
// stream (dropped_frames) counts toward -frames: it will not come again,
// and a vrx waiting for it waited until -t or a signal (forever without),
// its report never written. Which frames are a stream's first -frames is
// judged by each frame's own counts (Frame.Stats.Dropped: the drops before
// it was handed over), not by the counts of the moment, which may already
// hold drops of later frames while it waited in the queue. A drop counted
// after the stream's last frame was handed over, when no frame comes to
// wake the loop, is seen by a watcher that looks every dropWatch; the
// frames still queued then are taken before the run ends.
func (vr *videoRun) runRx(ctx context.Context, _ *stats) error {
	want := vr.cfg.video.frames
	if want == 0 {
		_, err := vr.takeFrames(ctx, 0, nil)
		return vr.endRx(err)
	}
	// dropped[k]: stream k's drops before its last frame handed over.
	dropped := make([]uint64, len(vr.taken))
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		t := time.NewTicker(dropWatch)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				if vr.received(want, nil) {
					stop()
					return
				}
			}
		}
	}()
	done, err := vr.takeFrames(wctx, want, dropped)
	if !done && err == nil && ctx.Err() == nil {
		// The watcher saw every stream's frames taken or dropped: take
		// what was queued before the drops that completed them.
		dctx, cancel := context.WithTimeout(ctx, drainWait)
		_, err = vr.takeFrames(dctx, want, dropped)
		cancel()
	}
	return vr.endRx(err)
}

// takeFrames takes frames until ctx ends, the input ends or fails (err),
// or (want > 0) every stream has want frames taken or dropped before its
// last frame (done).
func (vr *videoRun) takeFrames(ctx context.Context, want uint64, dropped []uint64) (done bool, err error) {
	for f, ferr := range vr.rx.Frames(ctx) {
		if ferr != nil {
			return false, ferr
		}
		k := f.Flow
		if want > 0 {
			dropped[k] = f.Stats.Dropped
			if vr.taken[k].Load()+dropped[k] >= want {
				continue // after the stream's first want frames
			}
		}
		vr.writers[k].write(f.Data)
		if w := vr.writers[k]; w != nil && w.err != nil {
			// A FIFO whose reader went away (EPIPE), a full disk: what
			// follows would not be written either.
			return false, fmt.Errorf("-out: %w", outErr(w.err))
		}
		vr.taken[k].Add(1)
		vr.frames.Add(1)
		if want > 0 && vr.received(want, dropped) {
			return true, nil
		}
	}
	return false, nil
}

// endRx stops the receiver and returns the run's error.
func (vr *videoRun) endRx(err error) error {
	vr.rx.Close()
	if err != nil {
		return vr.readErr(err)
	}
	return vr.writeErr()
}

// dropWatch is how often runRx's watcher looks for a dropped last frame.
const dropWatch = 20 * time.Millisecond

// drainWait bounds runRx's wait for frames still queued once the watcher
// has seen every stream's frames taken or dropped. A queued frame is taken
// at once; the bound is long so that a reader descheduled on a busy host
// does not find it passed (Frames then ends without handing it out)
// before it looks.
const drainWait = 250 * time.Millisecond

// received reports whether every stream has want frames, taken or
// dropped: dropped before its last frame handed over (dropped[k]), or, if
// dropped is nil, so far.
func (vr *videoRun) received(want uint64, dropped []uint64) bool {
	for k := range vr.taken {
		d := uint64(0)
		if dropped != nil {
			d = dropped[k]
		} else {
			d = vr.rx.Stats(k).Dropped
		}
		if vr.taken[k].Load()+d < want {
			return false
		}
	}
	return true
}

// fill takes the run's counters from the Sender or Receiver, for the
// reporter. A UDP packet counts as the Ethernet frame it would be on the
// wire, as the udp: backend counts it.
func (vr *videoRun) fill(s *sample) {
	v := vr.cfg.video
	var eth uint64
	if vr.tx != nil {
		for k := range v.streams {
			st := vr.tx.Stats(k)
			s.packets, s.bytes, s.frames, s.late = s.packets+st.Packets, s.bytes+st.Bytes, s.frames+st.Frames, s.late+st.Late
			if k == 0 {
				s.refused, s.noBufs = st.Refused, st.NoBufs
			}
		}
		if isUDP(vr.cfg.port) {
			s.bytes += s.packets * packet.UDPHdrLen
		}
		s.batches = vr.tx.Batches()
		return
	}
	for k := range v.streams {
		st := vr.rx.Stats(k)
		s.packets, s.bytes = s.packets+st.Packets, s.bytes+st.Bytes
		s.lost, s.dup, s.reordered, s.late = s.lost+st.Lost, s.dup+st.Duplicates, s.reordered+st.Reordered, s.late+st.Late
		eth += st.Packets
	}
	s.bytes += eth * packet.UDPHdrLen
	s.packets += vr.rx.Other()
	s.frames = vr.frames.Load()
	s.batches = vr.rx.Batches()
}

// openErr words an error of Dial or Listen for the command line: a name
// st2110 cannot read is a usage error, a memory budget says how to raise
// it. A file that is no capture gets Listen's error, which names the
// file and says why: empty, cut short in its header (packet.ErrTruncated),
// what it starts with, or its link type.
func openErr(cfg *config, err error) error {
	var ne *st2110.NameError
	switch {
	case errors.As(err, &ne):
		return usage(fmt.Errorf("-i: %w", err))
	case errors.Is(err, video.ErrBudget):
		return fmt.Errorf("%w (raise -max-mem)", err)
	}
	return err
}

// readErr words an error that ended the receiver: a capture cut short in
// the middle of a packet (a capture program killed while it wrote) is
// named so, as tshark names it, after the packets before it.
func (vr *videoRun) readErr(err error) error {
	if isPcap(vr.cfg.port) && errors.Is(err, packet.ErrTruncated) {
		var s sample
		vr.fill(&s)
		return fmt.Errorf("-i %s: the file appears to have been cut short in the middle of a packet (packet %d)", vr.cfg.port, s.packets+1)
	}
	return err
}

// writeErr returns the first error of the -out writers.
func (vr *videoRun) writeErr() error {
	for _, w := range vr.writers {
		if w != nil && w.err != nil {
			return fmt.Errorf("-out: %w", outErr(w.err))
		}
	}
	return nil
}
