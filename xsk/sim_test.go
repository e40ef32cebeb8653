package xsk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// The kernel's ring layout on x86-64 (struct xdp_ring: producer and
// consumer on their own cache lines, then flags, then the descriptors),
// which the simulator copies.
var simLayout = RingLayout{Producer: 0, Consumer: 64, Flags: 128, Desc: 192}

const guardLen = 256
const guardByte = 0xA5

// simRing is one ring's memory on the heap, bracketed by guard bytes.
type simRing struct {
	raw   []byte
	mem   []byte
	size  uint32
	esize int
}

func newSimRing(size uint32, esize int) *simRing {
	n := int(simLayout.Desc) + int(size)*esize
	raw := make([]byte, n+2*guardLen)
	for i := range raw {
		raw[i] = guardByte
	}
	m := raw[guardLen : guardLen+n : guardLen+n]
	clear(m)
	return &simRing{raw: raw, mem: m, size: size, esize: esize}
}

func (r *simRing) word(off uint64) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&r.mem[off]))
}
func (r *simRing) prod() *atomic.Uint32  { return r.word(simLayout.Producer) }
func (r *simRing) cons() *atomic.Uint32  { return r.word(simLayout.Consumer) }
func (r *simRing) flags() *atomic.Uint32 { return r.word(simLayout.Flags) }

// entry returns the bytes of entry idx (masked).
func (r *simRing) entry(idx uint32) []byte {
	o := int(simLayout.Desc) + int(idx&(r.size-1))*r.esize
	return r.mem[o : o+r.esize]
}

func (r *simRing) guardsOK() bool {
	for _, b := range r.raw[:guardLen] {
		if b != guardByte {
			return false
		}
	}
	for _, b := range r.raw[len(r.raw)-guardLen:] {
		if b != guardByte {
			return false
		}
	}
	return true
}

// sim is a socket's memory on the heap (UMEM and four rings, each with
// guard bytes around it) plus a kernel that moves the rings the way the
// kernel's copy mode does. Its kernel side keeps its own cursors; it reads
// and writes the shared indices with atomics, so that it may run in
// another goroutine than the queues.
type sim struct {
	raw                  []byte
	umem                 []byte
	fill, comp, rx, tx   *simRing
	tq                   TxQueue
	rq                   RxQueue
	closed               atomic.Bool
	fillCons, rxProd     uint32 // the kernel's cursors
	txCons, compProd     uint32
	held                 []uint64 // fill addresses taken, not yet used
	sent                 [][]byte // packets the kernel sent (copies), when recording
	record               bool
	stall                bool // loopback waits for room in the RX ring instead of dropping
	frameSize, rxFrames  int
	txFrames             int
	dropRxFull, sentPkts uint64
	txInvalid            uint64 // zero-length TX descriptors stepped over
}

type simConfig struct {
	frameSize, frames, rxSize, txSize int
}

func newSim(c simConfig) (*sim, error) {
	if c.frameSize == 0 {
		c.frameSize = 2048
	}
	if c.frames == 0 {
		c.frames = 64
	}
	if c.rxSize == 0 {
		c.rxSize = 32
	}
	if c.txSize == 0 {
		c.txSize = 32
	}
	s := &sim{frameSize: c.frameSize, rxFrames: c.frames / 2, txFrames: c.frames - c.frames/2}
	size := c.frames * c.frameSize
	s.raw = make([]byte, size+2*guardLen)
	for i := range s.raw {
		s.raw[i] = guardByte
	}
	s.umem = s.raw[guardLen : guardLen+size : guardLen+size]
	clear(s.umem)
	s.fill = newSimRing(uint32(ceilPow2(s.rxFrames)), addrSize)
	s.comp = newSimRing(uint32(ceilPow2(s.txFrames)), addrSize)
	s.rx = newSimRing(uint32(c.rxSize), descSize)
	s.tx = newSimRing(uint32(c.txSize), descSize)
	um, err := newUmem(s.umem, c.frameSize)
	if err != nil {
		return nil, err
	}
	mk := func(r *simRing, name string, produce bool) (ring, error) {
		return newRing(name, r.mem, simLayout, r.size, r.esize, produce)
	}
	fill, err := mk(s.fill, "fill", true)
	if err != nil {
		return nil, err
	}
	comp, err := mk(s.comp, "completion", false)
	if err != nil {
		return nil, err
	}
	rx, err := mk(s.rx, "rx", false)
	if err != nil {
		return nil, err
	}
	tx, err := mk(s.tx, "tx", true)
	if err != nil {
		return nil, err
	}
	if err := s.rq.init(rx, fill, um, 0, s.rxFrames, &s.closed); err != nil {
		return nil, err
	}
	s.tq.init(tx, comp, um, s.rxFrames, s.txFrames, &s.closed)
	s.held = make([]uint64, 0, s.rxFrames)
	return s, nil
}

func (s *sim) guardsOK() error {
	for i := 0; i < guardLen; i++ {
		if s.raw[i] != guardByte || s.raw[len(s.raw)-1-i] != guardByte {
			return fmt.Errorf("write outside the UMEM")
		}
	}
	for _, r := range []*simRing{s.fill, s.comp, s.rx, s.tx} {
		if !r.guardsOK() {
			return fmt.Errorf("write outside a ring")
		}
	}
	return nil
}

// takeFill moves up to n fill entries into the kernel's hands.
func (s *sim) takeFill(n int) {
	p := s.fill.prod().Load()
	for s.fillCons != p && n > 0 && len(s.held) < cap(s.held) {
		a := binary.NativeEndian.Uint64(s.fill.entry(s.fillCons))
		s.held = append(s.held, a)
		s.fillCons++
		n--
	}
	s.fill.cons().Store(s.fillCons)
}

// canDeliver reports whether deliver would find a frame and room.
func (s *sim) canDeliver() bool {
	if len(s.held) == 0 {
		s.takeFill(64)
	}
	return len(s.held) > 0 && s.rxProd-s.rx.cons().Load() < s.rx.size
}

// deliver receives pkt the way copy mode does: into a fill frame, at
// XDP_PACKET_HEADROOM, and onto the RX ring. It returns false (a drop) if
// there is no frame or the RX ring is full.
func (s *sim) deliver(pkt []byte) bool {
	if len(s.held) == 0 {
		s.takeFill(64)
	}
	if len(s.held) == 0 || s.rxProd-s.rx.cons().Load() >= s.rx.size {
		s.dropRxFull++
		return false
	}
	a := s.held[0]
	copy(s.held, s.held[1:])
	s.held = s.held[:len(s.held)-1]
	a &^= uint64(s.frameSize - 1)
	a += packetHeadroom
	if a >= uint64(len(s.umem)) {
		return false // a fill entry the real kernel would count as invalid
	}
	n := copy(s.umem[a:a+uint64(s.frameSize-packetHeadroom)], pkt)
	e := s.rx.entry(s.rxProd)
	binary.NativeEndian.PutUint64(e[0:], a)
	binary.NativeEndian.PutUint32(e[8:], uint32(n))
	binary.NativeEndian.PutUint32(e[12:], 0)
	s.rxProd++
	s.rx.prod().Store(s.rxProd)
	return true
}

// transmit consumes up to max TX descriptors, as a kick does: each valid
// one is "sent" (delivered to the RX ring with loopback, recorded with
// s.record) and its address put on the completion ring. It returns how
// many it consumed.
func (s *sim) transmit(max int, loopback bool) int {
	p := s.tx.prod().Load()
	n := 0
	for s.txCons != p && n < max {
		if s.compProd-s.comp.cons().Load() >= s.comp.size {
			break
		}
		if loopback && s.stall && !s.canDeliver() {
			break
		}
		e := s.tx.entry(s.txCons)
		a := binary.NativeEndian.Uint64(e[0:])
		l := binary.NativeEndian.Uint32(e[8:])
		if l == 0 {
			// An invalid descriptor: since Linux 6.6 the kernel
			// counts it and, in some versions (copy mode's release
			// without a completion, zero-copy's batch reads),
			// steps over it without handing its frame back.
			s.txInvalid++
			s.txCons++
			n++
			continue
		}
		if a < uint64(len(s.umem)) && a+uint64(l) <= uint64(len(s.umem)) {
			p := s.umem[a : a+uint64(l)]
			if loopback {
				s.deliver(p)
			}
			if s.record {
				s.sent = append(s.sent, bytes.Clone(p))
			}
		}
		s.sentPkts++
		binary.NativeEndian.PutUint64(s.comp.entry(s.compProd), a)
		s.compProd++
		s.txCons++
		n++
	}
	s.tx.cons().Store(s.txCons)
	s.comp.prod().Store(s.compProd)
	return n
}

// seqPacket writes a test packet with sequence number seq and length n.
func seqPacket(b []byte, seq uint32, n int) int {
	for i := range b[:n] {
		b[i] = byte(seq) ^ byte(i*7)
	}
	if n >= 4 {
		binary.BigEndian.PutUint32(b, seq)
	}
	return n
}

func checkSeqPacket(p []byte, seq uint32, n int) error {
	if len(p) != n {
		return fmt.Errorf("seq %d: length %d, want %d", seq, len(p), n)
	}
	want := make([]byte, n)
	seqPacket(want, seq, n)
	if !bytes.Equal(p, want) {
		return fmt.Errorf("seq %d: contents differ", seq)
	}
	return nil
}

// inUmem reports whether b lies inside the UMEM.
func (s *sim) inUmem(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	lo := uintptr(unsafe.Pointer(&s.umem[0]))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(cap(b)) <= lo+uintptr(len(s.umem))
}

// owners counts the frames in each ownership state.
func (s *sim) owners() map[uint8]int {
	m := map[uint8]int{}
	for _, o := range s.tq.um.owner {
		m[o]++
	}
	return m
}

// ownerCounts is owners without a map, for the fuzzer's per-op check.
func (s *sim) ownerCounts() (n [ownRxUser + 1]int) {
	for _, o := range s.tq.um.owner {
		if int(o) < len(n) {
			n[o]++
		}
	}
	return n
}
