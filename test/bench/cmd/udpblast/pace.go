package main

import "time"

// pacer spreads frames evenly over time: after t seconds, pps*t frames are
// due.
type pacer struct {
	start time.Time
	pps   float64
	now   func() time.Time
	sleep func(time.Duration)
}

// newPacer returns a pacer of pps frames per second from start; nil (send as
// fast as possible) for pps 0.
func newPacer(start time.Time, pps float64) *pacer {
	if pps == 0 {
		return nil
	}
	return &pacer{start: start, pps: pps, now: time.Now, sleep: time.Sleep}
}

// due is how many frames are due after sent were sent, at most limit.
func (p *pacer) due(sent uint64, limit int) int {
	want := p.pps * p.now().Sub(p.start).Seconds()
	if d := want - float64(sent); d >= 1 {
		return int(min(d, float64(limit)))
	}
	return 0
}

// wait returns how many frames to send now (at most limit), sleeping until
// at least one is due but never longer than 1 ms, so the caller checks its
// deadline.
func (p *pacer) wait(sent uint64, limit int) int {
	if n := p.due(sent, limit); n > 0 {
		return n
	}
	next := time.Duration((float64(sent) + 1) / p.pps * float64(time.Second))
	p.sleep(min(max(p.start.Add(next).Sub(p.now()), time.Microsecond), time.Millisecond))
	return p.due(sent, limit)
}
