//go:build linux

package netns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/nmgo/nmgo/st2110"
	"github.com/nmgo/nmgo/video"
)

// The main goroutine keeps the main thread, so that no goroutine that
// enters a namespace (and ends on its thread, which the runtime then
// retires) runs there: the main thread cannot be retired, and the
// process's /proc/self/net would follow it into the namespace.
func init() { runtime.LockOSThread() }

// required is NMTEST_NETNS=1: a test that cannot run fails.
var required = os.Getenv("NMTEST_NETNS") == "1"

// need skips t (fails it under NMTEST_NETNS=1) without root or iproute2,
// and skips it without NMTEST_NETNS=1 even as root: its multicast traffic
// would compete with the timing-sensitive tests that go test ./... runs
// beside it (CI runs it in a stage of its own).
func need(t *testing.T) {
	t.Helper()
	why := ""
	if !required {
		t.Skip("the namespace tests run with NMTEST_NETNS=1 (root; .ci/run's netns stage sets it)")
	}
	if os.Geteuid() != 0 {
		why = "needs root (network namespaces, veth, a bridge)"
	}
	for _, tool := range []string{"ip", "bridge"} {
		if _, err := exec.LookPath(tool); err != nil && why == "" {
			why = "needs " + tool + " (iproute2): " + err.Error()
		}
	}
	if why == "" {
		return
	}
	if required {
		t.Fatalf("NMTEST_NETNS=1 but the test cannot run: %s", why)
	}
	t.Skipf("%s; NMTEST_NETNS=1 makes this a failure", why)
}

// run runs a command and fails t with its output if it fails.
func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The namespaces: the switch, the sender, two receivers and a bystander.
const (
	nsSwitch = "nmst-sw"
	bridge   = "nmst-br"
)

var hosts = []struct {
	name, v4, v6 string
}{
	{"nmst-s", "10.77.0.1", "fd77::1"},
	{"nmst-r1", "10.77.0.2", "fd77::2"},
	{"nmst-r2", "10.77.0.3", "fd77::3"},
	{"nmst-r3", "10.77.0.4", "fd77::4"},
}

// topology builds the namespaces, the snooping bridge and a veth from
// each host to it (host side named as the namespace, bridge side with a
// "p"), and deletes them when t ends. Unregistered multicast is not
// flooded to the receivers' ports (mcast_flood off), as a snooping switch
// with a querier does not, and a leave takes effect at once (fastleave).
func topology(t *testing.T) {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("topology built in %v", time.Since(start).Round(time.Millisecond)) }()
	all := []string{nsSwitch}
	for _, h := range hosts {
		all = append(all, h.name)
	}
	del := func() {
		for _, ns := range all {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	}
	// One run at a time on a host: the names are fixed.
	lock, err := os.OpenFile("/run/nmst-netns.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	del() // leftovers of a run that was killed
	t.Cleanup(func() {
		del()
		lock.Close() // and the lock with it
	})
	for _, ns := range all {
		run(t, "ip", "netns", "add", ns)
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	}
	// The bridge forwards by its mdb only once it knows a querier, and
	// its own counts only a query response interval (10 s by default)
	// after it is turned on: 1 s here, set before the querier.
	run(t, "ip", "-n", nsSwitch, "link", "add", bridge, "type", "bridge", "mcast_snooping", "1",
		"mcast_igmp_version", "3", "mcast_mld_version", "2", "mcast_query_response_interval", "100")
	run(t, "ip", "-n", nsSwitch, "link", "set", bridge, "type", "bridge", "mcast_querier", "1")
	run(t, "ip", "-n", nsSwitch, "addr", "add", "10.77.0.254/24", "dev", bridge)
	run(t, "ip", "-n", nsSwitch, "addr", "add", "fd77::fe/64", "dev", bridge, "nodad")
	run(t, "ip", "-n", nsSwitch, "link", "set", bridge, "up")
	for i, h := range hosts {
		port := h.name + "p"
		run(t, "ip", "link", "add", h.name, "netns", h.name, "type", "veth", "peer", "name", port, "netns", nsSwitch)
		run(t, "ip", "-n", nsSwitch, "link", "set", port, "master", bridge, "up")
		if i > 0 {
			run(t, "bridge", "-n", nsSwitch, "link", "set", "dev", port, "mcast_flood", "off", "fastleave", "on")
		}
		run(t, "ip", "-n", h.name, "addr", "add", h.v4+"/24", "dev", h.name)
		run(t, "ip", "-n", h.name, "addr", "add", h.v6+"/64", "dev", h.name, "nodad")
		run(t, "ip", "-n", h.name, "link", "set", h.name, "up")
	}
}

// in runs fn on an OS thread in namespace ns: sockets fn opens belong to
// ns for good. The thread is not used again (the goroutine ends locked).
func in(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func listen(t *testing.T, ns, name string, sess *video.Session) *st2110.Receiver {
	t.Helper()
	var rx *st2110.Receiver
	if err := in(ns, func() (err error) {
		// A big socket buffer: the machines that run this are busy.
		rx, err = st2110.Listen(name, sess, &st2110.ListenConfig{ReadBuffer: 32 << 20})
		return err
	}); err != nil {
		t.Fatalf("%s: Listen: %v", ns, err)
	}
	t.Cleanup(func() { rx.Close() })
	return rx
}

func dial(t *testing.T, ns, name string, sess *video.Session, cfg *st2110.SendConfig) *st2110.Sender {
	t.Helper()
	var tx *st2110.Sender
	if err := in(ns, func() (err error) {
		tx, err = st2110.Dial(name, sess, cfg)
		return err
	}); err != nil {
		t.Fatalf("%s: Dial: %v", ns, err)
	}
	t.Cleanup(func() { tx.Close() })
	return tx
}

// receive collects want frames of every flow of rx in the background.
func receive(rx *st2110.Receiver, want int) <-chan [][]byte {
	out := make(chan [][]byte, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		got := make([][]byte, len(rx.Flows()))
		n, done := make([]int, len(got)), 0
		for f, err := range rx.Frames(ctx) {
			if err != nil {
				break
			}
			if n[f.Flow] < want {
				got[f.Flow] = append(got[f.Flow], f.Data...)
				if n[f.Flow]++; n[f.Flow] == want {
					if done++; done == len(got) {
						break
					}
				}
			}
		}
		out <- got
	}()
	return out
}

// rxPackets returns the packets interface dev of namespace ns received.
func rxPackets(t *testing.T, ns, dev string) uint64 {
	t.Helper()
	var links []struct {
		Stats struct {
			Rx struct {
				Packets uint64 `json:"packets"`
			} `json:"rx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal([]byte(run(t, "ip", "-n", ns, "-s", "-j", "link", "show", dev)), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip -s -j link show %s: %v", dev, err)
	}
	return links[0].Stats.Rx.Packets
}

// mdbEntry is one entry of the bridge's multicast database.
type mdbEntry struct {
	Port string `json:"port"`
	Grp  string `json:"grp"`
	Src  string `json:"src"`
}

// mdb returns the bridge's multicast database (bridge -j mdb show).
func mdb(t *testing.T) []mdbEntry {
	t.Helper()
	var out []struct {
		MDB []mdbEntry `json:"mdb"`
	}
	if err := json.Unmarshal([]byte(run(t, "bridge", "-n", nsSwitch, "-j", "mdb", "show")), &out); err != nil {
		t.Fatalf("bridge -j mdb show: %v", err)
	}
	var all []mdbEntry
	for _, o := range out {
		all = append(all, o.MDB...)
	}
	return all
}

// member reports whether the mdb has group grp on port (from src, if
// not "").
func member(es []mdbEntry, port, grp, src string) bool {
	for _, e := range es {
		if e.Port == port && e.Grp == grp && (src == "" || e.Src == src) {
			return true
		}
	}
	return false
}

// waitMDB waits up to d for cond over the mdb.
func waitMDB(t *testing.T, d time.Duration, what string, cond func([]mdbEntry) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		es := mdb(t)
		if cond(es) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bridge's mdb: %s not seen in %v: %+v", what, d, es)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForwarding waits until the bridge forwards group's packets to dev
// (the interface of the receiver in namespace dev): probes sent from the
// sender to a port nobody listens on, counted at the receiver's
// interface. The bridge forwards by its mdb only once it knows a querier.
func waitForwarding(t *testing.T, group netip.Addr, dev string) {
	t.Helper()
	var c *net.UDPConn
	if err := in("nmst-s", func() error {
		network := "udp4"
		if group.Is6() {
			network = "udp6"
		}
		var err error
		if c, err = net.ListenUDP(network, nil); err != nil {
			return err
		}
		ifi, err := net.InterfaceByName("nmst-s")
		if err != nil {
			return err
		}
		if group.Is6() {
			return ipv6.NewPacketConn(c).SetMulticastInterface(ifi)
		}
		return ipv4.NewPacketConn(c).SetMulticastInterface(ifi)
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(group, 5099))
	start := time.Now()
	defer func() {
		t.Logf("the bridge forwards %v to %s after %v", group, dev, time.Since(start).Round(time.Millisecond))
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		before := rxPackets(t, dev, dev)
		for range 20 {
			if _, err := c.WriteToUDP([]byte("probe"), dst); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(50 * time.Millisecond)
		if rxPackets(t, dev, dev)-before >= 20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bridge does not forward %v to %s after 20 s", group, dev)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deltas returns what each (namespace, interface) received during d.
func deltas(t *testing.T, d time.Duration, devs ...string) []uint64 {
	t.Helper()
	before := make([]uint64, len(devs))
	for i, dev := range devs {
		before[i] = rxPackets(t, dev, dev)
	}
	time.Sleep(d)
	out := make([]uint64, len(devs))
	for i, dev := range devs {
		out[i] = rxPackets(t, dev, dev) - before[i]
	}
	return out
}

var (
	// 640x480p50 4:2:2 10-bit: 960 packets a frame, 48 kpps a flow.
	fmtSD = video.Format{Sampling: video.YCbCr422, Depth: video.Depth10, Width: 640, Height: 480,
		Scan: video.Progressive, Rate: video.Rate50}
)

// byteExactRate caps the packets per second of the byte-for-byte
// phases (the schedule stretched), so that a receiver on a busy machine
// that is not scheduled for a while does not overflow its socket buffer.
const byteExactRate = 20000

func randomFrames(f video.Format, n int, seed byte) []byte {
	b := make([]byte, n*f.FrameSize())
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func loop(t *testing.T, f video.Format, frames []byte) *video.FrameLoop {
	l, err := video.NewFrameLoop(&f, frames)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMulticastSnooping: Dial -> Listen over IPv4 multicast through an
// IGMPv3-snooping bridge. Two flows share UDP port 5004: an any-source
// group A and a source-specific one B (IGMPv3). Receiver 1 takes both,
// receiver 2 only B, the bystander joins nothing. The frames arrive byte
// for byte, demultiplexed by group; the bridge's mdb holds exactly the
// joins; while A alone runs, only receiver 1's interface gets packets;
// after receiver 1 closes, its entries leave the mdb and its interface
// gets nothing more.
func TestMulticastSnooping(t *testing.T) {
	need(t)
	topology(t)
	const groupA, groupB, src = "239.10.0.1", "232.10.0.2", "10.77.0.1"
	sess := &video.Session{Name: "netns", Streams: []video.Stream{
		{Format: fmtSD, PayloadType: 96, Dst: mustAP(groupA + ":5004")},
		{Format: fmtSD, PayloadType: 96, Dst: mustAP(groupB + ":5004"), Source: mustAddr(src)},
	}}
	onlyB := &video.Session{Streams: sess.Streams[1:]}
	rx1 := listen(t, "nmst-r1", "udp:nmst-r1", sess)
	rx2 := listen(t, "nmst-r2", "udp:nmst-r2", onlyB)
	waitMDB(t, 5*time.Second, "the receivers' joins", func(es []mdbEntry) bool {
		return member(es, "nmst-r1p", groupA, "") && member(es, "nmst-r1p", groupB, src) && member(es, "nmst-r2p", groupB, src)
	})
	for _, e := range mdb(t) {
		if e.Port == "nmst-r3p" && !strings.HasPrefix(e.Grp, "ff02:") || e.Port == "nmst-r2p" && e.Grp == groupA {
			t.Errorf("an mdb entry nobody joined: %+v", e) // ff02:: are the hosts' own (solicited-node) groups
		}
	}
	waitForwarding(t, mustAddr(groupA), "nmst-r1")
	waitForwarding(t, mustAddr(groupB), "nmst-r2")

	// Byte for byte.
	const n = 5
	frames := [][]byte{randomFrames(fmtSD, n, 1), randomFrames(fmtSD, n, 2)}
	got1, got2 := receive(rx1, n), receive(rx2, n)
	tx := dial(t, "nmst-s", "udp:nmst-s", sess, &st2110.SendConfig{MaxLag: -1,
		Sources: []video.FrameSource{loop(t, fmtSD, frames[0]), loop(t, fmtSD, frames[1])}, Count: n, MaxRate: byteExactRate})
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	g1, g2 := <-got1, <-got2
	for k := range frames {
		if !bytes.Equal(g1[k], frames[k]) {
			t.Errorf("receiver 1, flow %d: %d octets, not the %d sent; %+v", k, len(g1[k]), len(frames[k]), rx1.Stats(k))
		}
	}
	if !bytes.Equal(g2[0], frames[1]) {
		t.Errorf("receiver 2: %d octets, not the %d of its flow; %+v", len(g2[0]), len(frames[1]), rx2.Stats(0))
	}
	if rx1.Other() != 0 || rx2.Other() != 0 {
		t.Errorf("datagrams of no flow: %d at receiver 1, %d at receiver 2", rx1.Other(), rx2.Other())
	}
	t.Logf("receiver 1, flow 0: %+v", rx1.Stats(0))

	// Where the packets go while a sender runs flow A alone (a test
	// pattern, until cancelled): to receiver 1 only, not to receiver 2,
	// which joined B only, nor to the bystander.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tx2 := dial(t, "nmst-s", "udp:nmst-s", &video.Session{Streams: sess.Streams[:1]}, nil)
	done := make(chan error, 1)
	go func() { done <- tx2.Run(ctx) }()
	go func() {
		for range rx1.Frames(ctx) {
		}
	}()
	time.Sleep(200 * time.Millisecond)
	const quiet = 20 // queries of the bridge's querier, and little else
	d := deltas(t, 500*time.Millisecond, "nmst-r1", "nmst-r2", "nmst-r3")
	t.Logf("packets received in 500 ms of flow A: receiver 1 %d, receiver 2 %d, bystander %d", d[0], d[1], d[2])
	if d[0] < 2000 || d[1] > quiet || d[2] > quiet {
		t.Errorf("while flow A ran, receiver 1 got %d packets (it joined A), receiver 2 %d (B only), the bystander %d (nothing)", d[0], d[1], d[2])
	}

	// Receiver 1 leaves.
	if err := rx1.Close(); err != nil {
		t.Fatal(err)
	}
	waitMDB(t, 5*time.Second, "receiver 1's leave", func(es []mdbEntry) bool {
		return !member(es, "nmst-r1p", groupA, "") && !member(es, "nmst-r1p", groupB, "") && member(es, "nmst-r2p", groupB, src)
	})
	d = deltas(t, 500*time.Millisecond, "nmst-r1")
	t.Logf("after receiver 1 closed, in 500 ms: receiver 1 %d", d[0])
	if d[0] > quiet {
		t.Errorf("after its Close receiver 1 still got %d packets", d[0])
	}
	if st := tx2.Stats(0); st.Packets < 5000 {
		t.Errorf("the sender sent %d packets meanwhile", st.Packets)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestMulticastIPv6: the same over IPv6 and MLDv2: a source-specific
// group and an any-source one on one port, byte for byte, in the mdb, and
// nothing at the bystander.
func TestMulticastIPv6(t *testing.T) {
	need(t)
	topology(t)
	const groupA, groupB, src = "ff1e::10:1", "ff3e::10:2", "fd77::1"
	sess := &video.Session{Streams: []video.Stream{
		{Format: fmtSD, PayloadType: 96, Dst: mustAP("[" + groupA + "]:5004")},
		{Format: fmtSD, PayloadType: 96, Dst: mustAP("[" + groupB + "]:5004"), Source: mustAddr(src)},
	}}
	rx := listen(t, "nmst-r1", "udp:nmst-r1", sess)
	waitMDB(t, 5*time.Second, "the IPv6 joins", func(es []mdbEntry) bool {
		return member(es, "nmst-r1p", groupA, "") && member(es, "nmst-r1p", groupB, src)
	})
	waitForwarding(t, mustAddr(groupA), "nmst-r1")
	const n = 3
	frames := [][]byte{randomFrames(fmtSD, n, 3), randomFrames(fmtSD, n, 4)}
	got := receive(rx, n)
	before := rxPackets(t, "nmst-r3", "nmst-r3")
	tx := dial(t, "nmst-s", "udp:nmst-s", sess, &st2110.SendConfig{MaxLag: -1,
		Sources: []video.FrameSource{loop(t, fmtSD, frames[0]), loop(t, fmtSD, frames[1])}, Count: n, MaxRate: byteExactRate})
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := <-got
	for k := range frames {
		if !bytes.Equal(g[k], frames[k]) {
			t.Errorf("flow %d: %d octets, not the %d sent; %+v", k, len(g[k]), len(frames[k]), rx.Stats(k))
		}
	}
	if d := rxPackets(t, "nmst-r3", "nmst-r3") - before; d > 20 {
		t.Errorf("the bystander got %d packets while %d went to groups it did not join", d, 2*n*480)
	}
}

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func mustAddr(s string) netip.Addr   { return netip.MustParseAddr(s) }
