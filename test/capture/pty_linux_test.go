package capture

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nmgo/nmgo/internal/nmtest"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/st2110"
)

// openPty opens a pseudo-terminal: its master, and the path of its
// slave, in raw mode (bytes written to the master are read from the slave
// as they are). The test skips where there is none (no /dev/ptmx, or no
// slave for it), unless NMTEST_REQUIRE=1, and fails on any other error.
func openPty(t *testing.T) (master *os.File, slave string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		skipIfMissing(t, err)
		t.Fatalf("pty: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave = fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(slave, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		skipIfMissing(t, err)
		t.Fatalf("pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	// cfmakeraw(3)
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// skipIfMissing skips t if err says a file is missing (fs.ErrNotExist),
// unless NMTEST_REQUIRE=1, which fails it.
func skipIfMissing(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, fs.ErrNotExist) {
		return
	}
	if nmtest.Required() {
		t.Fatalf("NMTEST_REQUIRE=1 but no pty: %v", err)
	}
	t.Skipf("no pty: %v", err)
}

// waitReading waits until a goroutine is in st2110's read of a capture,
// waiting (in the netpoller or in a system call).
func waitReading(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			head, _, _ := strings.Cut(g, "\n")
			if (strings.Contains(head, "[IO wait") || strings.Contains(head, "[syscall")) && strings.Contains(g, "st2110.(*pcapRx).read(") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine waits in the capture's read after 10 s:\n%s", buf[:n])
		}
	}
}

// TestListenPtyClose: a capture that is a tty (a pty's slave, in raw
// mode, whose master writes the capture's header and then nothing) is read
// as os.Open leaves a tty, in the netpoller: Receiver.Close ends the
// reader's wait for packets and returns. A hang is failed after 10 s (a
// bound on a hang, not a speed); the master's close then ends the read.
func TestListenPtyClose(t *testing.T) {
	master, slave := openPty(t)
	sess := session()
	if _, err := packet.NewPcapWriterNanos(master, 0); err != nil {
		t.Fatal(err)
	}
	rx, err := st2110.Listen("pcap:"+slave, sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitReading(t)
	done := make(chan error, 1)
	go func() { done <- rx.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		master.Close()
		<-done
		t.Fatal("Receiver.Close still waits for the reader, blocked in the read of a tty, after 10 s")
	}
}
