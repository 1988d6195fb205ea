package offload

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/tcflower"
)

// fakeEnv is a network whose ports 1..8 are netdevs p1..p8 on one eswitch.
type fakeEnv struct{}

func (fakeEnv) Port(no uint32) (tcflower.Port, bool) {
	if no < 1 || no > 8 {
		return tcflower.Port{}, false
	}
	return tcflower.Port{Name: fmt.Sprintf("p%d", no), SameSwitch: true}, true
}
func (fakeEnv) Meter(uint32) (*pipeline.Meter, uint32) { return nil, 0 }
func (fakeEnv) Group(uint32) *pipeline.Group           { return nil }
func (fakeEnv) TableComplete(uint8) bool               { return false }

// rule describes a flow for these tests.
type rule struct {
	table    uint8
	priority uint16
	inPort   uint32 // 0: any
	ipv4     bool   // match eth_type=0x0800
	out      uint32 // output port (PortController allowed); 0: drop
	gotoT    uint8  // 0: no goto
}

func (r rule) mod() *pipeline.FlowMod {
	fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: r.table, Priority: r.priority,
		OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
	if r.inPort != 0 {
		fm.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, byte(r.inPort)}, nil)
	}
	if r.ipv4 {
		fm.Match.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
	}
	if r.out != 0 {
		fm.Instr.HasApply = true
		fm.Instr.Apply = []pipeline.Action{pipeline.Output(r.out)}
	}
	if r.gotoT != 0 {
		fm.Instr.Goto, fm.Instr.GotoTable = true, r.gotoT
	}
	return fm
}

// build installs rules and returns the pipeline and each rule's flow ID.
func build(t *testing.T, rules ...rule) (*pipeline.Pipeline, []uint64) {
	t.Helper()
	p := pipeline.New()
	var ids []uint64
	for _, r := range rules {
		ch, err := p.FlowMod(r.mod(), time.Unix(0, 0))
		if err != nil {
			t.Fatalf("add %+v: %v", r, err)
		}
		ids = append(ids, ch.Added[0].ID)
	}
	return p, ids
}

func placeTC(p *pipeline.Pipeline) map[uint64]Placement {
	return place(p.Snapshot(), placeInput{policy: PolicyTC, env: fakeEnv{}})
}

func TestPlacementPolicyOffKeepsEverythingSoft(t *testing.T) {
	p, ids := build(t, rule{priority: 10, inPort: 1, out: 2})
	got := place(p.Snapshot(), placeInput{policy: PolicyOff, env: fakeEnv{}})[ids[0]]
	if got.Tier != TierSoft || got.Reason != "offload policy is off" {
		t.Errorf("placement %+v, want soft because the policy is off", got)
	}
}

func TestPlacementExpressibleRulesGoToTheirTier(t *testing.T) {
	p, ids := build(t, rule{priority: 10, inPort: 1, out: 2}, rule{priority: 10, inPort: 2, out: 1})
	for _, pol := range []struct {
		policy Policy
		tier   Tier
	}{{PolicyTC, TierTC}, {PolicyHW, TierHW}, {PolicyAuto, TierHW}} {
		got := place(p.Snapshot(), placeInput{policy: pol.policy, env: fakeEnv{}})
		for _, id := range ids {
			if got[id].Tier != pol.tier || got[id].Filter == nil {
				t.Errorf("policy %s: flow %d placed %+v, want tier %s with a filter", pol.policy, id, got[id], pol.tier)
			}
		}
	}
}

func TestPlacementClosureKeepsShadowedRulesOutOfTC(t *testing.T) {
	// A higher-priority output:CONTROLLER rule overlaps the in_port=1 rule
	// (both match IPv4 from port 1) but not the in_port=2 rule.
	p, ids := build(t,
		rule{priority: 100, inPort: 1, ipv4: true, out: pipeline.PortController},
		rule{priority: 10, inPort: 1, out: 2},
		rule{priority: 10, inPort: 2, out: 1},
	)
	got := placeTC(p)
	if got[ids[0]].Tier != TierSoft || !strings.Contains(got[ids[0]].Reason, "CONTROLLER") {
		t.Errorf("controller rule: %+v, want soft naming CONTROLLER", got[ids[0]])
	}
	if got[ids[1]].Tier != TierSoft || !strings.Contains(got[ids[1]].Reason, "priority 100") {
		t.Errorf("shadowed rule: %+v, want soft naming the priority-100 rule", got[ids[1]])
	}
	if got[ids[2]].Tier != TierTC {
		t.Errorf("non-overlapping rule: %+v, want tc", got[ids[2]])
	}

	// Removing the controller rule lets the lower rule move in.
	del := rule{priority: 100, inPort: 1, ipv4: true}.mod()
	del.Command = pipeline.FlowDeleteStrict
	if _, err := p.FlowMod(del, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if got := placeTC(p)[ids[1]]; got.Tier != TierTC {
		t.Errorf("after the delete: %+v, want tc", got)
	}
}

func TestPlacementClosureTakesTheLatestOfSeveralShadowingRules(t *testing.T) {
	p, ids := build(t,
		rule{priority: 300, inPort: 1, ipv4: true, out: 2},                       // tc
		rule{priority: 200, inPort: 1, ipv4: true, out: pipeline.PortController}, // soft
		rule{priority: 10, inPort: 1, out: 2},                                    // must be soft
	)
	got := placeTC(p)
	if got[ids[0]].Tier != TierTC || got[ids[2]].Tier != TierSoft || !strings.Contains(got[ids[2]].Reason, "priority 200") {
		t.Errorf("placements %+v / %+v, want tc and soft (shadowed by priority 200)", got[ids[0]], got[ids[2]])
	}
}

func TestPlacementGotoNeedsACompleteTarget(t *testing.T) {
	p, ids := build(t,
		rule{table: 0, priority: 10, inPort: 1, gotoT: 1},
		rule{table: 1, priority: 10, inPort: 1, out: 2},
	)
	got := placeTC(p)
	if got[ids[0]].Tier != TierSoft || !strings.Contains(got[ids[0]].Reason, "table 1") {
		t.Errorf("goto to an incomplete table: %+v, want soft naming table 1", got[ids[0]])
	}
	// A table-miss drop entry completes table 1.
	if _, err := p.FlowMod(rule{table: 1, priority: 0}.mod(), time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if got := placeTC(p)[ids[0]]; got.Tier != TierTC {
		t.Errorf("goto to a complete table: %+v, want tc", got)
	}
}

func TestPlacementDeviceRefusalKeepsTheKernelsWords(t *testing.T) {
	p, ids := build(t, rule{priority: 10, inPort: 1, out: 2}, rule{priority: 5, inPort: 1, out: 3})
	msg := "netdevsim: only offload of BPF classifiers supported"
	got := place(p.Snapshot(), placeInput{policy: PolicyHW, env: fakeEnv{}, refused: map[uint64]string{ids[0]: msg}})
	if got[ids[0]].Tier != TierSoft || !strings.Contains(got[ids[0]].Reason, msg) {
		t.Errorf("refused rule: %+v, want soft with the kernel's message", got[ids[0]])
	}
	if got[ids[1]].Tier != TierSoft {
		t.Errorf("rule below the refused one: %+v, want soft by closure", got[ids[1]])
	}
}

func TestPlacementAutoDemotesWhatBreaksTheOrder(t *testing.T) {
	p, ids := build(t, rule{priority: 10, inPort: 1, ipv4: true, out: 2}, rule{priority: 5, inPort: 1, out: 3})
	// The driver kept the higher rule in software; the lower one, though
	// the hardware took it, must not run before it.
	got := place(p.Snapshot(), placeInput{policy: PolicyAuto, env: fakeEnv{}, inHW: map[uint64]bool{ids[0]: false, ids[1]: true}})
	if got[ids[0]].Tier != TierTC || got[ids[1]].Tier != TierTC || got[ids[1]].Filter == nil {
		t.Errorf("placements %+v / %+v, want both tc (the lower one demoted, filter kept)", got[ids[0]], got[ids[1]])
	}
}

func TestPlacementPrefTwinsCannotBothBeOffloaded(t *testing.T) {
	p, ids := build(t, rule{priority: 65535, inPort: 1, out: 2}, rule{priority: 65534, inPort: 1, ipv4: true, out: 3})
	got := placeTC(p)
	if got[ids[0]].Tier != TierTC || got[ids[1]].Tier != TierSoft || !strings.Contains(got[ids[1]].Reason, "pref") {
		t.Errorf("placements %+v / %+v, want tc and soft (same pref)", got[ids[0]], got[ids[1]])
	}
}

func TestParsePolicy(t *testing.T) {
	for _, s := range []string{"auto", "hw", "tc", "off"} {
		if _, err := ParsePolicy(s); err != nil {
			t.Errorf("ParsePolicy(%q): %v", s, err)
		}
	}
	if _, err := ParsePolicy("fast"); err == nil || !strings.Contains(err.Error(), "offload") {
		t.Errorf("ParsePolicy(fast) = %v, want an error naming the offload field", err)
	}
}

// TestIncrementalPlacementEqualsFullPlacement applies random flow mods
// (adds and strict deletes across three tables, with gotos, catch-alls and
// CONTROLLER outputs that move other rules) and checks after each one that
// re-placing only the changed tables, as a sync does, gives what placing
// every table from scratch gives.
func TestIncrementalPlacementEqualsFullPlacement(t *testing.T) {
	gotoTC := 0 // goto rules placed in tc, after each step of every seed
	for seed := int64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			p := pipeline.New()
			in := placeInput{policy: PolicyTC, env: fakeEnv{}}
			var st placeState
			got := map[uint64]Placement{}
			var rules []rule
			for step := 0; step < 60; step++ {
				fm := (rule{}).mod()
				if len(rules) > 0 && rng.Intn(4) == 0 {
					i := rng.Intn(len(rules))
					fm = rules[i].mod()
					fm.Command = pipeline.FlowDeleteStrict
					rules = append(rules[:i], rules[i+1:]...)
				} else {
					r := rule{table: uint8(rng.Intn(3)), priority: uint16(rng.Intn(4) * 10)}
					if rng.Intn(2) > 0 {
						r.inPort = uint32(1 + rng.Intn(3))
					}
					r.ipv4 = rng.Intn(2) == 0
					switch rng.Intn(8) {
					case 0:
						r.out = pipeline.PortController
					case 1, 2:
						if r.table < 2 {
							r.gotoT = r.table + 1 + uint8(rng.Intn(int(2-r.table)))
							break
						}
						fallthrough
					default:
						if r.inPort != 0 { // else drop: output needs an in_port match in tc
							r.out = uint32(1 + rng.Intn(3))
						}
					}
					rules = append(rules, r)
					fm = r.mod()
				}
				if _, err := p.FlowMod(fm, time.Unix(0, 0)); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				s := p.Snapshot()
				var dirty tableSet
				if st.snap == nil {
					dirty = allTables
				} else {
					for i := range pipeline.NumTables {
						if !s.SameTable(st.snap, uint8(i)) {
							dirty.add(i)
						}
					}
				}
				st.place(s, in, dirty, got)
				want := place(s, in)
				for id, pl := range want {
					if f := p.Flow(id); f != nil && f.Instr.Goto && pl.Tier == TierTC {
						gotoTC++
					}
				}
				for id := range got {
					if p.Flow(id) == nil {
						delete(got, id) // forget does this for removed flows
					}
				}
				if diff := cmp.Diff(tiers(want), tiers(got)); diff != "" {
					t.Fatalf("step %d (%+v): incremental placement differs from the full one (-want +got):\n%s", step, fm, diff)
				}
			}
		})
	}
	if gotoTC == 0 {
		t.Errorf("no goto rule was ever placed in tc: the sequences do not exercise goto targets")
	}
}

// tiers renders placements as tier and reason, by flow ID.
func tiers(m map[uint64]Placement) map[uint64]string {
	out := make(map[uint64]string, len(m))
	for id, p := range m {
		out[id] = string(p.Tier) + " " + p.Reason + fmt.Sprintf(" filter=%v", p.Filter != nil)
	}
	return out
}
