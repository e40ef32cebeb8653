//go:build unix

package porttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	if err := lockFileErr(); err != nil {
		if os.Getenv("NMTEST_REQUIRE") == "1" {
			t.Fatal("NMTEST_REQUIRE=1 but no lock file, so no reservation across processes:", err)
		}
		t.Skip("no lock file, so no reservation across processes:", err)
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
	if _, err := claimHost(p+1, 1); err == nil {
		t.Errorf("claimed port %d, the parent's", p+1)
	}
}

// The lock file's name is fixed and guessable, in a directory anyone may
// write, and tests run as root: what another user planted there is not
// followed, nor changed, nor used. Before, the open followed a symbolic
// link, made its target if there was none, and made it world-writable.
func TestLockFilePlanted(t *testing.T) {
	for _, c := range []struct {
		name  string
		plant func(t *testing.T, name, target string)
	}{
		{"symlink", func(t *testing.T, name, target string) {
			if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, name); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling symlink", func(t *testing.T, name, target string) {
			if err := os.Symlink(target, name); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, name, target string) {
			if err := syscall.Mkfifo(name, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, name, target string) {
			if err := os.Mkdir(name, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			name, target := filepath.Join(dir, lockName), filepath.Join(dir, "target")
			c.plant(t, name, target)
			before, beforeErr := os.Stat(target)
			f, err := openLockFile(dir)
			if err == nil {
				f.Close()
				t.Errorf("opened %s, a %s", name, c.name)
			} else {
				t.Log(err)
			}
			after, afterErr := os.Stat(target)
			switch {
			case beforeErr != nil && afterErr == nil:
				t.Errorf("made the link's target %s (%v)", target, after.Mode())
			case beforeErr == nil && after.Mode() != before.Mode():
				t.Errorf("the link's target's mode is %v, was %v", after.Mode(), before.Mode())
			}
			if b, err := os.ReadFile(target); beforeErr == nil && err == nil && string(b) != "secret" {
				t.Errorf("the link's target holds %q, held %q", b, "secret")
			}
		})
	}
}

// The lock file is made, world-writable for other users' tests, and
// opened again as it is.
func TestLockFileMade(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		f, err := openLockFile(dir)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		fi, err := os.Lstat(filepath.Join(dir, lockName))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o666 {
			t.Errorf("lock file's mode %v, want %v", fi.Mode(), os.FileMode(0o666))
		}
	}
}

// With fs.protected_regular (systemd's default), an O_CREAT open of an
// existing file in a sticky world-writable directory fails, even for
// root, unless the file is the opener's or the directory owner's: another
// user's lock file in /tmp. It is opened all the same. The test makes
// such a file, so it needs root and the sysctl set.
func TestLockFileOthers(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/protected_regular")
	if err != nil {
		t.Skip("no fs.protected_regular:", err)
	}
	if v, _ := strconv.Atoi(strings.TrimSpace(string(b))); v < 1 {
		t.Skip("fs.protected_regular is", v, "(0 lets O_CREAT open another user's file)")
	}
	if os.Geteuid() != 0 {
		t.Skip("making another user's file needs root")
	}
	dir := t.TempDir()
	name := filepath.Join(dir, lockName)
	if err := os.WriteFile(name, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	// Nobody's directory, sticky and world-writable like /tmp, holding
	// another user's file.
	for _, c := range []struct {
		name string
		uid  int
		mode os.FileMode
	}{{name, 65533, 0o666}, {dir, 65534, 0o777 | os.ModeSticky}} {
		if err := os.Chown(c.name, c.uid, c.uid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(c.name, c.mode); err != nil {
			t.Fatal(err)
		}
	}
	f, err := openLockFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
