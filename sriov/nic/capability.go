package nic

// Support says whether a NIC family supports a feature.
type Support string

// Support values.
const (
	Yes     Support = "yes"
	No      Support = "no"
	Unknown Support = "unknown"
)

// UnknownFamily is the family of a NIC missing from the capability table.
const UnknownFamily = "unknown"

// Capabilities is what a NIC family is known to support, from the
// capability table. A NIC missing from the table has family UnknownFamily
// and every capability Unknown; it is reported, never refused.
type Capabilities struct {
	Family string `json:"family"`
	// Switchdev: the devlink eswitch can be put in switchdev mode
	// (representors, tc offload on the eswitch).
	Switchdev Support `json:"switchdev"`
	// FlowerOffload: tc flower filters on representors run in hardware.
	FlowerOffload Support `json:"flower_offload"`
	// VEB: VFs of the port switch to each other inside the NIC (legacy
	// SR-IOV, the default of SR-IOV NICs).
	VEB Support `json:"veb"`
	// VEPA: the port can send VF-to-VF traffic out to the external switch
	// (bridge hwmode vepa).
	VEPA Support `json:"vepa"`
	// Note qualifies the row (modes, firmware, limits).
	Note string `json:"note,omitempty"`
	// Source says where the facts come from.
	Source string `json:"source,omitempty"`
}

// family is one row of the capability table: a driver, optionally narrowed
// to PCI device ids where the family matters. Rows of a driver with device ids
// come first; a row of the same driver without ids catches its other devices.
type family struct {
	driver string
	vendor string
	// devices maps a device id of vendor to the family name; empty means
	// every device of the driver (caps.Family names them).
	devices map[string]string
	caps    Capabilities
}

// LookupCapabilities returns the capabilities of a NIC by driver and PCI ids
// (lower-case hex, empty on netdevsim).
func LookupCapabilities(driver, vendorID, deviceID string) Capabilities {
	for _, f := range capabilityTable {
		if f.driver != driver {
			continue
		}
		if len(f.devices) == 0 {
			return f.caps
		}
		if name, ok := f.devices[deviceID]; ok && vendorID == f.vendor {
			c := f.caps
			c.Family = name
			return c
		}
	}
	return Capabilities{
		Family:        UnknownFamily,
		Switchdev:     Unknown,
		FlowerOffload: Unknown,
		VEB:           Unknown,
		VEPA:          Unknown,
		Note:          "driver " + driver + " is not in the capability table",
	}
}
