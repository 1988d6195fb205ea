package offload

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/tcflower"
)

// The tests in this file drive the per-port blocks of the hardware
// policies: every port's ingress has a block of its own (testBlock+no),
// a rule goes on the ports it applies to, without an indev key.

// portBlock is port no's block in a tcNet.
func portBlock(no uint32) uint32 { return testBlock + no }

// checkPlacement fails the test when the tier breaks a placement rule.
func (tn *tcNet) checkPlacement(t *testing.T) {
	t.Helper()
	if err := tn.CheckPlacement(); err != nil {
		t.Errorf("placement rules broken:\n%v", err)
	}
}

// replicas returns the blocks holding flow id's filters, and the filters.
func (tn *tcNet) replicas(id uint64) map[uint32]tcflower.Filter {
	out := map[uint32]tcflower.Filter{}
	for _, k := range tn.kern.filtersOf(id) {
		f, _ := tn.kern.filter(k)
		out[k.block] = f
	}
	return out
}

func TestTCPerPortRuleWithoutInPortIsReplicatedOnEveryPort(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW})
	id := tn.add(t, rule{priority: 10, ipv4: true, out: 2}.mod())
	tn.barrier(t)
	tn.checkPlacement(t)

	// One replica per port, none with indev; on port 2 itself OpenFlow
	// drops the output to the ingress port.
	got := tn.replicas(id)
	want := map[uint32]string{portBlock(1): "redirect vf2", portBlock(2): "drop", portBlock(3): "redirect vf2"}
	if len(got) != len(want) {
		t.Fatalf("replicas on blocks %v, want one on each of %v", keysOf(got), want)
	}
	for block, what := range want {
		f, ok := got[block]
		if !ok {
			t.Errorf("no replica on block %d", block)
			continue
		}
		if f.Keys.Indev != "" || f.Flags != tcflower.FlagSkipSW || f.Keys.EthType != tcflower.EthTypeIPv4 {
			t.Errorf("block %d: indev %q flags %v eth_type %#x, want no indev, skip_sw, ipv4", block, f.Keys.Indev, f.Flags, f.Keys.EthType)
		}
		var act string
		switch a := f.Actions[0]; {
		case a.Kind == tcflower.KindMirred && a.Mirred.Redirect:
			act = "redirect " + a.Mirred.Dev
		case a.Kind == tcflower.KindGact:
			act = "drop"
		}
		if act != what {
			t.Errorf("block %d: action %+v, want %s", block, f.Actions, what)
		}
	}
	if s := tn.stat(t, id); s.Tier != TierHW || s.Reason != "" || s.Filters != 3 {
		t.Errorf("tier %s reason %q filters %d, want hw with 3", s.Tier, s.Reason, s.Filters)
	}

	// Counters: the replicas' sum.
	kern.hit(fakeKeyOn(t, kern, id, portBlock(1)), Counts{}, Counts{Packets: 3, Bytes: 300})
	kern.hit(fakeKeyOn(t, kern, id, portBlock(3)), Counts{Packets: 1, Bytes: 100}, Counts{Packets: 2, Bytes: 200})
	wantView := tierView{Tier: TierHW, Packets: 6, Bytes: 600, HW: Counts{5, 500}, TC: Counts{1, 100}}
	if diff := cmp.Diff(wantView, viewOf(tn.stat(t, id))); diff != "" {
		t.Errorf("merged counters (-want +got):\n%s", diff)
	}

	// A port that goes takes its replica along, not what it counted.
	if err := tn.RemovePort(3); err != nil {
		t.Fatal(err)
	}
	if _, ok := tn.replicas(id)[portBlock(3)]; ok {
		t.Errorf("port 3's replica stayed after the port went")
	}
	if diff := cmp.Diff(wantView, viewOf(tn.stat(t, id))); diff != "" {
		t.Errorf("merged counters after port 3 went (-want +got):\n%s", diff)
	}

	// Delete: every replica goes, with its final counters.
	kern.hit(fakeKeyOn(t, kern, id, portBlock(2)), Counts{}, Counts{Packets: 1, Bytes: 100})
	before := tn.FlowStats(allFlows)
	if len(before) != 1 || before[0].Packets != 7 {
		t.Fatalf("before delete: %+v, want 7 packets", before)
	}
	tn.mod(t, &pipeline.FlowMod{Command: pipeline.FlowDelete, Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})
	tn.barrier(t)
	if got := kern.filtersOf(id); len(got) != 0 {
		t.Errorf("filters left after delete: %v", got)
	}
	if ts := tn.TableStats(); ts[0].Matched != 7 {
		t.Errorf("table 0 matched %d after delete, want the 7 its filters counted", ts[0].Matched)
	}
}

func fakeKeyOn(t *testing.T, k *fakeTC, id uint64, block uint32) fakeKey {
	t.Helper()
	for _, key := range k.filtersOf(id) {
		if key.block == block {
			return key
		}
	}
	t.Fatalf("flow %d has no filter on block %d", id, block)
	return fakeKey{}
}

func keysOf[V any](m map[uint32]V) []uint32 {
	var out []uint32
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestTCPerPortRuleWithInPortGoesOnItsPortOnly(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW})
	id := tn.add(t, rule{priority: 10, inPort: 2, out: 1}.mod())
	tn.barrier(t)
	tn.checkPlacement(t)
	got := tn.replicas(id)
	if f, ok := got[portBlock(2)]; len(got) != 1 || !ok || f.Keys.Indev != "" {
		t.Errorf("filters %+v, want one on port 2's block without indev", got)
	}
	if b := kern.bindings(); b[12] != portBlock(2) || b[11] != portBlock(1) {
		t.Errorf("bindings %v, want each port on its own block", b)
	}
}

// refuseOnBlock refuses hardware installs on one block, in the words of
// a device that cannot mirror.
func refuseOnBlock(block uint32) func(string, uint32, *tcflower.Filter) error {
	return func(op string, b uint32, f *tcflower.Filter) error {
		if b == block && f.Flags&tcflower.FlagSkipSW != 0 && cookieFlow(f.Cookie) != 0 {
			return &tcflower.Error{Op: op + " flower filter", Errno: unix.EOPNOTSUPP, Message: "fake: rule not supported on this port"}
		}
		return nil
	}
}

func TestTCPerPortRefusalDemotesThatPortsShareOnly(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	kern.setRefuse(refuseOnBlock(portBlock(2)))
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW})
	id := tn.add(t, rule{priority: 10, ipv4: true, out: 3}.mod())
	tn.barrier(t)
	tn.checkPlacement(t)

	got := tn.replicas(id)
	if _, ok := got[portBlock(2)]; ok || len(got) != 2 {
		t.Errorf("replicas on blocks %v, want ports 1 and 3 only", keysOf(got))
	}
	s := tn.stat(t, id)
	for _, want := range []string{"port 2 (vf2) in soft: device refused the filter: fake: rule not supported on this port", "in hw on port 1 (vf1), 3 (vf3)"} {
		if !strings.Contains(s.Reason, want) {
			t.Errorf("reason %q does not say %q", s.Reason, want)
		}
	}
	if s.Tier != TierSoft {
		t.Errorf("tier %s, want soft (its latest share)", s.Tier)
	}
	// Packets from port 2 run in the fast path, the others in hardware.
	tn.send(t, 2, 3, udpFrame())
	kern.hit(fakeKeyOn(t, kern, id, portBlock(1)), Counts{}, Counts{Packets: 2, Bytes: 200})
	if s := tn.stat(t, id); s.Packets != 3 || s.Soft.Packets != 1 || s.HW.Packets != 2 {
		t.Errorf("counters %+v, want 1 soft + 2 hw", viewOf(s))
	}
	if got := tn.OffloadRefusals(); got == 0 {
		t.Errorf("no refusal counted")
	}
}

func TestTCPerPortClosureHoldsPerPort(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW, noRun: true})
	// On port 1 a higher rule runs in the fast path (output CONTROLLER):
	// the lower rule's replica there must stay out of hardware; on the
	// other ports nothing is above it.
	high := tn.add(t, rule{priority: 20, inPort: 1, out: pipeline.PortController}.mod())
	low := tn.add(t, rule{priority: 10, ipv4: true, out: 3}.mod())
	tn.barrier(t)
	tn.checkPlacement(t)
	if s := tn.stat(t, high); s.Tier != TierSoft {
		t.Errorf("controller rule in %s", s.Tier)
	}
	got := tn.replicas(low)
	if _, ok := got[portBlock(1)]; ok || len(got) != 2 {
		t.Errorf("lower rule's replicas on blocks %v, want ports 2 and 3", keysOf(got))
	}
	if s := tn.stat(t, low); !strings.Contains(s.Reason, "port 1 (vf1) in soft: a higher-priority overlapping rule (table 0, priority 20") {
		t.Errorf("reason %q does not name port 1's shadowing rule", s.Reason)
	}
}

func TestTCPerPortGotoNeedsTheTargetCompleteOnThatPort(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW, noRun: true})
	// Table 1 is complete on port 1 only: its catch-all there matches
	// nothing but in_port.
	catch := tn.add(t, rule{table: 1, priority: 0, inPort: 1}.mod()) // drop
	jump := tn.add(t, rule{priority: 10, gotoT: 1}.mod())
	tn.barrier(t)
	tn.checkPlacement(t)
	if got := tn.replicas(catch); len(got) != 1 {
		t.Errorf("catch-all replicas on %v, want port 1's", keysOf(got))
	}
	got := tn.replicas(jump)
	if _, ok := got[portBlock(1)]; !ok || len(got) != 1 {
		t.Errorf("goto replicas on blocks %v, want port 1's only", keysOf(got))
	}
	if s := tn.stat(t, jump); !strings.Contains(s.Reason, "in hw on port 1 (vf1)") || !strings.Contains(s.Reason, "port 2 (vf2) in soft: goto_table 1: table 1 is not complete in tc") {
		t.Errorf("reason %q", s.Reason)
	}
}

func TestTCPerPortHardwareBytesCorrectedForTheDriver(t *testing.T) {
	for _, c := range []struct {
		driver string
		want   Counts
	}{
		{"netdevsim", Counts{Packets: 2, Bytes: 2*86 + 2*14}}, // counted without the Ethernet header
		{"veth", Counts{Packets: 2, Bytes: 2 * 86}},
	} {
		t.Run(c.driver, func(t *testing.T) {
			clock := newClock()
			kern := newFakeTC(clock.Now)
			tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW, driver: c.driver})
			id := tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
			tn.barrier(t)
			kern.hit(tn.filterKey(t, id), Counts{}, Counts{Packets: 2, Bytes: 2 * 86})
			if s := tn.stat(t, id); s.HW != c.want || s.Bytes != c.want.Bytes {
				t.Errorf("hardware counts %+v total %d bytes, want %+v", s.HW, s.Bytes, c.want)
			}
		})
	}
}

func TestTCPerPortCapacityRuleWaitsForRoom(t *testing.T) {
	for _, c := range []struct {
		policy  Policy
		waiting Tier
		reason  string
	}{
		{PolicyHW, TierSoft, "device refused the filter: fake: flow table full (2 rules)"},
		{PolicyAuto, TierTC, "not in hardware: the driver did not take the filter (in_hw not set)"},
	} {
		t.Run(string(c.policy), func(t *testing.T) {
			clock := newClock()
			kern := newFakeTC(clock.Now)
			kern.setCapacity(2)
			kern.setInHW(func(*tcflower.Filter) bool { return true }) // up to the capacity
			tn := newTCNet(t, kern, clock, tcNetOpts{policy: c.policy, noRun: true})
			// Three rules of port 1 that do not overlap (priorities
			// apart): the device takes two.
			var ids []uint64
			for i, dst := range []byte{1, 2, 3} {
				fm := rule{priority: uint16(30 - 10*i), inPort: 1, ipv4: true, out: 2}.mod()
				fm.Match.Set(pipeline.FieldIPv4Dst, []byte{10, 0, 0, dst}, nil)
				ids = append(ids, tn.add(t, fm))
			}
			tn.barrier(t)
			want := []Tier{TierHW, TierHW, c.waiting}
			for i, id := range ids {
				s := tn.stat(t, id)
				if s.Tier != want[i] {
					t.Errorf("rule %d: tier %s (%s), want %s", i, s.Tier, s.Reason, want[i])
				}
				if i == 2 && s.Reason != c.reason {
					t.Errorf("waiting rule: reason %q, want %q", s.Reason, c.reason)
				}
			}
			// Deleting a rule the device holds makes room: the waiting
			// one moves up at the next sync.
			del := rule{priority: 30, inPort: 1, ipv4: true}.mod()
			del.Match.Set(pipeline.FieldIPv4Dst, []byte{10, 0, 0, 1}, nil)
			del.Command = pipeline.FlowDeleteStrict
			tn.mod(t, del)
			tn.barrier(t)
			if s := tn.stat(t, ids[2]); s.Tier != TierHW || s.Reason != "" {
				t.Errorf("after the delete the waiting rule is in %s (%q), want hw", s.Tier, s.Reason)
			}
		})
	}
}
