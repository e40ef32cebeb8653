package main

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Pins: cases no other test catches a mutation of.
func TestSeqPins(t *testing.T) {
	const S = 305431552
	checkSeqCases(t, []seqCase{
		{"a held stray is dropped when the track goes on", 0, []uint32{0, 1, 2, S, 3, S + 1}, 0, 0, 0, 4},
		{"a jump taken back is forgotten", 0, []uint32{0, 1, 2, 3, 4, S, S + 1, 5, 60000, 120000, 180000, 200000, 10}, 199991, 1, 0, 200001},
		{"a second jump taken back keeps the first", 0, []uint32{0, 1, 2, 70000, 70001, 70002, S, S + 1, 70003}, 69997, 0, 0, 70004},
		{"a duplicated stray is not the start", 0, []uint32{S, S, 0, 1, 2}, 0, 0, 0, 3},
		{"-n beyond 2^32: no last before it", 1<<32 + 100000, []uint32{0, 1, 2, 99999}, 0, 0, 0, 3},
	})
}

// A stray pair confirmed as a jump at the end of a receive batch must not
// end a -n run: a number past -n's last is not the run's (txseq -n N
// never sends it), so the numbers counted reach -n only at its last.
func TestSeqPastLast(t *testing.T) {
	w, lost, dup, reord := seqRun(10, 0, 1, 2, 3, 4, 0x10000000, 0x10000001)
	if r := w.remaining(10, 0, true); r != 5 || lost != 0 || dup != 0 || reord != 0 {
		t.Errorf("-n 10 of 0..4 then a stray pair: remaining %d lost %d dup %d reordered %d, want 5 0 0 0", r, lost, dup, reord)
	}
	// The run's last number, far ahead, is still taken at once.
	w, lost, _, _ = seqRun(10, 0, 1, 2, 3, 4, 9)
	if r := w.remaining(10, 0, true); r != 0 || lost != 4 {
		t.Errorf("-n 10 of 0..4 then 9: remaining %d lost %d, want 0 4", r, lost)
	}
}

// A late or duplicate packet from before a real jump (a loss burst of a
// window or more) is counted against the numbers before it, not taken
// for the track before the jump going on.
func TestSeqLateBeforeJump(t *testing.T) {
	checkSeqCases(t, []seqCase{
		{"late", 0, []uint32{0, 1, 2, 3, 4, 6, 7, 8, 9, 100000, 100001, 100002, 5, 100003, 100004, 100005, 100001}, 99990, 1, 1, 100006},
		{"duplicate", 0, []uint32{0, 1, 2, 3, 4, 100000, 100001, 100002, 3, 100003, 100004, 100005}, 99995, 1, 0, 100006},
	})
}

// After 2^31 numbers (144 s at 14.88 Mpps) a reordered packet is still
// reordered, not a duplicate.
func TestSeqLongRun(t *testing.T) {
	w := &seqWindow{}
	var lost int64
	var dup, reord int64
	add := func(s uint32) {
		l, d, o := w.add(s)
		lost, dup, reord = lost+l, dup+d, reord+o
	}
	add(0)
	add(1)
	s := uint32(1)
	for w.span < 1<<31+10 {
		s++
		add(s)
		s += 60000
		add(s)
	}
	lost, dup, reord = 0, 0, 0
	add(s + 2)
	add(s + 1)
	if lost != 0 || dup != 0 || reord != 1 {
		t.Errorf("span %d, then s+2, s+1: lost %d dup %d reordered %d, want 0 0 1", w.span, lost, dup, reord)
	}
}

// A duplicate of a held number counts once the number is confirmed; a
// held stray's duplicate does not (TestSeqPins).
func TestSeqHeldDuplicate(t *testing.T) {
	checkSeqCases(t, []seqCase{
		{"the first duplicated", 0, []uint32{0, 0, 1, 2, 3}, 0, 1, 0, 4},
		{"a jump duplicated", 0, []uint32{0, 1, 70000, 70000, 70001}, 69998, 1, 0, 70002},
	})
}

// A held number is confirmed by one up to a window after it: a loss of 9
// or more right after the run's first packet keeps the first, and -n ends
// at the sender's last.
func TestSeqConfirmWithinWindow(t *testing.T) {
	for _, c := range []struct {
		name      string
		need      uint64
		nums      []uint32
		lost      int64
		span      uint64
		remaining uint64
	}{
		{"9 lost after the first", 0, []uint32{0, 10, 11, 12}, 9, 13, 0},
		{"9 lost after the first, -n 13", 13, []uint32{0, 10, 11, 12}, 9, 13, 0},
		{"a jump then 1000 lost", 0, []uint32{0, 1, 2, 70000, 71001, 71002}, 69997 + 1000, 71003, 0},
		{"a window after the first: not confirmed", 0, []uint32{0, seqWin + 1, seqWin + 2}, 0, 2, 0},
	} {
		w, lost, _, _ := seqRun(c.need, c.nums...)
		if lost != c.lost || w.span != c.span || w.remaining(c.need, 0, true) != c.remaining {
			t.Errorf("%s: lost %d span %d remaining %d, want %d %d %d", c.name, lost, w.span, w.remaining(c.need, 0, true), c.lost, c.span, c.remaining)
		}
	}
}

// clearAll forgets every number set, through the summary of words set.
func TestSeqBitmapClearAll(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var m seqBitmap
	for range 100 {
		for range rng.IntN(3000) {
			m.set(rng.Uint32())
		}
		m.clearAll()
		if m != (seqBitmap{}) {
			t.Fatal("clearAll left numbers set")
		}
	}
}

// Alternating stray pairs (each a jump, taken back by the next real
// number) on a track with a full window: the cost a hostile sender
// chooses per packet.
func BenchmarkSeqStrayPairs(b *testing.B) {
	w := &seqWindow{}
	s := uint32(0)
	for range seqWin {
		w.add(s)
		s++
	}
	b.ResetTimer()
	for i := range b.N {
		switch i % 3 {
		case 0:
			w.add(0x10000000)
		case 1:
			w.add(0x10000001)
		default:
			w.add(s)
			s++
		}
	}
}

// In order: the common case, for comparison.
func BenchmarkSeqInOrder(b *testing.B) {
	w := &seqWindow{}
	s := uint32(0)
	for range b.N {
		w.add(s)
		s++
	}
}

// A jump counted lost in one interval and taken back in the next: the
// second interval's lost is negative, in the text and the JSON reports,
// not a uint64 wrapped to ~1.8e19, and the run's is 0.
func TestReportLostTakenBack(t *testing.T) {
	var st stats
	var win seqWindow
	batch := func(nums ...uint32) {
		var c batchCounts
		for _, s := range nums {
			c.seq(&win, s)
		}
		c.publish(&st, len(nums), true)
	}
	t0 := time.Unix(1000, 0)
	for _, js := range []bool{false, true} {
		st, win = stats{}, seqWindow{}
		var out bytes.Buffer
		r := &reporter{cfg: &config{mode: modeOf("rxseq"), json: js}, out: &out}
		r.start, r.last = st.sample(t0), st.sample(t0)
		batch(0, 1, 2, 3, 4, 0x10000000, 0x10000001)
		r.tick(st.sample(t0.Add(time.Second)))
		batch(5, 6, 7)
		r.tick(st.sample(t0.Add(2 * time.Second)))
		rep := r.final(st.sample(t0.Add(2 * time.Second)))
		got := out.String()
		var want []string
		if js {
			want = []string{`"lost":268435451,`, `"lost":-268435451,`, `"final":true`}
		} else {
			want = []string{" 268435451 lost", " -268435451 lost", "Sequence: 0 lost, 0 duplicated, 0 reordered"}
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("json %v: output lacks %q:\n%s", js, w, got)
			}
		}
		if *rep.Lost != 0 {
			t.Errorf("json %v: the run's lost %d, want 0", js, *rep.Lost)
		}
	}
}

// A stray pair taken for a jump, then taken back when the numbers before
// it go on, takes back all it counted: its duplicates (a stray repeated,
// or the held stray's duplicate) and its reordered numbers, with its lost.
func TestSeqStrayCountsTakenBack(t *testing.T) {
	const S = 305431552
	checkSeqCases(t, []seqCase{
		{"a stray of the pair repeated", 0, []uint32{0, 1, 2, S, S + 1, S, 3, 4, 5}, 0, 0, 0, 6},
		{"the held stray repeated", 0, []uint32{0, 1, 2, S, S, S + 1, 3, 4, 5}, 0, 0, 0, 6},
		{"strays out of order", 0, []uint32{0, 1, 2, S, S + 2, S + 1, 3, 4, 5}, 0, 0, 0, 6},
		// A late packet from before the jump is the track's, kept.
		{"the track's own late packet kept", 0, []uint32{0, 1, 3, S, S + 1, 2, 4, 5}, 0, 0, 1, 6},
	})
}

// A burst of stale frames before the sender's first (an earlier run's,
// left in a ring: numbers ahead of the new run's 0) is not the run's
// start: two numbers in sequence before the first of a track that spans
// less than a window restart the run there, and what the stale track
// counted is taken back, its span too (-n counts from the new first). A
// restart whose old track then goes on is taken back as a jump is. Once
// the run spans a window, a number before its first is a duplicate.
func TestSeqStaleStart(t *testing.T) {
	const S = 305431552
	checkSeqCases(t, []seqCase{
		{"a stale burst ahead", 0, []uint32{1000, 1001, 1002, 0, 1, 2, 3}, 0, 0, 0, 4},
		{"a stale burst with a gap and a repeat", 0, []uint32{1000, 1002, 1002, 1001, 0, 1, 2, 3}, 0, 0, 0, 4},
		{"a stale burst, then the first two swapped", 0, []uint32{1000, 1001, 1, 0, 2, 3}, 0, 0, 1, 4},
		{"a short stale run overlapping", 0, []uint32{3, 4, 0, 1, 2, 3, 4, 5}, 0, 0, 0, 6},
		{"two stale bursts", 0, []uint32{5000, 5001, 1000, 1001, 0, 1, 2}, 0, 0, 0, 3},
		{"a stale burst, -n 4", 4, []uint32{1000, 1001, 1002, 0, 1, 2, 3}, 0, 0, 0, 4},
		{"a stray pair behind, taken back", 0, []uint32{100, 101, 102, 104, S + 0x80000000, S + 0x80000001, 103, 105}, 0, 0, 1, 6},
		{"a lone stale frame: held, not counted", 0, []uint32{10, 11, 12, 5, 13}, 0, 0, 0, 4},
		// A restart whose held number came twice counts the duplicate,
		// and takes it back with the restart when the old track goes on
		// a window or more past the new run's.
		{"a restart at a repeated number, taken back", 0, []uint32{100000, 100001, 100002, 0, 0, 1, 100003}, 0, 0, 0, 4},
		{"a restart at a repeated number", 0, []uint32{100000, 100001, 100002, 0, 0, 1, 2}, 0, 1, 0, 3},
		// A jump taken back gives the track back its own counts, which a
		// restart then takes off (FuzzSeqWindow, testdata).
		{"a restart after a jump taken back", 0, []uint32{10, 11, 12, 14, S, S + 1, 15, 0xffffff00, 0xffffff01}, 0, 0, 0, 2},
	})
	// Before the first by no more than the run spans: the start reordered,
	// late packets of the run (duplicates, as before the first), not a
	// stale start.
	checkSeqCases(t, []seqCase{
		{"two late within the span", 0, []uint32{100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 98, 99, 111}, 0, 2, 0, 12},
		{"the first pairs swapped", 0, []uint32{5, 6, 3, 4, 7, 8}, 0, 2, 0, 4},
	})
	// Past a window's span, a number before the first is a duplicate.
	var nums []uint32
	for s := range uint32(seqWin + 10) {
		nums = append(nums, 100+s)
	}
	nums = append(nums, 50, 51)
	checkSeqCases(t, []seqCase{{"before the first of a run a window long", 0, nums, 0, 2, 0, seqWin + 10}})
	// -n ends at the sender's last after a stale burst.
	w, lost, dup, reord := seqRun(10, 1000, 1001, 1002, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	if r := w.remaining(10, 0, true); r != 0 || lost != 0 || dup != 0 || reord != 0 {
		t.Errorf("-n 10 after a stale burst: remaining %d lost %d dup %d reordered %d, want 0 0 0 0", r, lost, dup, reord)
	}
}

// rxseq keeps one window for every RX ring of a port, and a multi-queue
// NIC spreads txseq's flows (-s ranges) over its rings: the run's first
// batches come ring by ring, each ring's numbers interleaved with the
// others'. The first numbers of the run, in a ring read after the first,
// are before the first number seen by less than the run spans: late, not a
// stale start; nothing is lost.
func TestSeqStartAcrossRings(t *testing.T) {
	var nums []uint32
	for _, flows := range [][2]uint32{{2, 3}, {0, 1}, {4, 5}, {6, 7}} { // 8 flows on 4 rings, read in turn
		for n := uint32(0); n < 256; n++ {
			if f := n % 8; f == flows[0] || f == flows[1] {
				nums = append(nums, n)
			}
		}
	}
	w, lost, dup, _ := seqRun(0, nums...)
	if lost != 0 || dup != 2 || w.span != 254 {
		t.Errorf("lost %d dup %d span %d, want 0 2 254 (0 and 1, before the first, duplicates)", lost, dup, w.span)
	}
}
