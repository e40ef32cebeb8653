package capture

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/st2110"
)

// TestListenContextWriteLease: a capture that is a regular file under
// another's write lease is opened as os.Open opens it, waiting for the
// lease to break, not with an O_NONBLOCK open, which fails at once with
// EAGAIN. The test holds a write lease on a capture, waits until
// ListenContext's open has begun to break it (F_GETLEASE then reports
// the read lease it is being broken to), and only then gives the lease
// up: ListenContext must then succeed. No timing is assumed; a hang is
// failed after 10 s (a bound, not a speed), and the lease's break time
// (/proc/sys/fs/lease-break-time, 45 s by default) ends one too.
func TestListenContextWriteLease(t *testing.T) {
	name := filepath.Join(t.TempDir(), "leased.pcap")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := packet.NewPcapWriterNanos(f, 0); err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_WRLCK); err != nil {
		// Leases may be off (/proc/sys/fs/leases-enable) or refused by
		// the file system (some overlay and network ones).
		if nmtest.Required() {
			t.Fatalf("NMTEST_REQUIRE=1 but no write lease on %s: %v", name, err)
		}
		t.Skipf("no write lease on %s: %v", name, err)
	}
	sess := session()
	errc := make(chan error, 1)
	go func() {
		rx, err := st2110.ListenContext(context.Background(), "pcap:"+name, sess, nil)
		if err == nil {
			rx.Close()
		}
		errc <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		typ, err := unix.FcntlInt(uintptr(fd), unix.F_GETLEASE, 0)
		if err != nil {
			t.Fatal(err)
		}
		if typ != unix.F_WRLCK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ListenContext's open has not begun to break the write lease after 10 s")
		}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("ListenContext of a capture whose write lease is given up once its open waits for that: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenContext still waits after the write lease was given up")
	}
}
