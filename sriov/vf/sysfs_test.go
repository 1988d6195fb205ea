package vf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/sriov/internal/devlink"
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
		pf          string
		vf          int
		pci, netdev string
	}{
		{"eth0", 0, "0000:03:00.2", "eth0v0"},
		{"eth0", 1, "0000:03:00.3", ""},
		{"eth0", 5, "", ""},
		{"eni40np1", 0, "", ""},
	} {
		pci, netdev := s.vfLocation(tc.pf, tc.vf)
		if pci != tc.pci || netdev != tc.netdev {
			t.Errorf("vfLocation(%s, %d) = %q, %q; want %q, %q", tc.pf, tc.vf, pci, netdev, tc.pci, tc.netdev)
		}
	}
	if _, err := s.numVFs("nope"); err == nil || !strings.Contains(err.Error(), "read VF count of PF nope") {
		t.Errorf("numVFs(nope) = %v, want an error naming the PF", err)
	}
}
