package nic

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nicflow/nicflow/sriov/internal/sysfstest"
)

// ignoreCapText leaves the table's prose out of comparisons; the facts
// (family and supports) are compared.
var ignoreCapText = cmpopts.IgnoreFields(Capabilities{}, "Note", "Source")

func fixtureDiscoverer(t *testing.T, fixture string) *Discoverer {
	t.Helper()
	return &Discoverer{
		Root:    sysfstest.Unpack(t, fixture),
		PCIIDs:  filepath.Join("testdata", "pci.ids"),
		Ethtool: fixtureEthtool,
		Devlink: fixtureDevlink,
	}
}

var (
	wantCX6 = NIC{
		Name: "enp59s0f0np0", Bus: BusPCI, PCIAddress: "0000:3b:00.0", DevlinkHandle: "pci/0000:3b:00.0",
		VendorID: "15b3", DeviceID: "101d", SubsystemVendorID: "15b3", SubsystemDeviceID: "0016",
		VendorName: "Mellanox Technologies", DeviceName: "MT2892 Family [ConnectX-6 Dx]",
		Driver: "mlx5_core", DriverVersion: "6.1.0-18-amd64", FirmwareVersion: "22.39.1002 (MT_0000000359)",
		MAC: "b8:ce:f6:0a:1b:2c", MTU: 9000, OperState: "up", Carrier: true, SpeedMbps: 100000, NUMANode: 0,
		PhysPortName: "p0", SwitchID: "2c1b0a0003f6ceb8", EswitchMode: EswitchSwitchdev,
		UplinkRepresentor: "enp59s0f0np0",
		SRIOV: SRIOV{Capable: true, TotalVFs: 8, NumVFs: 2, VFs: []VF{
			{Index: 0, PCIAddress: "0000:3b:00.2", DeviceID: "101e", Driver: "mlx5_core", Netdev: "enp59s0f0v0", Representor: "enp59s0f0npf0vf0"},
			{Index: 1, PCIAddress: "0000:3b:00.3", DeviceID: "101e", Driver: "mlx5_core", Netdev: "enp59s0f0v1", Representor: "enp59s0f0npf0vf1"},
		}},
		SFs:          []SF{{Num: 88, AuxDevice: "mlx5_core.sf.2", Netdev: "enp59s0f0s88", Representor: "enp59s0f0npf0sf88"}},
		Offload:      Offload{HWTCOffload: FeatureOn},
		Capabilities: Capabilities{Family: "NVIDIA ConnectX-6 Dx", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes},
	}
	wantE810 = NIC{
		Name: "ens5f0np0", Bus: BusPCI, PCIAddress: "0000:af:00.0", DevlinkHandle: "pci/0000:af:00.0",
		VendorID: "8086", DeviceID: "1593", SubsystemVendorID: "8086", SubsystemDeviceID: "0002",
		VendorName: "Intel Corporation", DeviceName: "Ethernet Controller E810-C for SFP",
		Driver: "ice", DriverVersion: "6.1.0-18-amd64", FirmwareVersion: "4.40 0x8001af1c 1.3429.0",
		MAC: "b4:96:91:a5:c7:e0", MTU: 1500, OperState: "up", Carrier: true, SpeedMbps: 25000, NUMANode: 1,
		PhysPortName: "p0", EswitchMode: EswitchLegacy,
		SRIOV: SRIOV{Capable: true, TotalVFs: 128, NumVFs: 2, VFs: []VF{
			{Index: 0, PCIAddress: "0000:af:01.0", DeviceID: "1889", Driver: "iavf", Netdev: "ens5f0v0"},
			{Index: 1, PCIAddress: "0000:af:01.1", DeviceID: "1889", Driver: "iavf", Netdev: "ens5f0v1"},
		}},
		Offload:      Offload{HWTCOffload: FeatureOff},
		Capabilities: Capabilities{Family: "Intel E810-C", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes},
	}
	wantIxgbe = NIC{
		Name: "enp4s0f0", Bus: BusPCI, PCIAddress: "0000:04:00.0", DevlinkHandle: "pci/0000:04:00.0",
		VendorID: "8086", DeviceID: "10fb", SubsystemVendorID: "8086", SubsystemDeviceID: "000c",
		VendorName: "Intel Corporation", DeviceName: "82599ES 10-Gigabit SFI/SFP+ Network Connection",
		Driver: "ixgbe", DriverVersion: "6.1.0-18-amd64", FirmwareVersion: "0x61bd0001",
		MAC: "90:e2:ba:12:34:56", MTU: 1500, OperState: "down", NUMANode: 0,
		SRIOV: SRIOV{Capable: true, TotalVFs: 63, NumVFs: 2, VFs: []VF{
			{Index: 0, PCIAddress: "0000:04:10.0", DeviceID: "10ed", Driver: "ixgbevf", Netdev: "enp4s16"},
			{Index: 1, PCIAddress: "0000:04:10.2", DeviceID: "10ed", Driver: "vfio-pci"},
		}},
		Offload:      Offload{HWTCOffload: FeatureOff},
		Capabilities: Capabilities{Family: "Intel 82599/X540/X550 (ixgbe)", Switchdev: No, FlowerOffload: No, VEB: Yes, VEPA: Yes},
	}
	wantE1000e = NIC{
		Name: "eno1", Bus: BusPCI, PCIAddress: "0000:00:1f.6", DevlinkHandle: "pci/0000:00:1f.6",
		VendorID: "8086", DeviceID: "15bb", SubsystemVendorID: "17aa", SubsystemDeviceID: "2292",
		VendorName: "Intel Corporation", DeviceName: "Ethernet Connection (7) I219-LM",
		Driver: "e1000e", DriverVersion: "6.1.0-18-amd64", FirmwareVersion: "0.8-4",
		MAC: "54:e1:ad:01:02:03", MTU: 1500, OperState: "up", Carrier: true, SpeedMbps: 1000, NUMANode: -1,
		Offload:      Offload{HWTCOffload: FeatureOffFixed},
		Capabilities: Capabilities{Family: "Intel PRO/1000 PCIe (e1000e)", Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No},
	}
	wantVirtio = NIC{
		Name: "eth0", Bus: BusPCI, PCIAddress: "0000:00:03.0", DevlinkHandle: "pci/0000:00:03.0",
		VendorID: "1af4", DeviceID: "1041", SubsystemVendorID: "1af4", SubsystemDeviceID: "1100",
		VendorName: "Red Hat, Inc.", DeviceName: "Virtio 1.0 network device",
		Driver: "virtio_net", DriverVersion: "1.0.0",
		MAC: "02:fc:00:00:00:01", MTU: 1400, OperState: "up", Carrier: true, NUMANode: -1,
		Offload:      Offload{HWTCOffload: FeatureOffFixed},
		Capabilities: Capabilities{Family: "virtio-net (paravirtual)", Switchdev: No, FlowerOffload: No, VEB: No, VEPA: No},
	}
	// The BlueField's Arm side has no VFs of its own: the VFs listed are
	// the host's, found by their representors (c1pf0vfN).
	wantBlueField = NIC{
		Name: "p0", Bus: BusPCI, PCIAddress: "0000:03:00.0", DevlinkHandle: "pci/0000:03:00.0",
		VendorID: "15b3", DeviceID: "a2d6", SubsystemVendorID: "15b3", SubsystemDeviceID: "0061",
		VendorName: "Mellanox Technologies", DeviceName: "MT42822 BlueField-2 integrated ConnectX-6 Dx network controller",
		Driver: "mlx5_core", MAC: "0c:42:a1:d0:00:01", MTU: 9216, OperState: "up", Carrier: true, SpeedMbps: 25000, NUMANode: -1,
		PhysPortName: "p0", SwitchID: "01d0a1420c", EswitchMode: EswitchSwitchdev, UplinkRepresentor: "p0",
		SRIOV:        SRIOV{VFs: []VF{{Index: 0, Representor: "pf0vf0"}, {Index: 1, Representor: "pf0vf1"}}},
		HostPF:       &HostPF{Representor: "pf0hpf", MAC: "0c:42:a1:c6:cf:7c"},
		Offload:      Offload{HWTCOffload: FeatureUnknown},
		Capabilities: Capabilities{Family: "NVIDIA BlueField-2", Switchdev: Yes, FlowerOffload: Yes, VEB: Yes, VEPA: Yes},
	}
	wantNetdevsim = NIC{
		Name: "eth1", Bus: BusNetdevsim, DevlinkHandle: "netdevsim/netdevsim30",
		Driver: "netdevsim", DriverVersion: "6.1.0-18-amd64", FirmwareVersion: "10.20.30",
		MAC: "3e:1f:aa:00:00:01", MTU: 1500, OperState: "down", NUMANode: -1,
		PhysPortName: "p1", SwitchID: "05c09db379bbb368f8b4f9a8266b8f97922aa2bb793d13778966537f1bd09720", EswitchMode: EswitchSwitchdev, UplinkRepresentor: "eth1",
		SRIOV: SRIOV{Capable: true, NumVFs: 2, VFs: []VF{
			{Index: 0, Representor: "eth2"},
			{Index: 1, Representor: "eth3"},
		}},
		Offload:      Offload{HWTCOffload: FeatureOff},
		Capabilities: Capabilities{Family: "netdevsim (simulated)", Switchdev: Yes, FlowerOffload: No, VEB: No, VEPA: No},
	}
)

func TestListFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    []NIC
	}{
		{"cx6dx-switchdev", []NIC{wantCX6}},
		{"e810-legacy", []NIC{wantE810}},
		{"ixgbe", []NIC{wantIxgbe}},
		{"no-sriov", []NIC{wantE1000e, wantVirtio}},
		{"netdevsim", []NIC{wantNetdevsim}},
		{"bluefield2-arm", []NIC{wantBlueField}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := fixtureDiscoverer(t, tt.fixture).List()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreCapText); diff != "" {
				t.Errorf("List() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGet(t *testing.T) {
	d := fixtureDiscoverer(t, "cx6dx-switchdev")
	got, err := d.Get("enp59s0f0np0")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCX6, got, ignoreCapText); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ name, why string }{
		{"enp59s0f0npf0vf0", "a representor (phys_port_name pf0vf0)"},
		{"enp59s0f0v1", "a VF netdev of PF 0000:3b:00.0"},
		{"lo", "a virtual netdev"},
		{"nope0", "netdev nope0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Get(tt.name)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(%s) = %v, want ErrNotFound", tt.name, err)
			}
			if !strings.Contains(err.Error(), tt.why) {
				t.Errorf("Get(%s) = %q, want it to say %q", tt.name, err, tt.why)
			}
		})
	}
}

// TestDegraded: without pci.ids, ethtool and devlink, discovery still
// reports every NIC, with ids only and notes saying what is missing.
func TestDegraded(t *testing.T) {
	d := &Discoverer{Root: sysfstest.Unpack(t, "cx6dx-switchdev"), PCIIDs: filepath.Join(t.TempDir(), "pci.ids")}
	got, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	want := wantCX6
	want.VendorName, want.DeviceName = "", ""
	want.DriverVersion, want.FirmwareVersion = "", ""
	want.EswitchMode = ""
	want.Offload.HWTCOffload = FeatureUnknown
	want.Notes = []string{"PCI names not resolved: no pci.ids at " + d.PCIIDs + " (install Debian's pci.ids package)"}
	// Representors are found from sysfs alone, so the uplink is known.
	if diff := cmp.Diff([]NIC{want}, got, ignoreCapText); diff != "" {
		t.Errorf("List() mismatch (-want +got):\n%s", diff)
	}
}

// TestProbeFailures: ethtool and devlink errors other than "not supported"
// become notes, not failures.
func TestProbeFailures(t *testing.T) {
	d := fixtureDiscoverer(t, "e810-legacy")
	eio := errors.New("ethtool driver info of ens5f0np0: input/output error")
	d.Ethtool = fakeEthtool{errs: map[string]error{"ens5f0np0": eio}}
	d.Devlink = fakeDevlink{"pci/0000:af:00.0": errors.New("devlink get pci/0000:af:00.0: operation not permitted")}
	got, err := d.Get("ens5f0np0")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{eio.Error(), "devlink get pci/0000:af:00.0: operation not permitted"}
	if diff := cmp.Diff(want, got.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if got.EswitchMode != "" || got.FirmwareVersion != "" {
		t.Errorf("eswitch %q firmware %q, want both empty", got.EswitchMode, got.FirmwareVersion)
	}
}

// TestSysfsErrors: unreadable or malformed attributes fail discovery with
// the device and the file named; a missing sysfs fails too.
func TestSysfsErrors(t *testing.T) {
	tests := []struct {
		name  string
		extra string // txtar sections added to the no-sriov fixture
		want  []string
	}{
		{
			name:  "attribute is a directory",
			extra: "-- sys/devices/pci0000:00/0000:00:1f.6/net/eno1/mtu/ --\n",
			want:  []string{"nic eno1", "sys/class/net/eno1/mtu"},
		},
		{
			name:  "not an integer",
			extra: "-- sys/devices/pci0000:00/0000:00:1f.6/numa_node --\nzero\n",
			want:  []string{"nic eno1", "sys/devices/pci0000:00/0000:00:1f.6/numa_node", `"zero"`},
		},
		{
			name:  "bad sriov_numvfs",
			extra: "-- sys/devices/pci0000:00/0000:00:1f.6/sriov_numvfs --\n-\n",
			want:  []string{"nic eno1", "sriov_numvfs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fixtureDiscoverer(t, "no-sriov")
			// The fixture wrote numa_node and mtu as files: replace them.
			if err := sysfstest.Replace(d.Root, []byte(tt.extra)); err != nil {
				t.Fatal(err)
			}
			_, err := d.List()
			if err == nil {
				t.Fatal("List succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	t.Run("no sysfs", func(t *testing.T) {
		d := &Discoverer{Root: t.TempDir()}
		if _, err := d.List(); err == nil || !strings.Contains(err.Error(), "no sys under") {
			t.Errorf("List() on an empty root = %v, want a sysfs root error", err)
		}
	})
}
