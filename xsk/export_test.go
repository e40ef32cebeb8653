package xsk

import "time"

// Lingers returns how many times d lingered and the time it asked for in
// all, for the tests of package xsk_test.
func (d *Idler) Lingers() (int, time.Duration) { return d.lingers, d.lingered }
