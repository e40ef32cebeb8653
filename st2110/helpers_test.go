package st2110

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/porttest"
	"github.com/nmgo/nmgo/video"
)

// fmtSmall is a small format (64x32p50 4:2:2 10-bit, 5120 octets, 32
// packets a frame): fast to send, many frames a second.
var fmtSmall = video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 64, Height: 32,
	Scan: video.Progressive, Rate: video.Rate50}

// fmtSD is 640x480p50 4:2:2 10-bit: 480 packets a frame.
var fmtSD = video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 640, Height: 480,
	Scan: video.Progressive, Rate: video.Rate50}

// randomFrames returns n random frames of f.
func randomFrames(f video.Format, n int, seed uint64) []byte {
	b := make([]byte, n*f.FrameSize())
	r := rand.New(rand.NewPCG(seed, 2110))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// loopOf returns a frame source over frames.
func loopOf(t testing.TB, f video.Format, frames []byte) *video.FrameLoop {
	t.Helper()
	l, err := video.NewFrameLoop(&f, frames)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// flow is a media description of format f to dst (and from src, for a
// source-specific flow, if not "").
func flow(f video.Format, dst, src string) video.Stream {
	s := video.Stream{Format: f, PayloadType: 96}
	if dst != "" {
		s.Dst = netip.MustParseAddrPort(dst)
	}
	if src != "" {
		s.Source = netip.MustParseAddr(src)
	}
	return s
}

func session(origin string, fs ...video.Stream) *video.Session {
	s := &video.Session{Name: "test", Streams: fs}
	if origin != "" {
		s.Origin = netip.MustParseAddr(origin)
	}
	return s
}

// collect ranges over rx's frames until want frames of each flow have
// come (or the frames end, or d passes) and returns each flow's octets.
func collect(t testing.TB, rx *Receiver, want int, d time.Duration) [][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	got := make([][]byte, len(rx.Flows()))
	n := make([]int, len(got))
	done := 0
	for f, err := range rx.Frames(ctx) {
		if err != nil {
			t.Fatalf("Frames: %v", err)
		}
		got[f.Flow] = append(got[f.Flow], f.Data...)
		if n[f.Flow]++; n[f.Flow] == want {
			if done++; done == len(got) {
				break
			}
		}
	}
	return got
}

// freePort returns a UDP port that was free a moment ago, reserved for t:
// freePorts(t, 1).
func freePort(t testing.TB) uint16 {
	t.Helper()
	return freePorts(t, 1)
}

// freePorts returns a UDP port p such that p, p+1, ... p+n-1 were free a
// moment ago on every address (a receiver binds the wildcard address, and
// the ports of its flows' sockets: PORT+k for udp:ADDR:PORT), reserved for
// t until it ends: internal/porttest hands no port of them to another
// test of this process, nor of another process (a -race run beside a
// plain one), and draws them below every system's ephemeral range. (A
// test that binds a port itself binds port 0 and reads back the port it
// got.) Before, the ports were only checked, and two callers at once, of
// this process or of two, could be handed overlapping runs and fight over
// a bind; before that, a test took an ephemeral port p that the kernel had
// found free and bound p+1 too, which any other socket could hold:
// TestUDPAddressAndNoListener failed so under load, its Listen refused
// with "bind: address already in use" on p+1.
func freePorts(t testing.TB, n int) uint16 {
	t.Helper()
	return porttest.UDP(t, n)
}

// drainFrames ranges over rx's frames in the background until the
// receiver closes, and then sends how many there were.
func drainFrames(rx *Receiver) <-chan int {
	out := make(chan int, 1)
	go func() {
		n := 0
		for range rx.Frames(context.Background()) {
			n++
		}
		out <- n
	}()
	return out
}

// closeDrained waits (at most 10 s) until the consumer of drainFrames
// has taken every frame queued, closes rx (Frames hands out nothing
// queued after Close) and returns how many frames the consumer took.
func closeDrained(rx *Receiver, frames <-chan int) int {
	for deadline := time.Now().Add(10 * time.Second); len(rx.out) > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	rx.Close()
	return <-frames
}

// waitBlocked waits (at most 10 s, a hang rather than a speed) until a
// goroutine whose stack holds a frame named with fn (a part of the
// function's name as a stack trace gives it, "st2110.(*pcapRx).read(";
// a closure inlined into its caller is named after both,
// "TestX.func1.(*Receiver).Frames.1(...)") is blocked in state, as a
// stack trace names it ("IO wait", "chan receive"): the state a test
// needs, rather than a sleep that makes it likely.
func waitBlocked(t testing.TB, state, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		n := runtime.Stack(buf, true)
		for n == len(buf) { // cut: the goroutine looked for may be past the end
			buf = make([]byte, 2*len(buf))
			n = runtime.Stack(buf, true)
		}
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			// "goroutine 7 [IO wait]:" or "goroutine 7 [IO wait, 2 minutes]:"
			head, _, _ := strings.Cut(g, "\n")
			if (strings.Contains(head, "["+state+"]") || strings.Contains(head, "["+state+",")) && strings.Contains(g, fn) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine in %s blocked in %s after 10 s:\n%s", fn, state, buf[:n])
		}
	}
}

// newSenderFrames is newSender and the frames of its flows, for tests
// that build a Sender on outputs of their own.
func newSenderFrames(name string, sess *video.Session, cfg *SendConfig) (*Sender, []video.FrameSource, error) {
	s, err := newSender(name, sess, cfg)
	if err != nil {
		return nil, nil, err
	}
	sources, err := s.frameSources()
	if err != nil {
		return nil, nil, err
	}
	return s, sources, nil
}
