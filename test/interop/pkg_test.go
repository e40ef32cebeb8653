package interop

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// pkgSide is nmgo's side of a test done with the video package directly:
// a Packetizer in RTP-only mode writing to a UDP socket, and a Depacketizer
// reading from one. It checks the peers' command lines, timing and file
// comparisons without nmbench, and tells a fault of the video package from
// one of nmbench.
type pkgSide struct{}

// sdp writes the SDP of the stream send sends to port, with Session.Marshal.
func (pkgSide) sdp(t testing.TB, c *format, port int) string {
	t.Helper()
	lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	s := video.Session{
		Origin: lo,
		Name:   "nmgo interop " + c.name,
		Streams: []video.Stream{{
			Format:      c.video(t),
			PayloadType: 96,
			Dst:         netip.AddrPortFrom(lo, uint16(port)),
		}},
	}
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "ours."+c.name+".sdp")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// send packetizes the frames of src (pgroup layout) and sends them to
// 127.0.0.1:port at most pps packets per second. The SDP is Marshal's, the
// same every time.
func (pkgSide) send(t testing.TB, c *format, port int, src string, pps int, _ string) {
	t.Helper()
	f := c.video(t)
	frames, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := video.NewPacketizer(&f, &video.PacketizerConfig{SSRC: 0x2110})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetWriteBuffer(4 << 20); err != nil {
		t.Fatal(err)
	}
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
	buf := make([]byte, p.MaxPacketLen())
	size := f.FrameSize()
	// Timestamps from the clock, as a real sender's: FFmpeg drops the first
	// frame if its RTP timestamp is 0 (its depacketizer starts with 0 as
	// the timestamp of the frame before and never allocates the frame).
	tai := time.Now().UnixNano() + 37e9
	begin, sent := time.Now(), 0
	for i := 0; (i+1)*size <= len(frames); i++ {
		if err := p.Frame(frames[i*size:(i+1)*size], tai+int64(i)*int64(f.Rate.Period())); err != nil {
			t.Fatal(err)
		}
		for {
			n, err := p.Next(buf)
			if errors.Is(err, video.ErrNoFrame) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.WriteToUDPAddrPort(buf[:n], dst); err != nil {
				t.Fatalf("send packet %d: %v", sent, err)
			}
			sent++
			if sent%32 == 0 {
				pace(begin, sent, pps)
			}
		}
	}
	t.Logf("video package sent %d frames, %d packets in %v", len(frames)/size, sent, time.Since(begin).Round(time.Millisecond))
}

// pace sleeps until sent packets are due at pps packets per second.
func pace(begin time.Time, sent, pps int) {
	due := begin.Add(time.Duration(float64(sent) / float64(pps) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}

// pkgReceiver receives frames on a UDP socket into a Depacketizer.
type pkgReceiver struct {
	conn   *net.UDPConn
	out    string
	want   int // frames to receive
	frames int // frames received
	done   chan struct{}
	stats  video.Stats
	bad    []string // frames delivered incomplete or without their marker
	err    error
}

// listen starts receiving c.frames frames on 127.0.0.1:port, written to out
// in pgroup layout.
func (pkgSide) listen(t testing.TB, c *format, port int, out string) receiver {
	t.Helper()
	f := c.video(t)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadBuffer(rcvbuf); err != nil {
		t.Fatal(err)
	}
	r := &pkgReceiver{conn: conn, out: out, want: c.frames, done: make(chan struct{})}
	t.Cleanup(func() { conn.Close(); <-r.done })
	go r.run(&f)
	return r
}

func (r *pkgReceiver) run(f *video.Format) {
	defer close(r.done)
	file, err := os.Create(r.out)
	if err != nil {
		r.err = err
		return
	}
	defer file.Close()
	d, err := video.NewDepacketizer(f, &video.DepacketizerConfig{
		PayloadType: 96,
		OnFrame: func(buf []byte, st *video.FrameStats) []byte {
			if r.frames < r.want {
				if !st.Complete || !st.Marker {
					r.bad = append(r.bad, frameStats(r.frames, st))
				}
				if _, err := file.Write(buf); err != nil && r.err == nil {
					r.err = err
				}
			}
			r.frames++
			return buf
		},
	})
	if err != nil {
		r.err = err
		return
	}
	if err := d.SetBuffer(make([]byte, f.FrameSize())); err != nil {
		r.err = err
		return
	}
	pkt := make([]byte, 9000)
	for r.frames < r.want {
		n, err := r.conn.Read(pkt)
		if err != nil {
			// Closed by wait: the sender is done and a frame is missing.
			d.Flush()
			break
		}
		d.Push(pkt[:n])
	}
	r.stats = d.Stats()
}

// wait waits up to d for the frames, then stops the receiver.
func (r *pkgReceiver) wait(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		r.conn.Close()
		<-r.done
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("video package received %d frames: %+v", r.frames, r.stats)
	if r.frames < r.want {
		t.Errorf("the video package received %d frames, want %d", r.frames, r.want)
	}
	for _, b := range r.bad {
		t.Errorf("received %s", b)
	}
}
