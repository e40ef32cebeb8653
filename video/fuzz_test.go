package video

import (
	"encoding/binary"
	"testing"
)

// fuzzFormats are the formats FuzzDepacketizer picks from.
var fuzzFormats = []Format{
	{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 8, Scan: Progressive},
	{Sampling: YCbCr420, Depth: Depth10, Width: 32, Height: 8, Scan: Interlaced, Rate: Rate29_97},
	{Sampling: RGB, Depth: Depth12, Width: 16, Height: 4, Scan: PsF},
	{Sampling: YCbCr411, Depth: Depth8, Width: 8, Height: 2, Scan: Progressive},
}

// FuzzDepacketizer pushes arbitrary packets into a frame buffer flanked by
// guard bytes: it must never panic, never write outside the buffer, and keep
// its counts consistent. The input is a format selector and then packets,
// each prefixed by a 2-octet length.
func FuzzDepacketizer(f *testing.F) {
	for i := range fuzzFormats {
		fm := fuzzFormats[i]
		for _, c := range []*PacketizerConfig{nil, {Continuous: true, PayloadSize: 100}} {
			p, err := NewPacketizer(&fm, c)
			if err != nil {
				f.Fatal(err)
			}
			seed := []byte{byte(i)}
			for _, s := range packetize(f, p, randomFrame(&fm, uint64(i)), 1e18) {
				seed = binary.BigEndian.AppendUint16(seed, uint16(len(s.b)))
				seed = append(seed, s.b...)
			}
			f.Add(seed)
		}
	}
	f.Add([]byte{0, 0, 20, 0x80, 0xe0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x7f, 0xff, 0x7f, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		fm := fuzzFormats[int(in[0])%len(fuzzFormats)]
		in = in[1:]
		const guard = 64
		size := fm.FrameSize()
		mem := make([]byte, guard+size+guard)
		for i := range mem {
			mem[i] = 0xee
		}
		frames, complete := 0, 0
		d, err := NewDepacketizer(&fm, &DepacketizerConfig{OnFrame: func(buf []byte, st *FrameStats) []byte {
			frames++
			if st.Complete {
				complete++
			}
			if len(buf) != size || st.Packets < 0 || st.Bytes < 0 || st.BadRows < 0 {
				t.Fatalf("frame of %d octets, stats %+v", len(buf), st)
			}
			return buf
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SetBuffer(mem[guard : guard+size : guard+size]); err != nil {
			t.Fatal(err)
		}
		var pushed uint64
		for len(in) >= 2 {
			n := int(binary.BigEndian.Uint16(in))
			in = in[2:]
			n = min(n, len(in))
			d.Push(in[:n])
			pushed++
			in = in[n:]
		}
		d.Flush()
		for i := range guard {
			if mem[i] != 0xee || mem[guard+size+i] != 0xee {
				t.Fatalf("guard byte written at %d", i)
			}
		}
		s := d.Stats()
		if s.Packets != pushed || s.Frames != uint64(frames) || s.Complete != uint64(complete) || s.Complete > s.Frames ||
			s.Malformed+s.WrongPT+s.NoBuffer+s.Duplicates+s.Late > s.Packets {
			t.Fatalf("stats %+v after %d packets, %d frames", s, pushed, frames)
		}
	})
}
