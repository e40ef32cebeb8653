// Package netns holds host tests of package st2110, and of nmbench's vtx
// and vrx built on it, over real multicast:
// network namespaces joined by a Linux bridge that snoops IGMP and MLD
// (mcast_snooping 1, its own querier, unregistered groups not flooded to
// the receivers' ports), so a receiver gets a flow only because its join
// worked, and stops getting it when it leaves.
//
//	sender (nmst-s) ─┐
//	receiver 1 (nmst-r1) ─┤ bridge nmst-br in nmst-sw, IGMPv3/MLDv2 snooping
//	receiver 2 (nmst-r2) ─┤
//	bystander (nmst-r3) ──┘ joins nothing
//
// The tests need root (network namespaces, veth, bridges) and the ip and
// bridge commands (iproute2), and run only with NMTEST_NETNS=1 (.ci/run's
// netns stage sets it), which makes a missing privilege or tool a failure;
// without it they skip, so that go test ./... does not run their
// multicast traffic beside its timing-sensitive tests:
//
//	NMTEST_NETNS=1 go test -count=1 -v ./test/netns/
//
// The ST 2022-7 tests (dup_test.go) build their own two paths, a sender
// and a receiver namespace joined by two veth pairs, and drop packets on
// either with nftables (the nft command: netdev egress chains), at
// random, on both alike, or delay one path's copies.
//
// TestUDPSendBufferFull (sndbuf_test.go) stops a UDP sender whose send
// buffer cannot drain: a veth whose queue discipline (set with tc, from
// iproute2) holds every datagram.
//
// Every namespace, link and bridge they create is named nmst-* (nmdp-*
// for the ST 2022-7 tests, nmsf-* for the full send buffer), and deleted
// when they end. The package has no API; it is not imported by
// anything.
package netns
