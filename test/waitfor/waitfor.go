// Package waitfor is the one way nicflow's tests wait for an event: poll a
// condition until it holds or a timeout passes. A test waits for the event
// itself (a counter reaching its count, a state the kernel reports), never
// for a guessed time; to show that something did not happen, it first waits
// for a barrier that proves the work was done (the fast path's lookup
// count, an OpenFlow barrier reply, a witness that saw the same frame), then
// asserts.
//
// It may be used by the tests of any package and by test helpers
// (test/vm/vmtest).
//
// Only tests and test helpers import it. It imports no other nicflow
// package.
package waitfor

import (
	"fmt"
	"testing"
	"time"
)

// Polling starts at firstInterval and doubles up to maxInterval: quick for
// events that are microseconds away, gentle on a one-CPU VM for those that
// take seconds.
const (
	firstInterval = time.Millisecond
	maxInterval   = 50 * time.Millisecond
)

// Until calls cond until it returns nil or timeout has passed, and returns
// nil or cond's last error with the time waited. cond is called at least
// once, even with a timeout of zero.
func Until(timeout time.Duration, cond func() error) error {
	start := time.Now()
	interval := firstInterval
	for {
		err := cond()
		if err == nil {
			return nil
		}
		waited := time.Since(start)
		if waited >= timeout {
			return fmt.Errorf("after %v: %w", waited.Round(time.Millisecond), err)
		}
		time.Sleep(min(interval, timeout-waited))
		interval = min(2*interval, maxInterval)
	}
}

// True fails the test unless cond returns true within timeout; what names
// the event in the failure ("two channels up").
func True(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Until(timeout, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("timed out waiting for %s (%v)", what, err)
	}
}

var errNotYet = fmt.Errorf("condition not met")
