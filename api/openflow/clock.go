package openflow

import "time"

// Clock is the time of a Switch's channel timers: the inactivity probe and
// the packet-in rate limits (Config.Clock). Tests give a fake one, so that
// what happens after N idle seconds is checked without waiting for them.
type Clock interface {
	Now() time.Time
	// NewTicker returns a channel that receives the time every d, and a
	// function that stops it.
	NewTicker(d time.Duration) (ticks <-chan time.Time, stop func())
}

// systemClock is the Clock of the time package.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
