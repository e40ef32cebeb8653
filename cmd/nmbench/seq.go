package main

import (
	"encoding/binary"
	"math/bits"

	"github.com/nmgo/nmgo/packet"
)

// seqMinLen is the shortest frame that carries a sequence number: the
// headers and four octets.
const seqMinLen = packet.UDPHdrLen + 4

// Every frame -l allows carries one: parseLengths refuses a length below
// packet.MinFrame, so txseq and rxseq need no check of their own. (A
// negative constant does not convert to uint: this line fails to compile
// the day that is no longer so.)
const _ = uint(packet.MinFrame - seqMinLen)

// seqNumber returns the sequence number txseq wrote at the start of the
// payload of frame pkt, if pkt is a frame that can carry one: IPv4
// without options (txseq's header), UDP, long enough. A port receives
// other frames too (ARP, an IPv6 router solicitation, LLDP on a NIC):
// they carry no number, and their octets read as one would count a jump
// of up to 2^31 packets lost, and the real ones after it as duplicates.
func seqNumber(pkt []byte) (uint32, bool) {
	if len(pkt) < seqMinLen || pkt[12] != 0x08 || pkt[13] != 0x00 || pkt[packet.EthLen] != 0x45 || pkt[packet.EthLen+9] != 17 {
		return 0, false
	}
	return binary.BigEndian.Uint32(pkt[packet.UDPHdrLen:]), true
}

// seqWindow tracks received sequence numbers to tell lost, duplicated and
// reordered packets apart within a window of recent numbers.
//
// A number is believed once another follows it, as RFC 3550's appendix
// A.1 validates a source: a stray frame on the port (another sender's, an
// old one left in a ring, DNS, mDNS or DHCP on a NIC) reads as a number
// anywhere in 2^32. The run's first number, and a jump of a window or
// more, is held until a number less than a window after it, or at most
// seqNear before it, follows (the numbers between lost, or the two
// swapped: one reordered); a random stray is confirmed by the next one
// with a chance of 2^16 in 2^32. A number held is counted as a frame
// received, not as one of the run's numbers, and so are its duplicates
// until it is confirmed. With -n, a jump to the run's last number is
// taken at once (no number follows it), and a number past it is not the
// run's (the sender never sends it): a frame only. Two strays in sequence
// (another sender's run) pass for a jump; the track before it is kept,
// and taken back, the jump's counts with it (lost, duplicated and
// reordered), when its numbers go on; a late or duplicate packet from
// before the jump is counted against it.
//
// A burst of stale frames before the sender's first (left in a ring by an
// earlier run, whose numbers are ahead of a new run's) passes for the
// run's start: while the track spans less than a window, a number further
// before its first than the track spans, and one near it after it, restart
// the run there, the track's counts taken back (its span too: -n counts
// from the new first); the track is kept as a jump's would be, and the
// restart taken back if its numbers go on a window or more past the new
// run's. A number before the first by no more than the track spans is a
// late packet of the start (reordered, or another RX ring's batch read
// first): a duplicate, as any number before the run's first.
//
// The two tracks' bitmaps are the window's own, and a track names its
// by index: a jump or a take-back switches index, copying no bitmap, and
// a jump clears only the words of the bitmap that were set.
type seqWindow struct {
	seqTrack
	started bool
	held    uint32 // the number on probation: the first, or a jump's
	holding bool
	heldDup uint64 // duplicates of held: counted if it is confirmed
	// need is the count of numbers the run takes (-n; 0: until -t or a
	// signal). With -n 1 there is no second number to confirm the
	// first, so the first is taken at once.
	need uint64
	// prev is the track before the last jump or restart; since the
	// counts of the track since then, or since the run's start (the
	// jump's gap among them), and prevSince prev's own, out of the
	// counts given if prevOut (a restart took them off). A number ahead
	// of prev by less than a window takes prev back, since off, and
	// prevSince on if it was out.
	prev      seqTrack
	hasPrev   bool
	prevOut   bool
	since     seqCounts
	prevSince seqCounts
	maps      [2]seqBitmap
}

// seqCounts are changes to the lost, duplicated and reordered counts.
type seqCounts struct {
	lost, dup, reord int64
}

// plus returns c + o.
func (c seqCounts) plus(o seqCounts) seqCounts {
	return seqCounts{c.lost + o.lost, c.dup + o.dup, c.reord + o.reord}
}

// seqTrack is a run of numbers: where it begins and ends, and which of
// its bitmaps says which of the last seqWin came.
type seqTrack struct {
	first uint32 // first number seen; older ones are not counted as gaps filled
	next  uint32
	span  uint64 // sequence numbers from first to next: received or lost
	bm    uint8  // index of the track's bitmap in seqWindow.maps
}

// seqBitmap is which of the last seqWin numbers came, with a summary of
// which of its words may be non-zero.
type seqBitmap struct {
	seen [seqWin / 64]uint64
	used [seqWin / 64 / 64]uint64 // bit j: seen[j] may be non-zero
}

// seqNear is how far before a held number the next may be and still
// confirm it: the two reordered.
const seqNear = 8

// near reports whether s confirms the held number h: s is less than a
// window after it, or at most seqNear before it.
func near(h, s uint32) bool {
	return s != h && (s-h < seqWin || h-s <= seqNear)
}

// remaining returns how many packets a receiver still takes for its
// count, -n, having received got: 0 when it is done. rxseq (numbered)
// counts sequence numbers (w.span), a packet lost counting as one
// received and a frame without a number or a duplicate not at all, so
// that rxseq -n N paired with txseq -n N ends at the sender's last packet
// and not before; rx, which reads no numbers, counts what arrives.
func (w *seqWindow) remaining(count, got uint64, numbered bool) uint64 {
	if numbered {
		got = w.span
	}
	return count - min(got, count)
}

const seqWin = 1 << 16

// clearRange forgets the n (< seqWin) numbers from s on, a word at a time:
// a jump's cost is at most the window's words, not one step a number.
func (m *seqBitmap) clearRange(s, n uint32) {
	for n > 0 {
		i := s % seqWin
		off := i % 64
		k := min(n, 64-off)
		m.seen[i/64] &^= (^uint64(0) >> (64 - k)) << off
		s += k
		n -= k
	}
}

// clearAll forgets every number: only the words the summary marks.
func (m *seqBitmap) clearAll() {
	for j, u := range m.used {
		for u != 0 {
			k := bits.TrailingZeros64(u)
			u &= u - 1
			m.seen[j*64+k] = 0
		}
		m.used[j] = 0
	}
}

func (m *seqBitmap) bit(s uint32) (*uint64, uint64) {
	i := s % seqWin
	return &m.seen[i/64], 1 << (i % 64)
}

// set records s and reports whether it was recorded already.
func (m *seqBitmap) set(s uint32) bool {
	i := s % seqWin
	wd, b := &m.seen[i/64], uint64(1)<<(i%64)
	if *wd&b != 0 {
		return true
	}
	*wd |= b
	m.used[i/4096] |= 1 << (i / 64 % 64)
	return false
}

// behind reports whether s is behind the track's next, within the window
// and not before its first.
func (w *seqTrack) behind(s uint32) bool {
	b := w.next - s
	return b-1 < seqWin-1 && uint64(b) <= w.span
}

// add records s and returns the changes to the lost, dup and reordered
// counters (each may go down: lost when a late packet fills a gap, any
// when a jump or restart is taken back).
func (w *seqWindow) add(s uint32) (lost, dup, reord int64) {
	if !w.started {
		return w.start(s)
	}
	return w.count(s)
}

// took notes lost counted on the track, to take it off with a take-back.
func (w *seqWindow) took(lost int64) int64 {
	w.since.lost += lost
	return lost
}

// count counts s against the track, or holds it.
func (w *seqWindow) count(s uint32) (lost, dup, reord int64) {
	d := s - w.next
	switch {
	case int32(d) >= 0 && w.need != 0 && w.need <= 1<<32 && uint64(s-w.first) >= w.need:
		// Past -n's last, which the sender never sends: not the run's, so
		// that the numbers counted reach -n only at its last.
		return 0, 0, 0
	case d < seqWin:
		w.holding = false // the track goes on: a held jump was a stray
		return w.took(w.advance(s)), 0, 0
	case w.behind(s):
		if w.maps[w.bm].set(s) {
			w.since.dup++
			return 0, 1, 0
		}
		w.since.reord++
		return w.took(-1), 0, 1
	case w.hasPrev && s-w.prev.next < seqWin:
		// The numbers before the jump go on: it was strays.
		back := seqCounts{-w.since.lost, -w.since.dup, -w.since.reord}
		if w.prevOut {
			back = back.plus(w.prevSince)
		}
		w.seqTrack, w.hasPrev, w.since = w.prev, false, w.prevSince
		lost, dup, reord = w.count(s)
		return back.lost + lost, back.dup + dup, back.reord + reord
	case w.hasPrev && w.prev.behind(s):
		// Late, or a duplicate, from before the jump: prev's, given
		// unless prev's counts are out.
		c := seqCounts{-1, 0, 1}
		if w.maps[w.prev.bm].set(s) {
			c = seqCounts{0, 1, 0}
		}
		w.prevSince = w.prevSince.plus(c)
		if w.prevOut {
			return 0, 0, 0
		}
		return c.lost, c.dup, c.reord
	case w.staleBefore(s) || w.holding && w.staleBefore(w.held) && near(w.held, s):
		// Before the first of a track that spans less than a window, by
		// more than the track spans: held, and if a number near it
		// follows, the run restarts there (the track was stale frames).
		// Nearer, it is a late packet of the run's start (reordered on
		// the way, or another RX ring's), a duplicate below.
	case int32(d) < 0:
		// From before the run's first frame (stale), or older than the
		// window (cannot tell): a duplicate.
		return 0, 1, 0
	}
	h := w.held
	last := w.need != 0 && w.need <= 1<<32 && s == w.first+uint32(w.need-1)
	if w.holding && s == h {
		w.heldDup++
		return 0, 0, 0
	}
	if !last && (!w.holding || !near(h, s)) {
		w.holding, w.held, w.heldDup = true, s, 0
		return 0, 0, 0 // held: not counted unless a number near it follows
	}
	w.holding = false
	if w.staleBefore(h) && !last {
		return w.restart(h, s)
	}
	// The jump: the track goes on with the other bitmap, cleared by
	// advance (the gap is a window or more).
	w.prev, w.hasPrev, w.prevOut, w.prevSince, w.since = w.seqTrack, true, false, w.since, seqCounts{}
	w.bm ^= 1
	if last { // the sender's last: no number follows it
		return w.took(w.advance(s)), 0, 0
	}
	// h came, and s follows it: the jump is taken, h received, s
	// counted after it (the numbers between lost, or s reordered).
	lost = w.took(w.advance(h))
	l, dup, reord := w.count(s)
	w.since.dup += int64(w.heldDup)
	return lost + l, dup + int64(w.heldDup), reord
}

// staleBefore reports whether s, on a track that spans less than a
// window, is before its first by more than the track spans: a stale
// start's number, not a late one of the run (see seqWindow).
func (w *seqWindow) staleBefore(s uint32) bool {
	return w.span < seqWin && int32(s-w.first) < 0 && uint64(w.first-s) > w.span
}

// restart starts the run afresh at h, held before the first of a track
// that spans less than a window, which s, near it, confirms: the track
// was stale frames. Its counts are taken back, and kept to be given again
// if its numbers go on after all (a take-back, as a jump's).
func (w *seqWindow) restart(h, s uint32) (lost, dup, reord int64) {
	took := w.since
	w.prev, w.hasPrev, w.prevOut, w.prevSince, w.since = w.seqTrack, true, true, took, seqCounts{}
	w.bm ^= 1
	w.maps[w.bm].clearAll()
	first := h
	if s-h >= seqWin { // s came before h: the two reordered
		first = s
	}
	w.first, w.next, w.span = first, first, 0
	l1, d1, o1 := w.count(h)
	l2, d2, o2 := w.count(s)
	w.since.dup += int64(w.heldDup)
	return l1 + l2 - took.lost, d1 + d2 + int64(w.heldDup) - took.dup, o1 + o2 - took.reord
}

// advance takes s, at or after next, as received, and returns how many
// numbers it skipped: lost, until they come.
func (w *seqWindow) advance(s uint32) int64 {
	m := &w.maps[w.bm]
	gap := s - w.next
	if gap >= seqWin {
		m.clearAll()
	} else {
		m.clearRange(w.next, gap)
	}
	m.set(s)
	w.next = s + 1
	w.span += uint64(gap) + 1
	return int64(gap)
}

// start holds the run's first number s until a second confirms it: one
// less than a window after it (the numbers between lost until they
// come), or up to seqNear before it (then the run starts at that one, and
// the held one came early: one reordered). A number that confirms nothing
// is held instead. With -n 1 the first number is taken at once.
func (w *seqWindow) start(s uint32) (lost, dup, reord int64) {
	h := w.held
	switch {
	case w.need == 1:
		w.started, w.first, w.next = true, s, s
		return w.add(s)
	case w.holding && s == h:
		w.heldDup++
		return 0, 0, 0
	case w.holding && near(h, s) && s-h < seqWin:
		w.started, w.first, w.next, w.holding = true, h, h, false
	case w.holding && near(h, s):
		w.started, w.first, w.next, w.holding = true, s, s, false
	default:
		w.holding, w.held, w.heldDup = true, s, 0
		return 0, 0, 0
	}
	l1, _, _ := w.add(h)
	l2, _, o := w.add(s)
	w.since.dup += int64(w.heldDup)
	return l1 + l2, int64(w.heldDup), o
}
