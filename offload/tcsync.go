package offload

import (
	"errors"
	"reflect"
	"sort"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/tcflower"
)

// maxSyncPasses bounds the place-install rounds of one sync: a refusal or
// an in_hw read back changes the placement, which may move other rules.
const maxSyncPasses = 4

// syncTC brings the kernel's filters in line with the pipeline: it places
// every rule, removes the filters of rules that left tc, installs or
// replaces the others, and places again while the kernel's answers
// (refusals, in_hw) change the picture. Callers hold mu.
func (n *Network) syncTC() {
	t := n.tc
	if t == nil || !t.dirty {
		return
	}
	t.dirty = false
	t.start()
	snap := n.pipe.Snapshot()
	in := placeInput{
		policy:    t.policy,
		inHW:      t.inHW,
		env:       n.tierEnv(snap),
		translate: t.translate,
		meterUse:  meterUse(snap),
	}
	for pass := 0; pass < maxSyncPasses; pass++ {
		in.refused = t.refusedReasons()
		t.placed = place(snap, in)
		if !n.applyPlacement(snap) {
			return
		}
	}
}

func (t *tcTier) refusedReasons() map[uint64]string {
	out := make(map[uint64]string, len(t.refused))
	for id, r := range t.refused {
		out[id] = r.msg
	}
	return out
}

// applyPlacement makes the kernel hold t.placed. It reports whether the
// kernel's answers changed something placement depends on.
func (n *Network) applyPlacement(snap *pipeline.Snapshot) (changed bool) {
	t := n.tc
	// Removals first, earliest table first: a jump into a chain goes
	// before the chain's rules do.
	var gone []*tcRule
	var goneIDs []uint64
	for id, r := range t.rules {
		if r.filter == nil {
			continue
		}
		if f := n.pipe.Flow(id); f == nil || t.placed[id].Tier == TierSoft {
			gone = append(gone, r)
			goneIDs = append(goneIDs, id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return lessFilter(gone[i].filter, gone[j].filter) })
	for _, r := range gone {
		t.removeFilter(r)
	}
	// Installs, last table first and lowest priority first, so a chain is
	// complete before anything jumps into it.
	for tbl := len(snap.Tables) - 1; tbl >= 0; tbl-- {
		flows := snap.Tables[tbl]
		for i := len(flows) - 1; i >= 0; i-- {
			f := flows[i]
			p := t.placed[f.ID]
			if p.Tier == TierSoft || p.Filter == nil {
				continue
			}
			if n.installRule(f, p) {
				changed = true
			}
		}
	}
	return changed
}

// lessFilter orders filters by chain, then pref.
func lessFilter(a, b *tcflower.Filter) bool {
	if a.Chain != b.Chain {
		return a.Chain < b.Chain
	}
	return a.Pref < b.Pref
}

// wantFlags are the flags of a rule placed in tier: the policy's, and
// under auto skip_hw for a rule placement keeps out of hardware though the
// driver would take it (closure: a higher overlapping rule runs later).
func (t *tcTier) wantFlags(id uint64, tier Tier) tcflower.Flags {
	flags := t.tierFlags()
	if t.policy == PolicyAuto && tier == TierTC {
		if hw, known := t.inHW[id]; !known || hw {
			flags = tcflower.FlagSkipHW
		}
	}
	return flags
}

// installRule installs or replaces f's filter. It reports whether the
// kernel's answer changed the inputs of placement.
func (n *Network) installRule(f *pipeline.Flow, p Placement) (changed bool) {
	t := n.tc
	want := *p.Filter
	want.Flags = t.wantFlags(f.ID, p.Tier)
	r := t.rules[f.ID]
	if r == nil {
		r = &tcRule{table: f.Table}
		t.rules[f.ID] = r
	}
	var inst tcflower.Installed
	var err error
	switch {
	case r.filter != nil:
		want.Handle = r.filter.Handle
		if r.flow == f && reflect.DeepEqual(r.filter, &want) {
			return false
		}
		// Replacing resets the actions' counters: keep what they counted.
		if d, gerr := t.cfg.Kernel.Get(t.cfg.Block, want.Chain, want.Pref, want.Handle); gerr == nil {
			r.cur = d.Stats
		}
		inst, err = t.cfg.Kernel.Replace(t.cfg.Block, &want)
		if err != nil {
			t.removeFilter(r) // the old filter would do what the rule no longer says
		}
		r.absorb() // keeps the old filter's counts (after a failed replace, removeFilter has absorbed them)
	default:
		inst, err = t.adoptOrAdd(r, &want)
	}
	if err != nil {
		t.refused[f.ID] = refusal{flow: f, msg: kernelMessage(err)}
		t.refusals++
		n.log.Warn("tc refused a rule; it runs in the fast path",
			zap.Uint8("table", f.Table), zap.Uint16("priority", f.Priority), zap.Uint64("cookie", f.Cookie),
			zap.String("filter", want.String()), zap.Error(err))
		return true
	}
	want.Handle = inst.Handle
	r.flow, r.filter = f, &want
	r.tier = t.installedTier(want.Flags, inst)
	if t.policy == PolicyAuto && want.Flags == 0 {
		if hw, known := t.inHW[f.ID]; !known || hw != inst.InHW {
			t.inHW[f.ID] = inst.InHW
			return known || !inst.InHW // placement assumed the earlier answer, or hardware
		}
	}
	return false
}

// installedTier is where a filter with flags runs, by the kernel's answer.
func (t *tcTier) installedTier(flags tcflower.Flags, inst tcflower.Installed) Tier {
	switch {
	case flags&tcflower.FlagSkipSW != 0:
		return TierHW
	case flags&tcflower.FlagSkipHW != 0:
		return TierTC
	case inst.InHW:
		return TierHW
	}
	return TierTC
}

// adoptOrAdd installs want, taking over a filter of an earlier run that
// does the same (its counters so far are not the rule's).
func (t *tcTier) adoptOrAdd(r *tcRule, want *tcflower.Filter) (tcflower.Installed, error) {
	if i := t.findOrphan(want, true); i >= 0 {
		o := t.orphans[i]
		t.orphans = append(t.orphans[:i], t.orphans[i+1:]...)
		// What it counted since start read it is not the rule's either.
		if d, err := t.cfg.Kernel.Get(t.cfg.Block, o.d.Filter.Chain, o.d.Filter.Pref, o.d.Installed.Handle); err == nil {
			o.d.Stats = d.Stats
		}
		r.setAdopted(o.d.Stats)
		return o.d.Installed, nil
	}
	inst, err := t.cfg.Kernel.Add(t.cfg.Block, want)
	if isErrno(err, unix.EEXIST) {
		// An earlier run's filter with the same keys but other actions:
		// flower keeps one filter per key and pref. Take it over.
		if i := t.findOrphan(want, false); i >= 0 {
			o := t.orphans[i]
			t.orphans = append(t.orphans[:i], t.orphans[i+1:]...)
			// The replaced filter's actions count from zero.
			want.Handle = o.d.Installed.Handle
			inst, err := t.cfg.Kernel.Replace(t.cfg.Block, want)
			if err != nil {
				// The earlier run's filter does what the rule no longer
				// says, in front of the fast path: remove it.
				if _, rerr := t.cfg.Kernel.Remove(t.cfg.Block, want.Chain, want.Pref, want.Handle); rerr != nil && !isErrno(rerr, unix.ENOENT) {
					t.log.Error("remove a filter of an earlier run", zap.String("filter", o.d.Filter.String()), zap.Error(rerr))
				}
			}
			return inst, err
		}
	}
	return inst, err
}

// findOrphan returns the index of an orphan filter equal to want (exact)
// or with want's chain, pref and keys (!exact), or -1.
func (t *tcTier) findOrphan(want *tcflower.Filter, exact bool) int {
	w := comparable(want)
	for i, o := range t.orphans {
		g := comparable(&o.d.Filter)
		if g.Chain != w.Chain || g.Pref != w.Pref {
			continue
		}
		if exact && reflect.DeepEqual(g, w) || !exact && reflect.DeepEqual(g.Keys, w.Keys) {
			return i
		}
	}
	return -1
}

// comparable is f as the kernel reads it back, without handle and cookie.
func comparable(f *tcflower.Filter) tcflower.Filter {
	g := f.AsInstalled()
	g.Handle, g.Cookie = 0, nil
	return g
}

// removeFilter removes r's filter, keeping its final counters.
func (t *tcTier) removeFilter(r *tcRule) {
	f := r.filter
	d, err := t.cfg.Kernel.Remove(t.cfg.Block, f.Chain, f.Pref, f.Handle)
	switch {
	case err == nil:
		r.cur = d.Stats
	case isErrno(err, unix.ENOENT):
		// Gone already (removed by hand): keep the last counters read.
	default:
		t.log.Error("remove tc filter", zap.String("filter", f.String()), zap.Error(err))
	}
	r.absorb()
	r.filter = nil
}

// start reads the block once: filters of an earlier run are kept as
// orphans until a re-sent rule adopts them or reconcile removes them.
func (t *tcTier) start() {
	if t.statsAt.IsZero() && t.orphans == nil {
		t.orphans = []*orphan{}
		ds, err := t.cfg.Kernel.Dump(t.cfg.Block)
		if err != nil {
			t.log.Error("read the filters of an earlier run", zap.Uint32("block", t.cfg.Block), zap.Error(err))
			return
		}
		for _, d := range ds {
			c, ok := tcflower.ParseCookie(d.Filter.Cookie)
			if !ok || c.FlowID == 0 || d.DecodeErr != nil {
				continue // miss filters are replaced per port; others are not ours
			}
			t.orphans = append(t.orphans, &orphan{d: d})
		}
		if len(t.orphans) > 0 {
			t.log.Info("found filters of an earlier run; they keep forwarding until the controller re-sends its rules",
				zap.Int("filters", len(t.orphans)), zap.Duration("reconcile_in", t.cfg.ReconcileDelay))
		}
	}
}

// reconcile removes the orphans no rule adopted.
func (t *tcTier) reconcile() int {
	n := 0
	for _, o := range t.orphans {
		f := o.d.Filter
		if _, err := t.cfg.Kernel.Remove(t.cfg.Block, f.Chain, f.Pref, o.d.Installed.Handle); err != nil && !isErrno(err, unix.ENOENT) {
			t.log.Error("remove a filter of an earlier run", zap.String("filter", f.String()), zap.Error(err))
			continue
		}
		n++
	}
	t.orphans = t.orphans[:0]
	return n
}

// kernelMessage is the kernel's own words for err (the extended ack when
// it sent one).
func kernelMessage(err error) string {
	var e *tcflower.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

func isErrno(err error, errno unix.Errno) bool {
	var e *tcflower.Error
	return errors.As(err, &e) && e.Errno == errno
}
