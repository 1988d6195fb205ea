package rtnl

import (
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

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

// The names of the attributes whose decoding can fail, for errors: those
// of the message, of IFLA_AF_SPEC and of IFLA_PROTINFO.
var (
	linkAttrNames   = map[uint16]string{IFLAMaster: "IFLA_MASTER", IFLAAfSpec: "IFLA_AF_SPEC", IFLAProtinfo: "IFLA_PROTINFO"}
	afSpecAttrNames = map[uint16]string{IFLABridgeFlags: "IFLA_BRIDGE_FLAGS", IFLABridgeMode: "IFLA_BRIDGE_MODE"}
	brportAttrNames = map[uint16]string{IFLABrportState: "IFLA_BRPORT_STATE", IFLABrportMode: "IFLA_BRPORT_MODE"}
)

// ParseLink decodes the body of one RTM_NEWLINK message (struct ifinfomsg
// and attributes) of family AF_BRIDGE. A truncated message or an attribute
// of the wrong size is an error, not a silent cut.
func ParseLink(b []byte) (Link, error) {
	hdr, attrs, err := rtnetlink.ParseIfInfoMsg(b)
	if err != nil {
		return Link{}, err
	}
	if hdr.Family != AFBridge {
		return Link{}, fmt.Errorf("link message of family %d, want AF_BRIDGE (%d)", hdr.Family, AFBridge)
	}
	l := Link{Index: hdr.Index}
	err = rtnetlink.DecodeAttributes(attrs, linkAttrNames, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case IFLAIfname:
			l.Name = ad.String()
		case IFLAMaster:
			l.Master = ad.Int32()
		case IFLAAfSpec:
			ad.Do(l.decodeAfSpec)
		case IFLAProtinfo:
			l.Port = &Port{}
			ad.Do(l.Port.decode)
		}
	})
	if err != nil {
		return Link{}, fmt.Errorf("link %d: %w", hdr.Index, err)
	}
	return l, nil
}

func (l *Link) decodeAfSpec(b []byte) error {
	return rtnetlink.DecodeAttributes(b, afSpecAttrNames, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case IFLABridgeFlags:
			l.BridgeFlags = ad.Uint16()
		case IFLABridgeMode:
			l.Mode, l.HasMode = ad.Uint16(), true
		}
	})
}

func (p *Port) decode(b []byte) error {
	return rtnetlink.DecodeAttributes(b, brportAttrNames, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case IFLABrportState:
			p.State = ad.Uint8()
		case IFLABrportMode:
			p.Hairpin = ad.Uint8() != 0
		}
	})
}
