package main

import (
	"context"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// listenCapture is st2110.ListenContext: on Linux its context ends the
// wait for a FIFO's writer, in the open, as well as for its header.
func listenCapture(ctx context.Context, name string, sess *video.Session, lc *st2110.ListenConfig) (*st2110.Receiver, error) {
	return st2110.ListenContext(ctx, name, sess, lc)
}
