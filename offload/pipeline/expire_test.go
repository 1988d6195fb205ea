package pipeline

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExpire(t *testing.T) {
	p := New()
	timed := func(port uint64, idle, hard uint16) *Flow {
		fm := addMod(0, 1, mt(exact(FieldInPort, port)), Output(9))
		fm.IdleTimeout, fm.HardTimeout = idle, hard
		return mustAdd(t, p, fm)
	}
	hard := timed(1, 0, 10)
	idle := timed(2, 5, 0)
	both := timed(3, 5, 8)
	used := timed(4, 5, 0)
	forever := timed(5, 0, 0)

	lastUsed := map[uint64]time.Time{used.ID: t0.Add(4 * time.Second), both.ID: t0.Add(6 * time.Second)}
	lu := func(f *Flow) time.Time { return lastUsed[f.ID] }

	next, ok := p.NextExpiry(lu)
	if !ok || !next.Equal(t0.Add(5*time.Second)) {
		t.Errorf("NextExpiry = %v, %v; want t0+5s, true", next, ok)
	}

	steps := []struct {
		at   time.Duration
		want []string
	}{
		{4 * time.Second, []string{}},
		{5 * time.Second, []string{removedIDs([]Removal{{Flow: idle, Reason: RemovedIdleTimeout}})[0]}},
		{8 * time.Second, []string{removedIDs([]Removal{{Flow: both, Reason: RemovedHardTimeout}})[0]}},
		{9 * time.Second, []string{removedIDs([]Removal{{Flow: used, Reason: RemovedIdleTimeout}})[0]}},
		{10 * time.Second, []string{removedIDs([]Removal{{Flow: hard, Reason: RemovedHardTimeout}})[0]}},
		{time.Hour, []string{}},
	}
	for _, s := range steps {
		got := p.Expire(t0.Add(s.at), lu)
		if diff := cmp.Diff(s.want, removedIDs(got)); diff != "" {
			t.Errorf("Expire(t0+%v) (-want +got):\n%s", s.at, diff)
		}
	}
	if p.Flow(forever.ID) == nil || p.FlowCount(0) != 1 {
		t.Errorf("the entry without timeouts must stay; %d flows left", p.FlowCount(0))
	}
	if _, ok := p.NextExpiry(lu); ok {
		t.Errorf("NextExpiry reports a deadline with no timed entries")
	}
}

func TestExpireUsesSoftCountersByDefault(t *testing.T) {
	p := New()
	fm := addMod(0, 1, Match{}, Output(1))
	fm.IdleTimeout = 10
	f := mustAdd(t, p, fm)
	f.Counters.Add(60, t0.Add(7*time.Second).UnixNano())
	if got := p.Expire(t0.Add(12*time.Second), nil); len(got) != 0 {
		t.Errorf("used at t0+7s, idle 10s: expired at t0+12s: %v", removedIDs(got))
	}
	if next, _ := p.NextExpiry(nil); !next.Equal(t0.Add(17 * time.Second)) {
		t.Errorf("NextExpiry = %v, want t0+17s", next)
	}
	if got := p.Expire(t0.Add(17*time.Second), nil); len(got) != 1 {
		t.Errorf("want the entry idle-expired at t0+17s, got %v", removedIDs(got))
	}
}

func TestModifyKeepsTimeoutsAndIdenticalAddRestartsThem(t *testing.T) {
	p := New()
	m := mt(exact(FieldInPort, 1))
	fm := addMod(0, 1, m, Output(1))
	fm.HardTimeout = 10
	mustAdd(t, p, fm)

	mod := delMod(FlowModify, 0, 0, m)
	mod.Instr = Instructions{Apply: []Action{Output(2)}, HasApply: true}
	if _, err := p.FlowMod(mod, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if next, _ := p.NextExpiry(nil); !next.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("after modify NextExpiry = %v, want t0+10s (duration kept)", next)
	}
	if _, err := p.FlowMod(fm, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if next, _ := p.NextExpiry(nil); !next.Equal(t0.Add(15 * time.Second)) {
		t.Errorf("after identical add NextExpiry = %v, want t0+15s (duration cleared)", next)
	}
	fm.HardTimeout = 0
	if _, err := p.FlowMod(fm, t0.Add(6*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.NextExpiry(nil); ok {
		t.Errorf("replacement without timeout still has a deadline")
	}
}
