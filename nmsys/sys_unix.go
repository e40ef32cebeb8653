//go:build linux || freebsd

package nmsys

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/nmgo/nmgo/internal/abi"
	"golang.org/x/sys/unix"
)

// devicePath is the control device; tests point it elsewhere.
var devicePath = abi.NETMAP_DEVICE_NAME

// openDev opens /dev/netmap non-blocking: the netpoller only takes a file
// that is already non-blocking, and it must not see the fd before REGISTER
// (netmap's poll of an unregistered fd returns POLLERR without joining its
// wait queues, so epoll would never wake), so the os.File is made later.
func openDev(port, op string) (int, error) {
	if err := kernelABI(); err != nil {
		return -1, &Error{Op: op, Port: port, Err: &notSupportedError{msg: "nmsys: netmap's kernel ABI does not match this program", err: err}}
	}
	fd, err := unix.Open(devicePath, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	perr := &pathError{Op: "open", Path: devicePath, Err: err}
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return -1, devMissing(perr)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return -1, &Error{Op: op, Port: port, Err: &hintError{err: perr, hint: "read-write access to /dev/netmap is needed: run as root or give the user access to the device node"}}
	}
	return -1, &Error{Op: op, Port: port, Err: perr}
}

// kernelABI is kernelFits for this program and kernel, worked out once.
var kernelABI = sync.OnceValue(func() error {
	if ptrSize == 8 {
		return nil
	}
	return kernelFits(ptrSize, runtime.GOOS, kernelMachine())
})

// kernelMachine returns the kernel's machine name. On Linux
// /proc/sys/kernel/arch is the kernel's own, where uname reports i686 to a
// program run under the linux32 personality on an x86_64 kernel.
func kernelMachine() string {
	if b, err := os.ReadFile("/proc/sys/kernel/arch"); err == nil {
		if m := strings.TrimSpace(string(b)); m != "" {
			return m
		}
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	m, _, _ := bytes.Cut(u.Machine[:], []byte{0})
	return string(m)
}

// ioctlPtr issues ioctl(fd, req, arg). arg and every object reachable from
// it must be heap memory that stays alive for the call; the kernel reads
// and writes through it (and through nr_body/nr_options pointers) while the
// call runs.
func ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
	if e != 0 {
		return e
	}
	return nil
}

// ioctlSync issues an argument-less sync request and returns the raw errno.
func ioctlSync(fd uintptr, req uintptr) syscall.Errno {
	_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, req, 0)
	return e
}

func setBlocking(fd int) error { return unix.SetNonblock(fd, false) }

func closeFD(fd int) { _ = unix.Close(fd) }

func mmapRegion(fd int, size int) ([]byte, error) {
	return unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func munmapRegion(b []byte) error { return unix.Munmap(b) }

// pollOne is poll(2) on one fd for at most ms milliseconds; a timeout or
// EINTR is not an error. It returns the fd's revents.
func pollOne(fd uintptr, events int16, ms int) (int16, syscall.Errno) {
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
	_, err := unix.Poll(pfd[:], ms)
	return pfd[0].Revents, pollErrno(err)
}

// pollTwo is pollOne on two fds at once.
func pollTwo(a, b uintptr, events int16, ms int) (ra, rb int16, e syscall.Errno) {
	pfd := [2]unix.PollFd{{Fd: int32(a), Events: events}, {Fd: int32(b), Events: events}}
	_, err := unix.Poll(pfd[:], ms)
	return pfd[0].Revents, pfd[1].Revents, pollErrno(err)
}

// pollErrno is poll(2)'s error as an errno, 0 for none or EINTR.
func pollErrno(err error) syscall.Errno {
	if err == nil || err == unix.EINTR {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EINVAL
}

const (
	pollIn  = unix.POLLIN
	pollOut = unix.POLLOUT
	pollErr = unix.POLLERR
)

var (
	errEOPNOTSUPP = unix.EOPNOTSUPP
	errENOTTY     = unix.ENOTTY
	errENOENT     = unix.ENOENT
)

// parkRegion replaces the netmap mapping under b with private anonymous
// memory at the same address (MAP_FIXED replaces atomically). netmap's
// mapping, and with it the registration, goes away, while a goroutine that
// still holds a ring view reads and writes harmless zeroed memory instead
// of faulting. The placeholder is unmapped later by munmapRegion(b).
func parkRegion(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_, err := unix.MmapPtr(-1, 0, unsafe.Pointer(&b[0]), uintptr(len(b)),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_FIXED)
	return err
}

// remapRegion maps the netmap region of fd over b, at the same address
// (MAP_FIXED replaces the old mapping; if the call fails, the old one may
// be gone already: see region.forget).
func remapRegion(b []byte, fd int) error {
	if len(b) == 0 {
		return nil
	}
	_, err := unix.MmapPtr(fd, 0, unsafe.Pointer(&b[0]), uintptr(len(b)),
		unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED)
	return err
}
