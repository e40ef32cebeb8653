package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

const (
	modeIcount   = "icount"
	modeRealtime = "realtime"

	nmbench = "nmbench"
	pktgen  = "pkt-gen"
)

// result is one measured pair: a sender and a receiver on a path, for
// one frame size.
type result struct {
	path      string // vale, pipe, udp
	size      int
	tx, rx    string // the tools
	round     int
	txPackets float64
	txPPS     float64 // the sender's own rate
	txSeconds float64 // the sender's run time
	rxPackets float64
	rxPPS     float64 // received packets over the sender's run time
	runs      int     // how many runs a median stands for
}

// lost is what the receiver did not get of what was sent.
func (r result) lost() float64 { return max(r.txPackets-r.rxPackets, 0) }

// run is one results file.
type run struct {
	mode    string
	results []result
}

func readRun(name string) (*run, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(r.results) == 0 {
		return nil, fmt.Errorf("%s: no results", name)
	}
	return r, nil
}

// parse reads sidebyside.sh's output: an optional "# mode=M ..." line,
// then one line of KEY=VALUE fields per pair. Lines of the older format
// (no path, tx_seconds instead of tx_pps, tx=nmbench-udp) are read too.
func parse(rd io.Reader) (*run, error) {
	out := &run{mode: modeRealtime}
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if h, ok := strings.CutPrefix(line, "#"); ok {
			for _, f := range strings.Fields(h) {
				if v, ok := strings.CutPrefix(f, "mode="); ok {
					out.mode = v
				}
			}
			continue
		}
		if !strings.HasPrefix(line, "path=") && !strings.HasPrefix(line, "size=") {
			continue
		}
		res := result{path: "vale"}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			num, err := strconv.ParseFloat(v, 64)
			switch k {
			case "path":
				res.path = v
				continue
			case "tx":
				res.tx = v
				continue
			case "rx":
				res.rx = v
				continue
			case "size", "round", "tx_packets", "tx_pps", "tx_seconds", "rx_packets", "lost":
				if err != nil || num < 0 {
					return nil, fmt.Errorf("bad %s in %q", k, line)
				}
			}
			switch k {
			case "size":
				res.size = int(num)
			case "round":
				res.round = int(num)
			case "tx_packets":
				res.txPackets = num
			case "tx_pps":
				res.txPPS = num
			case "tx_seconds":
				res.txSeconds = num
			case "rx_packets":
				res.rxPackets = num
			}
		}
		if res.size == 0 || res.tx == "" || res.rx == "" {
			return nil, fmt.Errorf("bad line %q", line)
		}
		if res.tx == "nmbench-udp" {
			res.path, res.tx, res.rx = "udp", nmbench, nmbench
		}
		switch {
		case res.txPPS > 0:
			res.txSeconds = res.txPackets / res.txPPS
		case res.txSeconds > 0:
			res.txPPS = res.txPackets / res.txSeconds
		}
		if res.txSeconds > 0 {
			res.rxPPS = res.rxPackets / res.txSeconds
		}
		res.runs = 1
		out.results = append(out.results, res)
	}
	return out, sc.Err()
}

// paths returns the paths of r's results, in order of appearance.
func (r *run) paths() []string {
	var ps []string
	for _, x := range r.results {
		if !slices.Contains(ps, x.path) {
			ps = append(ps, x.path)
		}
	}
	return ps
}

// row is one path and frame size of a table.
type row struct {
	path string
	size int
}

// netmapRows returns the netmap paths' rows (all but the udp: baseline),
// path by path in order of appearance, sizes smallest first.
func (r *run) netmapRows() []row {
	var rows []row
	for _, path := range r.paths() {
		if path == "udp" {
			continue
		}
		for _, s := range r.sizes(path) {
			rows = append(rows, row{path, s})
		}
	}
	return rows
}

// sizes returns the frame sizes measured on path, smallest first.
func (r *run) sizes(path string) []int {
	var ss []int
	for _, x := range r.results {
		if x.path == path && !slices.Contains(ss, x.size) {
			ss = append(ss, x.size)
		}
	}
	slices.Sort(ss)
	return ss
}

// find returns the pair tx -> rx at size on path, and whether there is one
// (the first, for a run of one round).
func (r *run) find(path string, size int, tx, rx string) (result, bool) {
	for _, x := range r.results {
		if x.path == path && x.size == size && x.tx == tx && x.rx == rx {
			return x, true
		}
	}
	return result{}, false
}

// cell is one comparison of nmbench with pkt-gen against the same peer.
type cell struct {
	name   string    // TX or RX
	nm, pg [2]string // nmbench's pair and pkt-gen's, sender and receiver
	rxRate bool      // compare the receivers' rates, not the senders'
}

// cells: TX pits the senders against pkt-gen receiving, RX the receivers
// against pkt-gen sending; nmbench -> nmbench is checked for loss only.
var cells = []cell{
	{name: "TX", nm: [2]string{nmbench, pktgen}, pg: [2]string{pktgen, pktgen}},
	{name: "RX", nm: [2]string{pktgen, nmbench}, pg: [2]string{pktgen, pktgen}, rxRate: true},
}

// ratio returns nmbench's rate over pkt-gen's in cell c at size on path,
// and false when a pair is missing.
func (r *run) ratio(c cell, path string, size int) (float64, bool) {
	a, ok1 := r.find(path, size, c.nm[0], c.nm[1])
	b, ok2 := r.find(path, size, c.pg[0], c.pg[1])
	if !ok1 || !ok2 {
		return 0, false
	}
	if c.rxRate {
		if b.rxPPS == 0 {
			return 0, false
		}
		return a.rxPPS / b.rxPPS, true
	}
	if b.txPPS == 0 {
		return 0, false
	}
	return a.txPPS / b.txPPS, true
}

// checkPaths are the paths a checked run must have measured: the two
// netmap paths of sidebyside.sh (its udp: baseline is optional).
var checkPaths = []string{"vale", "pipe"}

// checkPairs are the four pairs, sender and receiver, a checked run must
// have measured on every path at every size.
var checkPairs = [][2]string{{nmbench, pktgen}, {pktgen, pktgen}, {pktgen, nmbench}, {nmbench, nmbench}}

// incomplete lists what keeps r from being checked: a run that is not in
// deterministic virtual time (its figures are not reproducible), and each
// pair of checkPairs missing on a path of checkPaths at a size measured on
// any netmap path. -check judges only rows that are there, so without
// this a results file with one path, one size or one pair passed.
func (r *run) incomplete() []string {
	var out []string
	if r.mode != modeIcount {
		out = append(out, fmt.Sprintf("mode=%s, not %s: only deterministic figures may be checked", r.mode, modeIcount))
	}
	var sizes []int
	for _, w := range r.netmapRows() {
		if !slices.Contains(sizes, w.size) {
			sizes = append(sizes, w.size)
		}
	}
	slices.Sort(sizes)
	if len(sizes) == 0 {
		out = append(out, "no netmap path measured")
	}
	for _, path := range checkPaths {
		for _, s := range sizes {
			for _, p := range checkPairs {
				if _, ok := r.find(path, s, p[0], p[1]); !ok {
					out = append(out, fmt.Sprintf("%s %d B %s -> %s: not measured", path, s, p[0], p[1]))
				}
			}
		}
	}
	return out
}

// violations lists the cells where nmbench is below min times pkt-gen,
// and the nmbench pairs that lost packets where pkt-gen's own pair, on the
// same path at the same size, lost none.
func (r *run) violations(min float64) []string {
	var out []string
	for _, w := range r.netmapRows() {
		path, s := w.path, w.size
		for _, c := range cells {
			v, ok := r.ratio(c, path, s)
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s %d B %s: a pair is missing", path, s, c.name))
			case v < min:
				out = append(out, fmt.Sprintf("%s %d B %s: nmbench at %.3fx pkt-gen, below %.2f", path, s, c.name, v, min))
			}
		}
		pg, ok := r.find(path, s, pktgen, pktgen)
		if !ok || pg.lost() > 0 {
			continue
		}
		for _, p := range [][2]string{{nmbench, pktgen}, {pktgen, nmbench}, {nmbench, nmbench}} {
			if x, ok := r.find(path, s, p[0], p[1]); ok && x.lost() > 0 {
				out = append(out, fmt.Sprintf("%s %d B %s -> %s lost %.0f of %.0f packets; pkt-gen -> pkt-gen lost none",
					path, s, p[0], p[1], x.lost(), x.txPackets))
			}
		}
	}
	return out
}

// medians folds repeated runs of a pair into one result whose rates are
// the medians of the runs' rates, and whose packet counts are sums.
func medians(rs []result) []result {
	type key struct {
		path   string
		size   int
		tx, rx string
	}
	var order []key
	groups := map[key][]result{}
	for _, r := range rs {
		k := key{r.path, r.size, r.tx, r.rx}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []result
	for _, k := range order {
		g := groups[k]
		var tx, rx []float64
		m := g[0]
		m.txPackets, m.rxPackets = 0, 0
		for _, r := range g {
			tx, rx = append(tx, r.txPPS), append(rx, r.rxPPS)
			m.txPackets += r.txPackets
			m.rxPackets += r.rxPackets
		}
		m.txPPS, m.rxPPS, m.runs = med(tx), med(rx), len(g)
		out = append(out, m)
	}
	return out
}

// med returns the median of v, sorting v.
func med(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
