package offload

import (
	"fmt"
	"strings"
)

// OffloadNote says in words where the network's rules can run: the tc
// tier and its block, or why there is none.
func (n *Network) OffloadNote() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if why := n.cfg.NoFastPath; why != "" {
		if n.tc == nil {
			return "no rule is enforced: " + why + ", and there is no tc tier"
		}
		return fmt.Sprintf("tc tier up: %s; only rules in tc are enforced (%s); frames no rule takes go on to the host stack", n.tc.blocksNote(), why)
	}
	switch {
	case n.cfg.Offload == PolicyOff:
		return "offload policy is off: every rule runs in the fast path"
	case n.tc == nil && n.cfg.TCUnavailable != "":
		return "tc tier unavailable: " + n.cfg.TCUnavailable + "; every rule runs in the fast path"
	case n.tc == nil:
		return "no tc tier: every rule runs in the fast path"
	}
	return fmt.Sprintf("tc tier up: %s, misses to the fast path through %s", n.tc.blocksNote(), n.tc.cfg.MissDev)
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

// blocksNote names the tier's blocks.
func (t *tcTier) blocksNote() string {
	if !t.perPort {
		return fmt.Sprintf("shared block %d", t.cfg.Block)
	}
	var parts []string
	for _, b := range t.sortedBlocks() {
		parts = append(parts, fmt.Sprintf("%s %d", b.name, b.index))
	}
	if len(parts) == 0 {
		return "a block per port (no port bound yet)"
	}
	return "a block per port (" + strings.Join(parts, ", ") + ")"
}
