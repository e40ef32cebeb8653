package xsk

import (
	"fmt"
	"math"
	"os"
	"time"
)

// BindMode says how the socket binds to its queue: copying packets between
// the driver's buffers and the UMEM, or letting the driver use the UMEM
// itself (zero-copy), which needs driver support (veth has none).
type BindMode int

// Bind modes. The zero value means BindCopy.
const (
	// BindCopy binds in copy mode (XDP_COPY), which every driver supports.
	BindCopy BindMode = iota + 1
	// BindZeroCopy binds in zero-copy mode (XDP_ZEROCOPY) or fails: a
	// driver without it gives an error matching [ErrNotSupported].
	BindZeroCopy
	// BindZeroCopyOrCopy binds zero-copy where the driver sets it up for
	// the queue and in copy mode otherwise, whatever the driver's reason
	// (it leaves the choice to the kernel); [Info.ZeroCopy] tells which it
	// got.
	BindZeroCopyOrCopy
)

func (m BindMode) String() string {
	switch m {
	case BindCopy:
		return "copy"
	case BindZeroCopy:
		return "zero-copy"
	case BindZeroCopyOrCopy:
		return "zero-copy-or-copy"
	}
	return fmt.Sprintf("BindMode(%d)", int(m))
}

// XDPMode says whether and how Open attaches the XDP program that
// redirects the queue's packets into the socket.
type XDPMode int

// XDP modes. The zero value means XDPAuto.
const (
	// XDPAuto attaches in native (driver) mode and, if the driver
	// refuses, in generic (skb) mode.
	XDPAuto XDPMode = iota + 1
	// XDPNative attaches in native mode only.
	XDPNative
	// XDPGeneric attaches in generic mode only.
	XDPGeneric
	// XDPNone attaches nothing: a TX-only socket, or one the caller puts
	// into an XSKMAP of its own program ([Socket.FD]).
	XDPNone
)

func (m XDPMode) String() string {
	switch m {
	case XDPAuto:
		return "auto"
	case XDPNative:
		return "native"
	case XDPGeneric:
		return "generic"
	case XDPNone:
		return "none"
	}
	return fmt.Sprintf("XDPMode(%d)", int(m))
}

// Config configures a [Socket]. A nil *Config, or a zero field, means the
// default.
type Config struct {
	// Queue is the interface's queue to bind to (rx-N / tx-N in
	// /sys/class/net/IFACE/queues); default 0.
	Queue int

	// FrameSize is the size of a UMEM frame, a power of two in [2048,
	// page size] (the kernel refuses a frame larger than a page in the
	// aligned mode used here); default 2048. A received packet starts 256 octets
	// into its frame (XDP_PACKET_HEADROOM), so it can be up to FrameSize
	// - 256 octets long; a sent one up to FrameSize.
	FrameSize int
	// Frames is the number of UMEM frames, at least 2, with Frames *
	// FrameSize at most [MaxUMEM]; default 4096. They are split
	// evenly between receiving and sending (all to one side with TxOnly
	// or RxOnly).
	Frames int
	// RxSize and TxSize are the entries of the RX and TX rings, powers of
	// two; default 2048 each. The fill and completion rings get the
	// power of two that holds every RX or TX frame.
	RxSize, TxSize int

	// TxOnly opens a socket without RX ring and without XDP program;
	// RxOnly one without TX ring.
	TxOnly, RxOnly bool

	// Bind is the copy or zero-copy choice; default BindCopy.
	Bind BindMode
	// XDP is how the redirect program is attached; default XDPAuto
	// (XDPNone for TxOnly).
	XDP XDPMode

	// NoNeedWakeup binds without XDP_USE_NEED_WAKEUP: every Kick is a
	// system call even when the kernel does not ask for one.
	NoNeedWakeup bool

	// TxBudget, if not zero, sets how many frames the kernel sends per
	// kick in copy mode (XDP_MAX_TX_SKB_BUDGET, Linux 6.17 and later;
	// the kernel's default is 32). It must be in [MinTxBudget, TxSize],
	// as the kernel requires. On an older kernel Open fails with an
	// error matching [ErrNotSupported]; a caller that only wants fewer
	// system calls opens again without it.
	TxBudget int

	// BindTimeout bounds the retries of a bind that fails with EBUSY,
	// which the kernel returns for a while after a previous socket on the
	// same queue was closed; default 5 s. A negative value does not retry.
	BindTimeout time.Duration
}

// Defaults.
const (
	DefaultFrameSize   = 2048
	DefaultFrames      = 4096
	DefaultRingSize    = 2048
	DefaultBindTimeout = 5 * time.Second
	MinTxBudget        = 32 // the kernel's default TX budget, the least Config.TxBudget

	// MaxUMEM bounds a socket's UMEM, Config.Frames * Config.FrameSize,
	// in octets: Open allocates it on the Go heap before the kernel
	// sees it, so a size the memory cannot hold must be refused first.
	// 2 GiB is 2^20 frames of the default size. In a 32-bit program it
	// is 512 MiB: one allocation of 2 GiB does not fit beside the rest
	// of a 32-bit address space, and its length would not fit an int.
	MaxUMEM = min(2<<30, math.MaxInt/4+1)
)

// config is a Config with its defaults filled in and checked.
type config struct {
	Config
	rxFrames, txFrames int
	fillSize, compSize int
}

func pow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// ceilPow2 returns the least power of two >= n (n >= 1).
func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// resolve fills in the defaults of cfg and checks it.
func resolve(cfg *Config) (*config, error) {
	c := &config{}
	if cfg != nil {
		c.Config = *cfg
	}
	if c.FrameSize == 0 {
		c.FrameSize = DefaultFrameSize
	}
	if c.Frames == 0 {
		c.Frames = DefaultFrames
	}
	if c.RxSize == 0 {
		c.RxSize = DefaultRingSize
	}
	if c.TxSize == 0 {
		c.TxSize = DefaultRingSize
	}
	if c.Bind == 0 {
		c.Bind = BindCopy
	}
	if c.XDP == 0 {
		c.XDP = XDPAuto
		if c.TxOnly {
			c.XDP = XDPNone
		}
	}
	if c.BindTimeout == 0 {
		c.BindTimeout = DefaultBindTimeout
	}
	switch {
	case c.Queue < 0 || c.Queue >= maxQueues:
		return nil, fmt.Errorf("queue %d out of range [0, %d)", c.Queue, maxQueues)
	case !pow2(c.FrameSize) || c.FrameSize < 2048 || c.FrameSize > os.Getpagesize():
		return nil, fmt.Errorf("frame size %d is not a power of two in [2048, page size %d]", c.FrameSize, os.Getpagesize())
	case c.Frames < 2:
		return nil, fmt.Errorf("frames %d: at least 2", c.Frames)
	case c.Frames > MaxUMEM/c.FrameSize: // a product could wrap, even in int64
		return nil, fmt.Errorf("UMEM of %d frames of %d octets is over %d MiB (MaxUMEM)", c.Frames, c.FrameSize, MaxUMEM>>20)
	case !pow2(c.RxSize) || c.RxSize > maxRingSize:
		return nil, fmt.Errorf("rx ring size %d is not a power of two up to %d", c.RxSize, maxRingSize)
	case !pow2(c.TxSize) || c.TxSize > maxRingSize:
		return nil, fmt.Errorf("tx ring size %d is not a power of two up to %d", c.TxSize, maxRingSize)
	case c.TxOnly && c.RxOnly:
		return nil, fmt.Errorf("TxOnly and RxOnly are exclusive")
	case c.Bind < BindCopy || c.Bind > BindZeroCopyOrCopy:
		return nil, fmt.Errorf("invalid bind mode %d", int(c.Bind))
	case c.XDP < XDPAuto || c.XDP > XDPNone:
		return nil, fmt.Errorf("invalid XDP mode %d", int(c.XDP))
	case c.TxBudget != 0 && (c.TxBudget < MinTxBudget || c.TxBudget > c.TxSize):
		return nil, fmt.Errorf("tx budget %d out of range [%d, tx ring size %d]", c.TxBudget, MinTxBudget, c.TxSize)
	}
	switch {
	case c.TxOnly:
		c.txFrames = c.Frames
	case c.RxOnly:
		c.rxFrames = c.Frames
	default:
		c.rxFrames = c.Frames / 2
		c.txFrames = c.Frames - c.rxFrames
	}
	// The kernel wants both UMEM rings even when one side is unused.
	c.fillSize = ceilPow2(max(c.rxFrames, 1))
	c.compSize = ceilPow2(max(c.txFrames, 1))
	return c, nil
}

// maxQueues bounds Config.Queue and sizes the XSKMAP.
const maxQueues = 1024
