//go:build linux

package manager

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/test/netns"
)

// TestDaemonHostNetworkOverREST runs nicflowd with no configured network
// in a fresh network namespace and drives it over its unix socket with
// the API client: a host-mode network, two vNICs as OpenFlow ports, bad
// input refused with nothing changed, a restart that keeps everything,
// detach and delete.
func TestDaemonHostNetworkOverREST(t *testing.T) {
	if !netns.InFresh(t) {
		return
	}
	d, cfg := startStateDaemon(t)
	ctx := context.Background()

	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "blue", FailMode: "standalone", Offload: "off"})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	if n.Status.Origin != rest.OriginAPI || !n.Status.Running || n.Status.DatapathID == 0 {
		t.Errorf("created network status = %+v", n.Status)
	}
	v1, created, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:0a:01"})
	if err != nil || !created {
		t.Fatalf("attach vm1: created %v, %v", created, err)
	}
	v2, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm2", Network: "blue", LinkState: "disable"})
	if err != nil {
		t.Fatalf("attach vm2: %v", err)
	}
	if v1.OFPort != 1 || v1.Netdev != "nfv-vm1" || v2.OFPort != 2 || v2.Netdev != "nfv-vm2" {
		t.Errorf("vnics = %+v, %+v; want nfv-vm1 on port 1, nfv-vm2 on port 2", v1, v2)
	}
	wantPorts := []string{"1 nfh-vm1", "2 nfh-vm2"}
	if diff := cmp.Diff(wantPorts, d.portNames("blue")); diff != "" {
		t.Errorf("OpenFlow ports (-want +got):\n%s", diff)
	}
	l, err := netlink.LinkByName("nfv-vm1")
	if err != nil || l.Attrs().HardwareAddr.String() != "02:00:00:00:0a:01" {
		t.Errorf("vNIC netdev nfv-vm1: %v, %v; want MAC 02:00:00:00:0a:01", l, err)
	}
	if l, err := netlink.LinkByName("nfv-vm2"); err != nil || l.Attrs().Flags&1 != 0 {
		t.Errorf("vNIC netdev nfv-vm2 (link_state disable): %v; want it down", err)
	}

	// Bad input: 4xx naming the field, nothing changed.
	nets0, vnics0 := d.state()
	for _, tc := range []struct {
		name   string
		spec   rest.VNICSpec
		status int
		field  string
	}{
		{"unknown network", rest.VNICSpec{ID: "vm3", Network: "red"}, http.StatusNotFound, "network"},
		{"bad mac", rest.VNICSpec{ID: "vm3", Network: "blue", MAC: "02:00:00:00:0a"}, http.StatusBadRequest, "mac"},
		{"vlan 4096", rest.VNICSpec{ID: "vm3", Network: "blue", VLAN: 4096}, http.StatusBadRequest, "vlan"},
		{"max rate below min", rest.VNICSpec{ID: "vm3", Network: "blue", MinTxRate: 100, MaxTxRate: 10}, http.StatusBadRequest, "max_tx_rate"},
		{"vlan on a host vnic", rest.VNICSpec{ID: "vm3", Network: "blue", VLAN: 10}, http.StatusBadRequest, "vlan"},
		{"id attached with another spec", rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:0a:99"}, http.StatusConflict, "id"},
	} {
		_, _, err := d.c.AttachVNIC(ctx, tc.spec)
		if status, field := apiStatus(err); status != tc.status || field != tc.field {
			t.Errorf("%s: %d %q (%v), want %d naming %q", tc.name, status, field, err, tc.status, tc.field)
		}
	}
	_, err = d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "vepa", Mode: "hairpin", Uplink: "nosuch0"})
	if status, field := apiStatus(err); status != http.StatusBadRequest || field != "uplink" {
		t.Errorf("create in mode hairpin on a missing uplink: %d %q (%v), want 400 naming uplink", status, field, err)
	}
	if status, _ := apiStatus(d.c.DeleteNetwork(ctx, "blue")); status != http.StatusConflict {
		t.Errorf("delete with vNICs attached: %d, want 409", status)
	}
	nets1, vnics1 := d.state()
	if diff := cmp.Diff(nets0, nets1); diff != "" {
		t.Errorf("refused requests changed the networks (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(vnics0, vnics1); diff != "" {
		t.Errorf("refused requests changed the vNICs (-before +after):\n%s", diff)
	}
	if again, created, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:0a:01"}); err != nil || created || again.OFPort != 1 {
		t.Errorf("attach vm1 again = port %d, created %v, %v; want 200 with port 1", again.OFPort, created, err)
	}

	// Restart on the same store: the network and its vNICs come back on
	// the same port numbers.
	d.stop()
	d = startDaemon(t, cfg)
	nets2, vnics2 := d.state()
	if diff := cmp.Diff(nets1, nets2); diff != "" {
		t.Errorf("networks after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(vnics1, vnics2); diff != "" {
		t.Errorf("vNICs after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(wantPorts, d.portNames("blue")); diff != "" {
		t.Errorf("OpenFlow ports after restart (-want +got):\n%s", diff)
	}

	// Detach (idempotent), then delete.
	for _, id := range []string{"vm1", "vm1", "vm2"} {
		if err := d.c.DetachVNIC(ctx, id); err != nil {
			t.Errorf("detach %s: %v", id, err)
		}
	}
	if _, err := netlink.LinkByName("nfv-vm1"); err == nil {
		t.Error("nfv-vm1 still exists after detach")
	}
	if got := d.portNames("blue"); len(got) != 0 {
		t.Errorf("ports after detach: %v", got)
	}
	if err := d.c.DeleteNetwork(ctx, "blue"); err != nil {
		t.Fatalf("delete network: %v", err)
	}
	if _, err := d.c.Network(ctx, "blue"); func() int { s, _ := apiStatus(err); return s }() != http.StatusNotFound {
		t.Errorf("GET a deleted network: %v, want 404", err)
	}
}
