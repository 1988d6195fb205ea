// Package classifier is the software fast path's flow classifier: tuple space
// search over the flow tables of one pipeline.Snapshot.
//
// Every table's flows are grouped by mask into subtables; a subtable maps the
// masked packet key to the best (first in table order) flow with that mask and
// key. A lookup visits subtables in the order of their best flow and stops as
// soon as the flow found beats every flow of the subtables left. Lookups do
// not allocate and the classifier is immutable, so any number of goroutines
// may use one concurrently.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/offload/pipeline, go.uber.org/zap.
package classifier

import (
	"sort"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// words is a key (or mask) seen as machine words.
type words = pipeline.KeyWords

// keyWords is the size of pipeline.Key in 64-bit words.
const keyWords = len(words{})

// view returns k as words.
func view(k *pipeline.Key) *words { return k.Words() }

// fieldBits has every bit of a pipeline.Key that belongs to a field set, and
// the padding bits clear, so masked keys never carry padding garbage.
var fieldBits = pipeline.KeyFieldBits

// entry is the best flow of one masked key in a subtable, with its rank (its
// index in the table's slice: lower is better).
type entry struct {
	flow *pipeline.Flow
	rank int32
}

// subtable holds the flows of one table that share one mask. Its map is
// keyed by the masked key's used words only, packed: most masks touch one
// to four words, and hashing 16 or 32 bytes is much cheaper than the
// whole key.
type subtable struct {
	mask    words
	used    []uint8 // indices of the non-zero words of mask
	minRank int32   // rank of the best flow in the subtable
	flows2  map[[2]uint64]entry
	flows4  map[[4]uint64]entry
	flowsN  map[words]entry
}

func newSubtable(m words, rank int32) *subtable {
	st := &subtable{mask: m, minRank: rank}
	for w := range m {
		if m[w] != 0 {
			st.used = append(st.used, uint8(w))
		}
	}
	switch {
	case len(st.used) <= 2:
		st.flows2 = make(map[[2]uint64]entry)
	case len(st.used) <= 4:
		st.flows4 = make(map[[4]uint64]entry)
	default:
		st.flowsN = make(map[words]entry)
	}
	return st
}

// packed returns k's used words under the mask, packed at the start.
func (st *subtable) packed(k *words) words {
	var r words
	for j, w := range st.used {
		r[j] = k[w] & st.mask[w]
	}
	return r
}

// get returns the entry of packet key k.
func (st *subtable) get(k *words) (entry, bool) {
	switch {
	case st.flows2 != nil:
		var r [2]uint64
		for j, w := range st.used {
			r[j] = k[w] & st.mask[w]
		}
		e, ok := st.flows2[r]
		return e, ok
	case st.flows4 != nil:
		var r [4]uint64
		for j, w := range st.used {
			r[j] = k[w] & st.mask[w]
		}
		e, ok := st.flows4[r]
		return e, ok
	}
	e, ok := st.flowsN[st.packed(k)]
	return e, ok
}

// add adds a flow unless a better one has the same masked key.
func (st *subtable) add(k *words, e entry) {
	if _, ok := st.get(k); ok {
		return
	}
	r := st.packed(k)
	switch {
	case st.flows2 != nil:
		st.flows2[[2]uint64(r[:2])] = e
	case st.flows4 != nil:
		st.flows4[[4]uint64(r[:4])] = e
	default:
		st.flowsN[r] = e
	}
}

func (st *subtable) len() int { return len(st.flows2) + len(st.flows4) + len(st.flowsN) }

// table is one flow table: its subtables by increasing minRank.
type table struct {
	subs []*subtable
}

// Classifier classifies packet keys against one snapshot. It is immutable and
// safe for concurrent use.
type Classifier struct {
	snap   *pipeline.Snapshot
	tables [pipeline.NumTables]table
}

// Compile builds the classifier of s. s must not change afterwards (snapshots
// never do).
func Compile(s *pipeline.Snapshot) *Classifier { return Recompile(nil, s) }

// Recompile builds the classifier of s, reusing the compiled tables of prev
// (nil: none) that s shares with prev's snapshot (Snapshot.SameTable). A
// pipeline's snapshot shares every table a change did not touch, so a
// flow mod costs one table's compile, not the whole pipeline's.
// Installing the same *Snapshot again compiles everything.
func Recompile(prev *Classifier, s *pipeline.Snapshot) *Classifier {
	c := &Classifier{snap: s}
	if prev != nil && prev.snap == s {
		prev = nil
	}
	for t := range uint8(pipeline.NumTables) {
		if prev != nil && s.SameTable(prev.snap, t) {
			c.tables[t] = prev.tables[t]
			continue
		}
		c.tables[t] = compileTable(s.Table(t))
	}
	return c
}

func compileTable(flows []*pipeline.Flow) table {
	byMask := make(map[words]*subtable)
	var subs []*subtable
	for i, f := range flows {
		mk := f.Match.Mask
		m := *view(&mk)
		for w := range m {
			m[w] &= fieldBits[w]
		}
		st := byMask[m]
		if st == nil {
			st = newSubtable(m, int32(i))
			byMask[m] = st
			subs = append(subs, st)
		}
		st.add(view(&f.Match.Key), entry{flow: f, rank: int32(i)})
	}
	// Subtables were created in rank order already; keep it explicit.
	sort.SliceStable(subs, func(a, b int) bool { return subs[a].minRank < subs[b].minRank })
	return table{subs: subs}
}

// Snapshot returns the snapshot the classifier was compiled from.
func (c *Classifier) Snapshot() *pipeline.Snapshot { return c.snap }

// Lookup returns the flow of table t that packet key k hits, or nil on a
// table miss: exactly what c.Snapshot().Lookup(t, k) returns.
func (c *Classifier) Lookup(t uint8, k *pipeline.Key) *pipeline.Flow {
	if int(t) >= len(c.tables) {
		return nil
	}
	kw := view(k)
	best := entry{rank: -1}
	for _, st := range c.tables[t].subs {
		if best.rank >= 0 && best.rank < st.minRank {
			break
		}
		e, ok := st.get(kw)
		if ok && (best.rank < 0 || e.rank < best.rank) {
			best = e
		}
	}
	return best.flow
}

// Stats describes the shape of one table of a classifier.
type Stats struct {
	Flows     int // distinct (mask, key) entries
	Subtables int // distinct masks
}

// TableStats returns the shape of table t.
func (c *Classifier) TableStats(t uint8) Stats {
	var s Stats
	for _, st := range c.tables[t].subs {
		s.Subtables++
		s.Flows += st.len()
	}
	return s
}
