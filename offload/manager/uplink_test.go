package manager

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
)

// TestHostModeUplink: mode host takes no uplink (400 naming uplink,
// nothing created, a configured network refused at start); a network
// that had one in mode nic or hairpin keeps it through a live change to
// host, parked (no port, the note says so, number 1 its own) and may be
// updated with it as GET shows it; back in nic or hairpin it is port 1
// again. A change of mode cannot add or drop the uplink.
func TestHostModeUplink(t *testing.T) {
	links := newFakeLinks("eth0", "eth1")
	k := newFakeVF(links)
	k.addPF("pf0", 4)
	d := newTestDaemon(t, links, k)

	_, err := d.create(rest.NetworkSpec{Name: "h", Mode: "host", Uplink: "eth0", Offload: "off"})
	wantAPIError(t, "host network with an uplink", err, rest.ErrInvalid, "uplink")
	if n := len(d.networks()); n != 0 {
		t.Errorf("%d networks after the refusal, want 0", n)
	}
	fixed := rest.NetworkSpec{Name: "cfg", Mode: "host", Uplink: "eth0", Offload: "off"}
	if err := fixed.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{RunDir: t.TempDir(), Ports: fakePorts{links}, Links: links})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context(), fixed); err == nil || !strings.Contains(err.Error(), "uplink: mode host takes no uplink") {
		t.Errorf("start with a configured host network on uplink eth0 = %v, want it refused naming uplink", err)
	}
	_ = m.Shutdown(context.Background())

	// nic -> host -> nic: no restart; the uplink port goes and comes back.
	if _, err := d.create(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.attach(rest.VNICSpec{ID: "a", Network: "sriov"}); err != nil {
		t.Fatal(err)
	}
	_, events := d.watchPorts("sriov")
	n, err := d.update(rest.NetworkSpec{Name: "sriov", Mode: "host", Uplink: "pf0", Offload: "off"})
	if err != nil {
		t.Fatalf("PUT mode host keeping the uplink: %v", err)
	}
	if diff := cmp.Diff([]string{"2 nfh-a veth a"}, d.ports("sriov")); diff != "" {
		t.Errorf("ports in mode host (-want +got):\n%s", diff)
	}
	if !strings.Contains(n.Status.ModeNote, "uplink pf0 is kept") || !strings.Contains(strings.Join(n.Status.Changes, "\n"), "uplink pf0: no port in mode host (number 1 kept") {
		t.Errorf("mode host: note %q, changes %q; want the uplink kept and its port gone", n.Status.ModeNote, n.Status.Changes)
	}
	if got := events.take(); !slices.Contains(got, "delete 1 pf0") {
		t.Errorf("PORT_STATUS into mode host = %q, want delete 1 pf0 among them", got)
	}
	// The spec as GET shows it, another field changed: accepted.
	n.FailMode = "standalone"
	if _, err := d.update(n.NetworkSpec); err != nil {
		t.Errorf("PUT of the host network as GET shows it: %v", err)
	}
	_, err = d.update(rest.NetworkSpec{Name: "sriov", Mode: "nic", Offload: "off", FailMode: "standalone"})
	wantAPIError(t, "PUT mode nic without the uplink", err, rest.ErrInvalid, "uplink")
	if _, err := d.update(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", Offload: "off", FailMode: "standalone"}); err != nil {
		t.Fatalf("PUT mode nic again: %v", err)
	}
	if diff := cmp.Diff([]string{"1 pf0 uplink", "2 pf0r0 representor a"}, d.ports("sriov")); diff != "" {
		t.Errorf("ports back in mode nic (-want +got):\n%s", diff)
	}

	// A host network without an uplink cannot take one in a change of
	// mode; one with an uplink cannot drop it in the change to host, nor
	// change it while in host.
	if _, err := d.create(rest.NetworkSpec{Name: "plain", Mode: "host", Ports: []string{"eth1"}, Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	_, err = d.update(rest.NetworkSpec{Name: "plain", Mode: "hairpin", Uplink: "eth0", Ports: []string{"eth1"}, Offload: "off"})
	wantAPIError(t, "host network without uplink to hairpin", err, rest.ErrConflict, "uplink")
	_, err = d.update(rest.NetworkSpec{Name: "plain", Mode: "host", Uplink: "eth0", Ports: []string{"eth1"}, Offload: "off"})
	wantAPIError(t, "host network given an uplink", err, rest.ErrInvalid, "uplink")
	_, err = d.update(rest.NetworkSpec{Name: "sriov", Mode: "host", Offload: "off", FailMode: "standalone"})
	wantAPIError(t, "to host dropping the uplink", err, rest.ErrConflict, "uplink")
	if diff := cmp.Diff([]string{"1 eth1 netdev"}, d.ports("plain")); diff != "" {
		t.Errorf("ports of plain after the refusals (-want +got):\n%s", diff)
	}
}
