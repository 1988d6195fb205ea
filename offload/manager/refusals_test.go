package manager

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/sriov/vf"
	"github.com/nicflow/nicflow/vepa"
)

// TestRefused: the kernel's refusals (EOPNOTSUPP, EINVAL, ERANGE, ENOSPC,
// EBUSY however wrapped: netlink with its extended ack, vepa, sysfs)
// become rest.ErrRefused naming the field, in the kernel's words and
// naming the device; anything else, and an error that has a kind already,
// passes unchanged.
func TestRefused(t *testing.T) {
	devlinkBusy := fmt.Errorf("devlink netdevsim/netdevsim60 eswitch set mode legacy: %w",
		&netlink.OpError{Op: "receive", Err: unix.EBUSY, Message: "Rate node(s) exists."})
	conflict := rest.Conflict("num_vfs", "VFs in use")
	conflict.Err = unix.EBUSY
	for _, tc := range []struct {
		name    string
		err     error
		refused bool
		msg     string // the refusal's text
	}{
		{"netlink with extack", devlinkBusy, true,
			`eswitch_mode: pf0: devlink netdevsim/netdevsim60 eswitch set mode legacy: netlink receive: device or resource busy, offset: 0, message: "Rate node(s) exists."`},
		{"vepa naming the device", &vepa.Error{Dev: "pf0", Op: "set embedded bridge mode to vepa", Errno: unix.EOPNOTSUPP}, true,
			"eswitch_mode: dev pf0: set embedded bridge mode to vepa: operation not supported"},
		{"sysfs", &os.PathError{Op: "write", Path: "/sys/class/net/pf0/device/sriov_numvfs", Err: unix.ERANGE}, true,
			"eswitch_mode: write /sys/class/net/pf0/device/sriov_numvfs: numerical result out of range"},
		{"EINVAL", fmt.Errorf("set rate: %w", unix.EINVAL), true, "eswitch_mode: pf0: set rate: invalid argument"},
		{"ENOSPC", fmt.Errorf("add filter: %w", unix.ENOSPC), true, "eswitch_mode: pf0: add filter: no space left on device"},
		{"a device gone", fmt.Errorf("get link pf0: %w", unix.ENODEV), false, ""},
		{"no such file", fmt.Errorf("read: %w", unix.ENOENT), false, ""},
		{"no permission", fmt.Errorf("write: %w", unix.EPERM), false, ""},
		{"no memory", fmt.Errorf("write: %w", unix.ENOMEM), false, ""},
		{"no errno", errors.New("rate 5000 above link speed"), false, ""},
		{"a kind already", conflict, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := refused("eswitch_mode", "pf0", tc.err)
			if !tc.refused {
				if got != tc.err {
					t.Errorf("refused(%v) = %v, want it unchanged", tc.err, got)
				}
				return
			}
			wantAPIError(t, tc.name, got, rest.ErrRefused, "eswitch_mode")
			if !errors.Is(got, tc.err) {
				t.Errorf("refused(%v) = %v does not wrap the kernel's error", tc.err, got)
			}
			if got.Error() != tc.msg {
				t.Errorf("refused(%v) = %q, want %q", tc.err, got, tc.msg)
			}
			if status, ok := rest.StatusOf(rest.ErrRefused); !ok || status != 422 {
				t.Errorf("rest.ErrRefused answers %d, want 422", status)
			}
		})
	}
}

// TestNICNetworkKernelRefusals: a network whose VF count or eswitch mode
// the kernel refuses is answered with a refusal (422 over HTTP) naming
// the field, in the kernel's words and naming the PF; a refused change of
// eswitch mode leaves the network as it was.
func TestNICNetworkKernelRefusals(t *testing.T) {
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf0", 2)
	k.totalVFs = 4
	d := newTestDaemon(t, links, k)

	_, err := d.create(rest.NetworkSpec{Name: "big", Mode: "nic", Uplink: "pf0", NumVFs: 8, Offload: "off"})
	wantAPIError(t, "8 VFs on a PF with 4", err, rest.ErrRefused, "num_vfs")
	if err == nil || !strings.Contains(err.Error(), "configure PF pf0: set VF count to 8: write /sys/class/net/pf0/device/sriov_numvfs: numerical result out of range") {
		t.Errorf("error %v does not carry the kernel's words naming pf0", err)
	}

	if _, err := d.create(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", NumVFs: 2, Offload: "off"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, _, err := d.attach(rest.VNICSpec{ID: "a", Network: "sriov"}); err != nil {
		t.Fatal(err)
	}
	nets0, vnics0 := d.snapshot()
	k.failMode[vf.ModeLegacy] = fmt.Errorf("devlink netdevsim/netdevsim60 eswitch set mode legacy: %w",
		&netlink.OpError{Op: "receive", Err: unix.EBUSY, Message: "Rate node(s) exists."})
	_, err = d.update(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", NumVFs: 2, EswitchMode: "legacy", Offload: "off"})
	wantAPIError(t, "eswitch mode legacy while a rate node exists", err, rest.ErrRefused, "eswitch_mode")
	if err == nil || !strings.Contains(err.Error(), "configure PF pf0: set eswitch mode to legacy") || !strings.Contains(err.Error(), "Rate node(s) exists.") {
		t.Errorf("error %v does not carry the kernel's words naming pf0", err)
	}
	nets1, vnics1 := d.snapshot()
	if diff := cmp.Diff(nets0, nets1); diff != "" {
		t.Errorf("networks after the refusal (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(vnics0, vnics1); diff != "" {
		t.Errorf("vNICs after the refusal (-before +after):\n%s", diff)
	}
	if mode, _ := k.EswitchMode("pf0"); mode != vf.ModeSwitchdev {
		t.Errorf("pf0 eswitch mode after the refusal = %s, want switchdev", mode)
	}
}

// TestHairpinMacvlanRefusedByTheUplink: an uplink that takes no macvlan
// answers the attach with a refusal naming the network, in the kernel's
// words.
func TestHairpinMacvlanRefusedByTheUplink(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1"), nil)
	if _, err := d.create(rest.NetworkSpec{Name: "hp", Mode: "hairpin", Uplink: "eth1", Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	d.vepa.failAdd["nfv-a"] = fmt.Errorf("add macvlan nfv-a on eth1 mode vepa: %w", unix.EINVAL)
	_, _, err := d.attach(rest.VNICSpec{ID: "a", Network: "hp"})
	wantAPIError(t, "a macvlan the uplink refuses", err, rest.ErrRefused, "network")
	if err == nil || !strings.Contains(err.Error(), "add macvlan nfv-a on eth1 mode vepa: invalid argument") {
		t.Errorf("error %v does not carry the kernel's words naming eth1", err)
	}
	if vs, _ := d.m.VNICs(t.Context()); len(vs) != 0 {
		t.Errorf("vNICs after the refusal: %+v", vs)
	}
}
