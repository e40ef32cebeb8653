package video

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// largestFormat returns the format with the largest frame that Validate
// accepts: the most octets per pixel at the largest whole dimensions.
func largestFormat(t testing.TB) Format {
	t.Helper()
	var best Format
	for s := YCbCr444; s < numSampling; s++ {
		for _, d := range []Depth{Depth8, Depth10, Depth12, Depth16, Depth16f} {
			pg, ok := PgroupOf(s, d)
			if !ok {
				continue
			}
			f := Format{Sampling: s, Depth: d, Scan: Progressive, Rate: Rate60,
				Width: MaxDimension / pg.Width * pg.Width, Height: MaxDimension / pg.Height * pg.Height}
			switch {
			case s >= ICtCp444 && s <= ICtCp420:
				f.Colorimetry = BT2100
			case s >= CLYCbCr444 && s <= CLYCbCr420:
				f.Colorimetry = BT2020
			case s == XYZ:
				f.Colorimetry = ColorimetryXYZ
			}
			if f.Validate() == nil && (best.Width == 0 || f.FrameSize() > best.FrameSize()) {
				best = f
			}
		}
	}
	// 6.4 GB at 32767x32767 and 6 octets a pixel; in a 32-bit program
	// Validate refuses what an int cannot hold, and the largest left is
	// still more than DefaultMemory.
	want := int64(6 << 30)
	if strconv.IntSize == 32 {
		want = DefaultMemory + 1
	}
	if int64(best.FrameSize()) < want {
		t.Fatalf("largest format %v has a frame of only %d octets", best, best.FrameSize())
	}
	return best
}

// allocated returns the octets the heap allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestReceiverBudget: NewReceiver refuses what does not fit the budget,
// naming the stream and the size, before it allocates anything, and
// charges nothing then.
func TestReceiverBudget(t *testing.T) {
	big := largestFormat(t)
	var err error
	n := allocated(func() {
		_, err = NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: fmt64x32}, {Format: big, Port: 5006}}})
	})
	var be *BudgetError
	if !errors.As(err, &be) || !errors.Is(err, ErrBudget) {
		t.Fatalf("largest format %v (%d octets): %v", big, big.FrameSize(), err)
	}
	for _, want := range []string{"stream 1", "UDP port 5006", fmt.Sprint(int64(big.FrameSize()) + streamMemory), fmt.Sprint(DefaultMemory)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n > 1<<20 {
		t.Errorf("NewReceiver allocated %d octets before refusing", n)
	}

	// Many streams that fit one by one but not together; a shared budget
	// keeps nothing of a refused receiver.
	b, err := NewBudget(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	f := bench1080p // 5,184,000 octets a frame
	var streams []RxStream
	for i := range 20 {
		streams = append(streams, RxStream{Format: f, Port: uint16(5000 + i)})
	}
	_, err = NewReceiver(&ReceiverConfig{Streams: streams, Budget: b})
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "stream 12 ") || b.Used() != 0 {
		t.Fatalf("20 1080p streams in 64 MiB: %v; %d octets left charged", err, b.Used())
	}
	r, err := NewReceiver(&ReceiverConfig{Streams: streams[:12], Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(receiverMemory + 12*(f.FrameSize()+streamMemory)); b.Used() != want {
		t.Errorf("budget used %d, want %d", b.Used(), want)
	}
	if _, err := NewReceiver(&ReceiverConfig{Streams: streams[:1], Budget: b}); !errors.Is(err, ErrBudget) {
		t.Errorf("a second receiver over the shared budget: %v", err)
	}
	_ = r
	if _, err := NewBudget(0); err == nil {
		t.Error("a budget of 0 accepted")
	}
	// Every charge fits an int, so a product of frames and frame size
	// that was charged cannot wrap in a 32-bit program.
	if b, err := NewBudget(math.MaxInt); err != nil || b.Limit() != math.MaxInt {
		t.Errorf("a budget of math.MaxInt: %v", err)
	}
	if strconv.IntSize == 32 {
		if _, err := NewBudget(int64(math.MaxInt32) + 1); err == nil || !strings.Contains(err.Error(), "32-bit") {
			t.Errorf("a budget over math.MaxInt in a 32-bit program: %v", err)
		}
	}
}

// TestPatternMemory: NewPattern allocates what PatternMemory says, so a
// caller can charge it first.
func TestPatternMemory(t *testing.T) {
	for _, f := range []Format{bench1080p, fmt64x32i, {Sampling: RGB, Depth: Depth16f, Width: 640, Height: 480, Scan: Progressive, Rate: Rate50}} {
		want := PatternMemory(&f)
		var err error
		got := allocated(func() { _, err = NewPattern(&f) })
		if err != nil || want < int64(f.FrameSize()) || got < uint64(want) || got > uint64(want)+uint64(want)/8+4096 {
			t.Errorf("%v: NewPattern allocated %d octets, PatternMemory says %d (%v)", f, got, want, err)
		}
	}
	if PatternMemory(&Format{}) != 0 {
		t.Error("PatternMemory of an invalid format")
	}
}

// TestPattern4320p: a pattern charges its picture and a strip of the
// planar picture it is packed from, not a whole planar frame, so that the
// default budget holds the patterns of three distinct 4320p formats (a
// Sender's test patterns, one per format), even of the largest ones.
// Before, a 4:4:4 16-bit pattern charged 429 MiB and two of them were as
// many as fitted.
func TestPattern4320p(t *testing.T) {
	var most int64
	var largest Format
	for _, w := range []int{7680, 8192} {
		for _, f := range allFormats() {
			f.Width, f.Height = w, 4320
			if f.Scan != Progressive || f.Validate() != nil {
				continue
			}
			if n := PatternMemory(&f); n > most {
				most, largest = n, f
			}
			tall, _ := patternFormat(&f)
			if n, frame := PatternMemory(&f), int64(tall.FrameSize()); n > frame+frame/32 {
				t.Errorf("%v: a pattern of %d octets for a picture of %d", f, n, frame)
			}
		}
	}
	t.Logf("largest pattern: %v, %d MiB", largest, most>>20)
	if 3*most > DefaultMemory {
		t.Errorf("three patterns of %v (%d octets each) do not fit DefaultMemory", largest, most)
	}
}

// TestReceiverLazyBuffers: frame buffers are made at a stream's first
// packet, not by NewReceiver.
func TestReceiverLazyBuffers(t *testing.T) {
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 3840, Height: 2160, Scan: Progressive, Rate: Rate50}
	var streams []RxStream
	for i := range 8 {
		streams = append(streams, RxStream{Format: f, Port: uint16(5000 + i)})
	}
	var r *Receiver
	var err error
	if n := allocated(func() { r, err = NewReceiver(&ReceiverConfig{Streams: streams}) }); err != nil || n > 1<<20 {
		t.Fatalf("NewReceiver of 8 UHD streams: %d octets allocated, %v", n, err)
	}
	pkts := chainPackets(t, f, 20, 1, 20) // to port 5004: stream 4
	if n := allocated(func() { r.Push(pkts[0], 0) }); n < uint64(f.FrameSize()) || n > uint64(f.FrameSize())+1<<20 {
		t.Errorf("first packet of stream 4 allocated %d octets, frame %d", n, f.FrameSize())
	}
	for i := range r.streams {
		if have := r.streams[i].buf != nil; have != (i == 4) {
			t.Errorf("stream %d has a frame buffer: %v", i, have)
		}
	}
	// The stream's later packets allocate nothing (AllocsPerRun: on one
	// P, averaged, so that an allocation of the runtime's or the race
	// detector's meanwhile is not counted as the packets').
	next := 1
	if n := testing.AllocsPerRun(len(pkts)-2, func() { r.Push(pkts[next], 0); next++ }); n != 0 {
		t.Errorf("later packets of the stream allocated %v times a packet", n)
	}
	// AllocFrames makes the other seven, and only those.
	if n := allocated(r.AllocFrames); n < 7*uint64(f.FrameSize()) || n > 7*uint64(f.FrameSize())+1<<20 {
		t.Errorf("AllocFrames allocated %d octets for 7 frames of %d", n, f.FrameSize())
	}
	for i := range r.streams {
		if r.streams[i].buf == nil {
			t.Errorf("stream %d has no frame buffer after AllocFrames", i)
		}
	}
}

// A pattern's picture is up to 256 lines taller than its frame: for a
// frame an int just holds (a 32766x10922 4:4:4 16-bit frame is 2.1 GB)
// that picture may not fit, in a 32-bit program. PatternMemory once
// wrapped it to a negative size, which a budget refuses naming a negative
// charge, and NewPattern made a slice of it (a panic); PatternMemory
// gives the true size and NewPattern an error.
func TestPatternPictureFitsInt(t *testing.T) {
	f := Format{Sampling: YCbCr444, Depth: Depth16, Width: 32766, Height: 10922, Scan: Progressive, Rate: Rate50}
	if err := f.Validate(); err != nil {
		t.Skipf("%v: %v", f, err)
	}
	tall, _ := patternFormat(&f)
	want := int64(tall.RowBytes()) * int64(tall.Height)
	if n := PatternMemory(&f); n < want {
		t.Errorf("%v: PatternMemory %d, want at least the picture's %d", f, n, want)
	}
	if want <= math.MaxInt {
		return // a 64-bit program: not made here, 2.2 GB
	}
	if _, err := NewPattern(&f); err == nil || !strings.Contains(err.Error(), "more than a 32-bit program can hold") {
		t.Errorf("%v: NewPattern: %v", f, err)
	}
}

// A ledger charges its budget, and Unwind gives back all that was charged
// through it, a receiver's and a merge's charges too, and nothing else.
func TestBudgetLedger(t *testing.T) {
	b, err := NewBudget(1 << 30)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Charge("other user", 1000); err != nil {
		t.Fatal(err)
	}
	l := b.Ledger()
	if err := l.Charge("a", 500); err != nil {
		t.Fatal(err)
	}
	f := Format{Sampling: YCbCr422, Depth: Depth10, Width: 1920, Height: 1080, Scan: Progressive, Rate: Rate50}
	if _, err := NewReceiver(&ReceiverConfig{Streams: []RxStream{{Format: f}}, Budget: l}); err != nil {
		t.Fatal(err)
	}
	l.Release(100)
	if want := 1000 + 400 + ReceiverMemory(&f); b.Used() != want || l.Used() != want || l.Limit() != b.Limit() {
		t.Fatalf("used %d (ledger %d, limit %d), want %d", b.Used(), l.Used(), l.Limit(), want)
	}
	var be *BudgetError
	if err := l.Charge("too much", 1<<30); !errors.As(err, &be) || be.Used != b.Used() || be.Limit != 1<<30 {
		t.Fatalf("%v", err)
	}
	// A Merge's charge, which no function gives, goes back the same way.
	before := b.Used()
	if _, err := NewMerge(&MergeConfig{Format: f, OnFrame: func([]byte, *FrameStats) {}, Budget: l}); err != nil {
		t.Fatal(err)
	}
	if b.Used() <= before {
		t.Fatalf("a merge charged nothing through the ledger (%d used)", b.Used())
	}
	l.Unwind()
	l.Unwind()
	if b.Used() != 1000 {
		t.Errorf("used %d after Unwind, want the other user's 1000", b.Used())
	}
	b.Unwind() // not a ledger: nothing
	if b.Used() != 1000 {
		t.Errorf("used %d after Unwind of a budget, want 1000", b.Used())
	}

	// More released through a ledger than charged through it: Unwind
	// gives back nothing, and does not charge b the surplus beyond its
	// limit.
	l = b.Ledger()
	if err := l.Charge("a", 100); err != nil {
		t.Fatal(err)
	}
	l.Release(300)
	if err := b.Charge("fill", b.Limit()-b.Used()); err != nil {
		t.Fatal(err)
	}
	l.Unwind()
	if b.Used() != b.Limit() {
		t.Errorf("used %d of %d after Unwind of an over-released ledger", b.Used(), b.Limit())
	}
	// The ledger of a nil Budget refuses every charge.
	if err := (*Budget)(nil).Ledger().Charge("a", 1); !errors.As(err, &be) {
		t.Errorf("a charge to the ledger of a nil Budget: %v", err)
	}
}
