package offload

import (
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/tcflower"
)

// absorb folds the current filter's counters into the rule's base, before
// the filter is replaced or removed.
func (r *tcRule) absorb() {
	hw, tc := r.curCounts()
	r.baseHW.add(hw)
	r.baseTC.add(tc)
	r.cur, r.adoptHW, r.adoptTC = tcflower.Stats{}, Counts{}, Counts{}
}

// setAdopted starts the rule's counting at an adopted filter's counters.
func (r *tcRule) setAdopted(s tcflower.Stats) {
	r.cur = s
	r.adoptHW = Counts{Packets: s.HWPackets, Bytes: s.HWBytes}
	r.adoptTC = Counts{Packets: s.SWPackets(), Bytes: s.SWBytes()}
}

// curCounts is what the current filter counted for this rule, split into
// hardware and kernel software.
func (r *tcRule) curCounts() (hw, tc Counts) {
	hw = Counts{Packets: sub(r.cur.HWPackets, r.adoptHW.Packets), Bytes: sub(r.cur.HWBytes, r.adoptHW.Bytes)}
	tc = Counts{Packets: sub(r.cur.SWPackets(), r.adoptTC.Packets), Bytes: sub(r.cur.SWBytes(), r.adoptTC.Bytes)}
	return hw, tc
}

// counts is everything the rule's filters counted, by tier.
func (r *tcRule) counts() (hw, tc Counts) {
	hw, tc = r.curCounts()
	hw.add(r.baseHW)
	tc.add(r.baseTC)
	return hw, tc
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// ruleKey addresses a filter in a block.
type ruleKey struct {
	chain  uint32
	pref   uint16
	handle uint32
}

// refresh reads the counters of every filter of every block. Callers hold
// the network's mu.
func (t *tcTier) refresh(now time.Time) {
	for _, b := range t.sortedBlocks() {
		t.refreshBlock(b, now)
	}
	t.statsAt = now
}

// refreshBlock reads the counters of the filters of b.
func (t *tcTier) refreshBlock(b *tcBlock, now time.Time) {
	if len(b.rules) == 0 {
		return
	}
	ds, err := b.dump(t.cfg.Kernel)
	if err != nil {
		t.log.Error("read tc counters", zap.Uint32("block", b.index), zap.String(logKeyPort, b.name), zap.Error(err))
		return
	}
	byKey := make(map[ruleKey]*tcRule, len(b.rules)+len(b.twins))
	for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
		for _, r := range rules {
			if r.filter != nil {
				byKey[ruleKey{r.filter.Chain, r.filter.Pref, r.filter.Handle}] = r
			}
		}
	}
	for i := range ds {
		d := &ds[i]
		k := ruleKey{d.Filter.Chain, d.Filter.Pref, d.Installed.Handle}
		r := byKey[k] // miss filters are no rule's
		if r == nil {
			continue
		}
		if d.Stats.Packets > r.cur.Packets {
			r.lastUsed = now.Add(-d.Stats.LastUsed)
		}
		r.cur = d.Stats
	}
}

// retire keeps what the filters of b counted, by flow, when b goes with
// its port: its rules' counters must not go backwards.
func (t *tcTier) retire(b *tcBlock) {
	for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
		for id, r := range rules {
			hw, tc := r.counts()
			rc := t.retired[id]
			if rc == nil {
				rc = &retiredCounts{table: r.table}
				t.retired[id] = rc
			}
			rc.hw.add(hw)
			rc.tc.add(tc)
		}
	}
}

// flowCounts are a flow's counters in the tc tiers, summed over its
// filters on every block (zero when it never had a filter).
func (t *tcTier) flowCounts(id uint64) (hw, tc Counts) {
	if t == nil {
		return Counts{}, Counts{}
	}
	for _, b := range t.blocks {
		for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
			if r := rules[id]; r != nil {
				rhw, rtc := r.counts()
				hw.add(rhw)
				tc.add(rtc)
			}
		}
	}
	if rc := t.retired[id]; rc != nil {
		hw.add(rc.hw)
		tc.add(rc.tc)
	}
	return hw, tc
}

// lastUsed is when a flow's filters last ran (zero: never).
func (t *tcTier) lastUsed(id uint64) time.Time {
	if t == nil {
		return time.Time{}
	}
	var last time.Time
	for _, b := range t.blocks {
		for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
			if r := rules[id]; r != nil && r.lastUsed.After(last) {
				last = r.lastUsed
			}
		}
	}
	return last
}

// hasRules reports whether any flow has had a filter.
func (t *tcTier) hasRules() bool {
	for _, b := range t.blocks {
		if len(b.rules) > 0 {
			return true
		}
	}
	return false
}

// tableCounts adds the tc tiers' lookups and matches to the fast path's:
// a packet a rule's filter took is a lookup and a match of its table
// (a packet entering chain t > 0 matched a rule there: the chain is
// complete). What the miss filters hand on is not counted here: the fast
// path looks it up in table 0 and counts that lookup itself.
func (t *tcTier) tableCounts(lookups, matched *[pipeline.NumTables]uint64) {
	if t == nil {
		return
	}
	for _, b := range t.blocks {
		for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
			for _, r := range rules {
				hw, tc := r.counts()
				matched[r.table] += hw.Packets + tc.Packets
				lookups[r.table] += hw.Packets + tc.Packets
			}
		}
	}
	for _, rc := range t.retired {
		matched[rc.table] += rc.hw.Packets + rc.tc.Packets
		lookups[rc.table] += rc.hw.Packets + rc.tc.Packets
	}
	for tbl, b := range t.tableBase {
		matched[tbl] += b.Packets
		lookups[tbl] += b.Packets
	}
}

// forget drops a removed flow's tc state, keeping its counts in its
// table's totals.
func (t *tcTier) forget(f *pipeline.Flow) {
	hw, tc := t.flowCounts(f.ID)
	t.tableBase[f.Table].add(hw)
	t.tableBase[f.Table].add(tc)
	delete(t.retired, f.ID)
	for _, b := range t.blocks {
		delete(b.rules, f.ID)
		delete(b.twins, f.ID)
		delete(b.inHW, f.ID)
		delete(b.twinInHW, f.ID)
		delete(b.refused, f.ID)
		delete(b.trans, f.ID)
		delete(b.placed, f.ID)
		delete(b.retry, f.ID)
	}
}

// forgetRefusals lets a new version of flow id try tc again.
func (t *tcTier) forgetRefusals(id uint64) {
	for _, b := range t.blocks {
		delete(b.refused, id)
	}
}

// filters counts the filters f has in the kernel now.
func (t *tcTier) filters(f *pipeline.Flow) int {
	if t == nil {
		return 0
	}
	n := 0
	for _, b := range t.blocks {
		for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
			if r := rules[f.ID]; r != nil && r.filter != nil && r.flow == f {
				n++
			}
		}
	}
	return n
}
