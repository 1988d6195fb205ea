package vf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/sriov/devlink"
	"github.com/nicflow/nicflow/sriov/internal/switchdev"
)

// fixture builds a sysfs tree with a PCI PF eth0 (2 VFs, VF 0 bound to
// netdev eth0v0) and a netdevsim PF eni40np1, with relative links as sysfs
// has them.
func fixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mk := func(path, content string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := func(path string) {
		if err := os.MkdirAll(filepath.Join(root, path), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, path string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	pci := "devices/pci0000:00/0000:00:01.0"
	mk(pci+"/0000:03:00.0/sriov_numvfs", "2\n")
	dir(pci + "/0000:03:00.2/net/eth0v0")
	dir(pci + "/0000:03:00.3")
	dir("bus/pci")
	dir("bus/netdevsim")
	link("../../../../bus/pci", pci+"/0000:03:00.0/subsystem")
	link("../0000:03:00.2", pci+"/0000:03:00.0/virtfn0")
	link("../0000:03:00.3", pci+"/0000:03:00.0/virtfn1")
	link("../../../"+pci+"/0000:03:00.0", "class/net/eth0/device")
	mk("devices/netdevsim40/sriov_numvfs", "4\n")
	link("../../bus/netdevsim", "devices/netdevsim40/subsystem")
	link("../../../devices/netdevsim40", "class/net/eni40np1/device")
	return root
}

func TestSysfs(t *testing.T) {
	s := sysfs{root: fixture(t)}
	for _, tc := range []struct {
		pf     string
		n      int
		handle devlink.Handle
	}{
		{"eth0", 2, devlink.Handle{Bus: "pci", Dev: "0000:03:00.0"}},
		{"eni40np1", 4, devlink.Handle{Bus: "netdevsim", Dev: "netdevsim40"}},
	} {
		if n, err := s.numVFs(tc.pf); err != nil || n != tc.n {
			t.Errorf("numVFs(%s) = %d, %v; want %d", tc.pf, n, err, tc.n)
		}
		if h, err := s.devlinkHandle(tc.pf); err != nil || h != tc.handle {
			t.Errorf("devlinkHandle(%s) = %v, %v; want %v", tc.pf, h, err, tc.handle)
		}
	}
	if err := s.writeNumVFs("eth0", 0); err != nil {
		t.Fatalf("writeNumVFs: %v", err)
	}
	if n, _ := s.numVFs("eth0"); n != 0 {
		t.Errorf("numVFs after writing 0 = %d", n)
	}
	for _, tc := range []struct {
		pf  string
		vf  int
		pci string
	}{
		{"eth0", 0, "0000:03:00.2"},
		{"eth0", 1, "0000:03:00.3"},
		{"eth0", 5, ""},
		{"eni40np1", 0, ""},
	} {
		if pci := s.vfPCI(tc.pf, tc.vf); pci != tc.pci {
			t.Errorf("vfPCI(%s, %d) = %q; want %q", tc.pf, tc.vf, pci, tc.pci)
		}
	}
	if _, err := s.numVFs("nope"); err == nil || !strings.Contains(err.Error(), "read VF count of PF nope") {
		t.Errorf("numVFs(nope) = %v, want an error naming the PF", err)
	}
}

// fakeReps answers for representor names of the form <uplink>rep<N> and
// gives each PCI function the netdevs in nets.
type fakeReps struct {
	nets map[string][]string
}

func (f fakeReps) VFRepresentor(uplink string, vf int) (string, error) {
	if uplink != "eth0" || vf > 1 {
		return "", errors.New("failed to find VF representor")
	}
	return fmt.Sprintf("%srep%d", uplink, vf), nil
}

func (f fakeReps) Represented(rep string) (switchdev.Flavour, int, error) {
	var vf int
	if _, err := fmt.Sscanf(rep, "eth0rep%d", &vf); err != nil {
		if rep == "eth0sf" {
			return switchdev.FlavourPCISF, 3, nil
		}
		return switchdev.FlavourUnknown, 0, fmt.Errorf("net device %s is does not represent an eswitch port", rep)
	}
	return switchdev.FlavourPCIVF, vf, nil
}

func (f fakeReps) Netdevs(pci string) ([]string, error) {
	nets, ok := f.nets[pci]
	if !ok {
		return nil, os.ErrNotExist
	}
	return nets, nil
}

// TestLocate: the VF's PCI address from the fixture's virtfnN links, its
// netdev and representor from sriovnet (faked: the real one is proven in
// the VM by TestVMLifecycle and by sriov/internal/switchdev).
func TestLocate(t *testing.T) {
	n := &Netlink{sys: sysfs{root: fixture(t)}, reps: fakeReps{nets: map[string][]string{"0000:03:00.2": {"eth0v0"}}}}
	for _, tc := range []struct {
		pf   string
		vf   int
		want Location
	}{
		{"eth0", 0, Location{PCI: "0000:03:00.2", Netdev: "eth0v0", Representor: "eth0rep0"}},
		{"eth0", 1, Location{PCI: "0000:03:00.3", Representor: "eth0rep1"}}, // VF 1 has no netdev
		{"eth0", 5, Location{}},
		{"eni40np1", 0, Location{}},
	} {
		got, err := n.Locate(tc.pf, tc.vf)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Locate(%s, %d) (-want +got):\n%s", tc.pf, tc.vf, diff)
		}
	}
}

func TestRepresentedVF(t *testing.T) {
	n := &Netlink{reps: fakeReps{}}
	if vf, err := n.RepresentedVF("eth0rep1"); err != nil || vf != 1 {
		t.Errorf("RepresentedVF(eth0rep1) = %d, %v; want 1", vf, err)
	}
	for _, rep := range []string{"eth0sf", "eth0"} {
		if vf, err := n.RepresentedVF(rep); !errors.Is(err, ErrNotVFRepresentor) {
			t.Errorf("RepresentedVF(%s) = %d, %v; want ErrNotVFRepresentor", rep, vf, err)
		}
	}
}
