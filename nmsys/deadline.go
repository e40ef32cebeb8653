package nmsys

import (
	"math"
	"time"
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
	p.rdeadline.Store(deadlineNanos(t))
	return nil
}

// SetWriteDeadline sets the deadline for [Port.WaitTx].
func (p *Port) SetWriteDeadline(t time.Time) error {
	p.wdeadline.Store(deadlineNanos(t))
	return nil
}

func deadlineNanos(t time.Time) int64 {
	// Compared as times: UnixNano wraps before 1678 and after 2262.
	switch {
	case t.IsZero():
		return 0
	case t.Before(time.Unix(0, 1)):
		return 1 // in the past
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}
