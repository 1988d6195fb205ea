package pipeline

import (
	"slices"
	"time"
)

// knownFlowFlags are the OFPFF_* bits of OpenFlow 1.3.
const knownFlowFlags = FlagSendFlowRem | FlagCheckOverlap | FlagResetCounts | FlagNoPktCounts | FlagNoBytCounts

// FlowMod applies one FLOW_MOD as OpenFlow 1.3.5 section 6.4 specifies and
// returns what changed. On error nothing changed and the error is an *Error
// carrying the OFPET_*/code to send back.
//
//   - ADD inserts a new entry with a fresh ID and fresh Counters. With
//     FlagCheckOverlap it fails with FLOW_MOD_FAILED/OVERLAP when an entry of
//     the same priority, with a different match that some packet could match
//     together with the new one, is in the table. When an entry with an
//     identical match and priority is already there, it is replaced: the new
//     entry takes everything from the mod (cookie, timeouts, flags,
//     instructions) and its duration restarts (Added = now); its counters are
//     copied from the old entry (the same *Counters) unless FlagResetCounts is
//     set. The replacement keeps the old entry's ID and is reported in
//     Change.Modified; no FLOW_REMOVED is due for it.
//   - MODIFY and MODIFY_STRICT replace the instructions of every selected
//     entry; cookie, timeouts, flags, duration and counters stay, except that
//     FlagResetCounts in the mod gives the entries fresh Counters. Selecting
//     nothing is not an error and adds nothing.
//   - DELETE and DELETE_STRICT remove the selected entries (Change.Removed,
//     reason RemovedDelete); Table may be TableAll.
//
// Selection: a non-strict command selects the entries whose match the mod's
// match covers (Match.Covers), whatever their priority; a strict one the
// entry with exactly the mod's match and priority. Both honor the cookie
// under a non-zero CookieMask; deletes also honor OutPort and OutGroup (an
// entry qualifies when its apply- or write-actions hold an output to that
// port or a group action to that group), which modifies ignore.
func (p *Pipeline) FlowMod(fm *FlowMod, now time.Time) (Change, error) {
	if err := p.validateFlowMod(fm); err != nil {
		return Change{}, err
	}
	switch fm.Command {
	case FlowAdd:
		return p.add(fm, now)
	case FlowModify, FlowModifyStrict:
		return p.modify(fm), nil
	default: // FlowDelete, FlowDeleteStrict (validated)
		return p.delete(fm), nil
	}
}

func (p *Pipeline) add(fm *FlowMod, now time.Time) (Change, error) {
	t := &p.tables[fm.Table]
	old := t.keys.get(fm.Priority, &fm.Match)
	if fm.Flags&FlagCheckOverlap != 0 {
		if ri, ok := t.runIndex(fm.Priority); ok {
			for _, f := range t.runs[ri].flows {
				if f != old && f.Match.Overlaps(&fm.Match) {
					return Change{}, Errorf(ErrFlowModFailed, FlowModOverlap,
						"flow overlaps entry %d in table %d at priority %d", f.ID, fm.Table, fm.Priority)
				}
			}
		}
	}
	if old == nil && t.count >= p.opts.MaxFlowsPerTable {
		return Change{}, Errorf(ErrFlowModFailed, FlowModTableFull,
			"table %d is full (%d entries)", fm.Table, t.count)
	}
	f := &Flow{
		Table:       fm.Table,
		Priority:    fm.Priority,
		Match:       fm.Match,
		Instr:       internInstr(&fm.Instr),
		Cookie:      fm.Cookie,
		IdleTimeout: fm.IdleTimeout,
		HardTimeout: fm.HardTimeout,
		Flags:       fm.Flags,
		Added:       now,
	}
	if old != nil {
		f.ID = old.ID
		f.Counters = old.Counters
		if fm.Flags&FlagResetCounts != 0 {
			f.Counters = new(Counters)
		}
		p.replace(old, f)
		return Change{Modified: []Modification{{Old: old, New: f}}}, nil
	}
	p.nextID++
	f.ID = p.nextID
	f.Counters = new(Counters)
	p.insert(f)
	return Change{Added: []*Flow{f}}, nil
}

func (p *Pipeline) modify(fm *FlowMod) Change {
	var ch Change
	for _, old := range p.selectFlows(fm) {
		f := *old
		f.Instr = internInstr(&fm.Instr)
		if fm.Flags&FlagResetCounts != 0 {
			f.Counters = new(Counters)
		}
		ch.Modified = append(ch.Modified, Modification{Old: old, New: &f})
	}
	for _, m := range ch.Modified {
		p.replace(m.Old, m.New)
	}
	return ch
}

func (p *Pipeline) delete(fm *FlowMod) Change {
	if fm.Command == FlowDelete && fm.CookieMask == 0 && fm.OutPort == PortAny && fm.OutGroup == GroupAny &&
		fm.Match == (Match{}) {
		return p.deleteTables(fm.Table)
	}
	var ch Change
	fs := p.selectFlows(fm)
	for _, f := range fs {
		ch.Removed = append(ch.Removed, Removal{Flow: f, Reason: RemovedDelete})
	}
	p.remove(fs...)
	return ch
}

// deleteTables removes every entry of table t, or of every table for
// TableAll, as a delete that selects whole tables (no match, cookie,
// out_port or out_group) does: the tables and their indexes are dropped,
// not taken apart entry by entry. The removals come in table order.
func (p *Pipeline) deleteTables(t uint8) Change {
	n := p.FlowCount(t)
	if n == 0 {
		return Change{}
	}
	removed := make([]Removal, 0, n)
	for i := range p.tables {
		if t != TableAll && int(t) != i {
			continue
		}
		tb := &p.tables[i]
		for _, r := range tb.runs {
			for _, f := range r.flows {
				removed = append(removed, Removal{Flow: f, Reason: RemovedDelete})
				if t != TableAll {
					delete(p.byID, f.ID)
					if len(p.timed) > 0 {
						delete(p.timed, f.ID)
					}
				}
			}
		}
		if tb.count > 0 {
			*tb = table{keys: entryIndex{byHash: make(map[uint64]*Flow)}}
			p.dirty[i] = true
		}
	}
	if t == TableAll {
		p.byID = make(map[uint64]*Flow)
		p.timed = make(map[uint64]*Flow)
	}
	return Change{Removed: removed}
}

// selectFlows returns the entries a modify or delete applies to, in table
// order and, within a table, in priority order.
func (p *Pipeline) selectFlows(fm *FlowMod) []*Flow {
	ff := FlowFilter{
		Table:      fm.Table,
		OutPort:    PortAny,
		OutGroup:   GroupAny,
		Cookie:     fm.Cookie,
		CookieMask: fm.CookieMask,
		Match:      fm.Match,
	}
	if fm.Command == FlowDelete || fm.Command == FlowDeleteStrict {
		ff.OutPort, ff.OutGroup = fm.OutPort, fm.OutGroup
	}
	strict := fm.Command == FlowModifyStrict || fm.Command == FlowDeleteStrict
	if !strict {
		return p.Flows(&ff)
	}
	var out []*Flow
	for t := range p.tables {
		if ff.Table != TableAll && int(ff.Table) != t {
			continue
		}
		if f := p.tables[t].keys.get(fm.Priority, &fm.Match); f != nil && ff.selects(f, false) {
			out = append(out, f)
		}
	}
	return out
}

// Flows returns the entries that f selects, for flow and aggregate stats and
// non-strict modify and delete: in table f.Table (or every table for
// TableAll), with (Cookie & CookieMask) equal to f.Cookie & f.CookieMask,
// with an output to f.OutPort unless it is PortAny, with a group action to
// f.OutGroup unless it is GroupAny, and whose match f.Match covers. A nil
// filter selects every entry. Entries come in table order, then priority
// descending, then ID ascending.
func (p *Pipeline) Flows(f *FlowFilter) []*Flow {
	var out []*Flow
	covers := f != nil && f.Match != (Match{}) // an empty match covers every entry
	for t := range p.tables {
		if f != nil && f.Table != TableAll && int(f.Table) != t {
			continue
		}
		for _, r := range p.tables[t].runs {
			for _, fl := range r.flows {
				if f == nil || f.selects(fl, covers) {
					out = append(out, fl)
				}
			}
		}
	}
	return out
}

// selects reports whether the filter selects fl (the table is checked by the
// caller); covers says whether to apply the match filter.
func (ff *FlowFilter) selects(fl *Flow, covers bool) bool {
	if ff.CookieMask != 0 && fl.Cookie&ff.CookieMask != ff.Cookie&ff.CookieMask {
		return false
	}
	if ff.OutPort != PortAny && !fl.Instr.OutputsTo(ff.OutPort) {
		return false
	}
	if ff.OutGroup != GroupAny && !fl.Instr.UsesGroup(ff.OutGroup) {
		return false
	}
	return !covers || ff.Match.Covers(&fl.Match)
}

// OutputsTo reports whether the apply- or write-actions hold an output
// action to port.
func (in *Instructions) OutputsTo(port uint32) bool {
	has := func(a Action) bool { return a.Type == ActionOutput && a.Port == port }
	return slices.ContainsFunc(in.Apply, has) || slices.ContainsFunc(in.Write, has)
}

// UsesGroup reports whether the apply- or write-actions hold a group action
// to group.
func (in *Instructions) UsesGroup(group uint32) bool {
	has := func(a Action) bool { return a.Type == ActionGroup && a.Group == group }
	return slices.ContainsFunc(in.Apply, has) || slices.ContainsFunc(in.Write, has)
}
