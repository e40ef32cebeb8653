// Package heapmem builds, on the Go heap, a memory region laid out exactly
// like the one netmap maps for a port: a netmap_if with its ring_ofs table,
// netmap_ring objects with their slot arrays, and a buffer pool (buffers 0
// and 1 reserved, an optional extra-buffer free list hanging off
// ni_bufs_head). A small kernel simulator (TxSync, RxSync, Inject, links
// between rings) moves the kernel's side of the rings the way netmap does,
// and corruption helpers write arbitrary values into any field.
//
// It exists so that the rings package runs its real code in plain go test,
// under the race detector (which cannot see mmapped memory) and under the
// fuzzer, without /dev/netmap. It is for tests, and for rings/ringstest,
// which makes its user-facing part (a port in memory, syncs, injection,
// links) public; .ci/arrows fails the build if anything else imports it.
//
// The region is bracketed by guard bytes; [Region.CheckGuards] reports
// whether anything wrote outside it. Shared fields are read and written in
// host byte order, as the kernel does.
//
// The simulator keeps the kernel's private ring state (hwcur, hwtail) in
// the Region, never in shared memory. All simulator methods take one
// package-wide lock, so rings of one or several Regions may be driven from
// different goroutines; like netmap, a ring's syncs must come from the
// goroutine that owns the ring (or be ordered with it).
package heapmem
