package manager

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/softpath/afpacket"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// tierTopo is a network "tcvm" of three veth ports tp1..tp3 whose host
// ends th1..th3 the test sends and captures on.
type tierTopo struct {
	n     *network
	c     *ofclient.Client
	taps  []*tap   // taps[i] is th(i+1)
	ports []string // the network's ports, tp1..tp3
}

func newTierTopo(t *testing.T, name, policy string) *tierTopo {
	t.Helper()
	vmtest.Require(t)
	tt := &tierTopo{}
	var ports, hosts []string
	for i := 1; i <= 3; i++ {
		p, h := name+"p"+string(rune('0'+i)), name+"h"+string(rune('0'+i))
		vethPair(t, p, h)
		ports, hosts = append(ports, p), append(hosts, h)
	}
	tt.ports = ports
	tt.n, _ = startNetwork(t, rest.NetworkSpec{Name: name, Ports: ports, Offload: policy})
	tt.c = dial(t, tt.n)
	for _, h := range hosts {
		tt.taps = append(tt.taps, newTap(t, h))
	}
	return tt
}

// witness writes frame out of netdev dev (to its peer), as the kernel
// sends what it transmits on dev: behind what was written to dev before.
func (tt *tierTopo) witness(t *testing.T, dev string, frame []byte) {
	t.Helper()
	s, err := afpacket.Open(dev, afpacket.Options{NoReceive: true})
	if err != nil {
		t.Fatalf("open %s: %v", dev, err)
	}
	defer s.Close()
	if err := s.WriteBatch([][]byte{frame}); err != nil {
		t.Fatalf("send on %s: %v", dev, err)
	}
}

func (tt *tierTopo) add(t *testing.T, rules ...string) {
	t.Helper()
	ctx := context.Background()
	for _, r := range rules {
		if err := tt.c.AddFlow(ctx, flowtext.MustFlowMod(r)); err != nil {
			t.Fatalf("add %q: %v", r, err)
		}
	}
	if err := tt.c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
}

// stat returns the FlowStat of the rule of table and priority.
func (tt *tierTopo) stat(t *testing.T, table uint8, prio uint16) offload.FlowStat {
	t.Helper()
	for _, fs := range tt.n.net.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}) {
		if fs.Flow.Table == table && fs.Flow.Priority == prio {
			return fs
		}
	}
	t.Fatalf("no flow at table %d priority %d", table, prio)
	return offload.FlowStat{}
}

// ofPackets returns the n_packets OpenFlow's FLOW_STATS reports for the
// rule of table and priority.
func (tt *tierTopo) ofPackets(t *testing.T, table uint8, prio uint16) uint64 {
	t.Helper()
	fs, err := tt.c.FlowStats(context.Background(), ofclient.AllFlows())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.TableID == table && f.Priority == prio {
			return f.Packets
		}
	}
	t.Fatalf("FLOW_STATS has no flow at table %d priority %d", table, prio)
	return 0
}

// kernelFilters dumps the network's shared block or, given the network's
// ports, every block they are bound to (their own blocks under per-port
// placement).
func kernelFilters(t *testing.T, network string, ports ...string) []tcflower.Dumped {
	t.Helper()
	h, err := tcflower.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	blocks := []uint32{tcport.BlockIndex(network)}
	if len(ports) > 0 {
		blocks = nil
		seen := map[uint32]bool{}
		for _, p := range ports {
			l, err := netlink.LinkByName(p)
			if err != nil {
				t.Fatal(err)
			}
			_, b, err := h.IngressBlock(l.Attrs().Index)
			if err != nil || b == 0 {
				t.Fatalf("%s is bound to no block (%v)", p, err)
			}
			if !seen[b] {
				seen[b] = true
				blocks = append(blocks, b)
			}
		}
	}
	var out []tcflower.Dumped
	for _, b := range blocks {
		ds, err := h.Dump(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ds...)
	}
	return out
}

func findFilter(ds []tcflower.Dumped, chain uint32, prio uint16) *tcflower.Dumped {
	for i := range ds {
		if ds[i].Filter.Chain == chain && ds[i].Filter.Pref == tcflower.Pref(prio) {
			return &ds[i]
		}
	}
	return nil
}

func TestTCTierEndToEnd(t *testing.T) {
	tt := newTierTopo(t, "e2e", "tc")
	const sent = 5
	rules := []struct {
		rule  string
		table uint8
		prio  uint16
		tier  offload.Tier
		count int // -1: the rule matches no packet sent; else it matches every one
		dport uint16
		to    int // tap index that receives, -1: none
		check func(t *testing.T, f []byte)
	}{
		{rule: "priority=100,in_port=1,udp,udp_dst=1001,actions=output:2", prio: 100, tier: offload.TierTC, dport: 1001, to: 1,
			check: func(t *testing.T, f []byte) {
				if !bytes.Equal(f, udpTo(1001)) {
					t.Errorf("forwarded frame changed:\n got %x\nwant %x", f, udpTo(1001))
				}
			}},
		{rule: "priority=101,in_port=1,udp,udp_dst=1002,actions=drop", prio: 101, tier: offload.TierTC, dport: 1002, to: -1},
		{rule: "priority=102,in_port=1,udp,udp_dst=1003,actions=push_vlan:0x8100,set_field:4196->vlan_vid,set_field:3->vlan_pcp,output:2", prio: 102,
			tier: offload.TierTC, dport: 1003, to: 1,
			check: func(t *testing.T, f []byte) {
				if binary.BigEndian.Uint16(f[12:]) != 0x8100 || binary.BigEndian.Uint16(f[14:]) != 3<<13|100 {
					t.Errorf("frame not tagged with VLAN 100 priority 3: %x", f[:18])
				}
			}},
		{rule: "priority=103,in_port=1,udp,udp_dst=1004,actions=set_field:02:00:00:00:00:99->eth_dst,set_field:10.9.9.9->ipv4_dst,output:3",
			prio: 103, tier: offload.TierTC, dport: 1004, to: 2,
			check: func(t *testing.T, f []byte) {
				if !bytes.Equal(f[0:6], []byte{2, 0, 0, 0, 0, 0x99}) || !bytes.Equal(f[30:34], []byte{10, 9, 9, 9}) {
					t.Errorf("frame not rewritten: eth_dst %x ipv4_dst %v", f[0:6], f[30:34])
				}
				if ipChecksum(f[14:34]) != 0 {
					t.Errorf("IPv4 header checksum wrong after rewrite: %x", f[14:34])
				}
			}},
		{rule: "priority=104,in_port=1,udp,udp_dst=1005,actions=goto_table:1", prio: 104, tier: offload.TierTC, dport: 1005, to: 2},
		// Table 1 is complete in tc (an offloaded catch-all), so the jump
		// into it can be offloaded too.
		{rule: "table=1,priority=10,in_port=1,actions=output:3", table: 1, prio: 10, tier: offload.TierTC},
		{rule: "table=1,priority=0,actions=drop", table: 1, prio: 0, tier: offload.TierTC, count: -1},
		// Soft: output to the controller has no flower form. Its packets
		// miss in tc and reach the fast path through the miss device.
		{rule: "priority=105,in_port=1,udp,udp_dst=1006,actions=output:CONTROLLER,output:2", prio: 105, tier: offload.TierSoft, dport: 1006, to: 1},
	}
	for _, r := range rules {
		tt.add(t, r.rule)
	}

	// The offloaded rules are flower filters with skip_hw in their chain.
	ds := kernelFilters(t, "e2e")
	for _, r := range rules {
		d := findFilter(ds, uint32(r.table), r.prio)
		if r.tier == offload.TierSoft {
			if d != nil {
				t.Errorf("%s: soft rule has a filter %s", r.rule, d.Filter.String())
			}
			continue
		}
		if d == nil {
			t.Errorf("%s: no filter in chain %d pref %d", r.rule, r.table, tcflower.Pref(r.prio))
			continue
		}
		if d.Filter.Flags&tcflower.FlagSkipHW == 0 {
			t.Errorf("%s: filter flags %#x, want skip_hw", r.rule, d.Filter.Flags)
		}
	}

	for _, r := range rules {
		if r.dport == 0 {
			continue
		}
		tt.taps[0].send(t, udpTo(r.dport), sent)
	}
	for _, r := range rules {
		if r.dport == 0 {
			continue
		}
		for i, tp := range tt.taps[1:] {
			want := 0
			if i+1 == r.to {
				want = sent
			}
			got := tp.take(r.dport, want, 3*time.Second)
			if len(got) != want {
				t.Errorf("%s: %s got %d frames, want %d", r.rule, tp.name, len(got), want)
			}
			for _, f := range got {
				if r.check != nil {
					r.check(t, f)
				}
			}
		}
	}

	// Counters: FLOW_STATS over OpenFlow carries the merged count, and the
	// split says which tier counted.
	for _, r := range rules {
		want := uint64(sent)
		if r.count == -1 {
			want = 0
		}
		if got := tt.ofPackets(t, r.table, r.prio); got != want {
			t.Errorf("%s: FLOW_STATS n_packets = %d, want %d", r.rule, got, want)
		}
		fs := tt.stat(t, r.table, r.prio)
		if fs.Tier != r.tier {
			t.Errorf("%s: tier %s (%s), want %s", r.rule, fs.Tier, fs.Reason, r.tier)
		}
		switch r.tier {
		case offload.TierTC:
			if fs.TC.Packets != want || fs.Soft.Packets != 0 || fs.HW.Packets != 0 {
				t.Errorf("%s: counts hw %d tc %d soft %d, want tc %d", r.rule, fs.HW.Packets, fs.TC.Packets, fs.Soft.Packets, want)
			}
		case offload.TierSoft:
			if fs.Soft.Packets != want || fs.TC.Packets != 0 || !strings.Contains(fs.Reason, "CONTROLLER") {
				t.Errorf("%s: counts tc %d soft %d reason %q, want soft %d and a reason naming CONTROLLER", r.rule, fs.TC.Packets, fs.Soft.Packets, fs.Reason, want)
			}
		}
	}
	var wantTotal uint64
	for _, r := range rules {
		if r.count != -1 {
			wantTotal += sent
		}
	}
	if agg, err := tt.c.Aggregate(context.Background(), ofclient.AllFlows()); err != nil || agg.Packets != wantTotal {
		t.Errorf("AGGREGATE = %+v, %v; want %d packets", agg, err, wantTotal)
	}
	t.Logf("%d rules, %d filters in the block", len(rules), len(kernelFilters(t, "e2e")))

	// The REST API (what nicflowctl flows shows) serves the same tiers,
	// reasons and split counters.
	flows := apiFlows(t, tt.n, "e2e")
	for _, r := range rules {
		f, ok := flows[[2]int{int(r.table), int(r.prio)}]
		if !ok {
			t.Errorf("%s: not in GET /v1/networks/e2e/flows", r.rule)
			continue
		}
		if f.Tier != string(r.tier) || (r.tier == offload.TierSoft) != (f.Reason != "") {
			t.Errorf("%s: API says tier %s reason %q, want %s", r.rule, f.Tier, f.Reason, r.tier)
		}
		if r.tier == offload.TierTC && r.count != -1 && f.TC.Packets != sent {
			t.Errorf("%s: API says tc packets %d, want %d", r.rule, f.TC.Packets, sent)
		}
	}
}

// apiFlows serves the REST API of a manager with network n, as the API's
// handler answers, and returns the network's flows by table and priority.
func apiFlows(t *testing.T, n *network, name string) map[[2]int]rest.Flow {
	t.Helper()
	m, err := New(Config{Ports: n.ports, Links: newFakeLinks()})
	if err != nil {
		t.Fatal(err)
	}
	m.nets[name] = &managedNet{spec: n.spec, origin: rest.OriginConfig, run: n, ports: fixedPortMeta(n.spec)}
	srv, err := rest.New(rest.Config{Backend: m})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/networks/"+name+"/flows", nil))
	var fs []rest.Flow
	if err := json.Unmarshal(rec.Body.Bytes(), &fs); rec.Code != 200 || err != nil {
		t.Fatalf("GET flows: %d %v: %s", rec.Code, err, rec.Body)
	}
	out := map[[2]int]rest.Flow{}
	for _, f := range fs {
		out[[2]int{int(f.Table), int(f.Priority)}] = f
	}
	return out
}

// ipChecksum is the ones' complement sum of an IPv4 header: 0 when valid.
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestTCTierPlacementMovesKeepCountersMonotonic(t *testing.T) {
	tt := newTierTopo(t, "mv", "tc")
	const low = "priority=100,in_port=1,udp,udp_dst=2001,actions=output:2"
	tt.add(t, low)
	send := func(n int, wantFwd int) {
		t.Helper()
		tt.taps[0].send(t, udpTo(2001), n)
		if got := tt.taps[1].take(2001, wantFwd, 3*time.Second); len(got) != wantFwd {
			t.Fatalf("th2 got %d frames, want %d", len(got), wantFwd)
		}
	}
	send(3, 3)
	if fs := tt.stat(t, 0, 100); fs.Tier != offload.TierTC || fs.Packets != 3 {
		t.Fatalf("before: tier %s packets %d, want tc 3", fs.Tier, fs.Packets)
	}

	// A higher, overlapping rule that only the fast path can run pushes
	// the lower one out of tc: otherwise tc would forward what the
	// controller must see.
	tt.add(t, "priority=300,in_port=1,udp,actions=output:CONTROLLER")
	if d := findFilter(kernelFilters(t, "mv"), 0, 100); d != nil {
		t.Errorf("shadowed rule still has a filter: %s", d.Filter.String())
	}
	fs := tt.stat(t, 0, 100)
	if fs.Tier != offload.TierSoft || !strings.Contains(fs.Reason, "priority 300") || fs.Packets != 3 {
		t.Errorf("shadowed: tier %s reason %q packets %d, want soft, a reason naming priority 300, 3", fs.Tier, fs.Reason, fs.Packets)
	}
	send(2, 0) // to the controller only
	if got := tt.stat(t, 0, 300).Packets; got != 2 {
		t.Errorf("controller rule counted %d, want 2", got)
	}

	// Removing it lets the lower rule back into tc; its counters carry on.
	del := flowtext.MustFlowMod("priority=300,in_port=1,udp,actions=drop")
	del.Command = pipeline.FlowDeleteStrict
	if err := tt.c.FlowMod(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	if err := tt.c.Barrier(context.Background()); err != nil {
		t.Fatal(err)
	}
	send(4, 4)
	fs = tt.stat(t, 0, 100)
	if fs.Tier != offload.TierTC || fs.Packets != 7 || fs.TC.Packets != 7 {
		t.Errorf("after: tier %s packets %d (tc %d soft %d), want tc and 7 (all in tc)", fs.Tier, fs.Packets, fs.TC.Packets, fs.Soft.Packets)
	}
	if got := tt.ofPackets(t, 0, 100); got != 7 {
		t.Errorf("FLOW_STATS n_packets = %d, want 7", got)
	}
}

func TestTCTierNetdevsimRefusalFallsBackToSoft(t *testing.T) {
	vmtest.Require(t)
	reps := switchdevReps(t, 20, 2)
	// The simulated SmartNIC takes this rule; with no room it refuses it.
	vmtest.SetSmartNICCapacity(t, 0)
	n, _ := startNetwork(t, rest.NetworkSpec{Name: "nsim", Ports: reps, Offload: "hw"})
	c := dial(t, n)
	ctx := context.Background()
	if err := c.AddFlow(ctx, flowtext.MustFlowMod("priority=10,in_port=1,udp,actions=output:2")); err != nil {
		t.Fatal(err)
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	fs := n.net.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})
	if len(fs) != 1 {
		t.Fatalf("%d flows, want 1", len(fs))
	}
	const kernelWords = "netdevsim: flow table full"
	if fs[0].Tier != offload.TierSoft || !strings.Contains(fs[0].Reason, kernelWords) {
		t.Errorf("tier %s reason %q, want soft with the kernel's words %q", fs[0].Tier, fs[0].Reason, kernelWords)
	}
	// The rule runs in the fast path: a frame entering the pipeline on
	// port 1 leaves on port 2, counted.
	before := txPackets(t, reps[1])
	for i := 0; i < 3; i++ {
		if err := n.net.PacketOut(ctx, 1, []pipeline.Action{pipeline.Output(pipeline.PortTable)}, udpTo(3001)); err != nil {
			t.Fatal(err)
		}
	}
	_ = waitfor.Until(3*time.Second, func() error { // the exact count is checked below
		if got := txPackets(t, reps[1]) - before; got < 3 {
			return fmt.Errorf("%d frames sent", got)
		}
		return nil
	})
	if got := txPackets(t, reps[1]) - before; got != 3 {
		t.Errorf("%s sent %d frames, want 3", reps[1], got)
	}
	fs = n.net.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})
	if fs[0].Packets != 3 || fs[0].Soft.Packets != 3 {
		t.Errorf("flow counted %d (soft %d), want 3", fs[0].Packets, fs[0].Soft.Packets)
	}
}
