//go:build linux

package xdptest

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// Env is the switch that makes a missing privilege or tool a failure.
const Env = "NMTEST_XDP"

// Required reports whether NMTEST_XDP=1 is set.
func Required() bool { return os.Getenv(Env) == "1" }

// Require skips t unless NMTEST_XDP=1 is set, and then fails it unless
// the test runs as root with the ip command available. Root alone is not
// enough: these tests send and receive in real time, and beside the
// packages that go test ./... runs at the same time on a small machine
// they lose packets a receiver would have taken (.ci/run's AF_XDP stage
// sets NMTEST_XDP=1 and runs them one package at a time).
func Require(t testing.TB) {
	t.Helper()
	if !Required() {
		t.Skipf("the AF_XDP tests run with %s=1 (root, one package at a time: go test -p 1; .ci/run's AF_XDP stage sets it)", Env)
	}
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root (network namespaces, veth, AF_XDP, BPF)"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs the ip command (iproute2)"
	}
	if why != "" {
		t.Fatalf("%s=1 but the test %s", Env, why)
	}
}

// Tool returns the path of the command name after [Require]: it fails t
// when name is not installed.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	Require(t)
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s=1 but %s is not installed (Debian: %s)", Env, name, pkg)
	}
	return p
}

// Pair is two network namespaces joined by a veth pair: link A in NsA,
// link B in NsB, each with one RX and one TX queue, up, with IPv4
// addresses IPA and IPB on one /24 and static neighbour entries both ways
// (so that no ARP is needed when an XDP program takes every packet).
type Pair struct {
	NsA, NsB   string
	A, B       string
	MacA, MacB net.HardwareAddr
	IPA, IPB   netip.Addr
}

var seq atomic.Uint32

// NewPair makes a Pair whose names are unique to this process and removes
// it when t ends.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	Require(t)
	removeStale()
	// "-", not a letter, ends the process id: base 36 has every letter.
	id := strconv.FormatInt(int64(os.Getpid()), 36) + "-" + strconv.FormatInt(int64(seq.Add(1)), 36)
	p := &Pair{
		NsA: "nmxs" + id + "a", NsB: "nmxs" + id + "b",
		A: "nmxs" + id + "a", B: "nmxs" + id + "b",
		MacA: net.HardwareAddr{0x02, 0x6e, 0x6d, 0x78, 0x73, 0x0a},
		MacB: net.HardwareAddr{0x02, 0x6e, 0x6d, 0x78, 0x73, 0x0b},
		IPA:  netip.MustParseAddr("10.199.0.1"), IPB: netip.MustParseAddr("10.199.0.2"),
	}
	t.Cleanup(func() { p.Remove() })
	steps := [][]string{
		{"netns", "add", p.NsA},
		{"netns", "add", p.NsB},
		{"link", "add", p.A, "netns", p.NsA, "address", p.MacA.String(), "numtxqueues", "1", "numrxqueues", "1",
			"type", "veth", "peer", "name", p.B, "netns", p.NsB, "address", p.MacB.String(), "numtxqueues", "1", "numrxqueues", "1"},
		{"-n", p.NsA, "link", "set", "lo", "up"},
		{"-n", p.NsB, "link", "set", "lo", "up"},
		{"-n", p.NsA, "addr", "add", p.IPA.String() + "/24", "dev", p.A},
		{"-n", p.NsB, "addr", "add", p.IPB.String() + "/24", "dev", p.B},
		{"-n", p.NsA, "neigh", "replace", p.IPB.String(), "lladdr", p.MacB.String(), "dev", p.A, "nud", "permanent"},
		{"-n", p.NsB, "neigh", "replace", p.IPA.String(), "lladdr", p.MacA.String(), "dev", p.B, "nud", "permanent"},
		// No IPv6 link-local address: no DAD or router solicitations
		// arriving in the tests' sockets.
		{"-n", p.NsA, "link", "set", p.A, "addrgenmode", "none"},
		{"-n", p.NsB, "link", "set", p.B, "addrgenmode", "none"},
		{"-n", p.NsA, "link", "set", p.A, "up"},
		{"-n", p.NsB, "link", "set", p.B, "up"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return p
}

// removeStale deletes the namespaces of earlier test processes that died
// without cleaning up (a test binary killed by its timeout): names are
// "nmxs" + the process id in base 36 + "-" + a counter + "a" or "b". (With
// an "x" there, as before, a process id with an x in base 36 was read
// short, and a running test's namespaces were deleted under it by another
// test process.)
func removeStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(line, " ")
		pid, ok := owner(name)
		if !ok {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.FormatInt(pid, 10)); os.IsNotExist(err) {
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

// owner returns the id of the process that made the namespace or link
// name, if NewPair named it.
func owner(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, "nmxs")
	if !ok {
		return 0, false
	}
	pid36, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.ParseInt(pid36, 36, 64)
	return pid, ok && err == nil
}

// Remove deletes the namespaces (and with them the veth pair).
func (p *Pair) Remove() {
	_ = exec.Command("ip", "netns", "del", p.NsA).Run()
	_ = exec.Command("ip", "netns", "del", p.NsB).Run()
}

// In runs f on an OS thread that has joined the network namespace ns, and
// returns the thread to the test's namespace after. Sockets and XDP
// attachments made by f belong to ns, wherever they are used later.
func In(ns string, f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it ends with the goroutine.
		return fmt.Errorf("setns back from %s: %w", ns, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Cmd returns a command that runs name in the namespace ns.
func Cmd(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// XDP returns the XDP part of `ip link show` for link dev in namespace ns
// ("" when no program is attached), e.g. "prog/xdp id 42 name nmgo_xsk".
func XDP(t testing.TB, ns, dev string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-d", "link", "show", "dev", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s link show %s: %v: %s", ns, dev, err, out)
	}
	var parts []string
	for _, line := range bytes.Split(out, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if strings.HasPrefix(l, "prog/xdp") || strings.Contains(l, " xdp ") || strings.Contains(l, " xdpgeneric") || strings.Contains(l, " xdpdrv") {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// FDs returns the number of open file descriptors of the process.
func FDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the directory being read
}

// SocketMaps returns the lines of /proc/self/maps that map a socket (the
// AF_XDP rings show as such).
func SocketMaps(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "socket:") || strings.Contains(l, "XDP") || strings.Contains(l, "xdp") {
			out = append(out, l)
		}
	}
	return out
}
