package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
)

func txLoop(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error {
	rs, err := port.TxRings()
	if err != nil {
		return err
	}
	g, err := newGen(cfg)
	if err != nil {
		return err
	}
	// The first lap over each ring writes whole frames, so that every
	// slot's buffer holds one before later laps touch only what changes.
	for _, r := range rs {
		g.warm += r.NumSlots()
	}
	var sent, moved uint64
	var y osthread.Yielder
	pace := newPacer(cfg)
	for ctx.Err() == nil && (cfg.count == 0 || sent < cfg.count) {
		y.Pass(moved) // the bytes of the previous pass
		moved = 0
		want := pace.next(cfg.batch, sent)
		if want == 0 {
			continue
		}
		put := 0
		for _, r := range rs {
			n, err := r.Reserve(want - put)
			if err != nil {
				return fmt.Errorf("tx ring: %w", err)
			}
			bytes := g.fill(r, n)
			r.Publish(n)
			if n > 0 {
				put += n
				moved += bytes
				st.packets.Add(uint64(n))
				st.bytes.Add(bytes)
				st.batches.Add(1)
			}
			if put == want {
				break
			}
		}
		sent += uint64(put)
		if put == 0 {
			if err := waitErr(ctx, port.WaitTx()); err != nil {
				if err == errStop {
					break
				}
				return err
			}
			continue
		}
		if err := port.TxSync(); err != nil {
			return err
		}
	}
	return drainTx(port, rs...)
}

// drainTx lets the last packets of rs leave before port closes, syncing
// for at most a second.
func drainTx(port *nmsys.Port, rs ...*rings.TxRing) error {
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		pending := 0
		for _, r := range rs {
			pending += r.InFlight()
		}
		if pending == 0 {
			break
		}
		if err := port.TxSync(); err != nil {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

// batchCounts are the counters of one received batch.
type batchCounts struct {
	bytes            uint64
	lost, dup, reord int64 // changes: a jump or restart taken back takes them back
}

// drain reads the n acquired slots of r, counting bytes and, with check,
// sequence numbers. It does not allocate.
func (c *batchCounts) drain(r *rings.RxRing, n int, check bool, win *seqWindow) error {
	if !check { // count only: read slot lengths, like pkt-gen rx
		b, err := r.Bytes()
		c.bytes += uint64(b)
		return err
	}
	for i := 0; i < n; i++ {
		pkt, err := r.Packet(i)
		if err != nil {
			return err
		}
		c.frame(win, pkt)
	}
	return nil
}

// frame counts received frame pkt: its octets and, if it carries one, its
// sequence number against win.
func (c *batchCounts) frame(win *seqWindow, pkt []byte) {
	c.bytes += uint64(len(pkt))
	if s, ok := seqNumber(pkt); ok {
		c.seq(win, s)
	}
}

// seq counts sequence number s against win.
func (c *batchCounts) seq(win *seqWindow, s uint32) {
	l, d, o := win.add(s)
	c.lost, c.dup, c.reord = c.lost+l, c.dup+d, c.reord+o
}

// publish adds the counts of a batch of n packets to st; check says
// whether sequence numbers were counted.
func (c *batchCounts) publish(st *stats, n int, check bool) {
	st.packets.Add(uint64(n))
	st.bytes.Add(c.bytes)
	st.batches.Add(1)
	if check {
		st.lost.Add(uint64(c.lost)) // two's complement: a negative change subtracts
		st.dup.Add(uint64(c.dup))
		st.reordered.Add(uint64(c.reord))
	}
}

func rxLoop(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error {
	rs, err := port.RxRings()
	if err != nil {
		return err
	}
	check := cfg.mode.seq
	win := seqWindow{need: cfg.count} // -n 1 takes the first number unconfirmed, and a jump to -n's last number
	var got uint64
	idle := nmsys.Idler{Linger: cfg.linger}
	// A batch larger than the rings hold would never be full, and
	// -linger would sleep with the rings full.
	hold := 0
	for _, r := range rs {
		hold += r.Capacity()
	}
	batch := min(cfg.batch, max(hold, 1))
	for ctx.Err() == nil && (cfg.count == 0 || win.remaining(cfg.count, got, check) > 0) {
		want := batch
		if cfg.count != 0 {
			want = int(min(uint64(want), win.remaining(cfg.count, got, check)))
		}
		if cfg.left != nil {
			if cfg.left.done() {
				return nil
			}
			// Claims of other rings may come back: wait, then look again.
			if want = cfg.left.claim(want); want == 0 {
				if err := waitErr(ctx, idle.Next(port, false, 0)); err != nil {
					return stopOK(err)
				}
				continue
			}
		}
		total := 0
		var moved uint64
		for _, r := range rs {
			n, err := r.Acquire(want - total)
			if err != nil && n == 0 {
				return fmt.Errorf("rx ring: %w", err)
			}
			var c batchCounts
			if err := c.drain(r, n, check, &win); err != nil {
				return fmt.Errorf("rx ring: %w", err)
			}
			if cfg.capture != nil && n > 0 {
				if err := capture(cfg.capture, r, n); err != nil {
					return err
				}
			}
			r.Release(n)
			if n > 0 {
				total += n
				moved += c.bytes
				c.publish(st, n, check)
			}
			if total == want {
				break
			}
		}
		got += uint64(total)
		if cfg.left != nil {
			cfg.left.settle(want, total)
		}
		if err := waitErr(ctx, idle.NextBatch(port, total, total == want, moved)); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

// capture writes the n acquired slots of r to w, stamped with the time of
// the sync that delivered them (the ring's ts, or now if the kernel left it
// zero).
func capture(w *packet.PcapWriter, r *rings.RxRing, n int) error {
	ts := r.Timestamp()
	if ts.Unix() == 0 {
		ts = time.Now()
	}
	for i := range n {
		pkt, err := r.Packet(i)
		if err != nil {
			return fmt.Errorf("rx ring: %w", err)
		}
		if err := w.WritePacket(ts, pkt); err != nil {
			return fmt.Errorf("-pcap: %w", err)
		}
	}
	return nil
}
