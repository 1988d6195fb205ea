package offload

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/tcflower"
)

// The TTL guards (tcguard.go): the filters in chain 0 that hand the
// packets whose TTL a rule in tc would decrement to expiry to the fast
// path.

// addText adds a rule given as flowtext and returns its flow ID.
func (tn *tcNet) addText(t *testing.T, rule string) uint64 {
	t.Helper()
	return tn.add(t, flowtext.MustFlowMod(rule))
}

// guards returns the TTL guards block holds, rendered, by handle order.
func (k *fakeTC) guards(block uint32) []string {
	var out []string
	for _, key := range k.keys() {
		if key.block != block || !isGuard(key.chain, key.pref, key.handle) {
			continue
		}
		f, _ := k.filter(key)
		f.Cookie = nil
		out = append(out, f.String())
	}
	return out
}

// guardText is the rendering of a guard on port no of the shared block
// (indev) or of its own block.
func guardText(no uint32, shared bool, c tcflower.TTLClass, keys string) string {
	k := ""
	if shared {
		k = fmt.Sprintf(" indev vf%d", no)
	}
	var probe tcflower.Keys
	switch {
	case c == tcflower.TTLMPLS:
		probe.MPLSTTL = keys[len(keys)-1] - '0'
		if strings.Contains(keys, "mpls_mc") {
			probe.EthType = tcflower.EthTypeMPLSMC
		}
	case strings.Contains(keys, "0xfc"):
		probe.IPTTLMask = 0xfc
	case strings.Contains(keys, "0xf8"):
		probe.IPTTLMask = 0xf8
	default:
		probe.IPTTLMask = 0xfe
	}
	return fmt.Sprintf("protocol all pref 1 chain 0 handle %#x flower skip_hw%s %s action vlan push id %d protocol 802.1ad priority 0 action mirred egress redirect dev %s",
		guardHandle(no, c, &probe), k, keys, no, testMissDev)
}

func TestTCTTLGuardsComeAndGoWithTheRulesThatDecrement(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, ports: 2, noRun: true})
	plain := tn.addText(t, "priority=20,in_port=1,ip,actions=output:2")
	tn.barrier(t)
	if g := kern.guards(testBlock); len(g) != 0 {
		t.Errorf("guards without a rule that decrements: %v", g)
	}

	kern.resetCalls()
	dec4 := tn.addText(t, "priority=10,in_port=1,ip,actions=dec_ttl,output:2")
	tn.barrier(t)
	want := []string{
		guardText(1, true, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe"),
		guardText(2, true, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe"),
	}
	if diff := cmp.Diff(want, kern.guards(testBlock)); diff != "" {
		t.Errorf("guards of one dec_ttl (-want +got):\n%s", diff)
	}
	if s := tn.stat(t, dec4); s.Tier != TierTC {
		t.Errorf("the dec_ttl rule is in %s (%s), want tc", s.Tier, s.Reason)
	}
	// The guards went in before the rule.
	calls := kern.callsOf("add", "replace")
	if len(calls) != 3 || calls[2].FlowID != dec4 || !isGuard(calls[0].Chain, calls[0].Pref, calls[0].Handle) {
		t.Errorf("kernel calls %+v: want the two guards, then the rule", calls)
	}

	// Two decrements of the IPv6 hop limit: its guards take 0 to 3.
	dec6 := tn.addText(t, "priority=10,in_port=2,ipv6,actions=dec_ttl,dec_ttl,output:1")
	tn.barrier(t)
	want = []string{
		guardText(1, true, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe"),
		guardText(1, true, tcflower.TTLIPv6, "eth_type ipv6 ip_ttl 0x0/0xfc"),
		guardText(2, true, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe"),
		guardText(2, true, tcflower.TTLIPv6, "eth_type ipv6 ip_ttl 0x0/0xfc"),
	}
	if diff := cmp.Diff(want, kern.guards(testBlock)); diff != "" {
		t.Errorf("guards of dec_ttl on IPv4 and twice on IPv6 (-want +got):\n%s", diff)
	}

	// The rules go: the guards go after them.
	key4, key6 := tn.filterKey(t, dec4), tn.filterKey(t, dec6)
	kern.resetCalls()
	for _, id := range []uint64{dec4, dec6} {
		fm := tn.flowMod(t, id)
		fm.Command = pipeline.FlowDeleteStrict
		tn.mod(t, fm)
	}
	tn.barrier(t)
	if g := kern.guards(testBlock); len(g) != 0 {
		t.Errorf("guards after the rules that decrement are gone: %v", g)
	}
	calls = kern.callsOf("remove")
	at := map[fakeKey]int{}
	for i, c := range calls {
		at[fakeKey{c.Chain, c.Pref, c.Handle, c.Block}] = i
	}
	for _, c := range []struct {
		rule fakeKey
		cls  tcflower.TTLClass
	}{{key4, tcflower.TTLIPv4}, {key6, tcflower.TTLIPv6}} {
		r, ok := at[c.rule]
		for i, call := range calls {
			if isGuard(call.Chain, call.Pref, call.Handle) && tcflower.TTLClass(call.Handle>>5&3) == c.cls && (!ok || i < r) {
				t.Errorf("kernel calls %+v: the %s guard went before the rule that needed it", calls, c.cls)
			}
		}
	}
	if len(calls) != 6 {
		t.Errorf("kernel calls %+v: want the two rules and the four guards removed", calls)
	}
	if s := tn.stat(t, plain); s.Tier != TierTC {
		t.Errorf("the rule that does not decrement is in %s (%s)", s.Tier, s.Reason)
	}
}

// flowMod returns a flow mod that names flow id (strict).
func (tn *tcNet) flowMod(t *testing.T, id uint64) *pipeline.FlowMod {
	t.Helper()
	f := tn.stat(t, id).Flow
	return &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: f.Table, Priority: f.Priority, Match: f.Match,
		OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
}

// TestTCTTLGuardsFollowThePathAcrossTables: the guard of a block covers
// the decrements along the chains a packet can take; a rule that rewrites
// a TTL before it jumps to decrements stays in the fast path (the guard
// reads the TTL packets come with).
func TestTCTTLGuardsFollowThePathAcrossTables(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, ports: 2, perPortBlocks: true, noRun: true})
	jump := tn.addText(t, "table=0,priority=10,in_port=1,ip,ipv4_dst=10.0.0.1,actions=dec_ttl,goto_table:1")
	rewrite := tn.addText(t, "table=0,priority=10,in_port=1,ip,ipv4_dst=10.0.0.2,actions=set_nw_ttl:5,goto_table:1")
	plain := tn.addText(t, "table=0,priority=10,in_port=1,ip,ipv4_dst=10.0.0.3,actions=goto_table:1")
	route := tn.addText(t, "table=1,priority=10,in_port=1,ip,actions=dec_ttl,output:2")
	tn.addText(t, "table=1,priority=0,actions=drop")
	tn.barrier(t)

	for id, tier := range map[uint64]Tier{jump: TierTC, plain: TierTC, route: TierTC, rewrite: TierSoft} {
		if s := tn.stat(t, id); s.Tier != tier {
			t.Errorf("flow %d: %s (%s), want %s", id, s.Tier, s.Reason, tier)
		}
	}
	if s := tn.stat(t, rewrite); !strings.Contains(s.Reason, "rewrites a TTL") {
		t.Errorf("the rewriting rule's reason is %q", s.Reason)
	}
	want := []string{guardText(1, false, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfc")} // dec_ttl, goto, dec_ttl: two
	if diff := cmp.Diff(want, kern.guards(portBlock(1))); diff != "" {
		t.Errorf("guards of port 1 (-want +got):\n%s", diff)
	}
	if g := kern.guards(portBlock(2)); len(g) != 0 {
		t.Errorf("port 2 has no rule that decrements, but guards %v", g)
	}

	// Without the decrement in table 1 the rewrite may jump there in tc,
	// and port 1's guard narrows to the one decrement left.
	fm := tn.flowMod(t, route)
	fm.Command = pipeline.FlowModifyStrict
	fm.Instr = flowtext.MustFlowMod("actions=output:2").Instr
	tn.mod(t, fm)
	tn.barrier(t)
	if s := tn.stat(t, rewrite); s.Tier != TierTC {
		t.Errorf("the rewriting rule: %s (%s), want tc", s.Tier, s.Reason)
	}
	want = []string{guardText(1, false, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe")}
	if diff := cmp.Diff(want, kern.guards(portBlock(1))); diff != "" {
		t.Errorf("guards of port 1 after the change (-want +got):\n%s", diff)
	}
}

func TestTCTTLDecrementsStayOutOfHardware(t *testing.T) {
	t.Run("hw", func(t *testing.T) {
		clock := newClock()
		kern := newFakeTC(clock.Now)
		tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW, noRun: true})
		id := tn.addText(t, "priority=10,in_port=1,ip,actions=dec_ttl,output:2")
		tn.barrier(t)
		if s := tn.stat(t, id); s.Tier != TierSoft || !strings.Contains(s.Reason, "policy hw") {
			t.Errorf("dec_ttl under policy hw: %s (%s), want soft for lack of a guard", s.Tier, s.Reason)
		}
		for no := uint32(1); no <= 3; no++ {
			if g := kern.guards(portBlock(no)); len(g) != 0 {
				t.Errorf("port %d: guards %v", no, g)
			}
		}
	})
	t.Run("auto", func(t *testing.T) {
		clock := newClock()
		kern := newFakeTC(clock.Now)
		kern.setInHW(func(*tcflower.Filter) bool { return true })
		tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyAuto, noRun: true})
		dec := tn.addText(t, "priority=10,in_port=1,ip,actions=dec_ttl,output:2")
		plain := tn.addText(t, "priority=10,in_port=1,ipv6,actions=output:2")
		tn.barrier(t)
		if s := tn.stat(t, dec); s.Tier != TierTC {
			t.Errorf("dec_ttl under auto: %s (%s), want tc (behind the guard)", s.Tier, s.Reason)
		}
		if _, f, _ := kern.filterOf(dec); f.Flags != tcflower.FlagSkipHW {
			t.Errorf("dec_ttl filter flags %v, want skip_hw", f.Flags)
		}
		if s := tn.stat(t, plain); s.Tier != TierHW {
			t.Errorf("the other rule under auto: %s (%s), want hw", s.Tier, s.Reason)
		}
		if diff := cmp.Diff([]string{guardText(1, false, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe")}, kern.guards(portBlock(1))); diff != "" {
			t.Errorf("guards of port 1 (-want +got):\n%s", diff)
		}
	})
}

func TestTCTTLGuardSharesPrefOneWithTheTopPriorities(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, noRun: true})
	top := tn.addText(t, "priority=65534,in_port=1,ip,actions=dec_ttl,output:2")
	topPlain := tn.addText(t, "priority=65535,in_port=1,ipv6,actions=output:2")
	below := tn.addText(t, "table=1,priority=65535,in_port=1,ip,actions=dec_ttl,output:2")
	tn.addText(t, "table=1,priority=0,actions=drop")
	tn.barrier(t)
	if s := tn.stat(t, top); s.Tier != TierSoft || !strings.Contains(s.Reason, "pref 1") {
		t.Errorf("dec_ttl at priority 65534 in table 0: %s (%s), want soft", s.Tier, s.Reason)
	}
	for _, id := range []uint64{topPlain, below} {
		if s := tn.stat(t, id); s.Tier != TierTC {
			t.Errorf("flow %d: %s (%s), want tc", id, s.Tier, s.Reason)
		}
	}
}

func TestTCTTLGuardRefusedKeepsTheDecrementsSoft(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	kern.setRefuse(func(op string, _ uint32, f *tcflower.Filter) error {
		if f.Keys.IPTTLMask != 0 {
			return &tcflower.Error{Op: op + " flower filter", Errno: unix.EOPNOTSUPP, Message: "no ip_ttl here"}
		}
		return nil
	})
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, noRun: true})
	dec := tn.addText(t, "priority=10,in_port=1,ip,actions=dec_ttl,output:2")
	plain := tn.addText(t, "priority=10,in_port=2,ip,actions=output:1")
	tn.barrier(t)
	if s := tn.stat(t, dec); s.Tier != TierSoft || !strings.Contains(s.Reason, "no ip_ttl here") {
		t.Errorf("dec_ttl without its guard: %s (%s), want soft with the kernel's words", s.Tier, s.Reason)
	}
	if s := tn.stat(t, plain); s.Tier != TierTC {
		t.Errorf("the other rule: %s (%s), want tc", s.Tier, s.Reason)
	}
	if _, _, ok := kern.filterOf(dec); ok {
		t.Error("the dec_ttl rule has a filter")
	}
}

func TestTCTTLGuardsOfMPLS(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, perPortBlocks: true, noRun: true})
	id := tn.addText(t, "priority=10,in_port=1,mpls,actions=dec_mpls_ttl,output:2")
	tn.barrier(t)
	if s := tn.stat(t, id); s.Tier != TierTC {
		t.Fatalf("dec_mpls_ttl: %s (%s), want tc", s.Tier, s.Reason)
	}
	var want []string
	for _, et := range []string{"mpls_uc", "mpls_mc"} {
		for v := 0; v <= 1; v++ {
			want = append(want, guardText(1, false, tcflower.TTLMPLS, fmt.Sprintf("eth_type %s mpls_ttl %d", et, v)))
		}
	}
	if diff := cmp.Diff(want, kern.guards(portBlock(1))); diff != "" {
		t.Errorf("MPLS guards (-want +got):\n%s", diff)
	}
}

// TestTCTTLGuardsOfAnEarlierRunStayWhileItsFiltersDo: a restarted agent
// keeps the guards it finds while the filters of the earlier run (which may
// decrement) keep forwarding, and removes them with those filters.
func TestTCTTLGuardsOfAnEarlierRunStayWhileItsFiltersDo(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	first := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, noRun: true})
	first.addText(t, "priority=10,in_port=1,ip,actions=dec_ttl,output:2")
	first.barrier(t)
	guards := kern.guards(testBlock)
	if len(guards) != 3 {
		t.Fatalf("guards of the first run: %v", guards)
	}
	first.stop()

	second := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, noRun: true})
	second.addText(t, "priority=10,in_port=2,ip,actions=output:1")
	second.barrier(t)
	if diff := cmp.Diff(guards, kern.guards(testBlock)); diff != "" {
		t.Errorf("guards while the earlier run's filters remain (-want +got):\n%s", diff)
	}
	second.Reconcile()
	if g := kern.guards(testBlock); len(g) != 0 {
		t.Errorf("guards after reconcile: %v", g)
	}
}

func TestTCRemovePortRemovesItsTTLGuards(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, noRun: true})
	tn.addText(t, "priority=10,in_port=1,ip,actions=dec_ttl,output:2")
	tn.barrier(t)
	if err := tn.RemovePort(3); err != nil {
		t.Fatal(err)
	}
	want := []string{
		guardText(1, true, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe"),
		guardText(2, true, tcflower.TTLIPv4, "eth_type ipv4 ip_ttl 0x0/0xfe"),
	}
	if diff := cmp.Diff(want, kern.guards(testBlock)); diff != "" {
		t.Errorf("guards after port 3 left (-want +got):\n%s", diff)
	}
}

// TestTCTTLDecrementNeverOfferedToTheDriver: under auto a rule the driver
// did not take (installed without flags, not in hardware) that is modified
// to decrement a TTL is installed with skip_hw: offered to the driver, it
// could run in hardware, ahead of its guard.
func TestTCTTLDecrementNeverOfferedToTheDriver(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyAuto, noRun: true})
	id := tn.addText(t, "priority=10,in_port=1,ip,actions=output:2")
	tn.barrier(t)
	if _, f, _ := kern.filterOf(id); f.Flags != 0 {
		t.Fatalf("the plain rule's flags are %v, want none (the driver decides)", f.Flags)
	}
	if s := tn.stat(t, id); s.Tier != TierTC {
		t.Fatalf("the plain rule the driver did not take: %s (%s), want tc", s.Tier, s.Reason)
	}
	kern.setInHW(func(*tcflower.Filter) bool { return true }) // the driver would take it now
	kern.resetCalls()
	fm := tn.flowMod(t, id)
	fm.Command = pipeline.FlowModifyStrict
	fm.Instr = flowtext.MustFlowMod("actions=dec_ttl,output:2").Instr
	tn.mod(t, fm)
	tn.barrier(t)
	for _, c := range kern.callsOf("add", "replace") {
		if c.FlowID == id && c.Flags != tcflower.FlagSkipHW {
			t.Errorf("the rule that decrements was installed with flags %v: %+v", c.Flags, c)
		}
	}
	if s := tn.stat(t, id); s.Tier != TierTC {
		t.Errorf("the rule that decrements: %s (%s), want tc", s.Tier, s.Reason)
	}
}
