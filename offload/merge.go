package offload

import (
	"fmt"
	"strings"
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
	type share struct {
		b      *tcBlock
		tier   Tier
		reason string
	}
	var shares []share
	for _, b := range n.tc.sortedBlocks() {
		if appliesOn(f, b.port) {
			tier, why := b.placementOf(f, n.tc.policy)
			shares = append(shares, share{b, tier, why})
		}
	}
	switch {
	case len(shares) == 0 && len(n.tc.blocks) == 0:
		return TierSoft, "no port of the network is bound to tc"
	case len(shares) == 0:
		return TierSoft, fmt.Sprintf("in_port %d is not bound to tc", f.Match.Key.InPort)
	case len(shares) == 1:
		return shares[0].tier, shares[0].reason
	}
	// A rule on several ports' blocks: it runs as late as its latest
	// share, and the reason names the ports whose share is not there.
	tier := TierHW
	for _, s := range shares {
		tier = laterTier(tier, s.tier)
	}
	same := true
	for _, s := range shares[1:] {
		same = same && s.tier == shares[0].tier && s.reason == shares[0].reason
	}
	if same {
		return tier, shares[0].reason
	}
	var why []string
	byTier := map[Tier][]string{}
	for _, s := range shares {
		port := fmt.Sprintf("%d (%s)", s.b.port, s.b.name)
		if s.reason != "" {
			why = append(why, fmt.Sprintf("port %s in %s: %s", port, s.tier, s.reason))
		} else {
			byTier[s.tier] = append(byTier[s.tier], port)
		}
	}
	for _, t := range []Tier{TierHW, TierTC, TierSoft} {
		if ports := byTier[t]; len(ports) > 0 {
			why = append(why, fmt.Sprintf("in %s on port %s", t, strings.Join(ports, ", ")))
		}
	}
	return tier, strings.Join(why, "; ")
}

// placementOf is where f runs on b's block and why.
func (b *tcBlock) placementOf(f *pipeline.Flow, policy Policy) (Tier, string) {
	if r := b.rules[f.ID]; r != nil && r.filter != nil && r.flow == f {
		if policy == PolicyAuto && r.tier == TierTC {
			// Out of hardware: kept out by placement, or not taken.
			if why := b.placed[f.ID].Reason; why != "" {
				return r.tier, why
			}
			return r.tier, "not in hardware: the driver did not take the filter (in_hw not set)"
		}
		return r.tier, ""
	}
	if p, ok := b.placed[f.ID]; ok {
		if p.Tier == TierSoft {
			return TierSoft, p.Reason
		}
		return TierSoft, "not installed in tc yet"
	}
	return TierSoft, "not placed yet"
}
