package manager

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// The tests in this file run nicflowd's hardware tiers on the VM's
// simulated SmartNIC (test/vm/netdevsim): a netdevsim device in switchdev
// mode whose PF and VF representors take tc flower filters the way mlx5
// does, with hardware counters the test sets through debugfs. Rules come
// from ovs-ofctl, over the network's management socket.

// smartNIC is a network "snic" of the four representors of a simulated
// SmartNIC, ports 1..4.
type smartNIC struct {
	n    *network
	reps []string
	logs *observer.ObservedLogs
}

// switchdevReps creates netdevsim device id with vfs VFs in switchdev
// mode and returns its VF representors, up.
func switchdevReps(t *testing.T, id, vfs int) []string {
	t.Helper()
	dev := vmtest.NewNetdevsim(t, id, vfs)
	dev.SetSwitchdev(t)
	reps := dev.Representors(t)
	if len(reps) != vfs {
		t.Fatalf("representors %v, want %d", reps, vfs)
	}
	for _, r := range reps {
		l, err := netlink.LinkByName(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatalf("set %s up: %v", r, err)
		}
	}
	return reps
}

func newSmartNIC(t *testing.T, id int, policy string) *smartNIC {
	t.Helper()
	vmtest.Require(t)
	reps := switchdevReps(t, id, 4)
	core, logs := observer.New(zap.InfoLevel)
	n, stop := runNetwork(t, rest.NetworkSpec{Name: "snic", Ports: reps, Offload: policy}, t.TempDir(), zap.New(core))
	t.Cleanup(stop)
	return &smartNIC{n: n, reps: reps, logs: logs}
}

// ofctl runs ovs-ofctl -O OpenFlow13 CMD on the network's management
// socket, then ARGS, and returns its output.
func (s *smartNIC) ofctl(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	var target string
	for _, a := range s.n.sw.Addrs() {
		if a.Network() == "unix" && filepath.Ext(a.String()) == ".mgmt" {
			target = "unix:" + a.String()
		}
	}
	return ovsOfctl(t, target, cmd, args...)
}

// ovsOfctl runs ovs-ofctl -O OpenFlow13 CMD TARGET ARGS... and returns its
// output (ovs-ofctl waits for a barrier after flow changes).
func ovsOfctl(t *testing.T, target, cmd string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("ovs-ofctl")
	if err != nil {
		t.Fatalf("ovs-ofctl is not in the VM (test/vm/run.sh packs it): %v", err)
	}
	out, err := exec.Command(bin, append([]string{"-O", "OpenFlow13", cmd, target}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ovs-ofctl %s %s: %v: %s", cmd, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var dumpCounters = regexp.MustCompile(`cookie=(0x[0-9a-f]+),.* n_packets=(\d+), n_bytes=(\d+)`)

// counters returns n_packets and n_bytes of the rule with cookie, as
// ovs-ofctl dump-flows shows them.
func (s *smartNIC) counters(t *testing.T, cookie uint64) (packets, bytes uint64) {
	t.Helper()
	out := s.ofctl(t, "dump-flows")
	for _, line := range strings.Split(out, "\n") {
		m := dumpCounters.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if c, _ := strconv.ParseUint(m[1], 0, 64); c == cookie {
			p, _ := strconv.ParseUint(m[2], 10, 64)
			b, _ := strconv.ParseUint(m[3], 10, 64)
			return p, b
		}
	}
	t.Fatalf("dump-flows has no rule with cookie %#x:\n%s", cookie, out)
	return 0, 0
}

// flow returns the FlowStat of the rule with cookie.
func (s *smartNIC) flow(t *testing.T, cookie uint64) offload.FlowStat {
	t.Helper()
	for _, fs := range s.n.net.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}) {
		if fs.Flow.Cookie == cookie {
			return fs
		}
	}
	t.Fatalf("no rule with cookie %#x", cookie)
	return offload.FlowStat{}
}

// held returns the action cookie of each filter representor rep holds, by
// the flow it is for.
func held(t *testing.T, rep string) map[uint64][]byte {
	t.Helper()
	fs, err := vmtest.SmartNICFilters(rep)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64][]byte{}
	for _, f := range fs {
		c, ok := tcflower.ParseCookie(f.Cookie)
		if !ok {
			t.Errorf("%s holds a filter that is not nicflow's: cookie %x", rep, f.Cookie)
			continue
		}
		out[c.FlowID] = f.Cookie
	}
	return out
}

// setHW sets the device's counters of flow id's filter on rep (wire
// packets and bytes, cumulative).
func setHW(t *testing.T, rep string, id uint64, packets, wireBytes uint64) {
	t.Helper()
	cookie, ok := held(t, rep)[id]
	if !ok {
		t.Fatalf("%s holds no filter of flow %d", rep, id)
	}
	if err := vmtest.SetSmartNICCounters(rep, cookie, packets, wireBytes, 0); err != nil {
		t.Fatal(err)
	}
}

func (s *smartNIC) checkPlacement(t *testing.T) {
	t.Helper()
	if err := s.n.net.CheckPlacement(); err != nil {
		t.Errorf("placement rules broken:\n%v", err)
	}
}

func TestSmartNICHardwareRulesOnTheirRepresentors(t *testing.T) {
	s := newSmartNIC(t, 40, "hw")
	s.ofctl(t, "add-flow", "cookie=0xa1,priority=20,in_port=1,ip,nw_dst=10.0.0.2,actions=output:2")
	s.ofctl(t, "add-flow", "cookie=0xb2,priority=10,udp,actions=output:3")
	s.checkPlacement(t)
	a, b := s.flow(t, 0xa1), s.flow(t, 0xb2)
	for _, c := range []struct {
		fs      offload.FlowStat
		filters int
	}{{a, 1}, {b, 4}} {
		if c.fs.Tier != offload.TierHW || c.fs.Reason != "" || c.fs.Filters != c.filters {
			t.Errorf("rule %#x: tier %s (%q), %d filters; want hw with %d", c.fs.Flow.Cookie, c.fs.Tier, c.fs.Reason, c.fs.Filters, c.filters)
		}
	}
	// Each rule is on the representors it applies to: A on port 1 only,
	// B (no in_port) on all four; the device holds exactly those.
	for i, rep := range s.reps {
		got := held(t, rep)
		_, hasA := got[a.Flow.ID]
		_, hasB := got[b.Flow.ID]
		if hasA != (i == 0) || !hasB || len(got) != 1+btoi(i == 0) {
			t.Errorf("%s (port %d) holds flows %v; want B%s", rep, i+1, keys(got), map[bool]string{true: " and A", false: ""}[i == 0])
		}
	}
	// In the kernel: skip_sw, in_hw, no indev.
	for _, d := range kernelFilters(t, "snic", s.reps...) {
		if c, _ := tcflower.ParseCookie(d.Filter.Cookie); c.FlowID == 0 {
			continue // a miss filter
		}
		if d.Filter.Flags&tcflower.FlagSkipSW == 0 || !d.Installed.InHW || d.Filter.Keys.Indev != "" {
			t.Errorf("filter %s: flags %v in_hw %v indev %q, want skip_sw, in_hw and no indev", d.Filter.String(), d.Filter.Flags, d.Installed.InHW, d.Filter.Keys.Indev)
		}
	}

	// Hardware counters show up exactly in dump-flows: the device counts
	// bytes without the Ethernet header, the merge adds it back.
	setHW(t, s.reps[0], a.Flow.ID, 5, 5*100)
	setHW(t, s.reps[1], b.Flow.ID, 3, 3*80)
	setHW(t, s.reps[3], b.Flow.ID, 2, 2*80)
	wantCounts(t, s, 0xa1, 5, 500)
	wantCounts(t, s, 0xb2, 5, 400)

	// A replace (modify) starts a new filter in the device: the rule keeps
	// what the old one counted.
	s.ofctl(t, "mod-flows", "--strict", "cookie=0xa1,priority=20,in_port=1,ip,nw_dst=10.0.0.2,actions=output:4")
	wantCounts(t, s, 0xa1, 5, 500)
	setHW(t, s.reps[0], a.Flow.ID, 2, 2*100)
	wantCounts(t, s, 0xa1, 7, 700)

	// A demotion (a higher overlapping rule that runs in the fast path)
	// takes the filter out of the device; what it counted up to its
	// removal stays, read from the device when it went.
	setHW(t, s.reps[0], a.Flow.ID, 4, 4*100) // 2 more packets, not read yet
	s.ofctl(t, "add-flow", "cookie=0xc3,priority=30,in_port=1,ip,actions=CONTROLLER:128")
	s.checkPlacement(t)
	if fs := s.flow(t, 0xa1); fs.Tier != offload.TierSoft || !strings.Contains(fs.Reason, "priority 30") {
		t.Errorf("after the controller rule: A in %s (%q), want soft, shadowed by priority 30", fs.Tier, fs.Reason)
	}
	if _, ok := held(t, s.reps[0])[a.Flow.ID]; ok {
		t.Errorf("%s still holds A's filter after its demotion", s.reps[0])
	}
	wantCounts(t, s, 0xa1, 9, 900)
}

func wantCounts(t *testing.T, s *smartNIC, cookie, packets, bytes uint64) {
	t.Helper()
	if p, b := s.counters(t, cookie); p != packets || b != bytes {
		t.Errorf("dump-flows cookie=%#x: n_packets=%d n_bytes=%d, want %d and %d", cookie, p, b, packets, bytes)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func keys(m map[uint64][]byte) []uint64 {
	var out []uint64
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSmartNICAutoPartialAcceptance(t *testing.T) {
	s := newSmartNIC(t, 41, "auto")
	// The device has no pedit of the IPv6 traffic class: the driver does
	// not take A, which runs in kernel software; B below it overlaps it
	// and would run in hardware ahead of it: placement keeps B out of
	// hardware. C has nothing above it: hardware. D goes to the
	// controller (fast path) and shadows E.
	for _, r := range []string{
		"cookie=0xa,priority=50,in_port=1,ipv6,actions=set_field:10->ip_dscp,output:2",
		"cookie=0xb,priority=40,in_port=1,actions=output:3",
		"cookie=0xc,priority=40,in_port=2,ip,actions=output:1",
		"cookie=0xd,priority=60,in_port=3,actions=CONTROLLER:128",
		"cookie=0xe,priority=10,in_port=3,udp,actions=output:1",
	} {
		s.ofctl(t, "add-flow", r)
	}
	s.checkPlacement(t)
	for _, c := range []struct {
		cookie uint64
		tier   offload.Tier
		reason string
	}{
		{0xa, offload.TierTC, "the driver did not take the filter"},
		{0xb, offload.TierTC, "a higher-priority overlapping rule (table 0, priority 50"},
		{0xc, offload.TierHW, ""},
		{0xd, offload.TierSoft, "output:CONTROLLER"},
		{0xe, offload.TierSoft, "priority 60"},
	} {
		fs := s.flow(t, c.cookie)
		if fs.Tier != c.tier || !strings.Contains(fs.Reason, c.reason) || (c.reason == "") != (fs.Reason == "") {
			t.Errorf("rule %#x: tier %s reason %q, want %s with %q", c.cookie, fs.Tier, fs.Reason, c.tier, c.reason)
		}
	}
	if got := held(t, s.reps[1]); len(got) != 1 || got[s.flow(t, 0xc).Flow.ID] == nil {
		t.Errorf("%s holds %v, want C's filter only", s.reps[1], keys(got))
	}
	if got := held(t, s.reps[0]); len(got) != 0 {
		t.Errorf("%s holds %v, want nothing (A refused, B kept in software)", s.reps[0], keys(got))
	}
}

func TestSmartNICCapacityAndRefusals(t *testing.T) {
	for _, c := range []struct {
		policy  string
		waiting offload.Tier
		reason  string
	}{
		{"hw", offload.TierSoft, "netdevsim: flow table full"},
		{"auto", offload.TierTC, "the driver did not take the filter"},
	} {
		t.Run(c.policy, func(t *testing.T) {
			vmtest.SetSmartNICCapacity(t, 3)
			s := newSmartNIC(t, 42, c.policy)
			for i := 1; i <= 4; i++ {
				s.ofctl(t, "add-flow", fmt.Sprintf("cookie=%#x,priority=%d,in_port=1,ip,nw_dst=10.0.0.%d,actions=output:2", i, 100-i, i))
			}
			s.checkPlacement(t)
			for i := 1; i <= 3; i++ {
				if fs := s.flow(t, uint64(i)); fs.Tier != offload.TierHW {
					t.Errorf("rule %d: %s (%q), want hw", i, fs.Tier, fs.Reason)
				}
			}
			if fs := s.flow(t, 4); fs.Tier != c.waiting || !strings.Contains(fs.Reason, c.reason) {
				t.Errorf("rule 4 beyond the capacity: %s (%q), want %s with %q", fs.Tier, fs.Reason, c.waiting, c.reason)
			}
			// Deleting a rule the device holds lets the waiting one in.
			s.ofctl(t, "del-flows", "--strict", "priority=99,in_port=1,ip,nw_dst=10.0.0.1")
			s.ofctl(t, "dump-flows") // a barrier's worth: the sync after the delete
			if err := waitfor.Until(5*time.Second, func() error {
				if fs := s.flow(t, 4); fs.Tier != offload.TierHW {
					return fmt.Errorf("%s (%q)", fs.Tier, fs.Reason)
				}
				return nil
			}); err != nil {
				t.Errorf("rule 4 after a delete made room: %v, want hw", err)
			}
			s.checkPlacement(t)
		})
	}
}

func TestSmartNICRefusedActionGivesTheDevicesWords(t *testing.T) {
	s := newSmartNIC(t, 43, "hw")
	s.ofctl(t, "add-flow", "cookie=0xa,priority=50,in_port=1,ipv6,actions=set_field:10->ip_dscp,output:2")
	const words = "netdevsim: pedit of the IPv6 header is offloaded only for hop limit, src and dst"
	fs := s.flow(t, 0xa)
	if fs.Tier != offload.TierSoft || !strings.Contains(fs.Reason, words) {
		t.Errorf("tier %s reason %q, want soft with the device's words %q", fs.Tier, fs.Reason, words)
	}
	logged := s.logs.FilterMessageSnippet("tc refused a rule").All()
	found := false
	for _, e := range logged {
		if strings.Contains(fmt.Sprint(e.ContextMap()["error"]), words) {
			found = true
		}
	}
	if !found {
		t.Errorf("no log line with the device's words; refusals logged: %v", logged)
	}
}

// TestSmartNICRestartWithOtherPortsLeavesNothingBehind runs nicflowd as
// a user would: network nf0 on two veths with policy tc, stopped, then
// nf0 on two representors with policy hw. The veths must lose the old
// block and its filters, and hardware installs on the representors work.
func TestSmartNICRestartWithOtherPortsLeavesNothingBehind(t *testing.T) {
	vmtest.Require(t)
	vethPair(t, "rsp1", "rsh1")
	vethPair(t, "rsp2", "rsh2")
	reps := switchdevReps(t, 44, 2)
	dir := t.TempDir()
	run := func(policy string, ports ...string) *daemon {
		return startDaemon(t, daemonConfig{RunDir: dir, StatePath: filepath.Join(dir, "state.db"),
			Networks: []rest.NetworkSpec{{Name: "nf0", Ports: ports, Offload: policy}}})
	}
	ctx := context.Background()
	first := run("tc", "rsp1", "rsp2")
	mgmt := "unix:" + filepath.Join(dir, "nf0.mgmt")
	flows := func() {
		ovsOfctl(t, mgmt, "add-flow", "priority=10,udp,actions=output:2")
		ovsOfctl(t, mgmt, "add-flow", "priority=20,in_port=1,ip,actions=output:2")
	}
	flows()
	shared := tcport.BlockIndex("nf0")
	if got := boundBlock(t, "rsp1"); got != shared {
		t.Fatalf("first run: rsp1 bound to block %d, want the shared block %d", got, shared)
	}
	first.stop()
	second := run("hw", reps...)
	flows()
	for _, v := range []string{"rsp1", "rsp2"} {
		if got := boundBlock(t, v); got != 0 {
			t.Errorf("%s still bound to block %d after the restart on other ports", v, got)
		}
	}
	h, err := tcflower.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if ds, err := h.Dump(shared); err == nil && len(ds) > 0 {
		t.Errorf("the first run's block %d still holds %d filters", shared, len(ds))
	}
	fl, err := second.c.Flows(ctx, "nf0")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fl {
		if f.Tier != string(offload.TierHW) || f.Reason != "" {
			t.Errorf("second run: flow %+v not in hw", f)
		}
	}
	if n := len(held(t, reps[0])) + len(held(t, reps[1])); n != 3 {
		t.Errorf("the representors hold %d filters, want 3 (the udp rule on both, the in_port rule on port 1)", n)
	}
}

// boundBlock is the shared block netdev's ingress is bound to (0: none).
func boundBlock(t *testing.T, netdev string) uint32 {
	t.Helper()
	h, err := tcflower.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := netlink.LinkByName(netdev)
	if err != nil {
		t.Fatal(err)
	}
	_, b, err := h.IngressBlock(l.Attrs().Index)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
