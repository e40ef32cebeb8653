package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nmgo/nmgo/nmsys"
	"github.com/nmgo/nmgo/video"
	"github.com/nmgo/nmgo/xsk"
)

// ST 2022-7 seamless protection in nmbench: -i given twice names the two
// paths of vtx (every packet sent on both) and vrx (the copies merged,
// -window the path differential absorbed), any pair of transports; the
// final report has a line per path.

// portFlag is -i: the first sets port, a second port2.
type portFlag config

func (p *portFlag) String() string {
	if p == nil {
		return ""
	}
	return p.port
}

func (p *portFlag) Set(s string) error {
	switch {
	case p.port == "":
		p.port = s
	case p.port2 == "":
		p.port2 = s
	default:
		return errors.New("given more than twice (vtx and vrx take two paths)")
	}
	return nil
}

// checkPort2 checks the second -i's name, and that it names another path
// than the first: the same socket address twice makes one path look dead,
// the same capture file written twice is two writers of one file.
func checkPort2(c *config) error {
	switch {
	case c.port2 == "":
		return nil
	case isXDP(c.port2):
		if _, _, err := xsk.ParseName(strings.TrimPrefix(c.port2, xdpPrefix)); err != nil {
			return fmt.Errorf("-i: %w", err)
		}
	case !isUDP(c.port2) && !isPcap(c.port2):
		if _, err := nmsys.ParseName(c.port2); err != nil {
			return fmt.Errorf("-i: %w", err)
		}
	}
	if samePath(c.port, c.port2, c.mode.send) {
		return fmt.Errorf("-i %s, -i %s: the same path twice (ST 2022-7 takes two different ones)", c.port, c.port2)
	}
	return nil
}

// samePath reports whether the -i names a and b, both valid, name the
// same path: the same netmap port and rings, xdp: interface and queue,
// udp: address (and interface), or pcap: file written (send) twice. Not
// the same: udp and udp:IFACE, whose sockets take each leg's address
// from the SDP (two legs on one NIC), and one capture read twice, each
// path taking its own leg's packets from it (a capture of a port that
// sees both networks).
func samePath(a, b string, send bool) bool {
	if isUDP(a) && isUDP(b) {
		if _, da, err := videoUDP(a); err == nil && !da.IsValid() {
			return false
		}
	}
	if isPcap(a) && isPcap(b) {
		if !send {
			return false
		}
		fa, fb := strings.TrimPrefix(a, pcapPrefix), strings.TrimPrefix(b, pcapPrefix)
		if sa, err := os.Stat(fa); err == nil {
			if sb, err := os.Stat(fb); err == nil {
				return os.SameFile(sa, sb)
			}
		}
		aa, erra := filepath.Abs(fa)
		ab, errb := filepath.Abs(fb)
		return erra == nil && errb == nil && aa == ab
	}
	return normPort(a) == normPort(b)
}

// normPort is the canonical form of an -i name other than pcap:, for
// comparing two; a name it cannot parse stays as it is.
func normPort(p string) string {
	switch {
	case isPcap(p):
		return p
	case isXDP(p):
		if iface, q, err := xsk.ParseName(strings.TrimPrefix(p, xdpPrefix)); err == nil {
			return fmt.Sprintf("%s%s-%d", xdpPrefix, iface, q)
		}
	case isUDP(p):
		if name, _, err := videoUDP(p); err == nil {
			return name
		}
	default:
		if n, err := nmsys.ParseName(p); err == nil {
			return fmt.Sprintf("netmap %s mode %d ring %d", n.Port, n.Mode, n.RingID)
		}
	}
	return p
}

// checkSecond resolves the second path of vtx and vrx: its st2110 name,
// and for udp:HOST:PORT the second leg of each stream (stream K on
// PORT+K); other transports send to and take from each stream's second
// leg in the SDP, else its first leg's address.
func checkSecond(c *config, set map[string]bool) error {
	v := c.video
	if c.port2 == "" {
		if set["window"] {
			return errors.New("-window: only for -f vrx with -i given twice (ST 2022-7)")
		}
		return nil
	}
	if set["window"] && c.mode.send {
		return errors.New("-window: not for -f vtx")
	}
	if isPcap(c.port2) && strings.TrimPrefix(c.port2, pcapPrefix) == "" {
		return errors.New("-i pcap:FILE: no file name")
	}
	v.second = c.port2
	if !isUDP(c.port2) {
		return nil
	}
	name, ap, err := videoUDP(c.port2)
	if err != nil {
		return err
	}
	v.second = name
	if !ap.IsValid() {
		return nil
	}
	if int(ap.Port())+len(v.streams) > 65536 {
		return fmt.Errorf("-i %s: %d streams do not fit above port %d", c.port2, len(v.streams), ap.Port())
	}
	for k := range v.streams {
		v.streams[k].Second = video.Leg{Dst: netip.AddrPortFrom(ap.Addr(), ap.Port()+uint16(k))}
	}
	return nil
}

// windowFlag is -window: A, B, C or a duration.
type windowFlag time.Duration

func (w *windowFlag) String() string {
	if w == nil || *w == 0 {
		return "A"
	}
	return time.Duration(*w).String()
}

func (w *windowFlag) Set(s string) error {
	switch strings.ToUpper(s) {
	case "A":
		*w = windowFlag(video.SkewClassA)
	case "B":
		*w = windowFlag(video.SkewClassB)
	case "C":
		*w = windowFlag(video.SkewClassC)
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > video.MaxMergeWindow {
			return fmt.Errorf("want A, B, C or a duration in (0, %v]", video.MaxMergeWindow)
		}
		*w = windowFlag(d)
	}
	return nil
}

// pathReport is one path's line of a stream of the final report.
type pathReport struct {
	Path       int    `json:"path"`
	Input      string `json:"input"` // the -i
	Packets    uint64 `json:"packets"`
	First      uint64 `json:"first,omitempty"`      // vrx: packets whose first copy came on the path
	Duplicates uint64 `json:"duplicates,omitempty"` // vrx: copies absorbed
	Late       uint64 `json:"late,omitempty"`       // vrx: copies after their frame went
	Lost       uint64 `json:"lost,omitempty"`       // vrx: packets the path did not bring
	Malformed  uint64 `json:"malformed,omitempty"`
	Skipped    uint64 `json:"skipped,omitempty"`    // vtx: packets not sent on the path, its queue full
	Unsent     uint64 `json:"unsent,omitempty"`     // vtx: packets not sent on the path while it was down
	Failures   uint64 `json:"failures,omitempty"`   // vtx: times the path went down
	Recoveries uint64 `json:"recoveries,omitempty"` // vtx: times it came back (an error of the network, tried again)
	Error      string `json:"error,omitempty"`      // vtx: why the path is down (the other went on)
}

// skewReport is the measured path differential of a stream: path 1's
// copies' arrival minus path 0's.
type skewReport struct {
	Samples uint64 `json:"samples"`
	MinNs   int64  `json:"min_ns"`
	MaxNs   int64  `json:"max_ns"`
	MeanNs  int64  `json:"mean_ns"`
}

// txPaths returns the path lines of stream k of vtx, nil with one path:
// PathStats counts stream k's own packets, though streams share an output.
func (vr *videoRun) txPaths(k int, packets uint64) []pathReport {
	if vr.cfg.port2 == "" {
		return nil
	}
	var ps []pathReport
	for p, in := range []string{vr.cfg.port, vr.cfg.port2} {
		st := vr.tx.PathStats(k, p)
		r := pathReport{Path: p, Input: in, Packets: packets - min(packets, st.Skipped+st.Unsent), Skipped: st.Skipped, Unsent: st.Unsent,
			Failures: st.Failures, Recoveries: st.Recoveries}
		if st.Err != nil {
			r.Error = st.Err.Error()
		}
		ps = append(ps, r)
	}
	return ps
}

// rxPaths returns the path lines and skew of stream k of vrx, nil with
// one path.
func (vr *videoRun) rxPaths(k int) ([]pathReport, *skewReport) {
	if vr.rx.Paths() != 2 {
		return nil, nil
	}
	var ps []pathReport
	for p, in := range []string{vr.cfg.port, vr.cfg.port2} {
		s := vr.rx.PathStats(k, p)
		ps = append(ps, pathReport{Path: p, Input: in, Packets: s.Packets, First: s.Taken, Duplicates: s.Duplicates,
			Late: s.Late, Lost: s.Lost, Malformed: s.Malformed})
	}
	sk := vr.rx.Skew(k)
	if sk.Samples == 0 {
		return ps, nil
	}
	return ps, &skewReport{Samples: sk.Samples, MinNs: int64(sk.Min), MaxNs: int64(sk.Max), MeanNs: int64(sk.Mean())}
}

// printPaths writes the stream's path lines, if it has two paths.
func (st *videoStream) printPaths(w io.Writer) {
	for _, p := range st.Paths {
		if st.Sched != "" { // vtx
			fmt.Fprintf(w, "    path %d %s: %d pkts, %d skipped", p.Path, p.Input, p.Packets, p.Skipped)
			if p.Recoveries > 0 {
				fmt.Fprintf(w, ", down %d times, back %d", p.Failures, p.Recoveries)
			}
			switch {
			case p.Error != "":
				fmt.Fprintf(w, ", %d unsent: FAILED: %s", p.Unsent, p.Error)
			case p.Unsent > 0:
				fmt.Fprintf(w, ", %d unsent", p.Unsent) // while it was down
			}
			fmt.Fprintln(w)
			continue
		}
		fmt.Fprintf(w, "    path %d %s: %d pkts, %d first, %d duplicates absorbed, %d late, %d lost",
			p.Path, p.Input, p.Packets, p.First, p.Duplicates, p.Late, p.Lost)
		if p.Malformed > 0 {
			fmt.Fprintf(w, ", %d malformed", p.Malformed)
		}
		fmt.Fprintln(w)
	}
	if s := st.Skew; s != nil {
		fmt.Fprintf(w, "    skew (path 1 after path 0): %v..%v, mean %v over %d samples\n",
			time.Duration(s.MinNs), time.Duration(s.MaxNs), time.Duration(s.MeanNs), s.Samples)
	}
}
