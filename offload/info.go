package offload

import "fmt"

// OffloadNote says in words where the network's rules can run: the tc
// tier and its block, or why there is none.
func (n *Network) OffloadNote() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if why := n.cfg.NoFastPath; why != "" {
		if n.tc == nil {
			return "no rule is enforced: " + why + ", and there is no tc tier"
		}
		return fmt.Sprintf("tc tier up: shared block %d; only rules in tc are enforced (%s); frames no rule takes go on to the host stack", n.tc.cfg.Block, why)
	}
	switch {
	case n.cfg.Offload == PolicyOff:
		return "offload policy is off: every rule runs in the fast path"
	case n.tc == nil && n.cfg.TCUnavailable != "":
		return "tc tier unavailable: " + n.cfg.TCUnavailable + "; every rule runs in the fast path"
	case n.tc == nil:
		return "no tc tier: every rule runs in the fast path"
	}
	return fmt.Sprintf("tc tier up: shared block %d, misses to the fast path through %s", n.tc.cfg.Block, n.tc.cfg.MissDev)
}

// OffloadRefusals counts the filters the kernel or device refused so far
// (each such rule runs in the fast path, its reason saying why).
func (n *Network) OffloadRefusals() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tc == nil {
		return 0
	}
	return n.tc.refusals
}
