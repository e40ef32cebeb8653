// Package nmtest holds helpers for tests that need a real netmap kernel,
// and for tests of FIFOs ([FIFO], [FIFOReader]).
//
// Tests that need /dev/netmap call [Require]: on a host without it they skip
// with a reason, unless NMTEST_REQUIRE=1 is set (the test/vale VM runner sets
// it), in which case they fail, so a broken harness cannot pass as "all
// skipped".
//
// It is for tests only (.ci/arrows keeps it out of non-test code), needs no
// privilege itself, and its functions are safe for concurrent use.
package nmtest
