package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/video"
)

// videoRun is one vtx or vrx run: what it opened, its Transmitter or
// Receivers, and the counters the reporter reads while it runs.
type videoRun struct {
	cfg *config
	tx  *video.Transmitter
	rx  []rxPart // vrx: one per goroutine (per stream on udp:, else one)

	writers []*frameWriter // vrx -out, per stream (nil entries without -out)
	closers []func() error

	work func(context.Context, *stats) error
	st   *stats       // the run's counters, set when work starts
	spun atomic.Int64 // vtx: nanoseconds spent spinning until packets were due
}

// rxPart is one Receiver, the global indexes of its streams, and its
// totals as last added to the run's counters.
type rxPart struct {
	r       *video.Receiver
	streams []int
	bytes   uint64 // octets read from rings
	ring    []*ringBytes

	lost, dup, reord, late uint64
}

// openVideo opens what a vtx or vrx run needs; the run's closing function
// closes it.
func openVideo(ctx context.Context, cfg *config) (work, func() error, error) {
	vr, err := newVideoRun(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	cfg.vid = vr
	return vr.work, vr.close, nil
}

// newVideoRun opens what a vtx or vrx run needs (port, sockets, files),
// writes vtx's SDP, and sets work to the loop.
func newVideoRun(ctx context.Context, cfg *config) (_ *videoRun, err error) {
	vr := &videoRun{cfg: cfg}
	defer func() {
		if err != nil {
			vr.close()
		}
	}()
	if cfg.mode.send {
		err = vr.openTx(ctx)
	} else {
		err = vr.openRx(ctx)
	}
	return vr, err
}

// close releases what newVideoRun opened, in reverse order.
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

// openPort opens the run's netmap port (see openPort) and waits for the
// link as -w says.
func (vr *videoRun) openPort(ctx context.Context, c *nmsys.Config) (*nmsys.Port, error) {
	port, closePort, err := openPort(ctx, vr.cfg.port, c)
	if err != nil {
		return nil, err
	}
	vr.closers = append(vr.closers, closePort)
	waitLink(ctx, vr.cfg.wait)
	return port, nil
}

func (vr *videoRun) openTx(ctx context.Context) error {
	cfg, v := vr.cfg, vr.cfg.video
	frames, err := frameSources(v)
	if err != nil {
		return err
	}
	if vr.tx, err = newTransmitter(cfg, frames); err != nil {
		return err
	}
	maxLen := 0
	for k := range v.streams {
		maxLen = max(maxLen, vr.tx.Packetizer(k).MaxPacketLen())
	}
	var sink txSink
	virtual := false
	switch {
	case isUDP(cfg.port):
		if sink, err = newUDPSink(v, cfg.batch, maxLen); err != nil {
			return err
		}
	case isPcap(cfg.port):
		if sink, err = newPcapSink(strings.TrimPrefix(cfg.port, pcapPrefix), cfg.batch, maxLen); err != nil {
			return err
		}
		virtual = true
	default:
		port, err := vr.openPort(ctx, &nmsys.Config{TxOnly: true})
		if err != nil {
			return err
		}
		if bs := port.Info().BufSize; maxLen > bs {
			return usage(fmt.Errorf("packets of %d octets do not fit the port's %d-octet buffers (MAXUDP=%d needs larger netmap buffers)", maxLen, bs, v.streams[0].MaxUDP))
		}
		ring, err := port.TxRing(port.Info().FirstTx)
		if err != nil {
			return err
		}
		sink = &ringSink{TxRing: ring, port: port}
	}
	vr.closers = append(vr.closers, sink.close)
	if v.sdpOut != "" {
		if err := writeSDP(cfg, vr.tx); err != nil {
			return err
		}
	}
	vr.work = func(ctx context.Context, st *stats) error {
		vr.st = st
		if !virtual {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
		}
		err := vr.runTx(ctx, sink, st, virtual)
		vr.publishTx()
		return err
	}
	return nil
}

func (vr *videoRun) openRx(ctx context.Context) error {
	cfg, v := vr.cfg, vr.cfg.video
	vr.writers = make([]*frameWriter, len(v.streams))
	if v.out != "" {
		for k := range v.streams {
			name := outName(v.out, k, len(v.streams))
			f, err := os.Create(name)
			if err != nil {
				return fmt.Errorf("-out: %w", err)
			}
			vr.closers = append(vr.closers, f.Close)
			w := &frameWriter{f: f, pix: v.pixFmt, fmt: &v.streams[k].Format}
			if v.pixFmt != 0 {
				if err := v.charge(fmt.Sprintf("stream %d (%v): -pix %s buffer", k, w.fmt, v.pixName()), int64(v.frameBytes(k))); err != nil {
					return err
				}
				w.conv = make([]byte, v.frameBytes(k))
			}
			vr.writers[k] = w
		}
	}
	all := make([]int, len(v.streams))
	for k := range all {
		all[k] = k
	}
	switch {
	case isUDP(cfg.port):
		var conns []*net.UDPConn
		for k := range v.streams {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(v.streams[k].Dst))
			if err != nil {
				return fmt.Errorf("udp: stream %d: %w", k, err)
			}
			vr.closers = append(vr.closers, c.Close)
			_ = c.SetReadBuffer(8 << 20)
			stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
			vr.closers = append(vr.closers, func() error { stop(); return nil })
			conns = append(conns, c)
			if err := vr.addReceiver([]int{k}); err != nil {
				return err
			}
		}
		vr.work = vr.rxWork(func(ctx context.Context, st *stats) error { return vr.runRxUDP(ctx, conns, st) })
	case isPcap(cfg.port):
		if err := vr.addReceiver(all); err != nil {
			return err
		}
		name := strings.TrimPrefix(cfg.port, pcapPrefix)
		pr, err := vr.openCapture(name)
		if err != nil {
			return err
		}
		vr.work = vr.rxWork(func(ctx context.Context, st *stats) error { return vr.runRxPcap(ctx, name, pr, st) })
	default:
		if err := vr.addReceiver(all); err != nil {
			return err
		}
		port, err := vr.openPort(ctx, &nmsys.Config{RxOnly: true, NoTxPoll: true})
		if err != nil {
			return err
		}
		rs, err := port.RxRings()
		if err != nil {
			return err
		}
		for _, ring := range rs {
			vr.rx[0].ring = append(vr.rx[0].ring, &ringBytes{RxRing: ring, bytes: &vr.rx[0].bytes})
		}
		vr.work = vr.rxWork(func(ctx context.Context, st *stats) error {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			return vr.runRxRing(ctx, port, st)
		})
	}
	return nil
}

// rxWork wraps a receive loop: when it ends before every frame arrived
// (-t, a signal, the end of a capture) the frames being filled are delivered
// as they are, the counters are brought up to date, and a failed -out write
// is the run's error.
func (vr *videoRun) rxWork(loop func(context.Context, *stats) error) func(context.Context, *stats) error {
	return func(ctx context.Context, st *stats) error {
		vr.st = st
		err := loop(ctx, st)
		for i := range vr.rx {
			if !vr.rx[i].r.Done() {
				vr.rx[i].r.Flush()
			}
			vr.publishRx(i)
		}
		if err == nil {
			err = vr.writeErr()
		}
		return err
	}
}

// addReceiver makes a Receiver for the global streams ks.
func (vr *videoRun) addReceiver(ks []int) error {
	r, err := video.NewReceiver(&video.ReceiverConfig{Streams: vr.rxStreams(ks), Budget: vr.cfg.video.budget})
	if err != nil {
		if errors.Is(err, video.ErrBudget) {
			err = fmt.Errorf("%w (raise -max-mem)", err)
		}
		return err
	}
	r.AllocFrames() // every stream is expected: not in the receive loop
	vr.rx = append(vr.rx, rxPart{r: r, streams: ks})
	return nil
}

// publishTx stores the transmitter's totals in the run's counters.
func (vr *videoRun) publishTx() {
	var frames, late uint64
	for k := range vr.tx.NumStreams() {
		s := vr.tx.Stats(k)
		frames += s.Frames
		late += s.Late
	}
	vr.st.frames.Store(frames)
	vr.st.late.Store(late)
}

// publishRx adds what receiver part i counted since it last published to
// the run's counters, modulo 2^64: a reordered packet takes back a loss, so
// the lost count may fall. Frames are counted as they are delivered.
func (vr *videoRun) publishRx(i int) {
	p := &vr.rx[i]
	var lost, dup, reord, late uint64
	for j := range p.streams {
		s := p.r.Stats(j)
		lost, dup, reord, late = lost+s.Lost, dup+s.Duplicates, reord+s.Reordered, late+s.Late
	}
	vr.st.lost.Add(lost - p.lost)
	vr.st.dup.Add(dup - p.dup)
	vr.st.reordered.Add(reord - p.reord)
	vr.st.late.Add(late - p.late)
	p.lost, p.dup, p.reord, p.late = lost, dup, reord, late
}

// writeErr returns the first error of the -out writers.
func (vr *videoRun) writeErr() error {
	for _, w := range vr.writers {
		if w != nil && w.err != nil {
			return fmt.Errorf("-out: %w", w.err)
		}
	}
	return nil
}

// The rings satisfy package video's queue interfaces as they are.
var (
	_ video.TxQueue = (*rings.TxRing)(nil)
	_ video.RxQueue = (*rings.RxRing)(nil)
)
