package openflow

import "time"

// Packet-in rate limiting, as Open vSwitch's controller_rate_limit and
// controller_burst_limit (ofproto/pinsched.c): each channel has two token
// buckets, one for table misses and one for the other reasons (output to
// CONTROLLER, invalid TTL), each filled at the rate and holding at most
// the burst, so a channel gets up to twice the rate when both kinds come.
// Where Open vSwitch queues a packet-in that finds the bucket empty (up
// to the burst, shared fairly among the ports, sent as tokens come), a
// nicflow channel drops it and counts it: the controller gets the same
// rate, without the extra delay of up to burst/rate.

// nanoTokens is one token: a bucket counts in billionths of a packet, so
// that it fills exactly at any rate with a clock of nanoseconds.
const nanoTokens = int64(time.Second)

// tokenBucket holds up to burst tokens and gains rate tokens a second. It
// is not safe for concurrent use.
type tokenBucket struct {
	rate   int64 // tokens per second
	max    int64 // burst, in nanoTokens
	tokens int64 // in nanoTokens
	last   time.Time
}

// newTokenBucket returns a full bucket.
func newTokenBucket(rate, burst int, now time.Time) *tokenBucket {
	max := int64(burst) * nanoTokens
	return &tokenBucket{rate: int64(rate), max: max, tokens: max, last: now}
}

// take takes one token at time now, and reports whether there was one.
func (b *tokenBucket) take(now time.Time) bool {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.last = now
		// rate*elapsed overflows only past the time it takes to fill up.
		if missing := b.max - b.tokens; int64(elapsed) >= missing/b.rate+1 {
			b.tokens = b.max
		} else {
			b.tokens = min(b.max, b.tokens+b.rate*int64(elapsed))
		}
	}
	if b.tokens < nanoTokens {
		return false
	}
	b.tokens -= nanoTokens
	return true
}

// DefaultBurst is Open vSwitch's default controller_burst_limit for a
// rate: a quarter of it (at least 1).
func DefaultBurst(rate int) int { return max(rate/4, 1) }

// pinLimiter is one channel's packet-in rate limit (nil: none).
type pinLimiter struct {
	miss, other *tokenBucket
}

func newPinLimiter(rate, burst int, now time.Time) *pinLimiter {
	if rate <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = DefaultBurst(rate)
	}
	return &pinLimiter{miss: newTokenBucket(rate, burst, now), other: newTokenBucket(rate, burst, now)}
}

// admit reports whether a packet-in of reason may go at time now.
func (l *pinLimiter) admit(reason uint8, now time.Time) bool {
	if reason == ReasonNoMatch {
		return l.miss.take(now)
	}
	return l.other.take(now)
}
