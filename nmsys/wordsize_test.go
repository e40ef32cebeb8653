package nmsys

import (
	"math"
	"strings"
	"testing"
)

// A 32-bit program speaks netmap only to a 64-bit Linux kernel, whose
// layouts are the ones package abi spells; everything else is refused with
// the reason. A 64-bit program is never refused.
func TestKernelFits(t *testing.T) {
	for _, c := range []struct {
		ptr           uintptr
		goos, machine string
		ok            bool
		says          string
	}{
		{8, "linux", "i686", true, ""},
		{8, "freebsd", "amd64", true, ""},
		{4, "linux", "x86_64", true, ""},
		{4, "linux", "aarch64", true, ""},
		{4, "linux", "i686", false, `"i686"`},
		{4, "linux", "armv7l", false, "needs a 64-bit kernel"},
		{4, "linux", "armv8l", false, "ssize_t ring offsets"},
		{4, "linux", "unknown", false, `"unknown"`},
		{4, "freebsd", "amd64", false, "Linux only"},
	} {
		err := kernelFits(c.ptr, c.goos, c.machine)
		if (err == nil) != c.ok {
			t.Errorf("%d-byte pointers, %s %s: error %v, want ok=%v", c.ptr, c.goos, c.machine, err, c.ok)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s %s: error %q does not say %q", c.goos, c.machine, err, c.says)
		}
	}
	for _, m := range []string{"x86_64", "aarch64", "ppc64le", "riscv64", "s390x", "loongarch64", "mips64"} {
		if !machine64(m) {
			t.Errorf("machine64(%q) = false", m)
		}
	}
	for _, m := range []string{"i386", "i686", "armv7l", "armv8l", "mips", "", "6"} {
		if machine64(m) {
			t.Errorf("machine64(%q) = true", m)
		}
	}
}

// A region larger than the program can map is refused with its size, not
// truncated to the low bits of nr_memsize (a 4 GiB + 4 KiB region once
// would have been mapped as 4 KiB in a 32-bit program).
func TestRegionSize(t *testing.T) {
	const limit32 = math.MaxInt32
	for _, c := range []struct {
		memsize, offset, limit uint64
		want                   int
		says                   string
	}{
		{4096, 0, limit32, 4096, ""},
		{limit32, 1 << 20, limit32, limit32, ""},
		{1<<32 + 4096, 0, limit32, 0, "4294971392 bytes"},
		{1 << 31, 0, limit32, 0, "more than"},
		{0, 0, limit32, 0, "memsize 0"},
		{4096, 4096, limit32, 0, "offset 4096"},
		{1<<40 + 4096, 0, 1 << 40, 0, "more than nmgo maps"},
		{1<<40 + 4096, 0, limit32, 0, "more than a 32-bit program can map"},
	} {
		got, err := regionSize(c.memsize, c.offset, c.limit)
		switch {
		case c.says == "" && (err != nil || got != c.want):
			t.Errorf("regionSize(%d, %d) = %d, %v; want %d", c.memsize, c.offset, got, err, c.want)
		case c.says != "" && (err == nil || !strings.Contains(err.Error(), c.says)):
			t.Errorf("regionSize(%d, %d) = %d, %v; want an error saying %q", c.memsize, c.offset, got, err, c.says)
		}
	}
	if n, err := fitInt("x", math.MaxInt); err != nil || n != math.MaxInt {
		t.Errorf("fitInt(MaxInt) = %d, %v", n, err)
	}
	if _, err := fitInt("nr_memsize", math.MaxInt+1); err == nil || !strings.Contains(err.Error(), "nr_memsize") {
		t.Errorf("fitInt(MaxInt+1) = %v, want an error naming the field", err)
	}
}
