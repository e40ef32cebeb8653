package main

import (
	"encoding/binary"

	"github.com/nmgo/nmgo/packet"
)

// seqMinLen is the shortest frame that carries a sequence number: the
// headers and four octets.
const seqMinLen = packet.UDPHdrLen + 4

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
// more, is held until a number at most seqNear after it or before it
// follows (the next one lost, or the two swapped: one reordered). A
// number held is counted as a frame received, not as one of the run's
// numbers. A jump to the run's last number (-n's) is taken at once: no
// number follows it. Two strays in sequence (another sender's run) pass
// for a jump; the track before it is kept, and taken back, the jump's
// counts with it, when its numbers go on.
type seqWindow struct {
	seqTrack
	started bool
	held    uint32 // the number on probation: the first, or a jump's
	holding bool
	// need is the count of numbers the run takes (-n; 0: until -t or a
	// signal). With -n 1 there is no second number to confirm the
	// first, so the first is taken at once.
	need uint64
	// prev is the track before the last jump, and sinceJump the lost
	// counted since then (the jump's gap among them): a number that
	// fits prev and not the track takes prev back and sinceJump off.
	prev      seqTrack
	hasPrev   bool
	sinceJump int64
}

// seqTrack is a run of numbers: where it begins and ends, and which of
// the last seqWin came.
type seqTrack struct {
	first uint32 // first number seen; older ones are not counted as gaps filled
	next  uint32
	span  uint64 // sequence numbers from first to next: received or lost
	seen  [seqWin / 64]uint64
}

// seqNear is how far after or before a held number the next may be and
// still confirm it: the packets after it lost, or reordered.
const seqNear = 8

// near reports whether s confirms the held number h: s is at most
// seqNear after or before it.
func near(h, s uint32) bool {
	return s != h && (s-h <= seqNear || h-s <= seqNear)
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
func (w *seqTrack) clearRange(s, n uint32) {
	for n > 0 {
		i := s % seqWin
		off := i % 64
		k := min(n, 64-off)
		w.seen[i/64] &^= (^uint64(0) >> (64 - k)) << off
		s += k
		n -= k
	}
}

func (w *seqTrack) bit(s uint32) (*uint64, uint64) {
	i := s % seqWin
	return &w.seen[i/64], 1 << (i % 64)
}

// add records s and returns the changes to the lost, dup and reordered
// counters (lost may go down when a late packet fills a gap, or a jump is
// taken back).
func (w *seqWindow) add(s uint32) (lost int64, dup, reord uint64) {
	if !w.started {
		return w.start(s)
	}
	lost, dup, reord = w.count(s)
	if w.hasPrev {
		w.sinceJump += lost
	}
	return lost, dup, reord
}

// count counts s against the track, or holds it.
func (w *seqWindow) count(s uint32) (lost int64, dup, reord uint64) {
	d := int32(s - w.next)
	switch {
	case d >= 0 && d < seqWin:
		w.holding = false // the track goes on: a held jump was a stray
		return w.advance(s), 0, 0
	case d < 0 && d > -seqWin && int32(s-w.first) >= 0:
		wd, b := w.bit(s)
		if *wd&b != 0 {
			return 0, 1, 0
		}
		*wd |= b
		return -1, 0, 1
	case w.hasPrev && w.prev.fits(s):
		// The numbers before the jump go on: it was strays.
		back := -w.sinceJump
		w.seqTrack, w.hasPrev, w.sinceJump = w.prev, false, 0
		lost, dup, reord = w.count(s)
		return back + lost, dup, reord
	case d >= 0:
		h := w.held
		last := w.need != 0 && w.need <= 1<<32 && s == w.first+uint32(w.need-1)
		if !last && (!w.holding || !near(h, s)) {
			w.holding, w.held = true, s
			return 0, 0, 0 // held: not counted unless a number near it follows
		}
		w.holding = false
		w.prev, w.hasPrev, w.sinceJump = w.seqTrack, true, 0
		if last { // the sender's last: no number follows it
			return w.advance(s), 0, 0
		}
		// h came, and s follows it: the jump is taken, h received, s
		// counted after it (the numbers between lost, or s reordered).
		lost = w.advance(h)
		l, dup, reord := w.count(s)
		return lost + l, dup, reord
	default:
		// From before the run's first frame (stale), or older than the
		// window (cannot tell): a duplicate.
		return 0, 1, 0
	}
}

// advance takes s, at or after next, as received, and returns how many
// numbers it skipped: lost, until they come.
func (w *seqTrack) advance(s uint32) int64 {
	gap := s - w.next
	if gap >= seqWin {
		clear(w.seen[:])
	} else {
		w.clearRange(w.next, gap)
	}
	wd, b := w.bit(s)
	*wd |= b
	w.next = s + 1
	w.span += uint64(gap) + 1
	return int64(gap)
}

// fits reports whether s belongs to the track: ahead of it by less than
// the window, or behind it within the window and not before its first.
func (w *seqTrack) fits(s uint32) bool {
	d := int32(s - w.next)
	return d >= 0 && d < seqWin || d < 0 && d > -seqWin && int32(s-w.first) >= 0
}

// start holds the run's first number s until a second confirms it: one
// up to seqNear after it (the numbers between lost until they come), or
// before it (then the run starts at that one, and the held one came
// early: one reordered). A number that confirms nothing is held instead.
// With -n 1 the first number is taken at once.
func (w *seqWindow) start(s uint32) (lost int64, dup, reord uint64) {
	h := w.held
	switch {
	case w.need == 1:
		w.started, w.first, w.next = true, s, s
		return w.add(s)
	case w.holding && near(h, s) && int32(s-h) > 0:
		w.started, w.first, w.next, w.holding = true, h, h, false
	case w.holding && near(h, s):
		w.started, w.first, w.next, w.holding = true, s, s, false
	default:
		w.holding, w.held = true, s
		return 0, 0, 0
	}
	l1, _, _ := w.add(h)
	l2, _, o := w.add(s)
	return l1 + l2, 0, o
}
