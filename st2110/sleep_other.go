//go:build !linux

package st2110

import (
	"errors"
	"time"
)

// threadSleeper is time.Sleep outside Linux.
type threadSleeper struct{}

// handOffs: none, time.Sleep gives the P back to the runtime itself.
func (t *threadSleeper) handOffs() uint64 { return 0 }

func (t *threadSleeper) start()                           {}
func (t *threadSleeper) stop()                            {}
func (t *threadSleeper) sleep(d time.Duration, now int64) { time.Sleep(d) }
func (t *threadSleeper) keepP()                           {}

// threadPriority refuses outside Linux: no SCHED_FIFO to ask for (Dial
// refuses SendConfig.Priority there first).
type threadPriority struct{}

// prioritySupported: no SCHED_FIFO for a sender's thread here.
const prioritySupported = false

func (t *threadPriority) set(prio int) error {
	return errors.New("a real-time priority for the sender's thread needs Linux (SCHED_FIFO)")
}
func (t *threadPriority) on() bool      { return false }
func (t *threadPriority) follow() error { return nil }
func (t *threadPriority) restore()      {}
