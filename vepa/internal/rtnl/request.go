package rtnl

import (
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// SetBridgeMode returns the body of the RTM_SETLINK request that sets the
// embedded bridge mode (BridgeModeVEB or BridgeModeVEPA) of device index,
// handled by the device's own driver (ndo_bridge_setlink). It is what
// iproute2's `bridge link set dev X hwmode vepa` sends (bridge/link.c
// brlink_modify), byte for byte:
//
//	ifinfomsg{family AF_BRIDGE, index}
//	IFLA_PROTINFO|NLA_F_NESTED {}              (empty: no port settings)
//	IFLA_AF_SPEC {
//		IFLA_BRIDGE_FLAGS u16 BRIDGE_FLAGS_SELF
//		IFLA_BRIDGE_MODE  u16 mode
//	}
//
// Send it with NLM_F_REQUEST|NLM_F_ACK.
func SetBridgeMode(index int32, mode uint16) []byte {
	return linkMsg(index, func(ae *netlink.AttributeEncoder) {
		ae.Nested(IFLAProtinfo, func(*netlink.AttributeEncoder) error { return nil })
		rtnetlink.Nest(ae, IFLAAfSpec, func(ae *netlink.AttributeEncoder) error {
			ae.Uint16(IFLABridgeFlags, BridgeFlagsSelf)
			ae.Uint16(IFLABridgeMode, mode)
			return nil
		})
	})
}

// SetHairpin returns the body of the RTM_SETLINK request that turns the
// hairpin (reflective relay) flag of bridge port index on or off, handled
// by the port's bridge master (no IFLA_AF_SPEC flags). It is what
// `bridge link set dev X hairpin on|off` sends:
//
//	ifinfomsg{family AF_BRIDGE, index}
//	IFLA_PROTINFO|NLA_F_NESTED { IFLA_BRPORT_MODE u8 0|1 }
func SetHairpin(index int32, on bool) []byte {
	var v uint8
	if on {
		v = 1
	}
	return linkMsg(index, func(ae *netlink.AttributeEncoder) {
		ae.Nested(IFLAProtinfo, func(ae *netlink.AttributeEncoder) error {
			ae.Uint8(IFLABrportMode, v)
			return nil
		})
	})
}

// Dump returns the body of the RTM_GETLINK dump request of the bridge
// family: every bridge port (from its master) and every device whose driver
// reports an embedded bridge (ndo_bridge_getlink), as `bridge -d link
// show` lists them. Send it with NLM_F_REQUEST|NLM_F_DUMP.
//
//	ifinfomsg{family AF_BRIDGE}
//	IFLA_EXT_MASK u32 RTEXT_FILTER_BRVLAN
func Dump() []byte {
	return linkMsg(0, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(IFLAExtMask, RTEXTFilterBrVLAN)
	})
}

// linkMsg returns an AF_BRIDGE ifinfomsg for device index followed by the
// attributes fn encodes. They are a few fixed-size attributes, which
// cannot fail to encode: an error is a bug, and panics.
func linkMsg(index int32, fn func(ae *netlink.AttributeEncoder)) []byte {
	hdr := rtnetlink.IfInfoMsg{Family: AFBridge, Index: index}.Append(nil)
	b, err := rtnetlink.AppendAttributes(hdr, func(ae *netlink.AttributeEncoder) error {
		fn(ae)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("rtnl: encode a bridge link request: %v", err))
	}
	return b
}
