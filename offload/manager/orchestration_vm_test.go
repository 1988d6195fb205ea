package manager

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// vfView is what the orchestration tests compare of a VF as netlink
// reports it.
type vfView struct {
	MAC              string
	VLAN, QoS, Proto int
	Spoof            bool
	Trust            uint32
	LinkState        uint32
	MinRate, MaxRate uint32
}

// readVFs reads the PF's VFs straight from netlink (not through sriov/vf).
// A fresh netdevsim VF reports VLAN protocol 0, which rtnetlink does not
// take back, so 0 reads as 802.1Q.
func readVFs(t *testing.T, pf string) []vfView {
	t.Helper()
	link, err := netlink.LinkByName(pf)
	if err != nil {
		t.Fatalf("get link %s: %v", pf, err)
	}
	var out []vfView
	for _, v := range link.Attrs().Vfs {
		proto := v.VlanProto
		if proto == 0 {
			proto = 0x8100
		}
		out = append(out, vfView{MAC: v.Mac.String(), VLAN: v.Vlan, QoS: v.Qos, Proto: proto, Spoof: v.Spoofchk, Trust: v.Trust,
			LinkState: v.LinkState, MinRate: v.MinTxRate, MaxRate: v.MaxTxRate})
	}
	return out
}

// TestVMNICNetworkOverREST runs nicflowd in the VM with a network in mode
// nic on a netdevsim PF with 4 VFs: nicflowd puts it in switchdev mode,
// vNICs attached over REST get VFs whose settings read back through
// netlink as requested, their representors are OpenFlow ports, a rate
// above the link speed is refused (422, netdevsim's words), a restart
// keeps every allocation and port, detach restores the VFs, and a change
// to legacy that devlink refuses (a rate node exists) is a 422 that
// changes nothing.
func TestVMNICNetworkOverREST(t *testing.T) {
	vmtest.Require(t)
	nsim := vmtest.NewNetdevsim(t, 40, 4)
	pf := nsim.PF
	before := readVFs(t, pf)
	d, cfg := startStateDaemon(t)
	ctx := context.Background()

	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: pf, Offload: "off"})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	if n.Status.EswitchMode != "switchdev" || nsim.EswitchMode(t) != "switchdev" {
		t.Fatalf("eswitch mode: status %q, devlink %q; want switchdev (note %q)", n.Status.EswitchMode, nsim.EswitchMode(t), n.Status.ModeNote)
	}
	reps := nsim.Representors(t)

	specs := []rest.VNICSpec{
		{ID: "vm1-eth0", Network: "sriov", MAC: "02:00:00:00:00:11", VLAN: 100, QoS: 3, VLANProto: "802.1ad", SpoofCheck: ptr(false),
			Trust: ptr(true), MinTxRate: 10, MaxTxRate: 100, LinkState: "enable"},
		{ID: "vm2-eth0", Network: "sriov", MAC: "02:00:00:00:00:22", VLAN: 200, LinkState: "disable"},
	}
	wantVFs := []vfView{
		{MAC: "02:00:00:00:00:11", VLAN: 100, QoS: 3, Proto: 0x88a8, Spoof: false, Trust: 1, LinkState: netlink.VF_LINK_STATE_ENABLE, MinRate: 10, MaxRate: 100},
		{MAC: "02:00:00:00:00:22", VLAN: 200, Proto: 0x8100, Spoof: true, Trust: 0, LinkState: netlink.VF_LINK_STATE_DISABLE},
	}
	for i, s := range specs {
		v, created, err := d.c.AttachVNIC(ctx, s)
		if err != nil || !created {
			t.Fatalf("attach %s: created %v, %v", s.ID, created, err)
		}
		if v.VFIndex != i || v.Uplink != pf || v.Representor != reps[i] || v.OFPort != uint32(i+2) {
			t.Errorf("attach %s = VF %d of %s, representor %q, port %d; want VF %d of %s, %s, port %d",
				s.ID, v.VFIndex, v.Uplink, v.Representor, v.OFPort, i, pf, reps[i], i+2)
		}
	}
	// A rate above netdevsim's link speed: the driver's refusal is a 422
	// naming max_tx_rate, in its words and naming the PF; nothing changes.
	_, vnicsBefore := d.state()
	_, _, err = d.c.AttachVNIC(ctx, rest.VNICSpec{ID: "fast", Network: "sriov", MaxTxRate: 6000})
	t.Logf("attach at 6000 Mbit/s: %v", err)
	if status, field := apiStatus(err); status != http.StatusUnprocessableEntity || field != "max_tx_rate" {
		t.Errorf("attach at 6000 Mbit/s = %d %q (%v), want 422 naming max_tx_rate", status, field, err)
	}
	if err == nil || !strings.Contains(err.Error(), "TX rate value exceed link maximum speed 5000Mbps") || !strings.Contains(err.Error(), pf) {
		t.Errorf("error %v does not carry netdevsim's words naming %s", err, pf)
	}
	if _, vnicsAfter := d.state(); !cmp.Equal(vnicsBefore, vnicsAfter) {
		t.Errorf("vNICs after the refused attach (-before +after):\n%s", cmp.Diff(vnicsBefore, vnicsAfter))
	}
	got := readVFs(t, pf)
	for i, want := range wantVFs {
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Errorf("VF %d read back through netlink (-want +got):\n%s", i, diff)
		}
	}
	wantPorts := []string{"1 " + pf, "2 " + reps[0], "3 " + reps[1]}
	if diff := cmp.Diff(wantPorts, d.portNames("sriov")); diff != "" {
		t.Errorf("OpenFlow ports (-want +got):\n%s", diff)
	}
	// /metrics has every VF's hardware counters, naming the vNIC holding it.
	metrics, err := d.c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		vnic := ""
		if i < len(specs) {
			vnic = specs[i].ID
		}
		prefix := fmt.Sprintf(`nicflow_vf_rx_packets_total{uplink="%s",vf="%d",pci="`, pf, i)
		line := ""
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, prefix) {
				line = l
			}
		}
		if !strings.Contains(line, fmt.Sprintf(`vnic="%s"}`, vnic)) {
			t.Errorf("metrics: VF %d: line %q, want one starting %s and naming vnic %q", i, line, prefix, vnic)
		}
	}
	_, vnics1 := d.state()

	// Restart: every allocation, port number and VF setting stays.
	d.stop()
	d = startDaemon(t, cfg)
	if _, vnics2 := d.state(); !cmp.Equal(vnics1, vnics2) {
		t.Errorf("vNICs after restart (-before +after):\n%s", cmp.Diff(vnics1, vnics2))
	}
	if diff := cmp.Diff(wantPorts, d.portNames("sriov")); diff != "" {
		t.Errorf("OpenFlow ports after restart (-want +got):\n%s", diff)
	}
	after := readVFs(t, pf)
	for i := range wantVFs {
		if diff := cmp.Diff(got[i], after[i]); diff != "" {
			t.Errorf("VF %d after restart (-before +after):\n%s", i, diff)
		}
	}

	// Detach restores each VF and removes its representor's port.
	for _, s := range specs {
		if err := d.c.DetachVNIC(ctx, s.ID); err != nil {
			t.Fatalf("detach %s: %v", s.ID, err)
		}
	}
	restored := readVFs(t, pf)
	for i := range specs {
		if diff := cmp.Diff(before[i], restored[i]); diff != "" {
			t.Errorf("VF %d after detach, want its original settings (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff([]string{"1 " + pf}, d.portNames("sriov")); diff != "" {
		t.Errorf("OpenFlow ports after detach (-want +got):\n%s", diff)
	}

	// While a devlink rate node exists, devlink refuses to change the
	// eswitch mode: PUT eswitch_mode legacy is a 422 naming eswitch_mode,
	// in the kernel's words and naming the PF, and the network stays in
	// switchdev. Without the node the same PUT goes through.
	nsim.AddRateNode(t, "grp")
	legacy := rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: pf, EswitchMode: "legacy", Offload: "off"}
	nets0, _ := d.state()
	_, err = d.c.UpdateNetwork(ctx, "sriov", legacy)
	t.Logf("PUT eswitch_mode legacy with a rate node: %v", err)
	if status, field := apiStatus(err); status != http.StatusUnprocessableEntity || field != "eswitch_mode" {
		t.Errorf("PUT eswitch_mode legacy with a rate node = %d %q (%v), want 422 naming eswitch_mode", status, field, err)
	}
	if err == nil || !strings.Contains(err.Error(), "Rate node(s) exists.") || !strings.Contains(err.Error(), "configure PF "+pf) {
		t.Errorf("error %v does not carry the kernel's words naming %s", err, pf)
	}
	if nets1, _ := d.state(); !cmp.Equal(nets0, nets1) {
		t.Errorf("networks after the refusal (-before +after):\n%s", cmp.Diff(nets0, nets1))
	}
	if got := nsim.EswitchMode(t); got != "switchdev" {
		t.Errorf("eswitch mode after the refusal = %q, want switchdev", got)
	}
	nsim.DelRateNode(t, "grp")
	if n, err := d.c.UpdateNetwork(ctx, "sriov", legacy); err != nil || n.Status.EswitchMode != "legacy" || nsim.EswitchMode(t) != "legacy" {
		t.Errorf("PUT eswitch_mode legacy without a rate node = %q, %v; want legacy (devlink %q)", n.Status.EswitchMode, err, nsim.EswitchMode(t))
	}
	if err := d.c.DeleteNetwork(ctx, "sriov"); err != nil {
		t.Errorf("delete network: %v", err)
	}
}

// TestVMNICNetworkLegacy: in legacy mode the NIC's VEB switches the VFs;
// a vNIC gets its VF settings and no OpenFlow port (port 0).
func TestVMNICNetworkLegacy(t *testing.T) {
	vmtest.Require(t)
	nsim := vmtest.NewNetdevsim(t, 41, 2)
	pf := nsim.PF
	d, _ := startStateDaemon(t)
	ctx := context.Background()
	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "veb", Mode: "nic", Uplink: pf, EswitchMode: "legacy", Offload: "off"})
	if err != nil {
		t.Fatalf("create network: %v", err)
	}
	if n.Status.EswitchMode != "legacy" {
		t.Errorf("eswitch mode = %q, want legacy", n.Status.EswitchMode)
	}
	v, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: "a", Network: "veb", VLAN: 42, MaxTxRate: 50})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	if v.OFPort != 0 || v.Representor != "" {
		t.Errorf("legacy vNIC = port %d, representor %q; want neither", v.OFPort, v.Representor)
	}
	if vf := readVFs(t, pf)[v.VFIndex]; vf.VLAN != 42 || vf.MaxRate != 50 {
		t.Errorf("VF %d = %+v, want VLAN 42, max rate 50", v.VFIndex, vf)
	}
	if err := d.c.DetachVNIC(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if vf := readVFs(t, pf)[v.VFIndex]; vf.VLAN != 0 || vf.MaxRate != 0 {
		t.Errorf("VF %d after detach = %+v, want no VLAN and no rate", v.VFIndex, vf)
	}
}
