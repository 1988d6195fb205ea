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

// ruleKey addresses a filter in the block.
type ruleKey struct {
	chain  uint32
	pref   uint16
	handle uint32
}

// refresh reads the counters of every filter in the block. Callers hold
// the network's mu.
func (t *tcTier) refresh(now time.Time) {
	if len(t.rules) == 0 {
		return
	}
	ds, err := t.cfg.Kernel.Dump(t.cfg.Block)
	if err != nil {
		t.log.Error("read tc counters", zap.Uint32("block", t.cfg.Block), zap.Error(err))
		return
	}
	byKey := make(map[ruleKey]*tcRule, len(t.rules)+len(t.twins))
	for _, rules := range []map[uint64]*tcRule{t.rules, t.twins} {
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
	t.statsAt = now
}

// flowCounts are a flow's counters in the tc tiers (zero when it never
// had a filter).
func (t *tcTier) flowCounts(id uint64) (hw, tc Counts) {
	if t == nil {
		return Counts{}, Counts{}
	}
	if r := t.rules[id]; r != nil {
		hw, tc = r.counts()
	}
	if r := t.twins[id]; r != nil {
		thw, ttc := r.counts()
		hw.add(thw)
		tc.add(ttc)
	}
	return hw, tc
}

// lastUsed is when a flow's filter last ran (zero: never).
func (t *tcTier) lastUsed(id uint64) time.Time {
	if t == nil {
		return time.Time{}
	}
	var last time.Time
	if r := t.rules[id]; r != nil {
		last = r.lastUsed
	}
	if r := t.twins[id]; r != nil && r.lastUsed.After(last) {
		last = r.lastUsed
	}
	return last
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
	for _, rules := range []map[uint64]*tcRule{t.rules, t.twins} {
		for _, r := range rules {
			tbl := r.tableOf()
			hw, tc := r.counts()
			matched[tbl] += hw.Packets + tc.Packets
			lookups[tbl] += hw.Packets + tc.Packets
		}
	}
	for tbl, b := range t.tableBase {
		matched[tbl] += b.Packets
		lookups[tbl] += b.Packets
	}
}

// tableOf is the table of the rule's flow.
func (r *tcRule) tableOf() uint8 { return r.table }

// forget drops a removed flow's tc state, keeping its counts in its
// table's totals.
func (t *tcTier) forget(f *pipeline.Flow) {
	hw, tc := t.flowCounts(f.ID)
	t.tableBase[f.Table].add(hw)
	t.tableBase[f.Table].add(tc)
	delete(t.rules, f.ID)
	delete(t.twins, f.ID)
	delete(t.inHW, f.ID)
	delete(t.refused, f.ID)
	delete(t.trans, f.ID)
	delete(t.placed, f.ID)
}
