//go:build !linux && !freebsd

package nmsys

import (
	"runtime"
	"syscall"
	"unsafe"
)

func notSupported() error {
	return &notSupportedError{msg: "nmsys: netmap is not available on " + runtime.GOOS + " (nmgo supports Linux and FreeBSD)"}
}

func openDev(port, op string) (int, error)                            { return -1, notSupported() }
func ioctlPtr(fd int, req uintptr, arg unsafe.Pointer) error          { return notSupported() }
func ioctlSync(fd uintptr, req uintptr) syscall.Errno                 { return syscall.EINVAL }
func setBlocking(fd int) error                                        { return notSupported() }
func closeFD(fd int)                                                  {}
func mmapRegion(fd int, size int) ([]byte, error)                     { return nil, notSupported() }
func munmapRegion(b []byte) error                                     { return nil }
func pollOne(fd uintptr, events int16, ms int) (int16, syscall.Errno) { return 0, syscall.EINVAL }

func pollTwo(a, b uintptr, events int16, ms int) (ra, rb int16, e syscall.Errno) {
	return 0, 0, syscall.EINVAL
}

const (
	pollIn  = 0x1
	pollOut = 0x4
	pollErr = 0x8
)

var (
	errEOPNOTSUPP error = syscall.Errno(0x2d)
	errENOTTY     error = syscall.Errno(0x19)
	errENOENT     error = syscall.Errno(0x2)
)

func parkRegion(b []byte) error { return nil }

func remapRegion(b []byte, fd int) error { return nil }
