package pipeline

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTableAgainstASortedList runs random adds, strict and non-strict
// modifies and deletes over a few priorities and matches on a pipeline
// and on a model that keeps each table as one list in table order
// (priority descending, then ID ascending) and finds entries by scanning
// it: after every mod the snapshot's tables, the counts and the strict
// lookups must agree.
func TestTableAgainstASortedList(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 13))
	p := New()
	model := map[uint8][]*Flow{}
	prios := []uint16{0, 5, 100, 100, 100, 65535}
	for step := range 20000 {
		table := uint8(rng.IntN(2))
		prio := prios[rng.IntN(len(prios))]
		m := mt(ipv4Type, exact(FieldIPv4Dst, uint64(0x0a000000+rng.IntN(40))))
		if rng.IntN(8) == 0 {
			m = mt(ipv4Type)
		}
		fm := addMod(table, prio, m, Output(uint32(1+rng.IntN(4))))
		switch r := rng.IntN(10); {
		case r < 6:
		case r < 7:
			fm.Command = FlowModifyStrict
		case r < 9:
			fm.Command = FlowDeleteStrict
		default:
			fm.Command = FlowDelete // every entry the match covers, any priority
		}
		ch, err := p.FlowMod(fm, t0)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for _, f := range ch.Added {
			i, _ := slices.BinarySearchFunc(model[table], f, func(a, b *Flow) int {
				if a.Priority != b.Priority {
					return int(b.Priority) - int(a.Priority)
				}
				return int(a.ID) - int(b.ID)
			})
			model[table] = slices.Insert(model[table], i, f)
		}
		for _, mo := range ch.Modified {
			i := slices.Index(model[table], mo.Old)
			if i < 0 {
				t.Fatalf("step %d: modified entry %d not in the model", step, mo.Old.ID)
			}
			model[table][i] = mo.New
		}
		for _, rm := range ch.Removed {
			model[table] = slices.DeleteFunc(model[table], func(f *Flow) bool { return f == rm.Flow })
		}
		snap := p.Snapshot()
		for tb := range uint8(2) {
			if !slices.Equal(snap.Tables[tb], model[tb]) {
				t.Fatalf("step %d: table %d has %d entries out of the model's order (%d)", step, tb, len(snap.Tables[tb]), len(model[tb]))
			}
			if p.FlowCount(tb) != len(model[tb]) {
				t.Fatalf("step %d: FlowCount(%d) = %d, want %d", step, tb, p.FlowCount(tb), len(model[tb]))
			}
		}
		for _, f := range model[table] {
			if got := p.tables[table].keys.get(f.Priority, &f.Match); got != f {
				t.Fatalf("step %d: strict lookup of entry %d found %v", step, f.ID, got)
			}
		}
	}
}
