//go:build !linux

package st2110

import "time"

// threadSleeper is time.Sleep outside Linux.
type threadSleeper struct{}

func (t *threadSleeper) start()                {}
func (t *threadSleeper) stop()                 {}
func (t *threadSleeper) sleep(d time.Duration) { time.Sleep(d) }
