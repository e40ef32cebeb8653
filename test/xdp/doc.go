// Package xdp holds the host tests of nmgo's AF_XDP path (package xsk)
// with the rest of nmgo and with other programs, in network namespaces
// joined by a veth pair with one queue per side; no VM is needed:
//
//   - TestXskToUDP, TestUDPToXsk: an AF_XDP socket sends to a plain UDP
//     socket, and the reverse; every datagram arrives once, in order.
//   - TestPingPong: echo round trips between two AF_XDP sockets.
//   - TestVideo: video.Transmitter over an AF_XDP TX queue sends 1080p59.94
//     4:2:2 10-bit, video.Receiver over an AF_XDP RX queue receives it;
//     every frame byte-exact.
//   - TestDialListen: st2110.Dial over AF_XDP sends 1080p59.94 to
//     st2110.Listen over AF_XDP (the xdp: transport); every frame
//     byte-exact.
//   - TestGStreamerToVrx: GStreamer's rtpvrawpay sends 1080p 4:2:2 10-bit
//     from the peer namespace, nmbench -f vrx -i xdp:IFACE receives it;
//     the frames it writes byte-exact against what GStreamer wrote.
//
// Besides the tests, bench.sh is the host's side by side (real time, with
// DPDK's testpmd), and vmbench.sh the deterministic one in the netmap VM's
// Linux 6.1 (test/vale/vm/run --icount; vmreport makes its table); both
// are described in docs/benchmarks.md. The command amp (test/xdp/amp) is
// bench.sh's RX feed at saturation: an XDP program that sends each frame
// a link receives out of another link many times, in the kernel.
//
// They run with NMTEST_XDP=1 (set by .ci/run's AF_XDP stage), as root, one
// package at a time (go test -p 1: beside other packages' tests their
// real-time senders and receivers lose packets); without it they skip,
// even as root, and with it a missing privilege or tool (gst-launch-1.0)
// is a failure. The package
// has no API; it is not imported by anything.
package xdp
