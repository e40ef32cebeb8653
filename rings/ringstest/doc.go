// Package ringstest provides a netmap port in memory, for testing code that
// drives [rings.TxRing] and [rings.RxRing] without /dev/netmap, as
// net/http/httptest provides servers for testing HTTP code.
//
// A [Port] is a memory region laid out exactly as netmap maps one (a
// netmap_if, rings with their slot arrays, a buffer pool with an
// extra-buffer list) together with a small simulation of the kernel's side
// of its rings: [Port.TxSync] sends what was published, to a callback
// ([Port.OnSend]) or to another Port's RX ring ([Connect]); [Port.Inject]
// plays the wire and puts a frame into an RX ring, which [Port.RxSync]
// makes visible. The simulation follows netmap's rules: the kernel owns
// the slots from tail to head, touches a ring only inside a sync, checks
// head and cur in the sync's prologue, and reinitialises a ring whose
// cursors are out of range.
//
// Its methods mirror those of an nmsys.Port (TxRing, RxRing, TxSync,
// RxSync, WaitRx, WaitTx, Mem, IfOffset, TxRingOffset, RxRingOffset,
// SetReadDeadline, Close), so code written against small interfaces of
// them, as package packet's RxPort, runs on either. It makes no system
// calls and needs no privilege.
//
// # Concurrency
//
// As with netmap, each ring belongs to one goroutine at a time: its ring
// view and its syncs (TxSync, RxSync, WaitRx, WaitTx) must not be used
// from two goroutines at once. Inject, OnSend, Connect, SetReadDeadline
// and Close may be called from any goroutine: Inject and a connected
// Port's TxSync wake a WaitRx blocked in another goroutine, and Close
// makes it return [ErrClosed].
package ringstest
