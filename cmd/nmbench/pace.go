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
//
// A sender that fell behind its schedule (its CPU taken for a while)
// makes up at most one batch: the schedule moves on by the rest. -R is a
// limit, and a receiver or a meter behind it sees the rate asked for, not
// a backlog sent at full speed.
func (p *pacer) next(batch int, sent uint64) int {
	want := batch
	if p.cfg.count != 0 {
		want = int(min(uint64(want), p.cfg.count-sent))
	}
	if p.cfg.rate > 0 {
		allowed := int64(p.cfg.rate*time.Since(p.start).Seconds()) + 1 - int64(sent)
		if allowed <= 0 {
			// The bound is taken in float64: a period longer than
			// ~292 years would overflow a Duration into a negative sleep.
			time.Sleep(time.Duration(min(float64(time.Second)/p.cfg.rate, float64(maxPaceSleep))))
			return 0
		}
		if behind := allowed - int64(batch); behind > 0 {
			p.start = p.start.Add(time.Duration(float64(behind) / p.cfg.rate * float64(time.Second)))
			allowed = int64(batch)
		}
		want = int(min(int64(want), allowed))
	}
	return want
}

// maxPaceSleep bounds one sleep of a paced sender, so that at low rates
// (-R 0.1) a signal or -t still ends the run at once: the loop looks at
// its context between sleeps.
const maxPaceSleep = 10 * time.Millisecond
