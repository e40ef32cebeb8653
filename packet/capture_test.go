package packet

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// simPort plays an nmsys Port over a heapmem region: RxSync is the
// simulator's RX sync of every ring; WaitRx first "receives" up to perWait
// queued frames (round-robin over the rings), and once the queue is empty
// reports the port closed, as Close would.
type simPort struct {
	t       testing.TB
	r       *heapmem.Region
	queue   [][]byte
	perWait int
	next    int // ring for the next injected frame
	syncs   int
	waits   int
}

func (p *simPort) RxSync() error {
	p.syncs++
	for i := range p.r.NumRx() - 1 { // NIC rings; the last is the host ring
		if err := p.r.RxSync(i); err != nil {
			return err
		}
	}
	return nil
}

var errSimClosed = closedErr{}

type closedErr struct{}

func (closedErr) Error() string        { return "sim: port closed" }
func (closedErr) Is(target error) bool { return target == os.ErrClosed }

func (p *simPort) WaitRx() error {
	p.waits++
	if len(p.queue) == 0 {
		return errSimClosed
	}
	for range min(p.perWait, len(p.queue)) {
		if !p.r.Inject(p.next, p.queue[0]) {
			break
		}
		p.queue = p.queue[1:]
		p.next = (p.next + 1) % (p.r.NumRx() - 1)
	}
	return p.RxSync()
}

func newSim(t testing.TB, cfg *heapmem.Config, frames [][]byte, perWait int) (*simPort, []*rings.RxRing) {
	t.Helper()
	r, rx := simRegion(t, cfg)
	return &simPort{t: t, r: r, queue: frames, perWait: perWait}, rx
}

// testFrame returns RTP frame i with a payload of pl bytes (pl >= 6):
// one SRD header and sample data, built with a Template.
func testFrame(t testing.TB, i, pl int) []byte {
	if frameTpl == nil {
		c := tplCases[2].c
		frameTpl = mustTemplate(t, &c)
	}
	tpl := frameTpl
	buf := make([]byte, tpl.Len()+pl)
	PutSRD(buf[tpl.Len():], uint16(pl-SRDLen), false, uint16(i), false, 0)
	for j := tpl.Len() + SRDLen; j < len(buf); j++ {
		buf[j] = byte(i + j)
	}
	return buf[:tpl.Write(buf, pl, &Fields{Seq: uint32(i), Timestamp: uint32(i / 10), ID: uint16(i)})]
}

var frameTpl *Template

// testFrames returns n RTP frames of 62 to 1258 bytes.
func testFrames(t testing.TB, n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, testFrame(t, i, SRDLen+4*((i*97)%300)))
	}
	return out
}

// TestSourcePacketSource runs gopacket.NewPacketSource over two heap rings
// fed in bursts: every frame arrives once, in order per ring, decoded,
// with the ring's timestamp, and the channel closes when the port does.
func TestSourcePacketSource(t *testing.T) {
	frames := testFrames(t, 1000)
	sim, rx := newSim(t, &heapmem.Config{RxRings: 2, RxSlots: 64}, frames, 50)
	src, err := NewSource(sim, rx...)
	if err != nil {
		t.Fatal(err)
	}
	ps := gopacket.NewPacketSource(src, src.LinkType())
	seen := make([]bool, len(frames))
	var last time.Time
	got := 0
	for p := range ps.Packets() {
		r, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			t.Fatalf("packet %d: no UDP layer: %v", got, p)
		}
		var rtp RTP
		if err := rtp.DecodeFromBytes(r.Payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
		i := int(rtp.SequenceNumber)
		if i >= len(frames) || seen[i] || !bytes.Equal(p.Data(), frames[i]) {
			t.Fatalf("packet %d: seq %d, seen %v", got, i, i < len(seen) && seen[i])
		}
		seen[i] = true
		md := p.Metadata()
		if md.CaptureLength != len(frames[i]) || md.Length != len(frames[i]) || md.Timestamp.Before(last) ||
			md.Timestamp.Unix() < 1_700_000_000 {
			t.Fatalf("packet %d: capture info %+v (last %v)", got, md.CaptureInfo, last)
		}
		last = md.Timestamp
		got++
	}
	if got != len(frames) {
		t.Fatalf("received %d of %d frames", got, len(frames))
	}
	if err := sim.r.CheckGuards(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames, %d syncs, %d waits", got, sim.syncs, sim.waits)
}

// TestSourceEOF: a closed port ends the capture with an error matching
// io.EOF and os.ErrClosed.
func TestSourceEOF(t *testing.T) {
	sim, rx := newSim(t, nil, nil, 1)
	src, _ := NewSource(sim, rx...)
	_, _, err := src.ReadPacketData()
	if !errors.Is(err, io.EOF) || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("err %v", err)
	}
}

// TestSourceTimestamps: packets of one sync carry that sync's ring
// timestamp; a later sync a later one.
func TestSourceTimestamps(t *testing.T) {
	frames := testFrames(t, 6)
	sim, rx := newSim(t, nil, frames, 3)
	src, _ := NewSource(sim, rx...)
	var ts []time.Time
	for range 6 {
		_, ci, err := src.ZeroCopyReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, ci.Timestamp)
	}
	if !ts[0].Equal(ts[2]) || !ts[3].Equal(ts[5]) || !ts[3].After(ts[2]) {
		t.Errorf("timestamps %v", ts)
	}
	// The simulator's clock is 1.7e9 s plus one microsecond per sync.
	if ts[0].Unix() != 1_700_000_000 || ts[3].Sub(ts[0]) <= 0 || ts[3].Sub(ts[0]) > 10*time.Microsecond {
		t.Errorf("timestamps %v", ts)
	}
}

// TestSourceMultiSlot: frames larger than a buffer arrive in NS_MOREFRAG
// chains and come out joined, in order with single-slot frames.
func TestSourceMultiSlot(t *testing.T) {
	frames := testFrames(t, 40)
	sim, rx := newSim(t, &heapmem.Config{RxSlots: 64, BufSize: 256}, frames, 7)
	src, _ := NewSource(sim, rx...)
	for i, want := range frames {
		b, ci, err := src.ZeroCopyReadPacketData()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(b, want) || ci.CaptureLength != len(want) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(b), len(want))
		}
	}
	if _, _, err := src.ZeroCopyReadPacketData(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v", err)
	}
}

// TestSourceIncompleteChain: a tail that stops inside a NS_MOREFRAG chain
// (the rest comes with the next sync) makes the Source sync and read the
// chain again whole.
func TestSourceIncompleteChain(t *testing.T) {
	// Frame 0 takes slot 0, frame 1 slots 1-3, frame 2 slot 4; the user
	// first sees a tail of 3, inside frame 1's chain.
	frames := [][]byte{testFrame(t, 0, 100), testFrame(t, 1, 700), testFrame(t, 2, 10)}
	sim, rx := newSim(t, &heapmem.Config{RxSlots: 16, BufSize: 256}, nil, 1)
	for _, f := range frames {
		if !sim.r.Inject(0, f) {
			t.Fatal("inject")
		}
	}
	if err := sim.r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	sim.r.SetTail(sim.r.RxRingOff(0), 3)
	src, _ := NewSource(sim, rx...)
	for i, want := range frames {
		b, _, err := src.ZeroCopyReadPacketData()
		if err != nil || !bytes.Equal(b, want) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(b), err)
		}
	}
	if sim.syncs == 0 {
		t.Error("the Source never synced to complete the chain")
	}
}

// TestSourceIntegrity: a slot with a bad buffer index is reported as an
// integrity error and skipped; reading goes on with the next slot.
func TestSourceIntegrity(t *testing.T) {
	frames := testFrames(t, 3)
	sim, rx := newSim(t, &heapmem.Config{RxSlots: 16}, nil, 1)
	for _, f := range frames {
		sim.r.Inject(0, f)
	}
	if err := sim.r.RxSync(0); err != nil {
		t.Fatal(err)
	}
	sim.r.SetBufIdx(sim.r.RxRingOff(0), 1, 1<<30)
	src, _ := NewSource(sim, rx...)
	if b, _, err := src.ZeroCopyReadPacketData(); err != nil || !bytes.Equal(b, frames[0]) {
		t.Fatalf("frame 0: %v", err)
	}
	if _, _, err := src.ZeroCopyReadPacketData(); !errors.Is(err, rings.ErrIntegrity) {
		t.Fatalf("bad slot: %v", err)
	}
	if b, _, err := src.ZeroCopyReadPacketData(); err != nil || !bytes.Equal(b, frames[2]) {
		t.Fatalf("frame 2: %v", err)
	}
}

// TestSourceZeroCopyAllocs: reading a batch costs no allocation.
func TestSourceZeroCopyAllocs(t *testing.T) {
	frames := testFrames(t, 1000)
	sim, rx := newSim(t, &heapmem.Config{RxSlots: 1024}, frames, 1000)
	src, _ := NewSource(sim, rx...)
	if n := testing.AllocsPerRun(900, func() {
		if _, _, err := src.ZeroCopyReadPacketData(); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Errorf("ZeroCopyReadPacketData allocates %v times", n)
	}
}

func TestNewSourceErrors(t *testing.T) {
	sim, rx := newSim(t, nil, nil, 1)
	if _, err := NewSource(nil, rx...); err == nil {
		t.Error("nil port accepted")
	}
	if _, err := NewSource(sim); err == nil {
		t.Error("no rings accepted")
	}
	if _, err := NewSource(sim, rx[0], nil); err == nil {
		t.Error("nil ring accepted")
	}
}
