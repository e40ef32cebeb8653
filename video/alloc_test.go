package video

import (
	"net"
	"net/netip"
	"testing"

	"github.com/nmgo/nmgo/packet"
)

// The per-packet paths allocate nothing.

func TestPacketizerAllocs(t *testing.T) {
	tmpl, err := packet.NewTemplate(&packet.TemplateConfig{
		SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 1},
		Src: netip.MustParseAddrPort("10.0.0.1:5004"), Dst: netip.MustParseAddrPort("239.0.0.1:5004"),
		PayloadType: 96, RFC4175: true, UDPChecksum: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Interlaced, Rate: Rate29_97}
	frame := make([]byte, f.FrameSize())
	for _, cfg := range []PacketizerConfig{{}, {Packing: BPM}, {Continuous: true}, {Template: tmpl}} {
		p := mustPacketizer(t, f, &cfg)
		buf := make([]byte, 2048)
		var tai int64
		allocs := testing.AllocsPerRun(1000, func() {
			if p.Remaining() == 0 {
				tai += 33366667
				if err := p.Frame(frame, tai); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := p.Next(buf); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%+v: %v allocations per packet", cfg, allocs)
		}
	}
}

func TestDepacketizerAllocs(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Interlaced, Rate: Rate29_97}
	p := mustPacketizer(t, f, nil)
	var pkts [][]byte
	for i := range 2 {
		for _, s := range packetize(t, p, make([]byte, f.FrameSize()), int64(i)*33366667) {
			pkts = append(pkts, s.b)
		}
	}
	frames := 0
	d, err := NewDepacketizer(&f, &DepacketizerConfig{OnFrame: func(buf []byte, st *FrameStats) []byte {
		frames++
		return buf
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetBuffer(make([]byte, f.FrameSize())); err != nil {
		t.Fatal(err)
	}
	i := 0
	allocs := testing.AllocsPerRun(len(pkts)-1, func() { // covers every packet, both markers of both frames
		d.Push(pkts[i])
		i++
	})
	if allocs != 0 || frames != 2 {
		t.Errorf("%v allocations per packet, %d frames", allocs, frames)
	}
}
