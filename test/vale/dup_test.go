//go:build linux

package vale_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// TestST2110DupVale: ST 2022-7 over two VALE switches as the two paths,
// st2110.Dial on a port of each, st2110.Listen on another port of each:
// every frame byte for byte, none lost, each path bringing every packet.
// Then the second path crosses the VM's NICs, a port of the switches on
// its way (vale63: the sender's port and eth0; eth1 on vale64 with the
// receiver's port; eth0 and eth1 share qemu's hub), and eth0 is detached
// from its switch (vale-ctl -d) in the middle of the stream: the first
// path carries on alone, still every frame, none lost. (vale-ctl
// detaches a NIC; a port a process has registered, as st2110's are,
// netmap does not detach.)
func TestST2110DupVale(t *testing.T) {
	nmtest.Require(t)
	f := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 64, Height: 32, Scan: video.Progressive, Rate: video.Rate50}
	const n = 60
	frames := make([]byte, n*f.FrameSize())
	r := rand.New(rand.NewPCG(22, 7))
	for i := range frames {
		frames[i] = byte(r.Uint32())
	}
	src, err := video.NewFrameLoop(&f, frames)
	if err != nil {
		t.Fatal(err)
	}
	sess := &video.Session{Origin: netip.MustParseAddr("10.0.0.1"), Streams: []video.Stream{
		{Format: f, PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.1:5004"),
			Second: video.Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5004")}}}}
	for _, detach := range []bool{false, true} {
		name := map[bool]string{false: "both", true: "detach"}[detach]
		t.Run(name, func(t *testing.T) {
			sw := map[bool][2]string{false: {"vale60", "vale61"}, true: {"vale62", "vale63"}}[detach]
			rxSecond := sw[1] + ":b"
			vc := os.Getenv("NMTEST_VALECTL")
			if detach {
				if vc == "" {
					t.Fatal("NMTEST_VALECTL is not set: the test attaches and detaches NICs with netmap's vale-ctl")
				}
				// The NIC takes the multicast it has not joined (qemu's
				// virtio-net filters it otherwise).
				if out, err := exec.Command("ip", "link", "set", "eth1", "promisc", "on").CombinedOutput(); err != nil {
					t.Fatalf("ip link set eth1 promisc on: %v\n%s", err, out)
				}
				t.Cleanup(func() { exec.Command("ip", "link", "set", "eth1", "promisc", "off").Run() })
				for _, a := range []string{"vale63:eth0", "vale64:eth1"} {
					if out, err := exec.Command(vc, "-a", a).CombinedOutput(); err != nil {
						t.Fatalf("vale-ctl -a %s: %v\n%s", a, err, out)
					}
					t.Cleanup(func() { exec.Command(vc, "-d", a).Run() })
				}
				rxSecond = "vale64:b"
			}
			conf := "@conf:slots=4096"
			rx, err := st2110.Listen(sw[0]+":b"+conf, sess, &st2110.ListenConfig{FrameBuffers: n + 1,
				Second: rxSecond + conf, MergeWindow: video.SkewClassC})
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			tx, err := st2110.Dial(sw[0]+":a"+conf, sess, &st2110.SendConfig{MaxLag: -1, Source: src, Count: n, Second: sw[1] + ":a" + conf})
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Close()
			errc := make(chan error, 1)
			go func() { errc <- tx.Run(context.Background()) }()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			var got []byte
			k := 0
			for fr, err := range rx.Frames(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fr.Data...)
				if k++; k == n/3 && detach {
					out, err := exec.Command(vc, "-d", "vale63:eth0").CombinedOutput()
					if err != nil {
						t.Fatalf("vale-ctl -d vale63:eth0: %v\n%s", err, out)
					}
					t.Logf("vale-ctl -d vale63:eth0 after frame %d", k)
				}
				if k == n {
					break
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			rx.Close()
			st, p0, p1 := rx.Stats(0), rx.PathStats(0, 0), rx.PathStats(0, 1)
			sent := tx.Stats(0).Packets
			t.Logf("sent %d packets on each path; flow %+v; path 0 %+v; path 1 %+v; %v", sent, st.RxStats.Stats, p0, p1, rx.Skew(0))
			if !bytes.Equal(got, frames) || st.Lost != 0 || st.Delivered != n || st.Complete != n || st.Packets != sent {
				t.Errorf("%d frames, identical %v; %+v", k, bytes.Equal(got, frames), st.RxStats)
			}
			switch {
			case !detach && (p0.Packets != sent || p1.Packets != sent):
				t.Errorf("with both paths up, path 0 brought %d and path 1 %d of %d packets", p0.Packets, p1.Packets, sent)
			case detach && (p0.Packets != sent || p1.Packets == 0 || p1.Packets >= sent/2+sent/6):
				t.Errorf("with path 1 detached after a third, path 0 brought %d and path 1 %d of %d packets", p0.Packets, p1.Packets, sent)
			}
		})
	}
}
