//go:build race

package main

// raceEnabled: under the race detector sync.Pool drops a quarter of the
// objects put back (sync/pool.go, on purpose), so code that recycles
// through a pool (x/net's sendmmsg and recvmmsg temporaries) allocates
// per batch what it does not otherwise: allocation counts through a pool
// are not the program's there.
const raceEnabled = true
