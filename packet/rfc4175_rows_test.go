package packet_test

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"

	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// TestRFC4175DecodesMaxRows: the gopacket layer decodes what our own
// packetizer makes with MaxRows, as FFmpeg and GStreamer make for narrow
// formats: over a hundred SRD headers a packet (2x1080i 4:2:0 8-bit: a
// row of one 6-octet pgroup, two lines high; 120 rows in 1460 octets),
// each SRD's Data the frame's bytes of its row.
func TestRFC4175DecodesMaxRows(t *testing.T) {
	f := video.Format{Sampling: video.YCbCr420, Depth: video.Depth8, Width: 2, Height: 1080, Scan: video.Interlaced, Rate: video.Rate29_97}
	p, err := video.NewPacketizer(&f, &video.PacketizerConfig{Continuous: true, MaxRows: 10000, NoRandom: true})
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, f.FrameSize())
	for i := range frame {
		frame[i] = byte(i*7 + i>>8)
	}
	if err := p.Frame(frame, 1e9); err != nil {
		t.Fatal(err)
	}
	rowBytes, fields := f.RowBytes(), f.Scan.Fields()
	buf := make([]byte, p.MaxPacketLen())
	var rtp packet.RTP
	var h packet.RFC4175
	most, rows := 0, 0
	for p.Remaining() > 0 {
		n, err := p.Next(buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := rtp.DecodeFromBytes(buf[:n], gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		if err := h.DecodeFromBytes(rtp.Payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("packet of %d octets: %v", n, err)
		}
		most = max(most, len(h.SRDs))
		for i, s := range h.SRDs {
			// One pgroup a row, two lines high.
			fld := 0
			if s.Field {
				fld = 1
			}
			at := (int(s.Line)/2*fields + fld) * rowBytes
			if s.Offset != 0 || int(s.Length) != rowBytes || !bytes.Equal(h.Data(i), frame[at:at+rowBytes]) {
				t.Fatalf("SRD %d of %d: %+v, data % x", i, len(h.SRDs), s, h.Data(i))
			}
			rows++
		}
	}
	if most < 100 || rows != f.Rows()*fields {
		t.Errorf("%d SRD headers a packet at most, %d rows in all; want 100 or more, %d", most, rows, f.Rows()*fields)
	}
}
