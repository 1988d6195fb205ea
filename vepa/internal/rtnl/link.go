package rtnl

import "fmt"

// Link is one RTM_NEWLINK message of a bridge-family dump. The kernel sends
// a device up to twice: once from its bridge master when it is a bridge
// port (Port set), and once from its own driver when the driver has an
// embedded bridge (ndo_dflt_bridge_getlink: IFLA_BRIDGE_FLAGS
// BRIDGE_FLAGS_SELF, and IFLA_BRIDGE_MODE unless the mode is undefined).
type Link struct {
	Index  int32
	Name   string
	Master int32 // IFLA_MASTER, 0 when absent

	// BridgeFlags is IFLA_AF_SPEC's IFLA_BRIDGE_FLAGS (0 when absent);
	// BridgeFlagsSelf marks the driver's own report.
	BridgeFlags uint16
	// Mode is IFLA_BRIDGE_MODE when HasMode.
	Mode    uint16
	HasMode bool

	// Port holds IFLA_PROTINFO when the message carries it (a bridge
	// port's attributes, reported by the master).
	Port *Port
}

// Self reports whether the message is the device's own report of its
// embedded bridge (BRIDGE_FLAGS_SELF).
func (l Link) Self() bool { return l.BridgeFlags&BridgeFlagsSelf != 0 }

// Port is the part of IFLA_PROTINFO vepa reads.
type Port struct {
	State   uint8 // BR_STATE_*
	Hairpin bool  // IFLA_BRPORT_MODE == 1
}

// ParseLink decodes the body of one RTM_NEWLINK message (struct ifinfomsg
// and attributes) of family AF_BRIDGE.
func ParseLink(b []byte) (Link, error) {
	hdr, err := parseIfInfoMsg(b)
	if err != nil {
		return Link{}, err
	}
	if hdr.Family != AFBridge {
		return Link{}, fmt.Errorf("link message of family %d, want AF_BRIDGE (%d)", hdr.Family, AFBridge)
	}
	l := Link{Index: hdr.Index}
	attrs, err := parseAttrs(b[IfInfoMsgLen:])
	if err != nil {
		return Link{}, fmt.Errorf("link %d: %w", hdr.Index, err)
	}
	for _, a := range attrs {
		switch a.Type {
		case IFLAIfname:
			l.Name = getString(a)
		case IFLAMaster:
			v, err := getU32(a)
			if err != nil {
				return Link{}, fmt.Errorf("link %d: IFLA_MASTER: %w", hdr.Index, err)
			}
			l.Master = int32(v)
		case IFLAAfSpec:
			if err := l.parseAfSpec(a.Data); err != nil {
				return Link{}, fmt.Errorf("link %d: IFLA_AF_SPEC: %w", hdr.Index, err)
			}
		case IFLAProtinfo:
			p, err := parsePort(a.Data)
			if err != nil {
				return Link{}, fmt.Errorf("link %d: IFLA_PROTINFO: %w", hdr.Index, err)
			}
			l.Port = &p
		}
	}
	return l, nil
}

func (l *Link) parseAfSpec(b []byte) error {
	attrs, err := parseAttrs(b)
	if err != nil {
		return err
	}
	for _, a := range attrs {
		switch a.Type {
		case IFLABridgeFlags:
			v, err := getU16(a)
			if err != nil {
				return fmt.Errorf("IFLA_BRIDGE_FLAGS: %w", err)
			}
			l.BridgeFlags = v
		case IFLABridgeMode:
			v, err := getU16(a)
			if err != nil {
				return fmt.Errorf("IFLA_BRIDGE_MODE: %w", err)
			}
			l.Mode, l.HasMode = v, true
		}
	}
	return nil
}

func parsePort(b []byte) (Port, error) {
	attrs, err := parseAttrs(b)
	if err != nil {
		return Port{}, err
	}
	var p Port
	for _, a := range attrs {
		switch a.Type {
		case IFLABrportState:
			v, err := getU8(a)
			if err != nil {
				return Port{}, fmt.Errorf("IFLA_BRPORT_STATE: %w", err)
			}
			p.State = v
		case IFLABrportMode:
			v, err := getU8(a)
			if err != nil {
				return Port{}, fmt.Errorf("IFLA_BRPORT_MODE: %w", err)
			}
			p.Hairpin = v != 0
		}
	}
	return p, nil
}
