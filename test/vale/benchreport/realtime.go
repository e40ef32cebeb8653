package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// perRound returns, for each round that ran both pairs, the ratio of pair
// a's rate to pair b's (rx rates if rx, else tx rates) at frame size size
// on path: the two runs of a round are minutes apart at most.
func perRound(raw []result, path string, size int, a, b [2]string, rx bool) []float64 {
	rate := func(r result) float64 {
		if rx {
			return r.rxPPS
		}
		return r.txPPS
	}
	num, den := map[int]float64{}, map[int]float64{}
	for _, r := range raw {
		if r.path != path || r.size != size {
			continue
		}
		switch {
		case r.tx == a[0] && r.rx == a[1]:
			num[r.round] = rate(r)
		case r.tx == b[0] && r.rx == b[1]:
			den[r.round] = rate(r)
		}
	}
	var out []float64
	for k, d := range den {
		if n, ok := num[k]; ok && d > 0 {
			out = append(out, n/d)
		}
	}
	slices.Sort(out)
	return out
}

// spread formats sorted per-round ratios as "median (min to max)".
func spread(v []float64) string {
	if len(v) == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f (%.2f to %.2f)", med(v), v[0], v[len(v)-1])
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// realtimeMarkdown writes the tables of a real-time run: medians over the
// rounds, the ratios of the medians and the per-round ratios' spread.
func realtimeMarkdown(raw *run, cmd string) string {
	m := &run{mode: raw.mode, results: medians(raw.results)}
	get := func(path string, s int, tx, rx string) result { x, _ := m.find(path, s, tx, rx); return x }
	// ratioOf is ratio for two pairs' rates, "n/a" when a pair was not run.
	ratioOf := func(a, b result, rx bool) string {
		if a.runs == 0 || b.runs == 0 {
			return "n/a"
		}
		if rx {
			return ratio(a.rxPPS, b.rxPPS)
		}
		return ratio(a.txPPS, b.txPPS)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`\n\n", cmd)
	b.WriteString("Rates are packets per second of the sender's run time, in Mpps, the median over the runs of each\n")
	b.WriteString("pair (rounds interleaved and the pairs' order turned each round, so slow phases of the host hit\n")
	b.WriteString("every pair); both tools print their own summaries, parsed by the script. VALE drops what a full\n")
	b.WriteString("receiver ring cannot take, so a receiver rate is also bounded by the receiver.\n\n")
	b.WriteString("| path | frame | sender -> receiver | runs | tx Mpps | rx Mpps | rx/tx |\n|---|---|---|---|---|---|---|\n")
	for _, w := range m.netmapRows() {
		for _, r := range m.results {
			if r.path == w.path && r.size == w.size {
				fmt.Fprintf(&b, "| %s | %d B | %s -> %s | %d | %s | %s | %s |\n", w.path, w.size, r.tx, r.rx, r.runs, mpps(r.txPPS), mpps(r.rxPPS), ratio(r.rxPPS, r.txPPS))
			}
		}
	}
	b.WriteString("\nRatios, nmbench / pkt-gen, same run. Each tool is measured against the same peer: TX with pkt-gen\n")
	b.WriteString("receiving (nmbench->pkt-gen vs pkt-gen->pkt-gen), RX with pkt-gen sending (pkt-gen->nmbench vs\n")
	b.WriteString("pkt-gen->pkt-gen); the last two columns pit each tool against itself.\n\n")
	b.WriteString("| path | frame | TX, same receiver | RX, same sender | TX, self-fed | RX, self-fed |\n|---|---|---|---|---|---|\n")
	for _, w := range m.netmapRows() {
		path, s := w.path, w.size
		nn, pp := get(path, s, nmbench, nmbench), get(path, s, pktgen, pktgen)
		np, pn := get(path, s, nmbench, pktgen), get(path, s, pktgen, nmbench)
		fmt.Fprintf(&b, "| %s | %d B | %s | %s | %s | %s |\n", path, s, ratioOf(np, pp, false), ratioOf(pn, pp, true), ratioOf(nn, pp, false), ratioOf(nn, pp, true))
	}
	b.WriteString("\nThe same ratios taken round by round (each nmbench run against the pkt-gen run of its round), as\n")
	b.WriteString("median (lowest to highest): how far one run of the table can be trusted on this host.\n\n")
	b.WriteString("| path | frame | TX, same receiver | RX, same sender |\n|---|---|---|---|\n")
	pp, np, pn := [2]string{pktgen, pktgen}, [2]string{nmbench, pktgen}, [2]string{pktgen, nmbench}
	for _, w := range m.netmapRows() {
		fmt.Fprintf(&b, "| %s | %d B | %s | %s |\n", w.path, w.size, spread(perRound(raw.results, w.path, w.size, np, pp, false)), spread(perRound(raw.results, w.path, w.size, pn, pp, true)))
	}
	if slices.Contains(m.paths(), "udp") {
		b.WriteString("\nnmbench's netmap backend (VALE) against its udp: backend (kernel sockets, sendmmsg/recvmmsg, loopback in the same VM):\n\n")
		b.WriteString("| frame | udp tx Mpps | udp rx Mpps | netmap/udp tx | netmap/udp rx |\n|---|---|---|---|---|\n")
		for _, s := range m.sizes("udp") {
			u, nn := get("udp", s, nmbench, nmbench), get("vale", s, nmbench, nmbench)
			fmt.Fprintf(&b, "| %d B | %s | %s | %s | %s |\n", s, mpps(u.txPPS), mpps(u.rxPPS), ratio(nn.txPPS, u.txPPS), ratio(nn.rxPPS, u.rxPPS))
		}
	}
	return b.String()
}

// realtimeSVG plots tx and rx rates of both tools on the run's first path
// (each fed by itself, or by pkt-gen where that pair was not run) against
// frame size.
func realtimeSVG(raw *run) string {
	m := &run{mode: raw.mode, results: medians(raw.results)}
	path := m.paths()[0]
	var ss []series
	for _, d := range []struct {
		name, color, dash, tool string
		rx                      bool
	}{
		{"nmbench tx", "#1f77b4", "", nmbench, false},
		{"pkt-gen tx", "#d62728", "", pktgen, false},
		{"nmbench rx", "#1f77b4", "6,4", nmbench, true},
		{"pkt-gen rx", "#d62728", "6,4", pktgen, true},
	} {
		var pts []point
		for _, s := range m.sizes(path) {
			x, ok := m.find(path, s, d.tool, d.tool)
			if !ok && d.rx {
				x, ok = m.find(path, s, pktgen, d.tool)
			} else if !ok {
				x, ok = m.find(path, s, d.tool, pktgen)
			}
			if !ok {
				continue
			}
			v := x.txPPS
			if d.rx {
				v = x.rxPPS
			}
			pts = append(pts, point{s, v / 1e6})
		}
		ss = append(ss, series{d.name, d.color, d.dash, pts})
	}
	return plot("nmbench vs pkt-gen, "+path+" (same VM run)", "Mpps", ss, 0, 0)
}

type point struct {
	size int
	v    float64
}

type series struct {
	name, color, dash string
	pts               []point
}

// plot draws ss against frame size, from ymin to a little above the
// largest value; ref > 0 draws a grey line at that value.
func plot(title, ylabel string, ss []series, ref, ymin float64) string {
	const w, h, left, right, top, bottom = 640, 400, 70, 170, 30, 50
	ymax, xmin, xmax := ref, math.Inf(1), math.Inf(-1)
	for _, se := range ss {
		for _, p := range se.pts {
			ymax = math.Max(ymax, p.v)
			xmin, xmax = math.Min(xmin, float64(p.size)), math.Max(xmax, float64(p.size))
		}
	}
	if ymin > 0 {
		ymax = ymin + math.Ceil((ymax-ymin)*1.1*20)/20
	} else {
		ymax = math.Ceil(ymax*1.1*2) / 2
	}
	if ymax <= ymin {
		ymax = ymin + 1
	}
	x := func(s int) float64 {
		if xmax <= xmin {
			return left
		}
		return left + (float64(s)-xmin)/(xmax-xmin)*(w-left-right)
	}
	y := func(v float64) float64 { return top + (1-(v-ymin)/(ymax-ymin))*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">%s</text>`+"\n", left, title)
	for i := 0; i <= 5; i++ {
		v := ymin + (ymax-ymin)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.2f</text>`+"\n", left-6, y(v)+4, v)
	}
	if ref > 0 {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="2,3"/>`+"\n", left, w-right, y(ref), y(ref))
	}
	var sizes []int
	for _, se := range ss {
		for _, p := range se.pts {
			if !slices.Contains(sizes, p.size) {
				sizes = append(sizes, p.size)
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(p.size), h-bottom+18, p.size)
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">frame size (bytes)</text>`+"\n", (left+w-right)/2, h-10)
	fmt.Fprintf(&b, `<text transform="translate(18,%d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (top+h-bottom)/2, ylabel)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>`+"\n", left, w-right, h-bottom, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>`+"\n", left, left, top, h-bottom)
	for i, se := range ss {
		var pts []string
		for _, p := range se.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.size), y(p.v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", se.color, se.dash, strings.Join(pts, " "))
		for _, p := range se.pts {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(p.size), y(p.v), se.color)
		}
		ly := top + 20 + i*20
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", w-right+15, w-right+45, ly, ly, se.color, se.dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", w-right+50, ly+4, se.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
