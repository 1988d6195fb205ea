package nic

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHostDiscovery runs discovery on the machine running the test (no root
// needed). Hosts differ, so it checks what every result must satisfy rather
// than a count: each NIC is a netdev of sys/class/net with a device on the
// PCI (or netdevsim) bus, a driver, a family answer and consistent SR-IOV
// numbers, Get agrees with List, virtual netdevs are left out, and the
// table renders.
func TestHostDiscovery(t *testing.T) {
	d := NewDiscoverer()
	nics, err := d.List()
	if err != nil {
		t.Fatalf("List on this host: %v", err)
	}
	t.Logf("%d NICs on this host", len(nics))
	for _, n := range nics {
		t.Run(n.Name, func(t *testing.T) {
			if _, err := os.Lstat(filepath.Join("/sys/class/net", n.Name, "device")); err != nil {
				t.Errorf("NIC %s has no device in sysfs: %v", n.Name, err)
			}
			switch n.Bus {
			case BusPCI:
				if !pciAddrRe.MatchString(n.PCIAddress) || n.VendorID == "" || n.DeviceID == "" {
					t.Errorf("PCI NIC %s: address %q ids %q:%q", n.Name, n.PCIAddress, n.VendorID, n.DeviceID)
				}
			case BusNetdevsim:
			default:
				t.Errorf("NIC %s on bus %q", n.Name, n.Bus)
			}
			if n.Driver == "" || n.Capabilities.Family == "" || n.Capabilities.Switchdev == "" {
				t.Errorf("NIC %s: driver %q family %q switchdev %q", n.Name, n.Driver, n.Capabilities.Family, n.Capabilities.Switchdev)
			}
			if n.SRIOV.NumVFs > n.SRIOV.TotalVFs && n.Bus == BusPCI {
				t.Errorf("NIC %s: %d VFs of %d", n.Name, n.SRIOV.NumVFs, n.SRIOV.TotalVFs)
			}
			if len(n.SRIOV.VFs) < n.SRIOV.NumVFs {
				t.Errorf("NIC %s: %d VFs listed, %d enabled", n.Name, len(n.SRIOV.VFs), n.SRIOV.NumVFs)
			}
			got, err := d.Get(n.Name)
			if err != nil {
				t.Fatalf("Get(%s): %v", n.Name, err)
			}
			if diff := cmp.Diff(n, got); diff != "" {
				t.Errorf("Get(%s) differs from List (-list +get):\n%s", n.Name, diff)
			}
		})
	}
	for _, virtual := range []string{"lo"} {
		if _, err := d.Get(virtual); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) = %v, want ErrNotFound", virtual, err)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, nics); err != nil {
		t.Fatal(err)
	}
	t.Logf("nicflowctl nics would print:\n%s", b.String())
	if !strings.HasPrefix(b.String(), "NAME ") || strings.Count(b.String(), "\n") < len(nics)+1 {
		t.Errorf("table:\n%s\nwant a header and a row per NIC", b.String())
	}
}

// TestEthtoolHost exercises the ioctl implementation on the loopback device,
// which every network namespace has.
func TestEthtoolHost(t *testing.T) {
	feats, err := Ethtool{}.Features("lo")
	if err != nil {
		t.Fatalf("Features(lo): %v", err)
	}
	// NETIF_F_LOOPBACK is on and fixed on lo; NETIF_F_HW_TC is off.
	if feats["loopback"] != FeatureOn {
		t.Errorf("lo loopback = %q, want on (of %d features)", feats["loopback"], len(feats))
	}
	if st := feats[featureHWTCOffload]; st != FeatureOffFixed && st != FeatureOff {
		t.Errorf("lo hw-tc-offload = %q, want off", st)
	}
	if _, err := (Ethtool{}).DriverInfo("lo"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("DriverInfo(lo) = %v, want ErrNotSupported (lo has no driver info)", err)
	}
	_, err = Ethtool{}.Features("nicflow-nonexistent0"[:15])
	if err == nil || errors.Is(err, ErrNotSupported) {
		t.Errorf("Features of a missing netdev = %v, want a (not 'not supported') error", err)
	}
}

// TestDevlinkHost asks the host's devlink (the shared sriov/devlink
// client) for a device that does not exist: "not supported", so discovery
// leaves the mode empty without a note. The VM test reads real modes.
func TestDevlinkHost(t *testing.T) {
	_, err := Devlink{}.EswitchMode("pci", "0000:ff:1f.7")
	if !errors.Is(err, ErrNotSupported) {
		t.Errorf("EswitchMode of a missing device = %v, want ErrNotSupported", err)
	}
}
