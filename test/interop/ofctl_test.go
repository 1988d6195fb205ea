package interop

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/test/daemontest"
)

// TestOvsOfctl drives nicflowd (fail-mode secure, passive TCP listener) with
// ovs-ofctl and checks after every change that pings between two namespaces
// follow the flow table, and that the counters are exact.
func TestOvsOfctl(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	th := startTwoHosts(t)
	d, sw, a, b := th.d, th.sw, th.a, th.b
	h := th.hosts

	flows := func(t *testing.T) map[uint64]flowStat {
		t.Helper()
		return byCookie(t, parseFlows(daemontest.MustOfctl(t, "dump-flows", sw)))
	}
	addFlows := func(t *testing.T, specs ...string) {
		t.Helper()
		for _, s := range specs {
			daemontest.MustOfctl(t, "add-flow", sw, s)
		}
	}
	wantPackets := func(t *testing.T, got map[uint64]flowStat, cookie, packets, bytes uint64) {
		t.Helper()
		f, ok := got[cookie]
		if !ok {
			t.Fatalf("no flow with cookie %#x in dump-flows", cookie)
		}
		if f.Packets != packets || f.Bytes != bytes {
			t.Errorf("flow %#x: n_packets=%d n_bytes=%d, want n_packets=%d n_bytes=%d\n%s",
				cookie, f.Packets, f.Bytes, packets, bytes, f.Line)
		}
	}

	// Each step builds on the one before; stop at the first failure.
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"no flows: ping fails", func(t *testing.T) {
			if got := flows(t); len(got) != 0 {
				t.Fatalf("dump-flows on a fresh switch lists %d flows, want none", len(got))
			}
			pingFails(t, sw, h, a, b, 2)
		}},
		{"allow flows: ping works, counters exact", func(t *testing.T) {
			addFlows(t,
				"cookie=0x1,priority=10,arp,in_port=1,actions=output:2",
				"cookie=0x2,priority=10,arp,in_port=2,actions=output:1",
				"cookie=0x11,priority=10,ip,in_port=1,actions=output:2",
				"cookie=0x12,priority=10,ip,in_port=2,actions=output:1",
			)
			// The failed pings left echo requests queued behind unresolved
			// ARP entries; they would be sent (and counted) on resolution.
			for _, hh := range h {
				hh.NS.IP(t, "neigh", "flush", "all")
			}
			pingOK(t, a, b, 5)
			got := flows(t)
			if len(got) != 4 {
				t.Errorf("dump-flows lists %d flows, want 4", len(got))
			}
			// 5 echo requests and 5 replies of 98 bytes (14 + 20 + 8 + 56).
			wantPackets(t, got, 0x11, 5, 490)
			wantPackets(t, got, 0x12, 5, 490)
			if got[0x1].Packets == 0 {
				t.Errorf("ARP flow 0x1 counted no packets: %s", got[0x1].Line)
			}
		}},
		{"higher-priority icmp drop: ping fails", func(t *testing.T) {
			addFlows(t, "cookie=0x30,priority=20,icmp,actions=drop")
			pingFails(t, sw, h, a, b, 2)
			got := flows(t)
			wantPackets(t, got, 0x30, 2, 196)
			wantPackets(t, got, 0x11, 5, 490)
		}},
		{"del-flows --strict of the drop: ping works", func(t *testing.T) {
			daemontest.MustOfctl(t, "del-flows", "--strict", sw, "priority=20,icmp")
			got := flows(t)
			if f, ok := got[0x30]; ok {
				t.Fatalf("drop flow still there after del-flows --strict: %s", f.Line)
			}
			if len(got) != 4 {
				t.Fatalf("dump-flows lists %d flows after del-flows --strict, want 4", len(got))
			}
			pingOK(t, a, b, 3)
			wantPackets(t, flows(t), 0x11, 8, 784)
		}},
		{"mod-flows to drop and back", func(t *testing.T) {
			daemontest.MustOfctl(t, "mod-flows", sw, "ip,in_port=1,actions=drop")
			pingFails(t, sw, h, a, b, 2)
			daemontest.MustOfctl(t, "mod-flows", sw, "ip,in_port=1,actions=output:2")
			pingOK(t, a, b, 2)
			// OpenFlow 1.3 keeps a modified flow's counters.
			wantPackets(t, flows(t), 0x11, 12, 12*98)
		}},
		{"add-group type=all and a flow through it", func(t *testing.T) {
			daemontest.MustOfctl(t, "add-group", sw, "group_id=1,type=all,bucket=output:2")
			out := daemontest.MustOfctl(t, "dump-groups", sw)
			if !strings.Contains(out, "group_id=1,type=all") || !strings.Contains(out, "output:2") {
				t.Fatalf("dump-groups does not show group 1 (type=all, output:2):\n%s", out)
			}
			daemontest.MustOfctl(t, "mod-flows", sw, "ip,in_port=1,actions=group:1")
			if f := flows(t)[0x11]; !strings.Contains(f.Line, "group:1") {
				t.Fatalf("flow 0x11 does not output to group 1: %s", f.Line)
			}
			pingOK(t, a, b, 2)
		}},
		{"add-meter and dump-meters", func(t *testing.T) {
			daemontest.MustOfctl(t, "add-meter", sw, "meter=1,pktps,band=type=drop,rate=1000")
			out := daemontest.MustOfctl(t, "dump-meters", sw)
			if !strings.Contains(out, "meter=1") || !strings.Contains(out, "rate=1000") {
				t.Fatalf("dump-meters does not show meter 1 (rate=1000):\n%s", out)
			}
		}},
		{"dump-ports counts traffic", func(t *testing.T) {
			out := daemontest.MustOfctl(t, "dump-ports", sw)
			for _, p := range []int{1, 2} {
				rx, tx := portCounters(t, out, p)
				if rx == 0 || tx == 0 {
					t.Errorf("port %d: rx pkts=%d tx pkts=%d, want both > 0\n%s", p, rx, tx, out)
				}
			}
		}},
		{"dump-ports-desc names the ports in --port order", func(t *testing.T) {
			out := daemontest.MustOfctl(t, "dump-ports-desc", sw)
			for i, hh := range h {
				if want := fmt.Sprintf(" %d(%s)", i+1, hh.Port); !strings.Contains(out, want) {
					t.Errorf("dump-ports-desc lacks %q:\n%s", want, out)
				}
			}
		}},
		{"dump-tables", func(t *testing.T) {
			out := daemontest.MustOfctl(t, "dump-tables", sw)
			if !strings.Contains(out, "table 0") {
				t.Errorf("dump-tables does not show table 0:\n%s", out)
			}
		}},
		{"management socket and nicflowctl show the same flows", func(t *testing.T) {
			want := len(flows(t))
			if got := len(parseFlows(daemontest.MustOfctl(t, "dump-flows", d.Mgmt()))); got != want {
				t.Errorf("dump-flows on %s lists %d flows, want %d", d.Mgmt(), got, want)
			}
			out := mustRun(t, daemontest.Bin("nicflowctl"), "flows", d.Network, "--run-dir", d.RunDir)
			if got := len(parseFlows(out)); got != want {
				t.Errorf("nicflowctl flows lists %d flows (lines with n_packets), want %d:\n%s", got, want, out)
			}
		}},
		{"del-flows: ping fails again", func(t *testing.T) {
			daemontest.MustOfctl(t, "del-flows", sw)
			if got := flows(t); len(got) != 0 {
				t.Fatalf("dump-flows lists %d flows after del-flows, want none", len(got))
			}
			pingFails(t, sw, h, a, b, 2)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			break
		}
	}
}

var portRE = regexp.MustCompile(`(?m)port\s+(\S+): rx pkts=(\d+).*\n\s+tx pkts=(\d+)`)

// portCounters finds port p's rx and tx packet counts in dump-ports output.
func portCounters(t *testing.T, out string, p int) (rx, tx uint64) {
	t.Helper()
	for _, m := range portRE.FindAllStringSubmatch(out, -1) {
		if strings.Trim(m[1], `"`) == strconv.Itoa(p) {
			rx, _ = strconv.ParseUint(m[2], 10, 64)
			tx, _ = strconv.ParseUint(m[3], 10, 64)
			return rx, tx
		}
	}
	t.Fatalf("port %d not in dump-ports output:\n%s", p, out)
	return 0, 0
}
