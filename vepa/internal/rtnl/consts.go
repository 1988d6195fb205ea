package rtnl

// Message types and families (include/uapi/linux/rtnetlink.h, socket.h).
const (
	RTMNewLink = 16 // RTM_NEWLINK
	RTMGetLink = 18 // RTM_GETLINK
	RTMSetLink = 19 // RTM_SETLINK

	AFUnspec = 0 // AF_UNSPEC
	AFBridge = 7 // AF_BRIDGE (PF_BRIDGE)
)

// Link attributes (enum IFLA_*, include/uapi/linux/if_link.h).
const (
	IFLAAddress  = 1  // IFLA_ADDRESS
	IFLAIfname   = 3  // IFLA_IFNAME
	IFLAMTU      = 4  // IFLA_MTU
	IFLALink     = 5  // IFLA_LINK
	IFLAMaster   = 10 // IFLA_MASTER
	IFLAProtinfo = 12 // IFLA_PROTINFO: bridge port attributes (IFLA_BRPORT_*)
	IFLAOperstat = 16 // IFLA_OPERSTATE
	IFLAAfSpec   = 26 // IFLA_AF_SPEC: for AF_BRIDGE, IFLA_BRIDGE_* attributes
	IFLAExtMask  = 29 // IFLA_EXT_MASK: RTEXT_FILTER_* bits of a dump request
)

// RTEXTFilterBrVLAN asks a bridge dump for VLAN information too
// (RTEXT_FILTER_BRVLAN), as `bridge -d link show` and `bridge vlan` do; it
// also makes the kernel list bridge devices themselves.
const RTEXTFilterBrVLAN = 1 << 1

// IFLA_AF_SPEC attributes of the bridge family (include/uapi/linux/if_bridge.h).
const (
	IFLABridgeFlags    = 0 // IFLA_BRIDGE_FLAGS: u16 BRIDGE_FLAGS_*
	IFLABridgeMode     = 1 // IFLA_BRIDGE_MODE: u16 BRIDGE_MODE_*
	IFLABridgeVLANInfo = 2 // IFLA_BRIDGE_VLAN_INFO
)

// IFLA_BRIDGE_FLAGS bits: which device handles the request, the bridge
// master of a port or the device itself (its driver's embedded bridge).
const (
	BridgeFlagsMaster = 1 // BRIDGE_FLAGS_MASTER
	BridgeFlagsSelf   = 2 // BRIDGE_FLAGS_SELF
)

// IFLA_BRIDGE_MODE values.
const (
	BridgeModeVEB   = 0      // BRIDGE_MODE_VEB: the embedded bridge switches locally
	BridgeModeVEPA  = 1      // BRIDGE_MODE_VEPA: everything goes out of the uplink
	BridgeModeUndef = 0xFFFF // BRIDGE_MODE_UNDEF: never sent by the kernel (the attribute is left out)
)

// Bridge port attributes inside IFLA_PROTINFO (enum IFLA_BRPORT_*).
const (
	IFLABrportState    = 1 // IFLA_BRPORT_STATE: u8 BR_STATE_*
	IFLABrportPriority = 2 // IFLA_BRPORT_PRIORITY: u16
	IFLABrportCost     = 3 // IFLA_BRPORT_COST: u32
	IFLABrportMode     = 4 // IFLA_BRPORT_MODE: u8, 1 = hairpin (reflective relay)
)
