//go:build !nmgo_workcount

package video

// counting reports whether the work counters count (workcount.go): not
// without the tag nmgo_workcount.
const counting = false

// workCount counts nothing without the tag nmgo_workcount (workcount.go):
// an empty field, whose add compiles to nothing on the packet path.
type workCount struct{}

func (*workCount) add(uint64) {}

func (*workCount) get() uint64 { return 0 }
