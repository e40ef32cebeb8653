// Package netns holds host tests of package st2110 over real multicast:
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
// bridge commands (iproute2). They skip with the reason when those are
// missing, unless NMTEST_NETNS=1 is set (.ci/run sets it), which makes
// that a failure:
//
//	NMTEST_NETNS=1 go test -count=1 -v ./test/netns/
//
// Every namespace, link and bridge they create is named nmst-*, and
// deleted when they end. The package has no API; it is not imported by
// anything.
package netns
