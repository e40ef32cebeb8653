//go:build !linux

package main

import (
	"context"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// listenCapture is st2110.ListenContext given up on by abandonListen when
// ctx ends: outside Linux the open of a FIFO waits for its writer, and
// ListenContext's context does not end that wait (on macOS not even the
// wait for the header).
func listenCapture(ctx context.Context, name string, sess *video.Session, lc *st2110.ListenConfig) (*st2110.Receiver, error) {
	return abandonListen(ctx, name, sess, lc, st2110.ListenContext)
}
