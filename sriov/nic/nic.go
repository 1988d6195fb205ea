package nic

// Bus names of NIC devices.
const (
	BusPCI       = "pci"
	BusNetdevsim = "netdevsim"
)

// Eswitch modes as devlink names them. An empty mode means the device has
// no devlink eswitch (or devlink could not be asked).
const (
	EswitchLegacy    = "legacy"
	EswitchSwitchdev = "switchdev"
)

// NIC is one physical port of a network card, as discovered on the host. It
// is served as-is by the REST API.
type NIC struct {
	// Name is the netdev name of the port (the PF, or the uplink
	// representor in switchdev mode).
	Name string `json:"name"`
	// Bus is BusPCI or BusNetdevsim.
	Bus string `json:"bus"`
	// PCIAddress is the PCI function of the port ("0000:3b:00.0"), empty
	// on the netdevsim bus.
	PCIAddress string `json:"pci_address,omitempty"`
	// DevlinkHandle names the device for devlink: "pci/0000:3b:00.0" or
	// "netdevsim/netdevsim30".
	DevlinkHandle string `json:"devlink_handle"`

	// PCI ids in lower-case hex without 0x ("15b3"), empty when unknown.
	VendorID          string `json:"vendor_id,omitempty"`
	DeviceID          string `json:"device_id,omitempty"`
	SubsystemVendorID string `json:"subsystem_vendor_id,omitempty"`
	SubsystemDeviceID string `json:"subsystem_device_id,omitempty"`
	// Names from pci.ids, empty when the ids are not listed or the
	// database is missing (a note says so).
	VendorName string `json:"vendor_name,omitempty"`
	DeviceName string `json:"device_name,omitempty"`

	Driver          string `json:"driver"`
	DriverVersion   string `json:"driver_version,omitempty"`
	FirmwareVersion string `json:"firmware_version,omitempty"`

	MAC string `json:"mac,omitempty"`
	MTU int    `json:"mtu"`
	// OperState is the netdev's operstate ("up", "down", "unknown", ...).
	OperState string `json:"oper_state"`
	Carrier   bool   `json:"carrier"`
	// SpeedMbps is the link speed, 0 when unknown (link down, virtual).
	SpeedMbps int `json:"speed_mbps"`
	// NUMANode is the device's NUMA node, -1 when the platform has none.
	NUMANode int `json:"numa_node"`

	PhysPortName string `json:"phys_port_name,omitempty"`
	// SwitchID is the phys_switch_id shared by the port and its
	// representors (hex, as in sysfs).
	SwitchID string `json:"switch_id,omitempty"`
	// EswitchMode is EswitchLegacy, EswitchSwitchdev or empty (no devlink
	// eswitch on this device).
	EswitchMode string `json:"eswitch_mode,omitempty"`
	// UplinkRepresentor is the netdev standing for the physical port in
	// switchdev mode (same switch id, port name pN).
	UplinkRepresentor string `json:"uplink_representor,omitempty"`

	SRIOV SRIOV `json:"sriov"`
	// SFs are the port's sub-functions (mlx5 SFs: auxiliary devices with
	// an sfnum) with, in switchdev mode, their representors (pfNsfM).
	SFs []SF `json:"sfs,omitempty"`
	// HostPF is set on the eswitch side of a SmartNIC/DPU (BlueField's Arm
	// cores): the host PF that the port's eswitch serves.
	HostPF *HostPF `json:"host_pf,omitempty"`

	Offload      Offload      `json:"offload"`
	Capabilities Capabilities `json:"capabilities"`

	// Notes say what could not be found out and why (a missing pci.ids,
	// an ethtool or devlink failure). Discovery degrades instead of failing.
	Notes []string `json:"notes,omitempty"`
}

// SRIOV is the SR-IOV state of a port.
type SRIOV struct {
	// Capable is true when the device exposes sriov_numvfs.
	Capable bool `json:"capable"`
	// TotalVFs is sriov_totalvfs (0 when the device does not say).
	TotalVFs int `json:"total_vfs"`
	// NumVFs is sriov_numvfs, the VFs currently enabled.
	NumVFs int  `json:"num_vfs"`
	VFs    []VF `json:"vfs,omitempty"`
}

// VF is one virtual function of a port.
type VF struct {
	Index int `json:"index"`
	// PCIAddress is the VF's PCI function (empty on netdevsim).
	PCIAddress string `json:"pci_address,omitempty"`
	DeviceID   string `json:"device_id,omitempty"`
	// Driver is the driver the VF is bound to (iavf, mlx5_core, vfio-pci),
	// empty when unbound.
	Driver string `json:"driver,omitempty"`
	// Netdev is the VF's netdev when it is bound to a net driver.
	Netdev string `json:"netdev,omitempty"`
	// Representor is the VF's representor netdev in switchdev mode.
	Representor string `json:"representor,omitempty"`
}

// SF is one sub-function of a port.
type SF struct {
	// Num is the SF number (sfnum), the M of its representor's pfNsfM.
	Num int `json:"num"`
	// AuxDevice is the SF's auxiliary device, e.g. mlx5_core.sf.2.
	AuxDevice string `json:"aux_device"`
	// Netdev is the SF's netdev when it has one.
	Netdev string `json:"netdev,omitempty"`
	// Representor is the SF's representor netdev in switchdev mode.
	Representor string `json:"representor,omitempty"`
}

// HostPF is the host's PF as a SmartNIC/DPU eswitch sees it.
type HostPF struct {
	// Representor is its representor netdev (phys_port_name [cN]pfN,
	// devlink flavour pcipf; BlueField names it pfNhpf).
	Representor string `json:"representor"`
	// MAC is the host PF's MAC address, empty when the DPU does not say.
	MAC string `json:"mac,omitempty"`
}

// FeatureState is the state of an ethtool feature.
type FeatureState string

// Feature states.
const (
	FeatureOn       FeatureState = "on"
	FeatureOff      FeatureState = "off"
	FeatureOffFixed FeatureState = "off [fixed]" // the device cannot turn it on
	FeatureUnknown  FeatureState = "unknown"
)

// Offload is what the port offers for tc offload.
type Offload struct {
	// HWTCOffload is the ethtool feature hw-tc-offload.
	HWTCOffload FeatureState `json:"hw_tc_offload"`
}
