package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/xsk"
	"golang.org/x/sync/errgroup"
)

// mode is one -f function: what it is (the properties the flag checks and
// the reports read), how it checks its flags, what it opens, and the loop
// that drives it. Every difference between the functions is an entry of
// the table below, not a test of the function's name.
type mode struct {
	name     string
	verb     string // of the final summary: "Sent 1000 packets ..."
	send     bool   // writes packets: tx, txseq, vtx
	seq      bool   // numbered frames: a sequence number starts the payload
	counts   bool   // reports lost, duplicated and reordered packets
	video    bool   // vtx, vrx: the video flags apply
	rtt      bool   // ping: reports round-trip times
	parallel bool   // -p N drives N rings, one goroutine each
	capture  bool   // -pcap writes what it receives

	// port is how loop's netmap ports are registered.
	port nmsys.Config
	// validate checks the flags of this function, after the flags every
	// function shares; set holds the names of the flags given.
	validate func(c *config, set map[string]bool) error
	// open opens the ports, sockets and files of a run and returns the
	// work that drives them and what closes them.
	open func(ctx context.Context, cfg *config) (work, func() error, error)
	// loop drives one netmap port (one ring of it with -p).
	loop func(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error
	// udp is loop on the udp: backend, nil where a netmap port is needed.
	udp func(ctx context.Context, cfg *config, st *stats) error
	// xdp is loop on the xdp: backend (an AF_XDP socket), nil where it
	// does not run.
	xdp func(ctx context.Context, cfg *config, s *xsk.Socket, st *stats) error
}

// work is a run's main loop: it counts in st until it is done, fails or
// ctx ends.
type work = func(ctx context.Context, st *stats) error

// modes is every function of -f, in the order -h lists them.
var modes = []*mode{
	{name: "tx", verb: "Sent", send: true, parallel: true, port: nmsys.Config{TxOnly: true},
		validate: checkPackets, open: openPackets, loop: txLoop, udp: udpSend, xdp: xdpTx},
	{name: "rx", verb: "Received", parallel: true, capture: true, port: nmsys.Config{RxOnly: true, NoTxPoll: true},
		validate: checkPackets, open: openPackets, loop: rxLoop, udp: udpRecv, xdp: xdpRx},
	{name: "txseq", verb: "Sent", send: true, seq: true, port: nmsys.Config{TxOnly: true},
		validate: checkSeq, open: openPackets, loop: txLoop, udp: udpSend, xdp: xdpTx},
	{name: "rxseq", verb: "Received", seq: true, counts: true, capture: true, port: nmsys.Config{RxOnly: true, NoTxPoll: true},
		validate: checkSeq, open: openPackets, loop: rxLoop, udp: udpRecv, xdp: xdpRx},
	{name: "ping", verb: "Echoed", rtt: true, port: nmsys.Config{NoTxPoll: true},
		validate: checkPackets, open: openPackets, loop: ping, xdp: xdpPing},
	{name: "pong", verb: "Echoed", port: nmsys.Config{NoTxPoll: true},
		validate: checkPackets, open: openPackets, loop: pongLoop, xdp: xdpPong},
	{name: "vtx", verb: "Sent", send: true, video: true, validate: checkVideo, open: openVideo},
	{name: "vrx", verb: "Received", counts: true, video: true, validate: checkVideo, open: openVideo},
}

// modeOf returns the function named name, or nil.
func modeOf(name string) *mode {
	for _, m := range modes {
		if m.name == name {
			return m
		}
	}
	return nil
}

// modeNames lists the functions for -h and errors.
func modeNames() []string {
	var s []string
	for _, m := range modes {
		s = append(s, m.name)
	}
	return s
}

func ping(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error {
	return pingLoop(ctx, cfg, port, st, cfg.rtt)
}

// videoFlags are the flags only vtx and vrx take: every flag that
// addVideoFlags registers, so that a new one cannot be forgotten here (as
// -spin was, accepted and ignored by the packet functions).
var videoFlags = func() []string {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	addVideoFlags(fs, &videoConfig{})
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}()

// udpHeaderFlags are the flags of the Ethernet, IPv4 and UDP headers a
// sender writes on a netmap port, an AF_XDP socket or into a capture;
// over kernel UDP sockets the kernel writes them, to -i's HOST:PORT.
var udpHeaderFlags = []string{"S", "D", "s", "d"}

// checkUDPHeaders refuses a header flag given to a sender whose paths are
// all on the udp: backend, which would ignore it (and -d to a udp:
// receiver, which listens where -i says).
func checkUDPHeaders(c *config, set map[string]bool) error {
	if !isUDP(c.port) || c.port2 != "" && !isUDP(c.port2) {
		return nil
	}
	for _, name := range udpHeaderFlags {
		if set[name] && (c.mode.send || name == "d") {
			return fmt.Errorf("-%s: not over udp: kernel sockets write the headers, to -i udp:HOST:PORT (or the SDP's addresses); -%s is for netmap ports, xdp: and pcap: files", name, name)
		}
	}
	return nil
}

// checkPackets checks the flags of the packet functions (all but vtx and
// vrx).
func checkPackets(c *config, set map[string]bool) error {
	for _, name := range videoFlags {
		if set[name] {
			return fmt.Errorf("-%s: only for -f vtx and vrx", name)
		}
	}
	if isPcap(c.port) {
		return errors.New("-i pcap:FILE: only for -f vtx and vrx (rx writes captures with -pcap)")
	}
	if set["R"] && !c.mode.send {
		return fmt.Errorf("-R %v: a rate limit is for the senders tx, txseq and vtx; -f %s sends no stream (ping sends a frame when the echo of the last is back, or after %v)", c.rate, c.mode.name, pingTimeout)
	}
	if set["b"] && c.mode.rtt {
		return fmt.Errorf("-b %d: ping sends one frame at a time, the next when the echo of the last is back (or after %v)", c.batch, pingTimeout)
	}
	if c.noTouch && !c.mode.send && !c.mode.rtt {
		return fmt.Errorf("-r: rubbish (a payload left unwritten) is for the senders tx and ping; -f %s writes no payload", c.mode.name)
	}
	if c.port2 != "" {
		return errors.New("-i given twice: only -f vtx and vrx take two paths (ST 2022-7)")
	}
	if isXDP(c.port) && c.mode.xdp == nil {
		return fmt.Errorf("-f %s: the xdp: backend does tx, rx, txseq, rxseq, ping, pong, vtx and vrx", c.mode.name)
	}
	if isUDP(c.port) && c.mode.udp == nil {
		return fmt.Errorf("-f %s needs a netmap port; the udp: backend does tx, rx, txseq and rxseq", c.mode.name)
	}
	if isUDP(c.port) {
		if _, err := udpAddr(c.port); err != nil {
			return err
		}
		if c.batch > udpMaxBatch {
			// Refused, not cut to what fits: a run reported under a
			// batch it did not use would mislead (vtx and vrx refuse
			// the same).
			return fmt.Errorf("-b %d: over udp: at most %d datagrams per sendmmsg or recvmmsg", c.batch, udpMaxBatch)
		}
	}
	if err := checkUDPHeaders(c, set); err != nil {
		return err
	}
	if !c.mode.send && !c.mode.rtt {
		// The frame's length and headers are what tx, txseq and ping
		// write; rx and rxseq count whatever arrives, pong echoes it as
		// it came (pkt-gen ignores them there: nmbench says so).
		for _, name := range frameFlags {
			if set[name] {
				return fmt.Errorf("-%s: -f %s writes no frames of its own: it %s whatever arrives; -l is for the senders tx, txseq and ping, -s, -d, -S and -D for those and vtx", name, c.mode.name, map[bool]string{true: "echoes", false: "counts"}[c.mode.name == "pong"])
			}
		}
	}
	return nil
}

// frameFlags are the flags of the frames a packet function writes: their
// length and their Ethernet, IPv4 and UDP headers.
var frameFlags = []string{"l", "s", "d", "S", "D"}

// checkSeq checks the flags of txseq and rxseq, whose frames carry a
// sequence number.
func checkSeq(c *config, set map[string]bool) error {
	if c.noTouch && c.mode.send {
		return errors.New("-r: txseq writes its sequence numbers into the payload, which -r leaves alone")
	}
	return checkPackets(c, set)
}

// openPackets opens what a packet function needs: the udp: backend's
// address, or -p netmap registrations (one per ring with -p > 1), each
// checked against -l, and waits -w for the link.
func openPackets(ctx context.Context, cfg *config) (work, func() error, error) {
	m := cfg.mode
	if isXDP(cfg.port) {
		return openXDP(ctx, cfg)
	}
	if isUDP(cfg.port) {
		if _, err := udpAddr(cfg.port); err != nil {
			return nil, nil, err
		}
		waitLink(ctx, cfg.wait) // nothing to wait for, but -w given is a wait on every backend
		return func(ctx context.Context, st *stats) error { return m.udp(ctx, cfg, st) }, func() error { return nil }, nil
	}
	var ports []*nmsys.Port
	var closers []func() error
	closeAll := func() error {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil
	}
	for i := range cfg.parallel {
		c := m.port
		if cfg.parallel > 1 {
			c.Mode, c.RingID = nmsys.ModeOneNIC, i
		}
		port, closePort, err := openPort(ctx, cfg.port, &c)
		if err != nil {
			closeAll()
			if cfg.parallel > 1 {
				err = fmt.Errorf("-p %d: ring %d: %w", cfg.parallel, i, err)
			}
			return nil, nil, err
		}
		closers = append(closers, closePort)
		ports = append(ports, port)
		if i == 0 {
			if err := checkRings(cfg, port.Info()); err != nil {
				closeAll()
				return nil, nil, err
			}
		}
		if max := port.Info().BufSize; cfg.lens.max() > max {
			closeAll()
			return nil, nil, usage(fmt.Errorf("-l %s: frames longer than the port's %d-byte buffers are not supported", cfg.lens, max))
		}
	}
	waitLink(ctx, cfg.wait)
	return func(ctx context.Context, st *stats) error { return runPorts(ctx, cfg, ports, st) }, closeAll, nil
}

// checkRings refuses a -p larger than the port's rings in the direction
// the function drives (the kernel's answer to registering a ring it does
// not have is a bare EINVAL); info is the first ring's registration.
func checkRings(cfg *config, info nmsys.Info) error {
	n, dir := info.RxRings, "RX"
	if cfg.mode.send {
		n, dir = info.TxRings, "TX"
	}
	if cfg.parallel > n {
		s := "s"
		if n == 1 {
			s = ""
		}
		return usage(fmt.Errorf("-p %d: %s has %d %s ring%s", cfg.parallel, cfg.port, n, dir, s))
	}
	return nil
}

// runPorts runs the function's loop on each port, each in a goroutine
// locked to its OS thread; the first error ends them all.
func runPorts(ctx context.Context, cfg *config, ports []*nmsys.Port, st *stats) error {
	loop := cfg.mode.loop
	if len(ports) == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		return loop(ctx, cfg, ports[0], st)
	}
	var left *budget
	if cfg.count > 0 && !cfg.mode.send {
		left = newBudget(cfg.count)
	}
	g, ctx := errgroup.WithContext(ctx)
	for i, port := range ports {
		g.Go(func() error {
			// -n and -R are totals. A sender's ring gets its share; the
			// receivers take from one budget, since the NIC decides
			// which ring a packet arrives on.
			share := *cfg
			share.rate = cfg.rate / float64(len(ports))
			if left != nil {
				share.count, share.left = 0, left
			} else if cfg.count > 0 {
				share.count = cfg.count / uint64(len(ports))
				if uint64(i) < cfg.count%uint64(len(ports)) {
					share.count++
				}
				if share.count == 0 { // fewer packets than rings
					return nil
				}
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			return loop(ctx, &share, port, st)
		})
	}
	return g.Wait()
}
