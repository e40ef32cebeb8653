//go:build !linux

package nmsys

import (
	"syscall"
	"time"
)

// holdSleep sleeps for d (time.Sleep outside Linux).
func holdSleep(d time.Duration) { time.Sleep(d) }

// pollOneHandOff is pollOne: the P is handed off on Linux only.
func pollOneHandOff(fd uintptr, events int16, ms int) (int16, syscall.Errno) {
	return pollOne(fd, events, ms)
}

// pollTwoHandOff is pollTwo.
func pollTwoHandOff(a, b uintptr, events int16, ms int) (ra, rb int16, e syscall.Errno) {
	return pollTwo(a, b, events, ms)
}
