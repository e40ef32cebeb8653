//go:build unix

package st2110

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// A datagram read whole has its length; one longer than the buffer is
// cut to it and has a wire one longer (MSG_TRUNC: on Linux as on the
// other systems readMsg serves); each has its source and its destination
// from the control messages (IP_PKTINFO here, as listenUDP asks for it).
// The reads allocate nothing.
func TestReadMsg(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		lo, network := "127.0.0.1", "udp4"
		if v6 {
			lo, network = "::1", "udp6"
		}
		s, err := listenUDP(0, v6, 1<<20)
		if err != nil {
			if v6 {
				t.Logf("no IPv6: %v", err)
				continue
			}
			t.Fatal(err)
		}
		defer s.conn.Close()
		// A datagram lost (a receive buffer smaller than asked for, as
		// a user without CAP_NET_ADMIN gets) fails the test, not hangs it.
		if err := s.conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
			t.Fatal(err)
		}
		port := uint16(s.conn.LocalAddr().(*net.UDPAddr).Port)
		tx, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(lo)})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		to := netip.AddrPortFrom(netip.MustParseAddr(lo), port)
		from := tx.LocalAddr().(*net.UDPAddr).AddrPort()
		buf, oob := make([]byte, 1000), make([]byte, controlLen)
		for _, size := range []int{1, 999, 1000, 1001, 5000} {
			if _, err := tx.WriteToUDPAddrPort(make([]byte, size), to); err != nil {
				t.Fatal(err)
			}
			n, wire, src, dst, err := readMsg(s.conn, buf, oob, 4242)
			if err != nil {
				t.Fatal(err)
			}
			wantN, wantWire := size, size
			if size > len(buf) {
				wantN, wantWire = len(buf), len(buf)+1
			}
			if n != wantN || wire != wantWire {
				t.Errorf("%s, %d octets: read %d, wire %d; want %d, %d", network, size, n, wire, wantN, wantWire)
			}
			if src != from || dst != netip.AddrPortFrom(to.Addr(), 4242) {
				t.Errorf("%s, %d octets: from %v to %v; want from %v to %v:4242", network, size, src, dst, from, to.Addr())
			}
		}
		// Sent first, all of them: 41 datagrams of 2000 octets fit the
		// smallest receive buffer a user gets (net.core.rmem_max 212992
		// by default, doubled: some 97 of them).
		const runs = 40
		for range runs + 1 {
			if _, err := tx.WriteToUDPAddrPort(make([]byte, 2000), to); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(runs, func() {
			if _, wire, _, _, err := readMsg(s.conn, buf, oob, 4242); err != nil || wire != len(buf)+1 {
				t.Fatalf("wire %d, %v", wire, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per datagram", network, allocs)
		}
	}
}

// Windows reports a datagram longer than the buffer as the error
// WSAEMSGSIZE, wrapped as package net wraps it: that is a cut datagram,
// and only where errMsgSize names it (here, on Unix, no errno is one).
func TestIsCut(t *testing.T) {
	const wsaeMsgSize = syscall.Errno(10040)
	win := &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("wsarecvfrom", wsaeMsgSize)}
	if !isCut(win, wsaeMsgSize) {
		t.Errorf("isCut(%v) on Windows: false", win)
	}
	if isCut(win, errMsgSize) {
		t.Errorf("isCut(%v) outside Windows: true", win)
	}
	for _, err := range []error{
		nil,
		&net.OpError{Op: "read", Net: "udp", Err: os.ErrDeadlineExceeded},
		&net.OpError{Op: "read", Net: "udp", Err: net.ErrClosed},
		&net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("wsarecvfrom", syscall.Errno(10054))},
		errors.New("wsarecvfrom: 10040"),
	} {
		if isCut(err, wsaeMsgSize) {
			t.Errorf("isCut(%v) on Windows: true", err)
		}
	}
}
