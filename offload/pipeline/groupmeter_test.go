package pipeline

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGroupModErrors(t *testing.T) {
	ff := func(bs ...Bucket) *GroupMod {
		return &GroupMod{Command: GroupAdd, Type: GroupTypeFastFailover, ID: 10, Buckets: bs}
	}
	watch := func(port, group uint32) Bucket {
		b := bucket(Output(1))
		b.WatchPort, b.WatchGroup = port, group
		return b
	}
	tests := []struct {
		name string
		gm   *GroupMod
		want code
	}{
		{"add", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 10, Buckets: []Bucket{bucket(Output(1)), bucket(Output(2))}}, noError},
		{"add exists", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1}, code{ErrGroupModFailed, GroupModGroupExists}},
		{"add id above max", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: GroupMax + 1}, code{ErrGroupModFailed, GroupModInvalidGroup}},
		{"add OFPG_ALL", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: GroupAll}, code{ErrGroupModFailed, GroupModInvalidGroup}},
		{"modify unknown", &GroupMod{Command: GroupModify, Type: GroupTypeAll, ID: 10}, code{ErrGroupModFailed, GroupModUnknownGroup}},
		{"bad command", &GroupMod{Command: 7, ID: 10}, code{ErrGroupModFailed, GroupModBadCommand}},
		{"bad type", &GroupMod{Command: GroupAdd, Type: 9, ID: 10}, code{ErrGroupModFailed, GroupModBadType}},
		{"indirect no bucket", &GroupMod{Command: GroupAdd, Type: GroupTypeIndirect, ID: 10}, code{ErrGroupModFailed, GroupModInvalidGroup}},
		{"indirect two buckets", &GroupMod{Command: GroupAdd, Type: GroupTypeIndirect, ID: 10, Buckets: []Bucket{bucket(), bucket()}}, code{ErrGroupModFailed, GroupModInvalidGroup}},
		{"indirect one bucket", &GroupMod{Command: GroupAdd, Type: GroupTypeIndirect, ID: 10, Buckets: []Bucket{bucket(Output(1))}}, noError},
		{"ff without watch", ff(watch(PortAny, GroupAny)), code{ErrGroupModFailed, GroupModBadWatch}},
		{"ff watch port", ff(watch(3, GroupAny)), noError},
		{"ff watch port 0", ff(watch(0, GroupAny)), code{ErrGroupModFailed, GroupModBadWatch}},
		{"ff watch group", ff(watch(PortAny, 1)), noError},
		{"ff watch missing group", ff(watch(PortAny, 55)), code{ErrGroupModFailed, GroupModBadWatch}},
		{"ff watch itself", ff(watch(PortAny, 10)), code{ErrGroupModFailed, GroupModBadWatch}},
		{"bucket bad port", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 10, Buckets: []Bucket{bucket(Output(0))}}, code{ErrBadAction, BadActionBadOutPort}},
		{"bucket missing group", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 10, Buckets: []Bucket{bucket(groupAction(77))}}, code{ErrBadAction, BadActionBadOutGroup}},
		{"bucket set_field without match is fine", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 10, Buckets: []Bucket{bucket(setf(FieldIPv4Dst, 1), Output(1))}}, noError},
		{"chain to existing", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 10, Buckets: []Bucket{bucket(groupAction(1))}}, noError},
		{"self loop on add", &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 10, Buckets: []Bucket{bucket(groupAction(10))}}, code{ErrGroupModFailed, GroupModLoop}},
		{"self loop on modify", &GroupMod{Command: GroupModify, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(groupAction(1))}}, code{ErrGroupModFailed, GroupModLoop}},
		{"loop through chain", &GroupMod{Command: GroupModify, Type: GroupTypeIndirect, ID: 1, Buckets: []Bucket{bucket(groupAction(3))}}, code{ErrGroupModFailed, GroupModLoop}},
		{"delete chained", &GroupMod{Command: GroupDelete, ID: 1}, code{ErrGroupModFailed, GroupModChainedGroup}},
		{"delete missing", &GroupMod{Command: GroupDelete, ID: 12345}, noError},
		{"delete invalid id", &GroupMod{Command: GroupDelete, ID: GroupAny}, code{ErrGroupModFailed, GroupModInvalidGroup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			// 3 -> 2 -> 1
			mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(Output(1))}})
			mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeIndirect, ID: 2, Buckets: []Bucket{bucket(groupAction(1))}})
			mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeIndirect, ID: 3, Buckets: []Bucket{bucket(groupAction(2))}})
			before := p.Groups()
			ch, err := p.GroupMod(tt.gm, t0)
			if got := codeOf(t, err); got != tt.want {
				t.Fatalf("error = %+v (%v), want %+v", got, err, tt.want)
			}
			if err != nil {
				if len(ch.Added)+len(ch.Modified)+len(ch.Deleted)+len(ch.Removed) != 0 {
					t.Errorf("failed mod reports a change: %+v", ch)
				}
				if diff := cmp.Diff(before, p.Groups(), cmp.Comparer(func(a, b *Group) bool { return a == b })); diff != "" {
					t.Errorf("failed mod changed the groups (-before +after):\n%s", diff)
				}
			}
		})
	}
}

func TestGroupLifecycle(t *testing.T) {
	p := New()
	ch := mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 5, Buckets: []Bucket{bucket(Output(1)), bucket(Output(2))}})
	g := ch.Added[0]
	if g.Counters == nil || g.Buckets[0].Counters == nil || g.Buckets[0].Counters == g.Buckets[1].Counters {
		t.Fatalf("add must give the group and each bucket fresh counters: %+v", g)
	}
	if p.Group(5) != g {
		t.Errorf("Group(5) is not the added group")
	}
	g.Counters.Add(10, 1)

	ch = mustGroup(t, p, &GroupMod{Command: GroupModify, Type: GroupTypeSelect, ID: 5, Buckets: []Bucket{bucket(Output(3))}})
	if len(ch.Modified) != 1 || ch.Modified[0].Old != g {
		t.Fatalf("modify: %+v", ch)
	}
	n := ch.Modified[0].New
	if n.Counters != g.Counters || n.Type != GroupTypeSelect || len(n.Buckets) != 1 || n.Buckets[0].Counters == nil {
		t.Errorf("modify: want kept group counters, new type and buckets with counters; got %+v", n)
	}

	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 2})
	if got, want := []uint32{p.Groups()[0].ID, p.Groups()[1].ID}, []uint32{2, 5}; !cmp.Equal(got, want) {
		t.Errorf("Groups() order: %s", cmp.Diff(want, got))
	}
}

func TestGroupDeleteRemovesFlows(t *testing.T) {
	p := New()
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(Output(1))}})
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 2, Buckets: []Bucket{bucket(Output(2))}})
	a := mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 1)), groupAction(1)))
	wb := addMod(0, 1, mt(exact(FieldInPort, 2)))
	wb.Instr = Instructions{Write: []Action{groupAction(1)}, HasWrite: true}
	b := mustAdd(t, p, wb)
	c := mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 3)), groupAction(2)))
	mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 4)), Output(1)))

	ch := mustGroup(t, p, &GroupMod{Command: GroupDelete, ID: 1})
	want := []string{
		removedIDs([]Removal{{Flow: a, Reason: RemovedGroupDelete}})[0],
		removedIDs([]Removal{{Flow: b, Reason: RemovedGroupDelete}})[0],
	}
	if diff := cmp.Diff(want, removedIDs(ch.Removed)); diff != "" {
		t.Errorf("removed flows (-want +got):\n%s", diff)
	}
	if len(ch.Deleted) != 1 || ch.Deleted[0].ID != 1 || p.Group(1) != nil {
		t.Errorf("group 1 not removed: %+v", ch)
	}

	ch = mustGroup(t, p, &GroupMod{Command: GroupDelete, ID: GroupAll})
	if diff := cmp.Diff([]string{removedIDs([]Removal{{Flow: c, Reason: RemovedGroupDelete}})[0]}, removedIDs(ch.Removed)); diff != "" {
		t.Errorf("OFPG_ALL removed flows (-want +got):\n%s", diff)
	}
	if len(p.Groups()) != 0 || p.FlowCount(0) != 1 {
		t.Errorf("after OFPG_ALL: %d groups, %d flows; want 0, 1", len(p.Groups()), p.FlowCount(0))
	}
}

func TestGroupDeleteAllWithChains(t *testing.T) {
	p := New()
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1})
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeIndirect, ID: 2, Buckets: []Bucket{bucket(groupAction(1))}})
	ch := mustGroup(t, p, &GroupMod{Command: GroupDelete, ID: GroupAll})
	if len(ch.Deleted) != 2 || len(p.Groups()) != 0 {
		t.Errorf("OFPG_ALL: deleted %d, left %d", len(ch.Deleted), len(p.Groups()))
	}
	// With the chain gone, group 1 can be re-added and deleted alone.
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1})
	mustGroup(t, p, &GroupMod{Command: GroupDelete, ID: 1})
}

func TestMeterModErrors(t *testing.T) {
	drop := []Band{{Type: BandDrop, Rate: 1000}}
	tests := []struct {
		name string
		mm   *MeterMod
		want code
	}{
		{"add", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps, Bands: drop}, noError},
		{"add pktps burst stats", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterPktps | MeterBurst | MeterStats, Bands: drop}, noError},
		{"add exists", &MeterMod{Command: MeterAdd, ID: 1, Flags: MeterKbps, Bands: drop}, code{ErrMeterModFailed, MeterModMeterExists}},
		{"add id 0", &MeterMod{Command: MeterAdd, ID: 0, Flags: MeterKbps, Bands: drop}, code{ErrMeterModFailed, MeterModInvalidMeter}},
		{"add above max", &MeterMod{Command: MeterAdd, ID: MeterMax + 1, Flags: MeterKbps, Bands: drop}, code{ErrMeterModFailed, MeterModInvalidMeter}},
		{"add controller meter", &MeterMod{Command: MeterAdd, ID: MeterController, Flags: MeterKbps, Bands: drop}, code{ErrMeterModFailed, MeterModInvalidMeter}},
		{"modify unknown", &MeterMod{Command: MeterModify, ID: 2, Flags: MeterKbps, Bands: drop}, code{ErrMeterModFailed, MeterModUnknownMeter}},
		{"bad command", &MeterMod{Command: 5, ID: 2}, code{ErrMeterModFailed, MeterModBadCommand}},
		{"no rate unit", &MeterMod{Command: MeterAdd, ID: 2, Bands: drop}, code{ErrMeterModFailed, MeterModBadFlags}},
		{"both rate units", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps | MeterPktps, Bands: drop}, code{ErrMeterModFailed, MeterModBadFlags}},
		{"unknown flag", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps | 1<<6, Bands: drop}, code{ErrMeterModFailed, MeterModBadFlags}},
		{"no band", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps}, code{ErrMeterModFailed, MeterModBadBand}},
		{"rate 0", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps, Bands: []Band{{Type: BandDrop}}}, code{ErrMeterModFailed, MeterModBadRate}},
		{"unknown band", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps, Bands: []Band{{Type: 0xffff, Rate: 1}}}, code{ErrMeterModFailed, MeterModBadBand}},
		{"dscp remark", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps, Bands: []Band{{Type: BandDSCPRemark, Rate: 1, PrecLevel: 1}}}, noError},
		{"dscp remark prec 0", &MeterMod{Command: MeterAdd, ID: 2, Flags: MeterKbps, Bands: []Band{{Type: BandDSCPRemark, Rate: 1}}}, code{ErrMeterModFailed, MeterModBadBandValue}},
		{"delete missing", &MeterMod{Command: MeterDelete, ID: 99}, noError},
		{"delete id 0", &MeterMod{Command: MeterDelete, ID: 0}, code{ErrMeterModFailed, MeterModInvalidMeter}},
		{"delete all", &MeterMod{Command: MeterDelete, ID: MeterAll}, noError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			mustMeter(t, p, &MeterMod{Command: MeterAdd, ID: 1, Flags: MeterKbps, Bands: drop})
			ch, err := p.MeterMod(tt.mm, t0)
			if got := codeOf(t, err); got != tt.want {
				t.Fatalf("error = %+v (%v), want %+v", got, err, tt.want)
			}
			if err != nil && (len(ch.Added)+len(ch.Modified)+len(ch.Deleted)+len(ch.Removed) != 0 || len(p.Meters()) != 1) {
				t.Errorf("failed mod changed the meters: %+v", ch)
			}
		})
	}
}

func TestMeterLifecycle(t *testing.T) {
	p := New()
	ch := mustMeter(t, p, &MeterMod{Command: MeterAdd, ID: 3, Flags: MeterKbps, Bands: []Band{{Type: BandDrop, Rate: 10}}})
	m := ch.Added[0]
	if m.Counters == nil || m.Bands[0].Counters == nil || p.Meter(3) != m {
		t.Fatalf("add: %+v", m)
	}
	mch := mustMeter(t, p, &MeterMod{Command: MeterModify, ID: 3, Flags: MeterPktps, Bands: []Band{{Type: BandDrop, Rate: 20}}})
	n := mch.Modified[0].New
	if mch.Modified[0].Old != m || n.Counters != m.Counters || n.Bands[0].Rate != 20 || n.Bands[0].Counters == m.Bands[0].Counters {
		t.Errorf("modify: want kept meter counters and new bands, got %+v", n)
	}
	mustMeter(t, p, &MeterMod{Command: MeterAdd, ID: 1, Flags: MeterKbps, Bands: []Band{{Type: BandDrop, Rate: 10}}})
	if got, want := []uint32{p.Meters()[0].ID, p.Meters()[1].ID}, []uint32{1, 3}; !cmp.Equal(got, want) {
		t.Errorf("Meters() order: %s", cmp.Diff(want, got))
	}

	withMeter := func(id uint32, port uint64) *FlowMod {
		fm := addMod(0, 1, mt(exact(FieldInPort, port)), Output(9))
		fm.Instr.Meter = id
		return fm
	}
	f3 := mustAdd(t, p, withMeter(3, 1))
	f1 := mustAdd(t, p, withMeter(1, 2))
	mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 3)), Output(9)))

	dch := mustMeter(t, p, &MeterMod{Command: MeterDelete, ID: 3})
	if diff := cmp.Diff([]string{removedIDs([]Removal{{Flow: f3, Reason: RemovedMeterDelete}})[0]}, removedIDs(dch.Removed)); diff != "" {
		t.Errorf("meter 3 delete removed (-want +got):\n%s", diff)
	}
	dch = mustMeter(t, p, &MeterMod{Command: MeterDelete, ID: MeterAll})
	if diff := cmp.Diff([]string{removedIDs([]Removal{{Flow: f1, Reason: RemovedMeterDelete}})[0]}, removedIDs(dch.Removed)); diff != "" {
		t.Errorf("OFPM_ALL removed (-want +got):\n%s", diff)
	}
	if len(p.Meters()) != 0 || p.FlowCount(0) != 1 {
		t.Errorf("after OFPM_ALL: %d meters, %d flows; want 0, 1", len(p.Meters()), p.FlowCount(0))
	}
}

func TestRefCounts(t *testing.T) {
	p := New()
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(Output(1))}})
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 2, Buckets: []Bucket{bucket(groupAction(1)), bucket(groupAction(1))}})
	mustMeter(t, p, &MeterMod{Command: MeterAdd, ID: 1, Flags: MeterKbps, Bands: []Band{{Type: BandDrop, Rate: 1}}})
	fm := addMod(0, 1, mt(exact(FieldInPort, 1)), groupAction(1))
	fm.Instr.Meter = 1
	mustAdd(t, p, fm)
	w := addMod(0, 1, mt(exact(FieldInPort, 2)))
	w.Instr = Instructions{Write: []Action{groupAction(1)}, HasWrite: true, Meter: 1}
	mustAdd(t, p, w)
	mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 3)), groupAction(2)))

	got := []int{p.GroupRefs(1), p.GroupRefs(2), p.GroupRefs(3), p.MeterRefs(1), p.MeterRefs(2)}
	want := []int{3, 1, 0, 2, 0} // group 1: two flows and group 2 (once)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GroupRefs 1,2,3 and MeterRefs 1,2 (-want +got):\n%s", diff)
	}
}

// A group's and a meter's creation time is the time of the ADD; a MODIFY
// keeps it (Open vSwitch does the same), a delete and a new ADD start over.
func TestCreatedTimes(t *testing.T) {
	p := New()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	gadd := &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(Output(1))}}
	madd := &MeterMod{Command: MeterAdd, ID: 1, Flags: MeterKbps, Bands: []Band{{Type: BandDrop, Rate: 10}}}
	step := func(gm *GroupMod, mm *MeterMod, now time.Time) {
		t.Helper()
		if _, err := p.GroupMod(gm, now); err != nil {
			t.Fatal(err)
		}
		if _, err := p.MeterMod(mm, now); err != nil {
			t.Fatal(err)
		}
	}
	step(gadd, madd, at(1))
	step(&GroupMod{Command: GroupModify, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(Output(2))}},
		&MeterMod{Command: MeterModify, ID: 1, Flags: MeterPktps, Bands: []Band{{Type: BandDrop, Rate: 5}}}, at(5))
	got := []time.Time{p.groups[1].Created, p.Meter(1).Created}
	if diff := cmp.Diff([]time.Time{at(1), at(1)}, got); diff != "" {
		t.Errorf("created after modify (-want +got):\n%s", diff)
	}
	step(&GroupMod{Command: GroupDelete, ID: 1}, &MeterMod{Command: MeterDelete, ID: 1}, at(6))
	step(gadd, madd, at(7))
	got = []time.Time{p.groups[1].Created, p.Meter(1).Created}
	if diff := cmp.Diff([]time.Time{at(7), at(7)}, got); diff != "" {
		t.Errorf("created after delete and add (-want +got):\n%s", diff)
	}
}

func TestMeterBurst(t *testing.T) {
	band := Band{Type: BandDrop, Rate: 1000, BurstSize: 50}
	tests := []struct {
		flags uint16
		size  uint32
		want  uint32
	}{
		{MeterKbps, 50, 1000},              // no OFPMF_BURST: one second at the rate
		{MeterKbps | MeterBurst, 50, 50},   // its own
		{MeterPktps | MeterBurst, 0, 1000}, // burst flag without a size: the default
	}
	for _, tt := range tests {
		b := band
		b.BurstSize = tt.size
		m := &Meter{Flags: tt.flags, Bands: []Band{b}}
		if got := m.Burst(&m.Bands[0]); got != tt.want {
			t.Errorf("flags %#x burst_size %d: Burst = %d, want %d", tt.flags, tt.size, got, tt.want)
		}
	}
}
