package pipeline

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAddAssignsIDsAndCounters(t *testing.T) {
	p := New()
	a := mustAdd(t, p, addMod(0, 10, mt(exact(FieldInPort, 1)), Output(2)))
	b := mustAdd(t, p, addMod(0, 10, mt(exact(FieldInPort, 2)), Output(1)))
	c := mustAdd(t, p, addMod(3, 10, mt(exact(FieldInPort, 2)), Output(1)))
	if got, want := ids([]*Flow{a, b, c}), []uint64{1, 2, 3}; !cmp.Equal(got, want) {
		t.Errorf("IDs: %s", cmp.Diff(want, got))
	}
	if a.Counters == nil || a.Counters == b.Counters {
		t.Errorf("every new flow needs its own Counters: a=%p b=%p", a.Counters, b.Counters)
	}
	if !a.Added.Equal(t0) {
		t.Errorf("Added = %v, want %v", a.Added, t0)
	}
	if got := p.FlowCount(0); got != 2 {
		t.Errorf("FlowCount(0) = %d, want 2", got)
	}
	if got := p.FlowCount(TableAll); got != 3 {
		t.Errorf("FlowCount(TableAll) = %d, want 3", got)
	}
	if p.Flow(3) != c {
		t.Errorf("Flow(3) = %v, want the table-3 flow", p.Flow(3))
	}
}

func TestAddCopiesInstructions(t *testing.T) {
	p := New()
	fm := addMod(0, 1, Match{}, Output(1))
	f := mustAdd(t, p, fm)
	fm.Instr.Apply[0].Port = 9
	if f.Instr.Apply[0].Port != 1 {
		t.Errorf("flow aliases the mod's action slice: port %d", f.Instr.Apply[0].Port)
	}
}

func TestAddIdenticalReplaces(t *testing.T) {
	for _, reset := range []bool{false, true} {
		name := "keep counters"
		if reset {
			name = "reset counts"
		}
		t.Run(name, func(t *testing.T) {
			p := New()
			m := mt(ipv4Type, exact(FieldIPv4Dst, 0x0a000001))
			old := mustAdd(t, p, addMod(0, 5, m, Output(1)))
			old.Counters.Add(100, 1)

			fm := addMod(0, 5, m, Output(2))
			fm.Cookie, fm.IdleTimeout, fm.Flags = 0x77, 9, FlagSendFlowRem
			if reset {
				fm.Flags |= FlagResetCounts
			}
			later := t0.Add(time.Minute)
			ch, err := p.FlowMod(fm, later)
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Added) != 0 || len(ch.Removed) != 0 || len(ch.Modified) != 1 {
				t.Fatalf("identical add: want one modification, got %+v", ch)
			}
			nf := ch.Modified[0].New
			if ch.Modified[0].Old != old {
				t.Errorf("Old is not the replaced flow")
			}
			if nf.ID != old.ID || nf.Cookie != 0x77 || nf.IdleTimeout != 9 || !nf.Added.Equal(later) || nf.Instr.Apply[0].Port != 2 {
				t.Errorf("replacement = %+v, want same ID, the mod's cookie, timeout, actions and Added=now", nf)
			}
			if got := nf.Counters == old.Counters; got == reset {
				t.Errorf("counters shared = %v with RESET_COUNTS=%v", got, reset)
			}
			if got := p.FlowCount(0); got != 1 {
				t.Errorf("FlowCount = %d, want 1", got)
			}
			if p.Flow(old.ID) != nf {
				t.Errorf("table does not hold the replacement")
			}
		})
	}
}

func TestAddSameMatchOtherPriorityIsNewEntry(t *testing.T) {
	p := New()
	m := mt(exact(FieldInPort, 1))
	mustAdd(t, p, addMod(0, 5, m))
	mustAdd(t, p, addMod(0, 6, m))
	if got := p.FlowCount(0); got != 2 {
		t.Errorf("FlowCount = %d, want 2", got)
	}
}

func TestCheckOverlap(t *testing.T) {
	existing := mt(ipv4Type, masked(FieldIPv4Dst, 0x0a000000, 0xff000000)) // 10/8
	tests := []struct {
		name  string
		prio  uint16
		match Match
		flags uint16
		want  code
	}{
		{"overlapping same priority", 5, mt(ipv4Type, exact(FieldIPv4Dst, 0x0a010101)), FlagCheckOverlap, code{ErrFlowModFailed, FlowModOverlap}},
		{"wildcard overlaps", 5, Match{}, FlagCheckOverlap, code{ErrFlowModFailed, FlowModOverlap}},
		{"other priority", 6, mt(ipv4Type, exact(FieldIPv4Dst, 0x0a010101)), FlagCheckOverlap, noError},
		{"disjoint", 5, mt(ipv4Type, exact(FieldIPv4Dst, 0x0b010101)), FlagCheckOverlap, noError},
		{"other eth_type", 5, mt(exact(FieldEthType, EthTypeARP)), FlagCheckOverlap, noError},
		{"identical replaces", 5, existing, FlagCheckOverlap, noError},
		{"no flag", 5, mt(ipv4Type, exact(FieldIPv4Dst, 0x0a010101)), 0, noError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			mustAdd(t, p, addMod(0, 5, existing))
			fm := addMod(0, tt.prio, tt.match)
			fm.Flags = tt.flags
			_, err := p.FlowMod(fm, t0)
			if got := codeOf(t, err); got != tt.want {
				t.Errorf("error = %+v (%v), want %+v", got, err, tt.want)
			}
			wantCount := 2
			if tt.want != noError || tt.name == "identical replaces" {
				wantCount = 1
			}
			if got := p.FlowCount(0); got != wantCount {
				t.Errorf("FlowCount = %d, want %d", got, wantCount)
			}
		})
	}
}

// fixture is a pipeline with a known set of flows, by name.
type fixture struct {
	p     *Pipeline
	flows map[string]*Flow
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{p: New(), flows: map[string]*Flow{}}
	g := &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 7, Buckets: []Bucket{bucket(Output(3))}}
	mustGroup(t, fx.p, g)
	add := func(name string, fm *FlowMod, cookie uint64) {
		fm.Cookie = cookie
		fx.flows[name] = mustAdd(t, fx.p, fm)
	}
	web := mt(ipv4Type, exact(FieldIPProto, ProtoTCP), exact(FieldTCPDst, 80))
	add("web", addMod(0, 100, web, Output(1)), 0x1001)
	add("ipv4", addMod(0, 50, mt(ipv4Type), Output(2)), 0x1002)
	add("ipv4-hi", addMod(0, 60, mt(ipv4Type), groupAction(7)), 0x2001)
	add("miss", addMod(0, 0, Match{}, Output(PortController)), 0x2002)
	w := addMod(1, 10, mt(ipv4Type))
	w.Instr = Instructions{Write: []Action{Output(1)}, HasWrite: true}
	add("t1-write", w, 0x1003)
	return fx
}

func (fx *fixture) names(fs []*Flow) []string {
	out := []string{}
	for _, f := range fs {
		for n, g := range fx.flows {
			if g.ID == f.ID {
				out = append(out, n)
			}
		}
	}
	return out
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name string
		fm   FlowMod
		want []string // removed, in order
	}{
		{"all of table 0", FlowMod{Command: FlowDelete, Table: 0}, []string{"web", "ipv4-hi", "ipv4", "miss"}},
		{"non-strict covers", FlowMod{Command: FlowDelete, Table: 0, Match: mt(ipv4Type)}, []string{"web", "ipv4-hi", "ipv4"}},
		{"non-strict ignores priority", FlowMod{Command: FlowDelete, Table: 0, Priority: 50, Match: mt(ipv4Type)}, []string{"web", "ipv4-hi", "ipv4"}},
		{"non-strict more specific selects nothing", FlowMod{Command: FlowDelete, Table: 0, Match: mt(ipv4Type, exact(FieldIPProto, ProtoUDP))}, []string{}},
		{"strict", FlowMod{Command: FlowDeleteStrict, Table: 0, Priority: 50, Match: mt(ipv4Type)}, []string{"ipv4"}},
		{"strict wrong priority", FlowMod{Command: FlowDeleteStrict, Table: 0, Priority: 51, Match: mt(ipv4Type)}, []string{}},
		{"strict all tables", FlowMod{Command: FlowDeleteStrict, Table: TableAll, Priority: 10, Match: mt(ipv4Type)}, []string{"t1-write"}},
		{"table all", FlowMod{Command: FlowDelete, Table: TableAll}, []string{"web", "ipv4-hi", "ipv4", "miss", "t1-write"}},
		{"cookie mask", FlowMod{Command: FlowDelete, Table: TableAll, Cookie: 0x1000, CookieMask: 0xf000}, []string{"web", "ipv4", "t1-write"}},
		{"cookie exact", FlowMod{Command: FlowDelete, Table: TableAll, Cookie: 0x2002, CookieMask: ^uint64(0)}, []string{"miss"}},
		{"cookie without mask is ignored", FlowMod{Command: FlowDelete, Table: 1, Cookie: 0x9999}, []string{"t1-write"}},
		{"out_port in apply", FlowMod{Command: FlowDelete, Table: 0, OutPort: 1}, []string{"web"}},
		{"out_port in write", FlowMod{Command: FlowDelete, Table: TableAll, OutPort: 1}, []string{"web", "t1-write"}},
		{"out_port controller", FlowMod{Command: FlowDelete, Table: TableAll, OutPort: PortController}, []string{"miss"}},
		{"out_group", FlowMod{Command: FlowDelete, Table: TableAll, OutGroup: 7}, []string{"ipv4-hi"}},
		{"out_port and out_group", FlowMod{Command: FlowDelete, Table: TableAll, OutPort: 1, OutGroup: 7}, []string{}},
		{"strict with out_port", FlowMod{Command: FlowDeleteStrict, Table: 0, Priority: 50, Match: mt(ipv4Type), OutPort: 9}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			fm := tt.fm
			if fm.OutPort == 0 {
				fm.OutPort = PortAny
			}
			if fm.OutGroup == 0 {
				fm.OutGroup = GroupAny
			}
			before := fx.p.FlowCount(TableAll)
			ch := mustFlow(t, fx.p, &fm)
			var removed []*Flow
			for _, r := range ch.Removed {
				if r.Reason != RemovedDelete {
					t.Errorf("reason %d, want RemovedDelete", r.Reason)
				}
				removed = append(removed, r.Flow)
			}
			if diff := cmp.Diff(tt.want, fx.names(removed)); diff != "" {
				t.Errorf("removed (-want +got):\n%s", diff)
			}
			if got, want := fx.p.FlowCount(TableAll), before-len(tt.want); got != want {
				t.Errorf("FlowCount after = %d, want %d", got, want)
			}
			for _, f := range removed {
				if fx.p.Flow(f.ID) != nil {
					t.Errorf("flow %d still present", f.ID)
				}
			}
		})
	}
}

func TestModify(t *testing.T) {
	newInstr := Instructions{Apply: []Action{Output(9)}, HasApply: true}
	tests := []struct {
		name string
		fm   FlowMod
		want []string // modified, in order
	}{
		{"non-strict", FlowMod{Command: FlowModify, Table: 0, Match: mt(ipv4Type)}, []string{"web", "ipv4-hi", "ipv4"}},
		{"strict", FlowMod{Command: FlowModifyStrict, Table: 0, Priority: 60, Match: mt(ipv4Type)}, []string{"ipv4-hi"}},
		{"strict needs exact match", FlowMod{Command: FlowModifyStrict, Table: 0, Priority: 100, Match: mt(ipv4Type)}, []string{}},
		{"cookie mask", FlowMod{Command: FlowModify, Table: 0, Cookie: 0x2000, CookieMask: 0xf000}, []string{"ipv4-hi", "miss"}},
		{"out_port ignored", FlowMod{Command: FlowModify, Table: 1, OutPort: 77, OutGroup: 77}, []string{"t1-write"}},
		{"nothing selected adds nothing", FlowMod{Command: FlowModify, Table: 2}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			before := fx.p.FlowCount(TableAll)
			fm := tt.fm
			fm.Instr = newInstr
			if fm.OutPort == 0 {
				fm.OutPort, fm.OutGroup = PortAny, GroupAny
			}
			ch := mustFlow(t, fx.p, &fm)
			if len(ch.Added) != 0 || len(ch.Removed) != 0 {
				t.Errorf("modify added or removed: %+v", ch)
			}
			var got []*Flow
			for _, m := range ch.Modified {
				o, n := m.Old, m.New
				got = append(got, o)
				if n.ID != o.ID || n.Cookie != o.Cookie || n.Counters != o.Counters || n.Flags != o.Flags ||
					n.IdleTimeout != o.IdleTimeout || !n.Added.Equal(o.Added) || n.Match != o.Match || n.Priority != o.Priority {
					t.Errorf("modify changed more than instructions: old %+v new %+v", o, n)
				}
				if diff := cmp.Diff(newInstr, *n.Instr); diff != "" {
					t.Errorf("instructions (-want +got):\n%s", diff)
				}
				if fx.p.Flow(n.ID) != n {
					t.Errorf("table does not hold the new flow %d", n.ID)
				}
			}
			if diff := cmp.Diff(tt.want, fx.names(got)); diff != "" {
				t.Errorf("modified (-want +got):\n%s", diff)
			}
			if after := fx.p.FlowCount(TableAll); after != before {
				t.Errorf("FlowCount %d -> %d", before, after)
			}
		})
	}
}

func TestModifyKeepsCookieAndResetCounts(t *testing.T) {
	p := New()
	fm := addMod(0, 5, mt(exact(FieldInPort, 1)), Output(2))
	fm.Cookie, fm.HardTimeout = 0xabc, 30
	f := mustAdd(t, p, fm)
	f.Counters.Add(64, 1)

	mod := delMod(FlowModifyStrict, 0, 5, fm.Match)
	mod.Cookie = 0xdef // no mask: not a filter, and never written
	mod.Instr = Instructions{Apply: []Action{Output(3)}, HasApply: true}
	ch := mustFlow(t, p, mod)
	if len(ch.Modified) != 1 {
		t.Fatalf("want 1 modified, got %+v", ch)
	}
	n := ch.Modified[0].New
	if n.Cookie != 0xabc || n.HardTimeout != 30 || n.Counters != f.Counters {
		t.Errorf("modify: cookie %#x hard %d counters shared %v; want 0xabc, 30, true", n.Cookie, n.HardTimeout, n.Counters == f.Counters)
	}

	mod.Flags = FlagResetCounts
	ch = mustFlow(t, p, mod)
	n2 := ch.Modified[0].New
	if n2.Counters == f.Counters || n2.Counters.Packets.Load() != 0 {
		t.Errorf("RESET_COUNTS kept the counters")
	}
	if n2.Flags != 0 {
		t.Errorf("modify changed flags to %#x", n2.Flags)
	}
}

func TestFlowsFilter(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		name string
		f    *FlowFilter
		want []string
	}{
		{"nil", nil, []string{"web", "ipv4-hi", "ipv4", "miss", "t1-write"}},
		{"table 1", &FlowFilter{Table: 1, OutPort: PortAny, OutGroup: GroupAny}, []string{"t1-write"}},
		{"covers", &FlowFilter{Table: TableAll, OutPort: PortAny, OutGroup: GroupAny, Match: mt(ipv4Type, exact(FieldIPProto, ProtoTCP))}, []string{"web"}},
		{"out_port", &FlowFilter{Table: TableAll, OutPort: 2, OutGroup: GroupAny}, []string{"ipv4"}},
		{"out_group", &FlowFilter{Table: TableAll, OutPort: PortAny, OutGroup: 7}, []string{"ipv4-hi"}},
		{"cookie", &FlowFilter{Table: TableAll, OutPort: PortAny, OutGroup: GroupAny, Cookie: 0x2000, CookieMask: 0xff00}, []string{"ipv4-hi", "miss"}},
		{"bad table", &FlowFilter{Table: 40, OutPort: PortAny, OutGroup: GroupAny}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fx.names(fx.p.Flows(tt.f))); diff != "" {
				t.Errorf("Flows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableFull(t *testing.T) {
	p := NewWithOptions(Options{MaxFlowsPerTable: 2})
	mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 1))))
	mustAdd(t, p, addMod(0, 1, mt(exact(FieldInPort, 2))))
	_, err := p.FlowMod(addMod(0, 1, mt(exact(FieldInPort, 3))), t0)
	if got, want := codeOf(t, err), (code{ErrFlowModFailed, FlowModTableFull}); got != want {
		t.Errorf("third add: %+v, want %+v", got, want)
	}
	// Replacing an identical entry and adding to another table still work.
	mustFlow(t, p, addMod(0, 1, mt(exact(FieldInPort, 2)), Output(5)))
	mustAdd(t, p, addMod(1, 1, mt(exact(FieldInPort, 3))))
}
