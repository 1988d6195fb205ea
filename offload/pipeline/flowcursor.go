package pipeline

import "sort"

// FlowCursor is a position in the order Flows lists entries (table, then
// priority descending, then ID ascending), from which NextFlows resumes.
// It names the last entry visited, not an index, so a walk that takes
// the entries a chunk at a time, with mods in between, gives each entry
// at most once and in order: an entry added or removed behind or ahead
// of the cursor meanwhile is simply seen or not. The zero FlowCursor is
// the start.
type FlowCursor struct {
	table    int
	priority uint16
	id       uint64 // the last entry visited in table; valid when inTable
	inTable  bool
	done     bool
}

// Done reports whether the walk has passed the last entry.
func (c *FlowCursor) Done() bool { return c.done }

// NextFlows appends to buf the entries that f selects (as Flows does)
// after the cursor, visiting at most max entries (selected or not, so a
// chunk costs O(max) whatever the filter), and moves the cursor past
// them; max <= 0 visits the rest. The returned slice may be empty before
// the walk is done.
func (p *Pipeline) NextFlows(buf []*Flow, f *FlowFilter, c *FlowCursor, max int) []*Flow {
	if c.done {
		return buf
	}
	covers := f != nil && f.Match != (Match{}) // an empty match covers every entry
	visited := 0
	for ; c.table < NumTables; c.table, c.inTable = c.table+1, false {
		if f != nil && f.Table != TableAll {
			if c.table < int(f.Table) {
				c.table, c.inTable = int(f.Table), false
			} else if c.table > int(f.Table) {
				break
			}
		}
		t := &p.tables[c.table]
		ri, fi := 0, 0
		if c.inTable {
			var ok bool
			ri, ok = t.runIndex(c.priority)
			if ok {
				fl := t.runs[ri].flows
				fi = sort.Search(len(fl), func(i int) bool { return fl[i].ID > c.id })
			}
		}
		for ; ri < len(t.runs); ri, fi = ri+1, 0 {
			r := t.runs[ri]
			for ; fi < len(r.flows); fi++ {
				fl := r.flows[fi]
				if f == nil || f.selects(fl, covers) {
					buf = append(buf, fl)
				}
				c.priority, c.id, c.inTable = fl.Priority, fl.ID, true
				visited++
				if max > 0 && visited >= max {
					return buf
				}
			}
		}
	}
	c.done = true
	return buf
}
