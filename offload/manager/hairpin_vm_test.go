//go:build linux

package manager

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/vepa"
)

// The lab of the hairpin tc test, every name starting with "hp", built
// with netlink alone (the VM has no ip(8)): an external switch (namespace
// with bridge hpbr0, no multicast snooping) whose port hpsp is one end of
// a veth; its other end hpup, in nicflowd's namespace, is the hairpin
// network's uplink. Each vNIC goes into a VM namespace of its own with an
// address and a static neighbour; no namespace has IPv6, so every frame
// is a datagram and counts are exact.
const (
	hpIP1, hpIP2   = "10.79.0.1", "10.79.0.2"
	hpMAC1, hpMAC2 = "02:68:70:00:00:01", "02:68:70:00:00:02"
	hpEchoPort     = 7779
	hpUplink       = "hpup"
	hpSwPort       = "hpsp"
	hpBridge       = "hpbr0"
)

// hpNS is an unnamed network namespace, held open by its handle until the
// test ends.
type hpNS struct {
	h     vns.NsHandle
	links *netlink.Handle
}

func newHPNS(t *testing.T) *hpNS {
	t.Helper()
	ch := make(chan error, 1)
	var h vns.NsHandle
	go func() {
		// The thread stays locked and ends with the goroutine: it is in
		// the new namespace.
		runtime.LockOSThread()
		var err error
		h, err = vns.New()
		ch <- err
	}()
	if err := <-ch; err != nil {
		t.Fatalf("new network namespace: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	links, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(links.Close)
	ns := &hpNS{h: h, links: links}
	ns.sysctl(t, "net/ipv6/conf/all/disable_ipv6", "1")
	ns.sysctl(t, "net/ipv6/conf/default/disable_ipv6", "1")
	return ns
}

// do runs f on a thread in the namespace (sockets f opens stay there).
func (ns *hpNS) do(f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := vns.Set(ns.h); err != nil {
			ch <- err
			return
		}
		ch <- f()
	}()
	return <-ch
}

func (ns *hpNS) sysctl(t *testing.T, key, value string) {
	t.Helper()
	err := ns.do(func() error { return os.WriteFile("/proc/sys/"+key, []byte(value), 0o644) })
	if noIPv6(key, err) {
		return
	}
	if err != nil {
		t.Fatalf("sysctl %s=%s: %v", key, value, err)
	}
}

// noIPv6 reports whether err says that IPv6 sysctl key does not exist:
// the kernel has no IPv6, and nothing needs turning off.
func noIPv6(key string, err error) bool {
	return errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(key, "net/ipv6/")
}

type hairpinLab struct {
	t   *testing.T
	sw  *hpNS
	swH *vepa.Handle
	vms [2]*hpNS
}

// setSysctl sets a sysctl of the test's own namespace until the test ends.
func setSysctl(t *testing.T, key, value string) {
	t.Helper()
	path := "/proc/sys/" + key
	old, err := os.ReadFile(path)
	if noIPv6(key, err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(path, old, 0o644) })
}

func newHairpinLab(t *testing.T) *hairpinLab {
	t.Helper()
	// nicflowd's namespace: no IPv6 on the uplink and the vNICs.
	setSysctl(t, "net/ipv6/conf/all/disable_ipv6", "1")
	setSysctl(t, "net/ipv6/conf/default/disable_ipv6", "1")
	lab := &hairpinLab{t: t, sw: newHPNS(t)}
	lab.vms[0], lab.vms[1] = newHPNS(t), newHPNS(t)

	off := false
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: hpBridge}, MulticastSnooping: &off}
	if err := lab.sw.links.LinkAdd(br); err != nil {
		t.Fatalf("add bridge %s: %v", hpBridge, err)
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hpUplink}, PeerName: hpSwPort, PeerNamespace: netlink.NsFd(lab.sw.h)}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("add veth %s/%s: %v", hpUplink, hpSwPort, err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(hpUplink); err == nil {
			_ = netlink.LinkDel(l) // and with it the vNICs' macvlans
		}
	})
	up, err := netlink.LinkByName(hpUplink)
	if err == nil {
		err = netlink.LinkSetUp(up)
	}
	if err != nil {
		t.Fatalf("set %s up: %v", hpUplink, err)
	}
	brl, err := lab.sw.links.LinkByName(hpBridge)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := lab.sw.links.LinkByName(hpSwPort)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{lab.sw.links.LinkSetMaster(sp, brl), lab.sw.links.LinkSetUp(sp), lab.sw.links.LinkSetUp(brl)} {
		if err != nil {
			t.Fatalf("plug %s into %s: %v", hpSwPort, hpBridge, err)
		}
	}
	// The port forwards once the link watcher has seen its carrier: the
	// bridge is operationally up only then (its one port forwarding).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		l, err := lab.sw.links.LinkByName(hpBridge)
		if err != nil {
			t.Fatal(err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridge %s not up after 5 s: operstate %s", hpBridge, l.Attrs().OperState)
		}
	}
	if lab.swH, err = vepa.OpenNetNS(lab.sw.h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.swH.Close() })
	return lab
}

// plug moves vNIC netdev dev (in nicflowd's namespace) into VM i with its
// address and a static neighbour for the other VM.
func (lab *hairpinLab) plug(i int, dev string) {
	t, vm := lab.t, lab.vms[i]
	t.Helper()
	l, err := netlink.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetNsFd(l, int(vm.h)); err != nil {
		t.Fatalf("move %s into VM %d: %v", dev, i+1, err)
	}
	vm.sysctl(t, "net/ipv6/conf/"+dev+"/disable_ipv6", "1")
	if l, err = vm.links.LinkByName(dev); err != nil {
		t.Fatal(err)
	}
	ips, macs := [2]string{hpIP1, hpIP2}, [2]string{hpMAC1, hpMAC2}
	addr, _ := netlink.ParseAddr(ips[i] + "/24")
	mac, _ := net.ParseMAC(macs[1-i])
	for _, err := range []error{
		vm.links.AddrAdd(l, addr),
		vm.links.LinkSetUp(l),
		vm.links.NeighSet(&netlink.Neigh{LinkIndex: l.Attrs().Index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
			IP: net.ParseIP(ips[1-i]), HardwareAddr: mac}),
	} {
		if err != nil {
			t.Fatalf("configure %s in VM %d: %v", dev, i+1, err)
		}
	}
}

// swPort is the bridge port's counters: frames out of the host through
// the uplink, and frames the bridge sent back.
func (lab *hairpinLab) swPort() [2]uint64 { return bridgePortCounts(lab.t, lab.sw.links, hpSwPort) }

// echo sends count datagrams from VM 1 to VM 2's echo port and returns
// how many echoes came back.
func (lab *hairpinLab) echo(count int) int {
	lab.t.Helper()
	return udpEcho(lab.t, lab.vms[0].do, lab.vms[1].do, hpIP1, hpIP2, hpEchoPort, count)
}

// uplinkBlock is the ingress block the uplink's clsact qdisc is bound to
// (0: none).
func uplinkBlock(t *testing.T) uint32 {
	t.Helper()
	l, err := netlink.LinkByName(hpUplink)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := netlink.QdiscList(l)
	if err != nil {
		t.Fatalf("list qdiscs of %s: %v", hpUplink, err)
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
	lab := newHairpinLab(t)
	d, cfg := startStateDaemon(t)
	ctx := context.Background()
	const network = "hptc"

	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: network, Mode: "hairpin", Uplink: hpUplink, Offload: "tc"})
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
		v, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: id, Network: network, MAC: [2]string{hpMAC1, hpMAC2}[i]})
		if err != nil {
			t.Fatalf("attach %s: %v", id, err)
		}
		mv, err := vepa.Macvlan(v.Netdev)
		if err != nil || mv.Mode != vepa.MacvlanVEPA || mv.Parent != hpUplink {
			t.Fatalf("vNIC %s netdev %s = %+v, %v; want a VEPA macvlan on %s", id, v.Netdev, mv, err, hpUplink)
		}
		lab.plug(i, v.Netdev)
	}
	if diff := cmp.Diff([]string{"1 " + hpUplink}, d.portNames(network)); diff != "" {
		t.Errorf("hairpin network's OpenFlow ports (-want +got):\n%s", diff)
	}

	// 1. The uplink is bound to the network's block, which holds no miss
	// filter (nor any other before the first rule).
	block := tcport.BlockIndex(network)
	if got := uplinkBlock(t); got != block {
		t.Errorf("%s's ingress block = %d, want the network's block %d", hpUplink, got, block)
	}
	if diff := cmp.Diff([]string{}, filterPrefs(kernelFilters(t, network))); diff != "" {
		t.Errorf("filters in block %d before any rule (-want +got):\n%s", block, diff)
	}

	const count = 3 // datagrams per step
	step := func(name string, wantEchoes int, wantSw [2]uint64) {
		t.Helper()
		before := lab.swPort()
		echoes := lab.echo(count)
		after := lab.swPort()
		got := [2]uint64{after[0] - before[0], after[1] - before[1]}
		t.Logf("%s: %d/%d echoes, bridge port %s out of the host %d, back %d", name, echoes, count, hpSwPort, got[0], got[1])
		if echoes != wantEchoes {
			t.Errorf("%s: %d echoes of %d, want %d", name, echoes, count, wantEchoes)
		}
		if got != wantSw {
			t.Errorf("%s: bridge port %s frames out of the host / back = %d/%d, want %d/%d", name, hpSwPort, got[0], got[1], wantSw[0], wantSw[1])
		}
	}
	if err := lab.swH.SetHairpin(hpSwPort, true); err != nil {
		t.Fatal(err)
	}
	// 2. vNIC to vNIC through the external switch: each datagram and echo
	// leaves the host and comes back.
	step("no rule", count, [2]uint64{2 * count, 2 * count})

	// 3. A drop rule runs in tc on the uplink's ingress: the datagrams
	// leave and come back, and tc drops them before the macvlans.
	c, err := ofclient.Dial(ctx, "unix:"+filepath.Join(cfg.RunDir, network+".mgmt"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dropRule := fmt.Sprintf("priority=100,in_port=1,udp,udp_dst=%d,actions=drop", hpEchoPort)
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
	step("drop rule in tc", 0, [2]uint64{count, count})
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
	step("drop rule deleted", count, [2]uint64{2 * count, 2 * count})

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
	if b := uplinkBlock(t); b != 0 {
		t.Errorf("after the network's deletion %s is still bound to block %d", hpUplink, b)
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
	fs, err := d.c.Flows(context.Background(), network)
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
	fs, err := c.FlowStats(context.Background(), ofclient.AllFlows())
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
