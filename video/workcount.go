//go:build nmgo_workcount

package video

// counting: built with the tag nmgo_workcount, the work counters count
// (workcount_off.go is the build without it, every build but the tests').
const counting = true

// workCount counts loop steps of a per-packet path (SRD headers walked,
// rows written, slots searched, sequence words cleared) for the tests
// that hold the work an input may cost to a bound: go test -tags
// nmgo_workcount ./video. Without the tag it is empty and its add
// compiles to nothing, so that a program pays nothing for the tests'
// counts on its packets.
type workCount struct{ n uint64 }

func (w *workCount) add(n uint64) { w.n += n }

// get returns the count: 0 without the tag.
func (w *workCount) get() uint64 { return w.n }
