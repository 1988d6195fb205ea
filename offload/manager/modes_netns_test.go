//go:build linux

package manager

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/vepa"
)

// The lab of the modes test, every name starting with "md": an external
// switch (namespace mdsw, Linux bridge mdbr0 without multicast snooping)
// whose port mdsp is one end of a veth; its other end mdup, in nicflowd's
// namespace, is the hairpin network's uplink. Each vNIC goes into a VM
// namespace of its own with an address and a static neighbour (no ARP, no
// IPv6: every frame is a datagram, so counts are exact).
const (
	mdIP1, mdIP2   = "10.78.0.1", "10.78.0.2"
	mdMAC1, mdMAC2 = "02:6d:64:00:00:01", "02:6d:64:00:00:02"
)

type modesLab struct {
	t       *testing.T
	sw      *netns.NS
	swH     *vepa.Handle
	swLinks *netlink.Handle
	vms     [2]*netns.NS
	netdevs [2]string
	ips     [2]string
	macs    [2]string
}

func newModesLab(t *testing.T) *modesLab {
	t.Helper()
	lab := &modesLab{t: t, ips: [2]string{mdIP1, mdIP2}, macs: [2]string{mdMAC1, mdMAC2}}
	// nicflowd's namespace (the fresh one this test runs in): no IPv6 on
	// new devices.
	for _, k := range []string{"all", "default"} {
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k+"/disable_ipv6", []byte("1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lab.sw = lab.newNS("mdsw")
	lab.vms[0], lab.vms[1] = lab.newNS("mdvm1"), lab.newNS("mdvm2")
	lab.sw.IP(t, "link", "add", "mdbr0", "type", "bridge", "mcast_snooping", "0")
	lab.sw.IP(t, "link", "set", "mdbr0", "up")
	netns.Veth(t, "mdsp", lab.sw, "mdup", nil)
	lab.sw.IP(t, "link", "set", "mdsp", "master", "mdbr0")

	h, err := vns.GetFromName(lab.sw.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	if lab.swH, err = vepa.OpenNetNS(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.swH.Close() })
	if lab.swLinks, err = netlink.NewHandleAt(h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.swLinks.Close)
	return lab
}

func (lab *modesLab) newNS(prefix string) *netns.NS {
	ns := netns.New(lab.t, prefix)
	ns.Sysctl(lab.t, "net.ipv6.conf.all.disable_ipv6", "1")
	ns.Sysctl(lab.t, "net.ipv6.conf.default.disable_ipv6", "1")
	return ns
}

// plug moves vNIC netdev dev (in nicflowd's namespace) into VM i and
// configures it.
func (lab *modesLab) plug(i int, dev string) {
	t, vm := lab.t, lab.vms[i]
	t.Helper()
	runIP(t, "link", "set", dev, "netns", vm.Name)
	vm.Sysctl(t, "net.ipv6.conf."+dev+".disable_ipv6", "1")
	vm.Addr(t, dev, lab.ips[i]+"/24")
	vm.IP(t, "link", "set", dev, "up")
	vm.IP(t, "neigh", "replace", lab.ips[1-i], "lladdr", lab.macs[1-i], "dev", dev, "nud", "permanent")
	lab.netdevs[i] = dev
}

// unplug deletes the VMs' old vNIC devices (the VMs let them go).
func (lab *modesLab) unplug() {
	for i, vm := range lab.vms {
		vm.IP(lab.t, "link", "del", lab.netdevs[i])
	}
}

// runIP runs ip(8) in nicflowd's namespace.
func runIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// swPort is the bridge port's counters: rx, frames that left the host
// through the uplink; tx, frames the bridge sent back.
func (lab *modesLab) swPort() [2]uint64 { return bridgePortCounts(lab.t, lab.swLinks, "mdsp") }

// bridgePortCounts reads a bridge port's rx and tx packets through h (the
// external switch's namespace).
func bridgePortCounts(t *testing.T, h *netlink.Handle, port string) [2]uint64 {
	t.Helper()
	l, err := h.LinkByName(port)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Attrs().Statistics
	return [2]uint64{s.RxPackets, s.TxPackets}
}

// exchange sends count UDP datagrams from VM 1 to VM 2, which echoes
// each, and reports whether every echo arrived.
func (lab *modesLab) exchange(count int) bool {
	lab.t.Helper()
	return udpEcho(lab.t, lab.vms[0].Do, lab.vms[1].Do, mdIP1, mdIP2, 7778, count) == count
}

// udpEcho sends count UDP datagrams from ip1 (a socket opened by in1, in
// its namespace) to ip2:port (opened by in2), which echoes each, and
// returns how many echoes came back. Each datagram and echo gets 300 ms.
func udpEcho(t *testing.T, in1, in2 func(func() error) error, ip1, ip2 string, port, count int) int {
	t.Helper()
	var srv, cli *net.UDPConn
	if err := in2(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip2), Port: port})
		return err
	}); err != nil {
		t.Fatalf("listen on %s:%d: %v", ip2, port, err)
	}
	defer srv.Close()
	if err := in1(func() (err error) {
		cli, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip1)}, &net.UDPAddr{IP: net.ParseIP(ip2), Port: port})
		return err
	}); err != nil {
		t.Fatalf("dial %s:%d from %s: %v", ip2, port, ip1, err)
	}
	defer cli.Close()
	const wait = 300 * time.Millisecond
	buf := make([]byte, 64)
	echoed := 0
	for i := 0; i < count; i++ {
		if _, err := cli.Write([]byte(fmt.Sprintf("echo %d", i))); err != nil {
			t.Fatalf("send from %s: %v", ip1, err)
		}
		_ = srv.SetReadDeadline(time.Now().Add(wait))
		n, from, err := srv.ReadFromUDP(buf)
		if err != nil {
			continue
		}
		if _, err := srv.WriteToUDP(buf[:n], from); err != nil {
			t.Fatalf("echo from %s: %v", ip2, err)
		}
		_ = cli.SetReadDeadline(time.Now().Add(wait))
		if _, err := cli.Read(buf); err == nil {
			echoed++
		}
	}
	return echoed
}

// ofPorts is the REST port counters of network name: "NO rx/tx".
func (d *daemon) ofPorts(name string) map[uint32][2]uint64 {
	d.t.Helper()
	ps, err := d.c.Ports(context.Background(), name)
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
// path: the OpenFlow port counters move, the bridge port's do not.
func TestModesHairpinToHostOverREST(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	lab := newModesLab(t)
	d, cfg := startStateDaemon(t)
	ctx := context.Background()

	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "mdhp", Mode: "hairpin", Uplink: "mdup"})
	if err != nil {
		t.Fatalf("create hairpin network: %v", err)
	}
	if n.VNICType != rest.VNICTypeMacvlan || n.Status.SwitchingPoint != rest.SwitchExternal || n.Status.Offload != "off" {
		t.Errorf("hairpin network: vnic_type %q, switching %q, offload %q; want macvlan, external, off",
			n.VNICType, n.Status.SwitchingPoint, n.Status.Offload)
	}
	for i, id := range []string{"a", "b"} {
		v, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: id, Network: "mdhp", MAC: lab.macs[i]})
		if err != nil {
			t.Fatalf("attach %s: %v", id, err)
		}
		mv, err := vepa.Macvlan(v.Netdev)
		if err != nil || mv.Mode != vepa.MacvlanVEPA || mv.Parent != "mdup" || mv.MAC.String() != lab.macs[i] {
			t.Fatalf("vNIC %s netdev %s = %+v, %v; want a VEPA macvlan on mdup with MAC %s", id, v.Netdev, mv, err, lab.macs[i])
		}
		lab.plug(i, v.Netdev)
	}
	if diff := cmp.Diff([]string{"1 mdup"}, d.portNames("mdhp")); diff != "" {
		t.Errorf("hairpin network's OpenFlow ports (-want +got):\n%s", diff)
	}
	metrics, err := d.c.Metrics(ctx)
	if err != nil || !strings.Contains(metrics, `nicflow_network_info{network="mdhp",mode="hairpin",switching="external"} 1`) {
		t.Errorf("metrics lack the hairpin network's info (%v):\n%s", err, metrics)
	}

	const count = 3 // datagrams per step, each echoed
	step := func(name string, wantReach bool, wantSw [2]uint64) {
		t.Helper()
		before := lab.swPort()
		reached := lab.exchange(count)
		after := lab.swPort()
		got := [2]uint64{after[0] - before[0], after[1] - before[1]}
		t.Logf("%s: reached=%v, bridge port mdsp out of the host %d, back %d", name, reached, got[0], got[1])
		if reached != wantReach {
			t.Errorf("%s: VM 1 reached VM 2: %v, want %v", name, reached, wantReach)
		}
		if got != wantSw {
			t.Errorf("%s: bridge port mdsp frames out of the host / back = %d/%d, want %d/%d", name, got[0], got[1], wantSw[0], wantSw[1])
		}
	}
	setHairpin := func(on bool) {
		t.Helper()
		if err := lab.swH.SetHairpin("mdsp", on); err != nil {
			t.Fatal(err)
		}
	}
	setHairpin(true)
	step("hairpin mode, bridge port hairpin on", true, [2]uint64{2 * count, 2 * count})
	setHairpin(false)
	step("hairpin mode, bridge port hairpin off", false, [2]uint64{count, 0})
	setHairpin(true)

	// PUT mode host: the same vNICs become veths on their reserved port
	// numbers; the VMs let their old devices go and get the new ones.
	n, err = d.c.UpdateNetwork(ctx, "mdhp", rest.NetworkSpec{Name: "mdhp", Mode: "host", Uplink: "mdup"})
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
	if diff := cmp.Diff([]string{"1 mdup", "2 nfh-a", "3 nfh-b"}, d.portNames("mdhp")); diff != "" {
		t.Errorf("host network's OpenFlow ports (-want +got):\n%s", diff)
	}
	lab.unplug()
	for i, id := range []string{"a", "b"} {
		v, err := d.c.VNIC(ctx, id)
		if err != nil || v.OFPort != uint32(i+2) || v.Netdev != "nfv-"+id {
			t.Fatalf("vnic %s after PUT = %+v, %v; want nfv-%s on port %d", id, v, err, id, i+2)
		}
		lab.plug(i, v.Netdev)
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
	ofBefore := d.ofPorts("mdhp")
	step("host mode, through nicflow's fast path", true, [2]uint64{0, 0})
	// The fast path counts a frame it sent after the send returns, so the
	// receiver may see the last echo before its port's tx count: wait a
	// little for the counts to settle.
	var ofAfter map[uint32][2]uint64
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ofAfter = d.ofPorts("mdhp")
		settled := true
		for _, no := range []uint32{2, 3} {
			settled = settled && ofAfter[no][0]-ofBefore[no][0] >= count && ofAfter[no][1]-ofBefore[no][1] >= count
		}
		if settled || time.Now().After(deadline) {
			break
		}
	}
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
