package vepa

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/vepa/internal/rtnl"
)

// Mode is the mode of a NIC's embedded bridge (IFLA_BRIDGE_MODE).
type Mode uint16

// Embedded bridge modes.
const (
	// ModeVEB (Virtual Ethernet Bridge): the NIC switches traffic between
	// its functions (PF, VFs) itself; only traffic for other hosts leaves
	// through the uplink.
	ModeVEB Mode = rtnl.BridgeModeVEB
	// ModeVEPA (Virtual Ethernet Port Aggregator, IEEE 802.1Qbg): every
	// frame leaves through the uplink; the external switch reflects
	// VF-to-VF traffic back (hairpin / reflective relay on its port).
	ModeVEPA Mode = rtnl.BridgeModeVEPA
	// ModeUndefined is reported for a device whose driver has an embedded
	// bridge but reports no mode (BRIDGE_MODE_UNDEF).
	ModeUndefined Mode = rtnl.BridgeModeUndef
)

func (m Mode) String() string {
	switch m {
	case ModeVEB:
		return "veb"
	case ModeVEPA:
		return "vepa"
	case ModeUndefined:
		return "undefined"
	}
	return fmt.Sprintf("mode(%d)", uint16(m))
}

// ParseMode parses "veb" or "vepa" (as `bridge link set ... hwmode` takes).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "veb":
		return ModeVEB, nil
	case "vepa":
		return ModeVEPA, nil
	}
	return 0, fmt.Errorf("embedded bridge mode %q: want veb or vepa", s)
}

// EmbeddedBridge is one device whose driver reports an embedded bridge
// (`bridge link show self` with its hwmode).
type EmbeddedBridge struct {
	Dev   string
	Index int
	Mode  Mode
}

// EmbeddedBridges lists the devices of the handle's namespace whose driver
// reports an embedded bridge (ndo_bridge_getlink), with their modes.
func (h *Handle) EmbeddedBridges() ([]EmbeddedBridge, error) {
	links, err := h.dump()
	if err != nil {
		return nil, fmt.Errorf("list embedded bridges: %w", err)
	}
	var out []EmbeddedBridge
	for _, l := range links {
		if !l.Self() {
			continue
		}
		out = append(out, EmbeddedBridge{Dev: l.Name, Index: int(l.Index), Mode: selfMode(l)})
	}
	return out, nil
}

func selfMode(l rtnl.Link) Mode {
	if !l.HasMode {
		return ModeUndefined
	}
	return Mode(l.Mode)
}

// BridgeMode returns the mode of dev's embedded bridge, read from the
// bridge-family link dump (the device's own report, BRIDGE_FLAGS_SELF). A
// device whose driver reports no embedded bridge (veth, most virtual
// devices, drivers without ndo_bridge_getlink) gives an *Error matching
// ErrNotSupported.
func (h *Handle) BridgeMode(dev string) (Mode, error) {
	idx, err := h.index(dev)
	if err != nil {
		return 0, err
	}
	links, err := h.dump()
	if err != nil {
		return 0, fmt.Errorf("dev %s: read embedded bridge mode: %w", dev, err)
	}
	for _, l := range links {
		if l.Index == idx && l.Self() {
			return selfMode(l), nil
		}
	}
	return 0, &Error{
		Dev: dev, Op: "read embedded bridge mode", Errno: unix.EOPNOTSUPP,
		unsupported: "the driver does not report an embedded bridge mode",
	}
}

// SetBridgeMode sets the mode of dev's embedded bridge (ModeVEB or
// ModeVEPA), as `bridge link set dev DEV hwmode vepa|veb` does. The
// driver's refusal comes back as an *Error with the kernel's own message
// (extended ack) when it gave one; a driver without ndo_bridge_setlink
// gives "dev DEV: the driver does not support setting the embedded bridge
// mode: operation not supported" (errors.Is ErrNotSupported). On an error
// the device is left as it was.
func (h *Handle) SetBridgeMode(dev string, m Mode) error {
	if m != ModeVEB && m != ModeVEPA {
		return fmt.Errorf("dev %s: set embedded bridge mode: %v is not veb or vepa", dev, m)
	}
	idx, err := h.index(dev)
	if err != nil {
		return err
	}
	if err := h.setLink(rtnl.SetBridgeMode(idx, uint16(m))); err != nil {
		return opError(dev, "set embedded bridge mode to "+m.String(),
			"the driver does not support setting the embedded bridge mode", err)
	}
	return nil
}
