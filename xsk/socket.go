package xsk

import "fmt"

// Info describes an open socket.
type Info struct {
	Iface     string
	Ifindex   int
	Queue     int
	ZeroCopy  bool    // bound in zero-copy mode
	XDP       XDPMode // XDPNative or XDPGeneric as attached; XDPNone if none
	FrameSize int
	RxFrames  int // UMEM frames for receiving
	TxFrames  int // UMEM frames for sending
	RxSize    int // RX ring entries (0 without RX)
	TxSize    int // TX ring entries (0 without TX)
}

// Error is the error of a control operation on a socket: it names the
// operation and the interface and queue, and wraps the cause (an
// *os.SyscallError for a system call, so errors.Is(err, unix.EBUSY) works).
type Error struct {
	Op    string // "socket", "umem", "bind", "attach", "kick", ...
	Iface string
	Queue int
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("xsk: %s %s queue %d: %v", e.Op, e.Iface, e.Queue, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
