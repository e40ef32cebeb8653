//go:build race

package xsk_test

// raceEnabled: the race detector slows the hot loops about tenfold, so the
// long host tests send fewer frames under it (the full counts run in the
// plain test stages).
const raceEnabled = true
