package interop

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/test/daemontest"
)

// TestOvsOfctlMPLSAndTTL drives nicflowd's control plane with ovs-ofctl -O
// OpenFlow13 for what issue 12 added: flows matching mpls_label, mpls_tc
// and mpls_bos, with push_mpls, pop_mpls, set_mpls_ttl, dec_mpls_ttl,
// set_field of the MPLS fields, mod_nw_ttl and dec_ttl, in apply-actions,
// write-actions and group buckets, are installed and dumped back as
// written; what the switch must refuse comes back as the OpenFlow error;
// TABLE_FEATURES and GROUP_FEATURES list the actions and fields.
func TestOvsOfctlMPLSAndTTL(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	th := startTwoHosts(t)
	sw := th.sw

	daemontest.MustOfctl(t, "add-group", sw, "group_id=7,type=all,bucket=pop_mpls:0x0800,output:2,bucket=push_mpls:0x8848,set_field:5->mpls_label,output:1")

	// Each flow as ovs-ofctl adds it, and the match and actions ovs-ofctl
	// prints when it dumps what nicflowd sends back.
	flows := []struct {
		cookie        uint64
		add           string
		match, action string
	}{
		{0x101, "table=0,priority=10,mpls,mpls_label=100,mpls_tc=5,mpls_bos=1,actions=pop_mpls:0x0800,goto_table:1",
			"priority=10,mpls,mpls_label=100,mpls_tc=5,mpls_bos=1", "actions=pop_mpls:0x0800,goto_table:1"},
		{0x102, "table=0,priority=10,mplsm,mpls_bos=0,actions=pop_mpls:0x8847,dec_mpls_ttl,set_mpls_ttl:9,output:2",
			"priority=10,mplsm,mpls_bos=0", "actions=pop_mpls:0x8847,dec_mpls_ttl,set_mpls_ttl(9),output:2"},
		{0x103, "table=0,priority=20,ip,in_port=1,actions=push_mpls:0x8847,set_field:100->mpls_label,set_field:3->mpls_tc,set_mpls_ttl:63,output:2",
			"priority=20,ip,in_port=1", "actions=push_mpls:0x8847,set_field:100->mpls_label,set_field:3->mpls_tc,set_mpls_ttl(63),output:2"},
		{0x104, "table=1,priority=10,ip,actions=dec_ttl,mod_nw_ttl:5,output:1",
			"priority=10,ip", "actions=dec_ttl,mod_nw_ttl:5,output:1"},
		{0x105, "table=0,priority=5,mpls,actions=write_actions(pop_mpls:0x0800,set_field:10.0.0.1->ip_dst,output:2)",
			"priority=5,mpls", "actions=write_actions("},
		{0x106, "table=0,priority=6,mpls,mpls_label=200,actions=group:7",
			"priority=6,mpls,mpls_label=200", "actions=group:7"},
		{0x107, "table=2,priority=7,ipv6,actions=mod_nw_ttl:1,push_mpls:0x8848,dec_mpls_ttl,output:1",
			"priority=7,ipv6", "actions=mod_nw_ttl:1,push_mpls:0x8848,dec_mpls_ttl,output:1"},
	}
	for _, f := range flows {
		daemontest.MustOfctl(t, "add-flow", sw, fmt.Sprintf("cookie=%#x,%s", f.cookie, f.add))
	}
	got := byCookie(t, parseFlows(daemontest.MustOfctl(t, "dump-flows", sw)))
	if len(got) != len(flows) {
		t.Errorf("dump-flows lists %d flows, want %d", len(got), len(flows))
	}
	for _, f := range flows {
		line, ok := got[f.cookie]
		if !ok {
			t.Errorf("flow %#x (%s) not in dump-flows", f.cookie, f.add)
			continue
		}
		if !strings.Contains(line.Line, f.match+" ") || !strings.Contains(line.Line, f.action) {
			t.Errorf("flow %#x dumped as\n%s\nwant match %q and %q", f.cookie, line.Line, f.match, f.action)
		}
	}
	if line := got[0x105].Line; !strings.Contains(line, "pop_mpls:0x0800") || !strings.Contains(line, "set_field:10.0.0.1->ip_dst") {
		t.Errorf("write-actions flow dumped as %s", line)
	}
	groups := daemontest.MustOfctl(t, "dump-groups", sw)
	if !strings.Contains(groups, "bucket=actions=pop_mpls:0x0800,output:2") ||
		!strings.Contains(groups, "push_mpls:0x8848,set_field:5->mpls_label,output:1") {
		t.Errorf("dump-groups:\n%s", groups)
	}

	// What nicflowd refuses (ovs-ofctl itself lets these through).
	refused := []struct {
		add, err string
	}{
		// The bottom label popped to an MPLS ethertype.
		{"mpls,mpls_bos=1,actions=pop_mpls:0x8847,output:2", "OFPBAC_MATCH_INCONSISTENT"},
		// push_mpls with a non-MPLS ethertype.
		{"ip,actions=push_mpls:0x0800,output:2", "OFPBAC_BAD_ARGUMENT"},
	}
	for _, r := range refused {
		out, err := daemontest.Ofctl("add-flow", sw, r.add)
		if err == nil {
			t.Errorf("add-flow %s: accepted, want %s", r.add, r.err)
			continue
		}
		if r.err != "" && !strings.Contains(out, r.err) {
			t.Errorf("add-flow %s: %v\n%s\nwant %s", r.add, err, out, r.err)
		}
	}
	if n := len(parseFlows(daemontest.MustOfctl(t, "dump-flows", sw))); n != len(flows) {
		t.Errorf("after the refused flows dump-flows lists %d flows, want %d", n, len(flows))
	}

	// TABLE_FEATURES and GROUP_FEATURES as ovs-ofctl shows them.
	tf := daemontest.MustOfctl(t, "dump-table-features", sw)
	// ovs-ofctl names only the fields and actions Open vSwitch knows (not
	// pbb_isid, ipv6_exthdr, in_phy_port, copy_ttl_*, push_pbb, pop_pbb).
	for _, want := range []string{
		"actions: output group set_field strip_vlan push_vlan mod_nw_ttl dec_ttl set_mpls_ttl dec_mpls_ttl push_mpls pop_mpls set_queue",
		"supported on Set-Field: tun_id eth_{src,dst,type} vlan_{vid,pcp} mpls_{label,tc,bos} ",
		"exact match or wildcard: in_port_oxm eth_type vlan_pcp mpls_{label,tc,bos} ",
	} {
		if !strings.Contains(tf, want) {
			t.Errorf("dump-table-features does not say %q", want)
		}
	}
	gf := daemontest.MustOfctl(t, "dump-group-features", sw)
	for _, want := range []string{"push_mpls", "pop_mpls", "dec_mpls_ttl"} {
		if !strings.Contains(gf, want) {
			t.Errorf("dump-group-features does not mention %s:\n%s", want, gf)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("dump-table-features:\n%s", tf)
		t.Logf("dump-flows:\n%s\ndump-group-features:\n%s", daemontest.MustOfctl(t, "dump-flows", sw), gf)
	}
}

// TestOsKenPBBAndCopyTTL sends nicflowd, over its passive listener, the
// flow mods of issue 12 that ovs-ofctl cannot express (PBB, copy TTL,
// ipv6_exthdr, in_phy_port, set_field eth_type, ip_proto and mpls_bos) and
// values it must refuse,
// built by os-ken's OpenFlow 1.3 encoder (testdata/of13_pbb_ttl.py), and
// reads the accepted ones back with a flow stats request.
func TestOsKenPBBAndCopyTTL(t *testing.T) {
	daemontest.Require(t, "ping")
	if out, err := exec.Command(debianPython, "-c", "import os_ken").CombinedOutput(); err != nil {
		if daemontest.InCI() {
			t.Fatalf("%s cannot import os_ken (python3-os-ken): %v\n%s", debianPython, err, out)
		}
		t.Skipf("%s cannot import os_ken (install python3-os-ken): %v", debianPython, err)
	}
	th := startTwoHosts(t)
	port := th.port
	out, err := exec.Command(debianPython, filepath.Join("testdata", "of13_pbb_ttl.py"), "127.0.0.1", fmt.Sprint(port)).CombinedOutput()
	if err != nil {
		t.Errorf("of13_pbb_ttl.py: %v", err)
	}
	if err != nil || testing.Verbose() {
		t.Logf("of13_pbb_ttl.py:\n%s", out)
	}
	ok := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "ok ") {
			ok++
		}
	}
	if ok < 34 {
		t.Errorf("of13_pbb_ttl.py reported %d cases ok, want 34", ok)
	}
}
