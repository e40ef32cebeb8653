//go:build !linux

package xsk

import "time"

// holdSleep sleeps for d (AF_XDP is Linux's: no socket lingers here).
func holdSleep(d time.Duration) { time.Sleep(d) }
