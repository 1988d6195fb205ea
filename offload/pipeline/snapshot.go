package pipeline

import "sync"

// Snapshot is an immutable view of the whole pipeline, handed to execution
// tiers: the fast path compiles its classifier from it. Nothing in a
// Snapshot is modified after it is made (flows, groups and meters are
// immutable; only their Counters change).
//
// A pipeline's snapshot costs O(priorities) per changed table, not
// O(entries): it shares the table's runs of one priority with the
// pipeline, which copies a run before it next writes into what a snapshot
// sees, and lays a table out as one list (Table) only when a tier asks.
type Snapshot struct {
	tables [NumTables]*tableSnap // nil: empty
	Groups map[uint32]*Group
	Meters map[uint32]*Meter
}

// tableSnap is one table of a snapshot: the runs it shares with the
// pipeline, laid out as one list on first use. Snapshots that did not
// change a table share its tableSnap.
type tableSnap struct {
	runs [][]*Flow // by priority descending, each by ID ascending
	n    int
	once sync.Once
	flat []*Flow
	// log and ops are the table's change log up to this snapshot.
	log *changeLog
	ops []TableChange
}

// SnapshotOf returns a snapshot of the given tables (each ordered by
// decreasing priority, ties by increasing ID), groups and meters, for
// tiers' tests and tools that build one by hand. Nothing given may change
// afterwards.
func SnapshotOf(tables [NumTables][]*Flow, groups map[uint32]*Group, meters map[uint32]*Meter) *Snapshot {
	s := &Snapshot{Groups: groups, Meters: meters}
	for t, fs := range tables {
		if len(fs) > 0 {
			s.tables[t] = &tableSnap{n: len(fs), flat: fs}
		}
	}
	return s
}

// Table returns table t's flows ordered by decreasing priority, ties
// broken by increasing ID (the older entry wins). The first call on a
// table lays it out; the slice must not be changed.
func (s *Snapshot) Table(t uint8) []*Flow {
	if int(t) >= NumTables || s.tables[t] == nil {
		return nil
	}
	ts := s.tables[t]
	ts.once.Do(func() {
		if ts.runs == nil {
			return // built by SnapshotOf: flat already, or empty
		}
		flat := make([]*Flow, 0, ts.n)
		for _, r := range ts.runs {
			flat = append(flat, r...)
		}
		ts.flat = flat
	})
	return ts.flat
}

// TableLen returns the number of flows in table t.
func (s *Snapshot) TableLen(t uint8) int {
	if int(t) >= NumTables || s.tables[t] == nil {
		return 0
	}
	return s.tables[t].n
}

// SameTable reports whether table t is the very same in s and o (a
// snapshot taken without a change to it): what was derived from o's table
// holds for s's. Tables of snapshots built by SnapshotOf are never the
// same as another's, unless both are empty.
func (s *Snapshot) SameTable(o *Snapshot, t uint8) bool {
	return o != nil && s.tables[t] == o.tables[t]
}

// TableChanges returns the changes that make table t of since into table
// t of s, oldest first, when s's change log holds them (since is an
// earlier snapshot of the same pipeline, not too far back); ok is false
// when it does not, and the table must be derived afresh.
func (s *Snapshot) TableChanges(t uint8, since *Snapshot) (changes []TableChange, ok bool) {
	if since == nil || int(t) >= NumTables {
		return nil, false
	}
	a, b := since.tables[t], s.tables[t]
	if a == b {
		return nil, true
	}
	if a == nil || b == nil || a.log == nil || a.log != b.log || len(a.ops) > len(b.ops) {
		return nil, false
	}
	return b.ops[len(a.ops):], true
}

// Lookup is the reference classifier: the first (highest-priority) flow of
// table t that matches k, or nil on a table miss. Linear, for tests and as
// the definition faster classifiers must agree with.
func (s *Snapshot) Lookup(t uint8, k *Key) *Flow {
	for _, f := range s.Table(t) {
		if f.Match.Matches(k) {
			return f
		}
	}
	return nil
}
