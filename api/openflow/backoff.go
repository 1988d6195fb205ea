package openflow

import "time"

// backoff is the reconnect delay of an active target: it starts at min and
// doubles after each attempt that failed or whose channel did not last,
// up to max; each wait is the delay less up to a quarter of it (jitter),
// so that switches restarting together spread their attempts. A channel
// that stayed up longer than max starts it again from min.
type backoff struct {
	min, max time.Duration
	delay    time.Duration
	// randN returns a number in [0, n) (math/rand/v2's Int64N).
	randN func(n int64) int64
}

func newBackoff(min, max time.Duration, randN func(int64) int64) *backoff {
	return &backoff{min: min, max: max, delay: min, randN: randN}
}

// wait returns how long to wait before the next attempt, and doubles the
// delay for the one after it.
func (b *backoff) wait() time.Duration {
	d := b.delay - time.Duration(b.randN(int64(b.delay/4)+1))
	b.delay = min(2*b.delay, b.max)
	return d
}

// connected tells the backoff a channel of the target ended after being up
// for lasted.
func (b *backoff) connected(lasted time.Duration) {
	if lasted > b.max {
		b.delay = b.min
	}
}
