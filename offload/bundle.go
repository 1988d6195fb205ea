package offload

import (
	"context"
	"fmt"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// BundleMod is one message of a committed bundle: exactly one of its
// fields is set.
type BundleMod struct {
	Flow  *pipeline.FlowMod
	Group *pipeline.GroupMod
	Meter *pipeline.MeterMod
}

func (m BundleMod) String() string {
	switch {
	case m.Flow != nil:
		return "flow mod"
	case m.Group != nil:
		return "group mod"
	case m.Meter != nil:
		return "meter mod"
	}
	return "empty bundle mod"
}

// BundleError is the error of a bundle that failed: the mod at Index
// failed with Err (a *pipeline.Error for an OpenFlow refusal), and the
// network is as it was before.
type BundleError struct {
	Index int
	Err   error
}

func (e *BundleError) Error() string {
	return fmt.Sprintf("bundle message %d: %v", e.Index, e.Err)
}

func (e *BundleError) Unwrap() error { return e.Err }

// Bundle applies the mods of a committed bundle, in order, all or none
// (OpenFlow 1.4 section 6.8's atomic and ordered bundle): each sees the
// ones before it, as FlowMod, GroupMod and MeterMod would, so a flow may
// use a group the bundle adds before it. If one fails, nothing changed
// and the error is a *BundleError naming it. Otherwise the result is
// handed to the tiers once (one fast-path install, one tc sync) and is in
// force in every tier when Bundle returns, as after a Barrier; flows the
// bundle deleted are reported (FLOW_REMOVED), those it both added and
// deleted are not, having never been in force.
//
// The mods go to a copy of the pipeline that replaces it only if all of
// them succeed: O(entries) for the copy, plus the mods.
func (n *Network) Bundle(ctx context.Context, mods []BundleMod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	now := n.cfg.Now()
	old := n.pipe
	p := old.Clone()
	var removed []pipeline.Removal
	var modified []uint64
	timed, env := false, false
	for i, m := range mods {
		var err error
		switch {
		case m.Flow != nil:
			var ch pipeline.Change
			ch, err = p.FlowMod(m.Flow, now)
			for _, mod := range ch.Modified {
				modified = append(modified, mod.New.ID)
			}
			removed = append(removed, ch.Removed...)
			timed = timed || m.Flow.IdleTimeout != 0 || m.Flow.HardTimeout != 0
		case m.Group != nil:
			var ch pipeline.GroupChange
			ch, err = p.GroupMod(m.Group, now)
			removed = append(removed, ch.Removed...)
			env = true
		case m.Meter != nil:
			var ch pipeline.MeterChange
			ch, err = p.MeterMod(m.Meter, now)
			removed = append(removed, ch.Removed...)
			env = true
		default:
			err = fmt.Errorf("bundle message %d is empty", i)
		}
		if err != nil {
			return &BundleError{Index: i, Err: err} // p is dropped: nothing changed
		}
	}
	if len(mods) == 0 {
		return nil
	}
	n.pipe = p
	// Flows the bundle added and then removed were never in force: no
	// FLOW_REMOVED, no filters, no counters to keep.
	kept := removed[:0]
	for _, r := range removed {
		if old.Flow(r.Flow.ID) != nil {
			kept = append(kept, r)
		}
	}
	if n.tc != nil {
		for _, id := range modified {
			n.tc.forgetRefusals(id) // a new version gets a new try
		}
	}
	if env {
		n.envChanged()
	}
	n.commit(kept)
	n.rulesTaken()
	n.syncTC() // the commit is in force in every tier before it is acknowledged
	if timed {
		n.kickExpiry()
	}
	return nil
}
