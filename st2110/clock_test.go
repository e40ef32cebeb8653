package st2110

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/video"
)

// fakeTAI makes the kernel report a TAI offset of *sec seconds (0: none)
// for the rest of the test.
func fakeTAI(t *testing.T, sec *int64) {
	old := taiOffset
	taiOffset = func() (int64, bool) { return *sec * 1e9, *sec != 0 }
	t.Cleanup(func() { taiOffset = old })
}

// The system clock is CLOCK_TAI when the kernel has a TAI offset, else UTC
// plus the leap seconds; both tell TAI.
func TestClockSources(t *testing.T) {
	var tai int64
	fakeTAI(t, &tai)
	for _, tc := range []struct {
		tai   int64
		cfg   *ClockConfig
		src   ClockSource
		off   time.Duration
		descr string
	}{
		{0, nil, ClockUTCOffset, 37 * time.Second, "UTC + 37 s (the kernel has no TAI offset)"},
		{0, &ClockConfig{LeapSeconds: 36}, ClockUTCOffset, 36 * time.Second, "UTC + 36 s"},
		{37, nil, ClockKernelTAI, 37 * time.Second, "CLOCK_TAI (kernel TAI offset 37 s)"},
		{35, &ClockConfig{LeapSeconds: 37}, ClockKernelTAI, 35 * time.Second, "CLOCK_TAI (kernel TAI offset 35 s)"},
		{37, &ClockConfig{ForceOffset: true, LeapSeconds: 30}, ClockUTCOffset, 30 * time.Second, "UTC + 30 s"},
	} {
		tai = tc.tai
		c, err := NewClock(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now().Add(tc.off).UnixNano()
		now := c.Now()
		after := time.Now().Add(tc.off).UnixNano()
		if c.Source() != tc.src || c.UTCOffset() != tc.off || !strings.HasPrefix(c.String(), tc.descr) || now < before || now > after {
			t.Errorf("kernel offset %d, %+v: %v %q offset %v, now %d not in [%d, %d]", tc.tai, tc.cfg, c.Source(), c, c.UTCOffset(), now, before, after)
		}
		if c.Err() != nil || c.Close() != nil {
			t.Errorf("Err %v, Close %v", c.Err(), c.Close())
		}
	}
	if _, err := NewClock(&ClockConfig{LeapSeconds: -1}); err == nil {
		t.Error("negative leap seconds: no error")
	}
}

// A leap second the kernel learns is seen within a second.
func TestClockKernelOffsetChanges(t *testing.T) {
	tai := int64(36)
	fakeTAI(t, &tai)
	c, err := NewClock(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Now()
	tai = 37
	deadline := time.Now().Add(3 * time.Second)
	for c.UTCOffset() != 37*time.Second {
		if time.Now().After(deadline) {
			t.Fatalf("offset still %v after 3 s", c.UTCOffset())
		}
		c.Now()
		time.Sleep(10 * time.Millisecond)
	}
	before := time.Now().UnixNano()
	now := c.Now()
	if d := now - before; d < 37e9 || d > 37e9+int64(time.Second) {
		t.Errorf("Now is %v ahead of UTC", time.Duration(d))
	}
}

// The time of the kernel offset's next read is Unix time: after the
// system clock went back past the last read (settimeofday, an NTP step),
// the offset is read at once, not once the clock has caught up with that
// read (an hour for a step back of an hour); then again a second after
// that read, and not before. The Unix times are given to kernelAt, which
// Now calls with time.Now's: what is checked does not hang on the time
// that passes between the calls.
func TestClockKernelOffsetAfterStepBack(t *testing.T) {
	tai := int64(36)
	fakeTAI(t, &tai)
	c, err := NewClock(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source() != ClockKernelTAI {
		t.Fatalf("source %v, want the kernel's TAI offset", c.Source())
	}
	utc := time.Now().UnixNano()
	if got := c.kernelAt(utc); got != utc+36e9 {
		t.Fatalf("TAI %d at UTC %d, want %d", got, utc, utc+36e9)
	}
	tai = 37
	back := utc - int64(time.Hour) // the clock stepped back an hour
	if got := c.kernelAt(back); got != back+37e9 {
		t.Errorf("TAI - UTC %v after the clock went back past its last read, want 37s, read again at once", time.Duration(got-back))
	}
	tai = 38
	for _, d := range []int64{0, 1, 1e9 - 1} {
		if got := c.kernelAt(back + d); got != back+d+37e9 {
			t.Errorf("TAI - UTC %v %v after a read, want 37s, not read again", time.Duration(got-back-d), time.Duration(d))
		}
	}
	if got := c.kernelAt(back + 1e9); got != back+1e9+38e9 {
		t.Errorf("TAI - UTC %v a second after a read, want 38s, read again", time.Duration(got-back-1e9))
	}
}

func TestClockNowAllocs(t *testing.T) {
	tai := int64(37)
	fakeTAI(t, &tai)
	for _, cfg := range []*ClockConfig{nil, {ForceOffset: true}} {
		c, _ := NewClock(cfg)
		if n := testing.AllocsPerRun(1000, func() { c.Now() }); n != 0 {
			t.Errorf("%v: Now allocates %v times", c.Source(), n)
		}
	}
}

// A PTP hardware clock is a character device whose descriptor is a clock
// id; anything else is refused when opened, with the reason.
func TestClockPHC(t *testing.T) {
	if _, err := NewClock(&ClockConfig{PHC: "/nonexistent/ptp9"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/ptp9") {
		t.Errorf("missing PHC: %v", err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	_, err := NewClock(&ClockConfig{PHC: os.DevNull})
	if err == nil || !strings.Contains(err.Error(), "not a PTP hardware clock") {
		t.Errorf("%s as a PHC: %v", os.DevNull, err)
	}
	// The kernel's FD_TO_CLOCKID: ((~fd) << 3) | CLOCKFD.
	for fd, id := range map[int]int32{0: -5, 3: -29, 7: -61, 1000: -8005} {
		if got := phcClockID(fd); got != id {
			t.Errorf("clock id of fd %d: %d, want %d", fd, got, id)
		}
	}
}

// rtpTime turns an RTP timestamp back into the TAI time it counts, near
// the arrival, across the 32-bit wrap.
func TestRTPTime(t *testing.T) {
	base := int64(1_800_000_000_000_000_000)
	for _, d := range []int64{0, 1, 11111, 1e6, 47_721_858_000_000_000 / 2, 1e9 * 3600} {
		at := base + d
		ts := video.Timestamp(at)
		for _, late := range []int64{0, 700_000, -300_000, 1e9 * 600} {
			got := rtpTime(at+late, ts)
			if diff := got - at; diff < -5556 || diff > 5556 {
				t.Errorf("time %d, arrival +%d: RTP time %d, off by %d ns", at, late, got, diff)
			}
			if video.Timestamp(got) != ts {
				t.Errorf("time %d: RTP time %d has timestamp %d, want %d", at, got, video.Timestamp(got), ts)
			}
		}
	}
	if rtpTime(0, 5) != 0 {
		t.Error("unknown arrival: not 0")
	}
}

// Latencies hours off their RTP times (a hostile capture's times: rtpTime
// takes the nearest within 2^31 ticks, some 6.6 hours) add up past the
// end of time.Duration within some 380,000 frames: the sum saturates,
// and the mean keeps its sign, as do the sums of two readers merged.
func TestLatencySumSaturates(t *testing.T) {
	for _, d := range []time.Duration{6*time.Hour + 30*time.Minute, -6*time.Hour - 30*time.Minute} {
		var l, o Latency
		for range 400_000 {
			l.add(d)
		}
		o.add(d)
		l.merge(&o)
		if l.Frames != 400_001 || l.Mean() == 0 || (l.Mean() > 0) != (d > 0) || (l.Sum > 0) != (d > 0) {
			t.Errorf("400,001 frames %v late: %v, sum %v", d, l, l.Sum)
		}
	}
}

// The mean of latencies whose sum runs past time.Duration and back (a
// hostile capture's frames hours off their RTP times, late then early,
// on one reader or two merged) is exact: a saturated sum had it wrong by
// hours' worth.
func TestLatencyMeanExact(t *testing.T) {
	const n = 400_000
	d := 6*time.Hour + 30*time.Minute
	// want is the mean of n frames d late, n+1 frames d early and one
	// 3 s late, truncated towards zero: (3 s - d) / (2n+2).
	want := (3*time.Second - d) / (2*n + 2)
	var one, a, b Latency
	for i := range n + 1 {
		if i < n {
			one.add(d)
			a.add(d)
		}
		one.add(-d)
		b.add(-d)
	}
	one.add(3 * time.Second)
	b.add(3 * time.Second)
	a.merge(&b)
	for _, l := range []Latency{one, a} {
		if l.Frames != 2*n+2 || l.Mean() != want || l.Sum != 3*time.Second-d {
			t.Errorf("%v (sum %v); want mean %v", l, l.Sum, want)
		}
	}
	// Extremes: the ends of time.Duration, one frame each and many.
	var ext Latency
	for range 3 {
		ext.add(math.MaxInt64)
	}
	if ext.Mean() != math.MaxInt64 || ext.Sum != math.MaxInt64 {
		t.Errorf("three frames at the end of time.Duration: %v", ext)
	}
	ext = Latency{}
	for range 3 {
		ext.add(math.MinInt64)
	}
	if ext.Mean() != math.MinInt64 || ext.Sum != math.MinInt64 {
		t.Errorf("three frames at the start of time.Duration: %v", ext)
	}
	// A Latency made by hand has its mean from Sum.
	if l := (Latency{Frames: 4, Sum: 10 * time.Second}); l.Mean() != 2500*time.Millisecond {
		t.Errorf("by hand: %v", l)
	}
	// So does one measured and then changed by hand: two snapshots' delta,
	// two flows' counts added up.
	var s1, s2 Latency
	s1.add(time.Millisecond)
	s2 = s1
	s2.add(3 * time.Millisecond)
	delta := s2
	delta.Frames, delta.Sum = s2.Frames-s1.Frames, s2.Sum-s1.Sum
	if delta.Mean() != 3*time.Millisecond {
		t.Errorf("a snapshots' delta, %v: mean %v, want 3ms", delta, delta.Mean())
	}
	both := s2
	both.Frames, both.Sum = s2.Frames+s1.Frames, s2.Sum+s1.Sum
	if both.Mean() != 5*time.Millisecond/3 {
		t.Errorf("two added by hand, %v: mean %v, want %v", both, both.Mean(), 5*time.Millisecond/3)
	}
}

// A zero Clock{} would read UTC as TAI and make the SDP claim a PTP
// reference: Listen and Dial refuse it, naming the field. A clock of UTC
// plus an offset is the sender's own in the SDP.
func TestZeroClockRefused(t *testing.T) {
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", freePort(t)), ""))
	_, err := Listen("udp", sess, &ListenConfig{Clock: &Clock{}})
	if want := "st2110: listen udp: ListenConfig.Clock is a zero Clock, not made by NewClock"; err == nil || err.Error() != want || !errors.Is(err, errZeroClock) {
		t.Errorf("Listen with a zero Clock: %v, want %q", err, want)
	}
	_, err = Dial("udp", sess, &SendConfig{Clock: &Clock{}})
	if want := "st2110: dial udp: SendConfig.Clock is a zero Clock, not made by NewClock"; err == nil || err.Error() != want || !errors.Is(err, errZeroClock) {
		t.Errorf("Dial with a zero Clock: %v, want %q", err, want)
	}
	c, err := NewClock(&ClockConfig{ForceOffset: true})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := Dial("udp", sess, &SendConfig{Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if rc := tx.Flows()[0].RefClock; rc != "local" {
		t.Errorf("a UTC+offset clock's reference in the SDP: %q, want local", rc)
	}
}
