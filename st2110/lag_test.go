package st2110

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// A sender whose clock jumps ten frame periods ahead (as a process
// descheduled that long sees it) skips the frames it missed and goes on
// with frames of the time it woke up to: the timestamps it sends jump
// with the clock, and Stats counts the frames skipped. Before, it sent
// every packet it missed at once, with their old timestamps. The clock is
// a fake PHC: the jump is the test's, not the machine's.
func TestDialFallsBehind(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	var jump atomic.Int64
	t0 := time.Now()
	clk := &Clock{src: ClockPHC, phc: "test", phcNow: func() (int64, error) {
		return 1_800_000_000_000_000_000 + int64(time.Since(t0)) + jump.Load(), nil
	}}
	const skip = 10
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", port), ""))
	tx, err := Dial("udp", sess, &SendConfig{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- tx.Run(ctx) }()
	period := fmtSmall.Rate.Period()
	var ts []uint32 // of each frame, in order
	buf := make([]byte, 2048)
	for markers := 0; markers < 4; {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("after %d frames: %v", markers, err)
		}
		if n < 12 {
			continue
		}
		if v := binary.BigEndian.Uint32(buf[4:]); len(ts) == 0 || ts[len(ts)-1] != v {
			ts = append(ts, v)
		}
		if buf[1]&0x80 != 0 {
			if markers++; markers == 1 {
				jump.Store(int64(skip * period))
			}
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	tick := uint32(90000 * period / time.Second) // 1800 at 50 Hz
	most := uint32(0)
	for i := 1; i < len(ts); i++ {
		most = max(most, ts[i]-ts[i-1])
	}
	st := tx.Stats(0)
	if most < (skip-1)*tick || st.Skipped < skip-1 || st.Resyncs < 1 || st.Frames < 4 {
		t.Errorf("clock jumped %d frame periods: timestamps %v advance at most %d ticks (a frame is %d); stats %+v: want a jump of %d frames or more, as many skipped",
			skip, ts, most, tick, st, skip-1)
	}
}
