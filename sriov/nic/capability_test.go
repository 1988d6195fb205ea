package nic

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLookupCapabilities(t *testing.T) {
	tests := []struct {
		name                   string
		driver, vendor, device string
		want                   Capabilities
	}{
		{"ConnectX-6 Dx", "mlx5_core", "15b3", "101d", Capabilities{Family: "NVIDIA ConnectX-6 Dx", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes}},
		{"BlueField-2", "mlx5_core", "15b3", "a2d6", Capabilities{Family: "NVIDIA BlueField-2", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes}},
		{"ConnectX-4 Lx: no VEPA claim", "mlx5_core", "15b3", "1015", Capabilities{Family: "NVIDIA ConnectX-4 Lx", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Unknown}},
		{"mlx5 VF", "mlx5_core", "15b3", "101e", Capabilities{Family: "NVIDIA ConnectX mlx5Gen VF", Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No}},
		{"mlx5 device not listed", "mlx5_core", "15b3", "1099", Capabilities{Family: "NVIDIA mlx5 device (not listed)", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Unknown}},
		{"E810", "ice", "8086", "1593", Capabilities{Family: "Intel E810-C", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes}},
		{"other ice device", "ice", "8086", "188a", Capabilities{Family: "Intel E800 series", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes}},
		{"i40e", "i40e", "8086", "1572", Capabilities{Family: "Intel 700 series (X710/XL710/XXV710/X722)", Switchdev: No, FlowerOffload: No, VEB: Yes, VEPA: Yes}},
		{"ixgbe", "ixgbe", "8086", "10fb", Capabilities{Family: "Intel 82599/X540/X550 (ixgbe)", Switchdev: No, FlowerOffload: No, VEB: Yes, VEPA: Yes}},
		{"bnxt_en", "bnxt_en", "14e4", "16d7", Capabilities{Family: "Broadcom NetXtreme-C/E (bnxt_en)", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes}},
		{"nfp", "nfp", "19ee", "4000", Capabilities{Family: "Netronome/Corigine Agilio (nfp)", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes}},
		{"netdevsim", "netdevsim", "", "", Capabilities{Family: "netdevsim (simulated)", Switchdev: Yes, FlowerOffload: No, VEB: No, VEPA: No}},
		{"igb", "igb", "8086", "1521", Capabilities{Family: "Intel 82576/I350 (igb)", Switchdev: No, FlowerOffload: No, VEB: Yes, VEPA: No}},
		{"igbvf", "igbvf", "8086", "1520", Capabilities{Family: "Intel 82576/I350 VF (igbvf)", Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No}},
		{"unknown driver", "r8169", "10ec", "8168", Capabilities{Family: UnknownFamily, Switchdev: Unknown, FlowerOffload: Unknown, VEB: Unknown, VEPA: Unknown}},
		{"no driver", "", "10ec", "8168", Capabilities{Family: UnknownFamily, Switchdev: Unknown, FlowerOffload: Unknown, VEB: Unknown, VEPA: Unknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LookupCapabilities(tt.driver, tt.vendor, tt.device)
			if diff := cmp.Diff(tt.want, got, ignoreCapText); diff != "" {
				t.Errorf("LookupCapabilities(%q, %q, %q) (-want +got):\n%s", tt.driver, tt.vendor, tt.device, diff)
			}
		})
	}
	if got := LookupCapabilities("r8169", "10ec", "8168"); !strings.Contains(got.Note, "r8169 is not in the capability table") {
		t.Errorf("unknown family note = %q, want it to name the driver", got.Note)
	}
}

// TestCapabilityTableRows: every row is complete: a family for each of its
// devices, a source note, and only yes/no/unknown answers.
func TestCapabilityTableRows(t *testing.T) {
	valid := map[Support]bool{Yes: true, No: true, Unknown: true}
	for i, f := range capabilityTable {
		c := f.caps
		if c.Source == "" {
			t.Errorf("row %d (%s): no source note", i, f.driver)
		}
		for _, s := range []Support{c.Switchdev, c.FlowerOffload, c.VEB, c.VEPA} {
			if !valid[s] {
				t.Errorf("row %d (%s): support %q is not yes/no/unknown", i, f.driver, s)
			}
		}
		if len(f.devices) == 0 && c.Family == "" {
			t.Errorf("row %d (%s): no family name", i, f.driver)
		}
		if len(f.devices) > 0 && f.vendor == "" {
			t.Errorf("row %d (%s): device ids without a vendor", i, f.driver)
		}
		for id, name := range f.devices {
			if name == "" || len(id) != 4 || strings.ToLower(id) != id {
				t.Errorf("row %d (%s): device %q %q: want a name and a 4-digit lower-case id", i, f.driver, id, name)
			}
		}
	}
}
