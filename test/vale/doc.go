// Package vale holds nmgo's integration tests against a real netmap kernel
// module: VALE switches, pipes, persistent VALE ports and host rings.
//
// The tests need /dev/netmap. On a host without it they skip, unless
// NMTEST_REQUIRE=1 is set, in which case they fail. The VM runner in
// test/vale/vm boots a kernel with netmap.ko under qemu, runs the test
// binary built with CGO_ENABLED=0 go test -c, and sets NMTEST_REQUIRE=1;
// CI runs them in deterministic virtual time (--icount), where their
// deadlines and zero-loss checks do not depend on the host's load:
//
//	test/vale/vm/run --icount
//
// The soak (soak_test.go) runs only when its counts are set
// (NMTEST_SOAK_PACKETS, NMTEST_SOAK_FRAMES), in deterministic virtual
// time; the fault tests (faults_test.go) run with the others. Both are
// described, with their results, in docs/reliability.md:
//
//	test/vale/vm/run --icount --env NMTEST_SOAK_PACKETS=5e6 --env NMTEST_SOAK_FRAMES=600 -- -test.run '^(TestSoak|TestFault)'
//
// The package has no API; it is not imported by anything.
package vale
