//go:build linux

package interop

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// The st2110 tests: package st2110's Listen and Dial against GStreamer and
// FFmpeg over multicast, in a network namespace whose loopback interface
// carries multicast (the host's lo has no MULTICAST flag and no route for
// 224.0.0.0/4; the namespace gets both, and the host is left alone). They
// need root for the namespace.

// The main goroutine keeps the main thread, so that no goroutine that
// enters a namespace (and ends on its thread, which the runtime then
// retires) runs there: the main thread cannot be retired, and the
// process's /proc/self/net would follow it into the namespace.
func init() { runtime.LockOSThread() }

// mcastNS is the namespace of the multicast tests.
const mcastNS = "nmst-io"

// mcastMu keeps the tests that use the namespace one at a time.
var mcastMu sync.Mutex

// needMulticast is need plus the namespace, made for t and deleted after.
func needMulticast(t *testing.T, tools ...string) {
	t.Helper()
	need(t, tools...)
	if os.Geteuid() != 0 {
		t.Fatalf("NMTEST_INTEROP=1 but the multicast tests need root, for a network namespace whose loopback carries multicast")
	}
	mcastMu.Lock()
	exec.Command("ip", "netns", "del", mcastNS).Run() // leftovers of a killed run
	for _, args := range [][]string{
		{"ip", "netns", "add", mcastNS},
		{"ip", "-n", mcastNS, "link", "set", "lo", "up", "multicast", "on"},
		// 127.0.0.1 has host scope: a group sent through lo would go
		// from 0.0.0.0, which no source-specific join takes. A global
		// address to send from.
		{"ip", "-n", mcastNS, "addr", "add", "10.78.0.1/32", "dev", "lo"},
		{"ip", "-n", mcastNS, "route", "add", "224.0.0.0/4", "dev", "lo", "src", "10.78.0.1"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			mcastMu.Unlock()
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", mcastNS).Run()
		mcastMu.Unlock()
	})
}

// inNS runs fn on an OS thread in the multicast namespace; sockets fn
// opens stay there. The thread is not reused.
func inNS(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/run/netns/" + mcastNS)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", mcastNS, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// mcastRcvbufErrors returns the namespace's count of UDP datagrams
// dropped for full receive buffers, or -1 without the namespace.
func mcastRcvbufErrors() int64 {
	if _, err := os.Stat("/run/netns/" + mcastNS); err != nil {
		return -1
	}
	var n int64 = -1
	inNS(func() error {
		b, err := os.ReadFile("/proc/thread-self/net/snmp") // this thread's namespace
		if err == nil {
			n = snmpRcvbufErrors(b)
		}
		return nil
	})
	return n
}

// inNSCmd runs a command line in the namespace.
func inNSCmd(args ...string) []string {
	return append([]string{"ip", "netns", "exec", mcastNS}, args...)
}

// mcastGroup is the group of format i's tests.
func mcastGroup(c *format) string {
	for i := range formats {
		if formats[i].name == c.name {
			return "239.77.0." + strconv.Itoa(i+1)
		}
	}
	return "239.77.0.99"
}

// mcastSession is one flow of c to group:port.
func mcastSession(t testing.TB, c *format, group string, port int) *video.Session {
	return &video.Session{Name: "nmgo interop " + c.name, Streams: []video.Stream{{Format: c.video(t), PayloadType: 96,
		Dst: netip.AddrPortFrom(netip.MustParseAddr(group), uint16(port))}}}
}

// listenReceiver receives frames with st2110.Listen into a file.
type listenReceiver struct {
	rx   *st2110.Receiver
	want int
	out  string
	done chan struct{}
	n    int
	bad  []string
	err  error
}

// listenFrames starts receiving c.frames frames of sess in the namespace,
// written to out.
func listenFrames(t testing.TB, c *format, sess *video.Session, out string) *listenReceiver {
	t.Helper()
	var rx *st2110.Receiver
	if err := inNS(func() (err error) {
		rx, err = st2110.Listen("udp:lo", sess, &st2110.ListenConfig{ReadBuffer: rcvbuf})
		return err
	}); err != nil {
		t.Fatalf("st2110.Listen: %v", err)
	}
	r := &listenReceiver{rx: rx, want: c.frames, out: out, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); rx.Close(); <-r.done })
	go func() {
		defer close(r.done)
		f, err := os.Create(out)
		if err != nil {
			r.err = err
			return
		}
		defer f.Close()
		for fr, err := range rx.Frames(ctx) {
			if err != nil {
				r.err = err
				return
			}
			if !fr.Info.Complete || !fr.Info.Marker {
				r.bad = append(r.bad, frameStats(r.n, &fr.Info))
			}
			if _, err := f.Write(fr.Data); err != nil {
				r.err = err
				return
			}
			if r.n++; r.n == r.want {
				return
			}
		}
	}()
	return r
}

func (r *listenReceiver) wait(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		r.rx.Close()
		<-r.done
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	st := r.rx.Stats(0)
	t.Logf("st2110.Listen received %d frames: %+v", r.n, st)
	if r.n < r.want {
		t.Errorf("st2110.Listen received %d frames, want %d", r.n, r.want)
	}
	for _, b := range r.bad {
		t.Errorf("received %s", b)
	}
}

// dialFrames opens a Sender in the namespace that sends the frames of
// file src once, at most pps packets per second.
func dialFrames(t testing.TB, c *format, sess *video.Session, src string, pps int) *st2110.Sender {
	t.Helper()
	f := c.video(t)
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := video.NewFrameLoop(&f, b)
	if err != nil {
		t.Fatal(err)
	}
	var tx *st2110.Sender
	if err := inNS(func() (err error) {
		tx, err = st2110.Dial("udp:lo", sess, &st2110.SendConfig{MaxLag: -1, Source: frames, Count: uint64(c.frames), MaxRate: float64(pps)})
		return err
	}); err != nil {
		t.Fatalf("st2110.Dial: %v", err)
	}
	t.Cleanup(func() { tx.Close() })
	return tx
}

// TestGStreamerMulticastToListen: GStreamer's rtpvrawpay sends to a
// multicast group (udpsink auto-multicast), st2110.Listen joins it and
// receives the frames byte for byte.
func TestGStreamerMulticastToListen(t *testing.T) {
	needMulticast(t, "gst-launch-1.0")
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) {
		port, group := freePort(t), mcastGroup(c)
		dir := t.TempDir()
		src, out := filepath.Join(dir, "gst.src"), filepath.Join(dir, "listen.out")
		rx := listenFrames(t, c, mcastSession(t, c, group, port), out)
		tx := start(t, inNSCmd(gstSendTo(t, c, group, port, src, c.frames, gstBitrate/div)...)...)
		tx.wait(t, 30*time.Second)
		rx.wait(t, 5*time.Second)
		compareFiles(t, c, out, src)
	})
}

// TestDialMulticastToGStreamer: st2110.Dial sends to a multicast group,
// GStreamer's udpsrc joins it and rtpvrawdepay writes the frames, byte
// for byte.
func TestDialMulticastToGStreamer(t *testing.T) {
	needMulticast(t, "gst-launch-1.0")
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) {
		src := randomFrames(t, c, 4)
		port, group := freePort(t), mcastGroup(c)
		out := filepath.Join(t.TempDir(), "gst.out")
		rx := start(t, inNSCmd(gstRecvFrom(t, c, group, port, out)...)...)
		headStart(t, rx, port, group)
		tx := dialFrames(t, c, mcastSession(t, c, group, port), src, pps/div)
		if err := tx.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Logf("st2110.Dial sent %+v", tx.Stats(0))
		waitSize(rx, out, fileSize(src), 5*time.Second)
		rx.interrupt(t, 10*time.Second)
		compareFiles(t, c, out, src)
	})
}

// TestDialMulticastToFFmpeg: ffmpeg reads the SDP st2110's Sender wrote
// (multicast, with its a=source-filter), joins the group and copies the
// frames, byte for byte.
func TestDialMulticastToFFmpeg(t *testing.T) {
	needMulticast(t, "ffmpeg")
	eachFormat(t, nil, func(t testing.TB, c *format, div int) {
		src := randomFrames(t, c, 5)
		port, group := freePort(t), mcastGroup(c)
		dir := t.TempDir()
		sdp, out := filepath.Join(dir, "st2110.sdp"), filepath.Join(dir, "ffmpeg.out")
		tx := dialFrames(t, c, mcastSession(t, c, group, port), src, pps/div)
		b, err := tx.SDP()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sdp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("st2110's SDP:\n%s", b)
		if !strings.Contains(string(b), "a=source-filter: incl IN IP4 "+group+" ") {
			t.Errorf("the SDP has no source filter for %s", group)
		}
		// As toFFmpeg: interlaced frames come as two packets each.
		packets := c.frames * c.video(t).Scan.Fields()
		rx := start(t, inNSCmd(ffmpegRecv(sdp, out, packets)...)...)
		headStart(t, rx, port, group)
		if err := tx.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		rx.wait(t, 20*time.Second)
		checkFFmpegInput(t, c, rx.out.Bytes())
		compareFiles(t, c, out, src)
	})
}

// TestGStreamerMulticastToVrx: GStreamer sends to a multicast group
// (udpsink auto-multicast), nmbench -f vrx -i udp:GROUP:PORT joins it
// (st2110.Listen underneath) and writes the frames, byte for byte.
func TestGStreamerMulticastToVrx(t *testing.T) {
	bin := needNmbench(t, "gst-launch-1.0")
	needMulticast(t, "gst-launch-1.0")
	eachFormat(t, withGStreamer, func(t testing.TB, c *format, div int) {
		port, group := freePort(t), mcastGroup(c)
		dir := t.TempDir()
		src, out := filepath.Join(dir, "gst.src"), filepath.Join(dir, "vrx.out")
		rx := &cliReceiver{frames: c.frames, p: start(t, inNSCmd(bin, "-i", "udp:"+group+":"+strconv.Itoa(port), "-f", "vrx",
			"-fmt", c.fmtp, "-out", out, "-pix", "pgroup", "-frames", strconv.Itoa(c.frames), "-frame-buffers", strconv.Itoa(c.frames), "-json")...)}
		headStart(t, rx, port, group)
		tx := start(t, inNSCmd(gstSendTo(t, c, group, port, src, c.frames, gstBitrate/div)...)...)
		tx.wait(t, 30*time.Second)
		rx.wait(t, 5*time.Second)
		compareFiles(t, c, out, src)
	})
}
