package video

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nmgo/nmgo/internal/wide"
	"github.com/nmgo/nmgo/packet"
)

// mergeFlow is a flow's packets as a sender sends them: each frame's
// packets, spread evenly over the frame period from when the frame is due.
type mergeFlow struct {
	f      Format
	frames [][]byte // the frames sent
	pkts   [][]byte // every packet, in order
	frame  []int    // the frame of each packet
	send   []int64  // when each packet is sent, ns
	first  []int    // the first packet of each frame
	plan   []PacketInfo
}

// newMergeFlow packetizes n random frames of f (GPM, RTP only).
func newMergeFlow(t testing.TB, f Format, n int) *mergeFlow {
	t.Helper()
	fl := &mergeFlow{f: f}
	fl.add(t, n, 65500, 0)
	return fl
}

// add packetizes n more random frames, due from frame period k0 on, from
// a sender that starts at sequence number seq.
func (fl *mergeFlow) add(t testing.TB, n int, seq uint16, k0 int) {
	t.Helper()
	f := fl.f
	p := mustPacketizer(t, f, &PacketizerConfig{SSRC: 7, Seq: uint32(seq)})
	period := int64(f.Rate.Period())
	base := int64(1_800_000_000_000_000_000)
	for j := range n {
		k := len(fl.frames)
		frame := randomFrame(&f, uint64(k)+1)
		fl.frames = append(fl.frames, frame)
		ss := packetize(t, p, frame, base+int64(k0+j)*period)
		fl.first = append(fl.first, len(fl.pkts))
		for i, s := range ss {
			fl.pkts = append(fl.pkts, s.b)
			fl.plan = append(fl.plan, s.pk)
			fl.frame = append(fl.frame, k)
			fl.send = append(fl.send, base+int64(k0+j)*period+int64(i)*period/int64(len(ss)))
		}
	}
}

// mergeEvent is one copy of a packet arriving on a path.
type mergeEvent struct {
	pkt, path int
	at        int64
}

// arrivals returns the copies the paths bring, in arrival order (path 0
// first on a tie): path p brings packet i unless drop[p](i), delay[p]
// after it was sent.
func (fl *mergeFlow) arrivals(drop [2]func(int) bool, delay [2]time.Duration) []mergeEvent {
	var ev []mergeEvent
	for i := range fl.pkts {
		for p := range 2 {
			if drop[p] == nil || !drop[p](i) {
				ev = append(ev, mergeEvent{i, p, fl.send[i] + int64(delay[p])})
			}
		}
	}
	slices.SortStableFunc(ev, func(a, b mergeEvent) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return a.path - b.path
	})
	return ev
}

// mergeGot is what a Merge handed out.
type mergeGot struct {
	frames [][]byte
	stats  []FrameStats
	at     []int64
}

// newTestMerge returns a merge of fl's format with window w, collecting
// its frames; each frame buffer starts filled with fillByte.
func newTestMerge(t testing.TB, fl *mergeFlow, w time.Duration) (*Merge, *mergeGot) {
	t.Helper()
	got := &mergeGot{}
	size := fl.f.FrameSize()
	m, err := NewMerge(&MergeConfig{Format: fl.f, PayloadType: 96, Window: w,
		TakeFrame: func(buf []byte, st *FrameStats, at int64) []byte {
			got.frames = append(got.frames, buf)
			got.stats = append(got.stats, *st)
			got.at = append(got.at, at)
			return filled(size)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.slots {
		_ = m.slots[i].d.SetBuffer(filled(size))
	}
	return m, got
}

// feed pushes the events into m, then flushes it.
func feed(m *Merge, fl *mergeFlow, ev []mergeEvent) {
	for _, e := range ev {
		m.Push(e.path, fl.pkts[e.pkt], e.at)
	}
	m.Flush()
}

// want returns frame k as a receiver of the packets not in lost must
// have it (fillByte where a lost packet's data goes).
func (fl *mergeFlow) want(k int, lost func(int) bool) []byte {
	w := filled(fl.f.FrameSize())
	end := len(fl.pkts)
	if k+1 < len(fl.first) {
		end = fl.first[k+1]
	}
	for i := fl.first[k]; i < end; i++ {
		if lost == nil || !lost(i) {
			apply(w, fl.frames[k], &fl.f, fl.plan[i])
		}
	}
	return w
}

// randomDrops returns a drop function that takes each packet with
// probability pct/100, from its own random source.
func randomDrops(n, pct int, seed uint64) (func(int) bool, int) {
	r := rand.New(rand.NewPCG(seed, 7))
	drop := make([]bool, n)
	count := 0
	for i := range drop {
		if r.IntN(100) < pct {
			drop[i], count = true, count+1
		}
	}
	return func(i int) bool { return drop[i] }, count
}

// TestMergeRandomLoss: each path drops 5% of the packets at random,
// independently: the merged frames are byte for byte the frames sent,
// none lost, and the per-path counts say what each path lost and
// brought, for a small format and 1080p59.94.
func TestMergeRandomLoss(t *testing.T) {
	for _, c := range []struct {
		name string
		f    Format
		n    int
	}{
		{"64x32p50", Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 100},
		{"1080p59.94", bench1080p, 6},
		{"1080i29.97", Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Interlaced, Rate: Rate29_97}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			fl := newMergeFlow(t, c.f, c.n)
			d0, n0 := randomDrops(len(fl.pkts), 5, 1)
			d1, n1 := randomDrops(len(fl.pkts), 5, 2)
			both := 0
			for i := range fl.pkts {
				if d0(i) && d1(i) {
					both++
				}
			}
			// Common losses are what a merge cannot repair: this test
			// wants none, so it takes them out of path 1's drops.
			d1x := func(i int) bool { return d1(i) && !d0(i) }
			n1 -= both
			m, got := newTestMerge(t, fl, SkewClassA)
			feed(m, fl, fl.arrivals([2]func(int) bool{d0, d1x}, [2]time.Duration{0, 200 * time.Microsecond}))
			if len(got.frames) != c.n {
				t.Fatalf("%d frames, want %d; %+v", len(got.frames), c.n, m.Stats())
			}
			for k := range got.frames {
				if !bytes.Equal(got.frames[k], fl.frames[k]) {
					t.Errorf("frame %d differs at %d; %+v", k, firstDiff(got.frames[k], fl.frames[k]), got.stats[k])
				}
				if st := got.stats[k]; !st.Complete || !st.Marker || st.Lost != 0 || st.Paths[0]+st.Paths[1] != st.Packets {
					t.Errorf("frame %d: %+v", k, st)
				}
			}
			st, p0, p1 := m.Stats(), m.PathStats(0), m.PathStats(1)
			total := uint64(len(fl.pkts))
			t.Logf("%d packets; path 0 dropped %d, path 1 %d; %+v; path 0 %+v; path 1 %+v; %v", total, n0, n1, st.Stats, p0, p1, m.Skew())
			if st.Lost != 0 || st.Packets != total || st.Late != 0 || st.Complete != uint64(c.n) || st.Delivered != uint64(c.n) {
				t.Errorf("flow: %+v", st)
			}
			if p0.Packets != total-uint64(n0) || p1.Packets != total-uint64(n1) || p0.Lost > uint64(n0) || p1.Lost > uint64(n1) ||
				p0.Taken+p1.Taken != total || p0.Duplicates+p1.Duplicates != total-uint64(n0+n1) || st.Duplicates != total-uint64(n0+n1) {
				t.Errorf("paths: %+v and %+v, for %d packets of which path 0 dropped %d, path 1 %d", p0, p1, total, n0, n1)
			}
			// A path's loss between its first and last packet is exact.
			inner := func(d func(int) bool) uint64 {
				lo, hi := 0, len(fl.pkts)-1
				for d(lo) {
					lo++
				}
				for d(hi) {
					hi--
				}
				n := uint64(0)
				for i := lo; i <= hi; i++ {
					if d(i) {
						n++
					}
				}
				return n
			}
			if p0.Lost != inner(d0) || p1.Lost != inner(d1x) {
				t.Errorf("per-path loss %d and %d, want %d and %d", p0.Lost, p1.Lost, inner(d0), inner(d1x))
			}
			if sk := m.Skew(); sk.Samples == 0 || sk.Min != 200*time.Microsecond || sk.Max != 200*time.Microsecond {
				t.Errorf("skew: %v, want 200µs", sk)
			}
		})
	}
}

// TestMergeCommonLoss: both paths drop the same packets (and each some
// of its own): exactly those are lost, in the frames and the counts.
func TestMergeCommonLoss(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate50}, 30)
	common := map[int]bool{}
	for _, i := range []int{5, 6, 50, 51, 52, 300, 901, 1439} {
		common[i] = true
	}
	own0, _ := randomDrops(len(fl.pkts), 5, 3)
	own1, _ := randomDrops(len(fl.pkts), 5, 4)
	d0 := func(i int) bool { return common[i] || own0(i) && !own1(i) }
	d1 := func(i int) bool { return common[i] || own1(i) && !own0(i) }
	m, got := newTestMerge(t, fl, SkewClassA)
	feed(m, fl, fl.arrivals([2]func(int) bool{d0, d1}, [2]time.Duration{time.Millisecond, 0}))
	st := m.Stats()
	if st.Lost != uint64(len(common)) || len(got.frames) != 30 {
		t.Fatalf("%d lost, want %d; %d frames; %+v", st.Lost, len(common), len(got.frames), st)
	}
	lostIn, inner := make([]int, 30), make([]int, 30)
	for i := range common {
		k := fl.frame[i]
		lostIn[k]++
		if i != fl.first[k] && (k+1 == len(fl.first) || i != fl.first[k+1]-1) {
			inner[k]++ // what the frame can tell: between its first and last packet
		}
	}
	for k := range got.frames {
		want := fl.want(k, func(i int) bool { return common[i] })
		if !bytes.Equal(got.frames[k], want) {
			t.Errorf("frame %d differs at %d from the frame without its lost packets", k, firstDiff(got.frames[k], want))
		}
		s := got.stats[k]
		if s.Complete != (lostIn[k] == 0) {
			t.Errorf("frame %d: %d packets lost, %+v", k, lostIn[k], s)
		}
		if s.Lost != inner[k] {
			t.Errorf("frame %d: %d lost between its first and last packet, frame says %d", k, inner[k], s.Lost)
		}
	}
	if st.Late != 0 || st.Delivered != 30 {
		t.Errorf("%+v", st)
	}
}

// TestMergeSkew: path 1 sends its copies 5 ms after path 0, which drops
// packets: in a class A window (10 ms) the frames are still byte for
// byte the ones sent; 25 ms after, beyond the window, the copies that
// path 0 did not bring are late, counted, and written into no frame, and
// the frames that missed them are handed out without them.
func TestMergeSkew(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}, 40)
	d0 := func(i int) bool { return i%37 == 5 }
	dropped := 0
	for i := range fl.pkts {
		if d0(i) {
			dropped++
		}
	}
	t.Run("within", func(t *testing.T) {
		m, got := newTestMerge(t, fl, SkewClassA)
		feed(m, fl, fl.arrivals([2]func(int) bool{d0, nil}, [2]time.Duration{0, 5 * time.Millisecond}))
		if len(got.frames) != 40 {
			t.Fatalf("%d frames", len(got.frames))
		}
		for k := range got.frames {
			if !bytes.Equal(got.frames[k], fl.frames[k]) {
				t.Errorf("frame %d differs; %+v", k, got.stats[k])
			}
		}
		st, sk := m.Stats(), m.Skew()
		if st.Lost != 0 || st.Late != 0 || sk.Min != 5*time.Millisecond || sk.Max != 5*time.Millisecond {
			t.Errorf("%+v; %v", st, sk)
		}
		if p1 := m.PathStats(1); p1.Taken != uint64(dropped) {
			t.Errorf("path 1 gave %d packets, path 0 dropped %d", p1.Taken, dropped)
		}
		t.Logf("%+v; %v", st.Stats, sk)
	})
	t.Run("beyond", func(t *testing.T) {
		// A frame waits the window after it ends on path 0 (its marker,
		// or the next frame's first packet), on the clock of path 1,
		// which lags: a copy from path 1 that comes within the window is
		// taken, later ones are late; 25 ms behind, most are late. Each
		// copy of a packet path 0 lost is taken or late, never both, and
		// every frame holds its own packets: where it differs from the
		// frame sent, it lacks exactly the packets it counts missing.
		const skew, window = 25 * time.Millisecond, SkewClassA
		m, got := newTestMerge(t, fl, window)
		feed(m, fl, fl.arrivals([2]func(int) bool{d0, nil}, [2]time.Duration{0, skew}))
		if len(got.frames) != 40 {
			t.Fatalf("%d frames", len(got.frames))
		}
		st, p1 := m.Stats(), m.PathStats(1)
		if p1.Taken == 0 || p1.Late == 0 || p1.Taken+p1.Late != uint64(dropped) || st.Late != p1.Late || st.Lost != p1.Late {
			t.Errorf("%d dropped on path 0: %+v; path 1 %+v", dropped, st, p1)
		}
		missingAll := 0
		for k := range got.frames {
			ps := fl.first[k]
			end := len(fl.pkts)
			if k+1 < len(fl.first) {
				end = fl.first[k+1]
			}
			missing := (end - ps) - got.stats[k].Packets
			missingAll += missing
			differ := 0
			for i := ps; i < end; i++ {
				w := filled(fl.f.FrameSize())
				apply(w, fl.frames[k], &fl.f, fl.plan[i])
				g := filled(fl.f.FrameSize())
				apply(g, got.frames[k], &fl.f, fl.plan[i])
				if !bytes.Equal(w, g) {
					if !d0(i) {
						t.Errorf("frame %d: packet %d, which path 0 brought, differs", k, i)
					}
					differ++
				}
			}
			if differ != missing || got.stats[k].Complete != (missing == 0) {
				t.Errorf("frame %d: %d packets differ from the frame sent, %d missing; %+v", k, differ, missing, got.stats[k])
			}
		}
		if uint64(missingAll) != p1.Late {
			t.Errorf("%d packets missing from the frames, %d copies late", missingAll, p1.Late)
		}
		if sk := m.Skew(); sk.Min != skew || sk.Max != skew {
			t.Errorf("%v", sk)
		}
		t.Logf("%d late, %d taken from path 1; %+v", p1.Late, p1.Taken, st.Stats)
	})
}

// TestMergePathDies: path 1 stops halfway, path 0 drops nothing: every
// frame comes, on time; then path 0 stops and path 1 comes back.
func TestMergePathDies(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 60)
	half := len(fl.pkts) / 2
	m, got := newTestMerge(t, fl, SkewClassB)
	feed(m, fl, fl.arrivals([2]func(int) bool{func(i int) bool { return i > 3*half/2 }, func(i int) bool { return i > half/2 && i < half }},
		[2]time.Duration{0, time.Millisecond}))
	if len(got.frames) != 60 {
		t.Fatalf("%d frames", len(got.frames))
	}
	for k := range got.frames {
		if !bytes.Equal(got.frames[k], fl.frames[k]) {
			t.Errorf("frame %d differs", k)
		}
	}
	if st := m.Stats(); st.Lost != 0 || st.Complete != 60 {
		t.Errorf("%+v", st)
	}
}

// TestMergeHandsOutInTime: a frame that misses a packet on both paths
// waits the window, no longer, and frames behind it wait for it; a
// complete frame goes with its last packet.
func TestMergeHandsOutInTime(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 6)
	lost := fl.first[2] + 3 // in frame 2, on both paths
	drop := func(i int) bool { return i == lost }
	m, got := newTestMerge(t, fl, SkewClassB)
	var out []int64 // when each frame came out
	for _, e := range fl.arrivals([2]func(int) bool{drop, drop}, [2]time.Duration{0, time.Millisecond}) {
		m.Push(e.path, fl.pkts[e.pkt], e.at)
		for len(out) < len(got.frames) {
			out = append(out, e.at)
		}
	}
	if len(got.frames) != 6 {
		m.Flush()
		t.Fatalf("%d frames before the flush, want all 6", len(got.frames))
	}
	// Frame 2 ends with its marker on path 0 and waits the window for the
	// packet both paths lost; frames 3 and 4 end meanwhile, complete, and
	// wait for it; the others go with their last packet on path 0.
	end2 := fl.send[fl.first[3]-1]
	for k, at := range out {
		want := fl.send[len(fl.pkts)-1]
		if k+1 < 6 {
			want = fl.send[fl.first[k+1]-1]
		}
		if k >= 2 && k <= 4 {
			want = end2 + int64(SkewClassB)
		}
		// The first packet at or after that time hands the frame out.
		if at < want || at > want+int64(fl.f.Rate.Period())/8 {
			t.Errorf("frame %d out at %+d ns, want %+d", k, at-fl.send[0], want-fl.send[0])
		}
	}
	if got.stats[2].Complete || got.stats[2].Lost != 1 || !got.stats[3].Complete {
		t.Errorf("frames 2 and 3: %+v, %+v", got.stats[2], got.stats[3])
	}
}

// TestMergeErrors: configurations a merge refuses.
func TestMergeErrors(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}
	noRate := f
	noRate.Rate = Rate{}
	fast := f
	fast.Rate = Rate{1000, 1}
	small, _ := NewBudget(1 << 20)
	for _, c := range []struct {
		cfg  *MergeConfig
		want string
	}{
		{nil, "without a config"},
		{&MergeConfig{Format: noRate}, "needs its frame rate"},
		{&MergeConfig{Format: f, Window: -1}, "outside"},
		{&MergeConfig{Format: f, Window: 2 * time.Second}, "outside"},
		{&MergeConfig{Format: fast, Window: time.Second}, "holds more than"},
		{&MergeConfig{Format: bench1080p, Budget: small}, "memory budget"},
	} {
		if _, err := NewMerge(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	if small.Used() != 0 {
		t.Errorf("a refused merge left %d octets charged", small.Used())
	}
}

// TestMergeWindowMemory: the frames held and the memory charged follow
// the class, not the packets.
func TestMergeWindowMemory(t *testing.T) {
	for _, c := range []struct {
		w    time.Duration
		held int
	}{{SkewClassA, 3}, {SkewClassB, 5}, {SkewClassC, 29}} {
		b, _ := NewBudget(DefaultMemory)
		m, err := NewMerge(&MergeConfig{Format: bench1080p, Window: c.w, Budget: b})
		if err != nil {
			t.Fatal(err)
		}
		if m.Held() != c.held || b.Used() < int64(c.held*bench1080p.FrameSize()) || b.Used() > int64(c.held+1)*int64(bench1080p.FrameSize()) {
			t.Errorf("window %v: %d frames held, %d octets charged", c.w, m.Held(), b.Used())
		}
		t.Logf("window %v at 1080p59.94: %d frames, %.1f MB charged", c.w, m.Held(), float64(b.Used())/1e6)
	}
}

// TestReceiverMerge: two Receivers, one per path, demultiplex Ethernet
// frames into one Merge through streams with RxStream.Merge; the path
// receivers charge no frame buffer of their own.
func TestReceiverMerge(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}
	fl := newMergeFlow(t, f, 20)
	m, got := newTestMerge(t, fl, SkewClassA)
	b, _ := NewBudget(DefaultMemory)
	var rs [2]*Receiver
	for p := range rs {
		r, err := NewReceiver(&ReceiverConfig{Budget: b, Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: m, Path: p}}})
		if err != nil {
			t.Fatal(err)
		}
		rs[p] = r
	}
	if b.Used() >= int64(f.FrameSize())*2+2*receiverMemory+2*streamMemory {
		t.Errorf("the path receivers charged %d octets", b.Used())
	}
	tmpl := [2][]byte{}
	for p := range tmpl {
		tmpl[p] = udpFrameHeader(uint16(5004 + 2*p))
	}
	d0, _ := randomDrops(len(fl.pkts), 10, 5)
	d1 := func(i int) bool { return !d0(i) && i%3 == 0 }
	for _, e := range fl.arrivals([2]func(int) bool{d0, d1}, [2]time.Duration{0, time.Millisecond}) {
		frame := append(slices.Clone(tmpl[e.path]), fl.pkts[e.pkt]...)
		binary.BigEndian.PutUint16(frame[16:], uint16(len(frame)-14))
		binary.BigEndian.PutUint16(frame[38:], uint16(len(frame)-34))
		if !rs[e.path].Push(frame, e.at) {
			t.Fatal("a packet of the flow's port belongs to no stream")
		}
	}
	m.Flush()
	if len(got.frames) != 20 {
		t.Fatalf("%d frames", len(got.frames))
	}
	for k := range got.frames {
		if !bytes.Equal(got.frames[k], fl.frames[k]) {
			t.Errorf("frame %d differs", k)
		}
	}
	if st := rs[1].Stats(0); st.Port != 5006 || st.Bytes == 0 || st.Packets != 0 {
		t.Errorf("path 1's stream: %+v", st)
	}
	// Misconfigured paths.
	for _, s := range []RxStream{
		{Port: 1, Merge: m, Path: 2},
		{Port: 1, Merge: m, Format: bench1080p},
		{Port: 1, Merge: m, Count: 1},
	} {
		if _, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{s}}); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}

// udpFrameHeader is an Ethernet, IPv4 and UDP header to port, lengths
// to be patched.
func udpFrameHeader(port uint16) []byte {
	h := make([]byte, 42)
	h[12], h[13] = 0x08, 0x00
	h[14] = 0x45
	h[14+8], h[14+9] = 64, 17
	copy(h[26:], []byte{10, 0, 0, 1, 239, 1, 1, 1})
	binary.BigEndian.PutUint16(h[34:], 5004)
	binary.BigEndian.PutUint16(h[36:], port)
	return h
}

// udpFrame is pkt in an Ethernet frame from udpFrameHeader to port, its
// IP and UDP lengths those of the whole frame.
func udpFrame(port uint16, pkt []byte) []byte {
	fr := append(udpFrameHeader(port), pkt...)
	binary.BigEndian.PutUint16(fr[16:], uint16(len(fr)-14))
	binary.BigEndian.PutUint16(fr[38:], uint16(len(fr)-34))
	return fr
}

// TestMergeAllocs: pushing packets from both paths, first copies and
// duplicates, and handing out frames allocate nothing.
func TestMergeAllocs(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 4)
	bufs := [][]byte{make([]byte, fl.f.FrameSize()), make([]byte, fl.f.FrameSize())}
	n := 0
	m, err := NewMerge(&MergeConfig{Format: fl.f, TakeFrame: func(buf []byte, st *FrameStats, at int64) []byte {
		n++
		return bufs[n%2]
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev := fl.arrivals([2]func(int) bool{func(i int) bool { return i%7 == 0 }, nil}, [2]time.Duration{0, time.Millisecond})
	round := 0
	allocs := testing.AllocsPerRun(20, func() {
		round++
		for _, e := range ev {
			pk := fl.pkts[e.pkt]
			// A new round of frames: later sequence numbers and timestamps.
			binary.BigEndian.PutUint16(pk[2:], uint16(e.pkt+round*len(fl.pkts)))
			binary.BigEndian.PutUint32(pk[4:], uint32(fl.frame[e.pkt]+4*round)*1800)
			m.Push(e.path, pk, e.at+int64(round)*int64(time.Second))
		}
		m.Expire(int64(round+1) * int64(time.Second) * 2)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations a round", allocs)
	}
	if st := m.Stats(); n < 80 || st.Lost != 0 {
		t.Errorf("%d frames; %+v", n, st)
	}
}

// mergeFuzzFormats are the formats FuzzMerge picks from: small, with few
// packets a frame, progressive and interlaced.
var mergeFuzzFormats = []Format{
	{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 8, Scan: Progressive, Rate: Rate50},
	{Sampling: YCbCr422, Depth: Depth8, Width: 32, Height: 8, Scan: Interlaced, Rate: Rate29_97},
}

// FuzzMerge: packets from two paths, as the fuzzer makes them (seeded
// with a real flow's, sequence numbers and timestamps as hostile as it
// likes): never a panic or a write outside a frame buffer; every copy is
// counted once (taken, absorbed, late or malformed); no more frames are
// held than the window allows; and the work per packet is bounded by a
// constant that no sequence number, timestamp or marker changes (counted,
// and so checked, only with the tag nmgo_workcount: see checkCall).
//
// The input is a format byte, a window byte (class A, B or C), then
// records: path and arrival step (one byte: the top bit the path, the
// rest the step in 100 µs), a 16-bit length and that many packet octets.
func FuzzMerge(f *testing.F) {
	for i, fm := range mergeFuzzFormats {
		p := mustPacketizer(f, fm, &PacketizerConfig{Seq: 65530})
		var pkts [][]byte
		for k := range 3 {
			for _, s := range packetize(f, p, randomFrame(&fm, uint64(k)), 1e18+int64(k)*int64(fm.Rate.Period())) {
				pkts = append(pkts, s.b)
			}
		}
		seed := []byte{byte(i), 0}
		for j, pk := range pkts {
			for path := range 2 {
				if (j+path)%5 == 0 {
					continue // each path loses some
				}
				seed = append(seed, byte(path<<7|1))
				seed = binary.BigEndian.AppendUint16(seed, uint16(len(pk)))
				seed = append(seed, pk...)
			}
		}
		f.Add(seed)
	}
	f.Add([]byte{0, 2, 0x80, 0, 20, 0x80, 0xe0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0})
	f.Fuzz(fuzzMerge)
}

// mergeFuzzSetUp reads a merge fuzzer's format and window from the
// input's first two octets.
func mergeFuzzSetUp(in []byte) (Format, time.Duration) {
	return mergeFuzzFormats[int(in[0])%len(mergeFuzzFormats)], []time.Duration{SkewClassA, SkewClassB, SkewClassC}[int(in[1])%3]
}

func fuzzMerge(t *testing.T, in []byte) {
	if len(in) < 2 {
		return
	}
	fm, window := mergeFuzzSetUp(in)
	in = in[2:]
	rig := newMergeRig(t, fm, window, 0)
	m := rig.m
	work := rig.work
	at := int64(1e18)
	var pushed [2]uint64
	for len(in) >= 3 {
		path := int(in[0] >> 7)
		at += int64(in[0]&0x7f) * 100_000
		n := min(int(binary.BigEndian.Uint16(in[1:])), len(in)-3)
		pkt := in[3 : 3+n]
		in = in[3+n:]
		before := work()
		m.Push(path, pkt, at)
		pushed[path]++
		rig.checkCall(t, "one packet", before, rig.workBound(len(pkt)))
	}
	rig.checkEnd(t, pushed)
}

// FuzzMergeClock is FuzzMerge with arrival times anywhere in int64: each
// record may set the time outright (the ends of int64, huge jumps either
// way, times going back) or step it, and may be a call of Expire at the
// time instead of a packet. The checks are FuzzMerge's: never a panic or
// a write outside a frame buffer, no more frames held than the window
// allows, the work per call bounded by a constant (with the tag
// nmgo_workcount, see checkCall), every copy counted once; and no path
// counts more time jumps than packets.
//
// The input is a format byte, a window byte (class A, B or C), then
// records: a control byte (the top bit the path; 0x40: 8 octets follow,
// the time as a big-endian int64; else the time steps on by the low 5
// bits in 100 µs, wrapping at the end of int64; 0x20: Expire at the time,
// nothing more), then, but for Expire, a 16-bit length and that many
// packet octets.
func FuzzMergeClock(f *testing.F) {
	for i, fm := range mergeFuzzFormats {
		p := mustPacketizer(f, fm, &PacketizerConfig{Seq: 65530})
		var pkts [][]byte
		for k := range 4 {
			for _, s := range packetize(f, p, randomFrame(&fm, uint64(k)), 1e18+int64(k)*int64(fm.Rate.Period())) {
				pkts = append(pkts, s.b)
			}
		}
		// Times from the start of int64, from near its end (wrapping),
		// and with one bogus time and one step of an hour back.
		for c, start := range []int64{math.MinInt64, math.MaxInt64 - int64(30*time.Millisecond), 1e18} {
			seed := []byte{byte(i), byte(c)}
			for j, pk := range pkts {
				for path := range 2 {
					if (j+path)%5 == 0 {
						continue // each path loses some
					}
					switch {
					case j == 0 && path == 0:
						seed = append(seed, 0x40)
						seed = binary.BigEndian.AppendUint64(seed, uint64(start))
					case c == 2 && j == 7:
						seed = append(seed, byte(path<<7)|0x40)
						seed = binary.BigEndian.AppendUint64(seed, uint64(math.MaxInt64-int64(j)))
					case c == 2 && j == len(pkts)/2:
						seed = append(seed, byte(path<<7)|0x40)
						seed = binary.BigEndian.AppendUint64(seed, uint64(start-int64(time.Hour)+int64(j)*100_000))
					default:
						seed = append(seed, byte(path<<7|1))
					}
					seed = binary.BigEndian.AppendUint16(seed, uint16(len(pk)))
					seed = append(seed, pk...)
				}
			}
			seed = append(seed, 0x60)
			seed = binary.BigEndian.AppendUint64(seed, uint64(start+int64(time.Second)))
			f.Add(seed)
		}
	}
	f.Fuzz(fuzzMergeClock)
}

func fuzzMergeClock(t *testing.T, in []byte) {
	if len(in) < 2 {
		return
	}
	fm, window := mergeFuzzSetUp(in)
	in = in[2:]
	rig := newMergeRig(t, fm, window, 0)
	m := rig.m
	work := rig.work
	at := int64(1e18)
	var pushed [2]uint64
	for len(in) > 0 {
		ctl := in[0]
		in = in[1:]
		path := int(ctl >> 7)
		if ctl&0x40 != 0 {
			if len(in) < 8 {
				break
			}
			at = int64(binary.BigEndian.Uint64(in))
			in = in[8:]
		} else {
			at += int64(ctl&0x1f) * 100_000
		}
		before, n := work(), 0
		if ctl&0x20 != 0 {
			m.Expire(at)
		} else {
			if len(in) < 2 {
				break
			}
			n = min(int(binary.BigEndian.Uint16(in)), len(in)-2)
			pkt := in[2 : 2+n]
			in = in[2+n:]
			m.Push(path, pkt, at)
			pushed[path]++
		}
		rig.checkCall(t, "one call", before, rig.workBound(n))
	}
	rig.checkEnd(t, pushed)
	for p := range 2 {
		if ps := m.PathStats(p); ps.TimeJumps > ps.Packets {
			t.Fatalf("path %d: %d time jumps in %d packets", p, ps.TimeJumps, ps.Packets)
		}
	}
}

// mergeRig is a Merge for the fuzzers whose frame buffers have 64 octets
// of 0xee on either side, and which checks and counts the frames it hands
// out: of the format's size, none with fewer than minPackets packets,
// Lost or a path's count below 0, or fewer packets from its paths than it
// holds.
type mergeRig struct {
	m      *Merge
	size   int
	mems   [][]byte // every buffer made, guards included
	frames uint64   // frames handed out
}

const mergeRigGuard = 64

// work is the steps the rig's Merge (its slot loops and parseHeaders'
// walks) and its slots' depacketizers have taken: what the fuzzers bound
// per call (workBound).
func (r *mergeRig) work() uint64 {
	n := r.m.steps.get() + r.m.parsed.get()
	for i := range r.m.slots {
		n += r.m.slots[i].d.steps.get()
	}
	return n
}

// checkCall fails t if the call (what) since the work count before took
// more than bound steps, or the Merge holds more frames than it may. The
// steps are counted only with the tag nmgo_workcount: go test -tags
// nmgo_workcount ./video (a stage of .ci/run) checks the fuzzers' seeds
// so, and with -fuzz FuzzMerge or FuzzMergeClock added fuzzes so; without
// the tag work is always 0 and only the frames held are checked.
func (r *mergeRig) checkCall(t *testing.T, what string, before, bound uint64) {
	t.Helper()
	if w := r.work() - before; counting && w > bound {
		t.Fatalf("%s took %d loop steps, bound %d", what, w, bound)
	}
	if len(r.m.order) > r.m.Held() {
		t.Fatalf("%d frames held, at most %d", len(r.m.order), r.m.Held())
	}
}

// checkEnd ends the rig (end) and fails t if the flow's counts disagree
// with what was taken and handed out.
func (r *mergeRig) checkEnd(t *testing.T, pushed [2]uint64) {
	t.Helper()
	st, taken := r.end(t, pushed)
	if st.Packets != taken || st.Delivered+st.Skipped > st.Frames || st.Frames > taken {
		t.Fatalf("flow %+v, %d taken, %d frames handed out", st, taken, r.frames)
	}
}

// workBound bounds the steps of one push of a packet of n octets (0 for
// Expire): it hands out at most every frame held, each with its held
// marker (at most heldMax octets); finds and opens a slot; and pushes the
// packet. A packet's SRD headers cost two steps each at most: one walk
// (parseHeaders' for a pushed packet, Merge.parsed; the depacketizer's
// Push for a held marker handed out, whose parseHeaders walk its own push
// counted) and a step per row written; a header is 6 octets of the packet.
func (r *mergeRig) workBound(n int) uint64 {
	h := r.m.Held()
	marker := 2 * (heldMax / packet.SRDLen)
	return uint64(h*(3+marker) + 4*h + 2*(n/packet.SRDLen) + 8)
}

func newMergeRig(t *testing.T, fm Format, window time.Duration, minPackets int) *mergeRig {
	r := &mergeRig{size: fm.FrameSize()}
	m, err := NewMerge(&MergeConfig{Format: fm, Window: window, TakeFrame: func(buf []byte, st *FrameStats, at int64) []byte {
		r.frames++
		if len(buf) != r.size || st.Packets < minPackets || st.Lost < 0 || st.Paths[0] < 0 || st.Paths[1] < 0 || st.Paths[0]+st.Paths[1] < st.Packets {
			t.Fatalf("frame of %d octets, stats %+v", len(buf), st)
		}
		return r.newBuf()
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.slots {
		_ = m.slots[i].d.SetBuffer(r.newBuf())
	}
	r.m = m
	return r
}

func (r *mergeRig) newBuf() []byte {
	const g = mergeRigGuard
	mem := make([]byte, g+r.size+g)
	for i := range mem {
		mem[i] = 0xee
	}
	r.mems = append(r.mems, mem)
	return mem[g : g+r.size : g+r.size]
}

// end flushes the merge and checks that it holds no frame, that no guard
// octet was written, and that each path's counts add up to pushed[p], the
// packets it was given; it returns the flow's counts and the packets the
// paths took.
func (r *mergeRig) end(t *testing.T, pushed [2]uint64) (RxStats, uint64) {
	m := r.m
	m.Flush()
	if len(m.order) != 0 {
		t.Fatalf("%d frames held after Flush", len(m.order))
	}
	const g = mergeRigGuard
	for _, mem := range r.mems {
		for i := range g {
			if mem[i] != 0xee || mem[g+r.size+i] != 0xee {
				t.Fatalf("guard byte written at %d", i)
			}
		}
	}
	var taken uint64
	for p := range 2 {
		ps := m.PathStats(p)
		if ps.Packets != pushed[p] || ps.Taken+ps.Duplicates+ps.Late+ps.Malformed != ps.Packets {
			t.Fatalf("path %d: %+v; %d packets given it", p, ps, pushed[p])
		}
		taken += ps.Taken
	}
	return m.Stats(), taken
}

// TestReceiverMergeAllocs: Ethernet frames of both paths through two
// Receivers into one Merge, then their UDP payloads through PushUDPCut,
// first copies and duplicates, frames handed out: no allocation per
// packet.
func TestReceiverMergeAllocs(t *testing.T) {
	mb := newMergeBench(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 2)
	got := 0
	rs, m := mb.merged(t, &got)
	mb.frame(rs)
	if a := testing.AllocsPerRun(50, func() { mb.frame(rs) }); a != 0 {
		t.Errorf("%.1f allocations a frame of %d packets on two paths", a, mb.per)
	}
	if a := testing.AllocsPerRun(50, func() { mb.frameUDP(rs) }); a != 0 {
		t.Errorf("%.1f allocations a frame of %d datagrams on two paths (PushUDPCut)", a, mb.per)
	}
	if st := m.Stats(); got != 103 || st.Lost != 0 || st.Duplicates != st.Packets {
		t.Errorf("%d frames; %+v", got, st)
	}
}

// TestMergeTimestampStormCost: a sender that changes the RTP timestamp
// with every packet makes every packet a frame of its own, for which the
// merge resets a slot's depacketizer. The reset clears the sequence words
// the frame took, not the whole 16 KiB window (1024 words a packet before):
// what it clears stays a constant per packet, however the stream goes on.
// That count is kept only with the tag nmgo_workcount (go test -tags
// nmgo_workcount ./video); without it the test checks what the storm
// does: every packet taken once, as a frame of one packet, its copy on the
// other path absorbed, nothing lost or reordered.
func TestMergeTimestampStormCost(t *testing.T) {
	f := bench1080p
	var frames, bad int
	m, err := NewMerge(&MergeConfig{Format: f, OnFrame: func(_ []byte, st *FrameStats) {
		frames++
		if st.Packets != 1 || st.Paths != [2]int{1, 0} || st.Lost != 0 {
			bad++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	pkts := packetize(t, mustPacketizer(t, f, &PacketizerConfig{}), randomFrame(&f, 1), 0)
	const n = 20000
	at, ts := int64(1e18), uint32(0)
	for i := range n {
		pk := pkts[i%len(pkts)].b
		ts += 1501 // every packet a frame of its own
		binary.BigEndian.PutUint16(pk[2:], uint16(i))
		binary.BigEndian.PutUint32(pk[4:], ts)
		at += 3000
		m.Push(0, pk, at)
		m.Push(1, pk, at+1000)
	}
	cleared := uint64(0)
	for i := range m.slots {
		cleared += m.slots[i].d.cleared.get()
	}
	m.Flush()
	st := m.Stats()
	t.Logf("%d packets on two paths: %d words cleared; %+v", n, cleared, st.Stats)
	if st.Packets != n || st.Duplicates != n || st.Lost != 0 || st.Reordered != 0 || st.Frames != n {
		t.Errorf("%+v: want %d packets taken, as many absorbed and as many frames, none lost or reordered", st.Stats, n)
	}
	if frames != n || bad != 0 {
		t.Errorf("%d frames handed out, %d of them not one packet from path 0: want %d and none", frames, bad, n)
	}
	if !counting {
		t.Log("words cleared a packet not checked: the count is kept only with -tags nmgo_workcount")
	} else if cleared > 2*n {
		t.Errorf("%d sequence words cleared for %d packets: more than 2 a packet", cleared, n)
	}
}

// TestMergeSequenceWrap: a flow long enough for its sequence numbers to
// wrap twice, each frame's second and third packets swapped, through the
// Receivers of both paths into a Merge, whose slots' depacketizers are
// reset for every frame: every frame complete, nothing lost. A bit of the
// sequence window left set from the frame that held the same numbers
// 65536 packets before would make a reordered packet a duplicate.
func TestMergeSequenceWrap(t *testing.T) {
	mb := newMergeBench(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 2)
	got := 0
	rs, m := mb.merged(t, &got)
	frames := 2*65536/mb.per + 3
	for range frames {
		mb.ts += 1501
		for _, i := range append([]int{0, 2, 1}, seqRange(3, mb.per)...) {
			seq := mb.seq + uint16(i)
			for p, r := range rs {
				binary.BigEndian.PutUint16(mb.paths[p][i][42+2:], seq)
				binary.BigEndian.PutUint32(mb.paths[p][i][42+4:], mb.ts)
				mb.at += 1000
				r.Push(mb.paths[p][i], mb.at)
			}
		}
		mb.seq += uint16(mb.per)
	}
	st := m.Stats()
	t.Logf("%d frames of %d packets; %+v", frames, mb.per, st.Stats)
	if got != frames || st.Complete != uint64(frames) || st.Lost != 0 || st.Packets != uint64(frames*mb.per) || st.Duplicates != st.Packets {
		t.Errorf("%d frames of %d packets sent, %d handed out; %+v", frames, mb.per, got, st.Stats)
	}
}

// seqRange returns lo, lo+1, ..., hi-1.
func seqRange(lo, hi int) []int {
	var r []int
	for i := lo; i < hi; i++ {
		r = append(r, i)
	}
	return r
}

// TestMergeUnreadPackets: packets a path brings that the merge drops
// before their sequence number is read (not RTP version 2, cut short
// inside the RTP header, of another payload type) are counted as the
// path's Malformed and the flow's Malformed or WrongPT, and leave the
// path's Lost, worked out from the sequence numbers it brought, as it
// is without them.
func TestMergeUnreadPackets(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate50}, 4)
	drop1, _ := randomDrops(len(fl.pkts), 5, 9)
	ev := fl.arrivals([2]func(int) bool{nil, drop1}, [2]time.Duration{0, time.Millisecond})
	clean, _ := newTestMerge(t, fl, SkewClassA)
	feed(clean, fl, ev)
	want := clean.PathStats(1)

	wrongPT := slices.Clone(fl.pkts[3])
	wrongPT[1] = wrongPT[1]&0x80 | 97
	version1 := slices.Clone(fl.pkts[4])
	version1[0] = version1[0]&0x3f | 1<<6
	short := slices.Clone(fl.pkts[5][:7])
	m, _ := newTestMerge(t, fl, SkewClassA)
	for i, e := range ev {
		if i%50 == 0 {
			at := e.at - 1
			m.Push(1, wrongPT, at)
			m.Push(1, wrongPT, at)
			m.Push(1, version1, at)
			m.Push(1, short, at)
		}
		m.Push(e.path, fl.pkts[e.pkt], e.at)
	}
	m.Flush()
	n := uint64((len(ev) + 49) / 50)
	got := m.PathStats(1)
	if got.Lost != want.Lost || got.Taken != want.Taken || got.Duplicates != want.Duplicates {
		t.Errorf("path 1 with unread packets: %+v; without them: %+v", got, want)
	}
	if got.Packets != want.Packets+4*n || got.Malformed != want.Malformed+4*n {
		t.Errorf("path 1 with %d unread packets: %+v; without them: %+v", 4*n, got, want)
	}
	st, cst := m.Stats(), clean.Stats()
	if st.WrongPT != cst.WrongPT+2*n || st.Malformed != cst.Malformed+2*n || st.Lost != cst.Lost {
		t.Errorf("flow with %d of another payload type, %d malformed: %+v; without them: %+v", 2*n, 2*n, st, cst)
	}
	if want.Lost == 0 {
		t.Error("path 1 lost nothing: the test shows nothing of Lost")
	}
}

// TestMergeSenderRestart: a sender that restarts with a sequence number
// behind its last (RFC 3550 draws it at random) and timestamps that go on
// from the clock (ST 2110's follow PTP), here the very next frame period,
// is a new stream, not a run of duplicates of what it sent before: every
// frame of both streams is handed out whole, nothing counts lost, and the
// path behind's copies of the old stream that come after the restart are
// absorbed in the old stream's numbers, not taken into the new one's.
func TestMergeSenderRestart(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	for _, back := range []uint16{1, 50, 1000, 1900} { // within the numbers it sent before (1,920)
		fl := newMergeFlow(t, f, 20)
		old := len(fl.pkts)
		last := uint16(65500 + old - 1)
		fl.add(t, 20, last-back, 20)
		// Path 0 drops a packet in 37, but none of the old stream's last
		// frame (the copies of those on path 1 come after the restart).
		lastOld := fl.first[19]
		d0 := func(i int) bool { return i%37 == 5 && (i < lastOld || i >= old) }
		m, got := newTestMerge(t, fl, SkewClassA)
		ev := fl.arrivals([2]func(int) bool{d0, nil}, [2]time.Duration{0, 5 * time.Millisecond})
		feed(m, fl, ev)
		if len(got.frames) != 40 {
			t.Fatalf("%d back: %d frames, want 40; %+v", back, len(got.frames), m.Stats())
		}
		for k := range got.frames {
			if !bytes.Equal(got.frames[k], fl.frames[k]) || !got.stats[k].Complete {
				t.Errorf("%d back: frame %d differs from the frame sent; %+v", back, k, got.stats[k])
			}
		}
		st, p0, p1 := m.Stats(), m.PathStats(0), m.PathStats(1)
		if st.Lost != 0 || p0.Lost == 0 || p1.Lost != 0 || st.Packets != uint64(len(fl.pkts)) {
			t.Errorf("%d back: %+v; path 0 %+v, path 1 %+v; want 0 lost (path 0 alone some), every packet taken", back, st, p0, p1)
		}
		// Every copy absorbed or taken, none late: also those of the
		// old stream whose window words the new stream took already (a
		// restart just behind the old highest makes the new numbers'
		// words those of the old ones).
		if p1.Duplicates+p1.Taken != uint64(len(fl.pkts)) || st.Late != 0 || p1.Late != 0 {
			t.Errorf("%d back: path 1 %+v: every copy absorbed or taken", back, p1)
		}
		t.Logf("%d back: %+v; path 1 %+v", back, st.Stats, p1)
	}
}

// TestMergeSenderRestartTailUnprotected: path 0 (ahead) loses one packet of the
// old stream's last frame; path 1 (5 ms behind, inside the window) brings
// it, but after path 0 brought the restarted sender's first packet. A
// 2022-7 merge should repair it: the copy is of a frame still held. Also
// when the restart is just behind the old highest (back 1 or 50), so that
// the new stream's numbers have taken the lost packet's window word by the
// time its copy comes.
func TestMergeSenderRestartTailUnprotected(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	for _, back := range []uint16{1, 50, 1000} {
		fl := newMergeFlow(t, f, 20)
		old := len(fl.pkts)
		last := uint16(65500 + old - 1)
		fl.add(t, 20, last-back, 20)
		lost := old - 5 // a packet of the old stream's last frame, sent in its last 5 ms
		d0 := func(i int) bool { return i == lost }
		m, got := newTestMerge(t, fl, SkewClassA)
		feed(m, fl, fl.arrivals([2]func(int) bool{d0, nil}, [2]time.Duration{0, 5 * time.Millisecond}))
		if len(got.frames) != 40 {
			t.Fatalf("%d back: %d frames, want 40", back, len(got.frames))
		}
		for k := range got.frames {
			if !bytes.Equal(got.frames[k], fl.frames[k]) || !got.stats[k].Complete {
				t.Errorf("%d back: frame %d not repaired from path 1: %+v", back, k, got.stats[k])
			}
		}
		if st, p1 := m.Stats(), m.PathStats(1); st.Late != 0 || st.Lost != 0 || p1.Late != 0 || p1.Duplicates+p1.Taken != uint64(len(fl.pkts)) {
			t.Errorf("%d back: %+v; path 1 %+v: want nothing late or lost", back, st.Stats, p1)
		}
	}
}

// TestMergeSenderRestartFrozenClock: after a restart, arrival times that
// do not advance (0, as a caller without a clock passes, or a capture
// whose timestamps are all equal) do not keep the old stream's window
// open for ever: once the new stream's timestamps are 2^31 ticks past the
// old stream's newest (6.6 h at 90 kHz; here in big honest-looking
// steps), its packets are still taken.
func TestMergeSenderRestartFrozenClock(t *testing.T) {
	for _, at := range []int64{0, 1_800_000_000_000_000_000} {
		frames := 0
		m := newTinyMerge(t, func(at int64) { frames++ })
		pkt := tinyPkt
		clock := at
		for i := range 10 { // old stream, a frame a packet, both paths
			clock += 20e6
			if at == 0 {
				clock = 0
			}
			p := pkt(uint16(1000+i), uint32(i)*1800)
			m.Push(0, p, clock)
			m.Push(1, p, clock)
		}
		// Restart 5 back; then timestamps march on in steps of 2^30 ticks.
		ts := uint32(10 * 1800)
		for i := range 8 {
			if at != 0 {
				clock += int64(time.Hour)
			}
			p := pkt(uint16(1005+i), ts)
			m.Push(0, p, clock)
			m.Push(1, p, clock)
			ts += 1 << 30
		}
		m.Flush()
		st := m.Stats()
		t.Logf("at %d: %d frames; %+v", at, frames, st.Stats)
		if frames != 18 {
			t.Errorf("arrivals at %d: %d frames, want 18; late %d", at, frames, st.Late)
		}
	}
}

// TestMergeSenderRestartAtFarFuture: a restart at an arrival time within
// a window of the end of int64 opens the old stream's window to the end
// (at+Window saturates instead of wrapping negative, which voided it).
func TestMergeSenderRestartAtFarFuture(t *testing.T) {
	m := newTinyMerge(t, nil)
	pkt := tinyPkt
	base := int64(1<<63 - 1 - int64(time.Millisecond))
	for i := range 10 {
		m.Push(0, pkt(uint16(1000+i), uint32(i)*1800), base-int64(time.Second)+int64(i))
	}
	m.Push(0, pkt(1005, 10*1800), base) // restart
	if !m.oldOn || m.oldUntil < base {
		t.Errorf("old window: on %v until %d (at %d): at+window overflowed", m.oldOn, m.oldUntil, base)
	}
}

// TestMergeSenderRestartReordered: the restarted sender's first two
// packets (of one frame) come swapped on both paths; the old stream lost one sequence
// number on both paths. Lost stays 1, the swapped packet is reordered.
func TestMergeSenderRestartReordered(t *testing.T) {
	frames := 0
	m := newTinyMerge(t, func(at int64) { frames++ })
	pkt := tinyPkt
	at := int64(1e18)
	both := func(p []byte) {
		at += 20e6
		m.Push(0, p, at)
		m.Push(1, p, at+1e6)
	}
	for i := range 10 {
		if i != 6 { // lost on both paths
			both(pkt(uint16(1000+i), uint32(i)*1800))
		}
	}
	// Restarted 6 back: a frame of two packets, whose second comes first.
	both(rtpWith(1004, 10*1800, true, [][3]uint16{{4, 0, 2}}, make([]byte, 4)))
	at -= 20e6 - 100e3 // 100 µs later
	both(rtpWith(1003, 10*1800, false, [][3]uint16{{4, 0, 0}}, make([]byte, 4)))
	for i := range 5 {
		both(pkt(uint16(1005+i), uint32(11+i)*1800))
	}
	m.Flush()
	st := m.Stats()
	if st.Lost != 1 || st.Reordered != 1 || frames != 15 || st.Complete != 15 {
		t.Errorf("%d frames, %+v; want 15 complete frames, 1 lost, 1 reordered", frames, st.Stats)
	}
}

// TestMergeSenderRestartPathLost: path 0 loses 2 packets of the new
// stream, path 1 3; their Lost say 2 and 3 (path 0's span holds the
// restart packet), path 1's not less for the old stream's copies that
// came after the restart.
func TestMergeSenderRestartPathLost(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}
	fl := newMergeFlow(t, f, 20)
	old := len(fl.pkts)
	last := uint16(65500 + old - 1)
	fl.add(t, 20, last-1000, 20)
	d1 := func(i int) bool { return i == old+10 || i == old+500 || i == old+1000 }
	m, _ := newTestMerge(t, fl, SkewClassA)
	d0 := func(i int) bool { return i == old+20 || i == old+700 }
	feed(m, fl, fl.arrivals([2]func(int) bool{d0, d1}, [2]time.Duration{0, 5 * time.Millisecond}))
	p0, p1 := m.PathStats(0), m.PathStats(1)
	if p0.Lost != 2 || p1.Lost != 3 {
		t.Errorf("path 0 %+v, path 1 %+v; want path 0 2 lost, path 1 3 lost", p0, p1)
	}
}

// TestMergeSenderRestartOnUnseenNumber: the restarted sender's first
// number is one the old stream lost on both paths (unseen, behind the
// highest): it is taken in the old numbering (found: Lost 0, Reordered 1)
// and its frame, whose later packets restart the numbers, is complete
// only when its window passes.
func TestMergeSenderRestartOnUnseenNumber(t *testing.T) {
	var handed []int64
	m := newTinyMerge(t, func(at int64) { handed = append(handed, at) })
	at := int64(1e18)
	both := func(p []byte) {
		at += 1e6
		m.Push(0, p, at)
		m.Push(1, p, at+100e3)
	}
	for i := range 10 {
		if i != 5 { // 1005 lost on both paths
			both(rtpWith(uint16(1000+i), uint32(i)*1800, true, [][3]uint16{{8, 0, 0}}, make([]byte, 8)))
		}
	}
	n := len(handed)
	// Restarted at 1005: a frame of two packets.
	both(rtpWith(1005, 10*1800, false, [][3]uint16{{4, 0, 0}}, make([]byte, 4)))
	both(rtpWith(1006, 10*1800, true, [][3]uint16{{4, 0, 2}}, make([]byte, 4)))
	st := m.Stats()
	if len(handed) != n+1 || st.Lost != 1 || st.Reordered != 0 {
		t.Errorf("the new stream's complete first frame: %d handed out, want 1; %+v; want 1 lost, 0 reordered", len(handed)-n, st.Stats)
	}
}

// One bogus arrival time (a far-future capture time, the ends of int64, a
// century back) on the marker of a frame that waits for a packet both
// paths lost does not move the clock the merge releases frames on: the
// frame still waits its window, no less and no more, and the frames
// behind it go then too, before the input ends. The jump is counted.
func TestMergeOutlierTime(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 6)
	lost := fl.first[2] + 3 // in frame 2, on both paths
	marker := fl.first[3] - 1
	end2 := fl.send[marker]
	period := int64(fl.f.Rate.Period())
	for _, bogus := range []int64{math.MaxInt64, math.MinInt64, end2 + 100*365*24*int64(time.Hour), end2 - 100*365*24*int64(time.Hour), -1} {
		drop := func(i int) bool { return i == lost }
		m, got := newTestMerge(t, fl, SkewClassB)
		var out []int64 // when each frame came out
		for _, e := range fl.arrivals([2]func(int) bool{drop, drop}, [2]time.Duration{0, time.Millisecond}) {
			at := e.at
			if e.pkt == marker && e.path == 0 {
				at = bogus
			}
			m.Push(e.path, fl.pkts[e.pkt], at)
			for len(out) < len(got.frames) {
				out = append(out, e.at)
			}
		}
		if len(out) != 6 {
			t.Errorf("arrival %d: %d frames out before the end of the input, want all 6", bogus, len(out))
			continue
		}
		for k := 2; k <= 4; k++ {
			// Frame 2 ends with its marker (its time taken as the
			// packet's before on path 0) and waits the window; 3 and 4
			// wait for it.
			want := end2 + int64(SkewClassB)
			if out[k] < want-period/8 || out[k] > want+period/8 {
				t.Errorf("arrival %d: frame %d out at %+d ns, want %+d", bogus, k, out[k]-fl.send[0], want-fl.send[0])
			}
		}
		if j := m.PathStats(0).TimeJumps; j != 1 || m.PathStats(1).TimeJumps != 0 {
			t.Errorf("arrival %d: %d time jumps on path 0, %d on path 1; want 1 and 0", bogus, j, m.PathStats(1).TimeJumps)
		}
	}
}

// A step of a path's clock, two arrivals in a row past MaxArrivalJump, is
// followed: after an hour's pause (a capture stopped and restarted) the
// frames go on as before, each on time, and the step is counted once.
func TestMergeClockStep(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 8)
	m, got := newTestMerge(t, fl, SkewClassA)
	pause := int64(time.Hour)
	for _, e := range fl.arrivals([2]func(int) bool{nil, nil}, [2]time.Duration{0, time.Millisecond}) {
		at := e.at
		if fl.frame[e.pkt] >= 4 {
			at += pause
		}
		m.Push(e.path, fl.pkts[e.pkt], at)
	}
	if len(got.frames) != 8 {
		t.Fatalf("%d frames out before the end of the input, want 8", len(got.frames))
	}
	for k := range got.frames {
		if !bytes.Equal(got.frames[k], fl.frames[k]) {
			t.Errorf("frame %d differs: %+v", k, got.stats[k])
		}
	}
	if j0, j1 := m.PathStats(0).TimeJumps, m.PathStats(1).TimeJumps; j0 != 1 || j1 != 1 {
		t.Errorf("time jumps %d and %d, want 1 on each path", j0, j1)
	}
}

// The skew of arrival times far apart, one path's near the start of int64
// and the other's near its end, does not overflow: Min and Max saturate
// at the ends of time.Duration, and Mean is exact.
func TestMergeSkewExtreme(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 48, Scan: Progressive, Rate: Rate59_94}, 10)
	for _, c := range []struct {
		shift0, shift1 int64 // added to each path's arrivals
		min, max, mean time.Duration
	}{
		{0, 6e18, 6e18, 6e18, 6e18},
		{-6e18, 0, 6e18, 6e18, 6e18},
		{-1.0e19 + 1.9e18, 7e18, math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{7e18, -1.0e19 + 1.9e18, math.MinInt64, math.MinInt64, math.MinInt64},
	} {
		m, _ := newTestMerge(t, fl, SkewClassA)
		for p, shift := range []int64{c.shift0, c.shift1} {
			for i := range fl.pkts {
				m.Push(p, fl.pkts[i], fl.send[i]+shift)
			}
		}
		m.Flush()
		sk := m.Skew()
		if sk.Samples == 0 || sk.Min != c.min || sk.Max != c.max || sk.Mean() != c.mean {
			t.Errorf("paths shifted %d and %d: %v (min %d, max %d, mean %d); want min %d, max %d, mean %d",
				c.shift0, c.shift1, sk, sk.Min, sk.Max, sk.Mean(), c.min, c.max, c.mean)
		}
	}
}

// A Skew made by hand, or measured and then changed by hand (two
// snapshots' delta, two flows' skews added up), has its mean from Sum
// over Samples; the exact hidden sum counts only while Sum is still its
// saturated value. Before, the hidden sum, not zero, kept the old mean.
func TestSkewMeanByHand(t *testing.T) {
	sample := func(s *Skew, d time.Duration) {
		var w wide.Int128
		w.Add(int64(d))
		s.add(w)
	}
	if s := (Skew{Samples: 4, Sum: 10 * time.Millisecond}); s.Mean() != 2500*time.Microsecond {
		t.Errorf("by hand: %v", s)
	}
	var s1, s2 Skew
	sample(&s1, time.Millisecond)
	s2 = s1
	sample(&s2, 3*time.Millisecond)
	if s2.Mean() != 2*time.Millisecond {
		t.Errorf("measured, %v: mean %v, want 2ms", s2, s2.Mean())
	}
	delta := s2
	delta.Samples, delta.Sum = s2.Samples-s1.Samples, s2.Sum-s1.Sum
	if delta.Mean() != 3*time.Millisecond {
		t.Errorf("a snapshots' delta, %v: mean %v, want 3ms", delta, delta.Mean())
	}
	both := s2
	both.Samples, both.Sum = s2.Samples+s1.Samples, s2.Sum+s1.Sum
	if both.Mean() != 5*time.Millisecond/3 {
		t.Errorf("two added by hand, %v: mean %v, want %v", both, both.Mean(), 5*time.Millisecond/3)
	}
}

// TestMergeSparseArrivals: arrivals on each path more than
// MaxArrivalJump apart (a sparse capture, or hostile capture times
// stepping 3 s each) do not pin the release clock: packet 3 of every
// frame is lost on both paths, so frames can only go by their window, and
// they go before the input ends.
func TestMergeSparseArrivals(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 8)
	m, got := newTestMerge(t, fl, SkewClassA)
	lose := func(i int) bool { return i%32 == 3 }
	evs := fl.arrivals([2]func(int) bool{lose, lose}, [2]time.Duration{0, time.Millisecond})
	for i, e := range evs {
		m.Push(e.path, fl.pkts[e.pkt], int64(1e18)+int64(i)*int64(3*time.Second))
	}
	t.Logf("%d frames out before the end of the input (of 8); time jumps %d, %d", len(got.frames), m.PathStats(0).TimeJumps, m.PathStats(1).TimeJumps)
	if len(got.frames) < 6 {
		t.Errorf("%d frames out before the end of the input: the release clock is pinned", len(got.frames))
	}
}

// handOutTimes runs TestMergeHandsOutInTime's flow (packet 3 of frame
// lostFrame lost on both paths, path 1 a millisecond behind) through a merge of
// window w, each arrival's time rewritten by at, and returns when each
// frame came out (the rewritten time of the packet that handed it out);
// frames still held at the end of the input are missing.
func handOutTimes(t *testing.T, fl *mergeFlow, lostFrame int, w time.Duration, at func(e mergeEvent) int64) []int64 {
	t.Helper()
	lost := fl.first[lostFrame] + 3
	drop := func(i int) bool { return i == lost }
	m, got := newTestMerge(t, fl, w)
	var out []int64
	for _, e := range fl.arrivals([2]func(int) bool{drop, drop}, [2]time.Duration{0, time.Millisecond}) {
		a := at(e)
		m.Push(e.path, fl.pkts[e.pkt], a)
		for len(out) < len(got.frames) {
			out = append(out, a)
		}
	}
	return out
}

// TestMergeHandsOutAtInt64Ends: a capture whose arrival times lie at the
// start or the end of int64 (a clock of its own, counted from anywhere)
// has its frames handed out as at any other time: the frame that misses a
// packet on both paths (frame 0, ended within the first window, or frame
// 2) waits the window, no less and no more, and the two after it wait for
// it. (Within a window of the start of int64, at less the window must not
// wrap to its end: the frame would go the moment it ends.)
func TestMergeHandsOutAtInt64Ends(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 6)
	period := int64(fl.f.Rate.Period())
	first, end := fl.send[0], fl.send[len(fl.pkts)-1]+int64(time.Millisecond) // the first and last arrivals
	for _, base := range []int64{math.MinInt64, math.MinInt64 + int64(SkewClassB) - 1, -1, math.MaxInt64 - (end - first)} {
		for _, lf := range []int{0, 2} {
			out := handOutTimes(t, fl, lf, SkewClassB, func(e mergeEvent) int64 { return base + (e.at - first) })
			if len(out) != 6 {
				t.Errorf("times from %d, frame %d lossy: %d frames out before the end of the input, want all 6", base, lf, len(out))
				continue
			}
			endLost := fl.send[fl.first[lf+1]-1] - first // its marker, from the first arrival
			for k := range out {
				want := fl.send[len(fl.pkts)-1] - first
				if k+1 < 6 {
					want = fl.send[fl.first[k+1]-1] - first
				}
				if k >= lf && k <= lf+2 {
					want = endLost + int64(SkewClassB)
				}
				if d := out[k] - base; d < want || d > want+period/8 {
					t.Errorf("times from %d, frame %d lossy: frame %d out at %+d ns, want %+d", base, lf, k, d, want)
				}
			}
		}
	}
}

// TestMergeClockStepAcrossInt64: both paths' clocks step from near the
// start of int64 to near its end (further than an int64 difference
// reaches) while frame 2, which misses a packet on both paths, waits its
// window: on the new clock its window has passed, and it goes once both
// paths have stepped, not when the slots run out or the input ends.
func TestMergeClockStepAcrossInt64(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 6)
	first := fl.send[0]
	lo, hi := int64(math.MinInt64+int64(time.Second)), int64(math.MaxInt64-int64(time.Hour))
	step := fl.first[3] + 5 // the packets from here on come on the new clock
	out := handOutTimes(t, fl, 2, SkewClassB, func(e mergeEvent) int64 {
		if e.pkt >= step {
			return hi + (e.at - first)
		}
		return lo + (e.at - first)
	})
	if len(out) != 6 {
		t.Fatalf("%d frames out before the end of the input, want all 6", len(out))
	}
	// Path 1 steps with its second packet from step on (its first is
	// taken at its latest time): then frame 2's window has passed.
	// Frames 3 and 4, complete, go with their markers.
	stepped := hi + (fl.send[step+1] + int64(time.Millisecond) - first)
	if out[2] < hi || out[2] > stepped+int64(fl.f.Rate.Period())/8 {
		t.Errorf("frame 2 out at %d, want by %d", out[2], stepped)
	}
	for k := 3; k <= 4; k++ {
		if want := hi + (fl.send[fl.first[k+1]-1] - first); out[k] != want {
			t.Errorf("frame %d out at %d, want %d", k, out[k], want)
		}
	}
}

// TestMergeClockStepBack: both paths' clocks step an hour back while
// frame 3, which misses a packet on both paths, waits its window: it
// waits its window from the step (on the new clock), not until the old
// clock's time comes again or the slots run out.
func TestMergeClockStepBack(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 8)
	lost := fl.first[3] + 3
	drop := func(i int) bool { return i == lost }
	m, got := newTestMerge(t, fl, SkewClassA)
	back := -int64(time.Hour)
	var out []int64
	for _, e := range fl.arrivals([2]func(int) bool{drop, drop}, [2]time.Duration{0, time.Millisecond}) {
		at := e.at
		if fl.frame[e.pkt] >= 4 {
			at += back
		}
		m.Push(e.path, fl.pkts[e.pkt], at)
		for len(out) < len(got.frames) {
			out = append(out, at)
		}
	}
	if len(out) != 8 {
		t.Fatalf("%d frames out before the end of the input, want 8", len(out))
	}
	// Path 0 steps with frame 4's second packet (its first is taken at
	// the path's latest time): frame 3 waits the window from then.
	want := fl.send[fl.first[4]+1] + back + int64(SkewClassA)
	if out[3] < want || out[3] > want+int64(fl.f.Rate.Period())/8 {
		t.Errorf("frame 3 out at %+d ns, want %+d", out[3]-fl.send[0], want-fl.send[0])
	}
	if j0, j1 := m.PathStats(0).TimeJumps, m.PathStats(1).TimeJumps; j0 != 1 || j1 != 1 {
		t.Errorf("time jumps %d and %d, want 1 on each path", j0, j1)
	}
}

// TestReceiverMergeOutlierTime is TestMergeOutlierTime through the
// receivers that feed a Merge, by both of their ways to it: path 0's
// packets as Ethernet frames (Receiver.Push), path 1's as UDP payloads
// (Receiver.PushUDP). A bogus arrival time on the marker of frame 2 (lost
// a packet on both paths) on the path ahead is counted as a jump, and the
// frame waits its window from the packet before, not until the slots run
// out.
func TestReceiverMergeOutlierTime(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 6)
	lost := fl.first[2] + 3
	marker := fl.first[3] - 1
	end2 := fl.send[marker]
	period := int64(fl.f.Rate.Period())
	src := netip.MustParseAddrPort("10.0.0.1:5004")
	for ahead := range 2 {
		for _, bogus := range []int64{math.MaxInt64, end2 + 100*365*24*int64(time.Hour), math.MinInt64} {
			m, got := newTestMerge(t, fl, SkewClassB)
			var rs [2]*Receiver
			for p := range rs {
				r, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: m, Path: p}}})
				if err != nil {
					t.Fatal(err)
				}
				rs[p] = r
			}
			tmpl := udpFrameHeader(5004)
			drop := func(i int) bool { return i == lost }
			var delay [2]time.Duration
			delay[1-ahead] = time.Millisecond
			var out []int64
			for _, e := range fl.arrivals([2]func(int) bool{drop, drop}, delay) {
				at := e.at
				if e.pkt == marker && e.path == ahead {
					at = bogus
				}
				pkt := fl.pkts[e.pkt]
				if e.path == 0 {
					frame := append(slices.Clone(tmpl), pkt...)
					binary.BigEndian.PutUint16(frame[16:], uint16(len(frame)-14))
					binary.BigEndian.PutUint16(frame[38:], uint16(len(frame)-34))
					rs[0].Push(frame, at)
				} else {
					rs[1].PushUDP(src, netip.AddrPortFrom(netip.MustParseAddr("239.1.1.1"), 5006), pkt, at)
				}
				for len(out) < len(got.frames) {
					out = append(out, e.at)
				}
			}
			if len(out) != 6 {
				t.Errorf("path %d ahead, arrival %d: %d frames out before the end of the input, want all 6", ahead, bogus, len(out))
				continue
			}
			want := end2 + int64(SkewClassB)
			for k := 2; k <= 4; k++ {
				if out[k] < want-period/8 || out[k] > want+period/8 {
					t.Errorf("path %d ahead, arrival %d: frame %d out at %+d ns, want %+d", ahead, bogus, k, out[k]-fl.send[0], want-fl.send[0])
				}
			}
			// Each frame arrived with its first packet on the path ahead:
			// frame 3's, after the bogus time, at its own time.
			for k, at := range got.at {
				if want := fl.send[fl.first[k]]; at != want {
					t.Errorf("path %d ahead, arrival %d: frame %d arrived at %+d ns, want %+d", ahead, bogus, k, at-fl.send[0], want-fl.send[0])
				}
			}
			if j := m.PathStats(ahead).TimeJumps; j != 1 || m.PathStats(1-ahead).TimeJumps != 0 {
				t.Errorf("path %d ahead, arrival %d: time jumps %d, %d", ahead, bogus, m.PathStats(0).TimeJumps, m.PathStats(1).TimeJumps)
			}
		}
	}
}

// tinyFormat is a 4x1 progressive 50 fps format: a frame a packet.
var tinyFormat = Format{Sampling: YCbCr422, Depth: Depth8, Width: 4, Height: 1, Scan: Progressive, Rate: Rate50}

// newTinyMerge returns a merge of tinyFormat, payload type 96, class A
// window, its slots' buffers set; take, if not nil, is called with the
// arrival time of each frame handed out.
func newTinyMerge(t *testing.T, take func(at int64)) *Merge {
	t.Helper()
	m, err := NewMerge(&MergeConfig{Format: tinyFormat, PayloadType: 96, Window: SkewClassA,
		TakeFrame: func(buf []byte, st *FrameStats, at int64) []byte {
			if take != nil {
				take(at)
			}
			return buf
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.slots {
		_ = m.slots[i].d.SetBuffer(make([]byte, tinyFormat.FrameSize()))
	}
	return m
}

// tinyPkt is tinyFormat's one packet of a frame (a marker), of sequence
// number seq and timestamp ts.
func tinyPkt(seq uint16, ts uint32) []byte {
	return rtpWith(seq, ts, true, [][3]uint16{{8, 0, 0}}, make([]byte, 8))
}

// A packet that a Merge takes as a restarted sender's first
// (its sequence number seen, its timestamp later) and that joins the frame
// held (the second field of an interlaced frame, its timestamp within the
// field gap) reaches the slot's depacketizer with a 16-bit sequence number
// it has already taken: the frame is handed out with 2 packets over a span
// of 1, and FrameStats.Lost was -1 (found by FuzzMerge and
// FuzzDepacketizer, testdata/fuzz). Lost is never below 0.
func TestMergeRestartInFrameLost(t *testing.T) {
	f := mergeFuzzFormats[1] // interlaced
	var pk [][]byte
	for _, s := range packetize(t, mustPacketizer(t, f, &PacketizerConfig{}), randomFrame(&f, 1), 0) {
		pk = append(pk, s.b)
	}
	var f0, f1 []byte // a packet of each field, not the marker
	for _, p := range pk {
		var h headers
		if !parseHeaders(&h, p) || h.marker {
			continue
		}
		if h.field == 0 && f0 == nil {
			f0 = p
		}
		if h.field == 1 && f1 == nil {
			f1 = p
		}
	}
	frames := 0
	m, err := NewMerge(&MergeConfig{Format: f, OnFrame: func(_ []byte, st *FrameStats) {
		frames++
		if st.Lost < 0 {
			t.Errorf("frame handed out with %+v", *st)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	const ts = 1000000
	binary.BigEndian.PutUint16(f0[2:], 100)
	binary.BigEndian.PutUint32(f0[4:], ts)
	binary.BigEndian.PutUint16(f1[2:], 100)
	binary.BigEndian.PutUint32(f1[4:], ts+1)
	m.Push(0, f0, 1e18)
	m.Push(0, f1, 1e18+1000)
	m.Flush()
	if frames != 1 {
		t.Errorf("%d frames handed out, want 1", frames)
	}
}

// rxMergeDsts are the destinations a FuzzReceiverMerge record picks from.
var rxMergeDsts = []netip.AddrPort{
	netip.MustParseAddrPort("239.0.0.1:5004"),
	netip.MustParseAddrPort("239.0.0.2:5004"),
	netip.MustParseAddrPort("239.0.0.1:5006"),
	netip.MustParseAddrPort("239.0.0.3:5005"),
}

// rxMergeConfigs are the streams of the one or two receivers (a nil
// second: one) through which FuzzReceiverMerge feeds m's two paths: a
// port each in two receivers (Push's fast path), a port shared by group
// with a stream of its own (a set matched by address), both paths in one
// receiver by port, and a path whose stream takes any port (claimed by
// the first RTP packet to one). The path streams take m's format.
func rxMergeConfigs(m *Merge, fm Format) [][2][]RxStream {
	g1, g2 := netip.MustParseAddr("239.0.0.1"), netip.MustParseAddr("239.0.0.2")
	return [][2][]RxStream{
		{{{Port: 5004, Merge: m, Path: 0}}, {{Port: 5004, Merge: m, Path: 1}}},
		{
			{{Port: 5004, Addr: g1, Merge: m, Path: 0}, {Port: 5004, Addr: g2, Format: fm}},
			{{Port: 5004, Addr: g2, Format: fm}, {Port: 5004, Addr: g1, Merge: m, Path: 1}},
		},
		{{{Port: 5004, Merge: m, Path: 0}, {Port: 5006, Merge: m, Path: 1}, {Port: 5005, Format: fm}}, nil},
		{{{Port: 5004, Merge: m, Path: 0}}, {{Merge: m, Path: 1}}},
	}
}

// rxMergeFrame returns payload from 10.0.0.1:5004 to dst as an Ethernet
// frame (IPv4, UDP; with k 802.1Q tags).
func rxMergeFrame(dst netip.AddrPort, payload []byte, k int) []byte {
	h := udpFrameHeader(dst.Port())
	a := dst.Addr().As4()
	copy(h[30:], a[:])
	fr := append(h, payload...)
	binary.BigEndian.PutUint16(fr[16:], uint16(len(fr)-14))
	binary.BigEndian.PutUint16(fr[38:], uint16(len(fr)-34))
	return tagged(fr, k)
}

// FuzzReceiverMerge: the packets of an ST 2022-7 flow's two paths, as the
// fuzzer makes them, reach one Merge through Receivers' streams with
// RxStream.Merge set (Receiver.push's fast path and rxStream.push's merge
// branch, which FuzzMerge's direct Merge.Push skips), by Push, Push of an
// 802.1Q frame, PushIP and PushUDP. Never a panic or a write outside a
// frame buffer; each packet reaches the stream the routing rules give it
// (or Other), and a path stream's packets are each counted once by the
// merge on its path (PathStats.Packets), and there taken, absorbed, late
// or malformed; each frame handed out is of the format's size, with
// packets and no negative loss; the flow's counts add up.
//
// The input is a format byte, a window byte, a configuration byte
// (rxMergeConfigs), then records: a control octet (bits 0-1 the way:
// Push, Push tagged, PushIP, PushUDP; bit 2 the receiver; bits 3-4 the
// destination, rxMergeDsts; bit 5: the octets are the whole Ethernet
// frame or IP packet, not the UDP payload), a time step octet (below 0xf0
// that many 10 µs on; 0xf0-0xfd back that less 0xef ms; 0xfe and 0xff
// 2*MaxArrivalJump on or back), a 16-bit length and that many octets.
func FuzzReceiverMerge(f *testing.F) {
	for i, fm := range mergeFuzzFormats {
		p := mustPacketizer(f, fm, &PacketizerConfig{Seq: 65530})
		var pkts [][]byte
		for k := range 3 {
			for _, s := range packetize(f, p, randomFrame(&fm, uint64(k)), 1e18+int64(k)*int64(fm.Rate.Period())) {
				pkts = append(pkts, s.b)
			}
		}
		for c := range 4 {
			seed := []byte{byte(i), byte(c), byte(c)}
			for j, pk := range pkts {
				for path := range 2 {
					if (j+path)%5 == 0 {
						continue // each path loses some
					}
					dst := 0 // 239.0.0.1:5004
					if c == 2 && path == 1 {
						dst = 2 // 239.0.0.1:5006
					}
					ctl, b := byte(j+c)%4|byte(path)<<2|byte(dst)<<3, pk
					if j%7 == 3 { // the Ethernet frame itself
						ctl, b = byte(path)<<2|1<<5, rxMergeFrame(rxMergeDsts[dst], pk, 0)
					}
					seed = append(seed, ctl, 5)
					seed = binary.BigEndian.AppendUint16(seed, uint16(len(b)))
					seed = append(seed, b...)
				}
			}
			f.Add(seed)
		}
	}
	f.Fuzz(fuzzReceiverMerge)
}

func fuzzReceiverMerge(t *testing.T, in []byte) {
	if len(in) < 3 {
		return
	}
	fm, window := mergeFuzzSetUp(in)
	cfgN := int(in[2])
	in = in[3:]
	rig := newMergeRig(t, fm, window, 1)
	m := rig.m
	cfgs := rxMergeConfigs(m, fm)
	cfg := cfgs[cfgN%len(cfgs)]
	var rs []*Receiver
	for _, streams := range cfg {
		if streams == nil {
			continue
		}
		r, err := NewReceiver(&ReceiverConfig{Streams: streams})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	// want returns the stream of receiver ri the rules give a datagram to
	// dst, or -1, before it is pushed. A stream of any port has the
	// port it claimed as its Port.
	want := func(ri int, dst netip.AddrPort, payload []byte) int {
		streams := cfg[ri]
		best, spec := -1, -1
		for i, s := range streams {
			if s.Port == dst.Port() && (!s.Addr.IsValid() || s.Addr == dst.Addr()) {
				if n := s.specificity(); n > spec {
					best, spec = i, n
				}
			}
		}
		if best >= 0 {
			return best
		}
		free := -1
		for i, s := range streams {
			switch {
			case s.Port == dst.Port():
				return -1 // a port some stream names: never claimed
			case s.Port != 0:
			case rs[ri].Stats(i).Port == dst.Port():
				return i
			case rs[ri].Stats(i).Port == 0 && free < 0:
				free = i
			}
		}
		if len(payload) < packet.RTPLen+packet.ExtSeqLen+packet.SRDLen || payload[0]>>6 != 2 {
			return -1
		}
		return free
	}
	// counts returns what a push may change: Other, then each stream's
	// packets (its Bytes for a path of the merge), then the merge's
	// packets of each path.
	counts := func(r *Receiver) []uint64 {
		c := []uint64{r.Other()}
		for i := range r.NumStreams() {
			if st := r.Stats(i); r.streams[i].cfg.Merge != nil {
				c = append(c, st.Bytes)
			} else {
				c = append(c, st.Packets)
			}
		}
		return append(c, m.PathStats(0).Packets, m.PathStats(1).Packets)
	}
	at := int64(1e18)
	src := netip.MustParseAddrPort("10.0.0.1:5004")
	var handed [2]uint64 // packets the path streams handed the merge
	for len(in) >= 4 {
		ctl, step := in[0], in[1]
		n := min(int(binary.BigEndian.Uint16(in[2:])), len(in)-4, 0xffff-28-8)
		pkt := in[4 : 4+n]
		in = in[4+n:]
		switch {
		case step < 0xf0:
			at += int64(step) * 10_000
		case step < 0xfe:
			at -= int64(step-0xef) * 1_000_000
		case step == 0xfe:
			at += 2 * int64(MaxArrivalJump)
		default:
			at -= 2 * int64(MaxArrivalJump)
		}
		way, ri, dst, raw := int(ctl&3), int(ctl>>2&1)%len(rs), rxMergeDsts[ctl>>3&3], ctl&0x20 != 0 && ctl&3 != 3
		r := rs[ri]
		before := counts(r)
		w := -1
		if !raw {
			w = want(ri, dst, pkt)
		}
		var took bool
		switch way {
		case 0, 1:
			fr := pkt
			if !raw {
				fr = rxMergeFrame(dst, pkt, way)
			}
			took = r.Push(fr, at)
		case 2:
			ip := pkt
			if !raw {
				ip = rxMergeFrame(dst, pkt, 0)[packet.EthLen:]
			}
			took = r.PushIP(ip, at)
		case 3:
			took = r.PushUDP(src, dst, pkt, at)
		}
		after := counts(r)
		// Exactly one count moves by a packet: Other, or a stream's (a
		// path stream's octets, and the merge's packets of its path).
		got, streams := -1, 0
		for i := range r.NumStreams() {
			if after[1+i] != before[1+i] {
				got, streams = i, streams+1
			}
		}
		var path [2]uint64
		for p := range 2 {
			path[p] = after[len(after)-2+p] - before[len(before)-2+p]
		}
		if got < 0 && path[0]+path[1] == 1 {
			// A packet of no octets moves no Bytes: its stream is the
			// path's.
			for i := range r.NumStreams() {
				if s := r.streams[i].cfg; s.Merge != nil && path[s.Path] == 1 {
					got, streams = i, 1
				}
			}
		}
		other := after[0] - before[0]
		if other+uint64(streams) != 1 || took != (other == 0) {
			t.Fatalf("record %x: taken %v; counts %v, then %v", ctl, took, before, after)
		}
		if got >= 0 && r.streams[got].cfg.Merge != nil {
			p := r.streams[got].cfg.Path
			if path[p] != 1 || path[1-p] != 0 {
				t.Fatalf("record %x to path %d's stream: the merge's path packets %v, then %v", ctl, p, before, after)
			}
			handed[p]++
		} else if path != [2]uint64{} {
			t.Fatalf("record %x not to a path stream: the merge's path packets %v, then %v", ctl, before, after)
		}
		if raw {
			continue
		}
		if w != got || took != (w >= 0) {
			t.Fatalf("record %x: %d octets to %v went to stream %d of receiver %d (taken %v), want %d", ctl, len(pkt), dst, got, ri, took, w)
		}
		if got >= 0 && after[1+got]-before[1+got] != 1 && r.streams[got].cfg.Merge == nil {
			t.Fatalf("record %x: counts %v, then %v", ctl, before, after)
		}
		if got >= 0 && r.streams[got].cfg.Merge != nil && after[1+got]-before[1+got] != uint64(len(pkt)) {
			t.Fatalf("record %x: %d octets, the path stream counted %d", ctl, len(pkt), after[1+got]-before[1+got])
		}
		if len(m.order) > m.Held() {
			t.Fatalf("%d frames held, at most %d", len(m.order), m.Held())
		}
	}
	for _, r := range rs {
		r.Flush()
		for i := range r.NumStreams() {
			r.Stats(i)
			r.Analysis(i)
		}
	}
	st, taken := rig.end(t, handed)
	if st.Packets != taken || st.Delivered != rig.frames || st.Delivered+st.Skipped > st.Frames || st.Frames > taken {
		t.Fatalf("flow %+v, %d taken, %d frames handed out", st, taken, rig.frames)
	}
	m.Analysis()
	_ = m.Skew().String()
}

// TestMergeRestartOldWordKept: after a restart, the path behind's copies
// of the old stream find their numbers in the words the new stream took
// from them (oldWords), however far the new stream's numbers go within
// the restart's window: a new block that takes the word of an earlier new
// block (the new numbers a window's span on, here in three jumps) does
// not overwrite the old block kept for that word, and the old stream's
// last copy is absorbed as a duplicate, not counted late.
func TestMergeRestartOldWordKept(t *testing.T) {
	m := newTinyMerge(t, nil)
	at := int64(1e18)
	for i := range 10 { // old stream: 1000..1009, path 1 a millisecond behind
		at += 100e3
		p := tinyPkt(uint16(1000+i), uint32(i)*1800)
		m.Push(0, p, at)
		if i < 9 {
			m.Push(1, p, at+1e6)
		}
	}
	// Path 0: restarted 4 back. The new numbers start at 66541 (the
	// first past 1009 by half the 16-bit space whose low bits are 1005):
	// block 1039, whose word (1039 & 1023 = 15) is old block 15's (1009's).
	seq, ts := uint16(1005), uint32(10*1800)
	for _, step := range []uint16{0, 30000, 30000, 5500} { // to 132041, block 2063: word 15 again
		seq += step
		at += 100e3
		m.Push(0, tinyPkt(seq, ts), at)
		ts += 1800
	}
	if m.mask != 1023 || m.maxSeq>>6 != 2063 || !m.oldOn {
		t.Fatalf("mask %d, highest %d (block %d), restart window open %v: the test needs block 2063 of 1024 words, in the window", m.mask, m.maxSeq, m.maxSeq>>6, m.oldOn)
	}
	m.Push(1, tinyPkt(1009, 9*1800), at+1e6) // the old stream's last copy
	if p1, st := m.PathStats(1), m.Stats(); p1.Duplicates != 10 || p1.Late != 0 || st.Late != 0 {
		t.Errorf("path 1 %+v, flow late %d: want its 10 copies of the old stream absorbed, none late", p1, st.Late)
	}
}

// TestMergeRestartOldMalformed: a malformed copy of an old stream's packet
// (an SRD that says another follows, and none does) that the path behind brings
// within a restart's window, of a number the path ahead lost, is counted
// malformed and taken into no frame, as one of the new stream is.
func TestMergeRestartOldMalformed(t *testing.T) {
	frames := 0
	m := newTinyMerge(t, func(int64) { frames++ })
	at := int64(1e18)
	for i := range 10 { // old stream: path 0 loses 1007, path 1 is behind
		at += 100e3
		p := tinyPkt(uint16(1000+i), uint32(i)*1800)
		if i != 7 {
			m.Push(0, p, at)
		}
		if i < 7 {
			m.Push(1, p, at+1e6)
		}
	}
	at += 100e3
	m.Push(0, tinyPkt(1005, 10*1800), at) // restarted 4 back
	bad := rtpWith(1007, 7*1800, true, [][3]uint16{{8, 0, 0x8000}}, nil)
	m.Push(1, bad, at+1e6)
	m.Flush()
	p1, st := m.PathStats(1), m.Stats()
	if p1.Malformed != 1 || st.Malformed != 1 || p1.Taken != 0 || st.Lost != 1 || frames != 10 {
		t.Errorf("path 1 %+v; flow %+v; %d frames: want the copy malformed, not taken, 1007 lost, 10 frames", p1, st.Stats, frames)
	}
}

// TestMergeRestartOldMalformedHeld: as TestMergeRestartOldMalformed, of
// a frame still held (the old stream's last, whose first packet the path
// ahead lost): the malformed copy does not reach the frame, which is
// handed out incomplete, its packet counted lost.
func TestMergeRestartOldMalformedHeld(t *testing.T) {
	var infos []FrameStats
	m, err := NewMerge(&MergeConfig{Format: tinyFormat, PayloadType: 96, Window: SkewClassA,
		TakeFrame: func(buf []byte, st *FrameStats, at int64) []byte {
			infos = append(infos, *st)
			return buf
		}})
	if err != nil {
		t.Fatal(err)
	}
	at := int64(1e18)
	for i := range 9 { // old stream: 1000..1008 on both paths
		at += 100e3
		p := tinyPkt(uint16(1000+i), uint32(i)*1800)
		m.Push(0, p, at)
		m.Push(1, p, at+1e6)
	}
	// Frame 9 in two packets: path 0 loses the first, path 1 is behind.
	at += 100e3
	m.Push(0, rtpWith(1010, 9*1800, true, [][3]uint16{{4, 0, 2}}, make([]byte, 4)), at)
	at += 100e3
	m.Push(0, tinyPkt(1005, 10*1800), at) // restarted 5 back
	bad := rtpWith(1009, 9*1800, false, [][3]uint16{{4, 0, 0x8000}}, nil)
	m.Push(1, bad, at+1e6)
	m.Flush()
	p1, st := m.PathStats(1), m.Stats()
	if p1.Malformed != 1 || st.Malformed != 1 || p1.Taken != 0 || st.Lost != 1 || len(infos) != 11 {
		t.Fatalf("path 1 %+v; flow %+v; %d frames: want the copy malformed, not taken, 1009 lost, 11 frames", p1, st.Stats, len(infos))
	}
	if f9 := infos[9]; f9.Complete || f9.Packets != 1 || f9.Timestamp != 9*1800 {
		t.Errorf("frame 9: %+v, want 1 packet, incomplete", f9)
	}
}

// TestSeqWords: a merge's sequence window covers every sequence number
// its open frames may span, at a 180-octet block a packet, for frames up
// to the largest a Format allows: just under 2 GiB in a 32-bit program,
// where the frame rounded up to whole blocks once wrapped an int and left
// the window at its least (GOARCH=386 go test ./video is the test).
func TestSeqWords(t *testing.T) {
	for _, c := range []struct {
		nslots int64
		size   int
	}{
		{3, 1}, {3, 5184000}, {maxHeldFrames, 5184000}, {3, math.MaxInt32 - 100}, {maxHeldFrames, math.MaxInt32},
	} {
		w := seqWords(c.nslots, c.size)
		need := c.nslots * ((int64(c.size) + BPMBlock - 1) / BPMBlock)
		if w <= 0 || w&(w-1) != 0 || int64(w)*64 < max(need, 1<<16) || int64(w)*64 >= 2*max(need, 1<<16) {
			t.Errorf("%d frames of %d octets: %d words for %d sequence numbers", c.nslots, c.size, w, need)
		}
	}
}

// TestMergeWorkChain: a packet's SRD headers cost a merge one walk
// (parseHeaders', Merge.parsed) and a step per row written, as they cost a
// Receiver (TestHostileWorkFlat): chains of n empty rows, each packet
// given by both paths (the second copy a duplicate, its headers not read),
// cost n+2 steps a packet, and a frame's marker packet, held and pushed
// when the frame is handed out, n more (its headers walked again by Push).
// Each packet's headers walked twice (Push in place of pushParsed) would
// be 2n+2.
func TestMergeWorkChain(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 640, Height: 480, Scan: Progressive, Rate: Rate59_94}
	const per, count = 10, 300
	for _, n := range []int{33, 240} {
		rig := newMergeRig(t, f, SkewClassA, 0)
		m := rig.m
		pkts := chainPackets(t, f, per, n, 0)
		p := hostilePattern{seq: ordinarySeq, ts: ordinaryTS, mark: ordinaryMark}
		var pushed [2]uint64
		var markers uint64
		for k := range uint64(count) {
			pk := pkts[k%per]
			p.patch(pk, k, per)
			if p.mark(k, per) {
				markers++
			}
			for path := range 2 {
				m.Push(path, pk[rtpAt:], int64(k)*100_000)
				pushed[path]++
			}
		}
		m.Flush()
		if st := m.Stats(); st.Delivered != count/per || st.Duplicates != count || st.BadRows != count*uint64(n-2) {
			t.Fatalf("chain of %d empty rows: %+v", n, st.Stats)
		}
		// The slots' loops (m.steps) aside.
		if w, want := rig.work()-m.steps.get(), count*uint64(n+2)+markers*uint64(n); counting && w != want {
			t.Errorf("chain of %d empty rows: %d steps (%d of them parseHeaders'), want %d", n, w, m.parsed.get(), want)
		}
		rig.checkEnd(t, pushed)
	}
}

// TestMergeFlushMidFrame: a packet of a frame that Flush handed out
// half-filled is late, however much it looks like the next packet of the
// frame being filled when Flush came (push's shortcut for that packet
// must know the frame has gone).
func TestMergeFlushMidFrame(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 2)
	if fl.first[1] < 8 {
		t.Fatalf("frame 0 has %d packets, the test needs 8", fl.first[1])
	}
	m, got := newTestMerge(t, fl, SkewClassA)
	at := fl.send[0]
	for i := range 5 {
		m.Push(0, fl.pkts[i], at+int64(i))
	}
	m.Flush()
	if len(got.frames) != 1 {
		t.Fatalf("Flush handed out %d frames, want 1", len(got.frames))
	}
	m.Push(0, fl.pkts[5], at+5)
	m.Push(1, fl.pkts[5], at+6)
	p0, p1, st := m.PathStats(0), m.PathStats(1), m.Stats()
	if p0.Late != 1 || p0.Taken != 5 || p1.Duplicates != 1 || st.Late != 1 || st.Packets != 5 {
		t.Errorf("after the frame was flushed: path 0 %+v, path 1 %+v, flow Late %d Packets %d; want path 0 Late 1, Taken 5, path 1 Duplicates 1, flow Late 1, Packets 5",
			p0, p1, st.Late, st.Packets)
	}
	m.Flush()
	if len(got.frames) != 1 {
		t.Errorf("%d frames handed out, want 1: the late packet opened or filled one", len(got.frames))
	}
}

// TestReceiverMergeSameAsPush: a merge fed through two Receivers counts
// and hands out what a merge fed the same packets by Merge.Push does,
// after every packet: Receiver.push has the merge's common case and its
// way for a copy written out, which must not differ from Merge.push's.
// The packets are rewritten at random (sequence numbers, timestamps,
// payload types, lengths, arrival times), and the arrival times start at
// zero, where a path's first packet is within MaxArrivalJump of the
// latest time it starts with.
func TestReceiverMergeSameAsPush(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}
	fl := newMergeFlow(t, f, 12)
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 31))
		mr, gr := newTestMerge(t, fl, SkewClassA)
		mp, gp := newTestMerge(t, fl, SkewClassA)
		var rs [2]*Receiver
		for p := range rs {
			var err error
			if rs[p], err = NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: mr, Path: p}}}); err != nil {
				t.Fatal(err)
			}
		}
		d0, _ := randomDrops(len(fl.pkts), 5, seed+1)
		d1, _ := randomDrops(len(fl.pkts), 5, seed+2)
		ev := fl.arrivals([2]func(int) bool{d0, d1}, [2]time.Duration{0, time.Duration(seed%3) * time.Millisecond})
		t0 := ev[0].at
		for k, e := range ev {
			pkt := slices.Clone(fl.pkts[e.pkt])
			at := e.at - t0
			if seed > 0 && r.IntN(12) == 0 {
				switch r.IntN(6) {
				case 0:
					binary.BigEndian.PutUint16(pkt[2:], binary.BigEndian.Uint16(pkt[2:])+uint16(r.IntN(70000)))
				case 1:
					binary.BigEndian.PutUint32(pkt[4:], binary.BigEndian.Uint32(pkt[4:])+uint32(r.IntN(400_000)))
				case 2:
					pkt[1] ^= byte(1 + r.IntN(127))
				case 3:
					pkt = pkt[:r.IntN(len(pkt)+1)]
				case 4:
					at -= int64(r.IntN(50_000_000))
				case 5:
					at += r.Int64N(int64(3 * time.Second))
				}
			}
			fr := udpFrame(uint16(5004+2*e.path), pkt)
			rs[e.path].Push(fr, at)
			mp.Push(e.path, pkt, at)
			if a, b := mr.Stats(), mp.Stats(); a != b {
				t.Fatalf("seed %d, packet %d: through Receivers %+v, by Push %+v", seed, k, a, b)
			}
			for p := range 2 {
				if a, b := mr.PathStats(p), mp.PathStats(p); a != b {
					t.Fatalf("seed %d, packet %d, path %d: through Receivers %+v, by Push %+v", seed, k, p, a, b)
				}
			}
			if a, b := mr.Skew(), mp.Skew(); a != b {
				t.Fatalf("seed %d, packet %d: skew through Receivers %v, by Push %v", seed, k, a, b)
			}
		}
		mr.Flush()
		mp.Flush()
		if len(gr.frames) != len(gp.frames) {
			t.Fatalf("seed %d: %d frames through Receivers, %d by Push", seed, len(gr.frames), len(gp.frames))
		}
		for k := range gr.frames {
			if !bytes.Equal(gr.frames[k], gp.frames[k]) || gr.stats[k] != gp.stats[k] {
				t.Errorf("seed %d: frame %d differs", seed, k)
			}
		}
	}
}

// TestMergeRestartMalformedFirst guards pushRestart's refresh: a restart
// brought by a packet whose RFC 4175 headers are malformed (pushCopy drops
// it, so pushFirst does not refresh) still moves the highest number, and
// push's shortcut state from before the restart must go with it. Else the
// new stream's next number takes the shortcut into the old stream's word
// and not its own, and its copy on the other path is taken again instead
// of absorbed as a duplicate.
func TestMergeRestartMalformedFirst(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 2)
	if fl.first[1] < 8 {
		t.Fatalf("frame 0 has %d packets, the test needs 8", fl.first[1])
	}
	m, _ := newTestMerge(t, fl, SkewClassA)
	at := fl.send[0]
	for i := range 4 {
		m.Push(0, fl.pkts[i], at+int64(i))
	}
	seq := binary.BigEndian.Uint16(fl.pkts[4][2:]) - 1000
	rs := slices.Clone(fl.pkts[4][:16]) // its RTP header, and too little of the rest
	binary.BigEndian.PutUint16(rs[2:], seq)
	binary.BigEndian.PutUint32(rs[4:], binary.BigEndian.Uint32(rs[4:])+90000) // later: a restart
	m.Push(0, rs, at+4)
	p := slices.Clone(fl.pkts[4])
	binary.BigEndian.PutUint16(p[2:], seq)
	at2 := at + 4 + int64(m.Window()) // the restart's window has passed
	m.Push(0, p, at2)
	m.Push(1, p, at2+1)
	if p1 := m.PathStats(1); p1.Duplicates != 1 || p1.Taken != 0 {
		t.Errorf("path 1 %+v, want its copy a duplicate (Duplicates 1, Taken 0); flow %+v", p1, m.Stats())
	}
}

// TestMergeRestartOldRefresh guards old's refresh: a packet of the old
// stream that old takes after a restart (late here) goes through
// pushFirst with the old stream's highest in place, whose refresh finds
// a shortcut state by the old stream's numbers; old must find it again by
// the new stream's. Else the new stream's next packet takes the shortcut
// into the old stream's word, and its copy on the other path is taken
// again instead of absorbed as a duplicate.
func TestMergeRestartOldRefresh(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}
	fl := newMergeFlow(t, f, 1)
	old := len(fl.pkts)
	fl.add(t, 1, 65500-1000, 1) // the new stream: a frame numbered from 64500
	m, got := newTestMerge(t, fl, SkewClassA)
	at := fl.send[0]
	for i := range old {
		if i != 2 { // path 0 loses packet 2 of the old stream's frame
			m.Push(0, fl.pkts[i], at+int64(i))
		}
	}
	at += int64(old)
	m.Expire(at + 2*int64(m.Window()))
	if len(got.frames) != 1 {
		t.Fatalf("Expire handed out %d frames, want 1", len(got.frames))
	}
	at += 2*int64(m.Window()) + 1
	m.Push(0, fl.pkts[old], at)     // the restart
	m.Push(0, fl.pkts[old+1], at+1) // the new stream's next
	m.Push(1, fl.pkts[2], at+2)     // the old stream's, late: its frame has gone
	m.Push(0, fl.pkts[old+2], at+3)
	m.Push(1, fl.pkts[old+2], at+4)
	if p1 := m.PathStats(1); p1.Duplicates != 1 || p1.Late != 1 || p1.Taken != 0 {
		t.Errorf("path 1 %+v, want 1 late and 1 duplicate; flow %+v", p1, m.Stats())
	}
}

// TestReceiverMergeCopyOtherBlock: Receiver.push takes a packet below the
// highest for a copy only if its number's word holds its block. Here the
// word holds the block 2^16 numbers before (sequence numbers that jumped
// forward three times by up to 2^15-1, marking no word between), with the
// number's bit set: the packet is a first copy, which Merge.push takes
// (late or into its frame), not a duplicate. (Path 1 brings a copy
// first: a path's first packet takes Merge.push's way by its arrival.)
func TestReceiverMergeCopyOtherBlock(t *testing.T) {
	fl := newMergeFlow(t, Format{Sampling: YCbCr422, Depth: Depth10, Width: 64, Height: 32, Scan: Progressive, Rate: Rate50}, 2)
	if fl.first[1] < 8 {
		t.Fatalf("frame 0 has %d packets, the test needs 8", fl.first[1])
	}
	s0 := binary.BigEndian.Uint16(fl.pkts[0][2:])
	if s0&63 > 60 {
		t.Fatalf("frame 0 starts at %d, the test needs its first 4 in one block", s0)
	}
	type in struct {
		path int
		pkt  []byte
	}
	var ins []in
	for i := range 4 {
		ins = append(ins, in{0, fl.pkts[i]})
	}
	ins = append(ins, in{1, fl.pkts[0]}) // path 1's first packet: its arrival taken, a copy's check from the next
	// The highest jumps forward to s0+32770, s0+65470 (a block before
	// s0+65536's) and s0+98237, 2^15-1 or less each time.
	for k, seq := range []uint16{s0 + 32770, s0 + 65470, s0 + 32701} { // 32701: 98237 less 2^16
		p := slices.Clone(fl.pkts[4+k])
		binary.BigEndian.PutUint16(p[2:], seq)
		ins = append(ins, in{0, p})
	}
	p := slices.Clone(fl.pkts[1])           // frame 0's timestamp: no restart
	binary.BigEndian.PutUint16(p[2:], s0+1) // s0+1+2^16, 32,700 behind: its word holds s0+1's block
	ins = append(ins, in{1, p})

	mr, _ := newTestMerge(t, fl, SkewClassA)
	mp, _ := newTestMerge(t, fl, SkewClassA)
	if mr.mask != 1023 {
		t.Fatalf("the window has %d words, the test needs 1024", mr.mask+1)
	}
	var rs [2]*Receiver
	for p := range rs {
		var err error
		if rs[p], err = NewReceiver(&ReceiverConfig{Streams: []RxStream{{Port: uint16(5004 + 2*p), Merge: mr, Path: p}}}); err != nil {
			t.Fatal(err)
		}
	}
	at := fl.send[0]
	for k, e := range ins {
		fr := udpFrame(uint16(5004+2*e.path), e.pkt)
		rs[e.path].Push(fr, at+int64(k))
		mp.Push(e.path, e.pkt, at+int64(k))
	}
	r1, p1 := mr.PathStats(1), mp.PathStats(1)
	if r1 != p1 || r1.Duplicates != 1 || r1.Taken+r1.Late != 1 {
		t.Errorf("path 1 through a Receiver %+v, by Push %+v; want the same, the second not a duplicate", r1, p1)
	}
}
