package manager

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// modesNetdevsimID is the netdevsim device id of the modes VM test.
const modesNetdevsimID = 60

// TestVMHairpinRefusedByNetdevsim: a netdevsim PF in mode nic (switchdev,
// representors as OpenFlow ports) with one OpenFlow rule in tc on the
// network's block; PUT mode hairpin needs the PF's embedded bridge in
// VEPA, which netdevsim refuses: the answer is a 422 in the kernel's
// words, and the network is left as it was (mode, eswitch mode, ports,
// the rule still in tc).
func TestVMHairpinRefusedByNetdevsim(t *testing.T) {
	vmtest.Require(t)
	nsim := vmtest.NewNetdevsim(t, modesNetdevsimID, 2)
	pf := nsim.PF
	d, cfg := startStateDaemon(t)
	ctx := context.Background()
	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "md60", Mode: "nic", Uplink: pf, Offload: "tc"})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	if n.Status.EswitchMode != "switchdev" || n.Status.SwitchingPoint != rest.SwitchEswitch {
		t.Fatalf("eswitch mode %q, switching %q; want switchdev, eswitch (note %q)", n.Status.EswitchMode, n.Status.SwitchingPoint, n.Status.ModeNote)
	}
	if _, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: "md-a", Network: "md60", MAC: "02:6d:64:00:00:61"}); err != nil {
		t.Fatalf("attach: %v", err)
	}
	c, err := ofclient.Dial(ctx, "unix:"+filepath.Join(cfg.RunDir, "md60.mgmt"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.AddFlow(ctx, flowtext.MustFlowMod("priority=10,in_port=2,udp,actions=output:1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	flows0, err := d.c.Flows(ctx, "md60")
	if err != nil || len(flows0) != 1 || flows0[0].Tier != "tc" {
		t.Fatalf("flows = %+v, %v; want one rule in tier tc", flows0, err)
	}
	nets0, vnics0 := d.state()
	ports0 := d.portNames("md60")

	_, err = d.c.UpdateNetwork(ctx, "md60", rest.NetworkSpec{Name: "md60", Mode: "hairpin", Uplink: pf, Offload: "tc"})
	t.Logf("PUT mode hairpin: %v", err)
	if status, field := apiStatus(err); status != http.StatusUnprocessableEntity || field != "mode" {
		t.Errorf("PUT mode hairpin = %d %q (%v), want 422 naming mode", status, field, err)
	}
	if want := "dev " + pf + ": the driver does not support setting the embedded bridge mode: operation not supported"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v does not carry the kernel's refusal %q", err, want)
	}

	nets1, vnics1 := d.state()
	if diff := cmp.Diff(nets0, nets1); diff != "" {
		t.Errorf("networks after the refusal (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(vnics0, vnics1); diff != "" {
		t.Errorf("vNICs after the refusal (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(ports0, d.portNames("md60")); diff != "" {
		t.Errorf("OpenFlow ports after the refusal (-before +after):\n%s", diff)
	}
	if got := nsim.EswitchMode(t); got != "switchdev" {
		t.Errorf("eswitch mode after the refusal = %q, want switchdev", got)
	}
	flows1, err := d.c.Flows(ctx, "md60")
	if err != nil || len(flows1) != 1 || flows1[0].Tier != "tc" || flows1[0].Match != flows0[0].Match {
		t.Errorf("flows after the refusal = %+v, %v; want the rule still in tier tc", flows1, err)
	}
	if err := c.Echo(ctx, []byte("md")); err != nil {
		t.Errorf("OpenFlow channel after the refusal: %v", err)
	}
	if err := d.c.DetachVNIC(ctx, "md-a"); err != nil {
		t.Fatal(err)
	}
	if err := d.c.DeleteNetwork(ctx, "md60"); err != nil {
		t.Errorf("delete network: %v", err)
	}
}
