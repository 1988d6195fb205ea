package offload

import (
	"context"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The tc tier waits after a change before it syncs, so that a burst of
// flow mods is installed in few passes: minSyncDelay after a quiet spell,
// doubling up to maxSyncDelay (or twice the last sync's time, when longer)
// while changes keep arriving during the wait and the sync. Barrier and
// the statistics requests sync at once.
const (
	minSyncDelay = 2 * time.Millisecond
	maxSyncDelay = 50 * time.Millisecond
)

// kickSync asks syncLoop to sync the tc tier soon.
func (n *Network) kickSync() {
	select {
	case n.syncKick <- struct{}{}:
	default:
	}
}

// reconcileCeiling is how many ReconcileDelays a network waits for a
// controller's first rule before it reconciles without one.
const reconcileCeiling = 10

// syncLoop syncs the tc tier after changes, and removes the filters of an
// earlier run that no re-sent rule adopted: ReconcileDelay after the first
// rule a controller sends since the start (a controller slow to come back
// keeps the offloaded traffic flowing meanwhile), or reconcileCeiling
// times that after the start when none comes.
func (n *Network) syncLoop(ctx context.Context, reconcileDelay time.Duration) {
	reconcile := time.NewTimer(reconcileCeiling * reconcileDelay)
	defer reconcile.Stop()
	rules, reconciled := n.rulesSent, false
	delay := minSyncDelay
	for {
		select {
		case <-ctx.Done():
			return
		case <-rules:
			rules = nil
			if !reconciled {
				reconcile.Reset(reconcileDelay)
			}
		case <-reconcile.C:
			reconciled = true
			n.Reconcile()
		case <-n.syncKick:
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			n.mu.Lock()
			start := time.Now()
			n.syncTC()
			took := time.Since(start)
			n.mu.Unlock()
			if len(n.syncKick) > 0 {
				// A burst: wait longer, sync less often, and at most
				// a third of the time: a sync places every rule of the
				// tables that changed, so with a large table it is
				// the wait that keeps its cost per rule constant.
				delay = max(min(2*delay, maxSyncDelay), 2*took)
			} else {
				delay = minSyncDelay
			}
		}
	}
}

// Reconcile removes the filters of an earlier run that no rule re-sent by
// the controller has adopted, and logs what became of them. Run calls it
// ReconcileDelay after it starts. A block first read later (a port added
// since, bound to a block of an earlier run) is reconciled at its first
// sync: the controller has re-sent its rules by then.
func (n *Network) Reconcile() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tc == nil {
		return
	}
	n.tc.dirty = true
	n.syncTC() // adopt what the rules sent so far can
	n.tc.reconciled = true
	n.reconcileEarlier()
	for _, b := range n.tc.sortedBlocks() {
		n.shrinkGuards(b) // the earlier run's rules no longer need their guards
	}
}

// reconcileEarlier removes the filters of an earlier run no rule adopted
// from the blocks read since the last reconcile and logs, once per block,
// what became of those found there. Callers hold mu.
func (n *Network) reconcileEarlier() {
	counts := n.tc.reconcile()
	if len(counts) == 0 {
		return
	}
	for _, b := range n.tc.sortedBlocks() {
		n.shrinkGuards(b) // the earlier run's rules no longer need their guards
	}
	var total reconcileCount
	for _, c := range counts {
		total.found += c.found
		total.adopted += c.adopted
		total.replaced += c.replaced
		total.removed += c.removed
		total.failed += c.failed
	}
	lvl := n.log.Info
	if total.failed > 0 {
		lvl = n.log.Warn
	}
	lvl("reconciled the filters of an earlier run: the re-sent rules adopted theirs, the others are removed",
		zap.Int("found", total.found), zap.Int("adopted", total.adopted), zap.Int("replaced", total.replaced),
		zap.Int("removed", total.removed), zap.Int("not_removed", total.failed), zap.Objects("blocks", counts))
}

// reconcileCount is what became of the filters of an earlier run found in
// one block: adopted as they were by a re-sent rule, replaced (taken over
// by a re-sent rule with the same keys and other actions), removed (no
// rule took them), or not removed (the kernel refused; the error is
// logged).
type reconcileCount struct {
	block                                     uint32
	port                                      string // the block's port; "": the shared block
	found, adopted, replaced, removed, failed int
	reported                                  bool // logged by a reconcile
}

func (c reconcileCount) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddUint32("block", c.block)
	if c.port != "" {
		enc.AddString(logKeyPort, c.port)
	}
	enc.AddInt("found", c.found)
	enc.AddInt("adopted", c.adopted)
	enc.AddInt("replaced", c.replaced)
	enc.AddInt("removed", c.removed)
	if c.failed > 0 {
		enc.AddInt("not_removed", c.failed)
	}
	return nil
}
