//go:build linux

package manager

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/test/hairpinlab"
	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/waitfor"
	"github.com/nicflow/nicflow/vepa"
)

// ofPorts is the REST port counters of network name: "NO rx/tx".
func (d *daemon) ofPorts(name string) map[uint32][2]uint64 {
	d.t.Helper()
	ps, err := d.c.Ports(d.t.Context(), name)
	if err != nil {
		d.t.Fatal(err)
	}
	out := map[uint32][2]uint64{}
	for _, p := range ps {
		out[p.No] = [2]uint64{p.RxPackets, p.TxPackets}
	}
	return out
}

// TestModesHairpinToHostOverREST is the namespace proof through
// the real daemon: a hairpin network on uplink mdup with two macvlan
// vNICs in VEPA mode, created and attached over REST, each in a VM
// namespace. They reach each other only while the external switch's port
// has hairpin on, every frame going out and coming back; without hairpin
// they cannot. PUT mode host re-plumbs the same vNICs as veths on their
// reserved OpenFlow port numbers, and they talk through nicflow's fast
// path (offload off, so the same in a kernel with a tc tier): the
// OpenFlow port counters move, the bridge port's do not. The lab is built
// over netlink: the test runs in a fresh namespace and in the VM.
func TestModesHairpinToHostOverREST(t *testing.T) {
	if !netns.InFresh(t) {
		return
	}
	lab := hairpinlab.New(t, hairpinlab.Config{Prefix: "md", Net: 78, Port: 7778})
	d, cfg := startStateDaemon(t)
	ctx := t.Context()

	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "mdhp", Mode: "hairpin", Uplink: "mdup", Offload: "off"})
	if err != nil {
		t.Fatalf("create hairpin network: %v", err)
	}
	if n.VNICType != rest.VNICTypeMacvlan || n.Status.SwitchingPoint != rest.SwitchExternal || n.Status.Offload != "off" {
		t.Errorf("hairpin network: vnic_type %q, switching %q, offload %q; want macvlan, external, off",
			n.VNICType, n.Status.SwitchingPoint, n.Status.Offload)
	}
	for i, id := range []string{"a", "b"} {
		v, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: id, Network: "mdhp", MAC: lab.MACs[i]})
		if err != nil {
			t.Fatalf("attach %s: %v", id, err)
		}
		mv, err := vepa.Macvlan(v.Netdev)
		if err != nil || mv.Mode != vepa.MacvlanVEPA || mv.Parent != "mdup" || mv.MAC.String() != lab.MACs[i] {
			t.Fatalf("vNIC %s netdev %s = %+v, %v; want a VEPA macvlan on mdup with MAC %s", id, v.Netdev, mv, err, lab.MACs[i])
		}
		lab.Plug(i, v.Netdev)
	}
	if diff := cmp.Diff([]string{"1 mdup"}, d.portNames("mdhp")); diff != "" {
		t.Errorf("hairpin network's OpenFlow ports (-want +got):\n%s", diff)
	}
	metrics, err := d.c.Metrics(ctx)
	if err != nil || !strings.Contains(metrics, `nicflow_network_info{network="mdhp",mode="hairpin",switching="external"} 1`) {
		t.Errorf("metrics lack the hairpin network's info (%v):\n%s", err, metrics)
	}

	const count = 3 // datagrams per step, each echoed
	step := func(name string, wantEchoes int, wantSw hairpinlab.Counts) {
		t.Helper()
		before := lab.SwitchCounts()
		reached, echoed := lab.Echo(count)
		got := lab.SwitchCounts().Sub(before)
		t.Logf("%s: %d reached, %d echoed, bridge port mdsp: %v", name, reached, echoed, got)
		if reached != wantEchoes || echoed != wantEchoes {
			t.Errorf("%s: %d of %d datagrams reached VM 2, %d echoes came back; want %d and %d", name, reached, count, echoed, wantEchoes, wantEchoes)
		}
		if got != wantSw {
			t.Errorf("%s: bridge port mdsp: %v, want %v", name, got, wantSw)
		}
	}
	lab.SetHairpin(true)
	step("hairpin mode, bridge port hairpin on", count, hairpinlab.Counts{Out: 2 * count, Back: 2 * count})
	lab.SetHairpin(false)
	step("hairpin mode, bridge port hairpin off", 0, hairpinlab.Counts{Out: count, Back: 0})
	lab.SetHairpin(true)

	// PUT mode host: the same vNICs become veths on their reserved port
	// numbers; the VMs let their old devices go and get the new ones.
	n, err = d.c.UpdateNetwork(ctx, "mdhp", rest.NetworkSpec{Name: "mdhp", Mode: "host", Uplink: "mdup", Offload: "off"})
	if err != nil {
		t.Fatalf("PUT mode host: %v", err)
	}
	t.Logf("PUT mode host: changes:\n%s", strings.Join(n.Status.Changes, "\n"))
	wantChanges := []string{
		"network mdhp: mode hairpin (macvlan) -> host",
		"vnic a: macvlan (vepa) nfv-a, no port (number 2 kept) -> veth nfv-a, port 2 (nfh-a)",
		"vnic b: macvlan (vepa) nfv-b, no port (number 3 kept) -> veth nfv-b, port 3 (nfh-b)",
	}
	if len(n.Status.Changes) < 3 {
		t.Fatalf("changes = %q, want at least %q", n.Status.Changes, wantChanges)
	}
	if diff := cmp.Diff(wantChanges, n.Status.Changes[:3]); diff != "" {
		t.Errorf("changes of PUT mode host (-want +got):\n%s", diff)
	}
	if n.Mode != rest.ModeHost || n.Status.SwitchingPoint != rest.SwitchNicflow {
		t.Errorf("after PUT: mode %q switching %q, want host, nicflow", n.Mode, n.Status.SwitchingPoint)
	}
	// mdup stays the uplink, parked: no port in mode host (see parkedUplink).
	if diff := cmp.Diff([]string{"2 nfh-a", "3 nfh-b"}, d.portNames("mdhp")); diff != "" {
		t.Errorf("host network's OpenFlow ports (-want +got):\n%s", diff)
	}
	lab.Unplug()
	for i, id := range []string{"a", "b"} {
		v, err := d.c.VNIC(ctx, id)
		if err != nil || v.OFPort != uint32(i+2) || v.Netdev != "nfv-"+id {
			t.Fatalf("vnic %s after PUT = %+v, %v; want nfv-%s on port %d", id, v, err, id, i+2)
		}
		lab.Plug(i, v.Netdev)
	}
	// The controller's rules: vNIC to vNIC in the fast path.
	c, err := ofclient.Dial(ctx, "unix:"+filepath.Join(cfg.RunDir, "mdhp.mgmt"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, r := range []string{"priority=10,in_port=2,actions=output:3", "priority=10,in_port=3,actions=output:2"} {
		if err := c.AddFlow(ctx, flowtext.MustFlowMod(r)); err != nil {
			t.Fatalf("add %s: %v", r, err)
		}
	}
	if err := c.Barrier(ctx); err != nil { // the rules are in force before the first datagram
		t.Fatal(err)
	}
	ofBefore := d.ofPorts("mdhp")
	swBefore := lab.SwitchCounts()
	lab.MustEcho(count) // through nicflow's fast path: every datagram and echo must arrive
	if got := lab.SwitchCounts().Sub(swBefore); got != (hairpinlab.Counts{}) {
		t.Errorf("host mode: bridge port mdsp: %v, want nothing through the external switch", got)
	}
	// The fast path counts a frame it sent after the send returns, so the
	// receiver may see the last echo before its port's tx count: wait a
	// little for the counts to settle.
	var ofAfter map[uint32][2]uint64
	_ = waitfor.Until(2*time.Second, func() error { // the exact counts are checked below
		ofAfter = d.ofPorts("mdhp")
		for _, no := range []uint32{2, 3} {
			if ofAfter[no][0]-ofBefore[no][0] < count || ofAfter[no][1]-ofBefore[no][1] < count {
				return fmt.Errorf("port %d's counts not settled", no)
			}
		}
		return nil
	})
	for _, no := range []uint32{2, 3} {
		got := [2]uint64{ofAfter[no][0] - ofBefore[no][0], ofAfter[no][1] - ofBefore[no][1]}
		if got != [2]uint64{count, count} {
			t.Errorf("OpenFlow port %d rx/tx = %d/%d, want %d/%d", no, got[0], got[1], count, count)
		}
	}
	flows, err := d.c.Flows(ctx, "mdhp")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flows {
		if f.Packets != count || f.Tier != "soft" {
			t.Errorf("rule %s: %d packets in tier %s, want %d in soft", f.Match, f.Packets, f.Tier, count)
		}
	}
	var matched uint64
	for _, f := range flows {
		matched += f.Packets
	}
	tables, err := d.c.Tables(ctx, "mdhp")
	if err != nil || len(tables) != 1 || tables[0].Table != 0 || tables[0].Active != uint32(len(flows)) || tables[0].Matched != matched || tables[0].Lookups < matched {
		t.Errorf("tables = %+v, %v; want table 0 alone with %d rules and %d packets matched", tables, err, len(flows), matched)
	}
	metrics, _ = d.c.Metrics(ctx)
	if !strings.Contains(metrics, `nicflow_network_info{network="mdhp",mode="host",switching="nicflow"} 1`) {
		t.Errorf("metrics lack the host network's info:\n%s", metrics)
	}

	for _, id := range []string{"a", "b"} {
		if err := d.c.DetachVNIC(ctx, id); err != nil {
			t.Errorf("detach %s: %v", id, err)
		}
	}
	if err := d.c.DeleteNetwork(ctx, "mdhp"); err != nil {
		t.Errorf("delete network: %v", err)
	}
}
