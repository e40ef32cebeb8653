//go:build !linux

package xsk

import (
	"runtime"
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
)

// Socket is an AF_XDP socket. AF_XDP exists only on Linux: on this system
// [Open] always fails with an error matching [ErrNotSupported], and a
// Socket is never made.
type Socket struct{ info Info }

// Open returns an error matching [ErrNotSupported]: AF_XDP is a Linux
// facility.
func Open(iface string, cfg *Config) (*Socket, error) {
	q := 0
	if cfg != nil {
		q = cfg.Queue
	}
	return nil, &Error{Op: "open", Iface: iface, Queue: q, Err: errOS}
}

var errOS = notSupported{}

type notSupported struct{}

func (notSupported) Error() string {
	return "AF_XDP is not available on " + runtime.GOOS + " (Linux only)"
}
func (notSupported) Is(target error) bool { return target == ErrNotSupported }

func (s *Socket) Info() Info                         { return s.info }
func (s *Socket) FD() int                            { return -1 }
func (s *Socket) Tx() *TxQueue                       { return nil }
func (s *Socket) Rx() *RxQueue                       { return nil }
func (s *Socket) Kick() error                        { return ErrClosed }
func (s *Socket) PollRx(timeout time.Duration) error { return ErrClosed }
func (s *Socket) spinRx(check bool) error            { return ErrClosed }

func (s *Socket) pollRx(timeout time.Duration, ho *handoff.Clock, now int64) error {
	return ErrClosed
}
func (s *Socket) WaitRx() error                     { return ErrClosed }
func (s *Socket) WaitTx() error                     { return ErrClosed }
func (s *Socket) SetDeadline(t time.Time) error     { return ErrClosed }
func (s *Socket) SetReadDeadline(t time.Time) error { return ErrClosed }
func (s *Socket) SetWriteDeadline(t time.Time) error {
	return ErrClosed
}
func (s *Socket) Stats() (Stats, error) { return Stats{}, ErrClosed }
func (s *Socket) Close() error          { return ErrClosed }
