//go:build !linux

package nmsys

import "time"

// holdSleep sleeps for d (time.Sleep outside Linux).
func holdSleep(d time.Duration) { time.Sleep(d) }
