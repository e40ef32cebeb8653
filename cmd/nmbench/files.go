package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A file a run reads or writes, as the command line names it.
type namedFile struct {
	arg  string // the flag and its value, as the error names it: "-out x.raw"
	name string // the file's name
	out  bool   // written (emptied once the run opens), not read
}

// namedFiles returns the files the command line names: the inputs (vrx's
// captures, vtx's -in, -sdp) and the outputs (-cpuprofile, -pcap, vtx's
// captures and -sdp-out, vrx's -out of each stream).
func namedFiles(c *config) []namedFile {
	var fs []namedFile
	add := func(arg, name string, out bool) {
		if name != "" {
			fs = append(fs, namedFile{arg: arg, name: name, out: out})
		}
	}
	add("-cpuprofile "+c.cpuProf, c.cpuProf, true)
	add("-pcap "+c.pcap, c.pcap, true)
	if !c.mode.video {
		return fs
	}
	v := c.video
	for _, p := range []string{c.port, c.port2} {
		if isPcap(p) {
			add("-i "+p, strings.TrimPrefix(p, pcapPrefix), c.mode.send)
		}
	}
	add("-sdp "+v.sdp, v.sdp, false)
	if c.mode.send {
		add("-in "+v.in, v.in, false)
		add("-sdp-out "+v.sdpOut, v.sdpOut, true)
	} else if v.out != "" {
		for k := range v.streams {
			name := outName(v.out, k, len(v.streams))
			arg := "-out " + name
			if name != v.out {
				arg = "-out " + v.out + " (stream " + strconv.Itoa(k) + ": " + name + ")"
			}
			add(arg, name, true)
		}
	}
	return fs
}

// checkFiles refuses a command line that names one file twice where one
// of the two is an output: the output would empty the input before it is
// read whole (a capture, -in), or overwrite what was read (-sdp), and two
// outputs would write over each other. It runs before any file is
// opened. One file is one file however named: the same file under two
// names (a hard link, a symbolic link) is caught by os.SameFile, and two
// names of a file that does not exist yet by comparing the paths they
// resolve to. A character device (/dev/null, a terminal) may be named
// more than once: it is neither emptied nor overwritten. /dev/stdout is
// what it resolves to: a terminal may be named twice, a file or a pipe
// the shell redirected it to may not.
func checkFiles(c *config) error {
	fs := namedFiles(c)
	ids := make([]fileID, len(fs))
	for i := range fs {
		ids[i] = identify(fs[i].name)
	}
	for j := range fs {
		for i := range j {
			a, b := fs[i], fs[j]
			if !a.out && !b.out || !ids[i].same(ids[j]) {
				continue
			}
			why := "two outputs would write over each other"
			if !a.out || !b.out {
				why = "the output would overwrite the input"
			}
			return fmt.Errorf("%s and %s name the same file: %s", a.arg, b.arg, why)
		}
	}
	return nil
}

// fileID identifies a named file: by its FileInfo if it exists, else by
// the path its name resolves to (through symbolic links, a dangling one
// to its target).
type fileID struct {
	fi   os.FileInfo
	path string
}

func identify(name string) fileID {
	if fi, err := os.Stat(name); err == nil {
		return fileID{fi: fi}
	}
	return fileID{path: resolvePath(name)}
}

// same reports whether a and b are one file other than a character
// device. A file that exists is not one that does not.
func (a fileID) same(b fileID) bool {
	switch {
	case a.fi != nil && b.fi != nil:
		return os.SameFile(a.fi, b.fi) && a.fi.Mode()&os.ModeCharDevice == 0
	case a.fi == nil && b.fi == nil:
		return a.path == b.path
	}
	return false
}

// resolvePath returns the absolute path name resolves to, following
// symbolic links in its directories and in its last element, to a
// target that does not exist too. It resolves ".." as the kernel does,
// after the links before it (sub/.. is the parent of sub's target): the
// name is joined to the working directory without cleaning, the longest
// prefix that exists is resolved (filepath.EvalSymlinks), and the rest,
// which does not exist, is appended; a prefix that ends in a dangling
// link is replaced by the link's target, and resolved again.
func resolvePath(name string) string {
	const sep = string(filepath.Separator)
	p := name
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return filepath.Clean(name)
		}
		p = wd + sep + p
	}
	for range 40 { // Linux's limit on links followed (ELOOP)
		elems := strings.Split(p, sep)
		i := len(elems)
		for ; i > 1; i-- {
			if _, err := os.Lstat(strings.Join(elems[:i], sep)); err == nil {
				break
			}
		}
		prefix, rest := strings.Join(elems[:i], sep), elems[i:]
		if prefix == "" {
			prefix = sep
		}
		if r, err := filepath.EvalSymlinks(prefix); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		t, err := os.Readlink(prefix) // a dangling link
		if err != nil {
			break
		}
		if !filepath.IsAbs(t) {
			t = prefix[:strings.LastIndex(prefix, sep)+1] + t
		}
		p = strings.Join(append([]string{t}, rest...), sep)
	}
	return filepath.Clean(p)
}
