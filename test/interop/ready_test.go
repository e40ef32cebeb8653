package interop

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// headStart waits until the receiver rx, if it is a process (a peer or
// nmbench), has a UDP socket on port and, for a multicast group, has joined
// it in its network namespace, as its /proc/PID/net files show; then a
// little longer, for it to reach its read loop. A fixed head start was not
// enough on a busy machine: ffmpeg sometimes joined after the first frame
// had gone by. A receiver in this process (st2110.Listen, the video
// package) has its socket before its constructor returns and needs no wait.
func headStart(t testing.TB, rx any, port int, group string) {
	t.Helper()
	var p *proc
	switch r := rx.(type) {
	case *proc:
		p = r
	case *cliReceiver:
		p = r.p
	default:
		return
	}
	const limit = 30 * time.Second
	deadline := time.Now().Add(limit)
	for {
		bound, joined := p.listening(port, group)
		if bound && joined {
			break
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before it received anything: %v\n%s", p.name, p.err, tail(p.out.Bytes(), 25))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no UDP socket on port %d (%v) or no join of %q (%v) after %v", p.name, port, bound, group, joined, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
}

// listening reports whether p's network namespace has a UDP socket bound
// to port (IPv4 or IPv6), and whether it is a member of group ("" for
// none).
func (p *proc) listening(port int, group string) (bound, joined bool) {
	dir := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/net/"
	hexPort := fmt.Sprintf(":%04X ", port)
	for _, f := range []string{"udp", "udp6"} {
		b, _ := os.ReadFile(dir + f)
		for _, line := range strings.Split(string(b), "\n") {
			// sl local_address rem_address ...: the local address is the second field.
			if fs := strings.Fields(line); len(fs) > 2 && strings.HasSuffix(fs[1]+" ", hexPort) {
				bound = true
			}
		}
	}
	if group == "" {
		return bound, true
	}
	a, err := netip.ParseAddr(group)
	if err != nil || !a.Is4() {
		return bound, false
	}
	// /proc/net/igmp lists groups as the address in host (little-endian) order.
	g := a.As4()
	want := fmt.Sprintf("%02X%02X%02X%02X", g[3], g[2], g[1], g[0])
	b, _ := os.ReadFile(dir + "igmp")
	for _, line := range strings.Split(string(b), "\n") {
		if fs := strings.Fields(line); len(fs) > 0 && fs[0] == want {
			joined = true
		}
	}
	return bound, joined
}
