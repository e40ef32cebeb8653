package main

import (
	"fmt"
	"math"
	"strings"
)

// icountMarkdown writes the deterministic side-by-side: nmbench against
// pkt-gen per path, frame size and direction, with every pair's loss, for
// one run or two runs of the same script side by side.
func icountMarkdown(runs []*run, cmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`\n\n", cmd)
	b.WriteString("One vCPU in deterministic virtual time: the guest's clock advances 1 ns per instruction, so a rate\n")
	b.WriteString("is packets per instruction budget of sender, receiver and kernel together on one 1 GHz virtual core,\n")
	b.WriteString("and the host's load does not enter it. One round per pair. A sender's rate is its own summary's\n")
	b.WriteString(`"Speed:", a receiver's is its packets over the sender's seconds; lost = sent - received.` + "\n")
	b.WriteString("TX compares the senders with pkt-gen receiving (nmbench -> pkt-gen against pkt-gen -> pkt-gen),\n")
	b.WriteString("RX the receivers with pkt-gen sending (pkt-gen -> nmbench against pkt-gen -> pkt-gen).\n\n")
	two := len(runs) == 2
	if two {
		b.WriteString("Two runs of the same command; \"runs differ\" is the largest difference between them among the\n")
		b.WriteString("row's rates (the four pairs' tx and rx rates), relative to the first run.\n\n")
		b.WriteString("| path | frame | TX, nmbench / pkt-gen | RX, nmbench / pkt-gen | lost: pkt-gen -> pkt-gen | lost: nmbench's pairs (-> pkt-gen, pkt-gen ->, -> nmbench) | runs differ |\n|---|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("| path | frame | TX, nmbench / pkt-gen | RX, nmbench / pkt-gen | lost: pkt-gen -> pkt-gen | lost: nmbench's pairs (-> pkt-gen, pkt-gen ->, -> nmbench) |\n|---|---|---|---|---|---|\n")
	}
	r0 := runs[0]
	for _, w := range r0.netmapRows() {
		path, s := w.path, w.size
		var ratios []string
		for _, c := range cells {
			var vs []string
			for _, r := range runs {
				if v, ok := r.ratio(c, path, s); ok {
					vs = append(vs, fmt.Sprintf("%.3f", v))
				} else {
					vs = append(vs, "n/a")
				}
			}
			ratios = append(ratios, strings.Join(vs, " / "))
		}
		lost := func(tx, rx string) string {
			var vs []string
			for _, r := range runs {
				x, ok := r.find(path, s, tx, rx)
				if !ok {
					vs = append(vs, "n/a")
					continue
				}
				vs = append(vs, lossText(x))
			}
			return strings.Join(vs, " / ")
		}
		nmLost := lost(nmbench, pktgen) + ", " + lost(pktgen, nmbench) + ", " + lost(nmbench, nmbench)
		fmt.Fprintf(&b, "| %s | %d B | %s | %s | %s | %s |", path, s, ratios[0], ratios[1], lost(pktgen, pktgen), nmLost)
		if two {
			fmt.Fprintf(&b, " %s |", pct(rowDiff(runs[0], runs[1], path, s)))
		}
		b.WriteString("\n")
	}
	if two {
		b.WriteString("\nWhere two figures are given, they are run 1 / run 2.\n")
	}

	b.WriteString("\nEvery pair's rates, in Mpps (run 1")
	if two {
		b.WriteString(" / run 2")
	}
	b.WriteString("):\n\n| path | frame | sender -> receiver | tx Mpps | rx Mpps | lost |\n|---|---|---|---|---|---|\n")
	for _, path := range r0.paths() {
		for _, s := range r0.sizes(path) {
			for _, x := range r0.results {
				if x.path != path || x.size != s {
					continue
				}
				tx, rx, lost := []string{mpps(x.txPPS)}, []string{mpps(x.rxPPS)}, []string{lossText(x)}
				if two {
					if y, ok := runs[1].find(path, s, x.tx, x.rx); ok {
						tx, rx, lost = append(tx, mpps(y.txPPS)), append(rx, mpps(y.rxPPS)), append(lost, lossText(y))
					}
				}
				fmt.Fprintf(&b, "| %s | %d B | %s -> %s | %s | %s | %s |\n", path, s, x.tx, x.rx,
					strings.Join(tx, " / "), strings.Join(rx, " / "), strings.Join(lost, " / "))
			}
		}
	}
	return b.String()
}

// rowDiff is the largest relative difference between runs a and b among
// the tx and rx rates of the pairs at size s on path.
func rowDiff(a, b *run, path string, s int) float64 {
	d := 0.0
	for _, x := range a.results {
		if x.path != path || x.size != s {
			continue
		}
		y, ok := b.find(path, s, x.tx, x.rx)
		if !ok {
			return math.Inf(1)
		}
		d = max(d, relDiff(x.txPPS, y.txPPS), relDiff(x.rxPPS, y.rxPPS))
	}
	return d
}

func relDiff(a, b float64) float64 {
	if a == 0 {
		if b == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(b-a) / a
}

func pct(v float64) string {
	if math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", v*100)
}

// lossText is a pair's loss as a count and a share of what was sent.
func lossText(x result) string {
	l := x.lost()
	if l == 0 {
		return "0"
	}
	return fmt.Sprintf("%.0f (%.2f%%)", l, 100*l/x.txPackets)
}

func mpps(v float64) string { return fmt.Sprintf("%.3f", v/1e6) }

// icountSVG plots nmbench's rate over pkt-gen's, TX and RX on each path,
// against frame size, with the 1.0 line.
func icountSVG(r *run) string {
	var ss []series
	lo := 1.0
	colors := map[string]string{"vale": "#1f77b4", "pipe": "#2ca02c"}
	for _, path := range r.paths() {
		if path == "udp" {
			continue
		}
		for _, c := range cells {
			var pts []point
			for _, s := range r.sizes(path) {
				if v, ok := r.ratio(c, path, s); ok {
					pts = append(pts, point{s, v})
					lo = min(lo, v)
				}
			}
			dash := ""
			if c.rxRate {
				dash = "6,4"
			}
			color := colors[path]
			if color == "" {
				color = "#7f7f7f"
			}
			ss = append(ss, series{path + " " + c.name, color, dash, pts})
		}
	}
	// From a little below the lowest ratio (and 1), so that the
	// differences the table shows can be seen.
	return plot("nmbench / pkt-gen, deterministic virtual time", "nmbench / pkt-gen", ss, 1, math.Floor((lo-0.05)*20)/20)
}
