package st2110

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/video"
)

// dupFlows are pcapFlows with a second leg for the first two flows; the
// third goes to the same address on both paths.
func dupFlows() *video.Session {
	s := pcapFlows()
	s.Streams[0].Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5004")}
	s.Streams[1].Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.2:5008"), Source: netip.MustParseAddr("10.1.0.1")}
	return s
}

// filterCapture copies capture name to a new file without the packets
// (counted from 0) that drop says.
func filterCapture(t testing.TB, name string, drop func(i int) bool) string {
	t.Helper()
	in, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := packet.NewPcapReader(in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(65535, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			break
		}
		if drop(i) {
			continue
		}
		ci = gopacket.CaptureInfo{Timestamp: ci.Timestamp, CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), fmt.Sprintf("filtered-%p.pcap", drop))
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// A sender with a second path writes the same packets into two
// captures, each to its leg's address, and describes the pair in its SDP
// (a=group:DUP); a receiver of the two captures, each with different
// packets removed, gives every frame byte for byte, none lost, and says
// which path brought what. With packets removed from both, exactly those
// are lost.
func TestDupPcap(t *testing.T) {
	sess := dupFlows()
	const n = 4
	frames := [][]byte{randomFrames(fmtSmall, n, 1), randomFrames(fmtSmall, n, 2), randomFrames(fmtSD, n, 3)}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	tx := sendCapture(t, "pcap:"+a, sess, &SendConfig{Sources: loops(t, sess, frames), Count: n, Second: "pcap:" + b})
	sdp, err := tx.SDP()
	if err != nil {
		t.Fatal(err)
	}
	if c := strings.Count(string(sdp), "a=group:DUP "); c != 3 {
		t.Errorf("%d DUP groups in\n%s", c, sdp)
	}
	back, err := video.ParseSDP(sdp)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Streams) != 3 || back.Streams[0].Second.Dst != sess.Streams[0].Second.Dst ||
		back.Streams[1].Second.Source != netip.MustParseAddr("10.1.0.1") || back.Streams[2].Second.Dst != sess.Streams[2].Dst {
		t.Errorf("the SDP read back: %+v", back.Streams)
	}
	total := 0
	for k := range frames {
		total += int(tx.Stats(k).Packets)
		if tx.Skipped(k) != 0 {
			t.Errorf("flow %d: %d packets skipped on the second path", k, tx.Skipped(k))
		}
	}

	listen := func(a, b string) (*Receiver, [][]byte) {
		rx, err := Listen("pcap:"+a, back, &ListenConfig{Second: "pcap:" + b})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rx.Close() })
		if rx.Paths() != 2 {
			t.Fatalf("%d paths", rx.Paths())
		}
		got := make([][]byte, len(frames))
		for f, err := range rx.Frames(context.Background()) {
			if err != nil {
				t.Fatal(err)
			}
			if f.Info.Paths[0]+f.Info.Paths[1] != f.Info.Packets {
				t.Errorf("flow %d: frame %+v", f.Flow, f.Info)
			}
			got[f.Flow] = append(got[f.Flow], f.Data...)
		}
		return rx, got
	}

	t.Run("different", func(t *testing.T) {
		ca := filterCapture(t, a, func(i int) bool { return i%7 == 3 })
		cb := filterCapture(t, b, func(i int) bool { return i%11 == 5 && i%7 != 3 })
		rx, got := listen(ca, cb)
		var p0, p1 uint64
		for k := range frames {
			if !bytes.Equal(got[k], frames[k]) {
				t.Errorf("flow %d: %d octets differ from the %d sent", k, len(got[k]), len(frames[k]))
			}
			st := rx.Stats(k)
			if st.Delivered != n || st.Lost != 0 || st.Late != 0 || st.Complete != n {
				t.Errorf("flow %d: %+v", k, st.RxStats)
			}
			ps0, ps1 := rx.PathStats(k, 0), rx.PathStats(k, 1)
			if ps0.Taken+ps1.Taken != st.Packets || ps0.Taken == 0 || ps1.Taken == 0 || ps0.Lost == 0 || ps1.Lost == 0 {
				t.Errorf("flow %d: paths %+v, %+v", k, ps0, ps1)
			}
			p0, p1 = p0+ps0.Packets, p1+ps1.Packets
			t.Logf("flow %d: %+v; path 0 %+v; path 1 %+v; %v", k, st.RxStats.Stats, ps0, ps1, rx.Skew(k))
		}
		if int(p0) != total-(total+3)/7 || rx.Other() != 0 {
			t.Errorf("path 0 brought %d of %d packets; %d of no flow", p0, total, rx.Other())
		}
	})

	t.Run("common", func(t *testing.T) {
		// Both lose packet 40 (in the middle of flow 2's first frame,
		// the only flow with more than 32 packets a frame), each loses
		// others too.
		common := func(i int) bool { return i == 40 }
		ca := filterCapture(t, a, func(i int) bool { return common(i) || i%9 == 2 })
		cb := filterCapture(t, b, func(i int) bool { return common(i) || i%13 == 4 && i%9 != 2 })
		rx, got := listen(ca, cb)
		var lost uint64
		for k := range frames {
			st := rx.Stats(k)
			lost += st.Lost
			if st.Delivered != n {
				t.Errorf("flow %d: %+v", k, st.RxStats)
			}
			if k != 2 && !bytes.Equal(got[k], frames[k]) {
				t.Errorf("flow %d differs", k)
			}
		}
		if lost != 1 || rx.Stats(2).Lost != 1 || rx.Stats(2).Complete != n-1 {
			t.Errorf("%d lost over the flows, flow 2 %+v; want packet 40 of the capture, of flow 2", lost, rx.Stats(2).RxStats)
		}
	})
}

// twoLegs returns a session of one flow of format f with two legs, to
// addresses a and b on two free ports.
func twoLegs(t testing.TB, f video.Format, a, b string) *video.Session {
	p, q := freePort(t), freePort(t) // two: a port is not handed out twice
	f0 := flow(f, fmt.Sprintf("%s:%d", a, p), "")
	f0.Second = video.Leg{Dst: netip.MustParseAddrPort(fmt.Sprintf("%s:%d", b, q))}
	return session("", f0)
}

// Over UDP on the loopback interface, a sender with two paths and a
// receiver of both: each path to its own address; the frames arrive
// byte for byte and every packet twice.
func TestDupUDPLoopback(t *testing.T) {
	sess := twoLegs(t, fmtSD, "127.0.0.1", "127.0.0.2")
	const n = 3
	frames := randomFrames(fmtSD, n, 9)
	rx, err := Listen("udp", sess, &ListenConfig{Second: "udp", MergeWindow: video.SkewClassB})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := Dial("udp", sess, &SendConfig{Source: loopOf(t, fmtSD, frames), Count: n, MaxRate: 100e3, Second: "udp", MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	wait := runSender(t, tx)
	got := collect(t, rx, n, 20*time.Second)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0], frames) {
		t.Fatalf("%d octets, not the %d sent; %+v", len(got[0]), len(frames), rx.Stats(0))
	}
	// The last packets' second copies may not have been read yet: wait
	// (at most 10 s) for the counts of both paths to hold every copy
	// sent (published at least every publishEvery, idle or not), or the
	// test would ask the host to read them within some time.
	sent := tx.Stats(0).Packets
	for deadline := time.Now().Add(10 * time.Second); rx.PathStats(0, 0).Packets+rx.PathStats(0, 1).Packets < 2*sent && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	rx.Close() // the final counts
	st := rx.Stats(0)
	ps0, ps1 := rx.PathStats(0, 0), rx.PathStats(0, 1)
	if st.Lost != 0 || ps0.Packets+ps1.Packets != 2*st.Packets || st.Duplicates != st.Packets || st.Packets != sent {
		t.Errorf("%+v; %+v; %+v; %d sent", st.RxStats, ps0, ps1, sent)
	}
	t.Logf("%+v; %+v; %+v; %v", st.RxStats.Stats, ps0, ps1, rx.Skew(0))
}

// Configurations a receiver or sender of two paths refuses.
func TestDupErrors(t *testing.T) {
	sess := dupFlows()
	for _, c := range []struct {
		cfg  *ListenConfig
		want string
	}{
		{&ListenConfig{MergeWindow: time.Millisecond}, "listen pcap:/nonexistent: ListenConfig.MergeWindow without a Second"},
		{&ListenConfig{Second: "pcap:x", MergeWindow: 2 * time.Second}, "listen pcap:/nonexistent: ListenConfig.MergeWindow 2s outside"},
		{&ListenConfig{Second: "bogus:"}, "bogus"},
	} {
		if _, err := Listen("pcap:/nonexistent", sess, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	noRate := session("", flow(fmtSmall, "239.1.1.1:5004", ""))
	noRate.Streams[0].Format.Rate = video.Rate{}
	if _, err := Listen("pcap:/nonexistent", noRate, &ListenConfig{Second: "pcap:y"}); err == nil || !strings.Contains(err.Error(), "frame rate") {
		t.Errorf("a flow without its rate: %v", err)
	}
	if _, err := Dial("pcap:"+filepath.Join(t.TempDir(), "a"), sess, &SendConfig{Count: 1, Second: "nope:"}); err == nil {
		t.Error("a bad second path: no error")
	}
}

// The receive path of two UDP paths allocates nothing per datagram or
// per frame: both paths' readers, the merge, the hand-over.
func TestDupUDPReceiveAllocs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("batched, allocation-free socket reads are Linux's (recvmmsg)")
	}
	p, q := freePort(t), freePort(t) // two: a port is not handed out twice
	f0 := flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), "")
	f0.Second = video.Leg{Dst: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", q))}
	sess := session("", f0)
	rx, err := Listen("udp", sess, &ListenConfig{Second: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	const rounds = 22
	all := rtpDatagrams(t, session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), "")), 2*rounds)
	per := len(all) / rounds
	second := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", q))
	conn, err := net.ListenUDP("udp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frames := drainFrames(rx)
	var sent uint64
	round := 0
	send := func() {
		for _, d := range all[round*per : (round+1)*per] {
			for _, dst := range []netip.AddrPort{d.dst, second} {
				if _, err := conn.WriteToUDPAddrPort(d.payload, dst); err != nil {
					t.Fatal(err)
				}
			}
			sent++
		}
		round++
		deadline := time.Now().Add(10 * time.Second)
		for rx.PathStats(0, 0).Packets < sent || rx.PathStats(0, 1).Packets < sent {
			if time.Now().After(deadline) {
				t.Fatalf("%d and %d of %d datagrams received; %+v; other %d", rx.PathStats(0, 0).Packets, rx.PathStats(0, 1).Packets, sent, rx.Stats(0).RxStats, rx.Other())
			}
			time.Sleep(time.Millisecond)
		}
	}
	send()
	if n := testing.AllocsPerRun(20, send); n != 0 {
		t.Errorf("%v allocations per round of %d datagrams on each of two paths", n, per)
	}
	if n := closeDrained(rx, frames); n == 0 {
		t.Error("no frames reached the consumer")
	}
	if st := rx.Stats(0); st.Delivered == 0 || st.Lost != 0 || st.Duplicates != st.Packets {
		t.Errorf("%+v", st.RxStats)
	}
}

// A Listen with a second path that fails after the merges are made (here
// a budget that holds the frame pools and the merges but not the
// readers' state) leaves no goroutine running and no socket open.
func TestDupListenFailureLeavesNothing(t *testing.T) {
	sess := twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.1")
	p, q := sess.Streams[0].Dst.Port(), sess.Streams[0].Second.Dst.Port()
	probe, err := video.NewBudget(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newReceiver("udp", sess, &ListenConfig{Second: "udp", Budget: probe}); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for range 5 {
		b, err := video.NewBudget(probe.Used()) // pools and merges, no more
		if err != nil {
			t.Fatal(err)
		}
		rx, err := Listen("udp", sess, &ListenConfig{Second: "udp", Budget: b})
		var be *video.BudgetError
		if !errors.As(err, &be) {
			if rx != nil {
				rx.Close()
			}
			t.Fatalf("Listen with a budget of %d: %v, want a *video.BudgetError", b.Limit(), err)
		}
	}
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > before && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before five failed Listens, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
	for _, port := range []uint16{p, q} {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv4Unspecified(), port)))
		if err != nil {
			t.Fatalf("port %d still taken: %v", port, err)
		}
		c.Close()
	}
}

// Two paths over one port, queue, capture or socket address are refused
// naming what they share: they would carry the same packets (and two
// writers of one capture would interleave their writes in one file).
func TestDupSamePath(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.pcap")
	p := freePort(t)
	one := session("127.0.0.1", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""))
	for _, c := range []struct{ first, second, want string }{
		{"udp", "udp", fmt.Sprintf("flow 0 goes to 127.0.0.1:%d on both paths", p)},
		{"udp:lo", "udp:lo", "over interface lo"},
		{"vale0:a", "vale0:a", "netmap port vale0:a"},
		{"netmap:eth9", "eth9", "netmap port eth9"},
		{"xdp:lo", "xdp:lo-0", "queue 0 of lo"},
		{"pcap:" + a, "pcap:" + a, "capture " + a},
		{"pcap:" + a, "pcap:" + dir + "/./a.pcap", "capture " + a},
	} {
		if c.first == "pcap:"+a {
			tx, err := Dial(c.first, one, &SendConfig{Count: 1, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}})
			if err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(tx.Run(context.Background()), tx.Close()); err != nil {
				t.Fatal(err)
			}
		}
		rx, err := Listen(c.first, one, &ListenConfig{Second: c.second})
		if err == nil {
			rx.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "second path "+c.second) {
			t.Errorf("Listen %s, second path %s: %v, want an error saying %q", c.first, c.second, err, c.want)
		}
		if strings.HasPrefix(c.first, "udp") {
			continue // Dial over UDP: below
		}
		tx, err := Dial(c.first, one, &SendConfig{Count: 1, Second: c.second, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}})
		if err == nil {
			tx.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Dial %s, second path %s: %v, want an error saying %q", c.first, c.second, err, c.want)
		}
	}
	name := fmt.Sprintf("udp:127.0.0.1:%d", p)
	tx, err := Dial(name, one, &SendConfig{Second: name})
	if err == nil {
		tx.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "on both paths") {
		t.Errorf("Dial %s twice: %v", name, err)
	}
	// Two interfaces, or two legs (on one interface, or in one capture
	// read twice), are two paths.
	two := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""))
	two.Streams[0].Second = video.Leg{Dst: netip.MustParseAddrPort(fmt.Sprintf("127.0.0.2:%d", p))}
	for _, c := range []struct {
		first, second string
		sess          *video.Session
	}{{"udp", "udp:lo", one}, {"udp", "udp", two}, {"pcap:" + a, "pcap:" + a, two}} {
		rx, err := Listen(c.first, c.sess, &ListenConfig{Second: c.second})
		if err != nil {
			t.Errorf("Listen %s, second path %s: %v", c.first, c.second, err)
			continue
		}
		rx.Close()
	}
}

// Two netmap names of one port whose ring sets overlap are one path, in
// every spelling of the port-name grammar (netmap's NR_REG_* modes): the
// whole NIC and one of its rings, the host rings and one of them, NIC and
// host ("*") and anything of the port, with or without "netmap:", with a
// memory region or flags that bind the same rings. Listen and Dial
// refuse them, naming the rings; names of different rings, ports, pipe
// ends or directions are two paths.
func TestDupSameNetmapRings(t *testing.T) {
	// Whatever NICs the host has: the fallback of a ring beyond a
	// direction's count is TestDupRingFallback's.
	defer func(f func(string) (nmsys.PortInfo, error)) { lookupPortInfo = f }(lookupPortInfo)
	lookupPortInfo = func(string) (nmsys.PortInfo, error) { return nmsys.PortInfo{}, errors.New("no port information") }
	one := session("", flow(fmtSmall, "239.1.1.1:5004", ""))
	for _, c := range []struct{ a, b, want string }{
		{"netmap:eth0", "netmap:eth0-0", "ring 0 of netmap port eth0"},
		{"netmap:eth0-3", "eth0", "ring 3 of netmap port eth0"},
		{"netmap:eth0-2", "netmap:eth0-2/x", "ring 2 of netmap port eth0"},
		{"netmap:eth0", "netmap:eth0@2", "the rings of netmap port eth0"},
		{"netmap:eth0/R", "netmap:eth0-1/R", "ring 1 of netmap port eth0"},
		{"netmap:eth0^", "netmap:eth0^1", "host ring 1 of netmap port eth0"},
		{"netmap:eth0^", "eth0^", "the host rings of netmap port eth0"},
		{"netmap:eth0*", "netmap:eth0", "the rings of netmap port eth0"},
		{"netmap:eth0*", "netmap:eth0^0", "host ring 0 of netmap port eth0"},
		{"netmap:eth0*", "eth0*", "the rings and the host rings of netmap port eth0"},
		{"vale0:a", "vale0:a-1", "ring 1 of netmap port vale0:a"},
		{"netmap:p{1", "netmap:p{1-0", "ring 0 of netmap port p{1"},
	} {
		for _, names := range [][2]string{{c.a, c.b}, {c.b, c.a}} {
			rx, err := Listen(names[0], one, &ListenConfig{Second: names[1]})
			if err == nil {
				rx.Close()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Listen %s, second path %s: %v, want an error saying %q", names[0], names[1], err, c.want)
			}
			tx, err := Dial(names[0], one, &SendConfig{Second: names[1]})
			if err == nil {
				tx.Close()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Dial %s, second path %s: %v, want an error saying %q", names[0], names[1], err, c.want)
			}
		}
	}
	for _, c := range [][2]string{
		{"netmap:eth0-0", "netmap:eth0-1"},
		{"netmap:eth0", "netmap:eth0^"},
		{"netmap:eth0-0", "netmap:eth0^0"},
		{"netmap:eth0^0", "netmap:eth0^1"},
		{"netmap:eth0", "netmap:eth1"},
		{"netmap:eth0", "netmap:eth0{1"},
		{"netmap:eth0{1", "netmap:eth0}1"},
		{"netmap:eth0/R", "netmap:eth0/T"},
		{"vale0:a", "vale0:b"},
		{"vale0:a", "vale1:a"},
	} {
		for _, names := range [][2]string{{c[0], c[1]}, {c[1], c[0]}} {
			a, errA := parseName(names[0])
			b, errB := parseName(names[1])
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			for _, send := range []bool{false, true} {
				if why := samePath(&a, &b, "", "", one.Streams, one.Streams, send); why != "" {
					t.Errorf("%s and %s (send %v): %s, want two paths", names[0], names[1], send, why)
				}
			}
		}
	}
}

// One ring of a direction that has fewer rings falls back to ring 0 (the
// kernel's rule for "-N" and "^N"): on a NIC of 4 RX rings and 1 TX ring,
// "eth0-0" and "eth0-3" are one TX ring to a sender, two RX rings to a
// receiver.
func TestDupRingFallback(t *testing.T) {
	defer func(f func(string) (nmsys.PortInfo, error)) { lookupPortInfo = f }(lookupPortInfo)
	lookupPortInfo = func(string) (nmsys.PortInfo, error) {
		return nmsys.PortInfo{RxRings: 4, TxRings: 1, HostRxRings: 1, HostTxRings: 2}, nil
	}
	checkSamePath(t, []samePathCase{
		{"netmap:eth0-0", "netmap:eth0-3", true, "ring 0 of netmap port eth0 (netmap:eth0-0 and netmap:eth0-3; the port has 1 TX rings: ring 3 falls back to ring 0)"},
		{"netmap:eth0-0", "netmap:eth0-3", false, ""},
		{"netmap:eth0-2", "netmap:eth0-3", true, "ring 0 of netmap port eth0"},
		{"netmap:eth0-1", "netmap:eth0-4", true, ""}, // 4 is no ring at all: the open fails
		{"netmap:eth0^0", "netmap:eth0^1", false, "host ring 0 of netmap port eth0"},
		{"netmap:eth0^0", "netmap:eth0^1", true, ""},
	})
}

// samePathCase is two paths' names, a sender's or a receiver's (send), and
// what samePath says of them: "" for two paths, else part of its reason.
type samePathCase struct {
	a, b string
	send bool
	want string
}

// checkSamePath checks samePath's verdict on each case's two paths, for a
// flow of one stream.
func checkSamePath(t *testing.T, cases []samePathCase) {
	t.Helper()
	one := session("", flow(fmtSmall, "239.1.1.1:5004", ""))
	for _, c := range cases {
		a, err := parseName(c.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := parseName(c.b)
		if err != nil {
			t.Fatal(err)
		}
		why := samePath(&a, &b, "", "", one.Streams, one.Streams, c.send)
		if c.want == "" && why != "" || !strings.Contains(why, c.want) {
			t.Errorf("%s and %s (send %v): %q, want %q", c.a, c.b, c.send, why, c.want)
		}
	}
}

// Two one-ring legs of a VALE port that the first path's "@conf:" creates
// are judged on the rings that port will have: with 1 RX ring and 2 TX
// rings, "-1" falls back to RX ring 0 for a receiver, the first path's
// ring. The port is looked up with the first path's counts, as the kernel
// creates a port that does not exist to answer (here, a kernel of default
// counts 1 and 1 but for the name's "@conf:"); before, it was looked up
// by its bare name, with the defaults, and the legs passed as two paths.
func TestDupRingFallbackConf(t *testing.T) {
	defer func(f func(string) (nmsys.PortInfo, error)) { lookupPortInfo = f }(lookupPortInfo)
	lookupPortInfo = func(name string) (nmsys.PortInfo, error) {
		n, err := nmsys.ParseName(name)
		if err != nil {
			return nmsys.PortInfo{}, err
		}
		pi := nmsys.PortInfo{TxRings: 1, RxRings: 1}
		if n.Conf.TxRings > 0 {
			pi.TxRings = n.Conf.TxRings
		}
		if n.Conf.RxRings > 0 {
			pi.RxRings = n.Conf.RxRings
		}
		return pi, nil
	}
	checkSamePath(t, []samePathCase{
		{"vale0:a-0@conf:rx-rings=1,tx-rings=2", "vale0:a-1", false, "ring 0 of netmap port vale0:a (vale0:a-0@conf:rx-rings=1,tx-rings=2 and vale0:a-1; the port has 1 RX rings: ring 1 falls back to ring 0)"},
		{"vale0:a-0@conf:rx-rings=1,tx-rings=2", "vale0:a-1", true, ""},
		{"vale0:a-1@conf:tx-rings=1,rx-rings=2", "vale0:a-0@conf:tx-rings=2", true, "ring 0 of netmap port vale0:a"},
		{"vale0:a-0", "vale0:a-1@conf:tx-rings=1,rx-rings=2", true, ""}, // the second's counts are not the port's
	})
}

// The send errors of a UDP second path are in the flow's counts, as the
// first path's are.
func TestDupUDPSendErrorsCounted(t *testing.T) {
	// The second path's retries slow every flush down: MaxLag -1 keeps
	// the sender from skipping the frame it falls behind with.
	tx, err := Dial("udp", twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2"), &SendConfig{Count: 1, Second: "udp", MaxLag: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	d := tx.parts[0].q.(*dupTx)
	b := d.b.(*udpTx)
	b.sendHook = func(int) (int, error) { return 0, errNoBufs } // always full: dropped after the retries
	if err := tx.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := tx.Stats(0)
	if st.Packets != 32 || st.NoBufs != 32 {
		t.Errorf("%d packets sent, %d dropped for want of buffers on the second path; want 32 and 32", st.Packets, st.NoBufs)
	}
}

// dupCaptures writes n frames of each of sess's flows into two captures,
// one per path, and returns their names.
func dupCaptures(t testing.TB, sess *video.Session, n int) (string, string) {
	t.Helper()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	frames := make([][]byte, len(sess.Streams))
	for k, s := range sess.Streams {
		frames[k] = randomFrames(s.Format, 2, uint64(k))
	}
	sendCapture(t, "pcap:"+a, sess, &SendConfig{Sources: loops(t, sess, frames), Count: uint64(n), Second: "pcap:" + b})
	return a, b
}

// Close while two captures are being read (one reader reads both, into
// each path's sink): the second path's reader, which only waits for the
// first, must not touch its sink while the first still pushes into it.
// Run with -race.
func TestDupPcapCloseWhileReading(t *testing.T) {
	sess := dupFlows()
	a, b := dupCaptures(t, sess, 40)
	for range 20 {
		rx, err := Listen("pcap:"+a, sess, &ListenConfig{Second: "pcap:" + b, FrameBuffers: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		for _, err := range rx.Frames(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			break // one frame, then Close while the reader goes on
		}
		cancel()
		if err := rx.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// failAfter returns a sendHook that sends one datagram a call, counted
// in *sent, until n are sent; then it fails with ENETUNREACH, counting
// the calls in *failed.
func failAfter(n int, sent, failed *int) func(int) (int, error) {
	return failAfterWith(n, sent, failed, syscall.ENETUNREACH)
}

// failAfterWith is failAfter failing with err.
func failAfterWith(n int, sent, failed *int, err error) func(int) (int, error) {
	return func(int) (int, error) {
		if n >= 0 && *sent >= n {
			*failed++
			return 0, err
		}
		*sent++
		return 1, nil
	}
}

// A send error of one path of two (ST 2022-7) stops that path alone: the
// other sends every packet of the run, Run ends as it would have (nil),
// and PathStats gives the failed path's error, named by its path (the
// two paths may go to the same address over two interfaces) and matching
// the transport's. A permanent error (EBADF) is not tried again; a
// transient one (ENETUNREACH, which keeps failing here) is, and stays one
// outage.
func TestDupSendOnePathFails(t *testing.T) {
	const n, at = 3, 10
	for _, why := range []syscall.Errno{syscall.EBADF, syscall.ENETUNREACH} {
		for p := range 2 {
			tx, err := Dial("udp", twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2"), &SendConfig{Count: n, Second: "udp", MaxLag: -1})
			if err != nil {
				t.Fatal(err)
			}
			d := tx.parts[0].q.(*dupTx)
			var sent, failed [2]int
			for q, c := range []txConn{d.a, d.b} {
				limit := -1
				if q == p {
					limit = at
				}
				c.(*udpTx).sendHook = failAfterWith(limit, &sent[q], &failed[q], why)
			}
			if err := tx.Run(context.Background()); err != nil {
				t.Fatalf("%v: path %d failed: Run: %v", why, p, err)
			}
			total := int(tx.Stats(0).Packets)
			other := 1 - p
			want := fmt.Sprintf("st2110: send path %d (udp): sendmmsg to 127.0.0.%d:", p, p+1)
			ps, po := tx.PathStats(0, p), tx.PathStats(0, other)
			if total != n*32 || sent[other] != total || sent[p] != at || failed[p] < 1 || why == syscall.EBADF && failed[p] != 1 {
				t.Errorf("%v: path %d failed: %d packets written, %d sent on path %d, %d on the failed one (tried %d times after), want %d, %d, %d, 1",
					why, p, total, sent[other], other, sent[p], failed[p], n*32, n*32, at)
			}
			if !errors.Is(ps.Err, why) || !strings.HasPrefix(ps.Err.Error(), want) || po.Err != nil {
				t.Errorf("%v: path %d failed: its error %v, want %q...; the other's %v", why, p, ps.Err, want, po.Err)
			}
			if ps.Unsent == 0 || at+int(ps.Unsent+ps.Skipped) > total || po.Unsent != 0 || po.Skipped != 0 ||
				ps.Failures != 1 || ps.Recoveries != 0 || po.Failures != 0 {
				t.Errorf("%v: path %d failed: %+v, the other %+v", why, p, ps, po)
			}
			if err := tx.Close(); err != nil {
				t.Error(err)
			}
		}
	}
}

// Both paths failing for good, one after the other, ends Run with an
// error that names both and matches their errors. Both failing with
// errors of the network (tried again, failing again) does not: the
// sender keeps its schedule to the end of the run, the packets counted
// unsent on both paths, whose errors PathStats gives.
func TestDupSendBothPathsFail(t *testing.T) {
	for _, why := range []syscall.Errno{syscall.EBADF, syscall.ENETUNREACH} {
		for p := range 2 {
			tx, err := Dial("udp", twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2"), &SendConfig{Count: 3, Second: "udp", MaxLag: -1})
			if err != nil {
				t.Fatal(err)
			}
			d := tx.parts[0].q.(*dupTx)
			var sent, failed [2]int
			for q, c := range []txConn{d.a, d.b} {
				limit := 10
				if q != p {
					limit = 40 // the other path fails later
				}
				c.(*udpTx).sendHook = failAfterWith(limit, &sent[q], &failed[q], why)
			}
			err = tx.Run(context.Background())
			if why == syscall.ENETUNREACH {
				st0, st1 := tx.PathStats(0, 0), tx.PathStats(0, 1)
				if err != nil || !errors.Is(st0.Err, why) || !errors.Is(st1.Err, why) || sent[1-p] != 40 || sent[p] != 10 ||
					st0.Unsent == 0 || st1.Unsent == 0 || tx.Stats(0).Packets != 3*32 {
					t.Errorf("%v, path %d first: Run: %v; %v sent; %+v %+v; %d packets written", why, p, err, sent, st0, st1, tx.Stats(0).Packets)
				}
				tx.Close()
				continue
			}
			want := "st2110: send udp: both paths failed: path 0 (udp): sendmmsg to 127.0.0.1:"
			if !errors.Is(err, why) || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), ": bad file descriptor; path 1 (udp): sendmmsg to 127.0.0.2:") {
				t.Errorf("path %d failed first: Run: %v, want %q...", p, err, want)
			}
			if sent[1-p] != 40 || failed != [2]int{1, 1} {
				t.Errorf("path %d failed first: %v sent, %v failed sends", p, sent, failed)
			}
			tx.Close()
		}
	}
}

// failTx is a heap TX ring whose TX sync fails once after packets have
// been published on it (a netmap port gone), counting the syncs tried
// after.
type failTx struct {
	*heapTx
	after, published, failed int
	closed                   bool
	err                      error // the sync's error, if not errTxSync
	times                    int   // if > 0, the syncs that fail before they work again
	atFail                   []int // published at each sync that failed
}

func (f *failTx) close() error { f.closed = true; return f.heapTx.close() }

var errTxSync = errors.New("txsync: no such device")

func (f *failTx) Publish(n int) { f.published += n; f.heapTx.Publish(n) }

func (f *failTx) flush(ctx context.Context) error {
	if f.after >= 0 && f.published > f.after && (f.times <= 0 || f.failed < f.times) {
		f.failed++
		f.atFail = append(f.atFail, f.published)
		if f.err != nil {
			return f.err
		}
		return errTxSync
	}
	return f.heapTx.flush(ctx)
}

// dialHeapDup is Dial over two heap TX rings, a the first path's and b
// the second's.
func dialHeapDup(t testing.TB, a, b txConn, sess *video.Session, cfg *SendConfig) *Sender {
	t.Helper()
	cfg.Second = "vale0:heap2"
	s, sources, err := newSenderFrames("vale0:heap", sess, cfg)
	if err != nil {
		t.Fatal(err)
	}
	eth := &ethInfo{srcMAC: defaultMAC}
	if err := s.build([]txConn{a}, eth, sources); err != nil {
		t.Fatal(err)
	}
	ep, fs, err := s.secondPath(sess)
	if err != nil {
		t.Fatal(err)
	}
	sb := &Sender{ep: ep, flows: fs, cfg: s.cfg, clock: s.clock, sess: s.sess}
	tees, err := s.pair(sb, []txConn{b}, eth, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	s.parts[0].q = tees[0]
	return s
}

// Over heap rings laid out as netmap's (whole Ethernet frames from
// templates), a path whose TX sync fails stops alone: the other path's
// ring carries every frame of the run, byte for byte, also once the first
// path has failed (the Transmitter then writes into the sender's own
// buffers, copied into the second path's ring).
func TestDupHeapOnePathFails(t *testing.T) {
	const n = 4
	f0 := flow(fmtSmall, "239.1.1.1:5004", "")
	f0.Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5006")}
	sess := session("10.0.0.1", f0)
	frames := randomFrames(fmtSmall, n, 7)
	for p := range 2 {
		qa, rxa := heapLink(t, 1024)
		qb, rxb := heapLink(t, 1024)
		fa, fb := &failTx{heapTx: qa, after: -1}, &failTx{heapTx: qb, after: -1}
		[]*failTx{fa, fb}[p].after = 40
		rx := listenHeap(t, []*heapRx{rxa, rxb}[1-p], legSession(sess, 1-p), nil)
		tx := dialHeapDup(t, fa, fb, sess, &SendConfig{Source: loopOf(t, fmtSmall, frames), Count: n, MaxLag: -1})
		wait := runSender(t, tx)
		// The path's error is read while Run goes on (run with -race).
		seen := make(chan bool)
		go func() {
			deadline := time.Now().Add(20 * time.Second)
			for !errors.Is(tx.PathStats(0, p).Err, errTxSync) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Microsecond)
			}
			seen <- true
		}()
		got := collect(t, rx, n, 20*time.Second)
		if err := wait(); err != nil {
			t.Fatalf("path %d failed: Run: %v", p, err)
		}
		<-seen
		if !bytes.Equal(got[0], frames) {
			t.Errorf("path %d failed: the other path brought %d octets, not the %d sent; %+v", p, len(got[0]), len(frames), rx.Stats(0))
		}
		ps := tx.PathStats(0, p)
		if !errors.Is(ps.Err, errTxSync) || !strings.HasPrefix(ps.Err.Error(), fmt.Sprintf("st2110: send path %d (vale0:heap", p)) ||
			[]*failTx{fa, fb}[p].failed != 1 || tx.PathStats(0, 1-p).Err != nil {
			t.Errorf("path %d failed: %+v; %d syncs failed", p, ps, []*failTx{fa, fb}[p].failed)
		}
		if err := tx.Close(); err != nil || !fa.closed || !fb.closed {
			t.Errorf("path %d failed: Close: %v; paths closed: %v, %v", p, err, fa.closed, fb.closed)
		}
		rx.Close()
	}
}

// A sender of two paths over heap rings allocates nothing per step, with
// both paths sending, once one has failed (the first: the Transmitter
// then writes into the sender's own buffers, made once), and once the
// first, stopped by a transient error (a ring stopped, EIO), is back.
func TestDupHeapSendAllocs(t *testing.T) {
	for p := range 3 {
		f0 := flow(fmtSD, "239.1.1.1:5004", "")
		f0.Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5006")}
		sess := session("10.0.0.1", f0)
		qa, rxa := heapLink(t, 1024)
		qb, rxb := heapLink(t, 1024)
		fa := &failTx{heapTx: qa, after: -1}
		if p >= 1 {
			fa.after = 100
		}
		if p == 2 {
			fa.err, fa.times = fmt.Errorf("txsync: %w", syscall.EIO), 2
		}
		var sinks []*rxSink
		var trs []*heapRx
		for q, tr := range []*heapRx{rxa, rxb} {
			rx, err := newReceiver("vale0:heap", legSession(sess, q), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := rx.start(&oneReader{&idleReader{}}); err != nil {
				t.Fatal(err)
			}
			defer rx.Close()
			drainFrames(rx)
			sinks, trs = append(sinks, rx.sinks[0]), append(trs, tr)
		}
		tx := dialHeapDup(t, fa, qb, sess, &SendConfig{})
		part := tx.parts[0]
		if err := part.tx.Start(tx.clock.Now(), 0); err != nil {
			t.Fatal(err)
		}
		round := func() {
			for range 8 {
				if _, _, err := tx.step(context.Background(), part, part.tx.Next()); err != nil {
					t.Fatal(err)
				}
			}
			for q, tr := range trs {
				if err := tr.k.reg.RxSync(0); err != nil {
					t.Fatal(err)
				}
				if _, _, err := tr.rd.pass(sinks[q]); err != nil {
					t.Fatal(err)
				}
			}
		}
		for range 300 {
			round()
		}
		if n := testing.AllocsPerRun(200, round); n != 0 {
			t.Errorf("case %d: %v allocations per round", p, n)
		}
		if st := tx.PathStats(0, 0); (st.Err != nil) != (p == 1) || p == 2 && (st.Recoveries != 1 || fa.failed != 2) {
			t.Errorf("case %d: first path %+v; %d syncs failed", p, st, fa.failed)
		}
		tx.Close()
	}
}
