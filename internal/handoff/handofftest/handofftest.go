// Package handofftest holds what the tests of the P's hand-off (package
// handoff and its users, nmsys and xsk) share. It is for tests only
// (.ci/arrows keeps it out of non-test code) and imports std only.
package handofftest

import "sync/atomic"

// RanDuring reports whether, with one P (runtime.GOMAXPROCS(1)), a
// goroutine made runnable on it just before wait ran during it, in one
// of three tries: the thread woken to take the P may come to its
// scheduler only after the waiter woke and queued itself for the P, and
// the scheduler takes the global queue first once in 61 turns. A wait
// that keeps the P (a system call through the runtime's path, shorter
// than two looks of its monitor) never lets it run.
func RanDuring(wait func()) bool {
	for range 3 {
		var r atomic.Bool
		go func() { r.Store(true) }()
		wait()
		if r.Load() {
			return true
		}
	}
	return false
}
