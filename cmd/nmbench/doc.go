// Command nmbench sends and receives packets at line rate on netmap ports,
// in the style of netmap's pkt-gen, so links, hosts and nmgo itself can be
// measured against the C yardstick.
//
//	nmbench -i vale0:a -f tx -l 60          # send 60-byte frames
//	nmbench -i vale0:b -f rx                # count what arrives
//	nmbench -i vale0:a -f txseq -n 1000000  # numbered frames ...
//	nmbench -i vale0:b -f rxseq -json       # ... checked for loss and order
//
// rxseq reads the number txseq writes in each frame and counts lost,
// duplicated and reordered packets; its -n counts numbers, a packet lost
// as one received. As RFC 3550's appendix A.1 validates an RTP source,
// it believes a number once another follows it, so that a stray frame
// on the port (another sender's, one left in a ring from an earlier run)
// is counted as a frame and nothing else: the run's first number, and a
// jump of 65536 numbers or more, once a number less than 65536 after it,
// or up to 8 before it, arrives (the numbers between lost, or the two
// reordered; a random stray passes with a chance of 1 in 65536). With
// -n 1, which has no second number, the first is taken at once, and so is
// a jump to -n's last number, which nothing follows; a number past -n's
// last, which the sender never sends, is a frame only. Two strays in
// sequence (another sender's) pass for a jump, but are taken back, with
// what the jump counted lost, duplicated and reordered, when the numbers
// before the jump go on; a late packet from before a jump is counted
// against the numbers before it. A burst of stale frames before the
// sender's first (an earlier run's, whose numbers are ahead of a new
// run's) passes for the run's start only until a number further before
// its first than the run spans, and one near it, come, while the run
// spans fewer than 65536: the run restarts there, what it counted taken
// back. Numbers just before the first (within the run's span: the start
// reordered, or read from several RX rings) are duplicates, as before. In interval reports (-T),
// lost, duplicated and reordered may be negative: a late packet, or a
// jump or start taken back, takes back what an earlier interval counted.
//
// -f vtx and -f vrx send and receive ST 2110-20 video through package
// st2110's Dial and Listen, the transport named by -i as st2110 names it:
// a netmap port (Ethernet frames to -d's address or the SDP's, stream K
// on UDP port PORT+K), kernel UDP sockets (-i udp:HOST:PORT[@IFACE],
// stream K on PORT+K; -i udp or udp:IFACE, the SDP's addresses; vrx joins
// each multicast group, source-specific where the SDP has
// a=source-filter, and tells flows apart by destination address and
// port, so two flows may share a port), an AF_XDP socket (-i xdp:IFACE or
// xdp:IFACE-Q, Ethernet frames as on a netmap port), or a capture (-i
// pcap:FILE: vtx writes one stamped with each packet's scheduled send
// time, vrx reads one, also one cut to the headers).
//
//	F="sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001"
//	nmbench -i vale0:b -f vrx -fmt "$F" -frames 60 -out rx.yuv -pix yuv422p10le -json
//	nmbench -i vale0:a -f vtx -fmt "$F" -frames 60 -tp N -sdp-out tx.sdp
//	nmbench -i udp:127.0.0.1:5004 -f vtx -sdp in.sdp -in frames.uyvp -R 40000
//	nmbench -i udp:239.1.1.1:5004 -f vrx -fmt "$F" -frames 60
//	nmbench -i udp:eth1 -f vrx -sdp two-groups-one-port.sdp
//	nmbench -i pcap:tx.pcap -f vtx -fmt "$F" -streams 4 -frames 3 && nmbench -i pcap:tx.pcap -f vrx -fmt "$F" -streams 4
//
// -i given twice names the two paths of ST 2022-7 seamless protection:
// vtx sends every packet on both (and -sdp-out writes each stream's
// a=group:DUP pair), vrx merges them, the first copy of each packet taken,
// frames waiting up to -window (A, B or C, the standard's 10, 50 and
// 450 ms classes, or a duration) for the other path's copies; any pair of
// transports, two captures included. The report has a line per path
// (vrx: packets, first copies, duplicates absorbed, late, lost, and the
// measured skew; vtx: packets, skipped, and for a path that went down
// the times it did and came back, the packets it missed, and its error
// while it is down: a path stopped by an error of the network is tried
// again).
//
//	nmbench -i udp:239.1.1.1:5004@eth1 -i udp:239.2.1.1:5004@eth2 -f vtx -fmt "$F" -sdp-out dup.sdp
//	nmbench -i udp:eth1 -i udp:eth2 -f vrx -sdp dup.sdp -window B
//	nmbench -i pcap:a.pcap -i pcap:b.pcap -f vrx -sdp dup.sdp -out merged.raw
//
// The format is an SDP fmtp string (-fmt) or an SDP file (-sdp, one stream
// per m=video line, or per a=group:DUP pair); -in and -out frames are in the RFC 4175 pgroup layout
// (-pix pgroup, what ffmpeg -c:v copy and GStreamer's UYVP write) or an
// ffmpeg pix_fmt. vtx keeps each stream on the ST 2110-21 schedule of -tp
// (N, NL or W; -R caps the packets per second by slowing that schedule
// down); vrx reports per stream the frames, loss, the packets per frame,
// the packing mode, and the sender type, peak Cinst and VRX and mean
// TROffset measured from the arrival times (per packet from a capture, per
// batch from a ring or a socket). Times are TAI (st2110.Clock: CLOCK_TAI
// when the kernel knows the TAI offset, else the system clock plus 37 s);
// captures are stamped in UTC, as tcpdump stamps them. vrx takes up to
// -frames frames of each stream; one completed while vrx still holds every
// buffer of its stream (writing -out) is dropped and counted
// (dropped_frames), and counts toward -frames, since it will not come
// again. -frame-buffers gives each stream more buffers (4 by default) for
// a consumer that falls behind.
//
// A netmap NIC in vrx's hands is cut off from the kernel's network stack
// (no ARP, IGMP, PTP or ssh on it) unless -passthrough is given: vrx then
// also binds the NIC's host rings and gives the kernel every packet that
// is not a stream's, and the wire whatever the kernel sends out of that
// NIC, moving buffers without copying (st2110.ListenConfig.Passthrough);
// the report counts them (passthrough: to_host, to_wire, dropped), and
// names the ring pairs whose forwarding failed before the end (stopped,
// and err: the first one's error), the host stack cut off there.
//
//	nmbench -i netmap:eth0 -f vrx -sdp flows.sdp -passthrough
//
// -i xdp:IFACE or xdp:IFACE-Q runs every function (tx, rx, txseq, rxseq,
// ping, pong, and vtx and vrx through st2110) over an AF_XDP socket
// (package xsk) on queue Q (default 0) of a network interface of a stock
// Linux kernel, no netmap needed, with the same
// output and JSON; it needs root (CAP_NET_RAW, CAP_BPF, CAP_NET_ADMIN)
// and attaches an XDP program to IFACE while it runs (rx, rxseq, ping,
// pong, vrx), which takes every packet of that queue from the kernel's
// stack.
//
//	nmbench -i xdp:eth0 -f rxseq -json
//	nmbench -i xdp:veth0-0 -f txseq -n 1000000 -D 02:00:00:00:00:0b
//	nmbench -i xdp:eth1 -f vrx -sdp in.sdp -frames 60 -out rx.uyvp
//
// -linger D (at most 1ms) makes rx, rxseq and vrx over a netmap port or
// xdp:, and vrx over udp, sleep D after a pass (a read of a socket) that
// took packets but fewer than -b, so that
// on a CPU they share with the sender packets gather into batches instead
// of waking the receiver every few (nmsys.Idler.Linger, xsk.Idler.Linger,
// st2110.ListenConfig.Linger). It adds up to D to every packet's latency,
// and vrx's ST 2110-21 analysis of the arrival times then sees each
// linger's packets as one burst. Off by default.
//
//	nmbench -i xdp:eth1 -f rx -linger 100us
//
// -busy makes rx and rxseq over xdp: never sleep: after an empty pass they
// look at the ring again at once, keeping their CPU busy as DPDK's
// poll-mode drivers do, so that no wake-up is paid when packets come. -xdp-frames N
// sizes the UMEM (and RX ring) of rx and rxseq over xdp:, 16384 frames by
// default: deep, for a receiver that sleeps and may be kept from its CPU
// a while; a busy receiver that keeps up takes more with few, whose
// frames stay in the cache (DPDK's af_xdp driver's rings are 2048). With
// -json, rx and rxseq over xdp: report how often they went to wait in
// poll(2) ("sleeps", absent when 0: always with -busy).
//
//	nmbench -i xdp:eth1 -f rx -busy -xdp-frames 2048
//
// -rt N runs vtx's sender thread (over a netmap port or xdp:) under the
// real-time policy SCHED_FIFO at priority N (1-99; root or CAP_SYS_NICE),
// so that on a CPU it shares (with vrx, or anything else) it takes the CPU
// back at each burst's time instead of sending the bursts that fell due
// meanwhile together (st2110.SendConfig.Priority).
//
//	nmbench -i netmap:eth0 -f vtx -sdp out.sdp -burst 4 -b 4 -rt 50
//
// -max-rows N makes vtx pack rows back to back, as GStreamer and FFmpeg
// do (a packet that ends a row goes on with the next), with at most N SRD
// headers a packet (rows or parts of rows), as many as fit if fewer
// (st2110.SendConfig.MaxRows). Up to 3 the streams stay ST 2110-20 ones;
// more packs many short rows in one packet, GStreamer's rule, which
// RFC 4175 allows and ST 2110-20 does not: a narrow format (8 pixels of
// 4:2:2 10-bit, 20 octets a row) then takes 56 SRDs a packet (55 rows
// and part of the next), not one row. The SDP (-sdp-out) still says
// PM=2110GPM and SSN=ST2110-20:2017, and the receiver must take more than
// 3 SRDs a packet; the report gives the most SRDs of a packet the
// analysis saw (max_rows in JSON, vtx's self-check and vrx) and says when
// they are more than 3. GPM only. By default each row is split into equal
// packets that never cross its end, as hardware senders do.
//
//	nmbench -i udp:127.0.0.1:5004 -f vtx -fmt "$F" -max-rows 3
//
// -max-lag lets vtx skip ahead when it falls behind its schedule (its
// thread descheduled, a queue stalled): a stream more than that late gives
// up the frames it missed and resumes at the first frame not yet due,
// sent whole, rather than sending what it missed in a burst at line rate
// (st2110.SendConfig.MaxLag); the report counts the frames skipped or cut
// short ("skipped behind", skipped_tx_frames) and the skips (resyncs). A
// duration, frame (one frame period, TFRAME: a field period when
// interlaced or PsF; st2110's own default), or off, the default: a
// benchmark sends every packet, the late ones at once (counted late), so
// that it measures the work of every frame asked for. A capture
// never falls behind: -max-lag with -i pcap: alone is refused.
//
//	nmbench -i xdp:eth0 -f vtx -sdp out.sdp -max-lag frame
//
// The files a run writes (-cpuprofile, rx's -pcap, vtx's -sdp-out and
// capture, vrx's -out) are opened before the port (vtx's capture by the
// st2110 Dial that opens the port) and emptied only once the run has
// opened it: a run that fails before leaves a file as it found it, and
// removes one it made. A command line whose output names an input (vrx's
// capture, vtx's -in, -sdp) or another output is refused (status 2)
// before any is opened, however the file is named (a hard or symbolic
// link to it, a name not made yet, ./x and x); a character device
// (/dev/null, a terminal) may be named more than once, and /dev/stdout
// counts as what the shell made it: a terminal may be named twice, a
// file or pipe it was redirected to may not. /dev/stdout, /dev/stderr
// and /dev/fd/N are the process's own descriptors, never emptied and
// written where they are (a file the shell opened with >> is appended
// to); stdout, where the reports go, is not counted as an output of its
// own, so an output that is /dev/stdout has the reports (the final one
// only with -q) among what it writes.
//
// An output that is a FIFO (mkfifo; a live capture into Wireshark) is
// opened for writing only: a run waits for its reader once the port is
// open, up to -t or until a signal (vrx's -out files: for all their
// readers within one -t, before it empties any of them); vrx's counts
// start when its port opens, so that frames lost while it waits count
// as the run's (with -frames N too). A reader that goes away ends the
// run with the write's error (broken pipe). A reader slower than the
// run is written to after the run's end (-t, a signal, -n, -frames, an
// error) for as long as it reads, and gets the output whole; on Linux
// and FreeBSD one that keeps the FIFO open but reads nothing for a
// second after the run's end ends the run, status 1, with "the FIFO's
// reader read nothing for 1s after the end of the run" (elsewhere the
// write waits until the reader reads or goes away).
//
// The reports go to stdout. A stdout that is a pipe or a socket
// (nmbench ... | consumer) is written in order by a goroutine the run
// does not wait for: a consumer that stops reading stalls neither the
// run nor its end by -t, -n, -frames or a signal. While the run goes, a
// reader more than 64 KiB behind (beyond the pipe's own buffer) loses
// the interval reports past that, and stderr counts them at the end
// ("stdout: its reader fell more than 64 KiB behind: N interval reports
// were dropped"; the exit status is unchanged). The final report is
// never dropped: after the run nmbench waits for its reader for as long
// as it takes, so that a pager (| less) or a reader that starts late (|
// (sleep 60; cat)) gets it whole. A SIGINT or SIGTERM other than the
// one that ended the run ends the wait at once, whether it arrives as
// nmbench waits or before (a second signal right after the first, as
// the run winds down: Ctrl-C twice), with "stdout: a signal ended the
// wait for its reader after the end of the run: the report was not
// written whole", status 1, an error at run time (a run that a signal
// ends is no error, status 0, and has its report; here the report was
// lost); so does a Ctrl-C typed in a pager while nmbench waits, for it
// reaches nmbench too. After a run that -t, -n or -frames ended, the
// first signal ends the wait; after a run that a signal ended, nmbench
// waits for the reader until a further signal: a supervisor that sends
// one SIGTERM and never a second signal or a SIGKILL leaves a nmbench
// whose reader stalled waiting (timeout -k 5 60 nmbench ... sends
// SIGKILL 5 s after its SIGTERM). Two signals of one kind sent at once
// (kill -TERM $P; kill -TERM $P) may reach nmbench as one, the first:
// the system does not queue them (kill -TERM $P; sleep 0.1; kill -TERM
// $P). A reader that goes away ends it as before (broken pipe).
// The reports are written in whole lines, each write at most 4 KiB
// (PIPE_BUF) unless one line is longer: another writer of the same pipe
// (a second nmbench, -out /dev/stdout) lands between lines, never
// inside one. With -out /dev/stdout the frames go to the pipe as the
// run writes them, by -out's rules (a FIFO's: given a second after the
// run), and the interval lines (without -q) can come between them; the
// final report follows the frames. A stderr that is a pipe or a socket
// obeys the final report's rule: every message (a usage error, -h, the
// messages at the end) waits for its reader until a signal ends the
// wait; after that signal, a message to a stderr that still takes
// nothing (2>&1 into the same stalled pipe) is given a second, or until
// a further signal, then left out, and the status is at least 1 (-h
// whose text a signal cut exits 1, not 0). A regular file or a
// terminal is written as before, in the run.
//
// What the inputs make it allocate (frame buffers, the test pattern, the
// -in frames) is charged against -max-mem (1 GiB by default) before it is
// allocated; an SDP is read up to 1 MiB with at most 1024 streams, as many
// as -streams allows. An input over a limit is one line and status 1.
//
// Netmap ports need the netmap kernel module (netmap.ko, built from the
// netmap sources: it is not in mainline Linux) and read-write access to
// /dev/netmap (usually root). Without netmap, -i udp:HOST:PORT uses kernel
// sockets (IPv4 for tx, rx, txseq and rxseq; vtx and vrx also IPv6,
// udp:[ADDR]:PORT), and vtx and vrx also read and write captures
// (-i pcap:FILE).
// SIGINT or SIGTERM ends a run early and still prints the summary; so
// does a run that fails, whose final JSON object then gives the reason
// ("error"). With -json a run that fails as it opens (no /dev/netmap, a
// file that cannot be opened, -p beyond the port's rings) prints that
// final object too, with zero counts (without -json it prints no
// summary); a command line that does not parse prints nothing on stdout.
// The reason is also the one line on stderr.
// The exit status is the same for every function: 2 for a usage error (a
// bad flag or value, also one found as the run opens, such as -p beyond
// the port's rings), 1 for an error at run time, 0 otherwise.
// With -json, the final object of a run that ran (not one that failed
// as it opened) also gives heap_allocs, the heap objects the process
// allocated during the run: the loops over netmap ports and
// xdp: add none per packet, nor does the udp: sender; the udp: receiver
// adds about two per datagram (x/net's ReadBatch makes a net.UDPAddr of
// each source address); and on Linux cpu_ns, the CPU time the process's
// threads used during the run.
package main
