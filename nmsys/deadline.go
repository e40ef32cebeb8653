package nmsys

import (
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
)

// SetDeadline sets the read and write deadlines, as for an os.File: a
// WaitRx or WaitTx blocked past it returns os.ErrDeadlineExceeded. The zero
// time means no deadline.
func (p *Port) SetDeadline(t time.Time) error {
	p.SetReadDeadline(t)
	return p.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for [Port.WaitRx].
func (p *Port) SetReadDeadline(t time.Time) error {
	p.rdeadline.Store(handoff.DeadlineNanos(t))
	return nil
}

// SetWriteDeadline sets the deadline for [Port.WaitTx].
func (p *Port) SetWriteDeadline(t time.Time) error {
	p.wdeadline.Store(handoff.DeadlineNanos(t))
	return nil
}
