package nmsys

import (
	"errors"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
)

// TxSync tells the kernel about the slots published on the bound TX rings
// (NIOCTXSYNC): it sends them and reclaims completed slots, moving each
// ring's tail. It never waits for space; see [Port.WaitTx]. It does not
// allocate.
func (p *Port) TxSync() error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := p.rc.Control(p.txSyncFn); err != nil {
		return p.ctlErr(err)
	}
	if p.txErrno != 0 {
		return p.syncErr("txsync", "ioctl", p.txErrno)
	}
	return nil
}

// RxSync returns the released slots of the bound RX rings to the kernel and
// makes newly received packets visible (NIOCRXSYNC). It never waits; see
// [Port.WaitRx]. It does not allocate.
func (p *Port) RxSync() error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := p.rc.Control(p.rxSyncFn); err != nil {
		return p.ctlErr(err)
	}
	if p.rxErrno != 0 {
		return p.syncErr("rxsync", "ioctl", p.rxErrno)
	}
	return nil
}

func (p *Port) txSyncCB(fd uintptr) { p.txErrno = ioctlSync(fd, abi.NIOCTXSYNC) }
func (p *Port) rxSyncCB(fd uintptr) { p.rxErrno = ioctlSync(fd, abi.NIOCRXSYNC) }

// ctlErr maps an error of the os layer to ours.
func (p *Port) ctlErr(err error) error {
	if p.closed.Load() || errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	return &Error{Op: "sync", Port: p.name, Err: err}
}

// syncErr reports errno e from the system call named call (ioctl or poll)
// made for op.
func (p *Port) syncErr(op, call string, e syscall.Errno) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return &Error{Op: op, Port: p.name, Err: os.NewSyscallError(call, e)}
}

// enter registers a goroutine about to touch the mapped memory from inside
// the port; it fails once Close has begun.
func (p *Port) enter() bool {
	p.users.Add(1)
	if p.closed.Load() {
		p.users.Add(-1)
		return false
	}
	return true
}

func (p *Port) exit() { p.users.Add(-1) }

// rxReady reports whether a bound RX ring holds packets past cur (cur !=
// tail), as netmap's poll decides POLLIN: slots the user holds with cur
// beyond head (rings.RxRing.ReleaseHold) do not count.
func (p *Port) rxReady() bool {
	for _, off := range p.rxOffs {
		if ringWord(p.mem, off, abi.RingCur).Load() != ringWord(p.mem, off, abi.RingTail).Load() {
			return true
		}
	}
	return false
}

// txReady reports whether a bound TX ring has free slots past cur (cur !=
// tail), as netmap's poll decides POLLOUT.
func (p *Port) txReady() bool {
	for _, off := range p.txOffs {
		if ringWord(p.mem, off, abi.RingCur).Load() != ringWord(p.mem, off, abi.RingTail).Load() {
			return true
		}
	}
	return false
}

// ringWord returns the 32-bit ring header word at off+field; offsets were
// validated in layout.
func ringWord(mem []byte, off, field int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off+field]))
}
