//go:build linux

package st2110

import (
	"syscall"
	"time"
	"unsafe"

	"github.com/nmgo/nmgo/internal/handoff"
	"golang.org/x/sys/unix"
)

// mmsg calls recvmmsg(2) or sendmmsg(2) (trap) on fd with hs and flags,
// without blocking, and returns how many messages went. x/sys/unix has
// the message types but no wrapper for these calls; this is the one use
// of unsafe in package st2110: to pass the address of the header array.
func mmsg(trap uintptr, fd uintptr, hs []unix.Mmsghdr, flags int) (int, syscall.Errno) {
	if len(hs) == 0 {
		return 0, 0
	}
	n, _, errno := unix.Syscall6(trap, fd, uintptr(unsafe.Pointer(&hs[0])), uintptr(len(hs)), uintptr(flags|unix.MSG_DONTWAIT), 0, 0)
	return int(n), errno
}

// holdSleep sleeps the calling thread for d, keeping the goroutine's P
// (handoff.HoldSleep), as nmsys's and xsk's lingers do: for a UDP
// reader's short sleeps (MaxLinger).
func holdSleep(d time.Duration) { handoff.HoldSleep(d) }
