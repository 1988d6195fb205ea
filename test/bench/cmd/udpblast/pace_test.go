package main

import (
	"testing"
	"time"
)

func TestPacerDue(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	p := &pacer{start: start, pps: 2500, now: func() time.Time { return now }, sleep: func(d time.Duration) { now = now.Add(d) }}
	var sent uint64
	for now.Before(start.Add(2 * time.Second)) {
		sent += uint64(p.wait(sent, 64))
	}
	// 2 s at 2500 frames/s: 5000 frames, never ahead of the schedule.
	if sent < 4999 || sent > 5000 {
		t.Errorf("sent %d frames in 2 s at 2500/s, want 5000", sent)
	}
	if got := p.due(0, 64); got != 64 {
		t.Errorf("due with 5000 late frames = %d, want the batch limit 64", got)
	}
	if newPacer(start, 0) != nil {
		t.Error("pps 0 must send unpaced (nil pacer)")
	}
}
