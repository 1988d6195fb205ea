package pipeline

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// tableModel is a pipeline's tables kept the simple way: each table one
// list in table order (priority descending, then ID ascending).
type tableModel map[uint8][]*Flow

func (m tableModel) clone() tableModel {
	c := tableModel{}
	for t, fs := range m {
		c[t] = slices.Clone(fs)
	}
	return c
}

// apply records what a mod changed.
func (m tableModel) apply(t *testing.T, table uint8, ch Change) {
	t.Helper()
	for _, f := range ch.Added {
		i, _ := slices.BinarySearchFunc(m[table], f, func(a, b *Flow) int {
			if a.Priority != b.Priority {
				return int(b.Priority) - int(a.Priority)
			}
			return int(a.ID) - int(b.ID)
		})
		m[table] = slices.Insert(m[table], i, f)
	}
	for _, mo := range ch.Modified {
		i := slices.Index(m[table], mo.Old)
		if i < 0 {
			t.Fatalf("modified entry %d not in the model", mo.Old.ID)
		}
		m[table][i] = mo.New
	}
	for _, rm := range ch.Removed {
		m[table] = slices.DeleteFunc(m[table], func(f *Flow) bool { return f == rm.Flow })
	}
}

// check compares a snapshot with the model.
func (m tableModel) check(t *testing.T, what string, s *Snapshot) {
	t.Helper()
	for tb := range uint8(2) {
		if !slices.Equal(s.Table(tb), m[tb]) || s.TableLen(tb) != len(m[tb]) {
			t.Fatalf("%s: table %d has %d entries (len %d) unlike the model's %d", what, tb, len(s.Table(tb)), s.TableLen(tb), len(m[tb]))
		}
	}
}

// randomMod returns a random add, strict modify, strict or non-strict
// delete over a few priorities and matches in tables 0 and 1.
func randomMod(rng *rand.Rand) *FlowMod {
	prios := []uint16{0, 5, 100, 100, 100, 65535}
	m := mt(ipv4Type, exact(FieldIPv4Dst, uint64(0x0a000000+rng.IntN(40))))
	if rng.IntN(8) == 0 {
		m = mt(ipv4Type)
	}
	fm := addMod(uint8(rng.IntN(2)), prios[rng.IntN(len(prios))], m, Output(uint32(1+rng.IntN(4))))
	switch r := rng.IntN(10); {
	case r < 6:
	case r < 7:
		fm.Command = FlowModifyStrict
	case r < 9:
		fm.Command = FlowDeleteStrict
	default:
		fm.Command = FlowDelete // every entry the match covers, any priority
	}
	return fm
}

// step applies a random mod to p and the model and checks them.
func step(t *testing.T, rng *rand.Rand, p *Pipeline, m tableModel, what string) {
	t.Helper()
	fm := randomMod(rng)
	ch, err := p.FlowMod(fm, t0)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	m.apply(t, fm.Table, ch)
	// The tables as the pipeline iterates them; snapshots are checked by
	// the callers (a snapshot laid out now would hide what later mods do
	// to the runs it shares).
	for tb := range uint8(2) {
		if got := p.Flows(&FlowFilter{Table: tb, OutPort: PortAny, OutGroup: GroupAny}); !slices.Equal(got, m[tb]) {
			t.Fatalf("%s: table %d has %d entries unlike the model's %d", what, tb, len(got), len(m[tb]))
		}
	}
	for tb := range uint8(2) {
		if p.FlowCount(tb) != len(m[tb]) {
			t.Fatalf("%s: FlowCount(%d) = %d, want %d", what, tb, p.FlowCount(tb), len(m[tb]))
		}
	}
	for _, f := range m[fm.Table] {
		if got := p.tables[fm.Table].keys.get(f.Priority, &f.Match); got != f {
			t.Fatalf("%s: strict lookup of entry %d found %v", what, f.ID, got)
		}
	}
}

// TestTableAgainstASortedList runs random mods on a pipeline and on the
// model: after every mod the snapshot's tables, the counts and the strict
// lookups must agree, and every snapshot taken along the way must still
// show the tables as they were (the runs a snapshot shares are copied
// before the pipeline writes into them).
func TestTableAgainstASortedList(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	p := New()
	m := tableModel{}
	type kept struct {
		s *Snapshot
		m tableModel
	}
	var old []kept
	for i := range 20000 {
		step(t, rng, p, m, "step")
		if i%97 == 0 {
			s := p.Snapshot()
			if i%2 == 0 {
				s.Table(0) // laid out now, table 1 and the odd ones later
			}
			old = append(old, kept{s, m.clone()})
		}
		if i%1000 == 999 {
			m.check(t, "a fresh snapshot", p.Snapshot())
		}
	}
	for _, k := range old {
		k.m.check(t, "an earlier snapshot", k.s)
	}
}

// TestCloneIsIndependent: a clone and its original, changed apart by
// random mods, each stay equal to its own model.
func TestCloneIsIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	p := New()
	m := tableModel{}
	for range 3000 {
		step(t, rng, p, m, "before the clone")
	}
	c, cm := p.Clone(), m.clone()
	for range 3000 {
		step(t, rng, p, m, "original")
		step(t, rng, c, cm, "clone")
	}
	m.check(t, "original at the end", p.Snapshot())
	cm.check(t, "clone at the end", c.Snapshot())
}

// TestInstructionsAreShared: entries with equal instructions hold one
// copy, which the mod's own instructions do not alias; a modify to other
// instructions gets another; and instrScalars covers every field of
// Instructions but the action lists (a field it missed would make
// different instructions equal).
func TestInstructionsAreShared(t *testing.T) {
	p := New()
	fm1 := addMod(0, 10, mt(ipv4Type, exact(FieldIPv4Dst, 1)), Output(2))
	fm2 := addMod(0, 10, mt(ipv4Type, exact(FieldIPv4Dst, 2)), Output(2))
	fm3 := addMod(0, 10, mt(ipv4Type, exact(FieldIPv4Dst, 3)), Output(3))
	f1, f2, f3 := mustAdd(t, p, fm1), mustAdd(t, p, fm2), mustAdd(t, p, fm3)
	if f1.Instr != f2.Instr {
		t.Error("two entries with output:2 hold two copies of their instructions")
	}
	if f1.Instr == f3.Instr {
		t.Error("output:2 and output:3 share instructions")
	}
	fm1.Instr.Apply[0].Port = 9 // the controller's mod is its own
	if f1.Instr.Apply[0].Port != 2 {
		t.Errorf("an entry's instructions alias its mod's: port %d", f1.Instr.Apply[0].Port)
	}

	n := reflect.TypeOf(Instructions{}).NumField()
	if got := reflect.TypeOf(instrScalars{}).NumField(); got != n-2 {
		t.Fatalf("instrScalars has %d fields, Instructions %d besides Apply and Write", got, n-2)
	}
	v := reflect.ValueOf(&Instructions{}).Elem()
	for i := range n {
		var in Instructions
		fv := reflect.ValueOf(&in).Elem().Field(i)
		switch fv.Kind() {
		case reflect.Slice:
			continue
		case reflect.Bool:
			fv.SetBool(true)
		default:
			fv.Set(reflect.ValueOf(1).Convert(fv.Type()))
		}
		if in.equal(&Instructions{}) {
			t.Errorf("Instructions differing in %s are equal", v.Type().Field(i).Name)
		}
	}
}

// TestTableChanges: the changes between two snapshots of a table are the
// entries added and removed in between, in order (a modify is a removal
// and an add), shared by later snapshots; a log that grew past its length
// is ended, and an older snapshot's table must then be derived afresh.
func TestTableChanges(t *testing.T) {
	p := New()
	f1 := mustAdd(t, p, addMod(0, 10, mt(ipv4Type, exact(FieldIPv4Dst, 1)), Output(2)))
	s1 := p.Snapshot()
	f2 := mustAdd(t, p, addMod(0, 10, mt(ipv4Type, exact(FieldIPv4Dst, 2)), Output(2)))
	mod := addMod(0, 10, mt(ipv4Type, exact(FieldIPv4Dst, 1)), Output(3))
	mod.Command = FlowModifyStrict
	ch := mustFlow(t, p, mod)
	del := addMod(0, 10, mt(ipv4Type, exact(FieldIPv4Dst, 2)))
	del.Command = FlowDeleteStrict
	mustFlow(t, p, del)
	s2 := p.Snapshot()

	got, ok := s2.TableChanges(0, s1)
	want := []TableChange{{f2, true}, {f1, false}, {ch.Modified[0].New, true}, {f2, false}}
	if !ok || !slices.Equal(got, want) {
		t.Fatalf("changes s1 -> s2 = %v, %v; want %v", got, ok, want)
	}
	if got, ok := s2.TableChanges(1, s1); !ok || len(got) != 0 {
		t.Errorf("changes of untouched table 1 = %v, %v; want none", got, ok)
	}
	if _, ok := s1.TableChanges(0, s2); ok {
		t.Error("changes from a later snapshot to an earlier one were given")
	}
	for i := range changeLogMin + 1 {
		mustAdd(t, p, addMod(0, 20, mt(ipv4Type, exact(FieldIPv4Dst, uint64(100+i))), Output(2)))
	}
	if _, ok := p.Snapshot().TableChanges(0, s1); ok {
		t.Error("changes since s1 were given after its log ended")
	}
}
