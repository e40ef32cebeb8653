package xdptest

import (
	"strconv"
	"testing"
)

// TestOwner: the process id read back from a name NewPair makes, for ids
// whose base-36 form has an x in it (5685 is "4dx") or ends the name's
// id part, and none from names it does not make.
func TestOwner(t *testing.T) {
	for _, pid := range []int64{1, 5685, 33, 4194304, 44027} {
		name := "nmxs" + strconv.FormatInt(pid, 36) + "-" + strconv.FormatInt(17, 36) + "b"
		if got, ok := owner(name); !ok || got != pid {
			t.Errorf("owner(%q) = %d, %v; want %d", name, got, ok, pid)
		}
	}
	for _, name := range []string{"nmxsbA", "other-1a", "nmxs", "nmxs-1a"} {
		if got, ok := owner(name); ok {
			t.Errorf("owner(%q) = %d, want none", name, got)
		}
	}
}
