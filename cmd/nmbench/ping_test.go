package main

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// pingTx is an echoTx of one frame: Reserve gives no room every third
// call, as a full ring does.
type pingTx struct {
	buf      [2048]byte
	len      int
	reserves int
	sent     int
}

func (q *pingTx) Reserve(n int) (int, error) {
	if q.reserves++; q.reserves%3 == 0 {
		return 0, nil
	}
	return 1, nil
}
func (q *pingTx) Buf(int) []byte  { return q.buf[:] }
func (q *pingTx) SetLen(_, n int) { q.len = n }
func (q *pingTx) Publish(n int)   { q.sent += n }

// pings, netmap's and AF_XDP's ping loop: every frame carries its number
// and send time where pong's echo and awaitEcho look for them, a frame
// without room waits and goes again under its number, and an echo that
// does not come counts as lost, not as an RTT.
func TestPings(t *testing.T) {
	cfg, err := parseFlags([]string{"-i", "x", "-f", "ping", "-n", "6"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tx, rt, st := &pingTx{}, newRTTs(), &stats{}
	waits, flushes := 0, 0
	var seqs []uint32
	err = pings(context.Background(), cfg, st, rt, tx, "ring",
		func() error { waits++; return nil },
		func() error { flushes++; return nil },
		func(seq uint32, until time.Time) (bool, error) {
			f := tx.buf[:tx.len]
			if len(f) < pingMinLen {
				t.Fatalf("frame of %d octets", len(f))
			}
			if got := binary.BigEndian.Uint32(f[pingSeqOff:]); got != seq {
				t.Errorf("frame %d carries number %d", seq, got)
			}
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(f[pingTimeOff:])))
			if d := until.Sub(sent); d != pingTimeout {
				t.Errorf("frame %d: waits %v after its send time, want %v", seq, d, pingTimeout)
			}
			seqs = append(seqs, seq)
			return seq%2 == 0, nil // the odd ones' echoes are lost
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 6 || tx.sent != 6 || flushes != 6 {
		t.Errorf("numbers %v, %d frames published, %d flushes; want 0 to 5, 6 and 6", seqs, tx.sent, flushes)
	}
	for i, s := range seqs {
		if s != uint32(i) {
			t.Errorf("frame %d went as number %d", i, s)
		}
	}
	if waits != 2 {
		t.Errorf("%d waits for room, want 2", waits)
	}
	if sum := rt.summary(true); sum.Count != 3 || sum.Lost != 3 {
		t.Errorf("%d RTTs, %d lost; want 3 and 3", sum.Count, sum.Lost)
	}
	if p := st.packets.Load(); p != 3 {
		t.Errorf("%d packets counted, want the 3 echoed", p)
	}
}
