// Command benchreport turns the output of test/vale/sidebyside.sh into the
// side-by-side table of docs/benchmarks.md (between its sidebyside markers)
// and the plot docs/sidebyside.svg.
//
//	go run ./test/vale/benchreport [-docs DIR] [-cmd "how it was run"] RESULTS
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

type result struct {
	size       int
	tx, rx     string
	txPackets  float64
	txSeconds  float64
	rxPackets  float64
	txPPS, rxP float64
	runs       int
	round      int
}

func parse(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "size=") {
			continue
		}
		var res result
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			num, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "size":
				res.size = int(num)
			case "tx":
				res.tx = v
			case "rx":
				res.rx = v
			case "tx_packets":
				res.txPackets = num
			case "tx_seconds":
				res.txSeconds = num
			case "rx_packets":
				res.rxPackets = num
			case "round":
				res.round = int(num)
			}
		}
		if res.size == 0 || res.tx == "" || res.rx == "" {
			return nil, fmt.Errorf("bad line %q", line)
		}
		if res.txSeconds > 0 {
			res.txPPS = res.txPackets / res.txSeconds
			res.rxP = res.rxPackets / res.txSeconds
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// medians folds repeated runs of a pair into one result whose rates are
// the medians of the runs' rates; n counts the runs.
func medians(rs []result) []result {
	type key struct {
		size   int
		tx, rx string
	}
	var order []key
	groups := map[key][]result{}
	for _, r := range rs {
		k := key{r.size, r.tx, r.rx}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []result
	for _, k := range order {
		g := groups[k]
		var tx, rx []float64
		for _, r := range g {
			tx, rx = append(tx, r.txPPS), append(rx, r.rxP)
		}
		m := g[0]
		m.txPPS, m.rxP, m.runs = med(tx), med(rx), len(g)
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

// perRound returns, for each round that ran both pairs, the ratio of pair
// a's rate to pair b's (rx rates if rx, else tx rates) at frame size size:
// the two runs of a round are minutes apart at most.
func perRound(raw []result, size int, a, b [2]string, rx bool) []float64 {
	rate := func(r result) float64 {
		if rx {
			return r.rxP
		}
		return r.txPPS
	}
	num, den := map[int]float64{}, map[int]float64{}
	for _, r := range raw {
		if r.size != size {
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

func find(rs []result, size int, tx, rx string) result {
	for _, r := range rs {
		if r.size == size && r.tx == tx && r.rx == rx {
			return r
		}
	}
	return result{}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func mpps(v float64) string { return fmt.Sprintf("%.3f", v/1e6) }

func markdown(raw, rs []result, sizes []int, cmd string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`\n\n", cmd)
	b.WriteString("Rates are packets per second of the sender's run time, in Mpps, the median over the runs of each\n")
	b.WriteString("pair (rounds interleaved and the pairs' order turned each round, so slow phases of the host hit\n")
	b.WriteString("every pair); both tools print their own summaries, parsed by the script. VALE drops what a full\n")
	b.WriteString("receiver ring cannot take, so a receiver rate is also bounded by the receiver.\n\n")
	b.WriteString("| frame | sender -> receiver | runs | tx Mpps | rx Mpps | rx/tx |\n|---|---|---|---|---|---|\n")
	for _, s := range sizes {
		for _, r := range rs {
			if r.size == s && r.tx != "nmbench-udp" {
				fmt.Fprintf(&b, "| %d B | %s -> %s | %d | %s | %s | %s |\n", s, r.tx, r.rx, r.runs, mpps(r.txPPS), mpps(r.rxP), ratio(r.rxP, r.txPPS))
			}
		}
	}
	b.WriteString("\nRatios, nmbench / pkt-gen, same run. Each tool is measured against the same peer: TX with pkt-gen\n")
	b.WriteString("receiving (nmbench->pkt-gen vs pkt-gen->pkt-gen), RX with pkt-gen sending (pkt-gen->nmbench vs\n")
	b.WriteString("pkt-gen->pkt-gen); the last two columns pit each tool against itself.\n\n")
	b.WriteString("| frame | TX, same receiver | RX, same sender | TX, self-fed | RX, self-fed |\n|---|---|---|---|---|\n")
	for _, s := range sizes {
		nn, pp := find(rs, s, "nmbench", "nmbench"), find(rs, s, "pkt-gen", "pkt-gen")
		np, pn := find(rs, s, "nmbench", "pkt-gen"), find(rs, s, "pkt-gen", "nmbench")
		fmt.Fprintf(&b, "| %d B | %s | %s | %s | %s |\n", s, ratio(np.txPPS, pp.txPPS), ratio(pn.rxP, pp.rxP), ratio(nn.txPPS, pp.txPPS), ratio(nn.rxP, pp.rxP))
	}
	b.WriteString("\nThe same ratios taken round by round (each nmbench run against the pkt-gen run of its round), as\n")
	b.WriteString("median (lowest to highest): how far one run of the table can be trusted on this host.\n\n")
	b.WriteString("| frame | TX, same receiver | RX, same sender |\n|---|---|---|\n")
	pp, np, pn := [2]string{"pkt-gen", "pkt-gen"}, [2]string{"nmbench", "pkt-gen"}, [2]string{"pkt-gen", "nmbench"}
	for _, s := range sizes {
		fmt.Fprintf(&b, "| %d B | %s | %s |\n", s, spread(perRound(raw, s, np, pp, false)), spread(perRound(raw, s, pn, pp, true)))
	}
	if find(rs, sizes[0], "nmbench-udp", "nmbench-udp").txSeconds > 0 {
		b.WriteString("\nnmbench's netmap backend against its udp: backend (kernel sockets, sendmmsg/recvmmsg, loopback in the same VM):\n\n")
		b.WriteString("| frame | udp tx Mpps | udp rx Mpps | netmap/udp tx | netmap/udp rx |\n|---|---|---|---|---|\n")
		for _, s := range sizes {
			u, nn := find(rs, s, "nmbench-udp", "nmbench-udp"), find(rs, s, "nmbench", "nmbench")
			fmt.Fprintf(&b, "| %d B | %s | %s | %s | %s |\n", s, mpps(u.txPPS), mpps(u.rxP), ratio(nn.txPPS, u.txPPS), ratio(nn.rxP, u.rxP))
		}
	}
	return b.String()
}

// svg plots tx and rx rates of both tools (each fed by itself) against
// frame size.
func svg(rs []result, sizes []int) string {
	const w, h, left, right, top, bottom = 640, 400, 70, 170, 30, 50
	series := []struct {
		name, color, dash string
		val               func(int) float64
	}{
		{"nmbench tx", "#1f77b4", "", func(s int) float64 { return find(rs, s, "nmbench", "nmbench").txPPS }},
		{"pkt-gen tx", "#d62728", "", func(s int) float64 { return find(rs, s, "pkt-gen", "pkt-gen").txPPS }},
		{"nmbench rx", "#1f77b4", "6,4", func(s int) float64 { return find(rs, s, "nmbench", "nmbench").rxP }},
		{"pkt-gen rx", "#d62728", "6,4", func(s int) float64 { return find(rs, s, "pkt-gen", "pkt-gen").rxP }},
	}
	ymax := 0.0
	for _, se := range series {
		for _, s := range sizes {
			ymax = math.Max(ymax, se.val(s))
		}
	}
	ymax = math.Ceil(ymax/1e6*1.1*2) / 2 * 1e6
	if ymax == 0 {
		ymax = 1e6
	}
	xmin, xmax := float64(sizes[0]), float64(sizes[len(sizes)-1])
	x := func(s int) float64 {
		if xmax == xmin {
			return left
		}
		return left + (float64(s)-xmin)/(xmax-xmin)*(w-left-right)
	}
	y := func(v float64) float64 { return top + (1-v/ymax)*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">nmbench vs pkt-gen on VALE (same VM run)</text>`+"\n", left)
	for i := 0; i <= 5; i++ {
		v := ymax * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.2f</text>`+"\n", left-6, y(v)+4, v/1e6)
	}
	for _, s := range sizes {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(s), h-bottom+18, s)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">frame size (bytes)</text>`+"\n", (left+w-right)/2, h-10)
	fmt.Fprintf(&b, `<text transform="translate(18,%d) rotate(-90)" text-anchor="middle">Mpps</text>`+"\n", (top+h-bottom)/2)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>`+"\n", left, w-right, h-bottom, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>`+"\n", left, left, top, h-bottom)
	for i, se := range series {
		var pts []string
		for _, s := range sizes {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(s), y(se.val(s))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", se.color, se.dash, strings.Join(pts, " "))
		for _, s := range sizes {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(s), y(se.val(s)), se.color)
		}
		ly := top + 20 + i*20
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", w-right+15, w-right+45, ly, ly, se.color, se.dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", w-right+50, ly+4, se.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

const begin, end = "<!-- sidebyside:begin -->", "<!-- sidebyside:end -->"

func main() {
	docs := flag.String("docs", "docs", "directory with benchmarks.md; the plot is written there as sidebyside.svg")
	cmd := flag.String("cmd", "test/vale/vm/run --script test/vale/sidebyside.sh --out OUT && go run ./test/vale/benchreport OUT/sidebyside.txt", "command line to record with the table")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: benchreport [-docs DIR] RESULTS")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	rs, err := parse(f)
	f.Close()
	if err != nil || len(rs) == 0 {
		fmt.Fprintln(os.Stderr, "benchreport: no results:", err)
		os.Exit(1)
	}
	raw := rs
	rs = medians(rs)
	var sizes []int
	for _, r := range rs {
		if !slices.Contains(sizes, r.size) {
			sizes = append(sizes, r.size)
		}
	}
	slices.Sort(sizes)
	md := markdown(raw, rs, sizes, *cmd)
	fmt.Print(md)
	if err := os.WriteFile(filepath.Join(*docs, "sidebyside.svg"), []byte(svg(rs, sizes)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	p := filepath.Join(*docs, "benchmarks.md")
	doc, err := os.ReadFile(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		fmt.Fprintf(os.Stderr, "benchreport: %s lacks the %s ... %s markers\n", p, begin, end)
		os.Exit(1)
	}
	s = s[:i+len(begin)] + "\n" + md + "\n![nmbench vs pkt-gen](sidebyside.svg)\n" + s[j:]
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}
