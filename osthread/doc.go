// Package osthread helps a loop that owns its OS thread
// (runtime.LockOSThread) and never blocks in Go, as a fast-path packet loop
// over netmap or AF_XDP rings does: it waits in system calls (a sync, or
// poll(2) on its own thread) and otherwise spins over the rings.
//
// Such a goroutine still has to give the Go scheduler a turn now and then,
// or the runtime's monitor (sysmon) preempts it on its own terms: see
// [Yielder].
//
// The package makes no system calls and needs no privilege. A Yielder is
// owned by one goroutine and is not safe for concurrent use.
package osthread
