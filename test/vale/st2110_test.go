//go:build linux

package vale_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// TestST2110Vale: st2110.Dial on one VALE port, st2110.Listen on another,
// nothing but the st2110 API: two flows on one port to two multicast
// groups (whole Ethernet frames from templates, the groups' MAC
// addresses), byte for byte, none lost; a small format from frames in
// memory, then 1080p59.94 4:2:2 10-bit on the narrow schedule. Under TCG
// neither end keeps up with 1080p59.94's 259 kpps, so the sender's clock
// is slowed (SendConfig.MaxRate, as nmbench's VM test does with -R): the
// schedule, spread out; the receiver's ring has 4096 slots.
func TestST2110Vale(t *testing.T) {
	nmtest.Require(t)
	small := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 64, Height: 32,
		Scan: video.Progressive, Rate: video.Rate50}
	for i, tc := range []struct {
		name   string
		format video.Format
		frames int
		rate   float64
		rings  int // ring pairs of both ports: one goroutine each
	}{
		{"64x32", small, 20, 0, 1},
		{"1080p59.94", video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 1920, Height: 1080,
			Scan: video.Progressive, Rate: video.Rate59_94}, 4, 10000, 1},
		{"64x32-2rings", small, 20, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sw := "vale5" + string(rune('0'+i))
			sess := &video.Session{Origin: netip.MustParseAddr("10.0.0.1"), Streams: []video.Stream{
				{Format: tc.format, PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.1:5004")},
				{Format: tc.format, PayloadType: 96, Dst: netip.MustParseAddrPort("239.1.1.2:5004")},
			}}
			frames := make([][]byte, 2)
			srcs := make([]video.FrameSource, 2)
			for k := range frames {
				frames[k] = make([]byte, tc.frames*tc.format.FrameSize())
				r := rand.New(rand.NewPCG(uint64(k), 2110))
				for j := range frames[k] {
					frames[k][j] = byte(r.Uint32())
				}
				l, err := video.NewFrameLoop(&tc.format, frames[k])
				if err != nil {
					t.Fatal(err)
				}
				srcs[k] = l
			}
			// A buffer for every frame: the test is of the transport, not
			// of how soon the VM schedules the consumer.
			conf := "@conf:slots=4096"
			if tc.rings > 1 {
				conf += ",rings=" + strconv.Itoa(tc.rings)
			}
			rx, err := st2110.Listen(sw+":b"+conf, sess, &st2110.ListenConfig{FrameBuffers: tc.frames + 1})
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			tx, err := st2110.Dial(sw+":a"+conf, sess, &st2110.SendConfig{MaxLag: -1, Sources: srcs, Count: uint64(tc.frames), MaxRate: tc.rate})
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Close()
			if rx.Inputs() != tc.rings || tx.Outputs() != tc.rings {
				t.Fatalf("%d ring pairs: the receiver has %d inputs, the sender %d outputs", tc.rings, rx.Inputs(), tx.Outputs())
			}
			errc := make(chan error, 1)
			go func() { errc <- tx.Run(context.Background()) }()
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			got := [][]byte{make([]byte, len(frames[0])), make([]byte, len(frames[1]))}
			n := [2]int{}
			size := tc.format.FrameSize()
			for f, err := range rx.Frames(ctx) {
				if err != nil {
					t.Fatal(err)
				}
				if n[f.Flow] < tc.frames {
					copy(got[f.Flow][n[f.Flow]*size:], f.Data)
				}
				if n[f.Flow]++; n[0] >= tc.frames && n[1] >= tc.frames {
					break
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			for k := range frames {
				st, ts := rx.Stats(k), tx.Stats(k)
				t.Logf("flow %d: sent %d frames, %d packets (%d late); received %d frames, %d packets, %d lost; %v",
					k, ts.Frames, ts.Packets, ts.Late, st.Delivered, st.Packets, st.Lost, st.Latency)
				if !bytes.Equal(got[k], frames[k]) || st.Lost != 0 || st.Dropped != 0 || st.Packets != ts.Packets || ts.Frames != uint64(tc.frames) {
					t.Errorf("flow %d: %d frames received, identical %v; %d packets lost, %d of %d received, %d frames dropped",
						k, n[k], bytes.Equal(got[k], frames[k]), st.Lost, st.Packets, ts.Packets, st.Dropped)
				}
			}
			if rx.Other() != 0 {
				t.Errorf("%d packets of no flow", rx.Other())
			}
		})
	}
	checkTimerSlack(t)
}

// setLong stores v in a field that is a C long.
func setLong[T int32 | int64](dst *T, v int32) { *dst = T(v) }

// TestST2110ClockTAI: once the kernel knows the TAI offset (as phc2sys or
// chrony tell it), st2110's clock is CLOCK_TAI and reads what
// clock_gettime(CLOCK_TAI) reads. The VM's kernel is the test's to set.
func TestST2110ClockTAI(t *testing.T) {
	nmtest.Require(t)
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		t.Fatal(err)
	}
	old := tx.Tai
	set := func(v int32) {
		tx := unix.Timex{Modes: unix.ADJ_TAI}
		setLong(&tx.Constant, v) // a C long: int32 in a 32-bit program
		if _, err := unix.Adjtimex(&tx); err != nil {
			t.Fatalf("adjtimex ADJ_TAI %d: %v", v, err)
		}
	}
	set(37)
	defer set(old)
	c, err := st2110.NewClock(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source() != st2110.ClockKernelTAI || c.UTCOffset() != 37*time.Second {
		t.Fatalf("clock %v (%v), offset %v", c.Source(), c, c.UTCOffset())
	}
	for range 5 {
		var a, b unix.Timespec
		unix.ClockGettime(unix.CLOCK_TAI, &a)
		now := c.Now()
		unix.ClockGettime(unix.CLOCK_TAI, &b)
		if now < a.Nano()-int64(time.Millisecond) || now > b.Nano()+int64(time.Millisecond) {
			t.Errorf("Now %d outside CLOCK_TAI's [%d, %d]", now, a.Nano(), b.Nano())
		}
	}
	t.Logf("%v", c)
}
