package offload

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// The tc tier waits after a change before it syncs, so that a burst of
// flow mods is installed in few passes: minSyncDelay after a quiet spell,
// doubling up to maxSyncDelay while changes keep arriving during the wait
// and the sync. Barrier and the statistics requests sync at once.
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

// syncLoop syncs the tc tier after changes, and removes the filters of an
// earlier run that no re-sent rule adopted once ReconcileDelay has passed.
func (n *Network) syncLoop(ctx context.Context, reconcileDelay time.Duration) {
	reconcile := time.NewTimer(reconcileDelay)
	defer reconcile.Stop()
	delay := minSyncDelay
	for {
		select {
		case <-ctx.Done():
			return
		case <-reconcile.C:
			n.Reconcile()
		case <-n.syncKick:
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			n.mu.Lock()
			n.syncTC()
			n.mu.Unlock()
			if len(n.syncKick) > 0 {
				delay = min(2*delay, maxSyncDelay) // a burst: wait longer, sync less often
			} else {
				delay = minSyncDelay
			}
		}
	}
}

// Reconcile removes the filters of an earlier run that no rule re-sent by
// the controller has adopted. Run calls it ReconcileDelay after it starts.
func (n *Network) Reconcile() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tc == nil {
		return
	}
	n.tc.dirty = true
	n.syncTC() // adopt what the rules sent so far can
	if removed := n.tc.reconcile(); removed > 0 {
		n.log.Info("removed filters of an earlier run that no rule re-sent", zap.Int("filters", removed))
	}
	for _, b := range n.tc.sortedBlocks() {
		n.shrinkGuards(b) // the earlier run's rules no longer need their guards
	}
}
