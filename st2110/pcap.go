package st2110

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/nmgo/nmgo/internal/outfile"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// The pcap transport: a capture file read to its end (pcap or pcapng,
// Ethernet, Linux cooked v1 and v2, BSD loopback (null and loop), or raw
// IP), as fast as the consumer of
// Frames takes the frames or at the capture's pace; or written, whole
// Ethernet frames with nanosecond timestamps, each packet stamped with its
// scheduled send time.

// pcapRx reads one capture.
type pcapRx struct {
	f        *os.File
	pr       *packet.PcapReader
	replay   bool
	closed   atomic.Bool
	closeErr error
}

// openPcapRx opens the capture ep and reads its header. ctx ends the
// wait for a FIFO's writer (openCapture, waitWriter) and for the header,
// by a read deadline in the past: Listen then fails with an error that
// wraps ctx.Err(). Once the header is read, ctx no longer matters.
func openPcapRx(ctx context.Context, ep *endpoint, cfg *ListenConfig) (rxTransport, error) {
	f, fifo, err := openCapture(ep.file)
	if err != nil {
		return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
	}
	stop := deadlineOnDone(ctx, f)
	if fifo {
		err = waitWriter(f)
	}
	var pr *packet.PcapReader
	if err == nil {
		pr, err = packet.NewPcapReader(f)
	}
	if !stop() {
		f.Close()
		return nil, fmt.Errorf("st2110: listen %s: waiting for the capture's header: %w", ep.name, ctx.Err())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("st2110: listen %s: %w", ep.name, err)
	}
	// A pcapng file may give its interfaces' link types later; each
	// packet is read by its own interface's (read, push).
	if _, ok := ipOffset(pr.LinkType(), nil); !ok && pr.LinkType() != layers.LinkTypeEthernet {
		f.Close()
		return nil, fmt.Errorf("st2110: listen %s: link type %v: st2110 reads Ethernet, Linux cooked (v1, v2), BSD loopback (null, loop) and raw IP captures", ep.name, pr.LinkType())
	}
	return &pcapRx{f: f, pr: pr, replay: cfg.Replay}, nil
}

func (t *pcapRx) readers() []rxReader { return []rxReader{t} }
func (t *pcapRx) flows() []int        { return nil }

// wake closes the file, which ends its reader.
func (t *pcapRx) wake() {
	if !t.closed.Swap(true) {
		t.closeErr = t.f.Close()
	}
}

func (t *pcapRx) close() error {
	t.wake()
	return t.closeErr
}

// deadlineOnDone sets a read deadline in the past on f once ctx is done,
// which ends a wait for f's writer (waitWriter) or in its reads. stop
// reports whether it had not, and, if it had, first waits until the
// deadline is set, so that no goroutine of it is left (context.AfterFunc
// runs the function in one of its own).
func deadlineOnDone(ctx context.Context, f *os.File) (stop func() bool) {
	set := make(chan struct{})
	after := context.AfterFunc(ctx, func() {
		defer close(set)
		f.SetReadDeadline(time.Unix(1, 0)) // a regular file has none: its reads do not wait
	})
	return func() bool {
		if after() {
			return true
		}
		<-set
		return false
	}
}

// ipOffset returns where the IP header starts in a packet of link type lt
// that is not Ethernet (Linux cooked v1 and v2, BSD loopback, raw IP); ok
// is false for other link types. data may be nil.
func ipOffset(lt layers.LinkType, data []byte) (int, bool) {
	switch lt {
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return 0, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// A 4-octet address family (host order for null, network order
		// for loop; IPv6's value differs between systems): the IP
		// header's version tells the family as well.
		return 4, true
	case layers.LinkTypeLinuxSLL: // 16 octets, protocol last
		return 16, true
	case layers.LinkTypeLinuxSLL2: // 20 octets, protocol first
		return 20, true
	}
	return 0, false
}

// run pushes every packet of the capture, stamped with its capture time
// as TAI, until the end of the file (io.EOF).
func (t *pcapRx) run(ctx context.Context, s *rxSink) error {
	s.block = !t.replay
	var st pcapState
	for ctx.Err() == nil {
		if err := t.next(ctx, s, &st); err != nil {
			return err
		}
	}
	return nil
}

// pcapState is what a capture's reader carries from packet to packet.
type pcapState struct {
	offset int64 // capture time to TAI; -1 until the first packet
	first  int64 // the first packet's capture time
	start  time.Time
	begun  bool
}

// next reads one packet and pushes it.
func (t *pcapRx) next(ctx context.Context, s *rxSink, st *pcapState) error {
	var p pcapPacket
	if err := t.read(s, st, &p); err != nil {
		return err
	}
	return t.push(ctx, s, st, &p)
}

// pcapPacket is a packet read from a capture, not yet pushed: valid
// until the capture's next read.
type pcapPacket struct {
	data []byte
	lt   layers.LinkType
	at   int64 // capture time, ns
}

// read reads the next packet into p.
func (t *pcapRx) read(s *rxSink, st *pcapState, p *pcapPacket) error {
	data, ci, err := t.pr.ZeroCopyReadPacketData()
	if err == io.EOF {
		return io.EOF
	}
	if err != nil {
		if t.closed.Load() {
			return errClosedInput
		}
		return fmt.Errorf("st2110: %s: %w", t.f.Name(), err)
	}
	lt, _ := t.pr.InterfaceLinkType(ci.InterfaceIndex)
	at := ci.Timestamp.UnixNano()
	if !st.begun {
		st.begun = true
		st.offset = captureOffset(data, lt, at, int64(s.clock.UTCOffset()))
		st.first, st.start = at, time.Now()
	}
	*p = pcapPacket{data: data, lt: lt, at: at}
	return nil
}

// push hands the packet p to s, at the capture's pace if the reader
// replays it.
func (t *pcapRx) push(ctx context.Context, s *rxSink, st *pcapState, p *pcapPacket) error {
	at, data, lt := p.at, p.data, p.lt
	if t.replay {
		if d := time.Duration(at-st.first) - time.Since(st.start); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return errClosedInput
			}
		}
	}
	at += st.offset
	s.enter()
	defer s.leave()
	if lt == layers.LinkTypeEthernet {
		s.r.Push(data, at)
	} else if off, ok := ipOffset(lt, data); ok && len(data) >= off {
		s.r.PushIP(data[off:], at)
	} else {
		s.r.PushIP(nil, at) // counted as belonging to no flow
	}
	s.batches.Add(1)
	s.tick(at)
	return nil
}

// errClosedInput ends a reader whose input was closed: not an error.
var errClosedInput = errors.New("st2110: input closed")

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// captureOffset returns what turns a capture's timestamps into TAI.
// Captures are taken as stamped by the system clock (UTC, as tcpdump
// writes them, and as a Sender writes them) unless the first packet's RTP
// timestamp shows they are TAI already (a capture card on PTP time): an
// ST 2110 sender's RTP timestamp is the media clock of the frame's
// alignment point, a few milliseconds before the packet, so whichever
// reading puts it closer wins. utc is TAI - UTC in nanoseconds.
func captureOffset(data []byte, lt layers.LinkType, at, utc int64) int64 {
	off, ok := ipOffset(lt, data)
	if lt == layers.LinkTypeEthernet {
		off, ok = packet.EthLen, true
		if len(data) >= 18 && binary.BigEndian.Uint16(data[12:]) == 0x8100 {
			off = packet.EthLen + packet.VLANLen
		}
	}
	if !ok || len(data) < off+1 {
		return utc
	}
	ip := data[off:]
	var rtp []byte
	switch {
	case ip[0]>>4 == 4 && len(ip) >= 20 && ip[9] == 17:
		if h := int(ip[0]&0xf) * 4; len(ip) >= h+8+8 {
			rtp = ip[h+8:]
		}
	case ip[0]>>4 == 6 && len(ip) >= 40+8+8 && ip[6] == 17:
		rtp = ip[48:]
	}
	if len(rtp) < 8 || rtp[0]>>6 != 2 {
		return utc
	}
	ts := binary.BigEndian.Uint32(rtp[4:])
	asUTC := int32(video.Timestamp(at+utc) - ts)
	asTAI := int32(video.Timestamp(at) - ts)
	if abs32(asTAI) < abs32(asUTC) {
		return 0
	}
	return utc
}

func abs32(v int32) int64 {
	if v < 0 {
		return -int64(v)
	}
	return int64(v)
}

// pcapTx writes the packets to a capture, each stamped with its scheduled
// send time on the system clock (UTC, as tcpdump would), to the
// nanosecond.
//
// The file is opened in Dial, so that one that cannot be written fails
// there, but emptied only once Run starts (commit): a Dial that fails on
// something else (a SendConfig value, a flow without a source address),
// and a Sender closed without Run (its caller failed between the two),
// leave the file they named as it was, and remove it if Dial made it.
type pcapTx struct {
	out    *outfile.File
	bw     *bufio.Writer
	ew     lastErr // between w and bw
	w      *packet.PcapWriter
	bufs   [][]byte
	lens   []int
	at     []int64
	utc    int64
	err    error
	ready  bool // Run started: the file is the capture's
	closed bool // close has run: its buffers are dropped

	// interrupted: Run's context has ended (interrupt), and a write
	// that waits for a reader that reads nothing fails. Set from another
	// goroutine.
	interrupted atomic.Bool
}

func openPcapTx(ep *endpoint, batch int, utc int64) (txConn, error) {
	// As os.Create opens, but for writing only and without emptying
	// the file: a dangling symbolic link gets its target made (and
	// removed again if Dial fails); a FIFO (a live capture into
	// Wireshark) is not waited for here: Run waits for its reader
	// (commit), and a reader that goes away fails the next write.
	out, err := outfile.Open(ep.file, 0o666)
	if err != nil {
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	// The header goes into the buffer, which holds it until commit.
	t := &pcapTx{out: out, bw: bufio.NewWriterSize(out, 1<<20), utc: utc}
	t.ew.w = t.bw
	if t.w, err = packet.NewPcapWriterNanos(&t.ew, 0); err != nil {
		t.close()
		return nil, fmt.Errorf("st2110: dial %s: %w", ep.name, err)
	}
	n := min(max(batch, 1), 1024)
	t.bufs, t.lens, t.at = make([][]byte, n), make([]int, n), make([]int64, n)
	return t, nil
}

// growth returns the octets grow(n) allocates.
func (t *pcapTx) growth(n int) int64 {
	var sum int64
	for _, b := range t.bufs {
		if len(b) < n {
			sum += int64(n)
		}
	}
	return sum
}

// grow makes every buffer hold packets of n octets.
func (t *pcapTx) grow(n int) {
	for i := range t.bufs {
		if len(t.bufs[i]) < n {
			t.bufs[i] = make([]byte, n)
		}
	}
}

func (t *pcapTx) Reserve(n int) (int, error) { return min(n, len(t.bufs)), nil }
func (t *pcapTx) Buf(i int) []byte           { return t.bufs[i] }
func (t *pcapTx) SetLen(i, n int)            { t.lens[i] = n }
func (t *pcapTx) Stamp(i, _ int, at int64)   { t.at[i] = at - t.utc }
func (t *pcapTx) flush(ctx context.Context) error {
	if t.err != nil && t.cut() {
		return ctx.Err() // Run's end with its context, not a failure
	}
	return t.err
}
func (t *pcapTx) wait(context.Context) error { return nil }
func (t *pcapTx) drain()                     {}
func (t *pcapTx) counts() *txCounts          { return nil }

// finish writes out the buffered packets: a write that fails ends Run
// with its error (and Close's flush fails again with it). One that
// interrupt cut is Close's to tell: Run ended with its context.
func (t *pcapTx) finish() error {
	if t.err == nil {
		t.err = t.bw.Flush()
	}
	if t.err != nil && t.cut() {
		return nil
	}
	return t.err
}

// interrupt ends the capture's writes that wait for room (a FIFO whose
// reader keeps it open but does not read), now and later, Close's too,
// once the reader has read nothing for outfile.Grace: a reader that
// reads, however slowly, gets the whole capture (outfile.File.End). A
// regular file, whose writes do not wait, is written whole. Run calls it
// when its context ends, and close before it writes the buffer out (a
// Run that failed left its context alive); what a reader that stopped
// reading did not take is lost, and Close says so.
func (t *pcapTx) interrupt() {
	t.interrupted.Store(true)
	if t.out.File != nil { // commit, before runPart, opened it
		t.out.End()
	}
}

// cut reports whether t.err is a write that interrupt ended.
func (t *pcapTx) cut() bool {
	return t.interrupted.Load() && errors.Is(t.err, os.ErrDeadlineExceeded)
}

func (t *pcapTx) Publish(n int) {
	for i := 0; i < n && t.err == nil; i++ {
		t.err = t.w.WritePacket(time.Unix(0, t.at[i]), t.bufs[i][:t.lens[i]])
		if t.err != nil && t.ew.err != nil {
			// The write's own error: pcapgo formats a packet header's
			// with %v, which errors.Is cannot see through (a cut, or an
			// EPIPE, in the header would be neither).
			t.err = t.ew.err
		}
	}
}

// lastErr is an io.Writer that keeps its last write error.
type lastErr struct {
	w   io.Writer
	err error
}

func (e *lastErr) Write(b []byte) (int, error) {
	n, err := e.w.Write(b)
	if err != nil {
		e.err = err
	}
	return n, err
}

// commit makes the file the capture's, once Run has started: it
// waits for a reader of a FIFO that had none at Dial, until ctx ends,
// then empties a regular file (a device, such as /dev/stdout, or a FIFO
// is written as it is).
func (t *pcapTx) commit(ctx context.Context) error {
	if err := t.awaitReader(ctx); err != nil {
		return err
	}
	return t.empty()
}

// awaitReader is commit's first step: the wait for a FIFO's reader. A
// sender of two paths waits for both before it empties either file.
func (t *pcapTx) awaitReader(ctx context.Context) error {
	return t.out.Wait(ctx) // naming the file; Run adds its own name
}

// empty is commit's second step: the file is the capture's from now.
func (t *pcapTx) empty() error {
	if err := t.out.Empty(); err != nil {
		return err
	}
	t.ready = true
	return nil
}

// close is called once (Sender.Close, or a Dial that fails): it lets go
// of the packet buffers, which Close gives back to the budget, and of the
// 1 MiB write buffer, once flushed, so that a closed Sender the caller
// keeps holds neither.
func (t *pcapTx) close() error {
	if t.closed {
		// A second close (Dial closes each output once, dialOn, but
		// a close must not depend on it) finds the buffers gone: the
		// file's own answer.
		return fmt.Errorf("st2110: %s: %w", t.out.Name(), os.ErrClosed)
	}
	t.closed = true
	bw := t.bw
	t.bufs, t.bw, t.w, t.ew.w = nil, nil, nil, nil // t.w writes to bw
	if !t.ready {
		// Dial failed, or Run never started: nothing is written, and a
		// file Dial made goes.
		return t.out.Abandon()
	}
	// Run is over, however it ended: its context, Close, or an error
	// (a frame source's), which left its context alive and nothing
	// interrupted. A reader that reads gets the rest (outfile.Grace is
	// re-armed while bytes move); one that reads nothing does not hold
	// Close for ever.
	t.interrupt()
	err := bw.Flush()
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("capture cut: Run ended (its context, Close, or an error) with packets the file did not take, its reader (a FIFO's) reading nothing for %v: %w", outfile.Grace, err)
	}
	if cerr := t.out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = t.err
	}
	if err != nil {
		return fmt.Errorf("st2110: %s: %w", t.out.Name(), err)
	}
	return nil
}
