package vf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigurePFOrder(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 0)
	ctx := context.Background()
	steps := []struct {
		name    string
		vfs     int
		mode    string
		wantOps []string
	}{
		{"create VFs, then switchdev", 4, ModeSwitchdev, []string{"numvfs pf0 4", "eswitch pf0 switchdev"}},
		{"idempotent", 4, ModeSwitchdev, nil},
		{"keep mode", 4, "", nil},
		{"grow in switchdev: legacy, through 0, switchdev", 8, ModeSwitchdev,
			[]string{"eswitch pf0 legacy", "numvfs pf0 0", "numvfs pf0 8", "eswitch pf0 switchdev"}},
		{"shrink keeping the mode", 2, "", []string{"eswitch pf0 legacy", "numvfs pf0 0", "numvfs pf0 2", "eswitch pf0 switchdev"}},
		{"back to legacy", 2, ModeLegacy, []string{"eswitch pf0 legacy"}},
		{"to 0 in legacy", 0, ModeLegacy, []string{"numvfs pf0 0"}},
	}
	for _, s := range steps {
		if err := e.a.ConfigurePF(ctx, "pf0", s.vfs, s.mode); err != nil {
			t.Fatalf("%s: ConfigurePF(%d, %q): %v", s.name, s.vfs, s.mode, err)
		}
		if diff := cmp.Diff(s.wantOps, e.k.takeOps()); diff != "" {
			t.Errorf("%s: ops (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestConfigurePFRefusesToRemoveAllocatedVFs(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 4)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c", "d"} {
		if _, err := e.a.Attach(ctx, Request{VNICID: id, Network: "n", PF: "pf0"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := e.a.Detach(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	e.k.takeOps()
	for _, tc := range []struct {
		n    int
		want string
	}{
		{2, `cannot set 2 VFs: VF 3 is allocated to vnic "d" (detach it first)`},
		{3, `cannot set 3 VFs: VF 3 is allocated to vnic "d"`},
		{8, `cannot change the VF count from 4 to 8: the kernel goes through 0, which would remove allocated VFs (vnic "d" on VF 3)`},
	} {
		err := e.a.SetNumVFs(ctx, "pf0", tc.n)
		if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetNumVFs(%d) = %v, want ErrInUse %q", tc.n, err, tc.want)
		}
	}
	if ops := e.k.takeOps(); len(ops) != 0 {
		t.Errorf("refused changes touched the kernel: %v", ops)
	}
	if err := e.a.SetNumVFs(ctx, "pf0", 4); err != nil {
		t.Errorf("SetNumVFs to the current count with VFs allocated: %v", err)
	}
	if err := e.a.Detach(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if err := e.a.SetNumVFs(ctx, "pf0", 2); err != nil {
		t.Errorf("SetNumVFs(2) after every VF is free: %v", err)
	}
}

func TestConfigurePFBadInput(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 0)
	for _, tc := range []struct {
		n    int
		mode string
		want string
	}{
		{-1, "", "VF count -1 is negative"},
		{1, "vepa", `eswitch mode "vepa" is not legacy or switchdev`},
	} {
		if err := e.a.ConfigurePF(context.Background(), "pf0", tc.n, tc.mode); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ConfigurePF(%d, %q) = %v, want %q", tc.n, tc.mode, err, tc.want)
		}
	}
}

// TestConfigurePFKernelRefusals: the kernel's refusal of a PF setting is
// a *PFError naming the setting and the value, with the kernel's errno and
// words. A refused eswitch mode leaves the PF as it was.
func TestConfigurePFKernelRefusals(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 2)
	e.k.totalVFs = 4
	e.k.failMode[ModeSwitchdev] = fmt.Errorf("devlink netdevsim/netdevsim1 eswitch set mode switchdev: %w", syscall.EOPNOTSUPP)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		vfs     int
		mode    string
		setting PFSetting
		errno   syscall.Errno
		text    string
	}{
		{"an eswitch mode the device has not", 2, ModeSwitchdev, SettingEswitchMode, syscall.EOPNOTSUPP,
			"configure PF pf0: set eswitch mode to switchdev: devlink netdevsim/netdevsim1 eswitch set mode switchdev: operation not supported"},
		{"more VFs than the device has", 8, "", SettingNumVFs, syscall.ERANGE,
			"configure PF pf0: set VF count to 8: write 8 to /sys/class/net/pf0/device/sriov_numvfs: numerical result out of range"},
	} {
		err := e.a.ConfigurePF(ctx, "pf0", tc.vfs, tc.mode)
		var pe *PFError
		if !errors.As(err, &pe) || pe.PF != "pf0" || pe.Setting != tc.setting || !errors.Is(err, tc.errno) || err.Error() != tc.text {
			t.Errorf("%s: ConfigurePF(%d, %q) = %v (%#v), want a PFError of the %s with %v: %q", tc.name, tc.vfs, tc.mode, err, pe, tc.setting, tc.errno, tc.text)
		}
		if tc.setting == SettingEswitchMode {
			if n, _ := e.k.NumVFs("pf0"); n != 2 || e.k.pfs["pf0"].mode != ModeLegacy {
				t.Errorf("%s: pf0 after the refusal: %d VFs, %s; want 2, legacy", tc.name, n, e.k.pfs["pf0"].mode)
			}
		}
	}
}
