package switchdev

import (
	"errors"
	"testing"

	"github.com/nicflow/nicflow/sriov/devlink"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// TestVMVFRepresentors proves the calls that read the host's /sys on
// netdevsim in switchdev mode: VF to representor (GetVfRepresentor) and
// back (GetRepresentorPortFlavour with the port's flavour from the sriov
// devlink client, and from phys_port_name without devlink, then
// GetPortIndexFromRepresentor).
func TestVMVFRepresentors(t *testing.T) {
	vmtest.Require(t)
	const vfs = 4
	ns := vmtest.NewNetdevsim(t, 50, vfs)
	dl, err := devlink.Dial()
	if err != nil {
		t.Fatalf("devlink: %v", err)
	}
	t.Cleanup(func() { dl.Close() })
	withDevlink := Host{Devlink: dl}

	// Legacy mode: no representors.
	if rep, err := withDevlink.VFRepresentor(ns.PF, 0); err == nil {
		t.Errorf("VFRepresentor in legacy mode = %q, want an error", rep)
	}

	ns.SetSwitchdev(t)
	reps := ns.Representors(t) // by switch id and port name, read by vmtest
	for vf, want := range reps {
		if got, err := withDevlink.VFRepresentor(ns.PF, vf); err != nil || got != want {
			t.Errorf("VFRepresentor(%s, %d) = %q, %v; want %q", ns.PF, vf, got, err, want)
		}
		for name, h := range map[string]Host{"devlink": withDevlink, "sysfs only": {}} {
			if f, num, err := h.Represented(want); err != nil || f != FlavourPCIVF || num != vf {
				t.Errorf("%s: Represented(%s) = %v, %d, %v; want pcivf, %d", name, want, f, num, err, vf)
			}
		}
	}
	if rep, err := withDevlink.VFRepresentor(ns.PF, vfs); err == nil {
		t.Errorf("VFRepresentor of VF %d of %d = %q, want an error", vfs, vfs, rep)
	}
	if f, num, err := withDevlink.Represented(ns.PF); err == nil {
		t.Errorf("Represented(%s) (the uplink) = %v, %d; want an error", ns.PF, f, num)
	}
}

// TestVMVFRepresentorFunctionDigit documents a limit of sriovnet's
// GetVfRepresentor that the VM tests of the sriov tree live with: it takes
// the PF number of pfNvfM from the last character of the uplink's device
// link (a PCI function digit on real NICs), so on netdevsim it finds
// representors only when the device id ends in 0. If this test fails,
// sriovnet changed: update the VFRepresentor documentation.
func TestVMVFRepresentorFunctionDigit(t *testing.T) {
	vmtest.Require(t)
	ns := vmtest.NewNetdevsim(t, 51, 2)
	ns.SetSwitchdev(t)
	reps := ns.Representors(t)
	rep, err := Host{}.VFRepresentor(ns.PF, 0)
	if err == nil {
		t.Fatalf("VFRepresentor on netdevsim51 = %q (representor %s): sriovnet now matches the PF number some other way", rep, reps[0])
	}
	if errors.Is(err, ErrHostOnly) {
		t.Fatalf("VFRepresentor on the host's /sys: %v", err)
	}
}
