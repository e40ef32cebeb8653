package nmsys

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// ptrSize is 4 in a 32-bit program, 8 in a 64-bit one.
const ptrSize = unsafe.Sizeof(uintptr(0))

// kernelFits reports, for a 32-bit program, whether the kernel speaks the
// netmap layouts of package abi, which are those of a 64-bit kernel: the
// control structs have fixed-width fields, but a 32-bit kernel's
// netmap_if ring offsets are ssize_t (4 bytes) and its netmap_ring
// timestamp is a 32-bit struct timeval, which moves every field after it.
// A 64-bit kernel serves a 32-bit program through its compat ioctl entry,
// which hands the request to netmap unchanged, so there the layouts agree.
// machine is the kernel's machine name; it is consulted only when ptr is 4.
func kernelFits(ptr uintptr, goos, machine string) error {
	if ptr == 8 {
		return nil
	}
	if goos != "linux" {
		return fmt.Errorf("netmap from a 32-bit program is supported on Linux only, through a 64-bit kernel's compat ioctl; this is %s", goos)
	}
	if !machine64(machine) {
		return fmt.Errorf("netmap from a 32-bit program needs a 64-bit kernel: this kernel is %q, whose netmap_if and netmap_ring layouts (ssize_t ring offsets, 32-bit timeval) differ from the 64-bit ones nmgo speaks", machine)
	}
	return nil
}

// machine64 reports whether a kernel machine name (uname -m) is a 64-bit
// one: x86_64, aarch64, ppc64le, riscv64, s390x and the like.
func machine64(m string) bool { return strings.Contains(m, "64") || m == "s390x" }

// regionSize converts the kernel's nr_memsize to the length of the mapping.
// A region larger than the program can address (above 2 GiB in a 32-bit
// program, whose []byte cannot be longer) is refused rather than mapped
// short; so is one above limit (2^40 in a 64-bit program, far above any
// netmap allocator: a kernel's answer not to trust).
func regionSize(memsize, offset uint64, limit uint64) (int, error) {
	if memsize == 0 || offset >= memsize {
		return 0, fmt.Errorf("kernel returned memsize %d, offset %d", memsize, offset)
	}
	switch {
	case memsize > limit && limit > math.MaxInt32:
		return 0, fmt.Errorf("the memory region is %d bytes, more than nmgo maps (%d): no netmap allocator is that large; the kernel's answer is not one to trust", memsize, limit)
	case memsize > limit:
		return 0, fmt.Errorf("the memory region is %d bytes, more than a 32-bit program can map (%d): use a smaller netmap allocator, or a 64-bit build", memsize, limit)
	}
	return int(memsize), nil
}

// fitInt converts a kernel-reported size or offset to int, refusing one
// that a 32-bit int cannot hold instead of truncating it.
func fitInt(what string, v uint64) (int, error) {
	if v > math.MaxInt {
		return 0, fmt.Errorf("kernel reports %s %s, more than this %d-bit program's int holds", what, strconv.FormatUint(v, 10), 8*ptrSize)
	}
	return int(v), nil
}
