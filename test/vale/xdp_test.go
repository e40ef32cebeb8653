//go:build linux

package vale_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/xsk"
	"golang.org/x/sys/unix"
)

// TestXDPVeth runs the AF_XDP path on the VM's kernel (Debian's 6.1, older
// than the host's): on a veth pair made in the guest, the redirect program
// attaches in native and in generic mode, a TX budget (Linux 6.17 and
// later) is refused with ErrNotSupported on an older kernel and nmbench
// falls back to the kernel's, and nmbench txseq -> rxseq over AF_XDP (copy
// mode) delivers every frame once and in order at 60 and 1500 octets.
// It runs where the VM's tests run (it needs /dev/netmap only to know it
// is in the VM: it makes links in the root namespace, which a host test
// must not).
func TestXDPVeth(t *testing.T) {
	nmtest.Require(t)
	nb := nmtest.Tool(t, "NMTEST_NMBENCH")
	const a, b = "nmx3va", "nmx3vb"
	const macA, macB = "02:00:00:00:3a:0a", "02:00:00:00:3a:0b"
	sh(t, "ip", "link", "add", a, "type", "veth", "peer", "name", b)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", a).Run() })
	if _, err := os.Stat("/sys/class/net/" + b); err != nil {
		// busybox ip names the peer veth0 whatever "peer name" says.
		sh(t, "ip", "link", "set", "veth0", "name", b)
	}
	for _, l := range [][2]string{{a, macA}, {b, macB}} {
		// No IPv6 on the pair: no router solicitation lands in rxseq.
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+l[0]+"/disable_ipv6", []byte("1"), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		sh(t, "ip", "link", "set", l[0], "address", l[1])
		sh(t, "ip", "link", "set", l[0], "up")
	}

	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	t.Logf("kernel %s", release)

	// The program attaches in either mode; Close detaches it, so the
	// second mode finds the interface free.
	for _, mode := range []xsk.XDPMode{xsk.XDPNative, xsk.XDPGeneric} {
		s, err := xsk.Open(b, &xsk.Config{RxOnly: true, XDP: mode})
		if err != nil {
			t.Fatalf("%v mode on %s: %v", mode, release, err)
		}
		if got := s.Info().XDP; got != mode {
			t.Errorf("asked for %v, attached %v", mode, got)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}

	// The TX budget: refused before 6.17 with ErrNotSupported (which is
	// what nmbench and st2110 fall back on), taken after.
	s, err := xsk.Open(a, &xsk.Config{TxOnly: true, TxBudget: 256})
	old := kernelBefore(release, 6, 17)
	switch {
	case old && !errors.Is(err, xsk.ErrNotSupported):
		t.Fatalf("TX budget on %s: %v, want an error matching ErrNotSupported", release, err)
	case old:
		t.Logf("TX budget on %s: %v", release, err)
	case err != nil:
		t.Fatalf("TX budget on %s: %v", release, err)
	default:
		s.Close()
	}

	for _, c := range []struct{ size, n int }{{60, 50000}, {1500, 10000}} {
		n := strconv.Itoa(c.n)
		stop := start(t, nb, "-i", "xdp:"+b, "-f", "rxseq", "-n", n, "-t", "60s", "-q", "-json")
		// -R: a receiver that the scheduler keeps off the CPU in real
		// time (two vCPUs) must not find its ring full.
		tx, err := exec.Command(nb, "-i", "xdp:"+a, "-f", "txseq", "-n", n, "-l", strconv.Itoa(c.size), "-R", "25000",
			"-D", macB, "-s", "10.9.3.1:9", "-d", "10.9.3.2:9", "-q", "-json").CombinedOutput()
		if err != nil {
			stop()
			t.Fatalf("txseq: %v: %s", err, tx)
		}
		rx := lastJSON(t, stop())
		t.Logf("%d octets: txseq %s; rxseq packets %d lost %v duplicated %v reordered %v",
			c.size, strings.TrimSpace(string(tx)), rx.Packets, deref(rx.Lost), deref(rx.Dup), deref(rx.Reordered))
		if rx.Packets != uint64(c.n) || rx.Lost == nil || *rx.Lost != 0 || *rx.Dup != 0 || *rx.Reordered != 0 {
			t.Errorf("%d octets: rxseq got %d of %d, lost %v, duplicated %v, reordered %v",
				c.size, rx.Packets, c.n, deref(rx.Lost), deref(rx.Dup), deref(rx.Reordered))
		}
	}
}

// kernelBefore reports whether release (uname -r) is older than
// major.minor.
func kernelBefore(release string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma < major || ma == major && mi < minor
}
