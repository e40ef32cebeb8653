package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/nmgo/nmgo/nmsys"
)

// openPort opens the netmap port name for a loop that owns the port and its
// OS thread, so waits block the thread in poll(2) and the fd stays out of
// epoll (Config.ThreadWait): no wake-up of another thread per delivered
// batch. A cancelled ctx wakes a blocked wait through a past deadline.
// closePort undoes both.
func openPort(ctx context.Context, name string, c *nmsys.Config) (_ *nmsys.Port, closePort func() error, _ error) {
	c.ThreadWait = true
	port, err := nmsys.Open(name, c)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { port.SetDeadline(time.Unix(1, 0)) })
	return port, func() error { stop(); return port.Close() }, nil
}

// waitLink gives a freshly opened NIC d (-w) to bring its link up, or
// less if ctx ends first.
func waitLink(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// waitErr turns the end of a wait into the end of the loop: nil to go on,
// errStop when ctx ended it, else the error.
var errStop = errors.New("stop")

func waitErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return errStop
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return err
}
