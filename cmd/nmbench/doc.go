// Command nmbench sends and receives packets at line rate on netmap ports,
// in the style of netmap's pkt-gen, so links, hosts and nmgo itself can be
// measured against the C yardstick.
//
//	nmbench -i vale0:a -f tx -l 60          # send 60-byte frames
//	nmbench -i vale0:b -f rx                # count what arrives
//	nmbench -i vale0:a -f txseq -n 1000000  # numbered frames ...
//	nmbench -i vale0:b -f rxseq -json       # ... checked for loss and order
//
// It needs read-write access to /dev/netmap (usually root). Without netmap,
// run it inside the VM runner: test/vale/vm/run --script test/vale/nmbench.sh.
// SIGINT or SIGTERM ends a run early and still prints the summary.
package main
