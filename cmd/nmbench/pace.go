package main

import (
	"time"
)

// pacer bounds a sender by -n and -R.
type pacer struct {
	cfg   *config
	start time.Time
}

func newPacer(cfg *config) pacer { return pacer{cfg: cfg, start: time.Now()} }

// next returns how many packets may go now, at most batch, given sent so
// far; 0 after sleeping for one packet's time, or maxPaceSleep if that is
// shorter, when the rate says wait. The first packet goes at once.
func (p pacer) next(batch int, sent uint64) int {
	want := batch
	if p.cfg.count != 0 {
		want = int(min(uint64(want), p.cfg.count-sent))
	}
	if p.cfg.rate > 0 {
		allowed := int64(p.cfg.rate*time.Since(p.start).Seconds()) + 1 - int64(sent)
		if allowed <= 0 {
			time.Sleep(min(time.Duration(float64(time.Second)/p.cfg.rate), maxPaceSleep))
			return 0
		}
		want = int(min(int64(want), allowed))
	}
	return want
}

// maxPaceSleep bounds one sleep of a paced sender, so that at low rates
// (-R 0.1) a signal or -t still ends the run at once: the loop looks at
// its context between sleeps.
const maxPaceSleep = 10 * time.Millisecond
