//go:build linux

package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestArgs: bad arguments give an error naming what was wrong, before
// anything is created.
func TestArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-i IN and -o OUT are required"},
		{[]string{"-i", "lo"}, "-i IN and -o OUT are required"},
		{[]string{"-i", "lo", "-o", "lo", "-n", "0"}, "-n 0: copies must be 1 to 1024"},
		{[]string{"-i", "lo", "-o", "lo", "-n", "1025"}, "-n 1025: copies must be 1 to 1024"},
		{[]string{"-i", "lo", "-o", "lo", "extra"}, `unexpected argument "extra"`},
		{[]string{"-i", "nmgo-no-such-link", "-o", "lo"}, `link IN "nmgo-no-such-link"`},
		{[]string{"-i", "lo", "-o", "nmgo-no-such-link"}, `link OUT "nmgo-no-such-link"`},
		{[]string{"-x"}, "flag provided but not defined: -x"},
		{[]string{"-pass", "nmgo-no-such-link"}, `-pass: link "nmgo-no-such-link"`},
		{[]string{"-pass", "lo", "-i", "lo"}, "-i IN and -o OUT are required"},
	} {
		err := run(context.Background(), c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %q: %v, want an error with %q", c.args, err, c.want)
		}
	}
}
