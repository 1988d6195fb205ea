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
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, err := n.pipe.FlowMod(fm, n.cfg.Now())
	if err != nil {
		return err
	}
	n.commit(ch.Removed)
	if fm.IdleTimeout != 0 || fm.HardTimeout != 0 {
		n.kickExpiry()
	}
	return nil
}

// GroupMod applies a GROUP_MOD.
func (n *Network) GroupMod(ctx context.Context, gm *pipeline.GroupMod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, err := n.pipe.GroupMod(gm)
	if err != nil {
		return err
	}
	n.commit(ch.Removed)
	return nil
}

// MeterMod applies a METER_MOD.
func (n *Network) MeterMod(ctx context.Context, mm *pipeline.MeterMod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, err := n.pipe.MeterMod(mm)
	if err != nil {
		return err
	}
	n.commit(ch.Removed)
	return nil
}

// commit hands the pipeline's new state to the tiers and reports removed
// flows. Callers hold mu.
func (n *Network) commit(removed []pipeline.Removal) {
	n.dp.Install(n.pipe.Snapshot())
	now := n.cfg.Now()
	for _, r := range removed {
		if r.Flow.Flags&pipeline.FlagSendFlowRem == 0 {
			continue
		}
		n.emit(&FlowRemoved{
			Flow:     r.Flow,
			Reason:   r.Reason,
			Packets:  r.Flow.Counters.Packets.Load(),
			Bytes:    r.Flow.Counters.Bytes.Load(),
			Duration: now.Sub(r.Flow.Added),
		})
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

// Barrier returns once every earlier change is in force in every tier. The
// soft tier installs synchronously, so holding mu once is enough: any mod
// that returned before has already swapped in its snapshot.
func (n *Network) Barrier(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
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
	removed := n.pipe.Expire(n.cfg.Now(), nil)
	if len(removed) == 0 {
		return
	}
	n.log.Debug("flows expired", zap.Int("count", len(removed)))
	n.commit(removed)
}
