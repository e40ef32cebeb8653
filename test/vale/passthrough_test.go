//go:build linux

package vale_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// TestPassthrough: st2110.Listen owns eth0 (netmap's emulated adapter on
// a virtio NIC) while eth1, on the same qemu hub, sits in a network
// namespace of its own as the far end of the wire, from where a flow is
// sent to eth0 over UDP multicast (the application joins the flow's group
// with a socket on eth0, which opens the NIC's multicast filter). Without
// ListenConfig.Passthrough the flow arrives on eth0's netmap rings but the
// kernel's address on eth0 is cut off: ping and arping from eth1 fail.
// With it, the flow still arrives on the rings, and meanwhile eth0's
// kernel address answers ping and ARP from eth1, and an IGMP join made by
// a socket of eth0's host stack is seen on eth1, moved to the wire by
// nmgo (Receiver.Passthrough counts it).
func TestPassthrough(t *testing.T) {
	nmtest.Require(t)
	for _, d := range []string{"eth0", "eth1"} {
		if _, err := os.Stat("/sys/class/net/" + d); err != nil {
			if nmtest.Required() {
				t.Fatalf("no %s in the VM: the runner should give it two virtio NICs on one hub", d)
			}
			t.Skipf("needs eth0 and eth1 on one link (%v)", err)
		}
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "ping", "arping"} {
		if _, err := exec.LookPath(tool); err != nil {
			if nmtest.Required() {
				t.Fatalf("%s not found: the VM's busybox should provide it", tool)
			}
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	const (
		hostAddr = "10.77.0.1"
		peerAddr = "10.77.0.2"
	)
	ns := newPeerNS(t, "eth1", peerAddr+"/24")
	sh(t, "ip", "addr", "add", hostAddr+"/24", "dev", "eth0")
	// No IPv6 on eth0: nothing but what the test makes leaves its host
	// stack (no MLD, no neighbour discovery).
	v6 := "/proc/sys/net/ipv6/conf/eth0/disable_ipv6"
	if err := os.WriteFile(v6, []byte("1"), 0); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = os.WriteFile(v6, []byte("0"), 0)
		_ = exec.Command("ip", "addr", "del", hostAddr+"/24", "dev", "eth0").Run()
	})

	small := video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 64, Height: 32,
		Scan: video.Progressive, Rate: video.Rate25}
	sess := &video.Session{Origin: netip.MustParseAddr(peerAddr), Streams: []video.Stream{
		{Format: small, PayloadType: 96, Dst: netip.MustParseAddrPort("239.77.0.10:5004")},
	}}
	eth0, err := net.InterfaceByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("nmbench", func(t *testing.T) { nmbenchPass(t, ns, sess, eth0, hostAddr) })
	for i, pass := range []bool{false, true} {
		t.Run("passthrough="+strconv.FormatBool(pass), func(t *testing.T) {
			pi, err := nmsys.LookupPortInfo("netmap:eth0")
			if err != nil {
				t.Fatal(err)
			}
			rx, err := st2110.Listen("netmap:eth0", sess, &st2110.ListenConfig{Passthrough: pass})
			if err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			t.Logf("eth0: %d TX and %d RX rings; %d inputs", pi.TxRings, pi.RxRings, rx.Inputs())
			if rx.Inputs() != max(pi.TxRings, pi.RxRings) {
				t.Errorf("%d inputs, want one goroutine per ring pair", rx.Inputs())
			}
			// The NIC was reset by the registration; let its link settle.
			time.Sleep(500 * time.Millisecond)
			// The application joins the flow's group on eth0, as any
			// multicast receiver does: virtio-net (like most NICs)
			// filters multicast by the kernel's list of groups.
			fj, err := net.ListenMulticastUDP("udp4", eth0, net.UDPAddrFromAddrPort(sess.Streams[0].Dst))
			if err != nil {
				t.Fatal(err)
			}
			defer fj.Close()
			tx, stop := ns.send(t, sess)
			defer stop()
			diag := func() string {
				ts := tx.Stats(0)
				return fmt.Sprintf("flow: sent %d packets (%d no buffer), received %d; other %d; root: %s; peer: %s",
					ts.Packets, ts.NoBufs, rx.Stats(0).Packets, rx.Other(), out("cat", "/proc/net/dev"), ns.out("cat", "/proc/net/dev")+ns.out("ip", "route")+ns.out("ip", "addr"))
			}
			ns.run(t, "ip", "neigh", "flush", "dev", "eth1")

			// The flow on the netmap rings.
			before := rx.Stats(0).Packets
			waitFor(t, 10*time.Second, func() bool { return rx.Stats(0).Packets > before+20 },
				diag)

			// ARP and ping from eth1 to eth0's kernel address.
			arp := ns.try("arping", "-c", "2", "-w", "4", "-I", "eth1", hostAddr)
			ping := ns.try("ping", "-c", "3", "-W", "2", hostAddr)
			t.Logf("arping: %v\nping: %v", arp, ping)
			if pass && (arp != nil || ping != nil) {
				t.Errorf("with passthrough, eth0's kernel address does not answer: arping %v, ping %v", arp, ping)
			}
			if !pass && (arp == nil || ping == nil) {
				t.Errorf("without passthrough, eth0's kernel address answers (arping %v, ping %v): the test cannot tell", arp, ping)
			}

			// An IGMP join by a socket of eth0's host stack, seen on eth1.
			// With passthrough, every report seen must have been moved
			// by nmgo from the host RX ring to the wire (ToWire; eth0
			// sends nothing else meanwhile: IPv6 is off). Without it,
			// netmap's emulated adapter sends what the host stack
			// transmits as it would without netmap (its host rings are
			// not bound): logged, not asserted.
			group := netip.AddrFrom4([4]byte{239, 77, 1, byte(1 + i)})
			cap := ns.capture(t, "eth1")
			defer cap.close()
			ps0, _ := rx.Passthrough()
			j, err := net.ListenMulticastUDP("udp4", eth0, net.UDPAddrFromAddrPort(netip.AddrPortFrom(group, 6000)))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			seen := cap.igmp(group, 3*time.Second)
			ps1, _ := rx.Passthrough()
			t.Logf("IGMP reports for %v seen on eth1: %d; moved host ring -> wire meanwhile: %d", group, seen, ps1.ToWire-ps0.ToWire)
			if pass && (seen == 0 || ps1.ToWire-ps0.ToWire < uint64(seen)) {
				t.Errorf("IGMP join for %v: %d reports seen on eth1, %d packets moved from the host stack to the wire", group, seen, ps1.ToWire-ps0.ToWire)
			}

			// The flow kept arriving on the rings meanwhile.
			mid := rx.Stats(0).Packets
			waitFor(t, 10*time.Second, func() bool { return rx.Stats(0).Packets > mid+10 },
				diag)
			st := rx.Stats(0)
			t.Logf("flow: %d packets, %d frames delivered (%d complete), %d lost; other %d", st.Packets, st.Delivered, st.Complete, st.Lost, rx.Other())
			if st.Complete == 0 {
				t.Errorf("no complete frame of the flow: %+v", st.RxStats)
			}
			ps, ok := rx.Passthrough()
			t.Logf("passthrough %v: %+v", ok, ps)
			if ok != pass || pass && (ps.ToHost == 0 || ps.ToWire == 0) {
				t.Errorf("Passthrough() = %+v, %v", ps, ok)
			}
			if err := rx.Err(); err != nil {
				t.Error(err)
			}
		})
	}
}

// nmbenchPass: nmbench -f vrx -passthrough on eth0 takes the flow while
// eth0's kernel address answers ping from eth1, and reports what it moved.
func nmbenchPass(t *testing.T, ns *peerNS, sess *video.Session, eth0 *net.Interface, hostAddr string) {
	nb := os.Getenv("NMTEST_NMBENCH")
	if nb == "" {
		if nmtest.Required() {
			t.Fatal("NMTEST_REQUIRE=1 but NMTEST_NMBENCH is not set")
		}
		t.Skip("NMTEST_NMBENCH not set")
	}
	fj, err := net.ListenMulticastUDP("udp4", eth0, net.UDPAddrFromAddrPort(sess.Streams[0].Dst))
	if err != nil {
		t.Fatal(err)
	}
	defer fj.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nb, "-i", "netmap:eth0", "-f", "vrx", "-fmt", "sampling=YCbCr-4:2:2; width=64; height=32; depth=10; exactframerate=25",
		"-d", sess.Streams[0].Dst.String(), "-passthrough", "-w", "500ms", "-json", "-T", "200ms", "-t", "40s")
	cmd.Cancel = func() error { return cmd.Process.Signal(interruptSignal) }
	cmd.WaitDelay = 5 * time.Second
	buf := &safeBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, stopTx := ns.send(t, sess)
	// nmbench owns eth0 once its reports count the flow's packets.
	counting := regexp.MustCompile(`"packets":[1-9]`)
	waitFor(t, 20*time.Second, func() bool { return counting.Match(buf.Bytes()) },
		func() string { return fmt.Sprintf("nmbench counts no packets:\n%s", buf.Bytes()) })
	ns.run(t, "ip", "neigh", "flush", "dev", "eth1")
	ping := ns.try("ping", "-c", "3", "-W", "2", hostAddr)
	stopTx()
	cancel()
	_ = cmd.Wait()
	out := buf.Bytes()
	if ping != nil {
		t.Errorf("ping through nmbench vrx -passthrough: %v\n%s", ping, out)
	}
	lines := regexp.MustCompile(`(?m)^\{.*\}$`).FindAll(out, -1)
	if len(lines) == 0 {
		t.Fatalf("no JSON in output:\n%s", out)
	}
	var rep struct {
		Final   bool `json:"final"`
		Streams []struct {
			Packets uint64 `json:"packets"`
		} `json:"streams"`
		Passthrough *struct {
			ToHost  uint64 `json:"to_host"`
			ToWire  uint64 `json:"to_wire"`
			Dropped uint64 `json:"dropped"`
		} `json:"passthrough"`
	}
	if err := json.Unmarshal(lines[len(lines)-1], &rep); err != nil || !rep.Final {
		t.Fatalf("last JSON object %s: %v", lines[len(lines)-1], err)
	}
	t.Logf("nmbench: %s", lines[len(lines)-1])
	if len(rep.Streams) != 1 || rep.Streams[0].Packets == 0 || rep.Passthrough == nil || rep.Passthrough.ToHost < 3 || rep.Passthrough.ToWire < 3 {
		t.Errorf("nmbench vrx -passthrough: want the flow's packets and ping's echoes moved; got %s", lines[len(lines)-1])
	}
}

// peerNS is a network namespace holding one NIC, the far end of the wire.
type peerNS struct {
	pid int
	dev string
}

// newPeerNS moves dev into a new network namespace (held by a sleeping
// process) with addr, until the test ends, when the NIC comes back to the
// root namespace, up, and the namespace goes.
func newPeerNS(t *testing.T, dev, addr string) *peerNS {
	t.Helper()
	cmd := exec.Command("unshare", "-n", "sleep", "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ns := &peerNS{pid: cmd.Process.Pid, dev: dev}
	t.Cleanup(func() {
		// Back to the root namespace (that of PID 1), then end the
		// namespace's process.
		if err := ns.try("ip", "link", "set", "dev", dev, "netns", "1"); err != nil {
			t.Error(err)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err := exec.Command("ip", "link", "set", dev, "up").Run(); err != nil {
			t.Errorf("%s back in the root namespace: ip link set up: %v", dev, err)
		}
	})
	// Wait for unshare to have made the namespace.
	self, _ := os.Readlink("/proc/self/ns/net")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", ns.pid)); err == nil && l != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare -n did not make a namespace")
		}
	}
	sh(t, "ip", "link", "set", "dev", dev, "netns", strconv.Itoa(ns.pid))
	ns.run(t, "ip", "link", "set", "lo", "up")
	ns.run(t, "ip", "link", "set", dev, "up")
	ns.run(t, "ip", "addr", "add", addr, "dev", dev)
	return ns
}

func (ns *peerNS) args(cmd ...string) []string {
	return append([]string{"-t", strconv.Itoa(ns.pid), "-n"}, cmd...)
}

// run runs cmd in the namespace and fails the test if it fails.
func (ns *peerNS) run(t *testing.T, cmd ...string) {
	t.Helper()
	sh(t, "nsenter", ns.args(cmd...)...)
}

// try runs cmd in the namespace and returns its error with its output.
func (ns *peerNS) try(cmd ...string) error {
	out, err := exec.Command("nsenter", ns.args(cmd...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(cmd, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// in runs fn on an OS thread that has entered the namespace; sockets fn
// makes belong to it. The thread is not reused afterwards.
func (ns *peerNS) in(t *testing.T, fn func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", ns.pid))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		fn()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// send starts st2110.Dial over UDP from the namespace's NIC to the
// session's flows, frames from a loop, until the returned stop.
func (ns *peerNS) send(t *testing.T, sess *video.Session) (tx *st2110.Sender, stop func()) {
	t.Helper()
	f := sess.Streams[0].Format
	loop, err := video.NewFrameLoop(&f, make([]byte, f.FrameSize()))
	if err != nil {
		t.Fatal(err)
	}
	var derr error
	ns.in(t, func() {
		tx, derr = st2110.Dial("udp:"+sess.Streams[0].Dst.String()+"@"+ns.dev, sess, &st2110.SendConfig{MaxLag: -1, Sources: []video.FrameSource{loop}})
	})
	if derr != nil {
		t.Fatal(derr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tx.Run(ctx) }()
	return tx, func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("sender: %v", err)
		}
		tx.Close()
	}
}

// pcap is a promiscuous packet socket on a NIC of the namespace.
type pcap struct {
	t  *testing.T
	fd int
}

func (ns *peerNS) capture(t *testing.T, dev string) *pcap {
	t.Helper()
	c := &pcap{t: t, fd: -1}
	var err error
	ns.in(t, func() {
		var ifi *net.Interface
		if ifi, err = net.InterfaceByName(dev); err != nil {
			return
		}
		proto := int(htons(unix.ETH_P_ALL))
		if c.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto); err != nil {
			return
		}
		if err = unix.Bind(c.fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index}); err != nil {
			return
		}
		// Promiscuous, as a capture tool makes it: virtio-net filters
		// multicast (IGMPv3 reports go to 224.0.0.22) by the kernel's list.
		err = unix.SetsockoptPacketMreq(c.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP,
			&unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC})
	})
	if err != nil {
		t.Fatalf("packet socket on %s: %v", dev, err)
	}
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (c *pcap) close() { unix.Close(c.fd) }

// igmp counts the IGMP messages naming group that arrive within d.
func (c *pcap) igmp(group netip.Addr, d time.Duration) int {
	seen := 0
	buf := make([]byte, 2048)
	g := group.As4()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		pfd := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, int(time.Until(deadline)/time.Millisecond)+1); err != nil && err != unix.EINTR {
			c.t.Fatalf("poll: %v", err)
		} else if n <= 0 {
			continue
		}
		n, from, err := unix.Recvfrom(c.fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		p := buf[:n]
		if len(p) < 34 || binary.BigEndian.Uint16(p[12:]) != 0x0800 || p[23] != 2 {
			continue
		}
		ihl := int(p[14]&0xf) * 4
		if len(p) >= 14+ihl && bytes.Contains(p[14+ihl:], g[:]) {
			seen++
		}
	}
	return seen
}

// out runs a command and returns its output, or its error.
func out(name string, args ...string) string {
	b, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("%s: %v: %s", name, err, b)
	}
	return string(b)
}

func (ns *peerNS) out(cmd ...string) string { return out("nsenter", ns.args(cmd...)...) }

// sh runs a command and fails the test if it fails.
func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// waitFor waits up to d for ok, failing with what says otherwise.
func waitFor(t *testing.T, d time.Duration, ok func() bool, what func() string) {
	t.Helper()
	for deadline := time.Now().Add(d); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what())
		}
	}
}
