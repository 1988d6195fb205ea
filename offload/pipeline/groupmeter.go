package pipeline

import (
	"slices"
	"time"
)

// GroupModification is a group replaced by a GROUP_MOD modify.
type GroupModification struct {
	Old, New *Group
}

// GroupChange is the effect of one GROUP_MOD.
type GroupChange struct {
	Added    []*Group
	Modified []GroupModification
	Deleted  []*Group
	// Removed are the flow entries removed because they used a deleted
	// group (reason RemovedGroupDelete), as in Change.Removed.
	Removed []Removal
}

// MeterModification is a meter replaced by a METER_MOD modify.
type MeterModification struct {
	Old, New *Meter
}

// MeterChange is the effect of one METER_MOD.
type MeterChange struct {
	Added    []*Meter
	Modified []MeterModification
	Deleted  []*Meter
	// Removed are the flow entries removed because they used a deleted
	// meter (reason RemovedMeterDelete), as in Change.Removed.
	Removed []Removal
}

// GroupMod applies one GROUP_MOD as OpenFlow 1.3.5 section 6.5 specifies.
// On error nothing changed and the error is an *Error of type
// GROUP_MOD_FAILED (or BAD_ACTION for a bucket's actions).
//
//   - ADD: ID above OFPG_MAX is INVALID_GROUP, an existing ID GROUP_EXISTS.
//     The group gets fresh Counters, and so does every bucket; it is
//     Created now.
//   - MODIFY: a missing ID is UNKNOWN_GROUP. The group keeps its Counters
//     and its creation time (it is the same group entry); its buckets are
//     new and get fresh ones.
//   - DELETE: OFPG_ALL deletes every group; a missing ID is not an error. A
//     group that another group forwards to cannot be deleted alone
//     (CHAINED_GROUP). Flow entries that use a deleted group in their apply-
//     or write-actions are removed too (GroupChange.Removed).
//
// Buckets are checked per type: INDIRECT needs exactly one bucket
// (INVALID_GROUP); FAST_FAILOVER buckets need a watch port or watch group
// (BAD_WATCH), a watch port that is a valid port and a watch group that
// exists and is not the group itself. Bucket actions are checked as
// ValidateActions does, in action-set order (bucket actions form an action
// set), without a match (prerequisites cannot be known for a group). Groups
// may chain to existing groups, but not in a loop (LOOP).
func (p *Pipeline) GroupMod(gm *GroupMod, now time.Time) (GroupChange, error) {
	switch gm.Command {
	case GroupAdd, GroupModify:
		return p.putGroup(gm, now)
	case GroupDelete:
		return p.deleteGroups(gm.ID)
	}
	return GroupChange{}, Errorf(ErrGroupModFailed, GroupModBadCommand, "group_mod command %d", gm.Command)
}

func (p *Pipeline) putGroup(gm *GroupMod, now time.Time) (GroupChange, error) {
	if gm.ID > GroupMax {
		return GroupChange{}, Errorf(ErrGroupModFailed, GroupModInvalidGroup, "group id %#x", gm.ID)
	}
	old := p.groups[gm.ID]
	if gm.Command == GroupAdd && old != nil {
		return GroupChange{}, Errorf(ErrGroupModFailed, GroupModGroupExists, "group %d exists", gm.ID)
	}
	if gm.Command == GroupModify && old == nil {
		return GroupChange{}, Errorf(ErrGroupModFailed, GroupModUnknownGroup, "group %d does not exist", gm.ID)
	}
	if err := p.validateGroup(gm); err != nil {
		return GroupChange{}, err
	}
	g := &Group{ID: gm.ID, Type: gm.Type, Buckets: slices.Clone(gm.Buckets), Counters: new(Counters), Created: now}
	for i := range g.Buckets {
		g.Buckets[i].Actions = slices.Clone(g.Buckets[i].Actions)
		g.Buckets[i].Counters = new(Counters)
	}
	p.groups[gm.ID] = g
	p.groupsDirty = true
	if old == nil {
		return GroupChange{Added: []*Group{g}}, nil
	}
	g.Counters, g.Created = old.Counters, old.Created
	return GroupChange{Modified: []GroupModification{{Old: old, New: g}}}, nil
}

func (p *Pipeline) validateGroup(gm *GroupMod) error {
	switch gm.Type {
	case GroupTypeAll, GroupTypeSelect, GroupTypeFastFailover:
	case GroupTypeIndirect:
		if len(gm.Buckets) != 1 {
			return Errorf(ErrGroupModFailed, GroupModInvalidGroup, "indirect group %d needs exactly one bucket, has %d", gm.ID, len(gm.Buckets))
		}
	default:
		return Errorf(ErrGroupModFailed, GroupModBadType, "group type %d", gm.Type)
	}
	for i := range gm.Buckets {
		b := &gm.Buckets[i]
		if gm.Type == GroupTypeFastFailover {
			if err := p.validateWatch(gm.ID, b); err != nil {
				return err
			}
		}
		for _, a := range b.Actions {
			if a.Type == ActionGroup && a.Group == gm.ID {
				return Errorf(ErrGroupModFailed, GroupModLoop, "group %d forwards to itself", gm.ID)
			}
		}
		st := actionState{}
		if err := validateList(setOrder(b.Actions), &st, p, ctxBucket); err != nil {
			return err
		}
		for _, a := range b.Actions {
			if a.Type == ActionGroup && p.reaches(a.Group, gm.ID) {
				return Errorf(ErrGroupModFailed, GroupModLoop, "group %d: forwarding to group %d makes a loop", gm.ID, a.Group)
			}
		}
	}
	return nil
}

func (p *Pipeline) validateWatch(id uint32, b *Bucket) error {
	if b.WatchPort == PortAny && b.WatchGroup == GroupAny {
		return Errorf(ErrGroupModFailed, GroupModBadWatch, "fast-failover group %d: bucket without watch port or group", id)
	}
	if b.WatchPort != PortAny && (b.WatchPort == 0 || b.WatchPort > PortMax) {
		return Errorf(ErrGroupModFailed, GroupModBadWatch, "fast-failover group %d: watch port %#x", id, b.WatchPort)
	}
	if b.WatchGroup != GroupAny && (b.WatchGroup == id || p.groups[b.WatchGroup] == nil) {
		return Errorf(ErrGroupModFailed, GroupModBadWatch, "fast-failover group %d: watch group %d", id, b.WatchGroup)
	}
	return nil
}

// reaches reports whether group from forwards, directly or through other
// groups, to group target. The installed groups never loop, so the walk
// ends; seen keeps it linear.
func (p *Pipeline) reaches(from, target uint32) bool {
	seen := map[uint32]bool{}
	var walk func(id uint32) bool
	walk = func(id uint32) bool {
		if id == target {
			return true
		}
		if seen[id] {
			return false
		}
		seen[id] = true
		g := p.groups[id]
		if g == nil {
			return false
		}
		for _, b := range g.Buckets {
			for _, a := range b.Actions {
				if a.Type == ActionGroup && walk(a.Group) {
					return true
				}
			}
		}
		return false
	}
	return walk(from)
}

func (p *Pipeline) deleteGroups(id uint32) (GroupChange, error) {
	var ch GroupChange
	if id == GroupAll {
		ch.Deleted = p.Groups()
		clear(p.groups)
		ch.Removed = p.removeWhere(func(f *Flow) bool { return usesAnyGroup(f.Instr) }, RemovedGroupDelete)
		p.groupsDirty = p.groupsDirty || len(ch.Deleted) > 0
		return ch, nil
	}
	if id > GroupMax {
		return ch, Errorf(ErrGroupModFailed, GroupModInvalidGroup, "group id %#x", id)
	}
	g := p.groups[id]
	if g == nil {
		return ch, nil
	}
	for _, other := range p.Groups() {
		for _, b := range other.Buckets {
			for _, a := range b.Actions {
				if a.Type == ActionGroup && a.Group == id && other.ID != id {
					return ch, Errorf(ErrGroupModFailed, GroupModChainedGroup, "group %d forwards to group %d", other.ID, id)
				}
			}
			if other.Type == GroupTypeFastFailover && b.WatchGroup == id {
				return ch, Errorf(ErrGroupModFailed, GroupModChainedGroup, "group %d watches group %d", other.ID, id)
			}
		}
	}
	delete(p.groups, id)
	p.groupsDirty = true
	ch.Deleted = []*Group{g}
	ch.Removed = p.removeWhere(func(f *Flow) bool { return f.Instr.UsesGroup(id) }, RemovedGroupDelete)
	return ch, nil
}

func usesAnyGroup(in *Instructions) bool {
	is := func(a Action) bool { return a.Type == ActionGroup }
	return slices.ContainsFunc(in.Apply, is) || slices.ContainsFunc(in.Write, is)
}

// knownMeterFlags are the OFPMF_* bits of OpenFlow 1.3.
const knownMeterFlags = MeterKbps | MeterPktps | MeterBurst | MeterStats

// MeterMod applies one METER_MOD as OpenFlow 1.3.5 section 6.6 specifies.
// On error nothing changed and the error is an *Error of type
// METER_MOD_FAILED.
//
//   - ADD: ID 0 or above OFPM_MAX is INVALID_METER (the virtual meters
//     SLOWPATH and CONTROLLER are not supported), an existing ID
//     METER_EXISTS. The meter and each band get fresh Counters; the meter
//     is Created now.
//   - MODIFY: a missing ID is UNKNOWN_METER. The meter keeps its Counters
//     and its creation time; its bands are new and get fresh ones (and the
//     fast path a fresh rate state).
//   - DELETE: OFPM_ALL deletes every meter; a missing ID is not an error.
//     Flow entries whose meter instruction names a deleted meter are removed
//     too (MeterChange.Removed).
//
// Flags must hold exactly one of KBPS and PKTPS and no unknown bit
// (BAD_FLAGS). There must be at least one band (BAD_BAND); each band is
// DROP or DSCP_REMARK (BAD_BAND) with a rate above 0 (BAD_RATE), and a
// DSCP_REMARK band raises the drop precedence by at least 1 (BAD_BAND_VALUE).
func (p *Pipeline) MeterMod(mm *MeterMod, now time.Time) (MeterChange, error) {
	switch mm.Command {
	case MeterAdd, MeterModify:
		return p.putMeter(mm, now)
	case MeterDelete:
		return p.deleteMeters(mm.ID)
	}
	return MeterChange{}, Errorf(ErrMeterModFailed, MeterModBadCommand, "meter_mod command %d", mm.Command)
}

func (p *Pipeline) putMeter(mm *MeterMod, now time.Time) (MeterChange, error) {
	if mm.ID == 0 || mm.ID > MeterMax {
		return MeterChange{}, Errorf(ErrMeterModFailed, MeterModInvalidMeter, "meter id %#x", mm.ID)
	}
	old := p.meters[mm.ID]
	if mm.Command == MeterAdd && old != nil {
		return MeterChange{}, Errorf(ErrMeterModFailed, MeterModMeterExists, "meter %d exists", mm.ID)
	}
	if mm.Command == MeterModify && old == nil {
		return MeterChange{}, Errorf(ErrMeterModFailed, MeterModUnknownMeter, "meter %d does not exist", mm.ID)
	}
	if err := validateMeter(mm); err != nil {
		return MeterChange{}, err
	}
	m := &Meter{ID: mm.ID, Flags: mm.Flags, Bands: slices.Clone(mm.Bands), Counters: new(Counters), Created: now}
	for i := range m.Bands {
		m.Bands[i].Counters = new(Counters)
	}
	p.meters[mm.ID] = m
	p.metersDirty = true
	if old == nil {
		return MeterChange{Added: []*Meter{m}}, nil
	}
	m.Counters, m.Created = old.Counters, old.Created
	return MeterChange{Modified: []MeterModification{{Old: old, New: m}}}, nil
}

func validateMeter(mm *MeterMod) error {
	if mm.Flags&^knownMeterFlags != 0 {
		return Errorf(ErrMeterModFailed, MeterModBadFlags, "meter %d: unknown flags %#x", mm.ID, mm.Flags)
	}
	if (mm.Flags&MeterKbps != 0) == (mm.Flags&MeterPktps != 0) {
		return Errorf(ErrMeterModFailed, MeterModBadFlags, "meter %d: flags need exactly one of KBPS and PKTPS", mm.ID)
	}
	if len(mm.Bands) == 0 {
		return Errorf(ErrMeterModFailed, MeterModBadBand, "meter %d has no band", mm.ID)
	}
	for _, b := range mm.Bands {
		switch b.Type {
		case BandDrop:
		case BandDSCPRemark:
			if b.PrecLevel == 0 {
				return Errorf(ErrMeterModFailed, MeterModBadBandValue, "meter %d: dscp_remark band with prec_level 0", mm.ID)
			}
		default:
			return Errorf(ErrMeterModFailed, MeterModBadBand, "meter %d: band type %d", mm.ID, b.Type)
		}
		if b.Rate == 0 {
			return Errorf(ErrMeterModFailed, MeterModBadRate, "meter %d: band rate 0", mm.ID)
		}
	}
	return nil
}

func (p *Pipeline) deleteMeters(id uint32) (MeterChange, error) {
	var ch MeterChange
	if id == MeterAll {
		ch.Deleted = p.Meters()
		clear(p.meters)
		ch.Removed = p.removeWhere(func(f *Flow) bool { return f.Instr.Meter != 0 }, RemovedMeterDelete)
		p.metersDirty = p.metersDirty || len(ch.Deleted) > 0
		return ch, nil
	}
	if id == 0 || id > MeterMax {
		return ch, Errorf(ErrMeterModFailed, MeterModInvalidMeter, "meter id %#x", id)
	}
	m := p.meters[id]
	if m == nil {
		return ch, nil
	}
	delete(p.meters, id)
	p.metersDirty = true
	ch.Deleted = []*Meter{m}
	ch.Removed = p.removeWhere(func(f *Flow) bool { return f.Instr.Meter == id }, RemovedMeterDelete)
	return ch, nil
}

// GroupRefs returns the group's reference count for group stats: the flow
// entries and groups that directly forward to it.
func (p *Pipeline) GroupRefs(id uint32) int {
	n := 0
	for _, f := range p.byID {
		if f.Instr.UsesGroup(id) {
			n++
		}
	}
	for _, g := range p.groups {
		for _, b := range g.Buckets {
			if slices.ContainsFunc(b.Actions, func(a Action) bool { return a.Type == ActionGroup && a.Group == id }) {
				n++
				break
			}
		}
	}
	return n
}

// MeterRefs returns the number of flow entries bound to the meter, for
// meter stats.
func (p *Pipeline) MeterRefs(id uint32) int {
	n := 0
	for _, f := range p.byID {
		if f.Instr.Meter == id {
			n++
		}
	}
	return n
}
