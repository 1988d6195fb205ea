package manager

import (
	"testing"

	"github.com/nicflow/nicflow/api/rest"
)

// TestHostNetdevRefused: a netdev that carries the host's addresses or
// default route is neither uplink nor port (409 naming the field, nothing
// created) unless the request sets allow_host_netdev.
func TestHostNetdevRefused(t *testing.T) {
	links := newFakeLinks("eth0", "eth9")
	links.hostUse = map[string]string{"eth0": "address 192.0.2.10/24, the default route"}
	d := newTestDaemon(t, links, nil)
	_, err := d.create(rest.NetworkSpec{Name: "h", Mode: "hairpin", Uplink: "eth0", Offload: "off"})
	wantAPIError(t, "hairpin uplink eth0", err, rest.ErrConflict, "uplink")
	_, err = d.create(rest.NetworkSpec{Name: "h", Offload: "off", Ports: []string{"eth9", "eth0"}})
	wantAPIError(t, "port eth0", err, rest.ErrConflict, "ports[1]")
	if n := len(d.networks()); n != 0 {
		t.Errorf("%d networks after refusals, want 0", n)
	}
	if _, err := d.create(rest.NetworkSpec{Name: "h", Offload: "off", Ports: []string{"eth9"}}); err != nil {
		t.Fatal(err)
	}
	_, err = d.update(rest.NetworkSpec{Name: "h", Offload: "off", Ports: []string{"eth9", "eth0"}})
	wantAPIError(t, "update adding eth0", err, rest.ErrConflict, "ports[1]")
	n, err := d.update(rest.NetworkSpec{Name: "h", Offload: "off", Ports: []string{"eth9", "eth0"}, AllowHostNetdev: true})
	if err != nil {
		t.Fatalf("with allow_host_netdev: %v", err)
	}
	if !n.AllowHostNetdev {
		t.Error("allow_host_netdev not kept")
	}
	d.restart()
	if n, _ := d.m.Network(t.Context(), "h"); !n.AllowHostNetdev || !n.Status.Running {
		t.Errorf("after restart: allow_host_netdev %v running %v", n.AllowHostNetdev, n.Status.Running)
	}
}
