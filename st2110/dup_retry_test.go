package st2110

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/video"
)

// Tests of a two-path sender's paths that fail for a while and come back,
// over the recTx queues of dup_tx_test.go, stepped on the test's own
// clock (the due time of the next packet): no sleeps, no timing.

// errNetUnreach is a send error of the network, as udpTx gives it.
var errNetUnreach = fmt.Errorf("sendmmsg to 239.1.1.1:5004: %w", &os.SyscallError{Syscall: "sendmmsg", Err: syscall.ENETUNREACH})

// rvStepAll steps the sender's one output to its end, each step ahead
// of the due time of the next packet (0: one packet or burst a step);
// before each step it calls each(now).
func rvStepAll(t *testing.T, s *Sender, ahead time.Duration, each func(now int64)) {
	t.Helper()
	p := s.parts[0]
	if err := p.tx.Start(1_000_000_000_000, 0); err != nil {
		t.Fatal(err)
	}
	for steps := 0; !p.tx.Done(); steps++ {
		if steps > 1_000_000 {
			t.Fatalf("stalled: %+v", p.tx.Stats(0))
		}
		now := p.tx.Next() + int64(ahead)
		if each != nil {
			each(now)
		}
		if _, _, err := s.step(context.Background(), p, now); err != nil {
			t.Fatal(err)
		}
	}
}

// rvSeq is the extended RTP sequence number of a packet of rvDial's
// (Ethernet, IPv4, UDP, RTP with the extension).
func rvSeq(x []byte) uint32 {
	return uint32(x[54])<<24 | uint32(x[55])<<16 | uint32(x[44])<<8 | uint32(x[45])
}

// A path stopped by an error of the network (ENETUNREACH; at its
// Reserve, or at its flush) is tried again, 4 ms after it failed, then
// twice as long after each try that fails, while the other path carries
// every packet; the network back, the next try brings it back, at the
// packet then due: every packet it sent is the one a run without failure
// sends, byte for byte, in order, none twice (nothing old sent late), and
// those it missed are counted (unsent, or skipped while it was tried).
// Path a comes back to set the pace again, the Transmitter writing into
// its buffers.
func TestDupPathBack(t *testing.T) {
	const frames, outage = 20, 100 * time.Millisecond
	const total = 32 * frames
	for _, c := range []struct {
		p    int
		at   string
		room int
	}{{0, "reserve", 0}, {0, "flush", 0}, {1, "reserve", 0}, {1, "flush", 0}, {0, "reserve", 2}, {0, "flush", 2}} {
		p, at := c.p, c.at
		{
			name := fmt.Sprintf("path %d, its %s, room %d", p, at, c.room)
			q := [2]*recTx{{}, {}}
			q[p].room = c.room
			ahead := time.Duration(0)
			if c.room > 0 {
				ahead = 2 * time.Millisecond // several packets a step, more than the room
			}
			s := rvDialCount(t, q[0], q[1], 1, frames)
			d := s.parts[0].q.(*dupTx)
			var down, up, prev int64
			var tries []int64 // the steps that called the failing path while its network was down
			wasFailing := false
			rvStepAll(t, s, ahead, func(now int64) {
				calls := q[p].reserves
				if at == "flush" {
					calls = q[p].flushes
				}
				if wasFailing && calls > 0 {
					tries = append(tries, prev) // the step before called it
				}
				if wasFailing && len(tries) > 0 && !d.dead[p] {
					t.Fatalf("%s: down, yet it takes packets between its tries", name)
				}
				if down == 0 && len(q[1-p].got) >= 200 {
					down = now
				}
				if up == 0 && down != 0 && now >= down+int64(outage) {
					up = now
				}
				failing := down != 0 && up == 0
				q[p].rerr, q[p].ferr = nil, nil
				if failing && at == "reserve" {
					q[p].rerr = errNetUnreach
				}
				if failing && at == "flush" {
					q[p].ferr = errNetUnreach
				}
				q[p].reserves, q[p].flushes = 0, 0
				wasFailing, prev = failing, now
			})
			st, so := s.PathStats(0, p), s.PathStats(0, 1-p)
			t.Logf("%s: %d tries, %d packets; %+v, the other %+v", name, len(tries), len(q[p].got), st, so)
			if st.Err != nil || st.Failures != 1 || st.Recoveries != 1 || st.Unsent == 0 {
				t.Errorf("%s: %+v, want back after one failure, with packets unsent", name, st)
			}
			if so.Err != nil || so.Failures != 0 || so.Unsent != 0 || so.Skipped != 0 || len(q[1-p].got) != total {
				t.Errorf("%s: the other path %+v, %d packets of %d", name, so, len(q[1-p].got), total)
			}
			for i := 1; i < len(tries); i++ {
				want := min(minRetry<<(i-1), maxRetry)
				if gap := time.Duration(tries[i] - tries[i-1]); gap < want || gap > want+20*time.Millisecond {
					t.Errorf("%s: try %d %v after the one before, want %v", name, i, gap, want)
				}
			}
			if len(tries) < 4 {
				t.Errorf("%s: %d tries in %v", name, len(tries), outage)
			}
			// The RTP packet is the other path's copy of it (its sequence
			// number and SSRC are this run's), the headers the path's own.
			bySeq := map[uint32][]byte{}
			for _, x := range q[1-p].got {
				bySeq[rvSeq(x)] = x
			}
			var last uint32
			for i, x := range q[p].got {
				seq := rvSeq(x)
				if i > 0 && seq <= last {
					t.Fatalf("%s: packet %d: sequence number %d after %d", name, i, seq, last)
				}
				if o, ok := bySeq[seq]; !ok || string(o[42:]) != string(x[42:]) || string(o[18:20]) != string(x[18:20]) ||
					string(x[:14]) != string(q[p].got[0][:14]) || string(x[26:38]) != string(q[p].got[0][26:38]) {
					t.Fatalf("%s: packet %d (sequence number %d) not the copy of the other path's", name, i, seq)
				}
				last = seq
			}
			if last != rvSeq(q[1-p].got[total-1]) || len(q[p].got)+int(st.Unsent+st.Skipped) != total {
				t.Errorf("%s: %d packets + %d unsent + %d skipped, want %d, the last sent", name, len(q[p].got), st.Unsent, st.Skipped, total)
			}
			if !d.direct || !(d.up(0) && d.up(1)) {
				t.Errorf("%s: back, yet direct %v, steady %v", name, d.direct, (d.up(0) && d.up(1)))
			}
		}
	}
}

// Path a back from a failure with no room in its queue, and no error (a
// ring whose NIC holds its slots) does not take the pace back: b carries
// every packet, a's tries skip theirs, and a stays down.
func TestDupPathBackFull(t *testing.T) {
	const frames = 20
	q := [2]*recTx{{}, {}}
	s := rvDialCount(t, q[0], q[1], 1, frames)
	rvStepAll(t, s, 0, func(now int64) {
		if len(q[1].got) == 100 {
			q[0].rerr = errNetUnreach
		}
		if s.PathStats(0, 0).Err != nil {
			q[0].rerr, q[0].full = nil, true
		}
	})
	st := s.PathStats(0, 0)
	if len(q[1].got) != 32*frames || len(q[0].got) != 100 || !errors.Is(st.Err, syscall.ENETUNREACH) || st.Recoveries != 0 ||
		st.Skipped == 0 || 100+st.Unsent+st.Skipped != 32*frames {
		t.Errorf("%d packets on a, %d on b; a %+v", len(q[0].got), len(q[1].got), st)
	}
}

// A path whose network stays down is tried again with a backoff doubled
// at every try up to a second (on the sender's clock), one outage however
// many tries fail; a path stopped by a permanent error is never tried
// again.
func TestDupPathRetryBackoff(t *testing.T) {
	const frames = 150 // 3 s
	for _, c := range []struct {
		err   error
		retry bool
	}{
		{errNetUnreach, true},
		{fmt.Errorf("txsync: %w", syscall.EIO), true},
		{errors.New("reserve: gone"), false},
		{fmt.Errorf("sendmmsg: %w", syscall.EBADF), false},
		{net.ErrClosed, false},
	} {
		for p := range 2 {
			q := [2]*recTx{{}, {}}
			s := rvDialCount(t, q[0], q[1], 1, frames)
			var tries []int64
			var prev int64
			rvStepAll(t, s, 0, func(now int64) {
				if q[p].reserves > 0 {
					tries = append(tries, prev) // the step before called it
				}
				q[p].rerr, q[p].reserves, prev = c.err, 0, now
			})
			st := s.PathStats(0, p)
			t.Logf("%v, path %d: %d tries; %+v", c.err, p, len(tries), st)
			if !errors.Is(st.Err, c.err) || st.Failures != 1 || st.Recoveries != 0 {
				t.Errorf("%v, path %d: %+v", c.err, p, st)
			}
			if !c.retry {
				if len(tries) != 1 {
					t.Errorf("%v, path %d: tried %d times, want once", c.err, p, len(tries))
				}
				continue
			}
			// 0, 4, 12, 28, 60, 124, 252, 508, 1020, 2020 ms: the
			// failure and nine tries in 3 s.
			if len(tries) != 10 {
				t.Errorf("%v, path %d: %d tries in 3 s, want 10", c.err, p, len(tries))
			}
			for i := 1; i < len(tries); i++ {
				want := min(minRetry<<(i-1), maxRetry)
				if gap := time.Duration(tries[i] - tries[i-1]); gap < want || gap > want+20*time.Millisecond {
					t.Errorf("%v, path %d: try %d %v after the one before, want %v", c.err, p, i, gap, want)
				}
			}
		}
	}
}

// Both paths down for errors of the network: the sender keeps its
// schedule (nothing is late, no error), the packets counted unsent on
// both, and each path comes back on its own once its network does.
func TestDupBothPathsBack(t *testing.T) {
	const frames = 20
	q := [2]*recTx{{}, {}}
	s := rvDialCount(t, q[0], q[1], 1, frames)
	var down int64
	var bothDown bool
	rvStepAll(t, s, 0, func(now int64) {
		switch {
		case down == 0 && len(q[0].got) >= 100:
			down = now
			q[0].rerr, q[1].ferr = errNetUnreach, errNetUnreach
		case down != 0 && now >= down+int64(50*time.Millisecond):
			q[0].rerr = nil
			if now >= down+int64(150*time.Millisecond) {
				q[1].ferr = nil
			}
		}
		d := s.parts[0].q.(*dupTx)
		bothDown = bothDown || d.dead[0] && d.dead[1]
	})
	total := s.parts[0].tx.Stats(0)
	for p := range 2 {
		st := s.PathStats(0, p)
		t.Logf("path %d: %d packets, %+v", p, len(q[p].got), st)
		if st.Err != nil || st.Failures != 1 || st.Recoveries != 1 || st.Unsent == 0 ||
			uint64(len(q[p].got))+st.Unsent+st.Skipped != total.Packets {
			t.Errorf("path %d: %d packets, %+v; %d written", p, len(q[p].got), st, total.Packets)
		}
	}
	if !bothDown || total.Packets != 32*frames || total.Late != 0 {
		t.Errorf("both down %v; %+v", bothDown, total)
	}
}

// retryable is the one place that tells a transient error of a path from
// a permanent one.
func TestDupRetryable(t *testing.T) {
	unbound := fmt.Errorf("%w: the kernel unbound the socket (socket error: %w)", syscall.ENXIO, syscall.ENETDOWN) // xsk's
	pc, err := openPcapTx(&endpoint{file: filepath.Join(t.TempDir(), "x.pcap")}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.close()
	var udp, ring txConn = &udpTx{}, &ringTx{}
	for _, c := range []struct {
		q    txConn
		err  error
		want bool
	}{
		{udp, errNetUnreach, true},
		{udp, fmt.Errorf("sendmmsg: %w", syscall.EHOSTUNREACH), true},
		{udp, fmt.Errorf("sendmmsg: %w", syscall.ENETDOWN), true},
		{udp, fmt.Errorf("sendmmsg: %w", syscall.EADDRNOTAVAIL), true},
		{udp, fmt.Errorf("sendmmsg: %w", syscall.ENOBUFS), true},
		{ring, &nmsys.Error{Op: "txsync", Err: os.NewSyscallError("ioctl", syscall.EIO)}, true},
		// A wait for room whose poll reported POLLERR: a ring stopped
		// (nmsys gives the sync's EIO), or cursors netmap rejects.
		{ring, &nmsys.Error{Op: "wait tx", Err: os.NewSyscallError("ioctl", syscall.EIO)}, true},
		{ring, &nmsys.Error{Op: "wait tx", Err: errors.New("poll reported POLLERR: netmap rejects the cursors of a ring")}, false},
		{ring, nmsys.ErrClosed, false},
		{ring, unbound, false},
		{udp, net.ErrClosed, false},
		{udp, fmt.Errorf("sendmmsg: %w", syscall.EBADF), false},
		{udp, fmt.Errorf("sendmmsg: %w", syscall.EMSGSIZE), false},
		{udp, context.Canceled, false},
		{udp, errors.New("something else"), false},
		{pc, fmt.Errorf("write: %w", syscall.EIO), false},
		{pc, fmt.Errorf("write: %w", syscall.ENOSPC), false},
	} {
		if got := retryable(c.q, c.err); got != c.want {
			t.Errorf("%T: %v: retryable %v, want %v", c.q, c.err, got, c.want)
		}
	}
}

// Over UDP (the sockets' sends replaced by the test's), a path whose
// sends fail with ENETUNREACH for a while is tried again and comes back:
// its datagrams after the outage go on at the sequence number then due,
// none sent twice, the other path sending every one; the datagrams of
// the sends that failed are counted unsent, but for one the first failed
// send sent before its error; stepped on the test's clock.
func TestDupUDPPathBack(t *testing.T) {
	const frames = 20
	for p := range 2 {
		tx, err := Dial("udp", twoLegs(t, fmtSmall, "127.0.0.1", "127.0.0.2"), &SendConfig{Count: frames, Second: "udp", MaxLag: -1})
		if err != nil {
			t.Fatal(err)
		}
		d := tx.parts[0].q.(*dupTx)
		var seqs [2][]uint16 // the RTP sequence numbers each path sent
		failing, partial := false, false
		for q, c := range []*udpTx{d.a.(*udpTx), d.b.(*udpTx)} {
			c.sendHook = func(from int) (int, error) {
				if q == p && failing && partial {
					return 0, syscall.ENETUNREACH // the batch's datagrams counted unsent
				}
				b := c.mm.buf(from)
				seqs[q] = append(seqs[q], uint16(b[2])<<8|uint16(b[3]))
				if q == p && failing {
					// The first send that fails sends one datagram
					// first: the rest of its batch is unsent.
					partial = true
					return 1, syscall.ENETUNREACH
				}
				return 1, nil
			}
		}
		var down int64
		rvStepAll(t, tx, 0, func(now int64) {
			if down == 0 && len(seqs[1-p]) >= 100 {
				down, failing = now, true
			}
			if failing && now >= down+int64(50*time.Millisecond) {
				failing = false
			}
		})
		total := 32 * frames
		st := tx.PathStats(0, p)
		t.Logf("path %d: %d sent, %+v", p, len(seqs[p]), st)
		if st.Err != nil || st.Failures != 1 || st.Recoveries != 1 || !partial || len(seqs[1-p]) != total ||
			len(seqs[p])+int(st.Unsent+st.Skipped) != total {
			t.Errorf("path %d: %d sent, the other %d, %+v; want %d", p, len(seqs[p]), len(seqs[1-p]), st, total)
		}
		gaps := 0
		for i := 1; i < len(seqs[p]); i++ {
			switch step := seqs[p][i] - seqs[p][i-1]; {
			case step == 0 || step > 0x8000:
				t.Fatalf("path %d: datagram %d: sequence number %d after %d", p, i, seqs[p][i], seqs[p][i-1])
			case step > 1:
				gaps++
			}
		}
		if gaps != 1 || seqs[p][len(seqs[p])-1] != seqs[1-p][total-1] {
			t.Errorf("path %d: %d gaps in its sequence numbers, want 1, and the last sent", p, gaps)
		}
		tx.Close()
	}
}

// A path that fails again within a second of coming back (a link that
// keeps flapping) waits from where its last wait stopped, doubled, not
// from 4 ms; one that had been back for longer starts again at 4 ms.
func TestDupPathFlaps(t *testing.T) {
	const frames = 100 // 2 s
	q := [2]*recTx{{}, {}}
	s := rvDialCount(t, q[0], q[1], 1, frames)
	d := s.parts[0].q.(*dupTx)
	var phase int
	var at, prev int64 // when the phase's failure was set; the step before
	var waits []int64  // the backoff after each failure that starts an outage
	var downs []int64  // the steps that failed
	var firsts []int64 // the first try after each of them
	pending := false
	rvStepAll(t, s, 0, func(now int64) {
		st := s.PathStats(0, 1)
		calls := q[1].flushes // in the step before
		q[1].flushes = 0
		if pending && calls > 0 {
			firsts, pending = append(firsts, prev), false
		}
		if int(st.Failures) > len(waits) {
			waits, downs, pending = append(waits, d.backoff[1]), append(downs, prev), true
		}
		prev = now
		switch {
		case phase == 0 && len(q[0].got) >= 100:
			phase, at, q[1].ferr = 1, now, errNetUnreach // tried at +4, +12, +28 ms
		case phase == 1 && now >= at+int64(20*time.Millisecond):
			phase, q[1].ferr = 2, nil // back at +28 ms, its last wait 16 ms
		case phase == 2 && st.Recoveries == 1:
			phase, at, q[1].ferr = 3, now, errNetUnreach // fails at once: waits 32 ms
		case phase == 3 && now >= at+int64(20*time.Millisecond):
			phase, q[1].ferr = 4, nil
		case phase == 4 && st.Recoveries == 2:
			phase, at = 5, now
		case phase == 5 && now >= at+int64(1100*time.Millisecond):
			phase, q[1].ferr = 6, errNetUnreach // up for over a second: waits 4 ms
		}
	})
	st := s.PathStats(0, 1)
	t.Logf("phase %d; %+v; waits %v", phase, st, waits)
	if phase != 6 || st.Failures != 3 || st.Recoveries != 2 || len(waits) != 3 || len(firsts) != 3 {
		t.Fatalf("phase %d; %+v; waits %v, first tries %d", phase, st, waits, len(firsts))
	}
	for i, want := range []time.Duration{minRetry, 8 * minRetry, minRetry} {
		if got := time.Duration(waits[i]); got != want {
			t.Errorf("outage %d: waits %v, want %v", i, got, want)
		}
		if gap := time.Duration(firsts[i] - downs[i]); gap < want || gap > want+20*time.Millisecond {
			t.Errorf("outage %d: first try %v after the failure, want %v", i, gap, want)
		}
	}
}

// rvStepWaiting steps the sender's one output to its end as rvStepAll
// does, on a clock that goes on while its queues have no room: a step
// that writes nothing of what is due is followed by the send loop's
// longest wait for room (txWaitSlice), as a queue that stays full gives.
// It fails the test if the output does not end within limit on that clock.
func rvStepWaiting(t *testing.T, s *Sender, limit time.Duration, each func(now int64)) {
	t.Helper()
	p := s.parts[0]
	start := int64(1_000_000_000_000)
	if err := p.tx.Start(start, 0); err != nil {
		t.Fatal(err)
	}
	now := p.tx.Next()
	for !p.tx.Done() {
		if now > start+int64(limit) {
			t.Fatalf("stalled: at +%v, %+v", time.Duration(now-start), p.tx.Stats(0))
		}
		if each != nil {
			each(now)
		}
		n, next, err := s.step(context.Background(), p, now)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 && next <= now {
			now += int64(txWaitSlice)
		} else {
			now = max(now, next)
		}
	}
}

// Path a down, and b's queue then full with no error (a NIC without
// carrier that holds its slots): a is still tried, at its backoff
// doubled at every try, and once its network is back its next try
// brings it back, b's wait for room notwithstanding, and it sets the
// pace again.
func TestDupPathBackOtherFull(t *testing.T) {
	const frames = 100 // 2 s
	q := [2]*recTx{{}, {}}
	s := rvDialCount(t, q[0], q[1], 1, frames)
	d := s.parts[0].q.(*dupTx)
	var down int64
	var atBack int    // a's packets when its network came back
	var waits []int64 // a's backoffs while it is down
	rvStepWaiting(t, s, 5*time.Second, func(now int64) {
		if b := d.backoff[0]; d.dead[0] && (len(waits) == 0 || waits[len(waits)-1] != b) {
			waits = append(waits, b)
		}
		switch {
		case down == 0 && len(q[1].got) >= 100:
			down, q[0].rerr = now, errNetUnreach
		case down != 0 && now >= down+int64(10*time.Millisecond) && !q[1].full:
			q[1].full = true
		case q[1].full && now >= down+int64(time.Second) && q[0].rerr != nil:
			q[0].rerr, atBack = nil, len(q[0].got)
		}
	})
	st := s.PathStats(0, 0)
	t.Logf("a got %d (%d when back), b %d; a %+v; waits %v", len(q[0].got), atBack, len(q[1].got), st, waits)
	if st.Err != nil || st.Failures != 1 || st.Recoveries != 1 || len(q[0].got) <= atBack ||
		uint64(len(q[0].got))+st.Unsent+st.Skipped != 32*frames {
		t.Errorf("a got %d packets (%d when its network came back); a %+v", len(q[0].got), atBack, st)
	}
	if len(waits) < 6 {
		t.Errorf("a's waits %v: want 6 tries at least in a second", waits)
	}
	for i, w := range waits {
		if want := min(minRetry<<i, maxRetry); time.Duration(w) != want {
			t.Errorf("a's wait %d: %v, want %v (all %v)", i, time.Duration(w), want, waits)
		}
	}
}

// Path a tried again with no room in its queue, and b's queue full for
// a while: the output waits for b's room but for a's tries, each a
// backoff after the last, doubled, in which b skips the step's packets
// (a batch at most); b loses no others.
func TestDupPathBackBothFull(t *testing.T) {
	const frames = 60
	q := [2]*recTx{{}, {}}
	s := rvDialCount(t, q[0], q[1], 1, frames)
	var down int64
	rvStepWaiting(t, s, 5*time.Second, func(now int64) {
		switch {
		case down == 0 && len(q[1].got) >= 100:
			down, q[0].rerr = now, errNetUnreach
		case down != 0 && q[0].rerr != nil && s.PathStats(0, 0).Err != nil:
			q[0].rerr, q[0].full = nil, true // back, its queue full
		}
		q[1].full = down != 0 && now >= down+int64(50*time.Millisecond) && now < down+int64(550*time.Millisecond)
	})
	a, b := s.PathStats(0, 0), s.PathStats(0, 1)
	t.Logf("a %+v; b %+v", a, b)
	if b.Skipped == 0 || b.Skipped > 8*uint64(s.cfg.Batch) || len(q[1].got)+int(b.Skipped) != 32*frames || a.Recoveries != 0 {
		t.Errorf("b got %d; a %+v, b %+v", len(q[1].got), a, b)
	}
}

// A path on a ring (a heap ring, as netmap's: what a failed TX sync
// leaves in it stays, to leave at the next sync that works) is tried
// again by a sync alone: the ring is handed no packets while its syncs
// fail, and what it sends once back is what was in it at the failure
// and the packets from then on.
func TestDupRingRetrySyncsAlone(t *testing.T) {
	const frames = 20
	f0 := flow(fmtSmall, "239.1.1.1:5004", "")
	f0.Second = video.Leg{Dst: netip.MustParseAddrPort("239.2.1.1:5006")}
	sess := session("10.0.0.1", f0)
	qa, _ := heapLink(t, 1024)
	qb, _ := heapLink(t, 1024)
	fa := &failTx{heapTx: qa, after: 100, err: fmt.Errorf("txsync: %w", syscall.EIO), times: 5}
	tx := dialHeapDup(t, fa, qb, sess, &SendConfig{Count: frames, MaxLag: -1})
	defer tx.Close()
	rvStepAll(t, tx, 0, nil)
	st := tx.PathStats(0, 0)
	t.Logf("syncs failed with %v packets published; %d in all; %+v", fa.atFail, fa.published, st)
	if st.Err != nil || st.Failures != 1 || st.Recoveries != 1 || fa.failed != 5 || fa.published+int(st.Unsent+st.Skipped) < 32*frames {
		t.Fatalf("%d syncs failed, %d packets published; %+v", fa.failed, fa.published, st)
	}
	for i, n := range fa.atFail {
		if n != fa.atFail[0] {
			t.Errorf("sync %d that failed: %d packets published, %d at the first", i, n, fa.atFail[0])
		}
	}
}

// A step back of the sender's clock (CLOCK_TAI set back) while a path is
// down puts its next try off by no more than its wait from the time the
// clock now tells.
func TestDupRetryClockBack(t *testing.T) {
	q := [2]*recTx{{}, {}}
	s := rvDialCount(t, q[0], q[1], 1, 1)
	d := s.parts[0].q.(*dupTx)
	d.now = int64(time.Hour)
	d.fail(0, errNetUnreach)
	d.now -= int64(time.Second) // the clock steps back
	if err := d.retry(); err != nil || !d.dead[0] {
		t.Fatalf("retry: %v; tried at once after the step back: dead %v", err, d.dead[0])
	}
	d.now += int64(minRetry)
	if err := d.retry(); err != nil || d.dead[0] || !d.probing[0] {
		t.Errorf("retry: %v; %v after the step back: dead %v, probing %v, want tried", err, minRetry, d.dead[0], d.probing[0])
	}
}

// A step back of the clock after a try of path a that took nothing, b's
// queue full too (a's next try then set up in reserveScratch, a still
// probing): a is tried again within a couple of its backoffs of the
// clock's new time, not after the step.
func TestDupRetryClockBackBothFull(t *testing.T) {
	q := [2]*recTx{{}, {}}
	s := rvDialCount(t, q[0], q[1], 1, 1)
	d := s.parts[0].q.(*dupTx)
	d.now = int64(2 * time.Hour)
	d.fail(0, errNetUnreach)
	q[0].rerr, q[0].full, q[1].full = nil, true, true
	d.now += int64(minRetry)
	n := q[0].reserves
	if _, err := d.Reserve(8); err != nil || q[0].reserves == n || !d.probing[0] {
		t.Fatalf("Reserve: %v; a's try: reserves %d, probing %v", err, q[0].reserves-n, d.probing[0])
	}
	d.Publish(0)
	d.now -= int64(time.Hour) // the clock steps back
	n = q[0].reserves
	for i := range 50 {
		d.now += int64(20 * time.Millisecond)
		if _, err := d.Reserve(8); err != nil {
			t.Fatal(err)
		}
		d.Publish(0)
		if q[0].reserves > n {
			if i > 2 {
				t.Errorf("a tried %v after the step back; backoff %v", time.Duration(20*(i+1))*time.Millisecond, time.Duration(d.backoff[0]))
			}
			return
		}
	}
	t.Errorf("a not tried in a second after the clock stepped back; retryAt now+%v", time.Duration(d.retryAt[0]-d.now))
}
