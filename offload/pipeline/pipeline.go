package pipeline

import (
	"maps"
	"slices"
	"sort"
)

// DefaultMaxFlowsPerTable is the table size used when Options leaves
// MaxFlowsPerTable at zero.
const DefaultMaxFlowsPerTable = 100000

// Options configure a Pipeline.
type Options struct {
	// MaxFlowsPerTable is the number of entries a table holds before an add
	// fails with FLOW_MOD_FAILED/TABLE_FULL. Zero means DefaultMaxFlowsPerTable.
	MaxFlowsPerTable int
}

// Pipeline is the flow tables, group table and meter table of one OpenFlow
// switch, with the OpenFlow 1.3.5 semantics of FLOW_MOD (section 6.4),
// GROUP_MOD (6.5) and METER_MOD (6.6).
//
// A Pipeline is not safe for concurrent use: the caller serializes mods,
// queries and Snapshot. Flows, groups and meters it hands out are immutable
// (only their Counters change), and so is every Snapshot, so readers on other
// goroutines may keep using them after later mods.
type Pipeline struct {
	opts   Options
	nextID uint64

	tables [NumTables]table
	byID   map[uint64]*Flow
	timed  map[uint64]*Flow // flows with an idle or hard timeout, by ID

	groups map[uint32]*Group
	meters map[uint32]*Meter

	// snap is the last snapshot; dirty marks what changed since.
	snap        *Snapshot
	dirty       [NumTables]bool
	groupsDirty bool
	metersDirty bool
}

// table is one flow table.
type table struct {
	flows []*Flow            // priority descending, ID ascending
	byKey map[entryKey]*Flow // identical match + priority
}

// entryKey identifies a flow entry for strict operations and identical adds.
type entryKey struct {
	priority uint16
	match    Match
}

// New returns an empty pipeline with default options.
func New() *Pipeline { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty pipeline configured by o.
func NewWithOptions(o Options) *Pipeline {
	if o.MaxFlowsPerTable <= 0 {
		o.MaxFlowsPerTable = DefaultMaxFlowsPerTable
	}
	p := &Pipeline{
		opts:   o,
		byID:   make(map[uint64]*Flow),
		timed:  make(map[uint64]*Flow),
		groups: make(map[uint32]*Group),
		meters: make(map[uint32]*Meter),
	}
	for i := range p.tables {
		p.tables[i].byKey = make(map[entryKey]*Flow)
	}
	return p
}

// Flow returns the flow entry with the given ID, or nil.
func (p *Pipeline) Flow(id uint64) *Flow { return p.byID[id] }

// FlowCount returns the number of entries in table t, or in every table for
// TableAll. An invalid table holds nothing.
func (p *Pipeline) FlowCount(t uint8) int {
	if t == TableAll {
		return len(p.byID)
	}
	if t >= NumTables {
		return 0
	}
	return len(p.tables[t].flows)
}

// Group returns the group with the given ID, or nil.
func (p *Pipeline) Group(id uint32) *Group { return p.groups[id] }

// Groups returns every group, sorted by ID.
func (p *Pipeline) Groups() []*Group {
	ids := slices.Sorted(maps.Keys(p.groups))
	gs := make([]*Group, len(ids))
	for i, id := range ids {
		gs[i] = p.groups[id]
	}
	return gs
}

// Meter returns the meter with the given ID, or nil.
func (p *Pipeline) Meter(id uint32) *Meter { return p.meters[id] }

// Meters returns every meter, sorted by ID.
func (p *Pipeline) Meters() []*Meter {
	ids := slices.Sorted(maps.Keys(p.meters))
	ms := make([]*Meter, len(ids))
	for i, id := range ids {
		ms[i] = p.meters[id]
	}
	return ms
}

// Snapshot returns an immutable view of the pipeline. It is cheap to call
// after every batch of mods: the previous snapshot is returned as is when
// nothing changed, and only tables (and the group or meter table) that
// changed since are copied; the rest is shared with the previous snapshot.
func (p *Pipeline) Snapshot() *Snapshot {
	if p.snap != nil && !p.anyDirty() {
		return p.snap
	}
	s := new(Snapshot)
	if p.snap != nil {
		*s = *p.snap
	}
	for t := range p.tables {
		if p.snap == nil || p.dirty[t] {
			s.Tables[t] = slices.Clone(p.tables[t].flows)
		}
		p.dirty[t] = false
	}
	if p.snap == nil || p.groupsDirty {
		s.Groups = maps.Clone(p.groups)
	}
	if p.snap == nil || p.metersDirty {
		s.Meters = maps.Clone(p.meters)
	}
	p.groupsDirty, p.metersDirty = false, false
	p.snap = s
	return s
}

func (p *Pipeline) anyDirty() bool {
	return p.groupsDirty || p.metersDirty || slices.Contains(p.dirty[:], true)
}

// flowLess orders a table: priority descending, then ID ascending (the
// older entry first).
func flowLess(a, b *Flow) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return a.ID < b.ID
}

// index returns where f is or would be in t.flows.
func (t *table) index(f *Flow) (int, bool) {
	i := sort.Search(len(t.flows), func(i int) bool { return !flowLess(t.flows[i], f) })
	return i, i < len(t.flows) && t.flows[i].ID == f.ID
}

// insert adds a new flow entry.
func (p *Pipeline) insert(f *Flow) {
	t := &p.tables[f.Table]
	i, _ := t.index(f)
	t.flows = slices.Insert(t.flows, i, f)
	t.byKey[entryKey{f.Priority, f.Match}] = f
	p.byID[f.ID] = f
	p.track(f)
	p.dirty[f.Table] = true
}

// replace swaps old for new, which has the same ID, table, priority and match.
func (p *Pipeline) replace(old, new *Flow) {
	t := &p.tables[old.Table]
	i, ok := t.index(old)
	if !ok {
		panic("pipeline: replace of a flow that is not in its table")
	}
	t.flows[i] = new
	t.byKey[entryKey{new.Priority, new.Match}] = new
	p.byID[new.ID] = new
	p.track(new)
	p.dirty[new.Table] = true
}

// remove deletes f from its table.
func (p *Pipeline) remove(f *Flow) {
	t := &p.tables[f.Table]
	i, ok := t.index(f)
	if !ok {
		panic("pipeline: remove of a flow that is not in its table")
	}
	t.flows = slices.Delete(t.flows, i, i+1)
	delete(t.byKey, entryKey{f.Priority, f.Match})
	delete(p.byID, f.ID)
	delete(p.timed, f.ID)
	p.dirty[f.Table] = true
}

// track keeps p.timed up to date for f.
func (p *Pipeline) track(f *Flow) {
	if f.IdleTimeout != 0 || f.HardTimeout != 0 {
		p.timed[f.ID] = f
	} else {
		delete(p.timed, f.ID)
	}
}

// removeWhere removes every flow for which pred holds, in table order, and
// returns them as removals with reason r.
func (p *Pipeline) removeWhere(pred func(*Flow) bool, r RemovedReason) []Removal {
	var out []Removal
	for t := range p.tables {
		for _, f := range p.tables[t].flows {
			if pred(f) {
				out = append(out, Removal{Flow: f, Reason: r})
			}
		}
	}
	for _, rm := range out {
		p.remove(rm.Flow)
	}
	return out
}
