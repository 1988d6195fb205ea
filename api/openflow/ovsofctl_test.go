package openflow

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOVSOfctl runs the real ovs-ofctl against the switch: the fastest way
// to catch encoding mistakes. It skips when ovs-ofctl is not installed.
func TestOVSOfctl(t *testing.T) {
	bin, err := exec.LookPath("ovs-ofctl")
	if err != nil {
		t.Skip("ovs-ofctl not installed")
	}
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	target := "tcp:" + addr
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"-O", "OpenFlow13"}, args...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ovs-ofctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("add-flow", target, "table=0,priority=100,in_port=1,ip,nw_dst=10.0.0.0/24,actions=output:2")
	run("add-flow", target, "table=1,priority=10,tcp,tp_dst=80,actions=set_field:00:11:22:33:44:55->eth_dst,push_vlan:0x8100,set_field:4101->vlan_vid,output:1")
	run("add-flow", target, "table=0,priority=0,actions=CONTROLLER:65535,goto_table:1")
	run("add-group", target, "group_id=1,type=all,bucket=output:1,bucket=output:2")
	run("add-meter", target, "meter=1,kbps,burst,band=type=drop,rate=1000,burst_size=100")
	run("add-flow", target, "table=2,priority=7,arp,arp_tpa=10.0.0.1,actions=meter:1,write_actions(group:1),write_metadata:0x1/0xff")
	run("packet-out", target, "in_port=controller packet=ffffffffffff0200000000010800 actions=output:1")
	run("mod-port", target, "1", "down")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"show", target}, []string{"dpid:0000000000000abc", "n_tables:4", "1(vf0): addr:02:00:00:00:00:01", "2(vf1)"}},
		{[]string{"dump-flows", target}, []string{"priority=100,ip,in_port=1,nw_dst=10.0.0.0/24 actions=output:2", "n_packets=5, n_bytes=490",
			"tcp,tp_dst=80 actions=set_field:00:11:22:33:44:55->eth_dst,push_vlan:0x8100,set_field:4101->vlan_vid,output:1",
			"priority=0 actions=CONTROLLER:65535,goto_table:1"}},
		{[]string{"dump-tables", target}, []string{"table 0", "table 3"}},
		{[]string{"dump-table-features", target}, []string{"table 0", "table 3", "max_entries=1048576"}},
		{[]string{"dump-ports-desc", target}, []string{"1(vf0): addr:02:00:00:00:00:01"}},
		{[]string{"dump-ports", target}, []string{"port  1: rx pkts=3"}},
		{[]string{"dump-aggregate", target}, []string{"flow_count=4"}},
		{[]string{"dump-desc", target}, []string{"Manufacturer: nicflow"}},
		{[]string{"dump-group-features", target}, []string{"all"}},
		{[]string{"meter-features", target}, []string{"max_meter"}},
		{[]string{"dump-groups", target}, []string{"group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2"}},
		{[]string{"dump-group-stats", target}, []string{"group_id=1"}},
		{[]string{"dump-meters", target}, []string{"meter=1 kbps burst bands=", "type=drop rate=1000 burst_size=100"}},
		{[]string{"meter-stats", target}, []string{"meter:1"}},
		{[]string{"dump-flows", target, "table=2"}, []string{"priority=7,arp,arp_tpa=10.0.0.1 actions=meter:1,write_actions(group:1),write_metadata:0x1/0xff"}},
		{[]string{"queue-get-config", target, "1"}, []string{"OFPT_QUEUE_GET_CONFIG_REPLY"}},
		{[]string{"get-frags", target}, []string{"normal"}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			out := run(tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("ovs-ofctl %s: output lacks %q:\n%s", tt.args[0], w, out)
				}
			}
			t.Logf("%s", out)
		})
	}
	if calls := strings.Join(dp.Calls(), " "); !strings.Contains(calls, "packet_out") || !strings.Contains(calls, "port_mod") {
		t.Errorf("datapath calls %q lack packet_out or port_mod", calls)
	}
	run("del-flows", target)
	if out := run("dump-flows", target); strings.Contains(out, "priority") {
		t.Errorf("flows left after del-flows:\n%s", out)
	}
}
