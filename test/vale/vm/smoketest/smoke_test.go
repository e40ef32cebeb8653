// Package smoketest checks the VM runner in test/vale/vm itself: that the
// guest has /dev/netmap, netmap's tools and a writable working directory,
// and that a failing test makes the runner fail. It uses the standard
// library and internal/nmtest only.
//
//	test/vale/vm/run --pkg ./test/vale/vm/smoketest           # passes
//	test/vale/vm/run --pkg ./test/vale/vm/smoketest -- -fail  # must fail
//
// On a host without /dev/netmap the tests skip, unless NMTEST_REQUIRE=1 is
// set (the runner sets it in the guest), in which case they fail.
package smoketest

import (
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/internal/nmtest"
)

var fail = flag.Bool("fail", false, "make TestFailOnPurpose fail, to check that the VM runner reports a failing test")

const device = nmtest.Device

func TestNetmapDevice(t *testing.T) {
	nmtest.Require(t)
	fi, err := os.Stat(device)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is %v, not a character device", device, fi.Mode())
	}
	f, err := os.OpenFile(device, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open %s: %v", device, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPktGenRuns(t *testing.T) {
	nmtest.Require(t)
	pg := nmtest.Tool(t, "NMTEST_PKTGEN")
	out, err := exec.Command(pg, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -h: %v\n%s", pg, err, out)
	}
	if !strings.Contains(string(out), "pkt-gen") {
		t.Fatalf("%s -h printed no usage:\n%s", pg, out)
	}
}

// TestValeCtlPersistentPort creates a persistent VALE port, attaches it to a
// switch, sees it in vale-ctl's listing and removes it again: the module is
// loaded and VALE works.
func TestValeCtlPersistentPort(t *testing.T) {
	nmtest.Require(t)
	vc := nmtest.Tool(t, "NMTEST_VALECTL")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(vc, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("vale-ctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("-n", "smk0")
	defer run("-r", "smk0")
	run("-a", "valesmk:smk0")
	defer run("-d", "valesmk:smk0")
	// vale-ctl with no arguments lists the ports and exits 1 when its
	// listing loop runs off the end, so only its output counts.
	list, _ := exec.Command(vc).CombinedOutput()
	if !strings.Contains(string(list), "valesmk:smk0") {
		t.Fatalf("vale-ctl lists no valesmk:smk0:\n%s", list)
	}
}

func TestWritableWorkDir(t *testing.T) {
	if err := os.WriteFile("smoke.txt", []byte("ok\n"), 0o644); err != nil {
		t.Fatalf("working directory is not writable: %v", err)
	}
	if err := os.Remove("smoke.txt"); err != nil {
		t.Fatal(err)
	}
}

func TestFailOnPurpose(t *testing.T) {
	if *fail {
		t.Fatal("failing on purpose (-fail was given)")
	}
}
