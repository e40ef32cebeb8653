//go:build !linux

package xsk

import "time"

// linger sleeps for d (AF_XDP is Linux's: no socket lingers here).
func linger(d time.Duration) { time.Sleep(d) }
