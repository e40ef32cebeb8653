// Command xdpbench is the small driver of the AF_XDP benchmarks in
// docs/benchmarks.md: it sends or receives as fast as it can for a while
// over an AF_XDP socket (package xsk) or over the kernel's UDP socket path
// (sendmmsg / recvmmsg through golang.org/x/net/ipv4), and prints one JSON
// line with what it did. bench.sh runs it in network namespaces next to
// DPDK's testpmd.
//
//	xdpbench -mode xsk-tx -i veth0 -size 60 -dmac 02:00:00:00:00:99 -src 198.18.0.1 -dst 198.18.0.2
//	xdpbench -mode udp-rx -dst 198.18.0.1 -dur 5s
//
// It needs root for the AF_XDP modes. It is a test tool, not part of nmgo's
// API.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/xsk"
	"golang.org/x/net/ipv4"
)

type result struct {
	Mode    string  `json:"mode"`
	Size    int     `json:"size"`
	Packets uint64  `json:"packets"`
	Seconds float64 `json:"seconds"`
	PPS     float64 `json:"pps"`
	Note    string  `json:"note,omitempty"`
}

func main() {
	mode := flag.String("mode", "", "xsk-tx, xsk-rx, udp-tx or udp-rx")
	iface := flag.String("i", "", "interface (xsk modes)")
	size := flag.Int("size", 60, "frame size without FCS (TX); UDP payload is size-42")
	dur := flag.Duration("dur", 5*time.Second, "measured time")
	warm := flag.Duration("warm", time.Second, "time before measuring")
	smac := flag.String("smac", "", "source MAC (xsk-tx; default the interface's)")
	dmac := flag.String("dmac", "02:00:00:00:00:99", "destination MAC (xsk-tx)")
	src := flag.String("src", "198.18.0.1", "source IPv4")
	dst := flag.String("dst", "198.18.0.2", "destination IPv4 (TX) or the address to listen on (udp-rx)")
	port := flag.Int("port", 9, "UDP source and destination port")
	budget := flag.Int("budget", 0, "xsk.Config.TxBudget (frames per kick; 0: the kernel's 32)")
	spin := flag.Int("spin", 0, "xsk-rx: empty passes before sleeping in poll(2) (xsk.Idler.Spin); testpmd busy-polls")
	flag.Parse()
	r, err := run(*mode, *iface, *size, *dur, *warm, *smac, *dmac, *src, *dst, *port, *budget, *spin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "xdpbench:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func run(mode, iface string, size int, dur, warm time.Duration, smac, dmac, src, dst string, port, budget, spin int) (*result, error) {
	if size < packet.UDPHdrLen || size > 1514 {
		return nil, fmt.Errorf("size %d out of [42, 1514]", size)
	}
	srcIP, err := netip.ParseAddr(src)
	if err != nil {
		return nil, err
	}
	dstIP, err := netip.ParseAddr(dst)
	if err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	r := &result{Mode: mode, Size: size}
	var count func() uint64
	var loop func(stop func() bool) error
	var xs *xsk.Socket
	switch mode {
	case "xsk-tx":
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return nil, err
		}
		s, err := xsk.Open(iface, &xsk.Config{TxOnly: true, TxBudget: budget, Frames: 2048, TxSize: 2048})
		if err != nil {
			return nil, err
		}
		defer s.Close()
		sm, dm := ifi.HardwareAddr, net.HardwareAddr(nil)
		if smac != "" {
			if sm, err = net.ParseMAC(smac); err != nil {
				return nil, err
			}
		}
		if dm, err = net.ParseMAC(dmac); err != nil {
			return nil, err
		}
		tpl, err := packet.NewUDPTemplate(&packet.UDPConfig{SrcMAC: sm, DstMAC: dm, SrcIP: srcIP, DstIP: dstIP, SrcPort: uint16(port), DstPort: uint16(port)})
		if err != nil {
			return nil, err
		}
		tx := s.Tx()
		// Every UMEM frame holds the frame once, as pkt-gen fills its
		// buffers: per packet the loop then only sets a length.
		k, _ := tx.Reserve(tx.Frames())
		for i := range k {
			tpl.Write(tx.Buf(i), size, srcIP.As4(), dstIP.As4(), uint16(port), uint16(port), 0)
		}
		tx.Publish(0)
		count = func() uint64 { st, _ := s.Stats(); return st.Tx.Completed }
		loop = func(stop func() bool) error {
			var y osthread.Yielder
			for !stop() {
				k, err := tx.Reserve(256)
				if err != nil {
					return err
				}
				tx.SetLens(k, size)
				tx.Publish(k)
				if err := s.Kick(); err != nil {
					return err
				}
				y.Pass(uint64(k * size))
			}
			return nil
		}
	case "xsk-rx":
		s, err := xsk.Open(iface, &xsk.Config{RxOnly: true})
		if err != nil {
			return nil, err
		}
		defer s.Close()
		rx := s.Rx()
		xs = s
		r.Note = s.Info().XDP.String()
		count = func() uint64 { st, _ := s.Stats(); return st.Rx.Packets }
		loop = func(stop func() bool) error {
			idle := xsk.Idler{Spin: spin}
			for !stop() {
				k, err := rx.Acquire(256)
				if err != nil {
					return err
				}
				rx.Release(k)
				if err := idle.Next(s, k > 0, uint64(k*size)); err != nil {
					return err
				}
			}
			return nil
		}
	case "udp-tx":
		c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(srcIP, uint16(port))), net.UDPAddrFromAddrPort(netip.AddrPortFrom(dstIP, uint16(port))))
		if err != nil {
			return nil, err
		}
		defer c.Close()
		pc := ipv4.NewPacketConn(c)
		msgs := make([]ipv4.Message, 64)
		payload := make([]byte, size-packet.UDPHdrLen)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{payload}
		}
		var sent uint64
		count = func() uint64 { return sent }
		loop = func(stop func() bool) error {
			for !stop() {
				n, err := pc.WriteBatch(msgs, 0)
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					var errno interface{ Temporary() bool }
					if !errors.As(err, &errno) || !errno.Temporary() {
						return err
					}
				}
				sent += uint64(max(n, 0))
			}
			return nil
		}
	case "udp-rx":
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(dstIP, uint16(port))))
		if err != nil {
			return nil, err
		}
		defer c.Close()
		_ = c.SetReadBuffer(4 << 20)
		pc := ipv4.NewPacketConn(c)
		msgs := make([]ipv4.Message, 64)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 2048)}
		}
		var got uint64
		count = func() uint64 { return got }
		loop = func(stop func() bool) error {
			for !stop() {
				_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				n, err := pc.ReadBatch(msgs, 0)
				if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					return err
				}
				got += uint64(max(n, 0))
			}
			return nil
		}
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	// Count from the end of the warm-up to its end plus dur: the loop
	// looks at the clock every 64 passes.
	start := time.Now()
	var c0, c1 uint64
	var t0, t1 time.Time
	passes := 0
	stop := func() bool {
		if passes++; passes%64 != 0 {
			return false
		}
		now := time.Now()
		if t0.IsZero() && now.Sub(start) >= warm {
			t0, c0 = now, count()
		}
		if !t0.IsZero() && now.Sub(t0) >= dur {
			t1, c1 = now, count()
			return true
		}
		return false
	}
	if err := loop(stop); err != nil {
		return nil, err
	}
	if xs != nil {
		if st, err := xs.Stats(); err == nil {
			r.Note = fmt.Sprintf("%s; kernel %+v", r.Note, st.Kernel)
		}
	}
	r.Packets = c1 - c0
	r.Seconds = t1.Sub(t0).Seconds()
	r.PPS = float64(r.Packets) / r.Seconds
	return r, nil
}
