package manager

import (
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/tcflower"
)

// KernelTC is TC in the calling thread's network namespace: each network's
// tc tier and each sweep through a tc socket of its own.
type KernelTC struct{}

// Open implements TC with tcport.Open.
func (KernelTC) Open(network string) (*tcport.Setup, error) { return tcport.Open(network) }

// Sweep implements TC with tcport.Sweep.
func (KernelTC) Sweep(keep func(ifindex int) bool) (tcport.SweepReport, error) {
	h, err := tcflower.Open()
	if err != nil {
		return tcport.SweepReport{}, err
	}
	defer h.Close()
	return tcport.Sweep(h, keep)
}

// sweepStale takes nicflow's tc state off every netdev that is no port of
// a network with a tc tier: ports left over from an earlier run or a
// changed port list, and the ports of networks running without tc (a
// network never shares a block or a filter with a netdev outside it).
// It runs at start and after each change of the networks' port lists;
// callers hold opMu, so no network binds a port meanwhile.
func (m *Manager) sweepStale(why string) {
	if m.cfg.TC == nil {
		return
	}
	keep := map[int]bool{}
	m.mu.Lock()
	for _, mn := range m.nets {
		if mn.run == nil || mn.run.tc == nil {
			continue
		}
		for _, p := range mn.run.net.Ports() {
			if p.Ifindex != 0 {
				keep[p.Ifindex] = true
			}
		}
	}
	m.mu.Unlock()
	r, err := m.cfg.TC.Sweep(func(ifindex int) bool { return keep[ifindex] })
	for _, s := range r.Swept {
		m.log.Info("took nicflow's tc filters off a netdev that is no port of a network",
			zap.String("netdev", s.Name), zap.Uint32("block", s.Block), zap.Int("filters", s.Filters),
			zap.Int("other_filters", s.Others), zap.String("why", why))
	}
	if err != nil {
		m.log.Warn("sweep stale tc state", zap.String("why", why), zap.Error(err))
		return
	}
	m.log.Debug("swept stale tc state", zap.String("why", why), zap.Int("netdevs_checked", r.Checked), zap.Int("filters_removed", r.Filters()))
}

// rebindingKernel is the tc tier's kernel: a port bound to a block of an
// earlier run (nicflow's filters only) is taken over, not refused.
type rebindingKernel struct {
	*tcflower.Handle
	log     *zap.Logger
	network string
}

func (k rebindingKernel) BindBlock(ifindex int, block uint32) error {
	s, err := tcport.Rebind(k.Handle, "", ifindex, block)
	if s != nil {
		k.log.Info("took a port over from a block of an earlier run",
			zap.String(logKeyNetwork, k.network), zap.Int("ifindex", ifindex), zap.Uint32("old_block", s.Block),
			zap.Int("filters", s.Filters), zap.Uint32("block", block))
	}
	return err
}
