package nmsys

import (
	"testing"

	"github.com/nmgo/nmgo/internal/heapmem"
)

// heapPort returns a Port over a heap-built region, enough for the
// methods that only read the region (no descriptor: no syncs or waits).
func heapPort(t *testing.T, cfg *heapmem.Config) (*Port, *heapmem.Region) {
	t.Helper()
	hm, err := heapmem.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Heap memory: the region must never munmap it.
	rg := &region{memID: -1, mem: hm.Mem, mapFD: -1, unmapped: true}
	rg.refs.Store(1)
	return &Port{name: "heapmem", mem: hm.Mem, ifOff: hm.IfOff, txOffs: []int{hm.TxRingOff(0)}, region: rg}, hm
}

// ExtraBuffers returns one pool per Port, however often it is called: two
// pools over one list, each with its own copy of the head, would hand out
// the same buffer twice (into two slots at once), and leave ni_bufs_head,
// which the kernel frees at close, to whichever stored it last.
func TestExtraBuffersOnePool(t *testing.T) {
	p, hm := heapPort(t, &heapmem.Config{ExtraBufs: 4})
	x1, err := p.ExtraBuffers()
	if err != nil {
		t.Fatal(err)
	}
	x2, err := p.ExtraBuffers()
	if err != nil {
		t.Fatal(err)
	}
	a, err := x1.Get()
	if err != nil {
		t.Fatal(err)
	}
	b, err := x2.Get()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two calls of ExtraBuffers handed out buffer %d twice", a)
	}
	if x1.Len() != 2 || x2.Len() != 2 {
		t.Errorf("pools hold %d and %d buffers after two Gets of 4, want 2", x1.Len(), x2.Len())
	}
	if err := x1.Put(a); err != nil {
		t.Fatal(err)
	}
	if err := x2.Put(b); err != nil {
		t.Fatal(err)
	}
	if got := hm.ExtraList(); len(got) != 4 {
		t.Errorf("ni_bufs_head list after every buffer came back: %v, want 4 buffers", got)
	}
}
