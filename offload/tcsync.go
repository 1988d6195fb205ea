package offload

import (
	"errors"
	"maps"
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

// syncTC brings the kernel's filters in line with the pipeline: on each
// block it places the rules of the tables that changed since the last sync
// (and of the tables that jump to them), removes the filters of rules that
// left tc, installs or replaces the others, and places again while the
// kernel's answers (refusals, in_hw) change the picture. Callers hold mu.
func (n *Network) syncTC() {
	t := n.tc
	if t == nil || !t.dirty {
		return
	}
	t.dirty = false
	snap := n.pipe.Snapshot()
	env := n.tierEnv(snap)
	use := meterUse(snap)
	noRecv, noFwd := n.portConfigs()
	dirty := t.redo | t.changedTables(snap)
	if !maps.Equal(use, t.meterUse) {
		dirty = allTables // a flow's meter became shared or private
	}
	t.meterUse, t.lastSnap, t.redo = use, snap, 0
	blocks := t.sortedBlocks()
	for _, b := range blocks {
		t.start(b)
		dirty |= t.retryFreed(b)
	}
	for pass := 0; pass < maxSyncPasses && dirty != 0; pass++ {
		for _, b := range blocks {
			dirty |= t.retryFreed(b)
			in := placeInput{
				policy:    t.policy,
				port:      b.port,
				inHW:      b.ruleInHW(),
				refused:   b.refusedReasons(),
				env:       env,
				translate: func(f *pipeline.Flow, env tcflower.Env) (*tcflower.Filter, error) { return t.translate(b, f, env) },
				meterUse:  use,
				guardErr:  b.guardErr,
				fragDrop:  t.fragDrop,
				noRecv:    noRecv,
				noFwd:     noFwd,
			}
			placed := b.ps.place(snap, in, dirty, b.placed)
			n.applyPlacement(b, snap, placed)
		}
		dirty, t.redo = t.redo, 0
	}
	t.redo = dirty // what the last pass's answers changed: at the next sync
	if t.reconciled {
		n.reconcileEarlier() // blocks read for the first time by this sync
	}
}

// changedTables returns the tables whose flows differ from the snapshot
// placed last. The pipeline copies a table into a new snapshot only when
// it changed, and snapshots never change, so the same slice means the
// same flows.
// retryFreed gives the rules the device had no room for another try
// once a filter has left it: under hw those it refused with ENOSPC are
// placed again, under auto those installed without flags that it did not
// take are installed again as they are (the kernel offers them to the
// device anew and in_hw is read back). It returns the tables to place.
func (t *tcTier) retryFreed(b *tcBlock) tableSet {
	if !b.hwFreed {
		return 0
	}
	b.hwFreed = false
	var tables tableSet
	for id, r := range b.refused {
		if r.errno == unix.ENOSPC {
			delete(b.refused, id)
			tables.add(int(r.flow.Table))
		}
	}
	if t.policy == PolicyAuto {
		for id, r := range b.rules {
			if r.filter != nil && r.filter.Flags == 0 && !b.inHW[id] {
				b.retry[id] = true
				tables.add(int(r.table))
			}
		}
	}
	return tables
}

func (t *tcTier) changedTables(s *pipeline.Snapshot) tableSet {
	if t.lastSnap == nil {
		return allTables
	}
	var out tableSet
	for i := range pipeline.NumTables {
		if !s.SameTable(t.lastSnap, uint8(i)) {
			out.add(i)
		}
	}
	return out
}

func (b *tcBlock) refusedReasons() map[uint64]string {
	out := make(map[uint64]string, len(b.refused))
	for id, r := range b.refused {
		out[id] = r.msg
	}
	return out
}

// applyPlacement makes block b hold b.placed for the rules of tables.
// The tables whose rules got answers from the kernel that change their
// placement (refusals, in_hw) are added to t.redo.
func (n *Network) applyPlacement(b *tcBlock, snap *pipeline.Snapshot, tables tableSet) {
	t := n.tc
	// Removals first, earliest table first: a jump into a chain goes
	// before the chain's rules do.
	var gone []*tcRule
	for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
		for id, r := range rules {
			if r.filter == nil || !tables.has(int(r.table)) {
				continue
			}
			if p, ok := b.placed[id]; !ok || p.Tier == TierSoft || n.pipe.Flow(id) == nil {
				gone = append(gone, r)
			}
		}
	}
	sort.Slice(gone, func(i, j int) bool { return lessFilter(gone[i].filter, gone[j].filter) })
	for _, r := range gone {
		t.removeFilter(b, r)
	}
	t.flush(b)
	// The TTL guards the rules to install need go in first.
	if !n.growGuards(b) {
		return
	}
	// Installs, last table first, so a chain is complete before anything
	// jumps into it, and highest priority first, so a rule never runs
	// without the overlapping rules above it (and a device that runs out
	// of room refuses the lower ones).
	for tbl := pipeline.NumTables - 1; tbl >= 0; tbl-- {
		if !tables.has(tbl) {
			continue
		}
		flows := snap.Table(uint8(tbl))
		for _, f := range flows {
			p, ok := b.placed[f.ID]
			if !ok || p.Tier == TierSoft || p.Filter == nil {
				continue
			}
			n.installRule(b, f, p)
		}
	}
	t.flush(b)
	n.shrinkGuards(b)
}

// lessFilter orders filters by chain, then pref.
func lessFilter(a, b *tcflower.Filter) bool {
	if a.Chain != b.Chain {
		return a.Chain < b.Chain
	}
	return a.Pref < b.Pref
}

// wantFlags are the flags of a rule placed in tier with filter src: the
// policy's, and under auto skip_hw for a rule placement keeps out of
// hardware though the driver would take it (closure: a higher overlapping
// rule runs later), and always for a filter that decrements a TTL (its
// guard runs in kernel software: the driver must not be offered it).
func (t *tcTier) wantFlags(b *tcBlock, id uint64, tier Tier, src *tcflower.Filter) tcflower.Flags {
	flags := t.tierFlags()
	if t.policy == PolicyAuto && tier == TierTC {
		if hw, known := b.inHW[id]; !known || hw || b.twinInHW[id] || src.TTL.Decrements() {
			flags = tcflower.FlagSkipHW
		}
	}
	return flags
}

// ruleInHW is, under auto, whether each flow's filters went to hardware:
// both halves when it has two.
func (b *tcBlock) ruleInHW() map[uint64]bool {
	if len(b.twinInHW) == 0 {
		return b.inHW
	}
	out := make(map[uint64]bool, len(b.inHW))
	for id, hw := range b.inHW {
		tw, known := b.twinInHW[id]
		out[id] = hw && (!known || tw)
	}
	return out
}

// installRule installs or replaces f's filter: the requests wait in
// b.pending for the next flush, which sends them in order, pipelined. A
// kernel answer that changes the inputs of placement (refusal, in_hw) adds
// f's table to t.redo.
func (n *Network) installRule(b *tcBlock, f *pipeline.Flow, p Placement) {
	n.installFilter(b, f, p, p.Filter, false)
	switch tw := b.twins[f.ID]; {
	case p.Filter.Twin != nil:
		if _, refused := b.refused[f.ID]; !refused {
			n.installFilter(b, f, p, p.Filter.Twin, true)
		}
	case tw != nil && tw.filter != nil:
		n.tc.removeFilter(b, tw) // the rule no longer needs its 802.1ad half
	}
}

// installFilter installs src, one filter of f's translation (its twin
// half when twin), like installRule.
func (n *Network) installFilter(b *tcBlock, f *pipeline.Flow, p Placement, src *tcflower.Filter, twin bool) {
	t := n.tc
	rules := b.rules
	if twin {
		rules = b.twins
	}
	flags := t.wantFlags(b, f.ID, p.Tier, src)
	r := rules[f.ID]
	retry := b.retry[f.ID]
	if !retry && r != nil && r.filter != nil && r.flow == f && r.src == src && r.filter.Flags == flags {
		return // installed from this very translation
	}
	want := *src
	want.Flags, want.Twin = flags, nil
	if r == nil {
		r = &tcRule{table: f.Table}
		rules[f.ID] = r
	}
	// Under auto a filter without skip flags is echoed: in_hw says
	// whether the device took it.
	echo := flags&(tcflower.FlagSkipHW|tcflower.FlagSkipSW) == 0
	switch {
	case r.filter != nil:
		want.Handle = r.filter.Handle
		if !retry && r.flow == f && reflect.DeepEqual(r.filter, &want) {
			r.src = src
			return
		}
		// Replacing resets the actions' counters: the old filter's are
		// read in the same batch, just before the replace.
		key := ruleKey{want.Chain, want.Pref, want.Handle}
		b.pending = append(b.pending,
			pendingOp{kind: opReadOld, r: r, key: key},
			pendingOp{kind: opReplace, f: f, src: src, twin: twin, r: r, want: want, echo: echo})
	case len(b.orphans) == 0:
		// Nothing to adopt: the filter goes in a batch with a handle of
		// ours.
		t.nextHandle++
		want.Handle = t.nextHandle
		b.pending = append(b.pending, pendingOp{kind: opAdd, f: f, src: src, twin: twin, r: r, want: want, echo: echo})
	default:
		t.flush(b)
		inst, err := t.adoptOrAdd(b, r, &want)
		if t.installed(b, f, src, twin, r, &want, inst, err) {
			t.redo.add(int(f.Table))
		}
	}
}

// pendingKind is what a request waiting in b.pending is for.
type pendingKind uint8

const (
	opAdd     pendingKind = iota + 1 // add want for r
	opReadOld                        // read the counters of r's filter at key before opReplace
	opReplace                        // replace r's filter with want
	opRemove                         // remove r's filter at key, keeping its counters
)

// pendingOp is a kernel request waiting in b.pending for flush, with what
// its answer is recorded for.
type pendingOp struct {
	kind pendingKind
	f    *pipeline.Flow
	src  *tcflower.Filter
	twin bool
	r    *tcRule
	want tcflower.Filter // opAdd, opReplace
	echo bool            // opAdd, opReplace: read the filter back (in_hw)
	key  ruleKey         // opReadOld, opRemove
}

// op is p as a request on block.
func (p *pendingOp) op(block uint32) tcflower.Op {
	switch p.kind {
	case opAdd:
		return tcflower.Op{Kind: tcflower.OpAdd, Block: block, Filter: &p.want, Echo: p.echo}
	case opReplace:
		return tcflower.Op{Kind: tcflower.OpReplace, Block: block, Filter: &p.want, Echo: p.echo}
	case opReadOld:
		return tcflower.Op{Kind: tcflower.OpGet, Block: block, Chain: p.key.chain, Pref: p.key.pref, Handle: p.key.handle}
	}
	return tcflower.Op{Kind: tcflower.OpRemove, Block: block, Chain: p.key.chain, Pref: p.key.pref, Handle: p.key.handle}
}

// flush sends the requests waiting in b.pending in one pipelined batch
// and records the kernel's answers, in order; what they queue (the
// removal of a filter whose replacement was refused) goes in the next.
func (t *tcTier) flush(b *tcBlock) {
	for len(b.pending) > 0 {
		pending := b.pending
		b.pending = nil
		ops := make([]tcflower.Op, len(pending))
		for i := range pending {
			ops[i] = pending[i].op(b.index)
		}
		answers := t.cfg.Kernel.Batch(ops)
		for i := range pending {
			t.answered(b, &pending[i], answers[i])
		}
	}
}

// answered records the kernel's answer a to p.
func (t *tcTier) answered(b *tcBlock, p *pendingOp, a tcflower.Answer) {
	r := p.r
	switch p.kind {
	case opReadOld:
		if a.Err == nil {
			r.cur = b.fixHWBytes(a.Dumped.Stats)
		}
		return
	case opRemove:
		switch err := a.Err; {
		case err == nil:
			r.cur = b.fixHWBytes(a.Dumped.Stats)
		case isErrno(err, unix.ENOENT):
			// Gone already (removed by hand): keep the last counters read.
		default:
			t.log.Error("remove tc filter", zap.String("filter", p.want.String()), zap.Error(err))
		}
		r.absorb()
		return
	}
	want := p.want // r.filter keeps it: not the pending array
	inst := a.Installed
	if !p.echo {
		inst = tcflower.Installed{Handle: want.Handle}
	}
	if p.kind == opReplace {
		if a.Err != nil {
			// The old filter would do what the rule no longer says; its
			// removal keeps its counters (read just before).
			t.removeFilter(b, r)
		} else {
			r.absorb() // keeps the old filter's counts
		}
	}
	if t.installed(b, p.f, p.src, p.twin, r, &want, inst, a.Err) {
		t.redo.add(int(p.f.Table))
	}
}

// installed records the kernel's answer to the install of want, made
// from src, for f (its 802.1ad half when twin). It reports whether the
// answer changed the inputs of placement.
func (t *tcTier) installed(b *tcBlock, f *pipeline.Flow, src *tcflower.Filter, twin bool, r *tcRule, want *tcflower.Filter, inst tcflower.Installed, err error) (changed bool) {
	if !twin {
		delete(b.retry, f.ID)
	}
	if err != nil {
		b.refused[f.ID] = refusal{flow: f, msg: kernelMessage(err), errno: kernelErrno(err)}
		t.refusals++
		where := "it runs in the fast path"
		if b.name != "" {
			where = "it runs in the fast path for packets from " + b.name
		}
		t.log.Warn("tc refused a rule; "+where,
			zap.Uint8("table", f.Table), zap.Uint16("priority", f.Priority), zap.Uint64("cookie", f.Cookie),
			zap.String(logKeyPort, b.name), zap.String("filter", want.String()), zap.Error(err))
		return true
	}
	want.Handle = inst.Handle
	r.flow, r.filter, r.src = f, want, src
	r.tier = t.installedTier(want.Flags, inst)
	if t.policy == PolicyAuto && want.Flags == 0 {
		m := b.inHW
		if twin {
			m = b.twinInHW
		}
		if hw, known := m[f.ID]; !known || hw != inst.InHW {
			m[f.ID] = inst.InHW
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
func (t *tcTier) adoptOrAdd(b *tcBlock, r *tcRule, want *tcflower.Filter) (tcflower.Installed, error) {
	if i := b.findOrphan(want, true); i >= 0 {
		o := b.orphans[i]
		b.orphans = append(b.orphans[:i], b.orphans[i+1:]...)
		// What it counted since start read it is not the rule's either.
		if d, err := b.get(t.cfg.Kernel, o.d.Filter.Chain, o.d.Filter.Pref, o.d.Installed.Handle); err == nil {
			o.d.Stats = d.Stats
		}
		r.setAdopted(o.d.Stats)
		b.earlier.adopted++
		return o.d.Installed, nil
	}
	inst, err := t.cfg.Kernel.Add(b.index, want)
	if isErrno(err, unix.EEXIST) {
		// An earlier run's filter with the same keys but other actions:
		// flower keeps one filter per key and pref. Take it over.
		if i := b.findOrphan(want, false); i >= 0 {
			o := b.orphans[i]
			b.orphans = append(b.orphans[:i], b.orphans[i+1:]...)
			// The replaced filter's actions count from zero.
			want.Handle = o.d.Installed.Handle
			inst, err := t.cfg.Kernel.Replace(b.index, want)
			if err == nil {
				b.earlier.replaced++
				return inst, nil
			}
			// The earlier run's filter does what the rule no longer
			// says, in front of the fast path: remove it.
			if _, rerr := t.cfg.Kernel.Remove(b.index, want.Chain, want.Pref, want.Handle); rerr != nil && !isErrno(rerr, unix.ENOENT) {
				t.log.Error("remove a filter of an earlier run", zap.String("filter", o.d.Filter.String()), zap.Error(rerr))
				b.earlier.failed++
			} else {
				b.earlier.removed++
			}
			return inst, err
		}
	}
	return inst, err
}

// findOrphan returns the index of an orphan filter equal to want (exact)
// or with want's chain, pref and keys (!exact), or -1.
func (b *tcBlock) findOrphan(want *tcflower.Filter, exact bool) int {
	w := comparable(want)
	for i, o := range b.orphans {
		g := comparable(&o.d.Filter)
		if g.Chain != w.Chain || g.Pref != w.Pref {
			continue
		}
		if exact && reflect.DeepEqual(g, w) && sameDigest(&o.d.Filter, want) || !exact && reflect.DeepEqual(g.Keys, w.Keys) {
			return i
		}
	}
	return -1
}

// sameDigest reports whether the cookies of a and b carry the same
// digest: the kernel reads a VLAN filter's TPID back as 802.1Q, so only
// the digest tells the 802.1Q and 802.1ad halves of a rule apart.
func sameDigest(a, b *tcflower.Filter) bool {
	ca, oka := tcflower.ParseCookie(a.Cookie)
	cb, okb := tcflower.ParseCookie(b.Cookie)
	return oka && okb && ca.Digest == cb.Digest
}

// comparable is f as the kernel reads it back, without handle and cookie.
func comparable(f *tcflower.Filter) tcflower.Filter {
	g := f.AsInstalled()
	g.Handle, g.Cookie = 0, nil
	return g
}

// removeFilter takes r's filter out of b: the removal waits in
// b.pending for the next flush, whose answer keeps the filter's final
// counters.
func (t *tcTier) removeFilter(b *tcBlock, r *tcRule) {
	f := r.filter
	if r.tier == TierHW {
		b.hwFreed = true
		t.dirty = true // retryFreed at the next sync
	}
	b.pending = append(b.pending, pendingOp{kind: opRemove, r: r, want: *f, key: ruleKey{f.Chain, f.Pref, f.Handle}})
	r.filter = nil
}

// dropFilters removes the filters of removed flows now, reading their
// final counters, and leaves re-placing the others (which removals only
// let move into tc) to the next sync, so a burst of deletes costs one
// kernel request each. It reports false, having done nothing, when a
// removed flow's table is the target of a goto: its chain may be losing
// what made it complete, so the jumps into it must go first, and only a
// full sync orders that.
func (t *tcTier) dropFilters(removed []pipeline.Removal) bool {
	var targets tableSet
	for _, b := range t.blocks {
		for _, g := range b.ps.gotos {
			targets |= g
		}
	}
	for _, r := range removed {
		if targets.has(int(r.Flow.Table)) {
			return false
		}
	}
	for _, b := range t.sortedBlocks() {
		for _, r := range removed {
			for _, rules := range []map[uint64]*tcRule{b.rules, b.twins} {
				if tr := rules[r.Flow.ID]; tr != nil && tr.filter != nil {
					t.removeFilter(b, tr)
				}
			}
		}
		t.flush(b)
	}
	return true
}

// start reads block b once: filters of an earlier run are kept as
// orphans until a re-sent rule adopts them or reconcile removes them.
func (t *tcTier) start(b *tcBlock) {
	if b.read {
		return
	}
	b.read = true
	ds, err := b.dump(t.cfg.Kernel)
	if err != nil {
		t.log.Error("read the filters of an earlier run", zap.Uint32("block", b.index), zap.String(logKeyPort, b.name), zap.Error(err))
		return
	}
	for _, d := range ds {
		f := &d.Filter
		if isGuard(f.Chain, f.Pref, d.Installed.Handle) {
			if c, ok := tcflower.ParseCookie(f.Cookie); ok && c.FlowID == 0 && d.DecodeErr == nil {
				g := *f
				g.Handle = d.Installed.Handle
				b.guards[g.Handle] = &g // an earlier run's: kept while its filters remain
				b.guardStale = true
			}
			continue
		}
		t.nextHandle = max(t.nextHandle, d.Installed.Handle) // batched adds choose handles above
		c, ok := tcflower.ParseCookie(d.Filter.Cookie)
		if !ok || c.FlowID == 0 || d.DecodeErr != nil {
			continue // miss filters are replaced per port; others are not ours
		}
		b.orphans = append(b.orphans, &orphan{d: d})
	}
	b.earlier = reconcileCount{block: b.index, port: b.name, found: len(b.orphans)}
	switch {
	case len(b.orphans) == 0:
	case t.reconciled:
		t.log.Info("found filters of an earlier run on a block read after the reconcile; its first sync keeps those its rules adopt",
			zap.Uint32("block", b.index), zap.String(logKeyPort, b.name), zap.Int("filters", len(b.orphans)))
	default:
		t.log.Info("found filters of an earlier run; they keep forwarding until the controller re-sends its rules",
			zap.Uint32("block", b.index), zap.String(logKeyPort, b.name),
			zap.Int("filters", len(b.orphans)), zap.Duration("reconcile_in", t.cfg.ReconcileDelay))
	}
}

// reconcile removes the orphans no rule adopted from the blocks read
// since the last reconcile and returns what became of the filters of an
// earlier run found in them.
func (t *tcTier) reconcile() []reconcileCount {
	var out []reconcileCount
	for _, b := range t.sortedBlocks() {
		if !b.read || b.earlier.reported {
			continue
		}
		for _, o := range b.orphans {
			f := o.d.Filter
			if _, err := t.cfg.Kernel.Remove(b.index, f.Chain, f.Pref, o.d.Installed.Handle); err != nil && !isErrno(err, unix.ENOENT) {
				t.log.Error("remove a filter of an earlier run", zap.String(logKeyPort, b.name), zap.String("filter", f.String()), zap.Error(err))
				b.earlier.failed++
				continue
			}
			b.earlier.removed++
		}
		b.orphans = b.orphans[:0]
		b.earlier.reported = true
		if b.earlier.found > 0 {
			out = append(out, b.earlier)
		}
	}
	return out
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

// kernelErrno is the errno of a kernel refusal (0: none).
func kernelErrno(err error) unix.Errno {
	var e *tcflower.Error
	if errors.As(err, &e) {
		return e.Errno
	}
	return 0
}

func isErrno(err error, errno unix.Errno) bool {
	var e *tcflower.Error
	return errors.As(err, &e) && e.Errno == errno
}
