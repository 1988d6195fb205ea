package nic

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// TestVMNetdevsimDiscovery discovers a netdevsim device with 4 VFs in the VM
// kernel, before and after switching its eswitch to switchdev, with the
// host implementations (root "/", ethtool and devlink over the kernel).
func TestVMNetdevsimDiscovery(t *testing.T) {
	vmtest.Require(t)
	ns := vmtest.NewNetdevsim(t, 30, 4)
	d := NewDiscoverer()

	legacy, err := d.Get(ns.PF)
	if err != nil {
		t.Fatalf("Get(%s) in legacy mode: %v", ns.PF, err)
	}
	if legacy.EswitchMode != EswitchLegacy || legacy.SRIOV.NumVFs != 4 || legacy.UplinkRepresentor != "" {
		t.Errorf("legacy: eswitch %q, %d VFs, uplink %q; want legacy, 4 VFs, no uplink representor",
			legacy.EswitchMode, legacy.SRIOV.NumVFs, legacy.UplinkRepresentor)
	}
	for _, vf := range legacy.SRIOV.VFs {
		if vf.Representor != "" {
			t.Errorf("legacy: VF %d has representor %s", vf.Index, vf.Representor)
		}
	}

	ns.SetSwitchdev(t)
	reps := ns.Representors(t) // waits until every representor exists
	nics, err := d.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var got *NIC
	for i := range nics {
		for _, rep := range reps {
			if nics[i].Name == rep {
				t.Errorf("representor %s listed as a NIC", rep)
			}
		}
		if nics[i].Name == ns.PF {
			got = &nics[i]
		}
	}
	if got == nil {
		t.Fatalf("List() has no NIC %s (got %d NICs)", ns.PF, len(nics))
	}
	var wantVFs []VF
	for i, rep := range reps {
		wantVFs = append(wantVFs, VF{Index: i, Representor: rep})
	}
	want := NIC{
		Name: ns.PF, Bus: BusNetdevsim, DevlinkHandle: "netdevsim/" + ns.DevlinkName(), Driver: "netdevsim",
		NUMANode: -1, PhysPortName: "p1", SwitchID: ns.SwitchID(t), EswitchMode: EswitchSwitchdev,
		UplinkRepresentor: ns.PF,
		SRIOV:             SRIOV{Capable: true, NumVFs: 4, VFs: wantVFs}, // netdevsim has no sriov_totalvfs
		Capabilities:      Capabilities{Family: "netdevsim (simulated)", Switchdev: Yes, FlowerOffload: No, VEB: No, VEPA: No},
	}
	linkState := cmpopts.IgnoreFields(NIC{}, "MAC", "MTU", "OperState", "Carrier", "SpeedMbps",
		"DriverVersion", "FirmwareVersion", "Offload")
	if diff := cmp.Diff(want, *got, ignoreCapText, linkState); diff != "" {
		t.Errorf("netdevsim NIC in switchdev mode (-want +got):\n%s", diff)
	}
	if got.Offload.HWTCOffload == FeatureUnknown || got.DriverVersion == "" {
		t.Errorf("ethtool: hw-tc-offload %q, driver version %q; want both read", got.Offload.HWTCOffload, got.DriverVersion)
	}
	if len(got.Notes) != 0 {
		t.Errorf("notes: %q, want none", got.Notes)
	}
	t.Logf("%+v", *got)
}
