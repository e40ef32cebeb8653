package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An output that names an input, or another output, is refused before
// any file is opened: the input (a capture read by vrx, vtx's -in, an
// SDP) is left as it was, and so is an output's earlier file. One file
// under two names (a hard link, a symbolic link, one to a file not made
// yet) is one file. A character device may be named twice.
func TestOutputNamesAnotherFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	pc, sdp, in := at("in.pcap"), at("in.sdp"), at("in.raw")
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "2", "-sdp-out", sdp)
	if err := os.WriteFile(in, bytes.Repeat([]byte{0x80, 0x10, 0x08, 0x01, 0x00}, 64*32/2), 0o644); err != nil { // one 64x32 frame of pgroups
		t.Fatal(err)
	}
	for _, l := range []struct{ link, to string }{{"hard.pcap", pc}, {"in.pcap.lnk", pc}, {"dangling", at("later")}} {
		var err error
		if l.link == "hard.pcap" {
			err = os.Link(l.to, at(l.link))
		} else {
			err = os.Symlink(l.to, at(l.link))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]byte{}
	for _, name := range []string{pc, sdp, in} {
		b, err := os.ReadFile(name)
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %d octets, %v", name, len(b), err)
		}
		want[name] = b
	}
	vrx := []string{"-f", "vrx", "-fmt", fmt64x32, "-q"}
	vtx := []string{"-f", "vtx", "-fmt", fmt64x32, "-frames", "1", "-q"}
	for _, c := range []struct {
		name string
		args []string
		err  string
	}{
		{"-cpuprofile is vrx's capture", append([]string{"-i", "pcap:" + pc, "-cpuprofile", pc}, vrx...),
			"-cpuprofile DIR/in.pcap and -i pcap:DIR/in.pcap name the same file: the output would overwrite the input"},
		{"-out is a hard link to vrx's capture", append([]string{"-i", "pcap:" + pc, "-out", at("hard.pcap")}, vrx...),
			"-i pcap:DIR/in.pcap and -out DIR/hard.pcap name the same file: the output would overwrite the input"},
		{"-out is the second capture", append([]string{"-i", "pcap:" + at("x.pcap"), "-i", "pcap:" + pc, "-out", dir + "/./in.pcap"}, vrx...),
			"-i pcap:DIR/in.pcap and -out DIR/./in.pcap name the same file: the output would overwrite the input"},
		{"-out is vrx's -sdp", append([]string{"-i", "pcap:" + pc, "-out", sdp}, "-f", "vrx", "-sdp", sdp, "-q"),
			"-sdp DIR/in.sdp and -out DIR/in.sdp name the same file: the output would overwrite the input"},
		{"-sdp-out is vtx's capture through a link", append([]string{"-i", "pcap:" + at("in.pcap.lnk"), "-sdp-out", pc}, vtx...),
			"-i pcap:DIR/in.pcap.lnk and -sdp-out DIR/in.pcap name the same file: two outputs would write over each other"},
		{"-sdp-out is vtx's -in", append([]string{"-i", "pcap:" + at("new.pcap"), "-in", in, "-sdp-out", in}, vtx...),
			"-in DIR/in.raw and -sdp-out DIR/in.raw name the same file: the output would overwrite the input"},
		{"-cpuprofile is vtx's -in", append([]string{"-i", "pcap:" + at("new.pcap"), "-in", in, "-cpuprofile", dir + "//in.raw"}, vtx...),
			"-cpuprofile DIR//in.raw and -in DIR/in.raw name the same file: the output would overwrite the input"},
		{"-out and -cpuprofile, a new file", append([]string{"-i", "pcap:" + pc, "-out", at("new"), "-cpuprofile", dir + "/./new"}, vrx...),
			"-cpuprofile DIR/./new and -out DIR/new name the same file: two outputs would write over each other"},
		{"-out through a dangling link to -cpuprofile's new file", append([]string{"-i", "pcap:" + pc, "-out", at("dangling"), "-cpuprofile", at("later")}, vrx...),
			"-cpuprofile DIR/later and -out DIR/dangling name the same file: two outputs would write over each other"},
		{"-out of stream 1 and -cpuprofile", append([]string{"-i", "pcap:" + pc, "-streams", "2", "-out", at("o"), "-cpuprofile", at("o.1")}, vrx...),
			"-cpuprofile DIR/o.1 and -out DIR/o (stream 1: DIR/o.1) name the same file: two outputs would write over each other"},
	} {
		var out, errb bytes.Buffer
		code := cli(ctx, c.args, &out, &errb)
		if got := strings.ReplaceAll(errb.String(), dir, "DIR"); code != 2 || got != "nmbench: "+c.err+"\n" {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, code, got, c.err)
		}
		for name, b := range want {
			if got, _ := os.ReadFile(name); !bytes.Equal(got, b) {
				t.Errorf("%s: %s has %d octets, not its %d", c.name, name, len(got), len(b))
			}
		}
		for _, name := range []string{"new", "new.pcap", "later", "o.0", "o.1"} {
			if _, err := os.Lstat(at(name)); err == nil {
				t.Errorf("%s: %s made", c.name, name)
			}
		}
	}
	// A character device is neither emptied nor overwritten: -out and
	// -cpuprofile may both be /dev/null.
	if _, err := os.Stat(os.DevNull); err == nil {
		var errb bytes.Buffer
		if code := cli(ctx, append([]string{"-i", "pcap:" + pc, "-out", os.DevNull, "-cpuprofile", os.DevNull}, vrx...), io.Discard, &errb); code != 0 {
			t.Errorf("-out and -cpuprofile %s: exit %d, %s", os.DevNull, code, errb.String())
		}
	}
}

// A ".." after a symbolic link to a directory is the parent of the
// link's target, as the kernel takes it, not the lexical one: with sub
// a link to other/deep, sub/../x is other/x, not x.
func TestOutputNamesDotDotAfterLink(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	pc := at("in.pcap")
	runCLI(t, ctx, "-i", "pcap:"+pc, "-f", "vtx", "-fmt", fmt64x32, "-frames", "1")
	if err := os.MkdirAll(at("other/deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(at("other/deep"), at("sub")); err != nil {
		t.Fatal(err)
	}
	viaLink := dir + "/sub/../x"
	vrx := []string{"-i", "pcap:" + pc, "-f", "vrx", "-fmt", fmt64x32, "-q", "-out", viaLink}
	var errb bytes.Buffer
	if code := cli(ctx, append(vrx, "-cpuprofile", at("x")), io.Discard, &errb); code != 0 {
		t.Errorf("-out sub/../x -cpuprofile x, two files: exit %d, %s", code, errb.String())
	}
	errb.Reset()
	want := "nmbench: -cpuprofile DIR/other/z and -out DIR/sub/../z name the same file: two outputs would write over each other\n"
	vrx[len(vrx)-1] = dir + "/sub/../z"
	if code := cli(ctx, append(vrx, "-cpuprofile", at("other/z")), io.Discard, &errb); code != 2 || strings.ReplaceAll(errb.String(), dir, "DIR") != want {
		t.Errorf("-out sub/../z -cpuprofile other/z: exit %d, %q; want 2 and %q", code, errb.String(), want)
	}
}
