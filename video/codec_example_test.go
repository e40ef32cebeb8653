package video_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"

	"github.com/nmgo/nmgo/video"
)

// A small 4:2:2 10-bit format for the examples: 16x4, so 40 octets a line.
var small = video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 16, Height: 4,
	Scan: video.Progressive, Rate: video.Rate50}

// Cut a frame into RTP packets (the UDP payloads a socket sends): one call
// to Frame, then Next until video.ErrNoFrame.
func ExamplePacketizer() {
	p, err := video.NewPacketizer(&small, &video.PacketizerConfig{SSRC: 0x2110, Seq: 100})
	if err != nil {
		log.Fatal(err)
	}
	frame := make([]byte, small.FrameSize()) // pgroup layout: 4 lines of 40 octets
	// The frame was sampled at this TAI time (nanoseconds), which sets its RTP timestamp.
	if err := p.Frame(frame, 1_700_000_000_000_000_000); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, p.MaxPacketLen())
	for {
		n, err := p.Next(buf)
		if err == video.ErrNoFrame {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		seq := binary.BigEndian.Uint16(buf[2:])
		marker := buf[1]&0x80 != 0
		line := binary.BigEndian.Uint16(buf[16:]) & 0x7fff // first SRD header, after RTP header and extended sequence
		fmt.Printf("seq %d line %d: %d octets, marker %v\n", seq, line, n, marker)
	}
	// Output:
	// seq 100 line 0: 60 octets, marker false
	// seq 101 line 1: 60 octets, marker false
	// seq 102 line 2: 60 octets, marker false
	// seq 103 line 3: 60 octets, marker true
}

// Reassemble frames from RTP packets, here the packetizer's.
func ExampleDepacketizer() {
	want := make([]byte, small.FrameSize())
	for i := range want {
		want[i] = byte(i)
	}
	d, err := video.NewDepacketizer(&small, &video.DepacketizerConfig{
		OnFrame: func(buf []byte, st *video.FrameStats) []byte {
			fmt.Printf("frame: %d packets, complete %v, same as sent %v\n", st.Packets, st.Complete, bytes.Equal(buf, want))
			return buf // reuse the buffer for the next frame
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := d.SetBuffer(make([]byte, small.FrameSize())); err != nil {
		log.Fatal(err)
	}

	p, _ := video.NewPacketizer(&small, nil)
	_ = p.Frame(want, 0)
	buf := make([]byte, p.MaxPacketLen())
	for {
		n, err := p.Next(buf)
		if err != nil {
			break
		}
		d.Push(buf[:n]) // a received UDP payload
	}
	// Output:
	// frame: 4 packets, complete true, same as sent true
}

// Pack a planar frame as ffmpeg writes yuv422p10le (the Y plane, then Cb,
// then Cr, 16-bit little-endian words) into the RFC 4175 pgroup layout
// that packetizers send.
func ExamplePack() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 2, Height: 1,
		Scan: video.Progressive, Rate: video.Rate50}
	n, _ := video.PlanarSize(&f, video.YUV422P10LE)
	planar := make([]byte, n)
	for i, v := range []uint16{0x3ff, 0x200, 0x100, 0x080} { // Y0 Y1 Cb Cr
		binary.LittleEndian.PutUint16(planar[2*i:], v)
	}
	pgroup := make([]byte, f.FrameSize())
	if err := video.Pack(pgroup, planar, &f, video.YUV422P10LE); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d planar octets -> pgroup % x (Cb Y0 Cr Y1, 10 bits each)\n", n, pgroup)
	// Output:
	// 8 planar octets -> pgroup 40 3f f2 02 00 (Cb Y0 Cr Y1, 10 bits each)
}

// Unpack a received frame into yuv422p10le planes, as ffmpeg and most
// image tools read them.
func ExampleUnpack() {
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 2, Height: 1,
		Scan: video.Progressive, Rate: video.Rate50}
	pgroup := []byte{0x40, 0x3f, 0xf2, 0x02, 0x00} // Cb 0x100, Y0 0x3ff, Cr 0x080, Y1 0x200
	n, _ := video.PlanarSize(&f, video.YUV422P10LE)
	planar := make([]byte, n)
	if err := video.Unpack(planar, pgroup, &f, video.YUV422P10LE); err != nil {
		log.Fatal(err)
	}
	for i, name := range []string{"Y0", "Y1", "Cb", "Cr"} {
		fmt.Printf("%s %#x\n", name, binary.LittleEndian.Uint16(planar[2*i:]))
	}
	// Output:
	// Y0 0x3ff
	// Y1 0x200
	// Cb 0x100
	// Cr 0x80
}
