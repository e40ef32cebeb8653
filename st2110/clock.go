package st2110

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// LeapSeconds is TAI - UTC since 2017-01-01 (IERS Bulletin C): what a
// [Clock] adds to the system clock when the kernel knows no TAI offset.
const LeapSeconds = 37

// ClockSource says where a [Clock] reads the time. The zero value is
// invalid.
type ClockSource uint8

const (
	_ ClockSource = iota
	// ClockKernelTAI is the kernel's CLOCK_TAI: the system clock plus the
	// TAI offset that a PTP or NTP daemon (phc2sys, ptp4l, chrony) has set
	// with adjtimex(2).
	ClockKernelTAI
	// ClockUTCOffset is the system clock (UTC) plus a fixed leap-second
	// offset, for a host whose kernel has no TAI offset set.
	ClockUTCOffset
	// ClockPHC is a PTP hardware clock (/dev/ptpN), read directly, for a
	// host where phc2sys does not discipline the system clock. PTP clocks
	// keep TAI.
	ClockPHC
)

// String returns "CLOCK_TAI", "UTC+offset" or "PHC".
func (s ClockSource) String() string {
	switch s {
	case ClockKernelTAI:
		return "CLOCK_TAI"
	case ClockUTCOffset:
		return "UTC+offset"
	case ClockPHC:
		return "PHC"
	}
	return fmt.Sprintf("ClockSource(%d)", uint8(s))
}

// ClockConfig configures [NewClock]. A nil *ClockConfig means the system
// clock: CLOCK_TAI if the kernel has a TAI offset, else UTC plus
// [LeapSeconds].
type ClockConfig struct {
	// PHC, if set, is the PTP hardware clock to read, such as "/dev/ptp0".
	PHC string

	// LeapSeconds is TAI - UTC for the system clock when the kernel has no
	// TAI offset (and what a PHC's time is taken to differ from UTC by, to
	// stamp captures in UTC); zero means [LeapSeconds].
	LeapSeconds int

	// ForceOffset uses UTC plus LeapSeconds even when the kernel has a TAI
	// offset.
	ForceOffset bool
}

// A Clock tells the time as ST 2110 counts it: TAI nanoseconds since the
// PTP epoch, 1970-01-01 00:00:00 TAI, the timescale of RTP timestamps (ST
// 2110-10) and of the ST 2110-21 send schedule.
//
// It reads one of three sources ([Clock.Source]): the kernel's CLOCK_TAI
// when a PTP or NTP daemon has told the kernel the TAI offset (adjtimex
// reports it), else the system clock plus the leap-second offset, or a
// PTP hardware clock (/dev/ptpN) opened with [ClockConfig.PHC]. The
// system clock is read through the vDSO (time.Now) plus the kernel's TAI
// offset, which is CLOCK_TAI as the kernel defines it; the offset is read
// again at most once a second, so a leap second is seen within one.
//
// A Clock is safe for concurrent use. Now does not allocate. Make one
// with NewClock: Listen and Dial refuse a zero Clock{}, which would read
// UTC as if it were TAI. A nil *Clock in ListenConfig or SendConfig means
// the system clock as TAI, but a nil *Clock is no clock: its methods
// panic (read that clock with one NewClock(nil) made).
type Clock struct {
	src    ClockSource
	leap   int64 // configured TAI - UTC, ns
	phc    string
	closer func() error

	offset atomic.Int64 // TAI - UTC in use, ns (kernel or configured)
	next   atomic.Int64 // UTC ns when the kernel offset is read again (1 s after the last read)
	read   func() (int64, bool)
	phcNow func() (int64, error)
}

// NewClock opens the clock cfg asks for (nil: the system clock).
func NewClock(cfg *ClockConfig) (*Clock, error) {
	var c ClockConfig
	if cfg != nil {
		c = *cfg
	}
	if c.LeapSeconds < 0 || c.LeapSeconds > 1000 {
		return nil, fmt.Errorf("st2110: clock: leap seconds %d", c.LeapSeconds)
	}
	if c.LeapSeconds == 0 {
		c.LeapSeconds = LeapSeconds
	}
	clk := &Clock{leap: int64(c.LeapSeconds) * 1e9, read: taiOffset}
	clk.offset.Store(clk.leap)
	if c.PHC != "" {
		now, closer, err := openPHC(c.PHC)
		if err != nil {
			return nil, err
		}
		clk.src, clk.phc, clk.phcNow, clk.closer = ClockPHC, c.PHC, now, closer
		if _, err := now(); err != nil {
			closer()
			return nil, fmt.Errorf("st2110: clock %s: not a PTP hardware clock (%w)", c.PHC, err)
		}
		return clk, nil
	}
	clk.src = ClockUTCOffset
	if !c.ForceOffset {
		if off, ok := clk.read(); ok {
			clk.src = ClockKernelTAI
			clk.offset.Store(off)
		}
	}
	return clk, nil
}

// errZeroClock is the error of a Clock not made by NewClock.
var errZeroClock = errors.New("is a zero Clock, not made by NewClock")

// Source returns where the clock reads the time: 0 (not a ClockSource)
// for a zero Clock{}, which Listen and Dial refuse.
func (c *Clock) Source() ClockSource { return c.src }

// String describes the clock: "CLOCK_TAI (kernel TAI offset 37 s)",
// "UTC + 37 s (the kernel has no TAI offset)" or "PHC /dev/ptp0".
func (c *Clock) String() string {
	switch c.src {
	case ClockKernelTAI:
		return fmt.Sprintf("CLOCK_TAI (kernel TAI offset %d s)", c.UTCOffset()/time.Second)
	case ClockPHC:
		return "PHC " + c.phc
	}
	return fmt.Sprintf("UTC + %d s (the kernel has no TAI offset)", c.leap/1e9)
}

// UTCOffset returns TAI - UTC as the clock sees it: the kernel's offset,
// or the configured leap seconds.
func (c *Clock) UTCOffset() time.Duration {
	if c.src == ClockKernelTAI {
		return time.Duration(c.offset.Load())
	}
	return time.Duration(c.leap)
}

// Now returns the time in TAI nanoseconds since the PTP epoch. A PHC that
// cannot be read gives 0 (see [Clock.Err]).
func (c *Clock) Now() int64 {
	t, _ := c.now()
	return t
}

// now is Now with the error of a PHC read that failed (the time is then 0),
// as the PHC's reader gave it.
func (c *Clock) now() (int64, error) {
	if c.src == ClockPHC {
		t, err := c.phcNow()
		if err != nil {
			return 0, err
		}
		return t, nil
	}
	utc := time.Now().UnixNano()
	if c.src != ClockKernelTAI {
		return utc + c.leap, nil
	}
	return c.kernelAt(utc), nil
}

// kernelAt is the TAI time at utc (Unix ns, the system clock's reading)
// by the kernel's offset, which it reads again a second after the last
// read, or at once if the system clock went back past the last read
// (settimeofday, an NTP step): the time of the next read is Unix time,
// and after a step back of an hour a change of the kernel's offset was
// otherwise missed for that hour. A test passes utc, not time.Now's.
func (c *Clock) kernelAt(utc int64) int64 {
	if next := c.next.Load(); (utc >= next || utc < next-1e9) && c.next.CompareAndSwap(next, utc+1e9) {
		if off, ok := c.read(); ok {
			c.offset.Store(off)
		}
	}
	return utc + c.offset.Load()
}

// failedFor is the error of a PHC whose reads have all failed for d, the
// last with err: a sender's and a receiver's, after maxClockFailure.
func (c *Clock) failedFor(d time.Duration, err error) error {
	return fmt.Errorf("clock %s: every read for %v failed: %w", c.phc, d.Round(time.Millisecond), err)
}

// Err reads the clock once and returns the error of a PHC that cannot be
// read; nil for the system clock.
func (c *Clock) Err() error {
	if c.src != ClockPHC {
		return nil
	}
	if _, err := c.phcNow(); err != nil {
		return fmt.Errorf("st2110: clock %s: %w", c.phc, err)
	}
	return nil
}

// Close closes a PHC; it does nothing for the system clock. A Clock must
// outlive the receivers and senders using it: close it after them, since
// once it is closed every read fails (os.ErrClosed), and a receiver's
// readers and a sender's Run end after a second of failed reads.
func (c *Clock) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer()
}

// taiOffset reads the kernel's TAI offset (a variable for tests).
var taiOffset = kernelTAIOffset

// defaultClock is the clock of Listen and Dial without one.
var defaultClock = sync.OnceValues(func() (*Clock, error) { return NewClock(nil) })

// phcClockID is the dynamic POSIX clock id of an open PTP hardware clock
// (Linux's FD_TO_CLOCKID: (~fd << 3) | CLOCKFD, CLOCKFD = 3).
func phcClockID(fd int) int32 { return int32((^fd)<<3 | 3) }
