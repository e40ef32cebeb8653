// Package nmsys opens netmap ports: it parses a port name, registers the
// port with the kernel (NIOCCTRL), maps its memory region, and syncs and
// waits on its rings. It also manages VALE switches (attach, detach, list,
// persistent ports).
//
//	p, err := nmsys.Open("vale0:a", nil)
//	...
//	defer p.Close()
//
// Port names follow libnetmap: "netmap:eth0", "netmap:eth0^" (host rings),
// "netmap:eth0*" (NIC and host), "netmap:eth0-2" (one ring pair),
// "vale0:a" (a VALE port, created on demand), "netmap:p{1" and "netmap:p}1"
// (the two ends of a pipe), with "/flags" and "@" options; see [ParseName].
//
// What it is not: nmsys does not move packets. It hands out the mapped
// region ([Port.Mem]) and the offsets of the bound rings, on which the rings
// package builds its cursors; it only issues the syncs ([Port.TxSync],
// [Port.RxSync]) and the blocking waits ([Port.WaitRx], [Port.WaitTx], through
// Go's netpoller, with deadlines).
//
// Privilege: read-write access to /dev/netmap, usually root. Registering a
// NIC puts it in netmap mode and disconnects it from the host stack while
// the port is open.
//
// Platforms: Linux is the target. FreeBSD, where netmap is part of the
// kernel, builds from the same code. On other systems Open returns an error
// matching [ErrNotSupported]. A 32-bit program (386, arm) speaks netmap
// through a 64-bit Linux kernel, whose compat ioctl entry passes netmap's
// fixed-width requests through unchanged; on a 32-bit kernel, whose
// netmap_if and netmap_ring layouts differ, or on FreeBSD, Open returns an
// error matching [ErrNotSupported] that says so. A memory region larger
// than the program can map (2 GiB in a 32-bit program) is refused.
//
// Concurrency: control functions and [Port.Close] are safe for concurrent
// use. A Port's TX side (TxSync, WaitTx) and RX side (RxSync, WaitRx) may be
// driven by one goroutine each; netmap does not support concurrent syncs of
// the same ring. For one goroutine per ring, open one Port per ring pair.
// Close may be called from any goroutine at any time: it wakes waiters,
// which return [ErrClosed], and unmaps the region only when no goroutine is
// inside it.
package nmsys
