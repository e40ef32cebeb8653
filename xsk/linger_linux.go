package xsk

import (
	"time"

	"github.com/nmgo/nmgo/internal/handoff"
)

// holdSleep sleeps the calling OS thread for d, keeping the goroutine's P
// (handoff.HoldSleep): for a linger's short sleeps (MaxLinger).
func holdSleep(d time.Duration) { handoff.HoldSleep(d) }
