package video

import (
	"math/big"
	"strings"
	"testing"
)

func mustPacer(t testing.TB, tm Timing, s Sender, c *PacerConfig) *Pacer {
	t.Helper()
	p, err := tm.Params(s)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := NewPacer(p, c)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// TestPacerSchedule checks send times against the formula of st2110.md 3.4
// in exact rationals: packet j of frame N at ⌈N × TFRAME + TROffset + (j -
// Lead) × TRS⌉.
func TestPacerSchedule(t *testing.T) {
	for _, c := range paramsGolden {
		for _, burst := range []int{1, 3} {
			pc := mustPacer(t, c.timing, c.sender, &PacerConfig{Burst: burst})
			g := &pc.g
			grain := big.NewRat(int64(g.pp), int64(g.s))
			tframe := new(big.Rat).Mul(grain, big.NewRat(g.f, 1))
			trs := new(big.Rat).Mul(grain, big.NewRat(pc.trs, 1))
			tro := new(big.Rat).Mul(grain, big.NewRat(g.tro, 1))
			n0, _ := g.split(taiNow)
			for _, n := range []int64{n0, n0 + 1, n0 + 1001} {
				for _, k := range []int{0, 1, 2, 3, 4, c.timing.Packets/2 + 1, c.timing.Packets - 1} {
					j := k - k%burst
					x := new(big.Rat).Mul(tframe, big.NewRat(n, 1))
					x.Add(x, tro)
					x.Add(x, new(big.Rat).Mul(trs, big.NewRat(int64(j-pc.Lead()), 1)))
					got := pc.SendTime(n, k)
					if big.NewRat(got, 1).Cmp(x) < 0 || big.NewRat(got-1, 1).Cmp(x) >= 0 {
						t.Fatalf("%s %v burst %d: SendTime(%d, %d) = %d, want ⌈%s⌉", c.name, c.sender, burst, n, k, got, x.FloatString(2))
					}
				}
			}
		}
	}
}

// TestPacerLeadDefaults pins the default leads (MTL's "vrx", st2110.md 3.4).
func TestPacerLeadDefaults(t *testing.T) {
	for _, c := range []struct {
		tm    Timing
		s     Sender
		burst int
		want  int
	}{
		{t1080p59, SenderNarrow, 1, 9 - 4},           // VRX_FULL 9
		{t1080p59, SenderNarrow, 3, 9 - 4 - 2},       // minus the burst
		{t1080p59, SenderNarrowLinear, 1, 9 - 4},     // VRX_FULL 9
		{t1080p59, SenderWide, 1, 4 * 172 / 5},       // TRO/TRS = 637674/3707.4 = 172.0 -> 137 < 0.8 × 863
		{t2160p59, SenderNarrow, 1, 33 - 4},          // VRX_FULL 33
		{t2160p59, SenderWide, 1, 4 * 602 / 5},       // 637674/1059.26 = 602.0 -> 481
		{t1080i59, SenderNarrow, 1, 8 - 4},           // VRX_FULL 8
		{t1080i59, SenderWide, 1, 4 * 88 / 5},        // 652504/7414.8 = 88.0 -> 70
		{t1080p50, SenderNarrowLinear, 4, 8 - 4 - 3}, // 1 packet of lead left
	} {
		pc := mustPacer(t, c.tm, c.s, &PacerConfig{Burst: c.burst})
		if pc.Lead() != c.want {
			t.Errorf("%+v %v burst %d: lead %d, want %d", c.tm, c.s, c.burst, pc.Lead(), c.want)
		}
	}
	if pc := mustPacer(t, t1080p59, SenderNarrow, &PacerConfig{Lead: -1}); pc.Lead() != 0 {
		t.Errorf("Lead -1: lead %d, want 0", pc.Lead())
	}
}

func TestPacerConfigErrors(t *testing.T) {
	for _, c := range []struct {
		s    Sender
		cfg  PacerConfig
		want string
	}{
		{SenderNarrow, PacerConfig{Burst: 7}, "above CMAX 6"},
		{SenderNarrow, PacerConfig{Lead: 9, Burst: 2}, "overflow VRX_FULL 9"},
		{SenderWide, PacerConfig{Lead: 800}, "longer than TROffset"},
		{SenderWide, PacerConfig{Burst: 17}, "above CMAX 16"},
	} {
		p, err := t1080p59.Params(c.s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewPacer(p, &c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %+v: error %v, want one about %q", c.s, c.cfg, err, c.want)
		}
	}
	if _, err := NewPacer(Params{}, nil); err == nil {
		t.Error("NewPacer(Params{}): no error")
	}
}

// TestPacerDue walks two frames: Due releases what is due, at most limit,
// stops at the end of a frame, and bursts go together.
func TestPacerDue(t *testing.T) {
	pc := mustPacer(t, t1080p59, SenderNarrow, &PacerConfig{Burst: 2})
	pc.Start(taiNow)
	n0, k0 := pc.Pos()
	if k0 != 0 || pc.Next() < taiNow || pc.SendTime(n0-1, 0) >= taiNow {
		t.Fatalf("Start(%d): at frame %d packet %d, next %d", int64(taiNow), n0, k0, pc.Next())
	}
	if got := pc.Due(pc.Next()-1, 100); got != 0 {
		t.Fatalf("Due before the first packet: %d", got)
	}
	if got := pc.Due(pc.Next(), 100); got != 2 {
		t.Fatalf("Due at the first burst: %d, want 2", got)
	}
	if got := pc.Due(pc.SendTime(n0, 10), 3); got != 3 {
		t.Fatalf("Due limited to 3: %d", got)
	}
	if _, k := pc.Pos(); k != 5 {
		t.Fatalf("after 5 packets at %d", k)
	}
	// Far in the future: the rest of the frame, and no more.
	if got := pc.Due(taiNow+10e9, 1<<20); got != 4320-5 {
		t.Fatalf("Due rest of frame: %d, want %d", got, 4320-5)
	}
	if n, k := pc.Pos(); n != n0+1 || k != 0 || pc.Next() != pc.SendTime(n0+1, 0) {
		t.Fatalf("after a frame: at %d/%d, next %d", n, k, pc.Next())
	}
	// Every packet exactly on time: a burst's two packets go together.
	for k := range 4320 {
		want := 2
		if k%2 == 1 {
			want = 0 // went with its burst's first
		}
		if got := pc.Due(pc.SendTime(n0+1, k), 1<<20); got != want {
			t.Fatalf("packet %d on time: Due %d, want %d", k, got, want)
		}
	}
	if n, _ := pc.Pos(); n != n0+2 {
		t.Fatalf("after two frames at frame %d", n)
	}
}

// TestPacerPending checks that pending counts what Due(now, 1) then takes,
// one packet at a time as a Transmitter takes them, across bursts and
// frames, for bursts that do and do not divide the packets of a frame.
func TestPacerPending(t *testing.T) {
	odd := Timing{Rate: Rate59_94, Scan: Progressive, Height: 1080, Packets: 4321}
	for _, tm := range []Timing{t1080p59, t1080i59, odd} {
		for _, burst := range []int{1, 3, 4, 5, 6} {
			if p, err := tm.Params(SenderNarrow); err != nil || burst > p.CMax {
				continue
			}
			pc := mustPacer(t, tm, SenderNarrow, &PacerConfig{Burst: burst})
			pc.Start(taiNow)
			n0, _ := pc.Pos()
			end := pc.SendTime(n0+3, 0)
			for step, now := 0, int64(taiNow); now < end; step++ {
				// Steps of 1 ns to a few bursts, and a limit that sometimes bites.
				now += int64(step%7) * int64(step%5) * 3000
				limit := 1 + step%13
				want := pc.pending(now, limit)
				got := 0
				for got < limit && pc.Due(now, 1) == 1 {
					got++
				}
				if got != want {
					t.Fatalf("%v burst %d step %d: pending %d, Due took %d", tm, burst, step, want, got)
				}
			}
		}
	}
}

// TestPacerStartField checks that an interlaced pacer starts on a first
// field and that frames count fields.
func TestPacerStartField(t *testing.T) {
	pc := mustPacer(t, t1080i59, SenderNarrow, nil)
	for _, at := range []int64{taiNow, taiNow + 16683333, taiNow + 2*16683333} {
		pc.Start(at)
		n, _ := pc.Pos()
		if n%2 != 0 || pc.Next() < at || pc.SendTime(n-2, 0) >= at {
			t.Errorf("Start(%d): frame %d, next %d", at, n, pc.Next())
		}
		if d := pc.FrameTime(n+1) - pc.FrameTime(n); d < 16683333 || d > 16683334 {
			t.Errorf("field period %d ns", d)
		}
	}
}

// TestPacerFrameTime checks that the media clock of FrameTime (rounded up)
// is that of the exact alignment point N × TFRAME, rounded half up, for the
// rates of ST 2110.
func TestPacerFrameTime(t *testing.T) {
	for _, r := range []Rate{Rate23_98, Rate24, Rate25, Rate29_97, Rate30, Rate50, Rate59_94, Rate60, {120000, 1001}, {120, 1}} {
		for _, scan := range []Scan{Progressive, Interlaced} {
			pc := mustPacer(t, Timing{Rate: r, Scan: scan, Height: 1080, Packets: 2000}, SenderWide, nil)
			n0, _ := pc.g.split(taiNow)
			for n := n0; n < n0+12; n++ {
				// round(N × den × 90000 / (num × fields)), halves up
				num := new(big.Int).Mul(big.NewInt(n), big.NewInt(int64(r.Den)*90000))
				x := new(big.Rat).SetFrac(num, big.NewInt(int64(r.Num)*int64(scan.Fields())))
				x.Add(x, big.NewRat(1, 2))
				want := new(big.Int).Quo(x.Num(), x.Denom())
				want.Mod(want, big.NewInt(1<<32))
				if got := Timestamp(pc.FrameTime(n)); uint64(got) != want.Uint64() {
					t.Errorf("%v %v frame %d: Timestamp(FrameTime) = %d, want %d", r, scan, n, got, want)
				}
				if got := pc.g.mediaClock(n); uint64(got) != want.Uint64() {
					t.Errorf("%v %v frame %d: mediaClock = %d, want %d", r, scan, n, got, want)
				}
			}
		}
	}
}

func TestPacerAllocs(t *testing.T) {
	pc := mustPacer(t, t1080p59, SenderWide, &PacerConfig{Burst: 4})
	pc.Start(taiNow)
	now := int64(taiNow)
	allocs := testing.AllocsPerRun(1000, func() {
		now += 20000
		for pc.Due(now, 16) > 0 {
		}
		_ = pc.SendTime(12345, 17)
	})
	if allocs != 0 {
		t.Errorf("Pacer.Due: %v allocations", allocs)
	}
}
