package offload

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// FlowMod applies a FLOW_MOD. On success every tier holds the change when
// it returns. Errors are *pipeline.Error, to be sent back as OFPT_ERROR.
func (n *Network) FlowMod(ctx context.Context, fm *pipeline.FlowMod) error {
	return n.FlowMods(ctx, []*pipeline.FlowMod{fm})[0]
}

// FlowMods applies FLOW_MODs that arrived together, in order, each as
// FlowMod would (each sees the ones before it; one that fails changes
// nothing), and hands the tiers the result once: a burst of n mods costs
// one fast-path install, not n. errs[i] is fms[i]'s error or nil; every
// tier holds the changes when it returns.
func (n *Network) FlowMods(ctx context.Context, fms []*pipeline.FlowMod) (errs []error) {
	errs = make([]error, len(fms))
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.cfg.Now()
	var removed []pipeline.Removal
	changed, timed := false, false
	for i, fm := range fms {
		ch, err := n.pipe.FlowMod(fm, now)
		if err != nil {
			errs[i] = err
			continue
		}
		changed = true
		if n.tc != nil {
			for _, m := range ch.Modified {
				n.tc.forgetRefusals(m.New.ID) // a new version gets a new try
			}
		}
		removed = append(removed, ch.Removed...)
		timed = timed || fm.IdleTimeout != 0 || fm.HardTimeout != 0
	}
	if changed {
		n.commit(removed)
		n.rulesTaken()
	}
	if timed {
		n.kickExpiry()
	}
	return errs
}

// rulesTaken notes that a controller's rules are coming in.
func (n *Network) rulesTaken() { n.rulesOnce.Do(func() { close(n.rulesSent) }) }

// GroupMod applies a GROUP_MOD.
func (n *Network) GroupMod(ctx context.Context, gm *pipeline.GroupMod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, err := n.pipe.GroupMod(gm, n.cfg.Now())
	if err != nil {
		return err
	}
	n.envChanged()
	n.commit(ch.Removed)
	return nil
}

// MeterMod applies a METER_MOD.
func (n *Network) MeterMod(ctx context.Context, mm *pipeline.MeterMod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, err := n.pipe.MeterMod(mm, n.cfg.Now())
	if err != nil {
		return err
	}
	n.envChanged()
	n.commit(ch.Removed)
	return nil
}

// commit hands the pipeline's new state to the tiers and reports removed
// flows with their final merged counters. The fast path installs at once.
// The filters of removed flows go at once (their last counts are read);
// the rest of the tc tier syncs soon, batching the changes that follow
// (Barrier waits for it). Callers hold mu.
func (n *Network) commit(removed []pipeline.Removal) {
	n.dp.Install(n.pipe.Snapshot())
	if n.tc != nil {
		n.tc.dirty = true
		if len(removed) > 0 && !n.tc.dropFilters(removed) {
			n.syncTC()
		} else {
			n.kickSync()
		}
	}
	now := n.cfg.Now()
	for _, r := range removed {
		if r.Flow.Flags&pipeline.FlagSendFlowRem != 0 {
			c := n.flowCounts(r.Flow)
			n.emit(&FlowRemoved{
				Flow:     r.Flow,
				Reason:   r.Reason,
				Packets:  c.total().Packets,
				Bytes:    c.total().Bytes,
				Duration: now.Sub(r.Flow.Added),
			})
		}
		if n.tc != nil {
			n.tc.forget(r.Flow)
		}
	}
}

// envChanged tells the tc tier that groups, meters or ports changed, so
// every rule is translated again.
func (n *Network) envChanged() {
	if n.tc != nil {
		n.tc.invalidate()
	}
}

// PacketOut runs actions on a packet injected by the controller.
func (n *Network) PacketOut(ctx context.Context, inPort uint32, actions []pipeline.Action, data []byte) error {
	n.mu.Lock()
	err := pipeline.ValidatePacketOutActions(actions, nil, n.pipe)
	n.mu.Unlock()
	if err != nil {
		return err
	}
	return n.dp.Execute(inPort, data, actions)
}

// Barrier returns once every earlier change is in force in every tier: the
// fast path installs synchronously, and the tc tier syncs now.
func (n *Network) Barrier(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.syncTC()
	return ctx.Err()
}

func (n *Network) kickExpiry() {
	select {
	case n.expiryKick <- struct{}{}:
	default:
	}
}

// expireLoop removes flows whose idle or hard timeout has passed.
func (n *Network) expireLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.expiryKick:
			continue
		}
		n.expire()
	}
}

func (n *Network) expire() {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.cfg.Now()
	var lastUsed pipeline.LastUsedFunc
	if _, timed := n.pipe.NextExpiry(nil); timed && n.tc != nil && n.tc.hasRules() {
		if now.Sub(n.tc.statsAt) >= time.Second {
			n.tc.refresh(now)
		}
		lastUsed = n.lastUsed
	}
	removed := n.pipe.Expire(now, lastUsed)
	if len(removed) == 0 {
		return
	}
	n.log.Debug("flows expired", zap.Int("count", len(removed)))
	n.commit(removed)
}
