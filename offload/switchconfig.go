package offload

import (
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
)

// SwitchConfig is a network's OpenFlow switch configuration
// (OFPT_SET_CONFIG), the same for every controller channel.
type SwitchConfig struct {
	// FragDrop drops IP fragments, IPv4 and IPv6, first and later
	// (OFPC_FRAG_DROP), in every tier: the fast path drops them before
	// table 0, and while it is set the rules that can match IP stay out of
	// tc (flower filters here do not tell fragments apart), so that a
	// fragment passes no filter but the miss filter, which hands it to the
	// fast path.
	FragDrop bool
	// InvalidTTLToController sends a packet whose TTL an action expires
	// to the controller (OFPR_INVALID_TTL) instead of dropping it
	// (OFPC_INVALID_TTL_TO_CONTROLLER).
	InvalidTTLToController bool
}

// SwitchConfig returns the switch configuration in force.
func (n *Network) SwitchConfig() SwitchConfig {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.swcfg
}

// SetSwitchConfig puts c in force in every tier before it returns. A
// network without a fast path on its ports (Config.NoFastPath) cannot drop
// fragments: FragDrop is refused there with OFPET_SWITCH_CONFIG_FAILED /
// OFPSCFC_EPERM, and nothing changes.
func (n *Network) SetSwitchConfig(c SwitchConfig) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.FragDrop && n.cfg.NoFastPath != "" {
		return pipeline.Errorf(pipeline.ErrSwitchConfigFailed, pipeline.SwitchConfigEperm,
			"dropping IP fragments needs the fast path, which this network does not run on its ports: %s", n.cfg.NoFastPath)
	}
	old := n.swcfg
	n.swcfg = c
	n.dp.SetSwitchConfig(softpath.SwitchConfig{FragDrop: c.FragDrop, InvalidTTLToController: c.InvalidTTLToController})
	if n.tc != nil && old.FragDrop != c.FragDrop {
		n.tc.fragDrop = c.FragDrop
		n.tc.invalidate()
		n.syncTC()
	}
	return nil
}
