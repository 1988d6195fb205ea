package nic

// Vendor ids of the table.
const (
	vendorMellanox = "15b3"
	vendorIntel    = "8086"
)

// Sources cited by several rows.
const (
	// Lin Ma, "rtnetlink: ... nla_len check in ndo_bridge_setlink" (upstream
	// d73ef2d69c0d, 2023) lists the drivers whose ndo_bridge_setlink takes
	// IFLA_BRIDGE_MODE (bridge hwmode veb|vepa): bnxt, be2net, i40e, ice,
	// ixgbe, mlx5e, nfp (and qeth, the bridge itself).
	srcBridgeSetlink = "bridge hwmode: ndo_bridge_setlink handlers listed in upstream d73ef2d69c0d"
	srcVFDriver      = "a VF driver: the eswitch and its bridge mode belong to the PF"
)

// capabilityTable holds the NIC families nicflow knows, keyed by driver. The
// facts were looked up in the kernel sources and commit history cited in
// each row's Source; keep one source note per row when adding one.
var capabilityTable = []family{
	{
		driver: "mlx5_core", vendor: vendorMellanox,
		devices: map[string]string{
			"1017": "NVIDIA ConnectX-5", "1019": "NVIDIA ConnectX-5 Ex",
			"101b": "NVIDIA ConnectX-6", "101d": "NVIDIA ConnectX-6 Dx",
			"101f": "NVIDIA ConnectX-6 Lx", "1021": "NVIDIA ConnectX-7",
			"1023": "NVIDIA ConnectX-8", "a2d2": "NVIDIA BlueField",
			"a2d6": "NVIDIA BlueField-2", "a2dc": "NVIDIA BlueField-3",
		},
		caps: Capabilities{
			Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes,
			Note: "VEPA only in legacy eswitch mode; eswitch mode changes need sriov_numvfs 0 on older kernels",
			Source: "mlx5 sriov offloads mode (upstream 69697b6e2086), TC offload on VF representors (d957b4e38388), " +
				"VEPA in legacy mode (8da202b24913, mlx5_eswitch_set_vepa refuses other modes)",
		},
	},
	{
		driver: "mlx5_core", vendor: vendorMellanox,
		devices: map[string]string{"1013": "NVIDIA ConnectX-4", "1015": "NVIDIA ConnectX-4 Lx"},
		caps: Capabilities{
			Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Unknown,
			Note:   "VEPA is not claimed before ConnectX-5",
			Source: "mlx5 sriov offloads mode (upstream 69697b6e2086), TC offload on VF representors (d957b4e38388)",
		},
	},
	{
		driver: "mlx5_core", vendor: vendorMellanox,
		devices: map[string]string{
			"1014": "NVIDIA ConnectX-4 VF", "1016": "NVIDIA ConnectX-4 Lx VF",
			"1018": "NVIDIA ConnectX-5 VF", "101a": "NVIDIA ConnectX-5 Ex VF",
			"101c": "NVIDIA ConnectX-6 VF", "101e": "NVIDIA ConnectX mlx5Gen VF",
		},
		caps: Capabilities{Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No, Source: srcVFDriver},
	},
	{
		driver: "mlx5_core",
		caps: Capabilities{
			Family:    "NVIDIA mlx5 device (not listed)",
			Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Unknown,
			Source: "mlx5 sriov offloads mode (upstream 69697b6e2086), TC offload on VF representors (d957b4e38388)",
		},
	},
	{
		driver: "ice", vendor: vendorIntel,
		devices: map[string]string{
			"1591": "Intel E810-C", "1592": "Intel E810-C", "1593": "Intel E810-C",
			"1599": "Intel E810-XXV", "159a": "Intel E810-XXV", "159b": "Intel E810-XXV",
		},
		caps: iceCaps,
	},
	{driver: "ice", caps: withFamily(iceCaps, "Intel E800 series")},
	{
		driver: "i40e",
		caps: Capabilities{
			Family:    "Intel 700 series (X710/XL710/XXV710/X722)",
			Switchdev: No, FlowerOffload: No, VEB: Yes, VEPA: Yes,
			Note: "legacy SR-IOV only; tc flower only steers to hw_tc queue channels, not between VFs",
			Source: "no devlink eswitch_mode ops upstream (the 2017 VF representor series stayed an RFC); " +
				"i40e cloud filters via tc-flower (hw_tc only); " + srcBridgeSetlink,
		},
	},
	{
		driver: "ixgbe",
		caps: Capabilities{
			Family:    "Intel 82599/X540/X550 (ixgbe)",
			Switchdev: No, FlowerOffload: No, VEB: Yes, VEPA: Yes,
			Note:   "legacy SR-IOV only; tc offload is cls_u32 only",
			Source: "no devlink eswitch ops, ndo_setup_tc offloads cls_u32 and mqprio only; " + srcBridgeSetlink,
		},
	},
	{
		driver: "bnxt_en",
		caps: Capabilities{
			Family:    "Broadcom NetXtreme-C/E (bnxt_en)",
			Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes,
			Source: "bnxt_dl_eswitch_mode_set and VF representors (bnxt_vfr.c), bnxt_tc_setup_flower on VF representors " +
				"(bnxt_tc.c); " + srcBridgeSetlink,
		},
	},
	{
		driver: "nfp",
		caps: Capabilities{
			Family:    "Netronome/Corigine Agilio (nfp)",
			Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes,
			Note: "switchdev and flower offload need the flower firmware app (the eswitch mode follows the loaded firmware); " +
				"VEPA needs a recent kernel and firmware",
			Source: "nfp flower app: representors and tc flower offload (NFP_APP_FLOWER Kconfig, upstream 2017 series " +
				"8a2768732a4d); " + srcBridgeSetlink,
		},
	},
	{
		driver: "netdevsim",
		caps: Capabilities{
			Family:    "netdevsim (simulated)",
			Switchdev: Yes, FlowerOffload: No, VEB: No, VEPA: No,
			Note: "upstream netdevsim refuses tc offload except BPF classifiers (the VM harness's patched build, " +
				"test/vm/netdevsim, takes a subset of flower in switchdev mode); no data path between VFs",
			Source: "drivers/net/netdevsim/bpf.c (\"only offload of BPF classifiers supported\"); no ndo_bridge_setlink; seen in the VM harness (TESTING.md)",
		},
	},
	{
		driver: "igb",
		caps: Capabilities{
			Family:    "Intel 82576/I350 (igb)",
			Switchdev: No, FlowerOffload: No, VEB: Yes, VEPA: No,
			Note:   "legacy SR-IOV only; the bridge mode cannot be changed",
			Source: "no devlink eswitch ops; igb is not among the ndo_bridge_setlink drivers (upstream d73ef2d69c0d)",
		},
	},
	{driver: "igbvf", caps: vfCaps("Intel 82576/I350 VF (igbvf)")},
	{driver: "iavf", caps: vfCaps("Intel Adaptive VF (iavf)")},
	{driver: "ixgbevf", caps: vfCaps("Intel 82599/X540/X550 VF (ixgbevf)")},
	{
		driver: "e1000e",
		caps: Capabilities{
			Family:    "Intel PRO/1000 PCIe (e1000e)",
			Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No,
			Note: "no SR-IOV", Source: "e1000e has no SR-IOV, devlink eswitch or ndo_bridge_setlink",
		},
	},
	{
		driver: "virtio_net",
		caps: Capabilities{
			Family:    "virtio-net (paravirtual)",
			Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No,
			Note: "no SR-IOV", Source: "virtio_net has no SR-IOV, devlink eswitch or ndo_bridge_setlink",
		},
	},
}

var iceCaps = Capabilities{
	Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes,
	Note:   "eswitch mode can change only while no VFs exist; flower offload in switchdev mode",
	Source: "ice: support basic E-Switch mode control (upstream 3ea9bd5d0231, 2021), ice_tc_lib.c flower offload; " + srcBridgeSetlink,
}

func withFamily(c Capabilities, name string) Capabilities {
	c.Family = name
	return c
}

func vfCaps(name string) Capabilities {
	return Capabilities{Family: name, Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No, Source: srcVFDriver}
}
