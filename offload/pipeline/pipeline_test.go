package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSnapshotOrder(t *testing.T) {
	p := New()
	var want []uint64
	add := func(prio uint16, port uint64) uint64 {
		return mustAdd(t, p, addMod(0, prio, mt(exact(FieldInPort, port)))).ID
	}
	a := add(10, 1) // 1
	b := add(30, 2) // 2
	c := add(10, 3) // 3
	d := add(20, 4) // 4
	e := add(30, 5) // 5
	want = []uint64{b, e, d, a, c}
	if diff := cmp.Diff(want, ids(p.Snapshot().Table(0))); diff != "" {
		t.Errorf("table 0 order (-want +got):\n%s", diff)
	}
	mustFlow(t, p, delMod(FlowDeleteStrict, 0, 20, mt(exact(FieldInPort, 4))))
	want = []uint64{b, e, a, c}
	if diff := cmp.Diff(want, ids(p.Snapshot().Table(0))); diff != "" {
		t.Errorf("after delete (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, ids(p.Flows(nil))); diff != "" {
		t.Errorf("Flows(nil) (-want +got):\n%s", diff)
	}
}

func TestSnapshotCaching(t *testing.T) {
	p := New()
	f1 := mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 1)), Output(2)))
	mustAdd(t, p, addMod(1, 1, mt(exact(FieldInPort, 1)), Output(2)))
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1})

	s1 := p.Snapshot()
	if s2 := p.Snapshot(); s2 != s1 {
		t.Errorf("Snapshot with no change in between returned a new snapshot")
	}
	if len(s1.Table(0)) != 1 || len(s1.Table(1)) != 1 || s1.Groups[1] == nil || s1.Meters == nil {
		t.Fatalf("first snapshot incomplete: %+v", s1)
	}

	// A modify in table 0: table 1 and the groups are shared, table 0 is new,
	// and s1 still shows the old entry.
	mod := delMod(FlowModifyStrict, 0, 1, f1.Match)
	mod.Instr = Instructions{Apply: []Action{Output(3)}, HasApply: true}
	mustFlow(t, p, mod)
	s3 := p.Snapshot()
	if s3 == s1 {
		t.Fatal("Snapshot after a modify returned the old snapshot")
	}
	if s1.Table(0)[0] != f1 || s1.Table(0)[0].Instr.Apply[0].Port != 2 {
		t.Errorf("old snapshot changed: %+v", s1.Table(0)[0])
	}
	if s3.Table(0)[0].Instr.Apply[0].Port != 3 {
		t.Errorf("new snapshot misses the modify: %+v", s3.Table(0)[0])
	}
	if !s3.SameTable(s1, 1) || &s3.Table(1)[0] != &s1.Table(1)[0] {
		t.Errorf("unchanged table 1 was copied")
	}
	if s3.SameTable(s1, 0) {
		t.Errorf("changed table 0 is the old snapshot's")
	}
	if len(s3.Groups) != 1 || s3.Groups[1] != s1.Groups[1] {
		t.Errorf("groups differ after a flow mod")
	}

	// Adds, deletes and group changes leave earlier snapshots alone too.
	mustAdd(t, p, addMod(0, 5, mt(exact(FieldInPort, 9))))
	mustFlow(t, p, delMod(FlowDelete, 1, 0, Match{}))
	mustGroup(t, p, &GroupMod{Command: GroupDelete, ID: GroupAll})
	mustMeter(t, p, &MeterMod{Command: MeterAdd, ID: 1, Flags: MeterKbps, Bands: []Band{{Type: BandDrop, Rate: 1}}})
	s4 := p.Snapshot()
	if len(s3.Table(0)) != 1 || len(s3.Table(1)) != 1 || len(s3.Groups) != 1 || len(s3.Meters) != 0 {
		t.Errorf("old snapshot changed: tables %d/%d groups %d meters %d", len(s3.Table(0)), len(s3.Table(1)), len(s3.Groups), len(s3.Meters))
	}
	if len(s4.Table(0)) != 2 || len(s4.Table(1)) != 0 || len(s4.Groups) != 0 || len(s4.Meters) != 1 {
		t.Errorf("new snapshot: tables %d/%d groups %d meters %d; want 2/0, 0, 1", len(s4.Table(0)), len(s4.Table(1)), len(s4.Groups), len(s4.Meters))
	}

	// A failed mod or a mod that selects nothing changes nothing.
	if _, err := p.FlowMod(addMod(0, 1, Match{}, Output(0)), t0); err == nil {
		t.Fatal("output to port 0 accepted")
	}
	mustFlow(t, p, delMod(FlowDelete, 7, 0, Match{}))
	if p.Snapshot() != s4 {
		t.Errorf("Snapshot changed after mods that changed nothing")
	}
}
