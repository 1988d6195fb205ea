//go:build linux

package manager

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/test/netns"
)

// TestSecondNicflowdRefusedNetdevs: two nicflowds in one namespace, each
// with a state file and run dir of its own (two managers on the kernel):
// the second is refused (409 naming the field, the netdev and who holds
// it) a port, an uplink and a vNIC device the first one's network uses,
// and leaves the first's veth alone; once the first has let them go, the
// second gets them.
func TestSecondNicflowdRefusedNetdevs(t *testing.T) {
	if !netns.InFresh(t) {
		return
	}
	ctx := t.Context()
	peer := netns.New(t, "cl")
	netns.Veth(t, "cl1", nil, "eth1", peer)
	netns.Veth(t, "cl2", nil, "eth2", peer)
	first, firstCfg := startStateDaemon(t)
	second, _ := startStateDaemon(t)
	if _, err := first.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "one", Ports: []string{"cl1"}, Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := first.c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "one"}); err != nil {
		t.Fatal(err)
	}
	holder := fmt.Sprintf("another nicflowd (pid %d, state %s, run dir %s, ", os.Getpid(), firstCfg.StatePath, firstCfg.RunDir)
	refused := func(what string, err error, field, netdev, owner string) {
		t.Helper()
		status, f := apiStatus(err)
		if status != 409 || f != field || !strings.Contains(err.Error(), "netdev "+netdev+" is in use by "+holder+owner+")") {
			t.Errorf("%s: %d %q: %v; want 409 naming %s, netdev %s and %s%s)", what, status, f, err, field, netdev, holder, owner)
		}
	}
	_, err := second.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "two", Ports: []string{"cl2", "cl1"}, Offload: "off"})
	refused("second's network on cl1", err, "ports[1]", "cl1", "network one")
	_, err = second.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "three", Mode: "hairpin", Uplink: "cl1", Offload: "off"})
	refused("second's hairpin network on uplink cl1", err, "uplink", "cl1", "network one")
	if nets, err := second.c.Networks(ctx); err != nil || len(nets) != 0 {
		t.Errorf("second's networks after refusals: %d, %v; want none", len(nets), err)
	}
	if _, err := second.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "two", Ports: []string{"cl2"}, Offload: "off"}); err != nil {
		t.Fatalf("second's network on cl2 alone: %v", err)
	}
	_, _, err = second.c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "two"})
	host, _ := vethNames("vm1")
	refused("second's vnic vm1", err, "id", host, "vnic vm1")
	if names := first.portNames("one"); strings.Join(names, ",") != "1 cl1,2 "+host {
		t.Errorf("first's ports after second's attempts = %v, want cl1 and %s", names, host)
	}
	if v, err := first.c.VNIC(ctx, "vm1"); err != nil || v.Broken != "" {
		t.Errorf("first's vm1 after second's attempt: %+v, %v; want it untouched", v, err)
	}

	// The first lets cl1 and vm1 go: the second gets them.
	if err := first.c.DetachVNIC(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := second.c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "two"}); err != nil {
		t.Errorf("second's vnic vm1 after the first detached its own: %v", err)
	}
	if err := first.c.DeleteNetwork(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if _, err := second.c.UpdateNetwork(ctx, "two", rest.NetworkSpec{Name: "two", Ports: []string{"cl2", "cl1"}, Offload: "off"}); err == nil {
		t.Errorf("second's network takes cl1 while a vNIC is attached: want the update refused (ports cannot change)")
	}
	if _, err := second.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "three", Ports: []string{"cl1"}, Offload: "off"}); err != nil {
		t.Errorf("second's network on cl1 after the first deleted its own: %v", err)
	}
	// And now the first is refused what the second holds.
	_, err = first.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "one", Ports: []string{"cl1"}, Offload: "off"})
	if status, f := apiStatus(err); status != 409 || f != "ports[0]" || !strings.Contains(err.Error(), "network three") {
		t.Errorf("first's network on cl1 held by the second: %d %q %v", status, f, err)
	}
}
