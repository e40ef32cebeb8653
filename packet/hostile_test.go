package packet

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/nmgo/nmgo/internal/abi"
	"github.com/nmgo/nmgo/internal/heapmem"
	"github.com/nmgo/nmgo/rings"
)

// A Source over a scripted hostile kernel: ring states a kernel (or a
// peer) could leave, and a check that the Source never retries without
// waiting. hostilePort plays the port: RxSync syncs every ring; WaitRx
// syncs and returns at once if a ring is ready as netmap's poll sees it
// (cur != tail), else it is where the Source would sleep: the kernel then
// does the next step of its script, or, with none left, the port closes.
// More than spinLimit syncs or waits in one test is a spin: both return
// errSpin, which the Source hands back instead of the packets the test
// expects.
type hostilePort struct {
	r            *heapmem.Region
	script       []func(*heapmem.Region)
	syncs, waits int
	// idle counts syncs and waits that returned at once since the last
	// script step or reset: a Source that keeps calling them without the
	// kernel doing anything spins, whatever the totals.
	idle, maxIdle int
}

func (p *hostilePort) busy() error {
	if p.idle++; p.maxIdle > 0 && p.idle > p.maxIdle {
		return errSpin
	}
	return nil
}

const spinLimit = 1000

var errSpin = errors.New("hostile kernel: 1000 syncs or waits: the Source spins")

func (p *hostilePort) syncAll() error {
	for i := range p.r.NumRx() - 1 {
		if err := p.r.RxSync(i); err != nil {
			return err
		}
	}
	return nil
}

func (p *hostilePort) RxSync() error {
	if p.syncs++; p.syncs > spinLimit {
		return errSpin
	}
	if err := p.busy(); err != nil {
		return err
	}
	return p.syncAll()
}

func (p *hostilePort) WaitRx() error {
	if p.waits++; p.waits > spinLimit {
		return errSpin
	}
	if err := p.syncAll(); err != nil {
		return err
	}
	for i := range p.r.NumRx() - 1 {
		if p.r.RxReady(i) {
			return p.busy() // poll would not sleep
		}
	}
	if len(p.script) == 0 {
		return errSimClosed
	}
	step := p.script[0]
	p.script = p.script[1:]
	step(p.r)
	p.idle = 0
	return p.syncAll()
}

// simRegion builds a heap region and the views of its NIC RX rings (the
// last RX ring is the host ring).
func simRegion(t testing.TB, cfg *heapmem.Config) (*heapmem.Region, []*rings.RxRing) {
	t.Helper()
	r, err := heapmem.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rx []*rings.RxRing
	for i := range r.NumRx() - 1 {
		ring, err := rings.NewRxRing(r.Mem, r.RxRingOff(i))
		if err != nil {
			t.Fatal(err)
		}
		rx = append(rx, ring)
	}
	return r, rx
}

// frags splits pkt into pieces of at most n octets.
func frags(pkt []byte, n int) [][]byte {
	var out [][]byte
	for len(pkt) > n {
		out = append(out, pkt[:n])
		pkt = pkt[n:]
	}
	return append(out, pkt)
}

// TestSourceHostileKernel: for each ring state, the packets the Source
// hands out (an error as "error"), in order, and that it got there with a
// handful of syncs and waits.
func TestSourceHostileKernel(t *testing.T) {
	const bufSize = 256
	f0, f1, f2 := testFrame(t, 0, 100), testFrame(t, 1, 100), testFrame(t, 2, 100)
	long := testFrame(t, 3, 3*bufSize) // 4 slots
	must := func(ok bool) {
		if !ok {
			t.Fatal("heapmem refused to inject")
		}
	}
	inject := func(ring int, pkts ...[]byte) func(*heapmem.Region) {
		return func(r *heapmem.Region) {
			for _, p := range pkts {
				must(r.Inject(ring, p))
			}
		}
	}
	chain := func(ring int, fr [][]byte, more bool) func(*heapmem.Region) {
		return func(r *heapmem.Region) { must(r.InjectFrags(ring, fr, more)) }
	}
	const errPkt = "error"
	for _, c := range []struct {
		name   string
		rings  int
		slots  int
		start  []func(*heapmem.Region) // before the Source starts
		script []func(*heapmem.Region) // one step per wait that would sleep
		want   []any                   // []byte, or errPkt for an integrity error
	}{{
		name:  "a chain that never ends",
		start: []func(*heapmem.Region){inject(0, f0, f1), chain(0, frags(long, bufSize)[:3], true)},
		want:  []any{f0, f1},
	}, {
		name:   "a chain whose end comes after a wait",
		start:  []func(*heapmem.Region){inject(0, f0), chain(0, frags(long, bufSize)[:2], true)},
		script: []func(*heapmem.Region){chain(0, frags(long, bufSize)[2:], false), inject(0, f1)},
		want:   []any{f0, long, f1},
	}, {
		name:   "a chain in pieces, one per wait",
		start:  []func(*heapmem.Region){chain(0, frags(long, bufSize)[:1], true)},
		script: []func(*heapmem.Region){chain(0, frags(long, bufSize)[1:2], true), chain(0, frags(long, bufSize)[2:3], true), chain(0, frags(long, bufSize)[3:], false)},
		want:   []any{long},
	}, {
		name:   "a chain that fills the ring",
		slots:  16,
		start:  []func(*heapmem.Region){chain(0, frags(bytes.Repeat([]byte{7}, 15*bufSize), bufSize), true)},
		script: []func(*heapmem.Region){inject(0, f2)},
		want:   []any{errPkt, f2},
	}, {
		// The 64 slots the error skips; the other 6 read as the start
		// of the next packet, as netmap would have it.
		name:   "a chain past NETMAP_MAX_FRAGS",
		slots:  128,
		start:  []func(*heapmem.Region){chain(0, frags(bytes.Repeat([]byte{7}, 70*bufSize), bufSize), true)},
		script: []func(*heapmem.Region){inject(0, f2)},
		want:   []any{errPkt, append(bytes.Repeat([]byte{7}, 6*bufSize), f2...)},
	}, {
		name:   "one ring holds a chain, the other flows",
		rings:  2,
		start:  []func(*heapmem.Region){chain(0, frags(long, bufSize)[:3], true), inject(1, f0)},
		script: []func(*heapmem.Region){inject(1, f1), inject(1, f2)},
		want:   []any{f0, f1, f2},
	}} {
		t.Run(c.name, func(t *testing.T) {
			slots := c.slots
			if slots == 0 {
				slots = 32
			}
			r, rx := simRegion(t, &heapmem.Config{RxRings: max(c.rings, 1), RxSlots: slots, BufSize: bufSize})
			for _, step := range c.start {
				step(r)
			}
			port := &hostilePort{r: r, script: c.script}
			if err := port.syncAll(); err != nil {
				t.Fatal(err)
			}
			src, err := NewSource(port, rx...)
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range c.want {
				b, _, err := src.ZeroCopyReadPacketData()
				switch want := want.(type) {
				case string:
					if !errors.Is(err, rings.ErrIntegrity) {
						t.Fatalf("read %d: %d octets, %v; want an integrity error", k, len(b), err)
					}
				case []byte:
					if err != nil || !bytes.Equal(b, want) {
						t.Fatalf("read %d: %d octets, %v; want the %d-octet packet", k, len(b), err, len(want))
					}
				}
			}
			if b, _, err := src.ZeroCopyReadPacketData(); !errors.Is(err, io.EOF) {
				t.Fatalf("after the packets: %d octets, %v; want the end of the capture", len(b), err)
			}
			if port.syncs+port.waits > 4*(len(c.want)+len(c.script)+2) {
				t.Errorf("%d syncs and %d waits for %d reads", port.syncs, port.waits, len(c.want)+1)
			}
			if err := r.CheckGuards(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// FuzzSource runs a Source over a kernel that the input scripts: each
// step, run where the Source would sleep, injects packets, leaves chains
// open or fills the ring with one, or writes any buf_idx, len or flags
// into the slots it is about to hand over. The Source must never panic,
// never write outside the region, and never call the port
// more than a few times without the kernel doing something (a spin).
func FuzzSource(f *testing.F) {
	f.Add([]byte{0, 100, 1, 3, 1, 2, 2, 0, 0})
	f.Add([]byte{1, 31, 1, 1, 31, 0, 0, 50})
	f.Add([]byte{3, 0, 2, 200, 3, 1, 1, 4, 1, 0, 7, 1, 2, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		const bufSize, slots = 128, 32
		r, rx := simRegion(t, &heapmem.Config{RxRings: 2, RxSlots: slots, BufSize: bufSize})
		u8 := func() int {
			if len(in) == 0 {
				return 0
			}
			v := in[0]
			in = in[1:]
			return int(v)
		}
		var script []func(*heapmem.Region)
		for len(in) > 0 && len(script) < 64 {
			op, ring := u8(), u8()%2
			switch op % 4 {
			case 0: // a packet of up to 4 buffers
				pkt := bytes.Repeat([]byte{byte(op)}, 1+u8()*2)
				script = append(script, func(r *heapmem.Region) { r.Inject(ring, pkt) })
			case 1: // fragments, the chain left open or not
				n, more := 1+u8()%(slots+2), u8()%2 == 1
				fr := make([][]byte, n)
				for i := range fr {
					fr[i] = bytes.Repeat([]byte{byte(i)}, 1+i%bufSize)
				}
				script = append(script, func(r *heapmem.Region) { r.InjectFrags(ring, fr, more) })
			case 2: // a hostile value in a slot the kernel owns
				field, slot, v := u8()%3, u8()%slots, uint32(u8())<<(u8()%24)
				script = append(script, func(r *heapmem.Region) {
					hw, _ := r.HW(false, ring)
					s := (int(hw) + slot) % slots
					switch field {
					case 0:
						r.SetBufIdx(r.RxRingOff(ring), s, v)
					case 1:
						r.SetLen(r.RxRingOff(ring), s, uint16(v))
					case 2:
						r.SetFlags(r.RxRingOff(ring), s, uint16(v))
					}
				})
			case 3: // nothing: a wake-up that brings no packet
				script = append(script, func(*heapmem.Region) {})
			}
		}
		port := &hostilePort{r: r, script: script, maxIdle: 8}
		src, err := NewSource(port, rx...)
		if err != nil {
			t.Fatal(err)
		}
		for range 4 * (len(script) + 4) {
			port.idle = 0
			b, _, err := src.ZeroCopyReadPacketData()
			if errors.Is(err, errSpin) {
				t.Fatalf("the Source spins: %d syncs, %d waits", port.syncs, port.waits)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err == nil && len(b) > abi.NETMAP_MAX_FRAGS*bufSize {
				t.Fatalf("a %d-octet packet from %d-octet buffers", len(b), bufSize)
			}
		}
		if err := r.CheckGuards(); err != nil {
			t.Fatal(err)
		}
	})
}
