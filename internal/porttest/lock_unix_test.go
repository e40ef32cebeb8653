//go:build unix

package porttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

const childEnv = "PORTTEST_LOCKED"

// Another process cannot reserve a port of a run this one holds: the
// record lock on the lock file excludes it (TestLockedChild, run in a
// child process, tries). The run must bind, too, which an older lock
// would not change: the check alone let a second test process take the
// ports between this one's check and its bind. The run is still locked
// after another run of this process was taken and given back (by a
// subtest, as its end gives it back): closing a descriptor of the lock
// file, as a lock file opened per run would, drops all of the process's
// record locks on it, and an unlock of the whole file would drop them
// too, and then the child gets the run.
func TestLockedAcrossProcesses(t *testing.T) {
	if lockFile() == nil {
		t.Skip("no lock file in", os.TempDir())
	}
	p := UDP(t, 4)
	t.Run("another", func(t *testing.T) { UDP(t, 2) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockedChild$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", childEnv, p))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestLockedChild")) {
		t.Fatalf("the child did not run TestLockedChild:\n%s", out)
	}
}

// TestLockedChild is TestLockedAcrossProcesses's child: the ports from
// $PORTTEST_LOCKED on are its parent's, and it must not get them.
func TestLockedChild(t *testing.T) {
	env := os.Getenv(childEnv)
	if env == "" {
		t.Skip("run by TestLockedAcrossProcesses")
	}
	var p int
	if _, err := fmt.Sscan(env, &p); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ p, n int }{{p, 1}, {p + 3, 1}, {p - 2, 3}, {p + 1, 2}} {
		unlock, err := lockRange(r.p, r.n)
		if err == nil {
			unlock()
			t.Errorf("locked %d..%d, which overlaps the parent's %d..%d", r.p, r.p+r.n-1, p, p+3)
		} else if !errors.Is(err, errHeld) {
			t.Errorf("lock of %d..%d: %v, want %v", r.p, r.p+r.n-1, err, errHeld)
		}
	}
	if _, ok := claimHost(p+1, 1); ok {
		t.Errorf("claimed port %d, the parent's", p+1)
	}
}
