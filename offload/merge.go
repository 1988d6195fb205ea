package offload

import (
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// tierCounts are one flow's counters split by tier.
type tierCounts struct{ hw, tc, soft Counts }

func (c tierCounts) total() Counts {
	t := c.hw
	t.add(c.tc)
	t.add(c.soft)
	return t
}

// flowCounts merges a flow's counters: the fast path's plus what its tc
// filters counted, in hardware and in kernel software. Callers hold mu
// (and refresh the tc counters first when they want them current).
func (n *Network) flowCounts(f *pipeline.Flow) tierCounts {
	var c tierCounts
	c.soft = Counts{Packets: f.Counters.Packets.Load(), Bytes: f.Counters.Bytes.Load()}
	c.hw, c.tc = n.tc.flowCounts(f.ID)
	return c
}

// lastUsed is when f last matched a packet in any tier. Callers hold mu.
func (n *Network) lastUsed(f *pipeline.Flow) time.Time {
	var soft time.Time
	if ns := f.Counters.LastUsed.Load(); ns != 0 {
		soft = time.Unix(0, ns)
	}
	if tc := n.tc.lastUsed(f.ID); tc.After(soft) {
		return tc
	}
	return soft
}

// placement is where f runs now and why. Callers hold mu.
func (n *Network) placement(f *pipeline.Flow) (Tier, string) {
	tier, why := n.placementOf(f)
	if tier == TierSoft && n.cfg.NoFastPath != "" {
		why = "not enforced (" + n.cfg.NoFastPath + "): " + why
	}
	return tier, why
}

func (n *Network) placementOf(f *pipeline.Flow) (Tier, string) {
	if n.tc == nil {
		if n.cfg.Offload == PolicyOff {
			return TierSoft, "offload policy is off"
		}
		why := n.cfg.TCUnavailable
		if why == "" {
			why = "the network has no tc tier"
		}
		return TierSoft, "tc tier unavailable: " + why
	}
	if r := n.tc.rules[f.ID]; r != nil && r.filter != nil && r.flow == f {
		return r.tier, ""
	}
	if p, ok := n.tc.placed[f.ID]; ok {
		if p.Tier == TierSoft {
			return TierSoft, p.Reason
		}
		return TierSoft, "not installed in tc yet"
	}
	return TierSoft, "not placed yet"
}
