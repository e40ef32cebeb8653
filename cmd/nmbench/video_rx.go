package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
	"github.com/nmgo/nmgo/video"
	"golang.org/x/net/ipv4"
	"golang.org/x/sync/errgroup"
)

// frameWriter writes one stream's received frames to -out, converted to
// the -pix layout.
type frameWriter struct {
	f    *os.File
	pix  video.PixelFormat
	fmt  *video.Format
	conv []byte
	err  error
}

func (w *frameWriter) write(frame []byte) {
	if w == nil || w.err != nil {
		return
	}
	b := frame
	if w.pix != 0 {
		if w.err = video.Unpack(w.conv, frame, w.fmt, w.pix); w.err != nil {
			return
		}
		b = w.conv
	}
	_, w.err = w.f.Write(b)
}

// outName returns the -out file of stream k of n.
func outName(out string, k, n int) string {
	if n == 1 {
		return out
	}
	return out + "." + strconv.Itoa(k)
}

// rxStreams returns the Receiver streams for the global streams ks,
// writing to ws and counting delivered frames in vr.
func (vr *videoRun) rxStreams(ks []int) []video.RxStream {
	v := vr.cfg.video
	var out []video.RxStream
	for _, k := range ks {
		s := &v.streams[k]
		w := vr.writers[k]
		rs := video.RxStream{Format: s.Format, PayloadType: s.PayloadType, Count: v.frames,
			OnFrame: func(frame []byte, _ *video.FrameStats) {
				w.write(frame)
				vr.st.frames.Add(1)
			}}
		if s.Dst.IsValid() && !isUDP(vr.cfg.port) {
			rs.Port = s.Dst.Port()
		}
		out = append(out, rs)
	}
	return out
}

// runRxRing is vrx on a netmap port: every RX ring drained into one
// Receiver per batch, each batch stamped with the time it was read.
func (vr *videoRun) runRxRing(ctx context.Context, port *nmsys.Port, st *stats) error {
	r := vr.rx[0].r
	var idle nmsys.Idler
	for ctx.Err() == nil && !r.Done() {
		got := 0
		var moved uint64
		at := taiNow()
		for _, ring := range vr.rx[0].ring {
			before := vr.rx[0].bytes
			n, err := r.Drain(ring, at, vr.cfg.batch)
			if err != nil {
				return fmt.Errorf("rx ring: %w", err)
			}
			if n > 0 {
				got += n
				d := vr.rx[0].bytes - before
				moved += d
				st.packets.Add(uint64(n))
				st.bytes.Add(d)
				st.batches.Add(1)
			}
		}
		if got > 0 {
			vr.publishRx(0)
		}
		if err := waitErr(ctx, idle.Next(port, got > 0, moved)); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

// ringBytes is an RX ring that counts the octets of the packets read.
type ringBytes struct {
	*rings.RxRing
	bytes *uint64
}

func (r *ringBytes) Packet(i int) ([]byte, error) {
	p, err := r.RxRing.Packet(i)
	*r.bytes += uint64(len(p))
	return p, err
}

// runRxUDP is vrx on kernel sockets: stream K on PORT+K, one socket and one
// goroutine (with its own Receiver) per stream.
func (vr *videoRun) runRxUDP(ctx context.Context, conns []*net.UDPConn, st *stats) error {
	g, ctx := errgroup.WithContext(ctx)
	for k, c := range conns {
		g.Go(func() error { return vr.rxSocket(ctx, k, c, st) })
	}
	return g.Wait()
}

func (vr *videoRun) rxSocket(ctx context.Context, k int, c *net.UDPConn, st *stats) error {
	rx := &vr.rx[k]
	pc := ipv4.NewPacketConn(c)
	msgs := make([]ipv4.Message, min(vr.cfg.batch, 1024))
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, video.MaxUDPExtended+100)}
	}
	for ctx.Err() == nil && !rx.r.Done() {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return fmt.Errorf("udp receive: %w", err)
		}
		at := taiNow()
		var bytes uint64
		for i := range n {
			m := &msgs[i]
			rx.r.PushRTP(0, m.Buffers[0][:m.N], at)
			bytes += uint64(m.N + packet.UDPHdrLen) // as the udp: backend counts
		}
		st.packets.Add(uint64(n))
		st.bytes.Add(bytes)
		st.batches.Add(1)
		vr.publishRx(k)
	}
	return nil
}

// openCapture opens the capture vrx reads and checks its header and link
// type, so that a file vrx cannot read fails before the run starts.
func (vr *videoRun) openCapture(name string) (captureReader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-i pcap: %w", err)
	}
	vr.closers = append(vr.closers, f.Close)
	br := bufio.NewReaderSize(f, 1<<20)
	head, _ := br.Peek(8)
	pr, err := newCaptureReader(br)
	switch {
	case err == nil:
	case len(head) == 0:
		return nil, fmt.Errorf("-i pcap:%s: the file is empty, not a pcap or pcapng capture", name)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("-i pcap:%s: the file ends inside the capture file header: not a whole pcap or pcapng capture", name)
	default:
		return nil, fmt.Errorf("-i pcap:%s: not a pcap or pcapng capture (it starts with % x): %w", name, head, err)
	}
	if _, err := pcapPush(pr.LinkType(), vr.rx[0].r); err != nil {
		return nil, fmt.Errorf("-i pcap:%s: %w", name, err)
	}
	return pr, nil
}

// runRxPcap is vrx reading a capture: Ethernet, Linux cooked (v1, v2) or
// raw IP, at the capture's timestamps, until its end. A capture cut short
// in the middle of a packet (a capture program killed while it wrote) is an
// error once the rest is read, as tshark makes it.
func (vr *videoRun) runRxPcap(ctx context.Context, name string, pr captureReader, st *stats) error {
	push, err := pcapPush(pr.LinkType(), vr.rx[0].r)
	if err != nil {
		return fmt.Errorf("-i pcap:%s: %w", name, err)
	}
	r := vr.rx[0].r
	var offset int64 = -1 // pcap time to TAI, found from the first RTP packet
	for n := 0; ctx.Err() == nil && !r.Done(); n++ {
		data, ci, err := pr.ZeroCopyReadPacketData()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			vr.publishRx(0)
			return fmt.Errorf("-i pcap:%s: the file appears to have been cut short in the middle of a packet (packet %d)", name, n+1)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("-i pcap:%s: packet %d: %w", name, n+1, err)
		}
		if len(data) > maxSnaplen { // pcapng: the block length is the only bound
			return fmt.Errorf("-i pcap:%s: packet %d: %d octets, more than any capture takes (%d)", name, n+1, len(data), maxSnaplen)
		}
		at := ci.Timestamp.UnixNano()
		if offset < 0 {
			offset = captureOffset(data, pr.LinkType(), at)
		}
		push(data, at+offset)
		st.packets.Add(1)
		st.bytes.Add(uint64(ci.Length))
		if n%256 == 0 {
			st.batches.Add(1)
			vr.publishRx(0)
		}
	}
	vr.publishRx(0)
	return nil
}

// captureReader is what vrx reads of a pcap or pcapng file.
type captureReader interface {
	LinkType() layers.LinkType
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// newCaptureReader reads a pcap file (as tcpdump and vtx write) or a pcapng
// file (as dumpcap and tshark write; the link type of its first interface).
func newCaptureReader(br *bufio.Reader) (captureReader, error) {
	if magic, err := br.Peek(4); err == nil && binary.BigEndian.Uint32(magic) == 0x0a0d0d0a {
		return pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
	}
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, err
	}
	// A record longer than libpcap's largest snap length (256 KiB) is
	// refused, whatever snap length the file's header claims.
	r.SetSnaplen(maxSnaplen)
	return r, nil
}

// maxSnaplen is libpcap's MAXIMUM_SNAPLEN.
const maxSnaplen = 262144

// pcapPush returns the Receiver method for a capture's link type.
func pcapPush(lt layers.LinkType, r *video.Receiver) (func([]byte, int64) bool, error) {
	switch lt {
	case layers.LinkTypeEthernet:
		return r.Push, nil
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return r.PushIP, nil
	case layers.LinkTypeLinuxSLL: // 16-octet header, protocol last
		return func(b []byte, at int64) bool {
			if len(b) < 16 {
				return false
			}
			return r.PushIP(b[16:], at)
		}, nil
	case layers.LinkTypeLinuxSLL2: // 20-octet header, protocol first
		return func(b []byte, at int64) bool {
			if len(b) < 20 {
				return false
			}
			return r.PushIP(b[20:], at)
		}, nil
	}
	return nil, fmt.Errorf("link type %v: vrx reads Ethernet, Linux cooked and raw IP captures", lt)
}

// captureOffset returns what turns a capture's timestamps into TAI. Captures
// are taken as stamped by the system clock (UTC, as tcpdump and vtx write
// them) unless the first packet's RTP timestamp shows they are TAI already
// (a capture card on PTP time): an ST 2110 sender's RTP timestamp is the
// media clock of the frame's alignment point, a few milliseconds before the
// packet, so whichever reading puts it closer wins.
func captureOffset(data []byte, lt layers.LinkType, at int64) int64 {
	utc := int64(utcToTAI)
	off := -1
	switch lt {
	case layers.LinkTypeEthernet:
		off = 14
		if len(data) >= 18 && binary.BigEndian.Uint16(data[12:]) == 0x8100 {
			off = 18
		}
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		off = 0
	case layers.LinkTypeLinuxSLL:
		off = 16
	case layers.LinkTypeLinuxSLL2:
		off = 20
	}
	if off < 0 || len(data) < off+1 {
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
	if abs(asTAI) < abs(asUTC) {
		return 0
	}
	return utc
}

func abs(v int32) int64 {
	if v < 0 {
		return -int64(v)
	}
	return int64(v)
}
