// Package xdptest holds helpers for tests of the AF_XDP path on the host:
// network namespaces joined by a veth pair with one queue per side, a way
// to run code inside a namespace, and the checks the tests make (XDP
// attachments on a link, open file descriptors).
//
// The tests need root. [Require] skips a test with the reason when it is
// not root, unless NMTEST_XDP=1 is set (.ci/run sets it), in which case it
// fails: a broken harness cannot pass as "all skipped".
//
// It is Linux-only (on other systems the package is empty). It is for tests only (.ci/arrows keeps it out of non-test code). Every
// namespace and link it makes is named with the prefix "nmxs" and removed
// by t.Cleanup. Its functions are safe for concurrent use.
package xdptest
