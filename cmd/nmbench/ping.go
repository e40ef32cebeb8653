package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/osthread"
	"github.com/nmgo/nmgo/packet"
	"github.com/nmgo/nmgo/rings"
)

// ping and pong, as in pkt-gen: ping sends one numbered, timestamped
// frame at a time and waits for its echo; pong sends every frame it
// receives back with Ethernet and IPv4 source and destination swapped.
// Payload layout after the 42 header bytes: sequence (4 bytes, big
// endian), send time (8 bytes, Unix nanoseconds).

const (
	pingSeqOff  = packet.UDPHdrLen
	pingTimeOff = packet.UDPHdrLen + 4
	pingMinLen  = packet.UDPHdrLen + 12
	pingTimeout = time.Second // a reply later than this counts as lost
	maxRTTs     = 1 << 20     // samples kept for percentiles
)

// spinSyncs is how many empty RX syncs ping and pong issue before they
// sleep, trading a CPU for latency. Throughput receivers do not spin (see
// nmsys.Idler).
const spinSyncs = 256

// rtts collects round-trip times; the ping loop adds, the reporter reads.
type rtts struct {
	mu      sync.Mutex
	all     []int64 // first maxRTTs samples of the run
	from    int     // start of the current interval in all
	n       uint64
	sum     int64
	min     int64
	max     int64
	timeout uint64
}

func newRTTs() *rtts { return &rtts{all: make([]int64, 0, maxRTTs)} }

func (r *rtts) add(d time.Duration) {
	ns := int64(d)
	r.mu.Lock()
	if len(r.all) < cap(r.all) {
		r.all = append(r.all, ns)
	}
	if r.n == 0 || ns < r.min {
		r.min = ns
	}
	r.max = max(r.max, ns)
	r.n++
	r.sum += ns
	r.mu.Unlock()
}

func (r *rtts) lost() {
	r.mu.Lock()
	r.timeout++
	r.mu.Unlock()
}

// rttSummary is what reports carry.
type rttSummary struct {
	Count uint64 `json:"rtt_count"`
	Min   int64  `json:"rtt_min_ns"`
	Avg   int64  `json:"rtt_avg_ns"`
	P50   int64  `json:"rtt_p50_ns"`
	P99   int64  `json:"rtt_p99_ns"`
	Max   int64  `json:"rtt_max_ns"`
	Lost  uint64 `json:"rtt_lost"`
}

// summary summarises the whole run (whole) or the samples since the last
// interval summary.
func (r *rtts) summary(whole bool) rttSummary {
	r.mu.Lock()
	from := r.from
	if whole {
		from = 0
	} else {
		r.from = len(r.all)
	}
	s := slices.Clone(r.all[from:])
	out := rttSummary{Lost: r.timeout}
	if whole && r.n > 0 {
		out.Count, out.Min, out.Max, out.Avg = r.n, r.min, r.max, r.sum/int64(r.n)
	}
	r.mu.Unlock()
	if len(s) == 0 {
		return out
	}
	slices.Sort(s)
	pct := func(p float64) int64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	out.P50, out.P99 = pct(0.50), pct(0.99)
	if !whole {
		var sum int64
		for _, v := range s {
			sum += v
		}
		out.Count, out.Min, out.Max, out.Avg = uint64(len(s)), s[0], s[len(s)-1], sum/int64(len(s))
	}
	return out
}

func (s rttSummary) String() string {
	us := func(ns int64) string { return fmt.Sprintf("%.1f", float64(ns)/1e3) }
	return fmt.Sprintf("RTT us min/avg/p50/p99/max %s/%s/%s/%s/%s over %d, %d lost",
		us(s.Min), us(s.Avg), us(s.P50), us(s.P99), us(s.Max), s.Count, s.Lost)
}

// pingLoop sends one frame at a time on port and waits for its echo.
func pingLoop(ctx context.Context, cfg *config, port *nmsys.Port, st *stats, rt *rtts) error {
	tx, rx, err := firstRings(port)
	if err != nil {
		return err
	}
	return pings(ctx, cfg, st, rt, tx, "ring", port.WaitTx, port.TxSync, func(seq uint32, until time.Time) (bool, error) {
		return awaitEcho(ctx, port, rx, seq, until)
	})
}

// pings is ping's loop over tx (whose errors call it a kind, "ring" or
// "queue"), netmap's and AF_XDP's: waitTx waits for room in tx, flush
// hands a frame to the kernel, await receives until the echo of seq
// arrives (true) or until passes (false).
func pings(ctx context.Context, cfg *config, st *stats, rt *rtts, tx echoTx, kind string,
	waitTx, flush func() error, await func(seq uint32, until time.Time) (bool, error)) error {
	g, err := newGen(cfg)
	if err != nil {
		return err
	}
	l := max(g.length(), pingMinLen)
	var y osthread.Yielder
	for seq := uint32(0); ctx.Err() == nil && (cfg.count == 0 || uint64(seq) < cfg.count); seq++ {
		y.Pass(uint64(l)) // before the timed part: a yield is not part of an RTT
		n, err := tx.Reserve(1)
		if err != nil {
			return fmt.Errorf("tx %s: %w", kind, err)
		}
		if n == 0 {
			if err := waitErr(ctx, waitTx()); err != nil {
				return stopOK(err)
			}
			seq--
			continue
		}
		buf := tx.Buf(0)
		if buf == nil {
			return fmt.Errorf("tx %s: %w", kind, rings.ErrIntegrity)
		}
		g.full(buf, l)
		binary.BigEndian.PutUint32(buf[pingSeqOff:], seq)
		sent := time.Now()
		binary.BigEndian.PutUint64(buf[pingTimeOff:], uint64(sent.UnixNano()))
		tx.SetLen(0, l)
		tx.Publish(1)
		if err := flush(); err != nil {
			return err
		}
		got, err := await(seq, sent.Add(pingTimeout))
		if err != nil {
			return stopOK(err)
		}
		if !got {
			rt.lost()
			continue
		}
		rt.add(time.Since(sent))
		st.packets.Add(1)
		st.bytes.Add(uint64(l))
		st.batches.Add(1)
	}
	return nil
}

func stopOK(err error) error {
	if err == errStop {
		return nil
	}
	return err
}

// takeEcho takes up to max frames from rx (whose errors call it a kind)
// and reports whether one is the echo of seq; it drops them all.
func takeEcho(rx echoRx, kind string, max int, seq uint32) (bool, error) {
	n, err := rx.Acquire(max)
	if err != nil {
		return false, fmt.Errorf("rx %s: %w", kind, err)
	}
	found := false
	for i := 0; i < n; i++ {
		p, err := rx.Packet(i)
		if err == nil && len(p) >= pingMinLen && binary.BigEndian.Uint32(p[pingSeqOff:]) == seq {
			found = true
		}
	}
	rx.Release(n)
	return found, nil
}

// awaitEcho receives until the echo of seq arrives (true) or until
// passes (false). Other frames are dropped.
func awaitEcho(ctx context.Context, port *nmsys.Port, rx *rings.RxRing, seq uint32, until time.Time) (bool, error) {
	spins := 0
	for {
		found, err := takeEcho(rx, "ring", rx.NumSlots(), seq)
		if err != nil {
			return false, err
		}
		if found {
			return true, port.RxSync()
		}
		if time.Now().After(until) {
			return false, nil
		}
		if spins++; spins < spinSyncs {
			if err := port.RxSync(); err != nil {
				return false, err
			}
			continue
		}
		spins = 0
		port.SetReadDeadline(until)
		err = port.WaitRx()
		port.SetReadDeadline(time.Time{})
		if ctx.Err() != nil {
			return false, errStop
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return false, err
		}
	}
}

// firstRings returns the first bound TX and RX ring of port, the pair
// ping and pong work on.
func firstRings(port *nmsys.Port) (*rings.TxRing, *rings.RxRing, error) {
	in := port.Info()
	tx, err := port.TxRing(in.FirstTx)
	if err != nil {
		return nil, nil, err
	}
	rx, err := port.RxRing(in.FirstRx)
	return tx, rx, err
}

// pongLoop echoes every frame it receives, with the Ethernet and IPv4
// addresses swapped (which leaves the IPv4 checksum valid).
func pongLoop(ctx context.Context, cfg *config, port *nmsys.Port, st *stats) error {
	tx, rx, err := firstRings(port)
	if err != nil {
		return err
	}
	idle := nmsys.Idler{Spin: spinSyncs}
	return echoLoop(ctx, cfg, st, rx, tx, "ring", port.TxSync, func(got bool, bytes uint64) error {
		return idle.Next(port, got, bytes)
	})
}

// echoRx and echoTx are what echoLoop uses of a receive and a send ring:
// netmap's rings.RxRing and TxRing, AF_XDP's xsk.RxQueue and TxQueue.
type echoRx interface {
	Acquire(n int) (int, error)
	Packet(i int) ([]byte, error)
	Release(n int)
}

type echoTx interface {
	Reserve(n int) (int, error)
	Buf(i int) []byte
	SetLen(i, n int)
	Publish(n int)
}

// echoLoop is pong's loop over rx and tx (whose errors call them a kind,
// "ring" or "queue"): flush hands each batch of echoes to the kernel,
// next syncs or waits after a pass that found packets or not.
func echoLoop(ctx context.Context, cfg *config, st *stats, rx echoRx, tx echoTx, kind string,
	flush func() error, next func(got bool, bytes uint64) error) error {
	var echoed uint64
	for ctx.Err() == nil && (cfg.count == 0 || echoed < cfg.count) {
		n, err := rx.Acquire(cfg.batch)
		if err != nil {
			return fmt.Errorf("rx %s: %w", kind, err)
		}
		if n == 0 {
			if err := waitErr(ctx, next(false, 0)); err != nil {
				return stopOK(err)
			}
			continue
		}
		m, err := tx.Reserve(n)
		if err != nil {
			return fmt.Errorf("tx %s: %w", kind, err)
		}
		var bytes uint64
		for i := 0; i < m; i++ {
			p, err := rx.Packet(i)
			if err != nil {
				return fmt.Errorf("rx %s: %w", kind, err)
			}
			b := tx.Buf(i)
			if b == nil {
				return fmt.Errorf("tx %s: %w", kind, rings.ErrIntegrity)
			}
			k := copy(b, p)
			swapAddrs(b[:k])
			tx.SetLen(i, k)
			bytes += uint64(k)
		}
		tx.Publish(m)
		rx.Release(n) // frames without TX room are dropped, as a switch would
		echoed += uint64(m)
		st.packets.Add(uint64(m))
		st.bytes.Add(bytes)
		st.batches.Add(1)
		if err := flush(); err != nil {
			return err
		}
		if err := waitErr(ctx, next(true, bytes)); err != nil {
			return stopOK(err)
		}
	}
	return nil
}

// swapAddrs swaps the Ethernet addresses and, for IPv4, the IP addresses
// of frame f in place.
func swapAddrs(f []byte) {
	if len(f) < packet.EthLen {
		return
	}
	var mac [6]byte
	copy(mac[:], f[0:6])
	copy(f[0:6], f[6:12])
	copy(f[6:12], mac[:])
	if len(f) >= packet.EthLen+packet.IPv4Len && f[12] == 0x08 && f[13] == 0x00 {
		var ip [4]byte
		copy(ip[:], f[26:30])
		copy(f[26:30], f[30:34])
		copy(f[30:34], ip[:])
	}
}
