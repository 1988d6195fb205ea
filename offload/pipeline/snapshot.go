package pipeline

// Snapshot is an immutable view of the whole pipeline, handed to execution
// tiers: the fast path compiles its classifier from it. Nothing in a
// Snapshot is modified after it is made (flows, groups and meters are
// immutable; only their Counters change).
type Snapshot struct {
	// Tables holds each table's flows ordered by decreasing priority, ties
	// broken by increasing ID (the older entry wins).
	Tables [NumTables][]*Flow
	Groups map[uint32]*Group
	Meters map[uint32]*Meter
}

// Lookup is the reference classifier: the first (highest-priority) flow of
// table t that matches k, or nil on a table miss. Linear, for tests and as
// the definition faster classifiers must agree with.
func (s *Snapshot) Lookup(t uint8, k *Key) *Flow {
	for _, f := range s.Tables[t] {
		if f.Match.Matches(k) {
			return f
		}
	}
	return nil
}
