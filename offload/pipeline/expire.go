package pipeline

import (
	"cmp"
	"slices"
	"time"
)

// LastUsedFunc returns when a flow entry last matched a packet in any tier,
// or the zero time if never. Expire and NextExpiry fall back to the soft
// tier's Flow.Counters.LastUsed when given nil.
type LastUsedFunc func(*Flow) time.Time

// Expire removes the flow entries whose timeout has passed at now and
// returns them, ordered by ID: a hard timeout counts from Added (reason
// RemovedHardTimeout), an idle timeout from the later of Added and
// lastUsed(f) (reason RemovedIdleTimeout). When both have passed the hard
// timeout is reported. The caller sends FLOW_REMOVED for the entries with
// FlagSendFlowRem.
func (p *Pipeline) Expire(now time.Time, lastUsed LastUsedFunc) []Removal {
	var out []Removal
	for _, f := range p.timed {
		hard, idle := deadlines(f, lastUsed)
		switch {
		case !hard.IsZero() && !now.Before(hard):
			out = append(out, Removal{Flow: f, Reason: RemovedHardTimeout})
		case !idle.IsZero() && !now.Before(idle):
			out = append(out, Removal{Flow: f, Reason: RemovedIdleTimeout})
		}
	}
	slices.SortFunc(out, func(a, b Removal) int { return cmp.Compare(a.Flow.ID, b.Flow.ID) })
	for _, r := range out {
		p.remove(r.Flow)
	}
	return out
}

// NextExpiry returns the earliest time at which Expire could remove an
// entry, assuming no further traffic, and false when no entry has a
// timeout. Traffic only moves idle deadlines later, so a caller that wakes
// at this time, calls Expire and asks again never misses an expiry.
func (p *Pipeline) NextExpiry(lastUsed LastUsedFunc) (time.Time, bool) {
	var next time.Time
	for _, f := range p.timed {
		hard, idle := deadlines(f, lastUsed)
		for _, d := range [2]time.Time{hard, idle} {
			if !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
	}
	return next, !next.IsZero()
}

// deadlines returns f's hard and idle deadlines (zero: no such timeout).
func deadlines(f *Flow, lastUsed LastUsedFunc) (hard, idle time.Time) {
	if f.HardTimeout != 0 {
		hard = f.Added.Add(time.Duration(f.HardTimeout) * time.Second)
	}
	if f.IdleTimeout != 0 {
		last := f.Added
		var used time.Time
		if lastUsed != nil {
			used = lastUsed(f)
		} else if ns := f.Counters.LastUsed.Load(); ns != 0 {
			used = time.Unix(0, ns)
		}
		if used.After(last) {
			last = used
		}
		idle = last.Add(time.Duration(f.IdleTimeout) * time.Second)
	}
	return hard, idle
}
