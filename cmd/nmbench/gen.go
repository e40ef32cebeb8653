package main

import (
	"encoding/binary"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
)

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
	tpl, err := packet.NewUDPTemplate(&packet.UDPConfig{SrcMAC: cfg.srcMAC, DstMAC: cfg.dstMAC,
		SrcIP: addr(cfg.src.ip0), DstIP: addr(cfg.dst.ip0), SrcPort: cfg.src.port0, DstPort: cfg.dst.port0})
	if err != nil {
		return nil, err
	}
	g := &gen{cfg: cfg, tpl: tpl, rnd: 0x9e3779b9, src: cfg.src.ip0, dst: cfg.dst.ip0,
		sp: cfg.src.port0, dp: cfg.dst.port0, sequence: cfg.mode.seq}
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
// During the first lap over the ring it writes whole frames (with -r, the
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

// full writes a whole frame: payload pattern (not with -r), then the
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
