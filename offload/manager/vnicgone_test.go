package manager

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
)

// TestDeletedVethBreaksVNIC: a host vNIC's veth deleted under a running
// network shows as broken (the API still lists it, saying why), its
// OpenFlow port goes; attaching it again re-creates the veth and the port
// with the same number.
func TestDeletedVethBreaksVNIC(t *testing.T) {
	ctx := t.Context()
	links := newFakeLinks("eth9")
	d := newTestDaemon(t, links, nil)
	if _, err := d.create(rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"eth9"}}); err != nil {
		t.Fatal(err)
	}
	spec := rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:00:01"}
	for _, s := range []rest.VNICSpec{spec, {ID: "vm2", Network: "blue"}} {
		if _, _, err := d.attach(s); err != nil {
			t.Fatalf("attach %s: %v", s.ID, err)
		}
	}

	links.remove("nfh-vm1")
	links.watch(LinkEvent{Name: "nfh-vm2", Up: false}) // a carrier change is no breakage
	v, err := d.m.VNIC(ctx, "vm1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Broken, "nfh-vm1") || !strings.Contains(v.Broken, "attach") {
		t.Errorf("vm1 after its veth was deleted: broken %q, want why (nfh-vm1 is gone) and what to do (attach)", v.Broken)
	}
	all, err := d.m.VNICs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var broken []string
	for _, v := range all {
		if v.Broken != "" {
			broken = append(broken, v.ID)
		}
	}
	if diff := cmp.Diff([]string{"vm1"}, broken); diff != "" {
		t.Errorf("broken vNICs in the list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1 eth9 netdev", "3 nfh-vm2 veth vm2"}, d.ports("blue")); diff != "" {
		t.Errorf("ports with vm1's veth gone (-want +got):\n%s", diff)
	}

	again, created, err := d.attach(spec)
	if err != nil || !created {
		t.Fatalf("attach vm1 again = created %v, %v; want it re-created", created, err)
	}
	if again.Broken != "" || again.OFPort != 2 {
		t.Errorf("vm1 re-attached: port %d, broken %q; want port 2, not broken", again.OFPort, again.Broken)
	}
	if !links.HasLink("nfh-vm1") || !links.HasLink("nfv-vm1") || links.LinkMAC("nfv-vm1") != spec.MAC {
		t.Errorf("vm1's veth not re-created with its MAC: %v", links.names())
	}
	if diff := cmp.Diff([]string{"1 eth9 netdev", "2 nfh-vm1 veth vm1", "3 nfh-vm2 veth vm2"}, d.ports("blue")); diff != "" {
		t.Errorf("ports after re-attach (-want +got):\n%s", diff)
	}
	if v, err := d.m.VNIC(ctx, "vm1"); err != nil || v.Broken != "" {
		t.Errorf("vm1 after re-attach: broken %q, %v", v.Broken, err)
	}
	// An attached vNIC that works is still answered as it is.
	if _, created, err := d.attach(spec); err != nil || created {
		t.Errorf("attach vm1 a third time = created %v, %v; want the existing one", created, err)
	}
}
