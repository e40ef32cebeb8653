package main

import (
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/nmgo/nmgo/rings"
)

// pingTx is a real netmap TX ring (txRingPair's) that gives no room
// every third Reserve, as a full ring does, and remembers the last frame
// it handed out.
type pingTx struct {
	*rings.TxRing
	reserves int
	frame    []byte
}

func (q *pingTx) Reserve(n int) (int, error) {
	if q.reserves++; q.reserves%3 == 0 {
		return 0, nil
	}
	return q.TxRing.Reserve(n)
}

func (q *pingTx) Buf(i int) []byte {
	q.frame = q.TxRing.Buf(i)
	return q.frame
}

func (q *pingTx) SetLen(i, n int) {
	q.frame = q.frame[:n]
	q.TxRing.SetLen(i, n)
}

// pings, netmap's and AF_XDP's ping loop, over a TX ring whose sync
// hands each frame to an RX ring as its echo: every frame carries its
// number and send time where pong's echo and takeEcho look for them, a
// frame without room waits and goes again under its number, only the
// echo that carries its frame's number counts, as an RTT measured from
// its send time, and one that does not come counts as lost, not as an
// RTT or as packets and bytes.
func TestPings(t *testing.T) {
	cfg, err := parseFlags([]string{"-i", "x", "-f", "ping", "-n", "6", "-l", "100"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ring, rx, sync := txRingPair(t)
	tx, rt, st := &pingTx{TxRing: ring}, newRTTs(), &stats{}
	waits := 0
	var seqs []uint32
	start := time.Now()
	err = pings(context.Background(), cfg, st, rt, tx, "ring",
		func() error { waits++; return nil },
		func() error {
			// The kernel's part: the echo of an odd frame comes back
			// under another number.
			f := tx.frame
			if len(f) != 100 {
				t.Fatalf("frame of %d octets, want 100", len(f))
			}
			seq := binary.BigEndian.Uint32(f[pingSeqOff:])
			seqs = append(seqs, seq)
			if seq%2 == 1 {
				binary.BigEndian.PutUint32(f[pingSeqOff:], seq+100)
			}
			sync()
			return nil
		},
		func(seq uint32, until time.Time) (bool, error) {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(tx.frame[pingTimeOff:])))
			if d := until.Sub(sent); d != pingTimeout {
				t.Errorf("frame %d: waits %v after its send time, want %v", seq, d, pingTimeout)
			}
			return takeEcho(rx, "ring", rx.NumSlots(), seq)
		})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 6 {
		t.Errorf("%d frames flushed, want 6", len(seqs))
	}
	for i, s := range seqs {
		if s != uint32(i) {
			t.Errorf("frame %d went as number %d", i, s)
		}
	}
	if waits != 2 {
		t.Errorf("%d waits for room, want 2", waits)
	}
	sum := rt.summary(true)
	if sum.Count != 3 || sum.Lost != 3 {
		t.Errorf("%d RTTs, %d lost; want 3 and 3", sum.Count, sum.Lost)
	}
	if sum.Min <= 0 || sum.Max > int64(elapsed) {
		t.Errorf("RTTs from %dns to %dns in a run of %v", sum.Min, sum.Max, elapsed)
	}
	if p, b := st.packets.Load(), st.bytes.Load(); p != 3 || b != 300 {
		t.Errorf("%d packets and %d bytes counted, want the 3 echoed and 300", p, b)
	}
}

// pings allocates nothing per frame: a run of 101 frames allocates as
// much as a run of one.
func TestPingsAllocs(t *testing.T) {
	tx, rx, sync := txRingPair(t)
	rt, st := newRTTs(), &stats{}
	allocs := func(n int) float64 {
		cfg, err := parseFlags([]string{"-i", "x", "-f", "ping", "-n", strconv.Itoa(n)}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		wait := func() error { t.Fatal("no room"); return nil }
		flush := func() error { sync(); return nil }
		await := func(seq uint32, _ time.Time) (bool, error) {
			return takeEcho(rx, "ring", rx.NumSlots(), seq)
		}
		return testing.AllocsPerRun(10, func() {
			if err := pings(ctx, cfg, st, rt, tx, "ring", wait, flush, await); err != nil {
				t.Fatal(err)
			}
		})
	}
	one, many := allocs(1), allocs(101)
	if many != one {
		t.Errorf("%v allocations for 101 frames, %v for one", many, one)
	}
	if c := rt.summary(true).Count; c != 11+11*101 {
		t.Errorf("%d echoes, want %d", c, 11+11*101)
	}
}
