package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapFile writes frames with a PcapWriter (nanosecond timestamps if
// nanos), frame i at t0 + i ms + i ns.
func pcapFile(t testing.TB, frames [][]byte, nanos bool, t0 time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	mk := NewPcapWriter
	if nanos {
		mk = NewPcapWriterNanos
	}
	w, err := mk(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(t0.Add(time.Duration(i)*time.Millisecond+time.Duration(i)), f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// pcapngFile writes frames with pcapgo's pcapng writer (nanosecond
// resolution, one Ethernet interface).
func pcapngFile(t testing.TB, frames [][]byte, t0 time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, SnapLength: 65535,
		TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i)*time.Millisecond + time.Duration(i)), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll reads every packet of b, copying them, and returns the error
// that ended the reading (io.EOF at a clean end).
func readAll(t testing.TB, b []byte) ([][]byte, []gopacket.CaptureInfo, error) {
	t.Helper()
	r, err := NewPcapReader(bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	var out [][]byte
	var cis []gopacket.CaptureInfo
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			return out, cis, err
		}
		if len(data) != ci.CaptureLength || ci.Length < ci.CaptureLength {
			t.Fatalf("packet %d: %d octets, capture info %+v", len(out), len(data), ci)
		}
		out = append(out, bytes.Clone(data))
		cis = append(cis, ci)
	}
}

// TestPcapReaderRoundTrip reads back what PcapWriter (µs and ns) and
// pcapgo's pcapng writer wrote: octets, lengths and timestamps to the
// file's resolution.
func TestPcapReaderRoundTrip(t *testing.T) {
	frames := testFrames(t, 30)
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 123456789, time.UTC)
	for _, tc := range []struct {
		name, format string
		file         []byte
		res          time.Duration
	}{
		{"pcap-us", "pcap, microsecond timestamps", pcapFile(t, frames, false, t0), time.Microsecond},
		{"pcap-ns", "pcap, nanosecond timestamps", pcapFile(t, frames, true, t0), time.Nanosecond},
		{"pcapng", "pcapng", pcapngFile(t, frames, t0), time.Nanosecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewPcapReader(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.LinkType() != layers.LinkTypeEthernet || r.Format() != tc.format {
				t.Errorf("link type %v, format %q", r.LinkType(), r.Format())
			}
			got, cis, err := readAll(t, tc.file)
			if err != io.EOF {
				t.Fatalf("after %d packets: %v, want io.EOF", len(got), err)
			}
			if len(got) != len(frames) {
				t.Fatalf("%d packets, want %d", len(got), len(frames))
			}
			for i, f := range frames {
				ts := t0.Add(time.Duration(i)*time.Millisecond + time.Duration(i)).Truncate(tc.res)
				if !bytes.Equal(got[i], f) || cis[i].Length != len(f) || !cis[i].Timestamp.Equal(ts) {
					t.Errorf("packet %d: %d octets at %v, want %d at %v", i, len(got[i]), cis[i].Timestamp, len(f), ts)
				}
			}
		})
	}
}

// TestPcapReaderMatchesPcapgo reads the same files with gopacket's readers
// and compares.
func TestPcapReaderMatchesPcapgo(t *testing.T) {
	frames := testFrames(t, 10)
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 987654321, time.UTC)
	check := func(name string, file []byte, theirs gopacket.PacketDataSource) {
		got, cis, err := readAll(t, file)
		if err != io.EOF {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range got {
			data, ci, err := theirs.ReadPacketData()
			if err != nil {
				t.Fatalf("%s: pcapgo packet %d: %v", name, i, err)
			}
			if !bytes.Equal(data, got[i]) || !ci.Timestamp.Equal(cis[i].Timestamp) || ci.Length != cis[i].Length {
				t.Errorf("%s packet %d: ours %d octets at %v, pcapgo's %d at %v", name, i, len(got[i]), cis[i].Timestamp, len(data), ci.Timestamp)
			}
		}
	}
	for _, nanos := range []bool{false, true} {
		f := pcapFile(t, frames, nanos, t0)
		pr, err := pcapgo.NewReader(bytes.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		check("pcap", f, pr)
	}
	f := pcapngFile(t, frames, t0)
	nr, err := pcapgo.NewNgReader(bytes.NewReader(f), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	check("pcapng", f, nr)
}

// byteOrder reads and appends in one byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngBlock builds a pcapng block of type typ around body (padded to 4).
func ngBlock(order byteOrder, typ uint32, body []byte) []byte {
	pad := (4 - len(body)%4) % 4
	total := uint32(12 + len(body) + pad)
	b := order.AppendUint32(nil, typ)
	b = order.AppendUint32(b, total)
	b = append(b, body...)
	b = append(b, make([]byte, pad)...)
	return order.AppendUint32(b, total)
}

func ngSHB(order byteOrder) []byte {
	body := order.AppendUint32(nil, pcapngBOM)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint64(body, ^uint64(0))
	return ngBlock(order, pcapngSHB, body)
}

func ngIDB(order byteOrder, lt layers.LinkType, snap uint32, opts ...[]byte) []byte {
	body := order.AppendUint16(nil, uint16(lt))
	body = order.AppendUint16(body, 0)
	body = order.AppendUint32(body, snap)
	for _, o := range opts {
		body = append(body, o...)
	}
	return ngBlock(order, pcapngIDB, body)
}

func ngOpt(order byteOrder, code uint16, v []byte) []byte {
	b := order.AppendUint16(nil, code)
	b = order.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return append(b, make([]byte, (4-len(v)%4)%4)...)
}

func ngEPB(order byteOrder, ifi uint32, ts uint64, data []byte, orig int) []byte {
	body := order.AppendUint32(nil, ifi)
	body = order.AppendUint32(body, uint32(ts>>32))
	body = order.AppendUint32(body, uint32(ts))
	body = order.AppendUint32(body, uint32(len(data)))
	body = order.AppendUint32(body, uint32(orig))
	body = append(body, data...)
	return ngBlock(order, pcapngEPB, body)
}

// TestPcapngBlocks reads hand-made pcapng: both byte orders in two
// sections, timestamp resolutions and offsets, simple and obsolete packet
// blocks, interfaces of different link types, and blocks it skips.
func TestPcapngBlocks(t *testing.T) {
	le, be := byteOrder(binary.LittleEndian), byteOrder(binary.BigEndian)
	p1, p2, p3, p4, p5 := []byte("first packet"), []byte("second"), []byte("3rd, raw ip"), []byte("simple packet block"), []byte("obsolete")
	var f []byte
	f = append(f, ngSHB(le)...)
	f = append(f, ngBlock(le, 0x0000000a, []byte("decryption secrets to skip"))...)
	f = append(f, ngIDB(le, layers.LinkTypeEthernet, 0, ngOpt(le, 9, []byte{3}), ngOpt(le, 14, le.AppendUint64(nil, 100)), ngOpt(le, 0, nil))...)
	f = append(f, ngIDB(le, layers.LinkTypeRaw, 0, ngOpt(le, 9, []byte{0x80 | 10}))...)
	f = append(f, ngEPB(le, 0, 5_000_123, p1, 100)...)     // ms: 5000.123 s + 100 s offset
	f = append(f, ngEPB(le, 1, 3<<10|512, p2, len(p2))...) // 2^-10 s: 3.5 s
	f = append(f, ngBlock(le, 5, make([]byte, 40))...)     // interface statistics
	f = append(f, ngSHB(be)...)
	f = append(f, ngIDB(be, layers.LinkTypeLinuxSLL2, 8)...) // µs, snaplen 8
	f = append(f, ngEPB(be, 0, 7_000_001, p3, len(p3))...)
	spb := be.AppendUint32(nil, uint32(len(p4)))
	f = append(f, ngBlock(be, pcapngSPB, append(spb, p4...))...)
	opb := be.AppendUint16(nil, 0)
	opb = be.AppendUint16(opb, 0) // drops
	opb = be.AppendUint32(opb, 0)
	opb = be.AppendUint32(opb, 9)
	opb = be.AppendUint32(opb, uint32(len(p5)))
	opb = be.AppendUint32(opb, uint32(len(p5)))
	f = append(f, ngBlock(be, pcapngOPB, append(opb, p5...))...)

	r, err := NewPcapReader(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v", r.LinkType())
	}
	want := []struct {
		data []byte
		orig int
		ts   time.Time
		ifi  int
		lt   layers.LinkType
	}{
		{p1, 100, time.Unix(5100, 123e6), 0, layers.LinkTypeEthernet},
		{p2, len(p2), time.Unix(3, 5e8), 1, layers.LinkTypeRaw},
		{p3, len(p3), time.Unix(7, 1000), 0, layers.LinkTypeLinuxSLL2},
		{p4[:8], len(p4), time.Time{}, 0, layers.LinkTypeLinuxSLL2}, // cut to the snaplen
		{p5, len(p5), time.Unix(0, 9000), 0, layers.LinkTypeLinuxSLL2},
	}
	for i, w := range want {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		lt, ok := r.InterfaceLinkType(ci.InterfaceIndex)
		if !bytes.Equal(data, w.data) || ci.Length != w.orig || ci.InterfaceIndex != w.ifi || !ok || lt != w.lt ||
			(!w.ts.IsZero() && !ci.Timestamp.Equal(w.ts)) {
			t.Errorf("packet %d: %q (%d) at %v on %d (%v), want %q (%d) at %v on %d (%v)", i, data, ci.Length,
				ci.Timestamp, ci.InterfaceIndex, lt, w.data, w.orig, w.ts, w.ifi, w.lt)
		}
	}
	if _, _, err := r.ZeroCopyReadPacketData(); err != io.EOF {
		t.Errorf("at the end: %v", err)
	}
	if r.Packets() != len(want) {
		t.Errorf("Packets() = %d", r.Packets())
	}
}

// TestPcapReaderBigEndian reads a classic pcap written big-endian, as a
// SPARC or PowerPC host writes it.
func TestPcapReaderBigEndian(t *testing.T) {
	be := binary.BigEndian
	h := be.AppendUint32(nil, pcapMagicNanos)
	h = be.AppendUint16(h, 2)
	h = be.AppendUint16(h, 4)
	h = append(h, make([]byte, 8)...)
	h = be.AppendUint32(h, 65535)
	h = be.AppendUint32(h, uint32(layers.LinkTypeRaw))
	data := []byte{0x45, 0, 0, 20}
	h = be.AppendUint32(h, 12)
	h = be.AppendUint32(h, 345)
	h = be.AppendUint32(h, uint32(len(data)))
	h = be.AppendUint32(h, 1500)
	h = append(h, data...)
	got, cis, err := readAll(t, h)
	if err != io.EOF || len(got) != 1 || !bytes.Equal(got[0], data) || cis[0].Length != 1500 || !cis[0].Timestamp.Equal(time.Unix(12, 345)) {
		t.Fatalf("%q %+v %v", got, cis, err)
	}
	r, _ := NewPcapReader(bytes.NewReader(h))
	if r.LinkType() != layers.LinkTypeRaw || r.Format() != "pcap, nanosecond timestamps" {
		t.Errorf("%v %q", r.LinkType(), r.Format())
	}
}

// TestPcapReaderBadFiles: an empty, short or foreign file fails in
// NewPcapReader with an error that says what it is; a file header cut
// short matches ErrTruncated.
func TestPcapReaderBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
		cut              bool
	}{
		{"empty", "", "empty file", false},
		{"short", "\xd4\xc3", "too short", true},
		{"text", "GET / HTTP/1.1\r\n", "not a pcap or pcapng file: it starts with 47 45 54 20", false},
		{"pcap header cut", "\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "file header cut short: 8 of 24", true},
		{"pcap version", "\xd4\xc3\xb2\xa1\x01\x00\x04\x00" + strings.Repeat("\x00", 16), "version 1.4", false},
		{"pcapng cut", "\x0a\x0d\x0d\x0a\x1c\x00\x00\x00", "cut short", true},
		{"pcapng bom", "\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x11\x22\x33\x44", "byte-order magic", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPcapReader(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
			if errors.Is(err, ErrTruncated) != tc.cut {
				t.Errorf("error %v matches ErrTruncated: %v, want %v", err, !tc.cut, tc.cut)
			}
		})
	}
}

// TestPcapReaderCut cuts valid files at every octet: the reader returns
// every whole packet before the cut, then io.EOF only if the cut falls
// between packets, else an error matching ErrTruncated that names the
// packet, never a silent end.
func TestPcapReaderCut(t *testing.T) {
	frames := testFrames(t, 4)
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"pcap", pcapFile(t, frames, true, t0)},
		{"pcapng", pcapngFile(t, frames, t0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The offsets where a packet ends.
			ends := map[int]int{}
			r, err := NewPcapReader(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			headerEnd := int(r.off)
			for i := range frames {
				if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
					t.Fatal(err)
				}
				ends[int(r.off)] = i + 1
			}
			for cut := headerEnd; cut < len(tc.file); cut++ {
				_, end := ends[cut]
				_, before := ends[cut+1]
				if cut > headerEnd+200 && !end && !before && cut%37 != 0 {
					continue // every octet of the first packets, then a sample
				}
				got, _, err := readAll(t, tc.file[:cut])
				if n, ok := ends[cut]; ok || cut == headerEnd {
					if err != io.EOF || len(got) != n {
						t.Fatalf("cut at %d (after packet %d): %d packets, %v", cut, n, len(got), err)
					}
					continue
				}
				if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "cut short") {
					t.Fatalf("cut at %d: %d packets, error %v, want ErrTruncated", cut, len(got), err)
				}
				for i := range got {
					if !bytes.Equal(got[i], frames[i]) {
						t.Fatalf("cut at %d: packet %d differs", cut, i)
					}
				}
			}
		})
	}
}

// TestPcapReaderRecordLimit: a record announcing more than MaxPcapRecord
// octets is an error, not an allocation.
func TestPcapReaderRecordLimit(t *testing.T) {
	f := pcapFile(t, testFrames(t, 1), false, time.Unix(1, 0))
	binary.LittleEndian.PutUint32(f[24+8:], MaxPcapRecord+1)
	_, _, err := readAll(t, f)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "more than the 262144") {
		t.Fatalf("error %v", err)
	}
}

// TestPcapReaderAllocs: reading a packet allocates nothing, nor do the
// blocks before it that the reader skips (one allocation each, once: a
// file of small blocks chose how many) or reads (a section and interface
// headers again before each packet).
func TestPcapReaderAllocs(t *testing.T) {
	frames := testFrames(t, 1200)
	le := byteOrder(binary.LittleEndian)
	skipped := append(ngSHB(le), ngIDB(le, layers.LinkTypeEthernet, 0)...)
	sections := []byte{}
	for _, f := range frames {
		for range 10 {
			skipped = append(skipped, ngBlock(le, 5, make([]byte, 4))...) // interface statistics
		}
		skipped = append(skipped, ngEPB(le, 0, 1, f, len(f))...)
		sections = append(sections, ngSHB(le)...)
		sections = append(sections, ngIDB(le, layers.LinkTypeEthernet, 0, ngOpt(le, 9, []byte{9}))...)
		sections = append(sections, ngEPB(le, 0, 1, f, len(f))...)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"pcap", pcapFile(t, frames, true, time.Unix(1, 0))},
		{"pcapng", pcapngFile(t, frames, time.Unix(1, 0))},
		{"pcapng, 10 blocks skipped a packet", skipped},
		{"pcapng, a section a packet", sections},
	} {
		r, err := NewPcapReader(bytes.NewReader(tc.b))
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(1000, func() {
			if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per packet", tc.name, n)
		}
	}
}

// BenchmarkPcapReader reads 1442-octet packets from memory.
func BenchmarkPcapReader(b *testing.B) {
	frames := make([][]byte, 1000)
	for i := range frames {
		frames[i] = bytes.Repeat([]byte{byte(i)}, 1442)
	}
	file := pcapFile(b, frames, true, time.Unix(1, 0))
	b.SetBytes(1442)
	b.ReportAllocs()
	rd := bytes.NewReader(file)
	r, _ := NewPcapReader(rd)
	for b.Loop() {
		if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
			rd.Reset(file)
			r, _ = NewPcapReader(rd)
		}
	}
}

// FuzzPcapReader reads arbitrary bytes as a capture: NewPcapReader fails,
// or packets come until io.EOF or an error matching ErrTruncated or
// ErrMalformed; never a panic, a packet longer than MaxPcapRecord or a
// header buffer beyond its limit. What it reads, a PcapWriter writes back
// (or refuses, for a time a classic pcap cannot hold) and a PcapReader
// reads again the same, to the nanosecond.
func FuzzPcapReader(f *testing.F) {
	frames := testFrames(f, 3)
	t0 := time.Unix(1_700_000_000, 5)
	f.Add(pcapFile(f, frames, false, t0))
	f.Add(pcapFile(f, frames, true, t0))
	f.Add(pcapngFile(f, frames, t0))
	le := byteOrder(binary.LittleEndian)
	ng := append(ngSHB(le), ngIDB(le, layers.LinkTypeRaw, 4, ngOpt(le, 9, []byte{0x85}))...)
	ng = append(ng, ngBlock(le, pcapngSPB, append(le.AppendUint32(nil, 9), "abcdefghi"...))...)
	f.Add(ng)
	be := byteOrder(binary.BigEndian)
	ngBE := append(ngSHB(be), ngIDB(be, layers.LinkTypeEthernet, 0, ngOpt(be, 14, be.AppendUint64(nil, 7)))...)
	ngBE = append(ngBE, ngEPB(be, 0, 1<<40, frames[0], len(frames[0])+4)...)
	ngBE = append(ngBE, ngBlock(be, 5, make([]byte, 12))...) // skipped
	f.Add(append(ngBE, ngSHB(le)...))
	f.Add([]byte{})
	f.Add([]byte("\x0a\x0d\x0d\x0a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewPcapReader(bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "packet: ") {
				t.Fatalf("error %q", err)
			}
			return
		}
		var out bytes.Buffer
		w, err := NewPcapWriterNanos(&out, MaxPcapRecord)
		if err != nil {
			t.Fatal(err)
		}
		type rec struct {
			data []byte
			ts   time.Time
		}
		var wrote []rec
		defer func() {
			back, err := NewPcapReader(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range wrote {
				data, ci, err := back.ReadPacketData()
				if err != nil || !bytes.Equal(data, want.data) || !ci.Timestamp.Equal(want.ts) {
					t.Fatalf("packet %d written back: %d octets at %v (%v), want %d at %v", i, len(data), ci.Timestamp, err, len(want.data), want.ts)
				}
			}
			if _, _, err := back.ReadPacketData(); err != io.EOF {
				t.Fatalf("after the %d packets written back: %v", len(wrote), err)
			}
		}()
		for {
			data, ci, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v matches neither sentinel", err)
				}
				return
			}
			ts := ci.Timestamp
			if ts.IsZero() {
				ts = time.Unix(0, 0) // a zero time is "now" to the writer
			}
			werr := w.WritePacket(ts, data)
			if s := ts.Unix(); (werr == nil) != (s >= 0 && s <= math.MaxUint32) {
				t.Fatalf("time %v (%d s): write %v", ts, s, werr)
			}
			if werr == nil {
				wrote = append(wrote, rec{bytes.Clone(data), ts})
			}
			if len(data) > MaxPcapRecord || len(data) != ci.CaptureLength || ci.Length < ci.CaptureLength {
				t.Fatalf("%d octets, %+v", len(data), ci)
			}
			if _, ok := r.InterfaceLinkType(ci.InterfaceIndex); !ok {
				t.Fatalf("packet on interface %d of %d", ci.InterfaceIndex, len(r.ifaces))
			}
			if cap(r.buf) > maxPcapngHeader || cap(r.big) > maxPcapBlock {
				t.Fatalf("buffers of %d and %d octets", cap(r.buf), cap(r.big))
			}
		}
	})
}

// TestPcapngResolutions: if_tsresol in every form, 2^-0 (whole seconds,
// once read as microseconds) and 10^-0 among them.
func TestPcapngResolutions(t *testing.T) {
	le := byteOrder(binary.LittleEndian)
	for _, c := range []struct {
		resol byte
		ts    uint64
		want  time.Time
	}{
		{0x80, 5, time.Unix(5, 0)},            // 2^-0: seconds
		{0x81, 11, time.Unix(5, 5e8)},         // 2^-1
		{0x80 | 30, 3 << 30, time.Unix(3, 0)}, // 2^-30
		{0x80 | 63, 1 << 62, time.Unix(0, 5e8)},
		{0, 5, time.Unix(5, 0)}, // 10^-0: seconds
		{6, 5_000_001, time.Unix(5, 1000)},
		{9, 5_000_000_001, time.Unix(5, 1)},
		{12, 5_000_000_001_000, time.Unix(5, 1)},
	} {
		f := append(ngSHB(le), ngIDB(le, layers.LinkTypeEthernet, 0, ngOpt(le, 9, []byte{c.resol}))...)
		f = append(f, ngEPB(le, 0, c.ts, []byte{1, 2, 3, 4}, 4)...)
		r, err := NewPcapReader(bytes.NewReader(f))
		if err != nil {
			t.Fatal(err)
		}
		_, ci, err := r.ZeroCopyReadPacketData()
		if err != nil || !ci.Timestamp.Equal(c.want) {
			t.Errorf("if_tsresol %#x, %d units: %v (%v), want %v", c.resol, c.ts, ci.Timestamp.UTC(), err, c.want.UTC())
		}
	}
}

// Lengths and interface ids from 2^31 up are read as what they are in a
// 32-bit program too: an enhanced packet block on interface 2^31 once
// became interface -2^31 there, passed the bound and indexed below the
// interfaces (a panic); a block of 2^31+16 octets to skip became a
// negative count.
func TestPcapngFieldsFrom2to31(t *testing.T) {
	le := byteOrder(binary.LittleEndian)
	head := append(ngSHB(le), ngIDB(le, layers.LinkTypeEthernet, 0)...)
	for _, c := range []struct {
		name string
		file []byte
		is   error
		says string
	}{
		{"interface 2^31", append(append([]byte{}, head...), ngEPB(le, 1<<31, 0, []byte("x"), 1)...), ErrMalformed, "interface 2147483648 of 1"},
		{"interface 2^32-1", append(append([]byte{}, head...), ngEPB(le, 1<<32-1, 0, []byte("x"), 1)...), ErrMalformed, "interface 4294967295 of 1"},
		{"skip 2^31+16", append(append([]byte{}, head...), le.AppendUint32(le.AppendUint32(nil, 0x0a), 1<<31+16)...), ErrTruncated, "2147483664 octets announced, 8 in the file"},
	} {
		r, err := NewPcapReader(bytes.NewReader(c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, _, err = r.ZeroCopyReadPacketData()
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.is, c.says)
		}
	}
	// An original length of 2^31+5: the largest int in a 32-bit
	// program, where it once was the captured length instead.
	origBig := int64(1<<31 + 5)
	if math.MaxInt == math.MaxInt32 {
		origBig = -(1<<31 - 5) // as ngEPB's uint32(orig) makes it 2^31+5
	}
	r, err := NewPcapReader(bytes.NewReader(append(append([]byte{}, head...), ngEPB(le, 0, 0, []byte("x"), int(origBig))...)))
	if err != nil {
		t.Fatal(err)
	}
	_, ci, err := r.ZeroCopyReadPacketData()
	if want := min(int64(1<<31+5), math.MaxInt); err != nil || int64(ci.Length) != want {
		t.Errorf("original length 2^31+5: %d (%v), want %d", ci.Length, err, want)
	}
}

// absentReader serves head, then n octets it does not write (a block's
// body read for nothing: the reader's buffer keeps what it held), then
// tail, then io.EOF.
type absentReader struct {
	head []byte
	n    int64
	tail []byte
}

func (r *absentReader) Read(p []byte) (int, error) {
	switch {
	case len(r.head) > 0:
		k := copy(p, r.head)
		r.head = r.head[k:]
		return k, nil
	case r.n > 0:
		k := int(min(int64(len(p)), r.n))
		r.n -= int64(k)
		return k, nil
	case len(r.tail) > 0:
		k := copy(p, r.tail)
		r.tail = r.tail[k:]
		return k, nil
	}
	return 0, io.EOF
}

// TestPcapngSkipWhole: a block the reader does not use is discarded whole,
// however long: one of 2^31+16 octets, which a 32-bit program discards in
// pieces (bufio's Discard takes an int, and 2^31+4 is a negative one
// there, which it refuses), is read to its trailer and the file to its
// end. A skipped block cut short says how much of it the file holds: the
// octets of its body discarded, in every piece, and of its trailer read
// count.
func TestPcapngSkipWhole(t *testing.T) {
	le := byteOrder(binary.LittleEndian)
	head := append(ngSHB(le), ngIDB(le, layers.LinkTypeEthernet, 0)...)
	const total = 1<<31 + 16
	r, err := NewPcapReader(&absentReader{
		head: le.AppendUint32(le.AppendUint32(bytes.Clone(head), 0x0a), total),
		n:    total - 12,
		tail: le.AppendUint32(nil, total),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.ZeroCopyReadPacketData(); err != io.EOF {
		t.Errorf("a block of 2^31+16 octets skipped, then the file's end: %v, want io.EOF", err)
	}
	// Cut 2^30+5 octets into its body: in the second 1 GiB piece, on every
	// architecture.
	r, err = NewPcapReader(&absentReader{
		head: le.AppendUint32(le.AppendUint32(bytes.Clone(head), 0x0a), total),
		n:    1<<30 + 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = r.ZeroCopyReadPacketData()
	if says := "2147483664 octets announced, 1073741837 in the file"; !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), says) {
		t.Errorf("a block of 2^31+16 octets cut in its body: %v, want ErrTruncated saying %q", err, says)
	}
	block := ngBlock(le, 0x0a, make([]byte, 20))
	for _, c := range []struct {
		name string
		keep int
		says string
	}{
		{"in its body", 18, "32 octets announced, 18 in the file"},
		{"in its trailer", 30, "32 octets announced, 30 in the file"},
	} {
		r, err := NewPcapReader(bytes.NewReader(append(bytes.Clone(head), block[:c.keep]...)))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		_, _, err = r.ZeroCopyReadPacketData()
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("a skipped block cut %s: %v, want ErrTruncated saying %q", c.name, err, c.says)
		}
	}
}

// TestPcapngTrailingLength: a block ends with its length again, which
// the reader checked for section and interface headers only: a packet
// block or a skipped block whose two lengths differ (a corrupt file, or
// one cut and spliced) was read on, out of step with the blocks. It is an
// error naming the block, as Wireshark makes it.
func TestPcapngTrailingLength(t *testing.T) {
	le := byteOrder(binary.LittleEndian)
	head := append(ngSHB(le), ngIDB(le, layers.LinkTypeEthernet, 0)...)
	spb := ngBlock(le, pcapngSPB, append(le.AppendUint32(nil, 5), "abcde"...))
	isb := ngBlock(le, 5, make([]byte, 12)) // interface statistics: skipped
	for _, c := range []struct {
		name  string
		block []byte
	}{
		{"enhanced packet block", ngEPB(le, 0, 1, []byte("abcdefgh"), 8)},
		{"simple packet block", spb},
		{"skipped block", isb},
	} {
		b := bytes.Clone(c.block)
		le.PutUint32(b[len(b)-4:], uint32(len(b)+4))
		file := append(append(bytes.Clone(head), b...), ngEPB(le, 0, 2, []byte("next"), 4)...)
		r, err := NewPcapReader(bytes.NewReader(file))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got error
		for range 3 {
			if _, _, got = r.ZeroCopyReadPacketData(); got != nil {
				break
			}
		}
		want := fmt.Sprintf("block length %d at its end, %d at its start", len(b)+4, len(b))
		if !errors.Is(got, ErrMalformed) || !strings.Contains(got.Error(), want) {
			t.Errorf("%s with a wrong trailing length: %v, want an error saying %q", c.name, got, want)
		}
	}
}
