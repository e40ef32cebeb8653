package packet

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// MaxPcapRecord is the longest packet record a [PcapReader] accepts, the
// limit of Wireshark (WTAP_MAX_PACKET_SIZE_STANDARD): a record announcing
// more is an error, so a file cannot make the reader allocate more.
const MaxPcapRecord = 262144

// Limits of the pcapng blocks a PcapReader reads into memory (section
// and interface headers with their options) and of the interfaces one
// section may describe.
const (
	maxPcapngHeader     = 64 << 10
	maxPcapngInterfaces = 1024
)

// pcapBuffer is the size of the reader's buffer: packets that fit are
// handed out from it without a copy (those of a larger pcapng block are
// copied out). An input that says it is shorter (bytes.Reader, a small
// file) gets a buffer of its length.
const pcapBuffer = 256 << 10

// maxPcapBlock is the longest packet block read into memory: a record,
// its options and padding.
const maxPcapBlock = MaxPcapRecord + maxPcapngHeader + 64

// pcap and pcapng magic numbers (pcap: the IETF pcap draft, section 4;
// pcapng: RFC-to-be draft-ietf-opsawg-pcapng, section 4).
const (
	pcapMagicMicros = 0xa1b2c3d4
	pcapMagicNanos  = 0xa1b23c4d
	pcapngSHB       = 0x0a0d0d0a // section header block, a palindrome
	pcapngBOM       = 0x1a2b3c4d // byte-order magic inside the SHB
	pcapngIDB       = 0x00000001
	pcapngOPB       = 0x00000002 // obsolete packet block
	pcapngSPB       = 0x00000003
	pcapngEPB       = 0x00000006
)

// pcapIface is one interface of a pcapng section (a classic pcap file has
// one).
type pcapIface struct {
	link    layers.LinkType
	snaplen uint32
	// timestamp units: ns = ts * 1e9 >> pow2 when binary (if_tsresol
	// 2^-pow2 s, pow2 0..63), else ts * mul / div
	mul, div uint64
	pow2     uint8
	binary   bool
	offset   int64 // if_tsoffset, seconds
}

// PcapReader reads the packets of a capture file: classic pcap with
// microsecond or nanosecond timestamps in either byte order, or pcapng
// (enhanced, simple and obsolete packet blocks; every other block is
// skipped), as tcpdump, dumpcap, tshark and [PcapWriter] write them. It is
// a gopacket.ZeroCopyPacketDataSource and a gopacket.PacketDataSource.
//
// Bad input gets an error, never a panic or an allocation the file
// chooses: [NewPcapReader] fails first on an empty or non-capture file,
// and on one that ends inside its file header (an error matching
// [ErrTruncated]); a record longer than [MaxPcapRecord] or a file that
// ends inside a record is an error matching [ErrTruncated] or
// [ErrMalformed] that names the packet and its offset (tshark's "cut
// short in the middle of a packet"), never a silent end. The clean end of
// the file is io.EOF.
//
// A PcapReader is not safe for concurrent use.
type PcapReader struct {
	r       *bufio.Reader
	order   binary.ByteOrder
	ng      bool
	ifaces  []pcapIface
	buf     []byte // section and interface headers
	big     []byte // packet blocks larger than the bufio buffer
	hdr     [28]byte
	off     int64 // file offset of the next block or record
	n       int   // packets read
	format  string
	version [2]uint16
}

// NewPcapReader reads the file header of a pcap or pcapng capture from r
// (buffered inside: r needs no bufio). It fails on an empty file, on a
// file that is neither pcap nor pcapng, and on a header it cannot read,
// with an error that says which.
func NewPcapReader(r io.Reader) (*PcapReader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		size := pcapBuffer
		switch l := r.(type) {
		case interface{ Len() int }:
			size = min(size, l.Len())
		case interface{ Stat() (fs.FileInfo, error) }:
			if fi, err := l.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() < int64(size) {
				size = int(fi.Size())
			}
		}
		br = bufio.NewReaderSize(r, size) // at least 16
	}
	p := &PcapReader{r: br}
	magic, err := br.Peek(4)
	switch {
	case len(magic) == 0 && (err == io.EOF || err == nil):
		return nil, errors.New("packet: capture: empty file, no pcap or pcapng header")
	case len(magic) < 4 && (err == io.EOF || err == io.ErrUnexpectedEOF):
		return nil, errorf(ErrTruncated, "packet: capture: %d-octet file, too short for a pcap or pcapng header", len(magic))
	case err != nil:
		return nil, fmt.Errorf("packet: capture: %w", err)
	}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case pcapngSHB:
		p.ng = true
		var n int
		if n, err = io.ReadFull(br, p.hdr[:8]); err != nil {
			err = p.cut("section header block", 0, 12, n)
		} else {
			err = p.readSHB(0)
		}
	case pcapMagicMicros, pcapMagicNanos, bits.ReverseBytes32(pcapMagicMicros), bits.ReverseBytes32(pcapMagicNanos):
		err = p.readPcapHeader()
	default:
		return nil, fmt.Errorf("packet: capture: not a pcap or pcapng file: it starts with % x", magic)
	}
	if err != nil {
		return nil, err
	}
	if p.ng {
		// The link type of the first interface is known before the first
		// packet: read up to the first IDB.
		if err := p.firstIDB(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *PcapReader) readPcapHeader() error {
	var h [24]byte
	if n, err := io.ReadFull(p.r, h[:]); err != nil {
		return errorf(ErrTruncated, "packet: pcap: file header cut short: %d of 24 octets", n)
	}
	p.off = 24
	nanos := false
	switch binary.LittleEndian.Uint32(h[:]) {
	case pcapMagicMicros:
		p.order = binary.LittleEndian
	case pcapMagicNanos:
		p.order, nanos = binary.LittleEndian, true
	case bits.ReverseBytes32(pcapMagicMicros):
		p.order = binary.BigEndian
	default:
		p.order, nanos = binary.BigEndian, true
	}
	p.version = [2]uint16{p.order.Uint16(h[4:]), p.order.Uint16(h[6:])}
	if p.version[0] != 2 {
		return fmt.Errorf("packet: pcap: version %d.%d, want 2.x", p.version[0], p.version[1])
	}
	ifc := pcapIface{link: layers.LinkType(p.order.Uint32(h[20:]) & 0xffff), snaplen: p.order.Uint32(h[16:]), mul: 1000, div: 1}
	p.format = "pcap, microsecond timestamps"
	if nanos {
		ifc.mul = 1
		p.format = "pcap, nanosecond timestamps"
	}
	p.ifaces = append(p.ifaces, ifc)
	return nil
}

// readBody reads the rest of a block whose first have octets are in p.hdr
// into p.buf and checks the trailing length; it returns the body without
// the trailing length.
func (p *PcapReader) readBody(start int64, what string, total, have int) ([]byte, error) {
	rest := total - have
	if cap(p.buf) < rest {
		p.buf = make([]byte, rest) // total is bounded by the caller
	}
	b := p.buf[:rest]
	if n, err := io.ReadFull(p.r, b); err != nil {
		return nil, p.cut(what, start, int64(total), have+n)
	}
	p.off += int64(total)
	if t := p.trailer(b); t != uint32(total) {
		return nil, badTrailer(what, start, t, uint32(total))
	}
	return b[:rest-4], nil
}

// trailer returns the length that ends a block, the last 4 octets of end.
// A block whose two lengths differ is corrupt, and the blocks after it
// cannot be found: see badTrailer.
func (p *PcapReader) trailer(end []byte) uint32 { return p.order.Uint32(end[len(end)-4:]) }

func badTrailer(what string, start int64, t, total uint32) error {
	return errorf(ErrMalformed, "packet: pcapng: %s at offset %d: block length %d at its end, %d at its start", what, start, t, total)
}

// cut is the error for a file that ends inside a block or record.
func (p *PcapReader) cut(what string, start, want int64, got int) error {
	return errorf(ErrTruncated, "packet: capture: %s at offset %d cut short: %d octets announced, %d in the file", what, start, want, got)
}

// firstIDB reads blocks up to the first interface description of the
// section, so that LinkType is known. Packets before it are an error.
func (p *PcapReader) firstIDB() error {
	for len(p.ifaces) == 0 {
		start := p.off
		n, err := io.ReadFull(p.r, p.hdr[:8])
		if err == io.EOF {
			return nil // a section without interfaces: no packets follow
		}
		if err != nil {
			return p.cut("block header", start, 8, n)
		}
		typ, total := p.order.Uint32(p.hdr[:]), p.order.Uint32(p.hdr[4:])
		switch typ {
		case pcapngIDB:
			if err := p.readIDB(start, total); err != nil {
				return err
			}
		case pcapngEPB, pcapngSPB, pcapngOPB:
			return errorf(ErrMalformed, "packet: pcapng: packet block at offset %d before any interface description", start)
		case pcapngSHB:
			return errorf(ErrMalformed, "packet: pcapng: section header at offset %d in a section without interfaces", start)
		default:
			if err := p.skip(start, total); err != nil {
				return err
			}
		}
	}
	return nil
}

// skip discards a block the reader does not use.
func (p *PcapReader) skip(start int64, total uint32) error {
	if total < 12 || total%4 != 0 {
		return errorf(ErrMalformed, "packet: pcapng: block at offset %d: length %d", start, total)
	}
	// Discarded from the bufio buffer, which allocates nothing (io.CopyN
	// to io.Discard allocated a LimitedReader a block: a file of small
	// blocks chose as many allocations). In pieces of at most 1 GiB: a
	// block length from 2^31 up is a negative int in a 32-bit program,
	// which Discard refuses.
	var n int64
	var err error
	for rest := int64(total) - 12; rest > 0 && err == nil; {
		var d int
		d, err = p.r.Discard(int(min(rest, 1<<30)))
		n, rest = n+int64(d), rest-int64(d)
	}
	var k int
	if err == nil {
		k, err = io.ReadFull(p.r, p.hdr[8:12])
	}
	if err != nil {
		return errorf(ErrTruncated, "packet: capture: block at offset %d cut short: %d octets announced, %d in the file", start, total, 8+n+int64(k))
	}
	p.off += int64(total)
	if t := p.trailer(p.hdr[8:12]); t != total {
		return badTrailer("block", start, t, total)
	}
	return nil
}

// readIDB reads an interface description block: link type, snap length
// and the timestamp options if_tsresol and if_tsoffset.
func (p *PcapReader) readIDB(start int64, total uint32) error {
	if total < 20 || total%4 != 0 || total > maxPcapngHeader {
		return errorf(ErrMalformed, "packet: pcapng: interface description at offset %d: block length %d", start, total)
	}
	if len(p.ifaces) == maxPcapngInterfaces {
		return errorf(ErrMalformed, "packet: pcapng: interface description at offset %d: more than %d interfaces", start, maxPcapngInterfaces)
	}
	body, err := p.readBody(start, "interface description", int(total), 8)
	if err != nil {
		return err
	}
	ifc := pcapIface{link: layers.LinkType(p.order.Uint16(body[0:])), snaplen: p.order.Uint32(body[4:]), mul: 1000, div: 1}
	for opts := body[8:]; len(opts) >= 4; {
		code, n := p.order.Uint16(opts[0:]), int(p.order.Uint16(opts[2:]))
		if code == 0 { // opt_endofopt
			break
		}
		if 4+n > len(opts) {
			return errorf(ErrMalformed, "packet: pcapng: interface description at offset %d: option %d of %d octets overruns the block", start, code, n)
		}
		v := opts[4 : 4+n]
		switch {
		case code == 9 && n == 1: // if_tsresol
			if err := ifc.setResolution(v[0]); err != nil {
				return errorf(ErrMalformed, "packet: pcapng: interface description at offset %d: %v", start, err)
			}
		case code == 14 && n == 8: // if_tsoffset
			ifc.offset = int64(p.order.Uint64(v))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	p.ifaces = append(p.ifaces, ifc)
	return nil
}

// setResolution applies if_tsresol: 10^-r seconds per unit, or 2^-r with
// the top bit set.
func (f *pcapIface) setResolution(r byte) error {
	if r&0x80 != 0 {
		if r&0x7f > 63 {
			return fmt.Errorf("timestamp resolution 2^-%d", r&0x7f)
		}
		f.pow2, f.binary = r&0x7f, true
		return nil
	}
	if r > 19 {
		return fmt.Errorf("timestamp resolution 10^-%d", r)
	}
	f.mul, f.div = 1, 1
	for i := int(r); i < 9; i++ {
		f.mul *= 10
	}
	for i := 9; i < int(r); i++ {
		f.div *= 10
	}
	return nil
}

// time converts a timestamp in the interface's units.
func (f *pcapIface) time(ts uint64) time.Time {
	var ns uint64
	if f.binary {
		hi, lo := bits.Mul64(ts, 1e9) // pow2 is 0..63; hi<<64 is 0
		ns = lo>>f.pow2 | hi<<(64-f.pow2)
	} else {
		ns = ts * f.mul / f.div // wraps only past the year 2554
	}
	return time.Unix(f.offset+int64(ns/1e9), int64(ns%1e9))
}

// LinkType returns the link type of the capture's packets (of the first
// interface of a pcapng file); 0 (LinkTypeNull) for a pcapng file without
// interfaces.
func (p *PcapReader) LinkType() layers.LinkType {
	if len(p.ifaces) == 0 {
		return 0
	}
	return p.ifaces[0].link
}

// InterfaceLinkType returns the link type of interface i of the current
// pcapng section (a packet's CaptureInfo.InterfaceIndex); ok is false if
// there is no such interface. A pcap file has one, interface 0.
func (p *PcapReader) InterfaceLinkType(i int) (lt layers.LinkType, ok bool) {
	if i < 0 || i >= len(p.ifaces) {
		return 0, false
	}
	return p.ifaces[i].link, true
}

// Format describes the file: "pcap, microsecond timestamps", "pcap,
// nanosecond timestamps" or "pcapng".
func (p *PcapReader) Format() string { return p.format }

// Packets returns how many packets were read.
func (p *PcapReader) Packets() int { return p.n }

// ZeroCopyReadPacketData returns the next packet: its captured octets,
// valid until the next call, and its CaptureInfo (timestamp, captured and
// original length, pcapng interface). It returns io.EOF at the clean end
// of the file and an error matching [ErrTruncated] when the file ends
// inside a packet. It does not allocate (but once, for a packet larger
// than its 256 KiB buffer).
func (p *PcapReader) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	if p.ng {
		return p.nextBlock()
	}
	return p.nextRecord()
}

// ReadPacketData is ZeroCopyReadPacketData with a copy of the data that the
// caller keeps.
func (p *PcapReader) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	data, ci, err := p.ZeroCopyReadPacketData()
	if err != nil {
		return nil, ci, err
	}
	return append([]byte(nil), data...), ci, nil
}

// nextRecord reads a classic pcap record.
func (p *PcapReader) nextRecord() ([]byte, gopacket.CaptureInfo, error) {
	start := p.off
	h := p.hdr[:16]
	n, err := io.ReadFull(p.r, h)
	switch {
	case err == io.EOF:
		return nil, gopacket.CaptureInfo{}, io.EOF
	case err != nil:
		return nil, gopacket.CaptureInfo{}, p.cut(p.what(), start, 16, n)
	}
	incl, orig := p.order.Uint32(h[8:]), p.order.Uint32(h[12:])
	if incl > MaxPcapRecord {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcap: %s at offset %d: %d octets captured, more than the %d a record may hold", p.what(), start, incl, MaxPcapRecord)
	}
	data, err := p.data(start, 16, int(incl))
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	f := &p.ifaces[0]
	sec, frac := p.order.Uint32(h[0:]), p.order.Uint32(h[4:])
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(sec), int64(frac)*int64(f.mul)), CaptureLength: int(incl), Length: max(toInt(orig), int(incl))}
	p.off += 16 + int64(incl)
	p.n++
	return data, ci, nil
}

// what names the next packet in errors.
func (p *PcapReader) what() string { return fmt.Sprintf("packet %d", p.n+1) }

// data consumes the next skip octets of a block or record (have octets
// of it read before, from offset start) and returns them: in the bufio
// buffer if they fit, else copied out (callers bound skip by
// maxPcapBlock).
func (p *PcapReader) data(start int64, have, skip int) ([]byte, error) {
	if skip <= p.r.Size() {
		b, err := p.r.Peek(skip)
		if err != nil {
			return nil, p.cut(p.what(), start, int64(have+skip), have+len(b))
		}
		p.r.Discard(skip)
		return b, nil
	}
	if cap(p.big) < skip {
		p.big = make([]byte, skip)
	}
	b := p.big[:skip]
	if k, err := io.ReadFull(p.r, b); err != nil {
		return nil, p.cut(p.what(), start, int64(have+skip), have+k)
	}
	return b, nil
}

// nextBlock reads pcapng blocks up to the next packet.
func (p *PcapReader) nextBlock() ([]byte, gopacket.CaptureInfo, error) {
	for {
		start := p.off
		n, err := io.ReadFull(p.r, p.hdr[:8])
		switch {
		case err == io.EOF:
			return nil, gopacket.CaptureInfo{}, io.EOF
		case err != nil:
			return nil, gopacket.CaptureInfo{}, p.cut("block header", start, 8, n)
		}
		typ, total := p.order.Uint32(p.hdr[:]), p.order.Uint32(p.hdr[4:])
		if typ == pcapngSHB {
			// The byte order may change: read the length again.
			if err := p.readSHB(start); err != nil {
				return nil, gopacket.CaptureInfo{}, err
			}
			continue
		}
		if total < 12 || total%4 != 0 {
			return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: block at offset %d: length %d", start, total)
		}
		switch typ {
		case pcapngIDB:
			if err := p.readIDB(start, total); err != nil {
				return nil, gopacket.CaptureInfo{}, err
			}
		case pcapngEPB, pcapngOPB:
			return p.readEPB(start, typ, total)
		case pcapngSPB:
			return p.readSPB(start, total)
		default:
			if err := p.skip(start, total); err != nil {
				return nil, gopacket.CaptureInfo{}, err
			}
		}
	}
}

// readSHB reads a section header block whose first 8 octets are in
// p.hdr: byte order and version. The interfaces of the previous section
// are forgotten.
func (p *PcapReader) readSHB(start int64) error {
	if n, err := io.ReadFull(p.r, p.hdr[8:12]); err != nil {
		return p.cut("section header block", start, 12, 8+n)
	}
	switch binary.LittleEndian.Uint32(p.hdr[8:]) {
	case pcapngBOM:
		p.order = binary.LittleEndian
	case bits.ReverseBytes32(pcapngBOM):
		p.order = binary.BigEndian
	default:
		return errorf(ErrMalformed, "packet: pcapng: section header at offset %d: byte-order magic % x", start, p.hdr[8:12])
	}
	total := p.order.Uint32(p.hdr[4:])
	if total < 28 || total%4 != 0 || total > maxPcapngHeader {
		return errorf(ErrMalformed, "packet: pcapng: section header at offset %d: block length %d", start, total)
	}
	body, err := p.readBody(start, "section header block", int(total), 12)
	if err != nil {
		return err
	}
	p.version = [2]uint16{p.order.Uint16(body[0:]), p.order.Uint16(body[2:])}
	if p.version[0] != 1 {
		return errorf(ErrMalformed, "packet: pcapng: section header at offset %d: version %d.%d, want 1.x", start, p.version[0], p.version[1])
	}
	p.ifaces = p.ifaces[:0]
	p.format = "pcapng"
	return nil
}

// readEPB reads an enhanced packet block (or an obsolete packet block,
// whose interface id is 16 bits followed by a drops count).
func (p *PcapReader) readEPB(start int64, typ, total uint32) ([]byte, gopacket.CaptureInfo, error) {
	const fixed = 28 // header 8, interface 4, timestamp 8, lengths 8
	if total < fixed+4 {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: %s at offset %d: block length %d", p.what(), start, total)
	}
	h := p.hdr[8:28]
	if n, err := io.ReadFull(p.r, h); err != nil {
		return nil, gopacket.CaptureInfo{}, p.cut(p.what(), start, int64(total), 8+n)
	}
	// Compared as uint32: in a 32-bit program int() of an id from 2^31
	// up is negative, passed the bound and indexed p.ifaces below 0.
	id := p.order.Uint32(h[0:])
	if typ == pcapngOPB {
		id = uint32(p.order.Uint16(h[0:]))
	}
	incl, orig := p.order.Uint32(h[12:]), p.order.Uint32(h[16:])
	if uint64(id) >= uint64(len(p.ifaces)) {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: %s at offset %d: interface %d of %d", p.what(), start, id, len(p.ifaces))
	}
	ifi := int(id)
	if incl > MaxPcapRecord {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: %s at offset %d: %d octets captured, more than the %d a record may hold", p.what(), start, incl, MaxPcapRecord)
	}
	padded := (int(incl) + 3) &^ 3
	if int64(total) < int64(fixed+padded+4) || total > uint32(fixed+padded+maxPcapngHeader) {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: %s at offset %d: block length %d for %d captured octets", p.what(), start, total, incl)
	}
	rest := int(total) - fixed // data, options, trailing length
	b, err := p.data(start, fixed, rest)
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	p.off += int64(total)
	if t := p.trailer(b); t != total {
		return nil, gopacket.CaptureInfo{}, badTrailer(p.what(), start, t, total)
	}
	data := b[:incl]
	f := &p.ifaces[ifi]
	ts := uint64(p.order.Uint32(h[4:]))<<32 | uint64(p.order.Uint32(h[8:]))
	ci := gopacket.CaptureInfo{Timestamp: f.time(ts), CaptureLength: int(incl), Length: max(toInt(orig), int(incl)), InterfaceIndex: ifi}
	p.n++
	return data, ci, nil
}

// readSPB reads a simple packet block: interface 0, no timestamp, the
// captured length the smaller of the original length and the interface's
// snap length.
func (p *PcapReader) readSPB(start int64, total uint32) ([]byte, gopacket.CaptureInfo, error) {
	const fixed = 12 // header 8, original length 4
	if total < fixed+4 {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: %s at offset %d: block length %d", p.what(), start, total)
	}
	if len(p.ifaces) == 0 {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: %s at offset %d: simple packet block without an interface", p.what(), start)
	}
	if n, err := io.ReadFull(p.r, p.hdr[8:12]); err != nil {
		return nil, gopacket.CaptureInfo{}, p.cut(p.what(), start, int64(total), 8+n)
	}
	orig := p.order.Uint32(p.hdr[8:])
	room := total - fixed - 4
	incl := min(orig, room)
	if s := p.ifaces[0].snaplen; s != 0 {
		incl = min(incl, s)
	}
	if incl > MaxPcapRecord || total-fixed-4 > MaxPcapRecord+3 {
		return nil, gopacket.CaptureInfo{}, errorf(ErrMalformed, "packet: pcapng: %s at offset %d: block of %d octets, more than the %d a record may hold", p.what(), start, total, MaxPcapRecord)
	}
	b, err := p.data(start, fixed, int(total)-fixed)
	if err != nil {
		return nil, gopacket.CaptureInfo{}, err
	}
	p.off += int64(total)
	if t := p.trailer(b); t != total {
		return nil, gopacket.CaptureInfo{}, badTrailer(p.what(), start, t, total)
	}
	p.n++
	return b[:incl], gopacket.CaptureInfo{CaptureLength: int(incl), Length: max(toInt(orig), int(incl))}, nil
}

// toInt is a record's original length as an int: in a 32-bit program one
// of 2^31 octets or more is math.MaxInt, not negative.
func toInt(v uint32) int { return int(min(uint64(v), math.MaxInt)) }
