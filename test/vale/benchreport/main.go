// Command benchreport turns the output of test/vale/sidebyside.sh into the
// side-by-side tables of docs/benchmarks.md and a plot in docs/.
//
//	go run ./test/vale/benchreport [-docs DIR] [-section NAME] [-cmd "how it was run"] [-check MIN] RESULTS [RESULTS2]
//
// A run in deterministic virtual time (test/vale/vm/run --icount; the
// results' first line says "mode=icount") goes between the
// sidebyside-icount markers of benchmarks.md, with the plot
// sidebyside-icount.svg; given a second run of the same script, the table
// shows both and how far apart they are, cell by cell. A real-time run (2
// vCPUs, several rounds) goes between the sidebyside markers, with the plot
// sidebyside.svg, as medians of the rounds. -section NAME writes between the
// NAME markers and to NAME.svg instead (test/vale/multiring.sh's results).
//
// With -check MIN, benchreport also fails (exit status 1) when nmbench is
// below MIN times pkt-gen in any cell, or loses packets in a pair where
// pkt-gen's own pair lost none: the CI smoke asserts deterministic figures
// that way. It fails too unless the run is in deterministic virtual time
// (mode=icount) and measured all four pairs on both netmap paths (vale
// and pipe) at every frame size it measured. -docs "" prints the tables without writing anything.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	docs := flag.String("docs", "docs", `directory with benchmarks.md, where the tables and the plot go ("": print only)`)
	cmd := flag.String("cmd", "", "command line to record with the table (default: the script's, for the run's mode)")
	section := flag.String("section", "", "the markers (NAME:begin, NAME:end) and plot (NAME.svg) to write (default: sidebyside-icount or sidebyside, by the run's mode)")
	check := flag.Float64("check", 0, "fail unless the run is deterministic (mode=icount) with all four pairs on vale and pipe at every size, and nmbench is at least this times pkt-gen in every cell and loses nothing pkt-gen does not (0: no check)")
	flag.Parse()
	if flag.NArg() < 1 || flag.NArg() > 2 {
		fmt.Fprintln(os.Stderr, "usage: benchreport [-docs DIR] [-cmd LINE] [-check MIN] RESULTS [RESULTS2]")
		os.Exit(2)
	}
	var runs []*run
	for _, name := range flag.Args() {
		r, err := readRun(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		runs = append(runs, r)
	}
	if len(runs) == 2 && runs[0].mode != runs[1].mode {
		fmt.Fprintf(os.Stderr, "benchreport: %s is a %s run, %s a %s run\n", flag.Arg(0), runs[0].mode, flag.Arg(1), runs[1].mode)
		os.Exit(1)
	}
	var md, plot, svgName, markers string
	switch runs[0].mode {
	case modeIcount:
		if *cmd == "" {
			*cmd = "test/vale/vm/run --icount --script test/vale/sidebyside.sh --out OUT && go run ./test/vale/benchreport OUT/sidebyside.txt"
			if len(runs) == 2 {
				*cmd = "test/vale/vm/run --icount --script test/vale/sidebyside.sh --out OUT1 (and again, --out OUT2) && go run ./test/vale/benchreport OUT1/sidebyside.txt OUT2/sidebyside.txt"
			}
		}
		md, plot = icountMarkdown(runs, *cmd), icountSVG(runs[0])
		svgName, markers = "sidebyside-icount.svg", "sidebyside-icount"
	default:
		if len(runs) != 1 {
			fmt.Fprintln(os.Stderr, "benchreport: real-time runs take their medians over rounds: give one file")
			os.Exit(2)
		}
		if *cmd == "" {
			*cmd = "test/vale/vm/run --script test/vale/sidebyside.sh --out OUT && go run ./test/vale/benchreport OUT/sidebyside.txt"
		}
		md, plot = realtimeMarkdown(runs[0], *cmd), realtimeSVG(runs[0])
		svgName, markers = "sidebyside.svg", "sidebyside"
	}
	if *section != "" {
		svgName, markers = *section+".svg", *section
	}
	fmt.Print(md)
	failed := false
	if *check > 0 {
		for i, r := range runs {
			for _, p := range append(r.incomplete(), r.violations(*check)...) {
				fmt.Fprintf(os.Stderr, "benchreport: FAIL: %s: %s\n", flag.Arg(i), p)
				failed = true
			}
		}
		if !failed {
			fmt.Fprintf(os.Stderr, "benchreport: ok: all four pairs on vale and pipe at every size, nmbench >= %.2fx pkt-gen in every cell, and no loss where pkt-gen's own pair lost none\n", *check)
		}
	}
	if *docs != "" {
		if err := write(*docs, markers, md+"\n![nmbench vs pkt-gen]("+svgName+")\n", svgName, plot); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
	if failed {
		os.Exit(1)
	}
}

// write puts md between the markers NAME:begin and NAME:end of
// DIR/benchmarks.md and the plot into DIR/svgName.
func write(dir, name, md, svgName, plot string) error {
	if err := os.WriteFile(filepath.Join(dir, svgName), []byte(plot), 0o644); err != nil {
		return err
	}
	p := filepath.Join(dir, "benchmarks.md")
	doc, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	s := string(doc)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s lacks the %s ... %s markers", p, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + md + s[j:]
	return os.WriteFile(p, []byte(s), 0o644)
}
