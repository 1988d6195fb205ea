package vepa

import (
	"fmt"

	"github.com/nicflow/nicflow/vepa/internal/rtnl"
)

// SetHairpin turns hairpin mode (reflective relay: a frame may go back out
// of the port it came in on) of Linux bridge port port on or off, as
// `bridge link set dev PORT hairpin on|off` does. A device that is not a
// bridge port gives an *Error matching ErrNotSupported.
func (h *Handle) SetHairpin(port string, on bool) error {
	idx, err := h.index(port)
	if err != nil {
		return err
	}
	op := "set hairpin off"
	if on {
		op = "set hairpin on"
	}
	if err := h.setLink(rtnl.SetHairpin(idx, on)); err != nil {
		return opError(port, op, "cannot "+op+": not a port of a bridge that supports it", err)
	}
	return nil
}

// Hairpin reports whether Linux bridge port port has hairpin mode on, read
// from its bridge's report in the bridge-family link dump
// (IFLA_PROTINFO/IFLA_BRPORT_MODE). A device that is not a bridge port
// gives ErrNotBridgePort.
func (h *Handle) Hairpin(port string) (bool, error) {
	idx, err := h.index(port)
	if err != nil {
		return false, err
	}
	links, err := h.dump()
	if err != nil {
		return false, fmt.Errorf("dev %s: read hairpin mode: %w", port, err)
	}
	for _, l := range links {
		if l.Index == idx && l.Port != nil {
			return l.Port.Hairpin, nil
		}
	}
	return false, fmt.Errorf("dev %s: read hairpin mode: %w", port, ErrNotBridgePort)
}
