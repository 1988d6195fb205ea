//go:build linux

package manager

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/hairpinlab"
	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/vepa"
)

// uplinkBlock is the ingress block the clsact qdisc of netdev uplink (in
// the caller's namespace) is bound to (0: none).
func uplinkBlock(t *testing.T, uplink string) uint32 {
	t.Helper()
	qs, err := netlink.QdiscList((*netns.NS)(nil).Link(t, uplink))
	if err != nil {
		t.Fatalf("list qdiscs of %s: %v", uplink, err)
	}
	for _, q := range qs {
		if q.Type() == "clsact" && q.Attrs().IngressBlock != nil {
			return *q.Attrs().IngressBlock
		}
	}
	return 0
}

// filterPrefs lists the block's filters as "chain/pref".
func filterPrefs(ds []tcflower.Dumped) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, flowKey(d.Filter.Chain, d.Filter.Pref))
	}
	return out
}

func flowKey(chain uint32, pref uint16) string { return fmt.Sprintf("%d/%d", chain, pref) }

// TestVMHairpinRulesInTC runs nicflowd in the VM with a hairpin network
// (offload tc) on uplink hpup, whose peer is a hairpin port of an
// external Linux bridge, and two macvlan vNICs in VEPA mode, each in a VM
// namespace. The uplink is bound to the network's block without a miss
// filter; the vNICs reach each other through the external switch; an
// OpenFlow drop rule runs in tc on the uplink's ingress and its tc counter
// equals the datagrams it dropped; a rule tc cannot run is listed as not
// enforced; deleting the drop rule lets the traffic through again.
func TestVMHairpinRulesInTC(t *testing.T) {
	vmtest.Require(t)
	lab := hairpinlab.New(t, hairpinlab.Config{Prefix: "hp", Net: 79, Port: 7779})
	d, cfg := startStateDaemon(t)
	ctx := t.Context()
	const network = "hptc"

	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: network, Mode: "hairpin", Uplink: lab.Uplink, Offload: "tc"})
	if err != nil {
		t.Fatalf("create hairpin network: %v", err)
	}
	t.Logf("offload %q: %s", n.Status.Offload, n.Status.OffloadNote)
	if n.VNICType != rest.VNICTypeMacvlan || n.Status.SwitchingPoint != rest.SwitchExternal || n.Status.Offload != "tc" {
		t.Errorf("hairpin network: vnic_type %q, switching %q, offload %q; want macvlan, external, tc",
			n.VNICType, n.Status.SwitchingPoint, n.Status.Offload)
	}
	if note := n.Status.OffloadNote; !strings.Contains(note, "tc tier up") || !strings.Contains(note, "only rules in tc are enforced (hairpin") {
		t.Errorf("offload note %q does not say that only tc enforces rules", note)
	}
	for i, id := range []string{"hp-a", "hp-b"} {
		v, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: id, Network: network, MAC: lab.MACs[i]})
		if err != nil {
			t.Fatalf("attach %s: %v", id, err)
		}
		mv, err := vepa.Macvlan(v.Netdev)
		if err != nil || mv.Mode != vepa.MacvlanVEPA || mv.Parent != lab.Uplink {
			t.Fatalf("vNIC %s netdev %s = %+v, %v; want a VEPA macvlan on %s", id, v.Netdev, mv, err, lab.Uplink)
		}
		lab.Plug(i, v.Netdev)
	}
	if diff := cmp.Diff([]string{"1 " + lab.Uplink}, d.portNames(network)); diff != "" {
		t.Errorf("hairpin network's OpenFlow ports (-want +got):\n%s", diff)
	}

	// 1. The uplink is bound to the network's block, which holds no miss
	// filter (nor any other before the first rule).
	block := tcport.BlockIndex(network)
	if got := uplinkBlock(t, lab.Uplink); got != block {
		t.Errorf("%s's ingress block = %d, want the network's block %d", lab.Uplink, got, block)
	}
	if diff := cmp.Diff([]string{}, filterPrefs(kernelFilters(t, network))); diff != "" {
		t.Errorf("filters in block %d before any rule (-want +got):\n%s", block, diff)
	}

	const count = 3 // datagrams per step
	step := func(name string, wantEchoes int, wantSw hairpinlab.Counts) {
		t.Helper()
		before := lab.SwitchCounts()
		reached, echoed := lab.Echo(count)
		got := lab.SwitchCounts().Sub(before)
		t.Logf("%s: %d reached, %d echoed, bridge port %s: %v", name, reached, echoed, lab.SwitchPort, got)
		if echoed != wantEchoes {
			t.Errorf("%s: %d echoes of %d, want %d", name, echoed, count, wantEchoes)
		}
		if got != wantSw {
			t.Errorf("%s: bridge port %s: %v, want %v", name, lab.SwitchPort, got, wantSw)
		}
	}
	lab.SetHairpin(true)
	// 2. vNIC to vNIC through the external switch: each datagram and echo
	// leaves the host and comes back.
	step("no rule", count, hairpinlab.Counts{Out: 2 * count, Back: 2 * count})

	// 3. A drop rule runs in tc on the uplink's ingress: the datagrams
	// leave and come back, and tc drops them before the macvlans.
	c, err := ofclient.Dial(ctx, "unix:"+filepath.Join(cfg.RunDir, network+".mgmt"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dropRule := fmt.Sprintf("priority=100,in_port=1,udp,udp_dst=%d,actions=drop", lab.Port)
	if err := c.AddFlow(ctx, flowtext.MustFlowMod(dropRule)); err != nil {
		t.Fatalf("add %s: %v", dropRule, err)
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	flows := restFlows(t, d, network)
	if f, ok := flows[100]; !ok || f.Tier != "tc" || f.Reason != "" {
		t.Fatalf("drop rule in REST flows = %+v (found %v), want tier tc without a reason", f, ok)
	}
	if diff := cmp.Diff([]string{flowKey(0, tcflower.Pref(100))}, filterPrefs(kernelFilters(t, network))); diff != "" {
		t.Errorf("filters in block %d with the drop rule, chain/pref (-want +got):\n%s", block, diff)
	}
	step("drop rule in tc", 0, hairpinlab.Counts{Out: count, Back: count})
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	f := restFlows(t, d, network)[100]
	t.Logf("drop rule: tier %s, packets %d (tc %d, soft %d)", f.Tier, f.Packets, f.TC.Packets, f.Soft.Packets)
	if f.Tier != "tc" || f.TC.Packets != count || f.Packets != count || f.Soft.Packets != 0 {
		t.Errorf("drop rule: tier %s packets %d (tc %d, soft %d), want tc and %d, all in tc", f.Tier, f.Packets, f.TC.Packets, f.Soft.Packets, count)
	}
	if got := ofPacketsAt(t, c, 100); got != count {
		t.Errorf("drop rule: FLOW_STATS n_packets = %d, want %d", got, count)
	}

	// 4. A rule tc cannot run (output to the controller) is listed in the
	// soft tier as not enforced: the fast path never sees the uplink's
	// frames. It has no filter; the drop rule stays in tc.
	ctl := flowtext.MustFlowMod("priority=200,in_port=1,icmp,actions=output:CONTROLLER")
	ctl.Instr.Apply[0].MaxLen = 64
	if err := c.AddFlow(ctx, ctl); err != nil {
		t.Fatalf("add the controller rule: %v", err)
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	flows = restFlows(t, d, network)
	t.Logf("controller rule: tier %s, reason %q", flows[200].Tier, flows[200].Reason)
	if f := flows[200]; f.Tier != "soft" || !strings.HasPrefix(f.Reason, "not enforced (") {
		t.Errorf("controller rule: tier %s reason %q, want soft and a reason starting %q", f.Tier, f.Reason, "not enforced (")
	}
	if f := flows[100]; f.Tier != "tc" {
		t.Errorf("drop rule after the controller rule: tier %s (%s), want tc", f.Tier, f.Reason)
	}
	if diff := cmp.Diff([]string{flowKey(0, tcflower.Pref(100))}, filterPrefs(kernelFilters(t, network))); diff != "" {
		t.Errorf("filters in block %d with the controller rule, chain/pref (-want +got):\n%s", block, diff)
	}
	if st, err := d.c.Network(ctx, network); err != nil || !strings.Contains(st.Status.OffloadNote, "only rules in tc are enforced") {
		t.Errorf("offload note with a rule not enforced = %q, %v", st.Status.OffloadNote, err)
	}

	// 5. Deleting the drop rule lets the datagrams through again.
	del := flowtext.MustFlowMod(dropRule)
	del.Command = pipeline.FlowDeleteStrict
	if err := c.FlowMod(ctx, del); err != nil {
		t.Fatal(err)
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := restFlows(t, d, network)[100]; ok {
		t.Errorf("drop rule still listed after its deletion")
	}
	if diff := cmp.Diff([]string{}, filterPrefs(kernelFilters(t, network))); diff != "" {
		t.Errorf("filters in block %d after the drop rule's deletion (-want +got):\n%s", block, diff)
	}
	step("drop rule deleted", count, hairpinlab.Counts{Out: 2 * count, Back: 2 * count})

	// 6. Deleting the network takes its filters along: the uplink leaves
	// the block (the kernel frees it with its filters), so nothing of
	// the network keeps acting on the uplink's frames.
	if err := c.AddFlow(ctx, flowtext.MustFlowMod(dropRule)); err != nil {
		t.Fatal(err)
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(kernelFilters(t, network)); got != 1 {
		t.Errorf("%d filters in block %d before the network's deletion, want 1", got, block)
	}
	for _, id := range []string{"hp-a", "hp-b"} {
		if err := d.c.DetachVNIC(ctx, id); err != nil {
			t.Errorf("detach %s: %v", id, err)
		}
	}
	if err := d.c.DeleteNetwork(ctx, network); err != nil {
		t.Errorf("delete network: %v", err)
	}
	if b := uplinkBlock(t, lab.Uplink); b != 0 {
		t.Errorf("after the network's deletion %s is still bound to block %d", lab.Uplink, b)
	}
	h, err := tcflower.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if ds, err := h.Dump(block); err == nil && len(ds) > 0 {
		t.Errorf("after the network's deletion block %d still holds %v", block, filterPrefs(ds))
	}
}

// restFlows is the network's REST flows of table 0 by priority.
func restFlows(t *testing.T, d *daemon, network string) map[uint16]rest.Flow {
	t.Helper()
	fs, err := d.c.Flows(t.Context(), network)
	if err != nil {
		t.Fatalf("GET flows: %v", err)
	}
	out := map[uint16]rest.Flow{}
	for _, f := range fs {
		if f.Table == 0 {
			out[f.Priority] = f
		}
	}
	return out
}

// ofPacketsAt is FLOW_STATS' n_packets of the rule of table 0 and prio.
func ofPacketsAt(t *testing.T, c *ofclient.Client, prio uint16) uint64 {
	t.Helper()
	fs, err := c.FlowStats(t.Context(), ofclient.AllFlows())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.TableID == 0 && f.Priority == prio {
			return f.Packets
		}
	}
	t.Fatalf("FLOW_STATS has no flow at table 0 priority %d", prio)
	return 0
}
