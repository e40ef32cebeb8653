// Package vale holds nmgo's integration tests against a real netmap kernel
// module: VALE switches, pipes, persistent VALE ports and host rings.
//
// The tests need /dev/netmap. On a host without it they skip, unless
// NMTEST_REQUIRE=1 is set, in which case they fail. The VM runner in
// test/vale/vm boots a kernel with netmap.ko under qemu, runs the test
// binary built with CGO_ENABLED=0 go test -c, and sets NMTEST_REQUIRE=1:
//
//	test/vale/vm/run
//
// The package has no API; it is not imported by anything.
package vale
