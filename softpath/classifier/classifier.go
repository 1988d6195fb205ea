// Package classifier is the software fast path's flow classifier: tuple space
// search over the flow tables of one pipeline.Snapshot.
//
// Every table's flows are grouped by mask into subtables; a subtable maps the
// masked packet key to the best flow with that mask and key (the highest
// priority, then the oldest: table order), keeping the others behind it. A
// lookup visits subtables in the order of their best flow and stops as soon
// as the flow found beats every flow of the subtables left. Lookups do not
// allocate and a classifier is immutable, so any number of goroutines may
// use one concurrently.
//
// A classifier is brought up to a later snapshot by the tables' changes
// (pipeline.Snapshot.TableChanges) when the pipeline's change log holds
// them: each subtable's map is split into shards of about shardSize
// entries, and a change copies the one shard it touches, so a flow mod
// costs O(shard), not O(table), while the old classifier stays intact for
// the lookups still using it. Written here rather than taken from a
// library: no Go library offers an immutable tuple space classifier with
// allocation-free lookups over a fixed-size key.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/offload/pipeline, go.uber.org/zap.
package classifier

import (
	"maps"
	"slices"
	"sort"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// words is a key (or mask) seen as machine words.
type words = pipeline.KeyWords

// view returns k as words.
func view(k *pipeline.Key) *words { return k.Words() }

// fieldBits has every bit of a pipeline.Key that belongs to a field set, and
// the padding bits clear, so masked keys never carry padding garbage.
var fieldBits = pipeline.KeyFieldBits

// rankOf orders flows as a table does: priority descending, then ID
// ascending (the older entry first); lower is better.
func rankOf(f *pipeline.Flow) uint64 {
	return uint64(^f.Priority)<<48 | f.ID&(1<<48-1)
}

// ranked is a flow with its rank.
type ranked struct {
	flow *pipeline.Flow
	rank uint64
}

// entry is the flows of one masked key in a subtable: the best, and the
// others (rare: same mask, same key, another priority) by rank. It is
// kept small: a lookup copies it out of the map.
type entry struct {
	ranked
	more *[]ranked
}

// others returns the entry's other flows.
func (e *entry) others() []ranked {
	if e.more == nil {
		return nil
	}
	return *e.more
}

// withOthers returns e with rs as its other flows.
func (e entry) withOthers(rs []ranked) entry {
	e.more = nil
	if len(rs) > 0 {
		e.more = &rs
	}
	return e
}

// shardSize is the number of entries a subtable's shard holds on average
// before the subtable splits its shards.
const shardSize = 512

// key2 and key4 are masked keys of at most two and four used words,
// packed; most masks touch one to four words, and hashing 16 or 32 bytes
// is cheaper than 160.
type (
	key2 = [2]uint64
	key4 = [4]uint64
)

// subtable holds the flows of one table that share one mask. Its entries
// are spread over shards by a hash of the masked key; shards are never
// changed once a classifier uses them (a change copies the shard).
type subtable struct {
	mask    words
	used    []uint8 // indices of the non-zero words of mask
	minRank uint64  // at most the rank of the best flow in the subtable
	n       int     // entries
	bits    uint8   // len(shards2, shards4 or shardsN) is 1<<bits
	shards2 []map[key2]entry
	shards4 []map[key4]entry
	shardsN []map[words]entry
}

func newSubtable(m words, bits uint8) *subtable {
	st := &subtable{mask: m, minRank: ^uint64(0), bits: bits}
	for w := range m {
		if m[w] != 0 {
			st.used = append(st.used, uint8(w))
		}
	}
	switch {
	case len(st.used) <= len(key2{}):
		st.shards2 = make([]map[key2]entry, 1<<bits)
	case len(st.used) <= len(key4{}):
		st.shards4 = make([]map[key4]entry, 1<<bits)
	default:
		st.shardsN = make([]map[words]entry, 1<<bits)
	}
	return st
}

// mix folds a word into a shard hash.
func mix(x, w uint64) uint64 { return (x ^ w) * 0x9e3779b97f4a7c15 }

// shardIndex returns the shard of a shard hash.
func (st *subtable) shardIndex(x uint64) int {
	if st.bits == 0 {
		return 0
	}
	return int(x >> (64 - st.bits))
}

// shardOf returns the shard of a packed masked key.
func (st *subtable) shardOf(r *words) int {
	return st.shardIndex(mixAll(r[:len(st.used)]))
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
	case st.shards2 != nil:
		var r key2
		for j, w := range st.used {
			r[j] = k[w] & st.mask[w]
		}
		i := 0
		if st.bits > 0 {
			i = st.shardIndex(mixAll(r[:len(st.used)]))
		}
		e, ok := st.shards2[i][r]
		return e, ok
	case st.shards4 != nil:
		var r key4
		for j, w := range st.used {
			r[j] = k[w] & st.mask[w]
		}
		i := 0
		if st.bits > 0 {
			i = st.shardIndex(mixAll(r[:len(st.used)]))
		}
		e, ok := st.shards4[i][r]
		return e, ok
	}
	r := st.packed(k)
	e, ok := st.shardsN[st.shardOf(&r)][r]
	return e, ok
}

// mixAll is the shard hash of packed words.
func mixAll(r []uint64) uint64 {
	x := uint64(0)
	for _, w := range r {
		x = mix(x, w)
	}
	return x
}

// lookupPacked returns the entry of a packed masked key.
func (st *subtable) lookupPacked(r *words) (entry, bool) {
	switch {
	case st.shards2 != nil:
		e, ok := st.shards2[st.shardOf(r)][key2(r[:2])]
		return e, ok
	case st.shards4 != nil:
		e, ok := st.shards4[st.shardOf(r)][key4(r[:4])]
		return e, ok
	}
	e, ok := st.shardsN[st.shardOf(r)][*r]
	return e, ok
}

// edit is a subtable being changed: the shards it has copied already.
type edit struct {
	st     *subtable
	copied map[int]bool
}

// store sets the entry of a packed masked key (ok false: deletes it),
// copying its shard first unless this edit did already.
func (ed *edit) store(r *words, e entry, ok bool) {
	st := ed.st
	i := st.shardOf(r)
	if !ed.copied[i] {
		ed.copied[i] = true
		switch {
		case st.shards2 != nil:
			st.shards2[i] = maps.Clone(st.shards2[i])
			if st.shards2[i] == nil {
				st.shards2[i] = map[key2]entry{}
			}
		case st.shards4 != nil:
			st.shards4[i] = maps.Clone(st.shards4[i])
			if st.shards4[i] == nil {
				st.shards4[i] = map[key4]entry{}
			}
		default:
			st.shardsN[i] = maps.Clone(st.shardsN[i])
			if st.shardsN[i] == nil {
				st.shardsN[i] = map[words]entry{}
			}
		}
	}
	_, had := st.lookupPacked(r)
	switch {
	case ok && st.shards2 != nil:
		st.shards2[i][key2(r[:2])] = e
	case ok && st.shards4 != nil:
		st.shards4[i][key4(r[:4])] = e
	case ok:
		st.shardsN[i][*r] = e
	case st.shards2 != nil:
		delete(st.shards2[i], key2(r[:2]))
	case st.shards4 != nil:
		delete(st.shards4[i], key4(r[:4]))
	default:
		delete(st.shardsN[i], *r)
	}
	switch {
	case ok && !had:
		st.n++
	case !ok && had:
		st.n--
	}
}

// add adds f under its masked key.
func (ed *edit) add(r *words, f ranked) {
	e, ok := ed.st.lookupPacked(r)
	switch {
	case !ok:
		e = entry{ranked: f}
	case f.rank < e.rank:
		best := e.ranked
		e.ranked = f
		e = e.withOthers(insertRanked(e.others(), best))
	default:
		e = e.withOthers(insertRanked(e.others(), f))
	}
	ed.store(r, e, true)
	ed.st.minRank = min(ed.st.minRank, f.rank)
}

// remove removes f from its masked key's entry, if it is there.
func (ed *edit) remove(r *words, f *pipeline.Flow) {
	e, ok := ed.st.lookupPacked(r)
	if !ok {
		return
	}
	more := e.others()
	switch {
	case e.flow == f && len(more) == 0:
		ed.store(r, entry{}, false)
	case e.flow == f:
		e.ranked = more[0]
		ed.store(r, e.withOthers(slices.Clone(more[1:])), true)
	default:
		i := slices.IndexFunc(more, func(x ranked) bool { return x.flow == f })
		if i < 0 {
			return
		}
		ed.store(r, e.withOthers(slices.Delete(slices.Clone(more), i, i+1)), true)
	}
}

// insertRanked returns a copy of rs with f in rank order.
func insertRanked(rs []ranked, f ranked) []ranked {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].rank > f.rank })
	out := make([]ranked, 0, len(rs)+1)
	out = append(out, rs[:i]...)
	out = append(out, f)
	return append(out, rs[i:]...)
}

// table is one flow table: its subtables by increasing minRank.
type table struct {
	subs   []*subtable
	byMask map[words]*subtable
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

// Recompile returns the classifier of s made from prev (nil: none): a table
// s shares with prev's snapshot is prev's, a table whose changes since
// prev's snapshot the pipeline's change log holds is prev's with them
// applied (its shards copied where they change), and the rest are
// compiled. Installing the same *Snapshot again compiles everything.
func Recompile(prev *Classifier, s *pipeline.Snapshot) *Classifier {
	c := &Classifier{snap: s}
	if prev != nil && prev.snap == s {
		prev = nil
	}
	for t := range uint8(pipeline.NumTables) {
		if prev != nil {
			if s.SameTable(prev.snap, t) {
				c.tables[t] = prev.tables[t]
				continue
			}
			if changes, ok := s.TableChanges(t, prev.snap); ok {
				c.tables[t] = prev.tables[t].apply(changes)
				continue
			}
		}
		c.tables[t] = compileTable(s.Table(t))
	}
	return c
}

// maskOf returns f's mask without padding bits.
func maskOf(f *pipeline.Flow) words {
	m := *view(&f.Match.Mask)
	for w := range m {
		m[w] &= fieldBits[w]
	}
	return m
}

func compileTable(flows []*pipeline.Flow) table {
	byMask := make(map[words][]*pipeline.Flow)
	var order []words
	for _, f := range flows {
		m := maskOf(f)
		if _, ok := byMask[m]; !ok {
			order = append(order, m)
		}
		byMask[m] = append(byMask[m], f)
	}
	tb := table{byMask: make(map[words]*subtable, len(order))}
	for _, m := range order {
		fs := byMask[m]
		bits := uint8(0)
		for len(fs) > shardSize<<bits {
			bits++
		}
		st := newSubtable(m, bits)
		ed := edit{st: st, copied: map[int]bool{}}
		for _, f := range fs {
			r := st.packed(view(&f.Match.Key))
			ed.add(&r, ranked{f, rankOf(f)})
		}
		tb.subs = append(tb.subs, st)
		tb.byMask[m] = st
	}
	tb.sortSubs()
	return tb
}

func (tb *table) sortSubs() {
	sort.SliceStable(tb.subs, func(a, b int) bool { return tb.subs[a].minRank < tb.subs[b].minRank })
}

// apply returns tb with the changes applied, sharing what they leave alone.
func (tb table) apply(changes []pipeline.TableChange) table {
	out := table{subs: slices.Clone(tb.subs), byMask: maps.Clone(tb.byMask)}
	if out.byMask == nil {
		out.byMask = map[words]*subtable{}
	}
	edits := map[words]*edit{}
	editOf := func(m words) *edit {
		if ed := edits[m]; ed != nil {
			return ed
		}
		var st *subtable
		if old := out.byMask[m]; old != nil {
			c := *old
			c.shards2, c.shards4, c.shardsN = slices.Clone(old.shards2), slices.Clone(old.shards4), slices.Clone(old.shardsN)
			st = &c
			out.subs[slices.Index(out.subs, old)] = st
		} else {
			st = newSubtable(m, 0)
			out.subs = append(out.subs, st)
		}
		out.byMask[m] = st
		ed := &edit{st: st, copied: map[int]bool{}}
		edits[m] = ed
		return ed
	}
	for _, ch := range changes {
		m := maskOf(ch.Flow)
		ed := editOf(m)
		r := ed.st.packed(view(&ch.Flow.Match.Key))
		if ch.Added {
			ed.add(&r, ranked{ch.Flow, rankOf(ch.Flow)})
		} else {
			ed.remove(&r, ch.Flow)
		}
	}
	for m, ed := range edits {
		st := ed.st
		if st.n == 0 {
			out.subs = slices.DeleteFunc(out.subs, func(x *subtable) bool { return x == st })
			delete(out.byMask, m)
			continue
		}
		if st.n > shardSize<<(st.bits+1) {
			*st = *compileTable(st.flows()).subs[0] // split its shards: O(subtable), once per doubling
		}
	}
	out.sortSubs()
	return out
}

// flows returns every flow of the subtable.
func (st *subtable) flows() []*pipeline.Flow {
	var out []*pipeline.Flow
	each := func(e entry) {
		out = append(out, e.flow)
		for _, x := range e.others() {
			out = append(out, x.flow)
		}
	}
	for _, sh := range st.shards2 {
		for _, e := range sh {
			each(e)
		}
	}
	for _, sh := range st.shards4 {
		for _, e := range sh {
			each(e)
		}
	}
	for _, sh := range st.shardsN {
		for _, e := range sh {
			each(e)
		}
	}
	return out
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
	var best ranked
	found := false
	for _, st := range c.tables[t].subs {
		if found && best.rank < st.minRank {
			break
		}
		e, ok := st.get(kw)
		if ok && (!found || e.rank < best.rank) {
			best, found = e.ranked, true
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
		s.Flows += st.n
	}
	return s
}
