package packet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/rings"
)

// RxPort is the kernel side of the RX rings a [Source] reads: RxSync hands
// released slots back and makes new packets visible without blocking;
// WaitRx does the same and blocks until some bound RX ring holds packets.
// *nmsys.Port satisfies it (package packet does not import nmsys).
type RxPort interface {
	RxSync() error
	WaitRx() error
}

// Source reads packets from netmap RX rings for gopacket: it is a
// gopacket.ZeroCopyPacketDataSource and a gopacket.PacketDataSource, so
//
//	src, err := packet.NewSource(port, ring) // port *nmsys.Port, ring from port.RxRing(0)
//	ps := gopacket.NewPacketSource(src, src.LinkType())
//	for p := range ps.Packets() { ... }
//
// captures from a netmap port. It takes every received slot of its rings
// in batches (round-robin over the rings), hands the packets out one per
// call, and releases a batch when it asks for the next one: released slots
// go back to the kernel at the next sync, which happens only when all rings
// are drained (RxSync first, then WaitRx if that brought nothing).
//
// Each packet's CaptureInfo carries the timestamp of the ring it came from
// (ring.ts, microseconds, set by the kernel on every RX sync: all packets
// of one sync share it), CaptureLength and Length equal to the packet's
// length. Packets that span several slots (NS_MOREFRAG) are joined into a
// buffer the Source keeps. A chain whose end has not arrived is held in
// its ring (rings.RxRing.ReleaseHold) while the Source waits for more; one
// that fills the ring, which no later sync can end, is an integrity error.
// The Source never retries without waiting in WaitRx or returning.
//
// When the port is closed (an error matching os.ErrClosed or net.ErrClosed) the read
// error also matches io.EOF, which ends gopacket's PacketSource.Packets
// channel. A read deadline on the port (os.ErrDeadlineExceeded) comes back
// as is; PacketSource retries it.
//
// A Source is not safe for concurrent use; it drives its port's RX side,
// so nothing else may sync or read those rings while it is in use.
type Source struct {
	port  RxPort
	rings []*rings.RxRing
	cur   int // ring of the current batch
	i, n  int // next slot, acquired slots of rings[cur]
	ts    time.Time
	buf   []byte // joined NS_MOREFRAG packets
	// held is, per ring, the slots pending when a chain was found
	// incomplete (0: none): the ring counts as empty until the kernel
	// brings more.
	held []int
}

// NewSource returns a Source reading rx, which must be RX rings of port
// (nmsys Port.RxRing). Give it every bound RX ring of the port (or open
// one port per ring): WaitRx wakes for any of them.
func NewSource(port RxPort, rx ...*rings.RxRing) (*Source, error) {
	if port == nil {
		return nil, errors.New("packet: NewSource: nil port")
	}
	if len(rx) == 0 {
		return nil, errors.New("packet: NewSource: no RX rings")
	}
	for i, r := range rx {
		if r == nil {
			return nil, fmt.Errorf("packet: NewSource: RX ring %d is nil", i)
		}
	}
	return &Source{port: port, rings: append([]*rings.RxRing(nil), rx...), cur: len(rx) - 1, held: make([]int, len(rx))}, nil
}

// LinkType returns layers.LinkTypeEthernet, the link type of every netmap
// port; it is also the gopacket.Decoder for the captured frames.
func (s *Source) LinkType() layers.LinkType { return layers.LinkTypeEthernet }

// ZeroCopyReadPacketData returns the next packet. The slice aliases ring
// memory (or the Source's reassembly buffer) and is valid until the next
// call, which releases its slot. It blocks in the port's WaitRx while the
// rings are empty. It does not allocate, except to grow the reassembly
// buffer for a multi-slot packet longer than any before it.
//
// A slot that fails the rings package's checks is skipped and reported as
// an error matching rings.ErrIntegrity; the next call goes on after it.
func (s *Source) ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	for {
		if s.i < s.n {
			r := s.rings[s.cur]
			i := s.i
			b, fl, err := r.Slot(i) // one read: the flags go with the length
			if err != nil {
				s.i++
				return nil, gopacket.CaptureInfo{}, err
			}
			if fl&abi.NS_MOREFRAG == 0 {
				s.i++
				return b, s.info(len(b)), nil
			}
			n, k, err := r.ReadPacket(i, s.buf[:cap(s.buf)])
			switch {
			case err == nil:
				s.i += k
				return s.buf[:n], s.info(n), nil
			case errors.Is(err, io.ErrShortBuffer):
				// Room for the longest chain there can be: a
				// second try cannot be short, even if the slots
				// changed in between.
				s.buf = make([]byte, max(n, abi.NETMAP_MAX_FRAGS*min(r.BufSize(), 0xffff)))
				continue
			case errors.Is(err, rings.ErrIncomplete):
				// The last fragments come with a later sync:
				// give back the slots before the chain, hold
				// the chain, and wait until the ring has more.
				r.ReleaseHold(i)
				s.held[s.cur] = s.n - i
				s.i, s.n = 0, 0
			default:
				s.i += max(k, 1)
				return nil, gopacket.CaptureInfo{}, err
			}
		}
		if err := s.next(); err != nil {
			return nil, gopacket.CaptureInfo{}, err
		}
	}
}

// ReadPacketData returns a copy of the next packet, which the caller owns.
func (s *Source) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	b, ci, err := s.ZeroCopyReadPacketData()
	if err != nil {
		return nil, ci, err
	}
	return bytes.Clone(b), ci, nil
}

func (s *Source) info(n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: s.ts, CaptureLength: n, Length: n}
}

// next releases the current batch and acquires the next one: from the
// rings after the current one in turn, syncing and then waiting when all
// are empty.
func (s *Source) next() error {
	if s.n > 0 {
		s.rings[s.cur].Release(s.i)
		s.i, s.n = 0, 0
	}
	for synced := false; ; synced = true {
		for k := 1; k <= len(s.rings); k++ {
			j := (s.cur + k) % len(s.rings)
			if err := s.acquire(j); err != nil || s.n > 0 {
				return err
			}
		}
		var err error
		if !synced {
			err = s.port.RxSync()
		} else {
			err = s.port.WaitRx()
		}
		if err != nil {
			return portErr(err)
		}
	}
}

// acquire takes every received slot of ring j as the current batch; a
// ring that holds an incomplete chain and nothing more counts as empty.
func (s *Source) acquire(j int) error {
	r := s.rings[j]
	n, err := r.Acquire(r.NumSlots())
	if err != nil {
		return err
	}
	if n <= s.held[j] {
		r.Release(0) // keeps the hold
		return nil
	}
	s.held[j] = 0
	s.cur, s.i, s.n, s.ts = j, 0, n, r.Timestamp()
	return nil
}

// portErr makes a closed port end the capture: io.EOF is what gopacket's
// PacketSource stops on.
func portErr(err error) error {
	if errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("packet: capture ended: %w (%w)", err, io.EOF)
	}
	return err
}
