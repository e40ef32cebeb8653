// Package st2110 sends and receives SMPTE ST 2110-20 uncompressed video
// from a Go program: the flows an SDP describes, over a netmap port, an
// AF_XDP socket, UDP sockets (multicast included) or a pcap file, in a few
// lines.
//
//	sess, err := video.ParseSDP(sdp)                  // the flows: format, group, port, source
//	rx, err := st2110.Listen("udp:eth1", sess, nil)   // or "netmap:eth1", "xdp:eth1", "vale0:b", "pcap:x.pcap"
//	defer rx.Close()
//	for f, err := range rx.Frames(ctx) {
//		// f.Flow, f.Data (pgroup layout), f.RTPTime, f.Arrival, f.Latency, f.Info, f.Stats
//	}
//
//	tx, err := st2110.Dial("udp:239.1.1.1:5004", sess, &st2110.SendConfig{Source: frames})
//	sdp, err := tx.SDP()      // what it sends, for ffmpeg, GStreamer or an NMOS registry
//	err = tx.Run(ctx)         // paced N/NL/W, TAI-aligned RTP timestamps; ends with ctx, or after SendConfig.Count frames
//
// It is the composing layer of nmgo: [Listen] and [Dial] build on package
// video (packetizing, depacketizing, ST 2110-21 pacing and analysis, SDP),
// packet (header templates, pcap), nmsys and rings (netmap ports), xsk
// (AF_XDP sockets), and own the sockets and clocks. Nothing else in nmgo
// imports it, and it is the only package that knows both netmap and
// AF_XDP.
//
// # Transports
//
// A transport is named by a string, the same for [Listen] and [Dial]:
//
//   - "netmap:eth0", "vale0:a", "netmap:eth0-2", ...: a netmap port, in the
//     grammar of netmap's libnetmap (nmsys.ParseName). Every bound ring is
//     used, one goroutine per ring pair where the port has several (flow k
//     sends on ring k modulo their count). The goroutines own their OS
//     threads and wait in poll(2) on them, giving the scheduler a turn
//     every few milliseconds. Packets are whole Ethernet frames written and
//     read in place in the slot buffers; a multicast group's frames go to
//     its MAC address ([MulticastMAC], RFC 1112 and RFC 2464). nmgo sends
//     no IGMP on a netmap port: the switch must forward the groups to it,
//     or, on a NIC, the kernel joins them (ListenConfig.Passthrough, see
//     "Host stack" below).
//     Needs /dev/netmap (usually root).
//   - "xdp:IFACE" and "xdp:IFACE-Q": an AF_XDP socket (package xsk) on
//     queue 0, or queue Q, of the interface, for a stock Linux kernel
//     without netmap: copy mode, or zero-copy where the driver has it; the
//     XDP program that redirects the queue's packets to the socket is
//     attached in Listen and detached in Close. One goroutine owns its OS
//     thread and waits in poll(2), as on a netmap port. Packets are whole
//     Ethernet frames written and read in place in the UMEM, to a
//     multicast group's MAC address as on a netmap port; every packet
//     that arrives on the queue goes to the receiver (no ARP, no IGMP:
//     the switch must forward the groups to the interface, and a NIC
//     with several queues must steer the flows to queue Q, with ethtool's
//     ntuple filters). Needs CAP_NET_RAW, CAP_BPF and CAP_NET_ADMIN
//     (root).
//   - "udp", "udp:IFACE", "udp:ADDR:PORT" and "udp:ADDR:PORT@IFACE":
//     kernel UDP sockets, IPv4 or IPv6. The flows go to the SDP's
//     addresses, or flow k to ADDR:PORT+k. A receiver opens one socket per
//     UDP port, joins each flow's multicast group on IFACE (any-source, or
//     source-specific with IGMPv3 or MLDv2 when the SDP has
//     a=source-filter), and tells flows that share a port apart by their
//     destination address (IP_PKTINFO) and source. On Linux, datagrams go
//     in batches through recvmmsg(2) and sendmmsg(2) into preallocated
//     buffers, allocating nothing per datagram; a full device queue
//     (ENOBUFS) or a refused unicast peer (ECONNREFUSED) is counted, not
//     fatal. No privilege.
//   - "pcap:FILE": a capture. A receiver reads pcap or pcapng (Ethernet,
//     Linux cooked v1 and v2, BSD loopback, raw IP) to its end, as fast as the frames
//     are taken or at the capture's pace (ListenConfig.Replay); a file cut
//     in the middle of a packet ends with an error, and an empty or
//     foreign file fails in Listen. A FIFO (a live capture, tcpdump -w)
//     is read as it comes: Listen waits until a writer opens the FIFO
//     and writes the capture's header. [ListenContext] gives up on that
//     wait when its context ends on Linux; on the BSDs only once a writer
//     has come (the open of a FIFO waits for one), and on macOS, whose
//     poller takes no FIFO, not at all (there, to give up, open the FIFO
//     for writing and close it: Listen then fails as on an empty file).
//     On Linux its context also ends the wait for the header of a tty or
//     another device the netpoller takes, but not a read from a device it
//     refuses, which blocks in read(2).
//     After that Close ends a read waiting for packets (not on macOS,
//     where the read waits until the writer writes or closes), and a
//     replay's wait for a packet's time (ListenConfig.Replay). A sender writes Ethernet frames with
//     nanosecond timestamps, each its scheduled send time, as fast as it
//     can (SendConfig.Count must be set). Dial opens the file (one that
//     cannot be written fails there) but Run empties it: a Dial that
//     fails, or a Sender closed without Run (its caller failed between
//     the two: an SDP that could not be written), leaves the file as it
//     was, and removes one Dial made. A FIFO is opened for writing only:
//     Run waits for its reader (its context, or Close, ends the wait:
//     Run's error, the file left as Dial found it; a sender of two paths
//     waits for the readers of both before it empties either file or
//     sends on either path), and a reader that goes away fails the next
//     write (EPIPE).
//     Its writes wait for the reader to read, also after Run's context
//     has ended (or Close: the buffer Close writes out after a Run that
//     failed too) while the reader reads, however slowly: the capture
//     is written whole. Only a reader that reads nothing for a second
//     (one to two: the wait is re-armed while bytes move) once Run's
//     context has ended, or in Close, gets the capture cut there, and
//     Close's error says so (on Linux and FreeBSD; elsewhere, macOS
//     included, a FIFO's write waits in the kernel, which a deadline
//     does not end). It writes through a buffer: a write that
//     fails (a full disk) is Run's error once the Count frames are sent,
//     or, if Run ended earlier (its context, Close), Close's. In a sender
//     of two paths (SendConfig.Second) a capture that fails so stops
//     alone: its error is in Sender.PathStats(k, p).Err and Close's, and
//     Run returns nil unless the other path failed too.
//
// # Flows
//
// Each video media description of the session is a flow: its format
// (a=fmtp), payload type, destination (c= and m=) and, for a
// source-specific multicast flow, its source (a=source-filter). A
// receiver takes a packet for a flow by destination address and UDP port,
// and source where one is given, so several flows may share a port and a
// receiver may take flows on several ports. Packets of no flow are
// counted ([Receiver.Other]). Flows are numbered in session order
// ([Frame.Flow], [Receiver.Flows]).
//
// # Seamless protection (ST 2022-7)
//
// A flow may go over two independent networks at once, every packet on
// both, so that a receiver rebuilds it from whichever copy of each packet
// arrives (SMPTE ST 2022-7). SendConfig.Second names the sender's second
// path, ListenConfig.Second the receiver's; the two transports may be of
// any kinds (two NICs, two UDP interfaces, one of each, two captures).
//
//	tx, err := st2110.Dial("udp:eth1", sess, &st2110.SendConfig{Second: "udp:eth2"})
//	rx, err := st2110.Listen("udp:eth1", sess, &st2110.ListenConfig{Second: "udp:eth2", MergeWindow: video.SkewClassB})
//
// Each path goes to its leg's address: an SDP's a=group:DUP pair (RFC
// 7104) is one flow with a second leg, video.Stream.Second, whose
// destination and source (a=source-filter) are the second path's; a flow
// without one goes to the same address on both paths. A sender's SDP has
// the pair for every flow.
//
// The sender writes each packet once, into the first path's queue, and
// copies it into the second's with that path's headers: the same RTP
// packet (sequence number, timestamp, payload) on both. The first path
// sets the pace; a packet the second path's queue has no room for is not
// sent on it and is counted ([Sender.Skipped]), so that a stalled path
// does not stall the other. A path whose queue fails stops alone, as a
// receiver's does: the other sends every packet on, at the same pace
// (the second path sets it while the first is down), and
// [Sender.PathStats] gives the failed path's error, named by its path. A
// refused unicast send (ECONNREFUSED) is counted and retried, as with
// one path, and stops nothing.
//
// Each path is repaired on its own. A path stopped by an error of the
// network (a send it cannot route, ENETUNREACH, EHOSTUNREACH, ENETDOWN:
// a link that flapped, a NIC down and up again; ENOMEM, the kernel short
// of memory; a netmap ring stopped while its NIC resets, EIO) is tried
// again 4 ms later, then after twice as long at every try that fails, at
// most a second apart, on the sender's clock (a step back of the clock
// does not put a try off by more than its wait), while the other carries
// the flows; each try hands it the packets due then, and the first whose
// packets leave brings it back, at the packet then due: nothing missed
// is sent late (the receiver's merge has it from the other path), and
// the path sets the pace again if it is the first. One that fails again
// within a second of coming back (a link that keeps flapping) waits from
// where its last wait stopped, not from 4 ms. A full device queue
// (ENOBUFS, EAGAIN) stops no path: UDP drops those datagrams after a
// few retries and counts them (SendStats.NoBufs), as with one path, and
// an AF_XDP socket's kick takes it as more to send.
//
// Between tries the sender hands a path that is down no packets; a try
// is one step's send on it, as when it is up, but on a netmap ring or
// AF_XDP socket, where the packets of a sync that failed stay, a try is
// first a sync alone, and the packets are handed only once it works. A
// try whose queue has no room (a NIC that holds its slots, no error) is
// not a failure: the path is handed the packets of every step, counted
// skipped, until it takes some; and while the other path's queue has no
// room either, the sender waits for it but for each try of the first
// path's, a step the other skips. A path on a ring may still send, when
// it comes back, the packets that were in its ring when it failed (those
// of that step and any it had not sent yet), which the receiver drops as
// copies it has or as late. A netmap port whose interface was removed
// gives EIO too, for ever: its path is tried again once a second to the
// end of the run. Any other error stops the path for the rest of the
// run: a closed socket or port, an AF_XDP socket whose interface went
// away, a capture's write error. PathStats counts the times a path went
// down and came back, and the packets it missed. Run ends with an error,
// naming both paths, only once both have failed for good; while both
// are down and one at least is to be tried again, the sender keeps its
// schedule, its packets counted unsent on both paths (PathStats' errors
// say why), until the run ends, its context does, or [Sender.Close].
//
// The receiver gives each flow a video.Merge, which both paths' readers
// feed, taking turns over each batch of packets: by RTP extended
// sequence number the first copy of a packet is taken, the second counted
// as absorbed, and each frame assembled once. A frame that misses packets
// when it ends on one path waits for the other path's copies for as long
// as the merge window, the path differential absorbed: ST 2022-7's class
// A (10 ms, the default), B (50 ms) or C (450 ms), or any up to a second
// (video.MaxMergeWindow), judged on the clock of the path that is behind,
// so that a reader the host schedules late does not turn the other
// path's copies into losses (a path that lags by more than the window, or
// has stopped, holds frames at most a window longer). A path whose input
// fails stops alone, the other carrying the flows; a flow lost on both
// paths stops the receiver, as a failed input does a receiver of one
// path, with a [FlowError] naming it and both paths' errors. UDP arrivals are
// the kernel's receive times (SO_TIMESTAMPNS). A copy that comes after
// its frame was handed out is late: counted, never written into another
// frame. The frames a
// window may hold open are fixed by the format and the window, and
// charged to the budget in Listen. [Frame.Info] tells which path brought
// each frame's packets (Paths); [Receiver.PathStats] counts, per path,
// the packets it brought, those it brought first, the duplicates and
// late copies, and what it lost; [Receiver.Skew] is the measured path
// differential. FlowStats are the merged flow's: Lost is what neither
// path brought. Two captures are read together in capture time order, so
// that the merge sees the copies as they were captured.
//
// # Time
//
// A [Clock] tells TAI nanoseconds since the PTP epoch, the timescale of
// ST 2110: the kernel's CLOCK_TAI when a PTP or NTP daemon has set the
// kernel's TAI offset, else the system clock plus 37 leap seconds
// ([LeapSeconds]), or a PTP hardware clock (/dev/ptpN) for hosts where
// phc2sys does not run. [Clock.Source] says which. A Sender's RTP
// timestamps are the 90 kHz count since the epoch of each frame's
// alignment point, modulo 2^32 (ST 2110-10, a=mediaclk:direct=0). A
// Receiver stamps each packet's arrival on its clock (a capture brings its
// own times) and measures every frame's first packet against its RTP
// time: [Frame.Latency] and FlowStats.Latency, checked against the JT-NM
// Tested rule (not in the future, at most 1 ms in the past). Sender and
// receiver must share a clock (PTP) to keep it.
//
// # Host stack
//
// A NIC in netmap mode belongs to netmap: the kernel receives nothing
// from it and sends nothing through it, so ARP, IGMP joins, PTP (ptp4l)
// and ssh on that NIC stop while a Receiver holds "netmap:eth0".
// ListenConfig.Passthrough gives the kernel its traffic back through
// netmap's host rings, the kernel's side of the NIC (a host RX ring holds
// what the kernel sends out of the NIC, a host TX ring hands packets to
// the kernel as if the NIC had received them). The Receiver then binds
// the NIC's rings and its host rings, and each of its goroutines, as it
// drains a NIC RX ring, keeps the packets of the flows and moves every
// other packet to a host TX ring, and moves what the kernel sent (a host
// RX ring) to a NIC TX ring. Packets move by buffer swap, without a copy
// (netmap's bridge does the same): NIC and host rings of one adapter
// share a memory region. A NIC with several ring pairs gets a goroutine
// per pair, bound to ring pair k and host ring pair k, if it has as many
// rings of each kind (netmap is asked for as many host rings); else one
// goroutine takes every ring. [Receiver.Passthrough] counts what moved each way, and what
// a full ring dropped. When the flows stop on a failure ([Receiver.Err]: a
// PHC that cannot be read, another input), forwarding, which needs no
// clock, goes on until Close, every packet of the NIC then going to the
// kernel; only a ring pair whose own rings or waits failed stops, and
// Receiver.Passthrough reports it (PassStats.Stopped and Err): the host
// stack has then lost what that ring pair carried until Close.
//
// The kernel's IGMP joins then reach the network through nmgo: join a
// flow's group with a socket on the NIC (as any multicast receiver does,
// for example net.ListenMulticastUDP) and the switch forwards it, and the
// NIC's own multicast filter lets it in. Without Passthrough a netmap NIC
// needs its groups forwarded and let through some other way (a static
// switch configuration, promiscuous mode). What the kernel sends to a
// NIC in netmap mode must be complete: turn off the offloads that leave
// checksums or segmentation of TCP and UDP to the hardware (ethtool -K
// eth0 tx off gso off tso off), as netmap's documentation asks. A Sender on the same NIC
// would share its TX rings with the Receiver: do not Dial a NIC that a
// Receiver with Passthrough holds.
//
// # Concurrency
//
// A [Receiver]'s goroutines start in Listen and stop in Close (or at the
// end of a capture, or when an input fails: [Receiver.Err]; a
// passthrough's forwarding goes on until Close, "Host stack"). One goroutine at a time ranges over
// [Receiver.Frames]; a frame is valid until its loop body returns unless
// kept ([Frame.Keep]). A frame completed while every buffer of its flow is
// queued or held is dropped and counted (FlowStats.Dropped); a capture
// read at full speed waits instead. Stats, Other, Batches, Passthrough,
// Err, Flows and Close are safe for concurrent use; Analysis has its answer once the
// readers have stopped (Done).
//
// A [Sender] sends in [Sender.Run], which belongs to one goroutine; Stats,
// Batches, Spun, Session, SDP and Close are safe for concurrent use. A
// [Clock] is safe for concurrent use.
//
// The per-packet paths (netmap rings, AF_XDP, UDP on Linux, pcap)
// allocate nothing, and neither does handing out a frame.
//
// # What it is not
//
// It does not decode, scale or convert video (package video converts
// between pgroup layout and FFmpeg's pixel formats), does not run PTP, and
// carries video only (ST 2110-20): audio and ancillary data are not
// supported yet.
package st2110
