package rtnl

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
	b := IfInfoMsg{Family: AFBridge, Index: index}.append(nil)
	b = appendAttr(b, IFLAProtinfo|FlagNested, nil)
	return appendAttr(b, IFLAAfSpec, nest(
		appendAttr(nil, IFLABridgeFlags, u16(BridgeFlagsSelf)),
		appendAttr(nil, IFLABridgeMode, u16(mode)),
	))
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
	b := IfInfoMsg{Family: AFBridge, Index: index}.append(nil)
	return appendAttr(b, IFLAProtinfo|FlagNested, appendAttr(nil, IFLABrportMode, u8(v)))
}

// Dump returns the body of the RTM_GETLINK dump request of the bridge
// family: every bridge port (from its master) and every device whose driver
// reports an embedded bridge (ndo_bridge_getlink), as `bridge -d link
// show` lists them. Send it with NLM_F_REQUEST|NLM_F_DUMP.
//
//	ifinfomsg{family AF_BRIDGE}
//	IFLA_EXT_MASK u32 RTEXT_FILTER_BRVLAN
func Dump() []byte {
	b := IfInfoMsg{Family: AFBridge}.append(nil)
	return appendAttr(b, IFLAExtMask, u32(RTEXTFilterBrVLAN))
}
