package pipeline

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cursorPipeline is a pipeline of n entries spread over tables 0, 1 and 3
// at a few priorities each, every third with an idle timeout.
func cursorPipeline(t testing.TB, n int) *Pipeline {
	p := New()
	for i := range n {
		table := []uint8{0, 1, 3}[i%3]
		fm := addMod(table, uint16(100+i%5), mt(ipv4Type, exact(FieldIPv4Src, uint64(i))), Output(2))
		if i%7 == 0 {
			fm.Match = mt(exact(FieldInPort, uint64(i)))
		}
		if i%3 == 0 {
			fm.IdleTimeout = 30
		}
		mustFlow(t, p, fm)
	}
	return p
}

// walk takes every entry f selects with NextFlows, chunk entries visited
// at a time.
func walk(p *Pipeline, f *FlowFilter, chunk int) []*Flow {
	var c FlowCursor
	var out []*Flow
	for i := 0; !c.Done(); i++ {
		out = p.NextFlows(out, f, &c, chunk)
		if i > 1_000_000 {
			panic("NextFlows does not end")
		}
	}
	return out
}

// NextFlows in chunks of any size gives what Flows gives, in its order.
func TestNextFlowsChunksAreFlows(t *testing.T) {
	p := cursorPipeline(t, 200)
	filters := map[string]*FlowFilter{
		"nil":      nil,
		"all":      {Table: TableAll, OutPort: PortAny, OutGroup: GroupAny},
		"table 1":  {Table: 1, OutPort: PortAny, OutGroup: GroupAny},
		"table 2":  {Table: 2, OutPort: PortAny, OutGroup: GroupAny},
		"table 3":  {Table: 3, OutPort: PortAny, OutGroup: GroupAny},
		"ipv4":     {Table: TableAll, OutPort: PortAny, OutGroup: GroupAny, Match: mt(ipv4Type)},
		"out 2":    {Table: TableAll, OutPort: 2, OutGroup: GroupAny},
		"out 3":    {Table: TableAll, OutPort: 3, OutGroup: GroupAny},
		"in_port7": {Table: 0, OutPort: PortAny, OutGroup: GroupAny, Match: mt(exact(FieldInPort, 7))},
	}
	for name, f := range filters {
		want := ids(p.Flows(f))
		if name == "nil" && len(want) != 200 {
			t.Fatalf("Flows(nil) gives %d entries, want 200", len(want))
		}
		for _, chunk := range []int{0, 1, 2, 7, 64, 199, 200, 201, 1000} {
			if diff := cmp.Diff(want, ids(walk(p, f, chunk))); diff != "" {
				t.Errorf("%s, chunks of %d (-Flows +NextFlows):\n%s", name, chunk, diff)
			}
		}
	}
}

// A chunk visits at most max entries, whatever the filter selects.
func TestNextFlowsBoundsAChunk(t *testing.T) {
	p := cursorPipeline(t, 100)
	f := &FlowFilter{Table: TableAll, OutPort: 99, OutGroup: GroupAny} // selects nothing
	var c FlowCursor
	chunks := 0
	for !c.Done() {
		if got := p.NextFlows(nil, f, &c, 10); len(got) != 0 {
			t.Fatalf("chunk %d selected %d entries, want 0", chunks, len(got))
		}
		chunks++
	}
	if chunks < 10 || chunks > 11 {
		t.Errorf("100 entries in chunks of 10 took %d calls, want 10 or 11", chunks)
	}
	if got := p.NextFlows(nil, nil, &c, 10); len(got) != 0 {
		t.Errorf("a done cursor gave %d entries", len(got))
	}
}

// Mods between chunks: every entry gets out at most once, in order, and
// every entry there all along gets out.
func TestNextFlowsWithModsBetweenChunks(t *testing.T) {
	p := cursorPipeline(t, 300)
	before := map[uint64]bool{}
	for _, f := range p.Flows(nil) {
		before[f.ID] = true
	}
	removed := map[uint64]bool{}
	var c FlowCursor
	var out []*Flow
	for i := 0; !c.Done(); i++ {
		out = p.NextFlows(out, nil, &c, 13)
		// Delete a few entries ahead and behind, add some at every
		// priority, replace one in place.
		all := p.Flows(nil)
		for _, k := range []int{i * 7 % len(all), (i*31 + 5) % len(all)} {
			f := all[k]
			ch := mustFlow(t, p, &FlowMod{Command: FlowDeleteStrict, Table: f.Table, Priority: f.Priority,
				Match: f.Match, OutPort: PortAny, OutGroup: GroupAny})
			for _, r := range ch.Removed {
				removed[r.Flow.ID] = true
			}
		}
		for prio := uint16(99); prio <= 105; prio++ {
			mustFlow(t, p, addMod([]uint8{0, 1, 3}[i%3], prio, mt(ipv4Type, exact(FieldIPv4Dst, uint64(1000*i+int(prio)))), Output(1)))
		}
		if all := p.Flows(nil); len(all) > 0 {
			f := all[(i*13)%len(all)]
			mustFlow(t, p, addMod(f.Table, f.Priority, f.Match, Output(9)))
		}
	}
	seen := map[uint64]bool{}
	for i, f := range out {
		if seen[f.ID] {
			t.Fatalf("entry %d given twice", f.ID)
		}
		seen[f.ID] = true
		if i > 0 {
			prev := out[i-1]
			if prev.Table > f.Table || prev.Table == f.Table &&
				(prev.Priority < f.Priority || prev.Priority == f.Priority && prev.ID >= f.ID) {
				t.Fatalf("entry %d (table %d priority %d) after entry %d (table %d priority %d)",
					f.ID, f.Table, f.Priority, prev.ID, prev.Table, prev.Priority)
			}
		}
	}
	for id := range before {
		if !removed[id] && !seen[id] {
			t.Errorf("entry %d, there all along, was not given", id)
		}
	}
}

// A delete of whole tables leaves them as new: nothing left to find by
// ID, match or timeout, and the same rules can be added again as new
// entries.
func TestDeleteWholeTables(t *testing.T) {
	for _, table := range []uint8{TableAll, 0, 3} {
		t.Run(fmt.Sprint("table ", table), func(t *testing.T) {
			p := cursorPipeline(t, 60)
			all := p.Flows(nil)
			var want, kept []*Flow
			for _, f := range all {
				if table == TableAll || f.Table == table {
					want = append(want, f)
				} else {
					kept = append(kept, f)
				}
			}
			ch := mustFlow(t, p, delMod(FlowDelete, table, 0, Match{}))
			var got []*Flow
			for _, r := range ch.Removed {
				if r.Reason != RemovedDelete {
					t.Errorf("entry %d removed with reason %d", r.Flow.ID, r.Reason)
				}
				got = append(got, r.Flow)
			}
			if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
				t.Fatalf("removed (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(ids(kept), ids(p.Flows(nil))); diff != "" {
				t.Errorf("left (-want +got):\n%s", diff)
			}
			if got := p.FlowCount(TableAll); got != len(kept) {
				t.Errorf("FlowCount(TableAll) = %d, want %d", got, len(kept))
			}
			for _, f := range want {
				if p.Flow(f.ID) != nil {
					t.Errorf("entry %d still found by ID", f.ID)
				}
				if g := p.tables[f.Table].keys.get(f.Priority, &f.Match); g != nil {
					t.Errorf("entry %d still found by match", f.ID)
				}
			}
			for _, f := range kept {
				if p.Flow(f.ID) != f {
					t.Errorf("kept entry %d not found by ID", f.ID)
				}
			}
			for id, f := range p.timed {
				if f.Table == table || table == TableAll {
					t.Errorf("removed entry %d still timed", id)
				}
			}
			// Adding a removed rule again makes a new entry.
			f := want[0]
			ch = mustFlow(t, p, addMod(f.Table, f.Priority, f.Match, Output(2)))
			if len(ch.Added) != 1 || len(ch.Modified) != 0 {
				t.Errorf("adding a deleted rule again: %d added, %d modified; want a new entry", len(ch.Added), len(ch.Modified))
			}
			if got := p.FlowCount(f.Table); got != 1 && table != TableAll && f.Table == table {
				t.Errorf("table %d holds %d entries, want 1", f.Table, got)
			}
		})
	}
}

// BenchmarkDeleteAll is ovs-ofctl del-flows: one delete of every table
// holding 100,000 entries.
func BenchmarkDeleteAll(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		p := New()
		for i := range 100_000 {
			mustFlow(b, p, addMod(0, uint16(100+i%7), mt(ipv4Type, exact(FieldIPv4Src, uint64(i))), Output(2)))
		}
		b.StartTimer()
		mustFlow(b, p, delMod(FlowDelete, TableAll, 0, Match{}))
	}
}

// BenchmarkNextFlows walks 100,000 entries in chunks of 256.
func BenchmarkNextFlows(b *testing.B) {
	p := New()
	for i := range 100_000 {
		mustFlow(b, p, addMod(0, uint16(100+i%7), mt(ipv4Type, exact(FieldIPv4Src, uint64(i))), Output(2)))
	}
	f := &FlowFilter{Table: TableAll, OutPort: PortAny, OutGroup: GroupAny}
	buf := make([]*Flow, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var c FlowCursor
		n := 0
		for !c.Done() {
			buf = p.NextFlows(buf[:0], f, &c, 256)
			n += len(buf)
		}
		if n != 100_000 {
			b.Fatalf("walked %d entries", n)
		}
	}
}
