// Package xdptest holds helpers for tests of the AF_XDP path on the host:
// network namespaces joined by a veth pair with one queue per side, a way
// to run code inside a namespace, and the checks the tests make (XDP
// attachments on a link, open file descriptors).
//
// The tests run only with NMTEST_XDP=1 (.ci/run's AF_XDP stage sets it):
// [Require] skips a test with the reason without it, even as root, since
// these real-time senders and receivers lose packets beside the other
// packages go test ./... runs at the same time; with it, a test that is
// not root or lacks a tool fails: a broken harness cannot pass as "all
// skipped". Run them as root with
//
//	NMTEST_XDP=1 go test -p 1 -v ./xsk/ ./test/xdp/
//	NMTEST_XDP=1 go test -p 1 -v -run TestXDP ./st2110/ ./cmd/nmbench/
//
// It is Linux-only (on other systems the package is empty). It is for tests only (.ci/arrows keeps it out of non-test code). Every
// namespace and link it makes is named with the prefix "nmxs" and removed
// by t.Cleanup. Its functions are safe for concurrent use.
package xdptest
