package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `# mode=icount cpus=1 secs=2 rounds=1 kernel=6.1.0-56-amd64
path=vale size=60 tx=nmbench rx=pkt-gen round=1 tx_packets=5000000 tx_pps=2500000 rx_packets=5000000 lost=0
path=vale size=60 tx=pkt-gen rx=pkt-gen round=1 tx_packets=4000000 tx_pps=2000000 rx_packets=4000000 lost=0
path=vale size=60 tx=pkt-gen rx=nmbench round=1 tx_packets=4000000 tx_pps=2000000 rx_packets=3960000 lost=40000
path=vale size=60 tx=nmbench rx=nmbench round=1 tx_packets=5000000 tx_pps=2500000 rx_packets=5000000 lost=0
path=pipe size=60 tx=nmbench rx=pkt-gen round=1 tx_packets=14000000 tx_pps=7000000 rx_packets=14000000 lost=0
path=pipe size=60 tx=pkt-gen rx=pkt-gen round=1 tx_packets=16000000 tx_pps=8000000 rx_packets=16000000 lost=0
path=pipe size=60 tx=pkt-gen rx=nmbench round=1 tx_packets=16000000 tx_pps=8000000 rx_packets=16000000 lost=0
`

func mustParse(t *testing.T, s string) *run {
	t.Helper()
	r, err := parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseAndRatios(t *testing.T) {
	r := mustParse(t, sample)
	if r.mode != modeIcount || len(r.results) != 7 {
		t.Fatalf("mode %q, %d results", r.mode, len(r.results))
	}
	if got := r.paths(); strings.Join(got, ",") != "vale,pipe" {
		t.Errorf("paths %v", got)
	}
	for _, c := range []struct {
		cell int
		path string
		want float64
	}{
		{0, "vale", 1.25},  // TX: 2.5 M / 2.0 M
		{1, "vale", 0.99},  // RX: 3.96 M / 4.0 M in the same 2 s
		{0, "pipe", 0.875}, // TX: 7 M / 8 M
		{1, "pipe", 1},
	} {
		v, ok := r.ratio(cells[c.cell], c.path, 60)
		if !ok || math.Abs(v-c.want) > 1e-9 {
			t.Errorf("%s %s: ratio %v %v, want %v", c.path, cells[c.cell].name, v, ok, c.want)
		}
	}
	x, _ := r.find("vale", 60, pktgen, nmbench)
	if x.lost() != 40000 || x.txSeconds != 2 || x.rxPPS != 1.98e6 {
		t.Errorf("pkt-gen -> nmbench: lost %v, %v s, rx %v pps", x.lost(), x.txSeconds, x.rxPPS)
	}
}

func TestViolations(t *testing.T) {
	v := mustParse(t, sample).violations(0.95)
	want := []string{
		"vale 60 B pkt-gen -> nmbench lost 40000",
		"pipe 60 B TX: nmbench at 0.875x",
	} // nmbench -> nmbench is missing on pipe: it is checked for loss only, so no violation
	if len(v) != 2 || !strings.HasPrefix(v[0], want[0]) || !strings.HasPrefix(v[1], want[1]) {
		t.Errorf("violations:\n%s\nwant the first two of:\n%s", strings.Join(v, "\n"), strings.Join(want, "\n"))
	}
	// Loss is no violation where pkt-gen's own pair lost too.
	lossy := strings.Replace(sample, "tx=pkt-gen rx=pkt-gen round=1 tx_packets=4000000 tx_pps=2000000 rx_packets=4000000",
		"tx=pkt-gen rx=pkt-gen round=1 tx_packets=4000000 tx_pps=2000000 rx_packets=3999999", 1)
	if v := mustParse(t, lossy).violations(0.8); len(v) != 0 {
		t.Errorf("with pkt-gen losing too, at 0.8: %q", v)
	}
	// A cell without pkt-gen's pair cannot pass.
	noPG := strings.Replace(sample, "path=pipe size=60 tx=pkt-gen rx=pkt-gen", "path=pipe size=60 tx=pkt-gen rx=other", 1)
	if v := mustParse(t, noPG).violations(0.5); len(v) != 3 || !strings.Contains(v[1], "TX: a pair is missing") || !strings.Contains(v[2], "RX: a pair is missing") {
		t.Errorf("pipe without pkt-gen -> pkt-gen: %q", v)
	}
}

// -check needs the whole picture: a deterministic run with the four pairs
// on both netmap paths at every size measured. It judged only the rows
// present, so a file with the vale path alone passed.
func TestIncomplete(t *testing.T) {
	full := sample + "path=pipe size=60 tx=nmbench rx=nmbench round=1 tx_packets=1 tx_pps=1 rx_packets=1 lost=0\n"
	if v := mustParse(t, full).incomplete(); len(v) != 0 {
		t.Errorf("complete run: %q", v)
	}
	var valeOnly []string
	for _, l := range strings.Split(full, "\n") {
		if !strings.HasPrefix(l, "path=pipe") {
			valeOnly = append(valeOnly, l)
		}
	}
	for _, c := range []struct {
		name, results string
		want          []string
	}{
		{"sample", sample, []string{"pipe 60 B nmbench -> nmbench: not measured"}},
		{"vale only", strings.Join(valeOnly, "\n"), []string{
			"pipe 60 B nmbench -> pkt-gen: not measured", "pipe 60 B pkt-gen -> pkt-gen: not measured",
			"pipe 60 B pkt-gen -> nmbench: not measured", "pipe 60 B nmbench -> nmbench: not measured"}},
		{"real time", strings.Replace(full, "mode=icount", "mode=realtime", 1), []string{"mode=realtime, not icount"}},
		{"a size on one path only", full + "path=vale size=1500 tx=nmbench rx=nmbench round=1 tx_packets=1 tx_pps=1 rx_packets=1 lost=0\n", []string{
			"vale 1500 B nmbench -> pkt-gen: not measured", "vale 1500 B pkt-gen -> pkt-gen: not measured", "vale 1500 B pkt-gen -> nmbench: not measured",
			"pipe 1500 B nmbench -> pkt-gen: not measured", "pipe 1500 B pkt-gen -> pkt-gen: not measured",
			"pipe 1500 B pkt-gen -> nmbench: not measured", "pipe 1500 B nmbench -> nmbench: not measured"}},
		{"udp only", "# mode=icount\npath=udp size=60 tx=nmbench rx=nmbench round=1 tx_packets=1 tx_pps=1 rx_packets=1 lost=0\n", []string{"no netmap path measured"}},
	} {
		v := mustParse(t, c.results).incomplete()
		ok := len(v) == len(c.want)
		for i := 0; ok && i < len(v); i++ {
			ok = strings.HasPrefix(v[i], c.want[i])
		}
		if !ok {
			t.Errorf("%s: incomplete:\n%s\nwant:\n%s", c.name, strings.Join(v, "\n"), strings.Join(c.want, "\n"))
		}
	}
}

func TestParseOldFormat(t *testing.T) {
	r := mustParse(t, "size=1500 tx=nmbench rx=pkt-gen round=1 tx_packets=1000 tx_seconds=2 rx_packets=900\n"+
		"size=60 tx=nmbench-udp rx=nmbench-udp round=1 tx_packets=100 tx_seconds=4 rx_packets=100\n")
	if r.mode != modeRealtime || len(r.results) != 2 {
		t.Fatalf("%+v", r)
	}
	a, b := r.results[0], r.results[1]
	if a.path != "vale" || a.txPPS != 500 || a.rxPPS != 450 || a.lost() != 100 {
		t.Errorf("old vale line: %+v", a)
	}
	if b.path != "udp" || b.tx != nmbench || b.rx != nmbench || b.txPPS != 25 {
		t.Errorf("old udp line: %+v", b)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"path=vale size=60 tx=nmbench round=1 tx_packets=1 tx_pps=1 rx_packets=1\n", // no rx
		"path=vale size=x tx=a rx=b\n",
		"path=vale size=60 tx=a rx=b tx_packets=-5\n",
	} {
		if _, err := parse(strings.NewReader(s)); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}

func TestRowDiffAndReport(t *testing.T) {
	a := mustParse(t, sample)
	b := mustParse(t, strings.Replace(sample, "tx_pps=2500000 rx_packets=5000000 lost=0\npath=vale size=60 tx=pkt-gen",
		"tx_pps=2525000 rx_packets=5000000 lost=0\npath=vale size=60 tx=pkt-gen", 1))
	if d := rowDiff(a, b, "vale", 60); math.Abs(d-0.01) > 1e-9 {
		t.Errorf("rowDiff %v, want 0.01", d)
	}
	if d := rowDiff(a, a, "pipe", 60); d != 0 {
		t.Errorf("rowDiff of a run with itself %v", d)
	}
	md := icountMarkdown([]*run{a, b}, "CMD")
	for _, want := range []string{"Command: `CMD`", "| vale | 60 B | 1.250 / 1.262 | 0.990 / 0.990 | 0 / 0 | 0 / 0, 40000 (1.00%) / 40000 (1.00%), 0 / 0 | 1.00% |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestWriteMarkers(t *testing.T) {
	dir := t.TempDir()
	doc := "head\n<!-- x:begin -->\nold\n<!-- x:end -->\ntail\n"
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.md"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := write(dir, "x", "new\n", "p.svg", "<svg/>"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "benchmarks.md"))
	if string(got) != "head\n<!-- x:begin -->\nnew\n<!-- x:end -->\ntail\n" {
		t.Errorf("benchmarks.md:\n%s", got)
	}
	if err := write(dir, "y", "new\n", "p.svg", "<svg/>"); err == nil {
		t.Error("no error for missing markers")
	}
}
