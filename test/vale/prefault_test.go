package vale_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nmgo/nmgo/nmsys"
)

// TestRingPrefault: Linux maps a netmap region on demand, page by page. A
// ring's view takes the faults of its buffers when it is built, so that
// the first lap of packets does not: a receiver's first 4096 packets took
// 2048 faults, enough to make a paced sender on the same core fall more
// than 1 ms behind for the first 100 ms of a stream.
func TestRingPrefault(t *testing.T) {
	const slots = 1024
	p := open(t, "vale"+uniq("pf")+":a", &nmsys.Config{TxSlots: slots, RxSlots: slots})
	before := netmapRss(t)
	tx, err := p.TxRing(p.Info().FirstTx)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := p.RxRing(p.Info().FirstRx)
	if err != nil {
		t.Fatal(err)
	}
	after := netmapRss(t)
	// Each ring's buffers span at least slots*BufSize octets of pages;
	// ask for half, whatever the pool's layout.
	want := int64(tx.NumSlots()*tx.BufSize()+rx.NumSlots()*rx.BufSize()) / 2
	t.Logf("resident netmap memory: %d KiB before the views, %d KiB after (%d slots a ring, %d-octet buffers)", before>>10, after>>10, tx.NumSlots(), tx.BufSize())
	if after-before < want {
		t.Errorf("building the ring views made %d KiB of the region resident, want at least %d KiB", (after-before)>>10, want>>10)
	}
}

// netmapRss is the resident size of the process's netmap mappings, from
// /proc/self/smaps, in octets.
func netmapRss(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		fs := strings.Fields(l)
		if len(fs) == 0 {
			continue
		}
		if strings.Contains(fs[0], "-") && len(fs) >= 5 { // a mapping's first line
			in = strings.HasSuffix(l, "/dev/netmap")
			continue
		}
		if in && fs[0] == "Rss:" && len(fs) == 3 {
			kb, err := strconv.ParseInt(fs[1], 10, 64)
			if err != nil {
				t.Fatalf("smaps: %q: %v", l, err)
			}
			total += kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
