//go:build !unix

package st2110

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
