package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/test/daemontest"
)

// TestOvsOfctlBundle drives nicflowd with `ovs-ofctl --bundle` (OpenFlow
// 1.3 with the ONF bundle extension): a bundle with a bad rule in the
// middle installs nothing and ovs-ofctl prints the rule's error and
// OFPBFC_MSG_FAILED; a good one (flows using a group the same bundle
// adds) forwards as soon as ovs-ofctl returns; a bundled delete of
// everything stops it again.
func TestOvsOfctlBundle(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	th := startTwoHosts(t)
	sw, a, b := th.sw, th.a, th.b
	h := th.hosts
	dir := t.TempDir()
	file := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flowCount := func(t *testing.T) int {
		t.Helper()
		return len(parseFlows(daemontest.MustOfctl(t, "dump-flows", sw)))
	}

	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"a bad rule in the middle: nothing installed, its error printed", func(t *testing.T) {
			bad := file("bad.txt",
				"cookie=0x1,priority=10,arp,in_port=1,actions=output:2",
				"cookie=0x2,priority=10,arp,in_port=2,actions=output:1",
				"cookie=0x99,priority=20,ip,in_port=1,actions=group:99", // no group 99
				"cookie=0x11,priority=10,ip,in_port=1,actions=output:2",
				"cookie=0x12,priority=10,ip,in_port=2,actions=output:1")
			out, err := daemontest.Ofctl("--bundle", "add-flows", sw, bad)
			if err == nil {
				t.Fatalf("--bundle add-flows with a bad rule succeeded:\n%s", out)
			}
			for _, w := range []string{"Error OFPBAC_BAD_OUT_GROUP for: ", "cookie:0x99", "Error OFPBFC_MSG_FAILED for: ", "type=COMMIT_REQUEST"} {
				if !strings.Contains(out, w) {
					t.Errorf("ovs-ofctl output lacks %q:\n%s", w, out)
				}
			}
			if n := flowCount(t); n != 0 {
				t.Fatalf("dump-flows lists %d flows after the failed bundle, want none", n)
			}
			pingFails(t, sw, h, a, b, 2)
		}},
		{"flows and the group they use in one bundle: ping works at once", func(t *testing.T) {
			good := file("good.txt",
				"group add group_id=1,type=all,bucket=output:2",
				"flow add cookie=0x1,priority=10,arp,in_port=1,actions=group:1",
				"flow add cookie=0x2,priority=10,arp,in_port=2,actions=output:1",
				"flow add cookie=0x11,priority=10,ip,in_port=1,actions=group:1",
				"flow add cookie=0x12,priority=10,ip,in_port=2,actions=output:1")
			daemontest.MustOfctl(t, "bundle", sw, good)
			for _, hh := range h {
				hh.NS.IP(t, "neigh", "flush", "all")
			}
			pingOK(t, a, b, 3)
			got := byCookie(t, parseFlows(daemontest.MustOfctl(t, "dump-flows", sw)))
			if len(got) != 4 || got[0x11].Packets != 3 || got[0x12].Packets != 3 {
				t.Errorf("dump-flows after 3 pings: %+v, want 4 flows, 3 packets each way", got)
			}
			if out := daemontest.MustOfctl(t, "dump-groups", sw); !strings.Contains(out, "group_id=1,type=all") {
				t.Errorf("dump-groups lacks group 1:\n%s", out)
			}
		}},
		{"a bundled delete: ping fails", func(t *testing.T) {
			daemontest.MustOfctl(t, "--bundle", "del-flows", sw)
			if n := flowCount(t); n != 0 {
				t.Fatalf("dump-flows lists %d flows after --bundle del-flows, want none", n)
			}
			pingFails(t, sw, h, a, b, 2)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			return
		}
	}
}
