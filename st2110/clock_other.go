//go:build !linux

package st2110

import (
	"errors"
	"fmt"
)

// errNoPHC is returned where PTP hardware clocks are not read.
var errNoPHC = errors.New("PTP hardware clocks are read on Linux only")

// kernelTAIOffset: only Linux's adjtimex reports a TAI offset.
func kernelTAIOffset() (int64, bool) { return 0, false }

func openPHC(name string) (func() (int64, error), func() error, error) {
	return nil, nil, fmt.Errorf("st2110: clock %s: %w", name, errNoPHC)
}
