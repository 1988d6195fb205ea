package vmtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeNetdev writes a /sys/class/net/<name> directory with the given
// attributes (an absent attribute is left out, as sysfs does for netdevs
// without a switch).
func fakeNetdev(t *testing.T, root, name string, attrs map[string]string) {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range attrs {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRepresentors(t *testing.T) {
	root := t.TempDir()
	fakeNetdev(t, root, "lo", nil)
	fakeNetdev(t, root, "eth0", map[string]string{"phys_switch_id": "aabb", "phys_port_name": "p0"})
	fakeNetdev(t, root, "eth2", map[string]string{"phys_switch_id": "aabb", "phys_port_name": "pf0vf1"})
	fakeNetdev(t, root, "eth1", map[string]string{"phys_switch_id": "aabb", "phys_port_name": "pf0vf0"})
	fakeNetdev(t, root, "eth9", map[string]string{"phys_switch_id": "ccdd", "phys_port_name": "pf0vf2"})
	fakeNetdev(t, root, "eth5", map[string]string{"phys_switch_id": "aabb", "phys_port_name": "pf1vf2"})

	got, err := representors(root, "aabb", 3)
	if err != nil {
		t.Fatalf("representors: %v", err)
	}
	if diff := cmp.Diff([]string{"eth1", "eth2", ""}, got); diff != "" {
		t.Errorf("representors (-want +got):\n%s", diff)
	}

	if _, err := representors(root, "aabb", 1); err == nil {
		t.Error("representors with a VF beyond the VF count: nil error, want an error")
	}
}

func TestInVM(t *testing.T) {
	t.Setenv(EnvVar, "")
	if InVM() {
		t.Fatalf("InVM() = true with %s empty", EnvVar)
	}
	t.Setenv(EnvVar, "1")
	if !InVM() {
		t.Fatalf("InVM() = false with %s=1", EnvVar)
	}
}
