// Package xsk is nmgo's AF_XDP path: sockets that send and receive whole
// Ethernet frames through rings shared with a stock Linux kernel, without
// netmap: Linux 5.9 or later, whose BPF links attach the redirect
// program, or 5.4 for a socket that attaches none (XDPNone, TxOnly), the
// first to report the rings' flags offsets; tested on 6.18. It is pure Go over
// golang.org/x/sys/unix and github.com/cilium/ebpf.
//
//	s, err := xsk.Open("eth0", &xsk.Config{Queue: 0})
//	...
//	defer s.Close()
//	tx := s.Tx()
//	n, err := tx.Reserve(64)   fill tx.Buf(i), tx.SetLen(i, l) for i < n
//	tx.Publish(n)
//	err = s.Kick()             the kernel sends them
//	rx := s.Rx()
//	n, err = rx.Acquire(64)    pkt, err := rx.Packet(i) for i < n
//	rx.Release(n)              the frames go back to the kernel
//
// # What it is
//
// A [Socket] is an AF_XDP socket bound to one queue of one interface, with
// its UMEM (the packet buffers, shared with the kernel, on the Go heap and
// pinned by the kernel while the socket exists) and its four rings mapped:
// fill and RX for receiving, TX and completion for sending. [TxQueue] and
// [RxQueue] drive them with the discipline of nmgo's netmap rings: the
// other side's index is read once per batch, this side's is published once
// per batch, both with atomics, and nothing is ever read back from shared
// memory that this side wrote. The queues have the methods of package
// video's TxQueue and RxQueue, so a video Transmitter or Receiver runs
// over AF_XDP as it runs over netmap.
//
// Receiving needs an XDP program on the interface that redirects the
// queue's packets into the socket. Open loads a five-instruction program
// (assembled in Go, no compiler needed: bpf_redirect_map on an XSKMAP
// keyed by the receive queue, XDP_PASS when the queue has no socket) and
// attaches it through a BPF link, in the driver's native mode or, if the
// driver refuses, in generic mode ([XDPMode]); sockets of one process on
// different queues of one interface share it. Close takes the socket out of
// the map and detaches the program with the last socket, and the kernel
// detaches it if the process dies.
//
// Copy mode works with every driver; zero-copy ([BindZeroCopy]) needs
// driver support and fails clearly without it (veth has none). Binding
// after a socket on the same queue was closed can fail with EBUSY for a
// while (the kernel releases the queue asynchronously): Open retries for
// up to [Config].BindTimeout.
//
// # Hostile memory
//
// Everything the kernel writes into the rings is checked before use: a
// producer or consumer index that moves backwards or by more than the ring
// size, an RX descriptor whose address and length do not lie inside one
// UMEM frame, or one that names a frame the kernel was not given to
// receive into, a completion for a frame that was not being sent. Each is
// an [*IntegrityError] (errors.Is(err, [ErrIntegrity])); nothing panics
// because of ring state, and nothing is read or written outside the UMEM
// and the ring mappings. Every frame has one owner at a time (the free
// stack, the user, the kernel), tracked in one byte per frame. The tests
// run the same code over rings laid out on the heap with a simulated
// kernel, under the race detector and the fuzzer.
//
// # What it is not
//
// xsk knows nothing of netmap, and nmgo's netmap packages know nothing of
// it. It does not build packets (package packet does), steer flows to
// queues (ethtool's ntuple filters do, outside the process), or share a
// UMEM between sockets (XDP_SHARED_UMEM). The UMEM is in aligned mode with
// no headroom; multi-buffer (XDP_USE_SG) frames are not supported. On
// systems other than Linux, [Open] returns an error matching
// [ErrNotSupported]. A 32-bit program (386, arm) works as a 64-bit one:
// the kernel's AF_XDP structures (xdp_umem_reg, xdp_mmap_offsets,
// xdp_desc) have fixed-width fields; its UMEM is at most 512 MiB
// ([MaxUMEM]).
//
// # Privilege
//
// Open needs CAP_NET_RAW for the socket and, to load and attach the XDP
// program, CAP_BPF and CAP_NET_ADMIN (CAP_SYS_ADMIN on kernels before
// 5.8): in practice, root. The socket and the program are made in the
// network namespace of the calling thread. Nothing is pinned in bpffs.
//
// # Concurrency
//
// A Socket's TX side ([Socket.Tx]'s queue, [Socket.Kick],
// [Socket.WaitTx]) is driven by one goroutine at a time, its RX side
// ([Socket.Rx]'s queue, [Socket.WaitRx], [Socket.PollRx], an [Idler]) by
// one goroutine at a time; the two may differ. [Socket.Info],
// [Socket.Stats], the deadline setters and [Socket.Close] are safe for
// concurrent use. Close may be called while another goroutine waits: the
// wait returns [ErrClosed] (errors.Is(err, os.ErrClosed)) within about
// 20 ms, queue methods return ErrClosed from then on, and a goroutine
// still inside a queue method reads zeros instead of faulting. Waits
// block their OS thread in ppoll(2). Per-packet and per-batch methods,
// Kick and the waits do not allocate.
package xsk
