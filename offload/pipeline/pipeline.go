package pipeline

import (
	"hash/maphash"
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

// table is one flow table: its entries in runs of one priority each,
// the runs by priority descending and each run by ID ascending (the
// order OpenFlow gives equal-priority entries no meaning, and the one a
// table's snapshot lists). A new entry has the highest ID so far and is
// appended to its run, so an add costs O(log priorities), not O(entries);
// removals of many entries compact each run once.
type table struct {
	runs  []*run // priority descending
	count int
	keys  entryIndex // identical match + priority
	// log names the change log ops belongs to: the entries added and
	// removed, in order, since the log began. Snapshots share it, so a
	// tier can bring what it derived from one snapshot up to a later one
	// (Snapshot.TableChanges) instead of starting over. A log ends when
	// it grows past a quarter of the table (at least changeLogMin).
	log *changeLog
	ops []TableChange
}

// changeLog identifies a table's change log.
type changeLog struct{ _ byte }

// changeLogMin is the shortest change log that is ended for its length.
const changeLogMin = 1024

// TableChange is an entry added to or removed from a table. A modify is
// the old entry removed and the new one added.
type TableChange struct {
	Flow  *Flow
	Added bool
}

// note records a change in t's log, beginning a new log when it is long.
func (t *table) note(f *Flow, added bool) {
	if t.log == nil || len(t.ops) >= max(changeLogMin, t.count/4) {
		t.log, t.ops = new(changeLog), nil
	}
	t.ops = append(t.ops, TableChange{f, added})
}

// run is a table's entries of one priority, by ID ascending.
type run struct {
	priority uint16
	flows    []*Flow
	// shared: a snapshot or a clone sees flows[:len(flows)], so the run
	// is copied before anything below its length is written (an append
	// writes past it: a clone's view has no spare capacity to write into).
	shared bool
}

// own makes r's flows its own to write into.
func (r *run) own() {
	if r.shared {
		r.flows = slices.Clone(r.flows)
		r.shared = false
	}
}

// runIndex returns where the run of priority prio is or would be.
func (t *table) runIndex(prio uint16) (int, bool) {
	i := sort.Search(len(t.runs), func(i int) bool { return t.runs[i].priority <= prio })
	return i, i < len(t.runs) && t.runs[i].priority == prio
}

// flowIndex returns where f is in its run, and the run's index.
func (t *table) flowIndex(f *Flow) (ri, fi int, ok bool) {
	ri, ok = t.runIndex(f.Priority)
	if !ok {
		return ri, 0, false
	}
	fl := t.runs[ri].flows
	fi = sort.Search(len(fl), func(i int) bool { return fl[i].ID >= f.ID })
	return ri, fi, fi < len(fl) && fl[fi].ID == f.ID
}

// snapshot returns the table as a snapshot sees it, sharing its runs and
// its change log.
func (t *table) snapshot() *tableSnap {
	if t.count == 0 && len(t.ops) == 0 {
		return nil
	}
	ts := &tableSnap{runs: make([][]*Flow, len(t.runs)), n: t.count, log: t.log, ops: t.ops}
	for i, r := range t.runs {
		ts.runs[i] = r.flows
		r.shared = true
	}
	return ts
}

// entryKey identifies a flow entry for strict operations and identical adds.
type entryKey struct {
	priority uint16
	match    Match
}

// entryIndex finds a table's entry by priority and match. It keys its map
// by a hash of the two, not by their 322 bytes, which a map would store
// once more per entry; an entry whose hash another holds (never seen with
// 64 bits, but possible) goes in the overflow map under its whole key.
type entryIndex struct {
	byHash   map[uint64]*Flow
	overflow map[entryKey]*Flow
}

var entrySeed = maphash.MakeSeed()

func entryHash(prio uint16, m *Match) uint64 {
	return maphash.Comparable(entrySeed, entryKey{prio, *m}) // as a map hashes it: fields only, no padding
}

// get returns the entry of priority prio and match m, or nil.
func (x *entryIndex) get(prio uint16, m *Match) *Flow {
	if f := x.byHash[entryHash(prio, m)]; f != nil && f.Priority == prio && f.Match == *m {
		return f
	}
	if len(x.overflow) > 0 {
		return x.overflow[entryKey{prio, *m}]
	}
	return nil
}

// put records f, replacing the entry of the same priority and match.
func (x *entryIndex) put(f *Flow) {
	h := entryHash(f.Priority, &f.Match)
	if g := x.byHash[h]; g == nil || (g.Priority == f.Priority && g.Match == f.Match) {
		x.byHash[h] = f
		return
	}
	if x.overflow == nil {
		x.overflow = make(map[entryKey]*Flow)
	}
	x.overflow[entryKey{f.Priority, f.Match}] = f
}

// del forgets f.
func (x *entryIndex) del(f *Flow) {
	h := entryHash(f.Priority, &f.Match)
	if x.byHash[h] == f {
		delete(x.byHash, h)
		return
	}
	delete(x.overflow, entryKey{f.Priority, f.Match})
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
		p.tables[i].keys.byHash = make(map[uint64]*Flow)
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
	return p.tables[t].count
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
// after every mod: the previous snapshot is returned as is when nothing
// changed; a table that changed shares its runs (O(priorities)), the
// others are the previous snapshot's; the group and meter tables are
// copied when they changed.
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
			s.tables[t] = p.tables[t].snapshot()
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

// insert adds a new flow entry: its ID is the highest so far.
func (p *Pipeline) insert(f *Flow) {
	t := &p.tables[f.Table]
	ri, ok := t.runIndex(f.Priority)
	if !ok {
		t.runs = slices.Insert(t.runs, ri, &run{priority: f.Priority})
	}
	r := t.runs[ri]
	if n := len(r.flows); n > 0 && r.flows[n-1].ID > f.ID {
		panic("pipeline: insert of a flow older than its run")
	}
	r.flows = append(r.flows, f)
	t.count++
	t.note(f, true)
	t.keys.put(f)
	p.byID[f.ID] = f
	p.track(f)
	p.dirty[f.Table] = true
}

// replace swaps old for new, which has the same ID, table, priority and match.
func (p *Pipeline) replace(old, new *Flow) {
	t := &p.tables[old.Table]
	ri, fi, ok := t.flowIndex(old)
	if !ok {
		panic("pipeline: replace of a flow that is not in its table")
	}
	r := t.runs[ri]
	r.own()
	r.flows[fi] = new
	t.note(old, false)
	t.note(new, true)
	t.keys.put(new)
	p.byID[new.ID] = new
	p.track(new)
	p.dirty[new.Table] = true
}

// remove deletes the entries fs (each in its table): every run they
// leave is compacted once, so deleting a whole table is linear.
func (p *Pipeline) remove(fs ...*Flow) {
	if len(fs) == 0 {
		return
	}
	gone := make(map[*Flow]struct{}, len(fs))
	runs := make(map[*run]struct{})
	for _, f := range fs {
		t := &p.tables[f.Table]
		ri, _, ok := t.flowIndex(f)
		if !ok {
			panic("pipeline: remove of a flow that is not in its table")
		}
		gone[f] = struct{}{}
		runs[t.runs[ri]] = struct{}{}
		t.count--
		t.note(f, false)
		t.keys.del(f)
		delete(p.byID, f.ID)
		delete(p.timed, f.ID)
		p.dirty[f.Table] = true
	}
	for r := range runs {
		r.own()
		r.flows = slices.DeleteFunc(r.flows, func(f *Flow) bool { _, ok := gone[f]; return ok })
	}
	for t := range p.tables {
		if p.dirty[t] {
			p.tables[t].runs = slices.DeleteFunc(p.tables[t].runs, func(r *run) bool { return len(r.flows) == 0 })
		}
	}
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
	var fs []*Flow
	for t := range p.tables {
		for _, run := range p.tables[t].runs {
			for _, f := range run.flows {
				if pred(f) {
					out = append(out, Removal{Flow: f, Reason: r})
					fs = append(fs, f)
				}
			}
		}
	}
	p.remove(fs...)
	return out
}

// Clone returns an independent copy of the pipeline: mods to either leave
// the other as it was. It shares the flow entries (immutable), groups,
// meters and the tables' runs (each side copies a run before writing into
// it), and copies the indexes: O(entries), for a bundle applied to a copy
// and swapped in only if all of it succeeds.
func (p *Pipeline) Clone() *Pipeline {
	c := *p
	for t := range p.tables {
		src := &p.tables[t]
		dst := &c.tables[t]
		dst.runs = make([]*run, len(src.runs))
		for i, r := range src.runs {
			r.flows = r.flows[:len(r.flows):len(r.flows)] // an append on either side reallocates
			r.shared = true
			dst.runs[i] = &run{priority: r.priority, flows: r.flows, shared: true}
		}
		dst.keys.byHash = maps.Clone(src.keys.byHash)
		dst.keys.overflow = maps.Clone(src.keys.overflow)
		dst.log, dst.ops = nil, nil // the clone's changes are not the original's
	}
	c.byID = maps.Clone(p.byID)
	c.timed = maps.Clone(p.timed)
	c.groups = maps.Clone(p.groups)
	c.meters = maps.Clone(p.meters)
	return &c
}
