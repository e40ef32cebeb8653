package st2110

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
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

// TestUDPLinger: with ListenConfig.Linger, a UDP reader sleeps the linger
// after a read that took datagrams but fewer than its batch, and not after
// a full read, so that a paced sender's bursts gather in the socket. The
// sleep here is a hook that, as a sender would meanwhile, sends the next
// bursts once the reader has taken all sent so far; between two lingers
// the reads must be full batches but the last. Each read then takes what
// a linger gathered (a batch of 16 is filled, then lingered after its
// rest). Without Linger the reader never sleeps.
func TestUDPLinger(t *testing.T) {
	const burst, gather, total = 6, 5, 6 * (1 + 5*20) // a first burst, then 5 a linger
	for _, c := range []struct {
		name   string
		batch  int
		linger time.Duration
	}{
		{"partial batches", 64, 100 * time.Microsecond},
		{"full batches", 16, 100 * time.Microsecond},
		{"long", 64, 2 * MaxLinger}, // sleeps MaxLinger
		{"none", 64, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := freePort(t)
			// The flow is 127.0.0.2's: the datagrams, to 127.0.0.1 on its
			// port, are read by its socket and counted as of no flow.
			sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.2:%d", p), ""))
			r, err := newReceiver("udp", sess, &ListenConfig{Batch: c.batch})
			if err != nil {
				t.Fatal(err)
			}
			r.cfg.Linger = c.linger // past Listen's check of MaxLinger, for "long"
			tr, err := openRx(context.Background(), &r.ep, r.flows, &r.cfg)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(p)})
			if err != nil {
				tr.close()
				t.Fatal(err)
			}
			defer conn.Close()
			sent := 0
			send := func(n int) {
				for range min(n, total-sent) {
					if _, err := conn.Write(make([]byte, 60)); err != nil {
						t.Error(err)
						return
					}
					sent++
				}
			}
			// On the reader's goroutine: what the reads since the last
			// linger took, and the sender's next bursts.
			var lingers []time.Duration
			var bad []string
			var prevB, prevP uint64
			done, closed := make(chan struct{}), false
			tr.(*udpRx).socks[0].sleep = func(d time.Duration) {
				lingers = append(lingers, d)
				b, got := r.Batches(), r.sinks[0].r.Other()
				db, dp, n := b-prevB, got-prevP, uint64(c.batch)
				if db == 0 || dp <= n*(db-1) || dp >= n*db {
					bad = append(bad, fmt.Sprintf("linger after %d reads of %d datagrams (batch %d)", db, dp, n))
				}
				prevB, prevP = b, got
				if int(got) == sent && sent < total {
					send(burst * gather)
				}
				if int(got) == total && !closed {
					close(done)
					closed = true
				}
			}
			send(burst) // the first burst is there when the reader starts
			if err := r.start(tr); err != nil {
				t.Fatal(err)
			}
			if c.linger == 0 {
				// Bursts, each taken before the next goes.
				for range 20 {
					b := r.Batches()
					send(burst)
					for deadline := time.Now().Add(5 * time.Second); r.Batches() == b && time.Now().Before(deadline); {
						time.Sleep(time.Millisecond)
					}
				}
			} else {
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Error("the reader did not take every datagram within 20 s")
				}
			}
			r.Close()
			<-r.Done()
			if c.linger == 0 {
				if len(lingers) != 0 || r.Batches() == 0 {
					t.Errorf("%d lingers without Linger, %d reads", len(lingers), r.Batches())
				}
				return
			}
			for _, b := range bad {
				t.Error(b)
			}
			want := min(c.linger, MaxLinger)
			for _, d := range lingers {
				if d != want {
					t.Errorf("lingered %v, want %v", d, want)
					break
				}
			}
			reads := r.Batches()
			if got := r.Other(); got != total || len(lingers) < total/(burst*gather) {
				t.Errorf("took %d datagrams of %d in %d reads, %d lingers", got, total, reads, len(lingers))
			}
			// A batch of 16 takes the 30 datagrams a linger gathered in a
			// full read and one it lingers after: more reads than lingers.
			if full := c.batch < burst*gather; full != (reads > uint64(len(lingers))) {
				t.Errorf("%d reads, %d lingers, with a batch of %d", reads, len(lingers), c.batch)
			}
			t.Logf("%d datagrams in %d reads, %.1f a read, %d lingers", total, reads, float64(total)/float64(reads), len(lingers))
		})
	}
}

// TestUDPHoldSleep: the UDP linger's sleep lasts at least what it is
// given (a lower bound only: the machine may be slow) and allocates
// nothing, as the receive loop must not per read.
func TestUDPHoldSleep(t *testing.T) {
	const d = 2 * time.Millisecond
	t0 := time.Now()
	holdSleep(d)
	if el := time.Since(t0); el < d {
		t.Errorf("holdSleep(%v) slept %v", d, el)
	}
	s := &udpSock{linger: time.Microsecond}
	at := int64(time.Hour)
	if n := testing.AllocsPerRun(100, func() {
		at += int64(time.Millisecond)
		s.lingerNow(s.lingerAfter(1, 64), at) // yields first
		s.lingerNow(s.lingerAfter(1, 64), at)
	}); n != 0 {
		t.Errorf("%v allocations a linger", n)
	}
}

// TestUDPLingerYields: a UDP reader's linger, a raw system call that
// keeps the P, yields it first once a millisecond on the reader's clock:
// with one P, a goroutine runnable on it runs at a linger then, and not
// at one within the millisecond (a reader that lingers after every read
// never parks in the netpoller, and the runtime preempts it only after
// 10 ms running).
//
// Neither holds at every try, and each is asked of most of three: the
// scheduler takes the global run queue first once in 61 turns, where
// Gosched put the yielder, which then runs before the goroutine; and the
// runtime's monitor takes the P from a system call that spans two of its
// looks, as a 1 µs sleep that a loaded host wakes late may, and runs the
// goroutine meanwhile. The first comes at most once in three tries (a
// turn that takes the global queue counts, and the next such is 61 turns
// on), the second only as the host allows. Before, one try each: the
// test failed 98 runs of 2,000, most at the first linger, the others at
// the last; now a try of the first three misses 293 times in 5,000 runs,
// never two in one run.
func TestUDPLingerYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s := &udpSock{linger: time.Microsecond}
	// ran tells whether a goroutine made runnable before a linger at at
	// ran during it; in any case it has run when ran returns.
	ran := func(at int64) bool {
		var r atomic.Bool
		go func() { r.Store(true) }()
		s.lingerNow(s.lingerAfter(1, 64), at)
		did := r.Load()
		for !r.Load() {
			runtime.Gosched()
		}
		return did
	}
	// tries returns at how many of 3 lingers the goroutine ran, each at
	// step after the last.
	at := int64(time.Hour)
	tries := func(step int64) int {
		n := 0
		for range 3 {
			at += step
			if ran(at) {
				n++
			}
		}
		return n
	}
	// A millisecond apart, every linger yields; the first, of a fresh
	// clock, does.
	if n := tries(int64(time.Millisecond)); n < 2 {
		t.Errorf("a goroutine runnable on the only P ran at %d of 3 lingers a millisecond apart", n)
	}
	// Half a millisecond after the last that yielded, none does.
	at += int64(time.Millisecond / 2)
	if n := tries(0); n > 1 {
		t.Errorf("a goroutine runnable on the only P ran at %d of 3 lingers half a millisecond after one that yielded", n)
	}
	n := 0
	for range 3 {
		at += int64(time.Millisecond / 2) // a millisecond after the last that yielded
		if ran(at) {
			n++
		}
		at += int64(time.Millisecond / 2)
		ran(at) // half a millisecond after one that yielded: keeps the P
	}
	if n < 2 {
		t.Errorf("a goroutine runnable on the only P ran at %d of 3 lingers a millisecond after the last that yielded, each after one that did not", n)
	}
}

// A UDP receiver's sockets carry the kernel's receive time of each
// datagram, read as UTC ns, in a 32-bit program too: there the old
// SCM_TIMESTAMPNS is two int32, which parseControl once ignored (it wanted
// 16 octets), leaving every datagram without a time. The sockets now ask
// for SO_TIMESTAMPNS_NEW (Linux 5.1 and later), so this takes that branch;
// TestParseControlTimestamps takes the old one too.
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

// TestParseControlTimestamps: parseControl reads a receive time from
// SO_TIMESTAMPNS_NEW (two int64 everywhere) and from the old
// SCM_TIMESTAMPNS of this program's word size (two int64 in a 64-bit
// program, two int32 in a 32-bit one, whose branch no kernel since 5.1
// takes once SO_TIMESTAMPNS_NEW is asked for). The control messages are
// built by hand: a header of the word size's length, level and type.
func TestParseControlTimestamps(t *testing.T) {
	const sec, nsec = 1_700_000_000, 123_456_789
	const want = int64(sec)*1e9 + nsec
	word := strconv.IntSize / 8
	align := func(n int) int { return (n + word - 1) &^ (word - 1) }
	hdr := align(word + 8) // cmsg_len, cmsg_level, cmsg_type
	cmsg := func(typ int, data []byte) []byte {
		b := make([]byte, hdr+align(len(data)))
		if word == 8 {
			binary.NativeEndian.PutUint64(b, uint64(hdr+len(data)))
		} else {
			binary.NativeEndian.PutUint32(b, uint32(hdr+len(data)))
		}
		binary.NativeEndian.PutUint32(b[word:], uint32(syscall.SOL_SOCKET))
		binary.NativeEndian.PutUint32(b[word+4:], uint32(typ))
		copy(b[hdr:], data)
		return b
	}
	ts64 := binary.NativeEndian.AppendUint64(binary.NativeEndian.AppendUint64(nil, sec), nsec)
	ts32 := binary.NativeEndian.AppendUint32(binary.NativeEndian.AppendUint32(nil, sec), nsec)
	const soTimestampNSNew, scmTimestampNS = 64, 35 // Linux's SO_TIMESTAMPNS_NEW and SCM_TIMESTAMPNS (old)
	old := ts64
	if word == 4 {
		old = ts32
	}
	for _, c := range []struct {
		name string
		b    []byte
		want int64
	}{
		{"new", cmsg(soTimestampNSNew, ts64), want},
		{fmt.Sprintf("old, %d-bit", 8*word), cmsg(scmTimestampNS, old), want},
		{"old, short", cmsg(scmTimestampNS, old[:len(old)-1]), 0},
		{"new, short", cmsg(soTimestampNSNew, ts64[:15]), 0},
		{"header cut", cmsg(soTimestampNSNew, ts64)[:hdr-1], 0},
	} {
		if _, ts := parseControl(c.b, netip.IPv4Unspecified()); ts != c.want {
			t.Errorf("%s: receive time %d, want %d", c.name, ts, c.want)
		}
	}
}

// A UDP reader whose PHC fails gives its lingers a time that moves on
// (rxSink.waitAt), so that one a millisecond still yields its P for as
// long as the reader goes on (up to maxClockFailure). Before, they were
// given the batch's time, the last read, and no linger yielded while the
// clock failed. Here each datagram is sent once the reader has lingered
// after the one before, and 2 ms later (a sleep never ends early): each
// read takes one datagram of its batch and lingers, each linger 2 ms or
// more after the last, and the hook sleep records the yields counted.
// Every linger after the first yields. Before, the datagrams were sent
// 2 ms apart whatever the reader did, and a host that ran the reader late
// gathered them in fewer reads than the test asked for.
func TestUDPLingerPHCFails(t *testing.T) {
	const sends = 10
	var gone atomic.Bool
	p := freePort(t)
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.2:%d", p), "")) // the datagrams are of no flow
	r, err := newReceiver("udp", sess, &ListenConfig{Batch: 64, Linger: 100 * time.Microsecond, Clock: goneClock(&gone)})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := openRx(context.Background(), &r.ep, r.flows, &r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	sock := tr.(*udpRx).socks[0]
	yields := make(chan uint64, 4*sends)
	sock.sleep = func(time.Duration) {
		if gone.Load() {
			select {
			case yields <- sock.ho.Count():
			default:
			}
		}
	}
	if err := r.start(tr); err != nil {
		t.Fatal(err)
	}
	defer func() { r.Close(); <-r.Done() }()
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(p)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gone.Store(true)
	var counts []uint64
	for range sends {
		if _, err := conn.Write(make([]byte, 60)); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-yields:
			counts = append(counts, c)
		case <-r.Done():
			// The reader gives up on a clock failing for maxClockFailure
			// (1 s): the sends must fit in it, about 20 ms of work.
			t.Fatalf("the reader stopped after %d lingers: %v", len(counts), r.Err())
		case <-time.After(10 * time.Second):
			t.Fatalf("no linger in 10 s after datagram %d", len(counts))
		}
		time.Sleep(2 * time.Millisecond)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] != counts[i-1]+1 {
			t.Errorf("yields counted at the lingers while the clock failed: %v; want each linger after the first to yield", counts)
			break
		}
	}
}

// TestUDPLongDatagram: a datagram longer than a receiver's buffer
// (maxDatagram) is cut to it, and counted as truncated with its whole
// length in Bytes, as a capture's record cut by its snap length is.
func TestUDPLongDatagram(t *testing.T) {
	p := freePort(t)
	sess := session("", flow(fmtSmall, fmt.Sprintf("127.0.0.1:%d", p), ""))
	rx, err := Listen("udp", sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	long := make([]byte, maxDatagram+1000)
	copy(long, []byte{0x80, 96})
	if _, err := c.Write(long); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for rx.Stats(0).Bytes == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := rx.Stats(0); st.Bytes != uint64(len(long)) || st.Truncated != 1 {
		t.Fatalf("a datagram of %d octets: Bytes %d, Truncated %d", len(long), st.Bytes, st.Truncated)
	}
}
