//go:build unix

package st2110

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system:
// on a shared machine it moves less with the other load than the wall
// clock does, and it counts the consumer's goroutine too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
