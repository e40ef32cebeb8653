package st2110

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A UDP receiver's socket has the receive buffer ListenConfig.ReadBuffer
// asks for (set before its bind): Linux reports twice the octets asked,
// beyond net.core.rmem_max where the process may (SO_RCVBUFFORCE), else
// up to it. (Package syscall: the tests here do not import x/sys/unix.)
func TestUDPReadBuffer(t *testing.T) {
	const asked = 6 << 20
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	p := freePort(t)
	rx, err := Listen("udp", session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), "")), &ListenConfig{ReadBuffer: asked})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	rc, err := rx.tr.(*udpRx).socks[0].conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) { got, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) }); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	// May this process go beyond rmem_max? Ask on a socket of its own.
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	force := syscall.SetsockoptInt(s, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, asked) == nil
	syscall.Close(s)
	want := 2 * asked
	if !force {
		want = 2 * min(asked, rmemMax)
	}
	if got != want {
		t.Errorf("SO_RCVBUF %d, want %d (asked %d, rmem_max %d, SO_RCVBUFFORCE allowed: %v)", got, want, asked, rmemMax, force)
	}
}

// A UDP receiver's sockets carry the kernel's receive time of each
// datagram, read as UTC ns, in a 32-bit program too: there the old
// SCM_TIMESTAMPNS is two int32, which parseControl once ignored (it wanted
// 16 octets), leaving every datagram without a time.
func TestUDPReceiveTime(t *testing.T) {
	lc := net.ListenConfig{Control: socketOptions}
	pc, err := lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	conn := pc.(*net.UDPConn)
	before := time.Now()
	tx, err := net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if _, err := tx.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, oob := make([]byte, 16), make([]byte, 256)
	_, oobn, _, _, err := conn.ReadMsgUDP(b, oob)
	if err != nil {
		t.Fatal(err)
	}
	_, ts := parseControl(oob[:oobn], netip.IPv4Unspecified())
	after := time.Now()
	if ts < before.Add(-time.Second).UnixNano() || ts > after.Add(time.Second).UnixNano() {
		t.Errorf("receive time %d (%v), want between %v and %v (%d control octets)", ts, time.Unix(0, ts), before, after, oobn)
	}
}
