// Package capture holds host tests of package st2110's pcap: captures
// read from devices that take x/sys/unix to set up, which the tests of
// package st2110 may not import (.ci/arrows): a pseudo-terminal, a file
// under a write lease.
//
//	go test -count=1 ./test/capture/
package capture
