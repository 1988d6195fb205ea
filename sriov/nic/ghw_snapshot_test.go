package nic

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jaypipes/ghw"
	"github.com/jaypipes/ghw/pkg/snapshot"
)

// ghwSnapshot unpacks one of the machine snapshots shipped in the ghw module
// (testdata/snapshots) and returns its root. It skips when the module
// source is not at hand (e.g. in the VM, which has no module cache).
func ghwSnapshot(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/jaypipes/ghw").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("ghw module source not available (go list: %v)", err)
	}
	path := filepath.Join(dir, "testdata", "snapshots", name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("ghw snapshot: %v", err)
	}
	root, err := snapshot.Unpack(path)
	if err != nil {
		t.Fatalf("unpack ghw snapshot %s: %v", name, err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	return root
}

// TestGhwSnapshotNICs runs discovery over a real machine's snapshot (two
// Realtek r8169 ports and a dual-port Intel I350) and checks it against the
// snapshot's files and against ghw's own reading of the same tree. The
// snapshot holds no driver links, so drivers and families stay unknown.
func TestGhwSnapshotNICs(t *testing.T) {
	root := ghwSnapshot(t, "linux-amd64-61797caf7c0b6bca1725ad7975ed4773.tar.gz")
	d := &Discoverer{Root: root, PCIIDs: filepath.Join("testdata", "pci.ids")}
	nics, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	type ident struct{ Name, PCI, Vendor, Device, Family string }
	var got []ident
	for _, n := range nics {
		got = append(got, ident{n.Name, n.PCIAddress, n.VendorID, n.DeviceID, n.Capabilities.Family})
	}
	want := []ident{
		{"enp3s0", "0000:03:00.0", "10ec", "8168", UnknownFamily},
		{"enp6s0f0", "0000:06:00.0", "8086", "1521", UnknownFamily},
		{"enp6s0f1", "0000:06:00.1", "8086", "1521", UnknownFamily},
		{"enp8s0", "0000:08:00.0", "10ec", "8168", UnknownFamily},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NICs of the snapshot (-want +got):\n%s", diff)
	}

	// ghw agrees on which netdevs are physical. (It leaves PCIAddress nil
	// on this snapshot: it follows the netdev's device link, which the
	// snapshot lacks; discovery falls back to the class link's path.)
	info, err := ghw.Network(ghw.WithChroot(root), ghw.WithDisableTools(), ghw.WithNullAlerter())
	if err != nil {
		t.Fatalf("ghw.Network: %v", err)
	}
	var physical []string
	for _, n := range info.NICs {
		if !n.IsVirtual {
			physical = append(physical, n.Name)
		}
	}
	sort.Strings(physical)
	var ours []string
	for _, g := range got {
		ours = append(ours, g.Name)
	}
	if diff := cmp.Diff(physical, ours); diff != "" {
		t.Errorf("discovery vs ghw.Network (-ghw +ours):\n%s", diff)
	}
}

// TestGhwSnapshotIgb reads the ghw snapshot of a host with Intel I350 ports
// (igb) and igbvf VFs. The snapshot keeps the PCI devices and their driver
// links but no sys/class/net, no virtfn/physfn links and no sriov_*
// attributes, so discovery finds no NIC (without failing), and the PCI
// functions are checked against the capability table instead.
func TestGhwSnapshotIgb(t *testing.T) {
	root := ghwSnapshot(t, "linux-amd64-8581cf3a529e5d8b97ea876eade2f60d.tar.gz")
	nics, err := (&Discoverer{Root: root}).List()
	if err != nil {
		t.Fatal(err)
	}
	if len(nics) != 0 {
		t.Errorf("List() = %d NICs, want none (the snapshot has no sys/class/net)", len(nics))
	}

	s := sysfs{root: root}
	addrs, err := s.names("sys/bus/pci/devices")
	if err != nil {
		t.Fatal(err)
	}
	families := map[string]int{}
	for _, a := range addrs {
		dev := filepath.Join("sys/bus/pci/devices", a)
		driver, _, err := s.linkBase(filepath.Join(dev, attrDriver))
		if err != nil {
			t.Fatal(err)
		}
		if driver != "igb" && driver != "igbvf" {
			continue
		}
		vendor, err := s.hexID(filepath.Join(dev, "vendor"))
		if err != nil {
			t.Fatal(err)
		}
		device, err := s.hexID(filepath.Join(dev, "device"))
		if err != nil {
			t.Fatal(err)
		}
		families[LookupCapabilities(driver, vendor, device).Family+" "+vendor+":"+device]++
	}
	want := map[string]int{
		"Intel 82576/I350 (igb) 8086:1521":      2,
		"Intel 82576/I350 VF (igbvf) 8086:1520": 8,
	}
	if diff := cmp.Diff(want, families); diff != "" {
		t.Errorf("igb/igbvf functions by family (-want +got):\n%s", diff)
	}
}
