package smoke

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// TestModulesLoaded checks that init loaded the modules the offload tests
// rely on (the VM has no modprobe, so nothing is loaded on demand).
func TestModulesLoaded(t *testing.T) {
	vmtest.Require(t)
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatalf("read /proc/modules: %v", err)
	}
	loaded := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			loaded[f[0]] = true
		}
	}
	for _, m := range []string{
		"cls_flower", "act_gact", "act_mirred", "act_vlan", "act_pedit", "act_csum",
		"act_police", "act_tunnel_key", "sch_ingress", "veth", "8021q", "psample",
		"vxlan", "bridge", "macvlan", "dummy", "netdevsim",
	} {
		if !loaded[m] {
			t.Errorf("module %s is not loaded", m)
		}
	}
}

// TestFlowerOverNetlink adds a flower filter with a gact drop action to the
// ingress qdisc of a veth and reads it back.
func TestFlowerOverNetlink(t *testing.T) {
	vmtest.Require(t)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vmsmk0"}, PeerName: "vmsmk1"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(veth); err != nil {
			t.Errorf("delete veth: %v", err)
		}
	})
	link, err := netlink.LinkByName("vmsmk0")
	if err != nil {
		t.Fatalf("veth: %v", err)
	}
	qdisc := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: link.Attrs().Index,
		Handle:    netlink.MakeHandle(0xffff, 0),
		Parent:    netlink.HANDLE_INGRESS,
	}}
	if err := netlink.QdiscAdd(qdisc); err != nil {
		t.Fatalf("add ingress qdisc: %v", err)
	}
	proto := nl.IPProto(unix.IPPROTO_UDP)
	want := &netlink.Flower{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: link.Attrs().Index,
			Parent:    netlink.HANDLE_MIN_INGRESS,
			Priority:  10,
			Protocol:  unix.ETH_P_IP,
		},
		EthType:  unix.ETH_P_IP,
		DestIP:   net.IPv4(192, 0, 2, 1).To4(),
		IPProto:  &proto,
		DestPort: 4789,
		Actions: []netlink.Action{&netlink.GenericAction{
			ActionAttrs: netlink.ActionAttrs{Action: netlink.TC_ACT_SHOT},
		}},
	}
	if err := netlink.FilterAdd(want); err != nil {
		t.Fatalf("add flower filter: %v", err)
	}
	filters, err := netlink.FilterList(link, netlink.HANDLE_MIN_INGRESS)
	if err != nil {
		t.Fatalf("list filters: %v", err)
	}
	if len(filters) != 1 {
		t.Fatalf("got %d filters, want 1: %+v", len(filters), filters)
	}
	got, ok := filters[0].(*netlink.Flower)
	if !ok {
		t.Fatalf("filter is a %s (%T), want flower", filters[0].Type(), filters[0])
	}
	type key struct {
		EthType  uint16
		DestIP   string
		IPProto  nl.IPProto
		DestPort uint16
		Actions  []string
	}
	summary := func(f *netlink.Flower) key {
		k := key{EthType: f.EthType, DestIP: f.DestIP.String(), DestPort: f.DestPort}
		if f.IPProto != nil {
			k.IPProto = *f.IPProto
		}
		for _, a := range f.Actions {
			k.Actions = append(k.Actions, a.Type()+":"+a.Attrs().Action.String())
		}
		return k
	}
	if diff := cmp.Diff(summary(want), summary(got)); diff != "" {
		t.Errorf("flower filter read back (-want +got):\n%s", diff)
	}
}

// TestNetdevsimSwitchdev creates a netdevsim device with 4 VFs, moves it to
// switchdev mode over devlink and finds one representor per VF on the PF's
// switch.
func TestNetdevsimSwitchdev(t *testing.T) {
	vmtest.Require(t)
	const vfs = 4
	n := vmtest.NewNetdevsim(t, 10, vfs)
	if got := n.EswitchMode(t); got != "legacy" {
		t.Errorf("eswitch mode after creation = %q, want legacy", got)
	}
	n.SetSwitchdev(t)
	if got := n.EswitchMode(t); got != "switchdev" {
		t.Errorf("eswitch mode = %q, want switchdev", got)
	}
	switchID := n.SwitchID(t)
	reps := n.Representors(t)
	if len(reps) != vfs {
		t.Fatalf("got %d representors, want %d", len(reps), vfs)
	}
	var gotPorts []string
	for _, name := range reps {
		port, err := os.ReadFile("/sys/class/net/" + name + "/phys_port_name")
		if err != nil {
			t.Fatalf("representor %s: %v", name, err)
		}
		gotPorts = append(gotPorts, strings.TrimSpace(string(port)))
		sid, err := os.ReadFile("/sys/class/net/" + name + "/phys_switch_id")
		if err != nil || strings.TrimSpace(string(sid)) != switchID {
			t.Errorf("representor %s phys_switch_id = %q (%v), want the PF's %q", name, sid, err, switchID)
		}
	}
	if diff := cmp.Diff([]string{"pf0vf0", "pf0vf1", "pf0vf2", "pf0vf3"}, gotPorts); diff != "" {
		t.Errorf("representor port names (-want +got):\n%s", diff)
	}
	vfPorts := 0
	for _, p := range n.DevlinkPorts(t) {
		if p.Flavour == unix.DEVLINK_PORT_FLAVOUR_PCI_VF {
			vfPorts++
		}
	}
	if vfPorts != vfs {
		t.Errorf("devlink ports of flavour pcivf = %d, want %d", vfPorts, vfs)
	}
}

// TestPackedTools runs the debugging tools test/vm/run.sh packs with
// NICFLOW_VM_TOOLS=1, proving their libraries came along; without them it
// skips.
func TestPackedTools(t *testing.T) {
	vmtest.Require(t)
	if _, err := os.Stat("/bin/tc"); err != nil {
		t.Skip("tools not packed (NICFLOW_VM_TOOLS=1 packs them)")
	}
	for _, args := range [][]string{
		{"ip", "-V"}, {"tc", "-V"}, {"devlink", "-V"}, {"bridge", "-V"}, {"ovs-ofctl", "--version"},
	} {
		path := "/bin/" + args[0]
		if _, err := os.Stat(path); err != nil {
			t.Logf("%s not packed", args[0])
			continue
		}
		out, err := exec.Command(path, args[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestFailOnDemand fails when NICFLOW_SMOKE_FAIL=1 and skips otherwise: run
// 'NICFLOW_VM_APPEND=nicflow.env=NICFLOW_SMOKE_FAIL=1 test/vm/run.sh' to see
// the harness report a failed package and exit non-zero.
func TestFailOnDemand(t *testing.T) {
	vmtest.Require(t)
	if os.Getenv("NICFLOW_SMOKE_FAIL") != "1" {
		t.Skip("NICFLOW_SMOKE_FAIL is not 1")
	}
	t.Error("failing on demand (NICFLOW_SMOKE_FAIL=1)")
}
