package packet

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// DefaultSnaplen is the snapshot length NewPcapWriter uses for 0: whole
// frames of any netmap buffer size.
const DefaultSnaplen = 65535

// PcapWriter writes Ethernet frames to a classic pcap file (microsecond
// timestamps, or nanosecond ones from [NewPcapWriterNanos]; link type
// Ethernet) with pcapgo, for tcpdump, tshark and Wireshark; [PcapReader]
// reads it back. It writes straight to its io.Writer: give it a bufio.Writer
// (and flush it) for anything but a few packets. A PcapWriter is not safe
// for concurrent use.
type PcapWriter struct {
	w       *pcapgo.Writer
	snaplen int
}

// NewPcapWriter writes the pcap file header to w and returns a writer for
// packets cut to snaplen bytes (0 means [DefaultSnaplen]).
func NewPcapWriter(w io.Writer, snaplen int) (*PcapWriter, error) {
	return newPcapWriter(pcapgo.NewWriter(w), snaplen)
}

// NewPcapWriterNanos is NewPcapWriter for a file with nanosecond
// timestamps (magic a1b23c4d), which tcpdump, tshark and Wireshark read as
// well: the time of each packet is kept to the nanosecond.
func NewPcapWriterNanos(w io.Writer, snaplen int) (*PcapWriter, error) {
	return newPcapWriter(pcapgo.NewWriterNanos(w), snaplen)
}

func newPcapWriter(w *pcapgo.Writer, snaplen int) (*PcapWriter, error) {
	if snaplen == 0 {
		snaplen = DefaultSnaplen
	}
	if snaplen < 0 || snaplen > 1<<18 {
		return nil, fmt.Errorf("packet: pcap snaplen %d out of range 1..%d", snaplen, 1<<18)
	}
	p := &PcapWriter{w: w, snaplen: snaplen}
	if err := p.w.WriteFileHeader(uint32(snaplen), layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("packet: write pcap header: %w", err)
	}
	return p, nil
}

// WritePacket writes one frame captured at ts (a zero ts means now, as
// pcapgo does), its first snaplen bytes and its full length. A time a
// classic pcap cannot hold (its seconds are 32 bits unsigned: 1970 to
// 2106) is an error, not a wrapped time. It does not allocate unless the
// underlying writer does or fails.
func (p *PcapWriter) WritePacket(ts time.Time, data []byte) error {
	if s := ts.Unix(); !ts.IsZero() && (s < 0 || s > math.MaxUint32) {
		return fmt.Errorf("packet: pcap timestamp %v: a classic pcap holds times from 1970 to 2106 (32-bit seconds)", ts.UTC())
	}
	c := min(len(data), p.snaplen)
	return p.w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: c, Length: len(data)}, data[:c])
}
