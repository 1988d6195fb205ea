package offload

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/waitfor"
)

// The tests in this file drive a network's tc tier against fakeTC: what
// the flow mods install, where each rule lands, and how the kernel's
// counters merge with the fast path's.

const (
	testBlock   = 7
	testMissDev = "nfmiss0"
)

// tcNet is a network with a tc tier on fakeTC and in-memory ports
// 1..n named vf1..vfn (ifindex 10+no), all on eswitch "sw0".
type tcNet struct {
	*Network
	kern  *fakeTC
	clock *fakeClock
	ports []*memio.Port // ports[no-1]

	mu     sync.Mutex
	events []Event
	stop   func()
}

type tcNetOpts struct {
	policy Policy
	driver string // the ports' driver (PortInfo.Driver)
	ports  int    // default 3
	noRun  bool   // do not start the fast path and the loops (no traffic; the test syncs and expires by hand)
	// noFastPath is Config.NoFastPath.
	noFastPath string
	// perPortBlocks is TCConfig.PerPortBlocks (policy tc on per-port blocks).
	perPortBlocks bool
	// reconcileDelay is TCConfig.ReconcileDelay (0: an hour).
	reconcileDelay time.Duration
	log            *zap.Logger // nil: none
}

func newTCNet(t *testing.T, kern *fakeTC, clock *fakeClock, o tcNetOpts) *tcNet {
	t.Helper()
	if o.ports == 0 {
		o.ports = 3
	}
	tn := &tcNet{kern: kern, clock: clock}
	if o.reconcileDelay == 0 {
		o.reconcileDelay = time.Hour
	}
	tn.Network = New(Config{Name: "tc", DPID: 1, Now: clock.Now, Offload: o.policy, Logger: o.log,
		TC: &TCConfig{Kernel: kern, Block: testBlock, MissDev: testMissDev, ReconcileDelay: o.reconcileDelay, PerPortBlocks: o.perPortBlocks}, NoFastPath: o.noFastPath})
	tn.Subscribe(func(e Event) {
		tn.mu.Lock()
		defer tn.mu.Unlock()
		tn.events = append(tn.events, e)
	})
	for no := 1; no <= o.ports; no++ {
		io := memio.New()
		tn.ports = append(tn.ports, io)
		info := PortInfo{No: uint32(no), Name: fmt.Sprintf("vf%d", no), Up: true, Ifindex: 10 + no, SwitchID: "sw0", Driver: o.driver}
		if err := tn.AddPort(info, io); err != nil {
			t.Fatal(err)
		}
	}
	if o.noRun {
		tn.stop = func() {}
		t.Cleanup(tn.Close)
		return tn
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tn.Run(ctx) //nolint:errcheck // ends with ctx
	}()
	var once sync.Once
	tn.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(tn.stop)
	return tn
}

func newClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

var allFlows = &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}

// add applies fm (an add) and returns the new flow's ID.
func (tn *tcNet) add(t *testing.T, fm *pipeline.FlowMod) uint64 {
	t.Helper()
	if err := tn.FlowMod(context.Background(), fm); err != nil {
		t.Fatalf("flow mod table %d priority %d: %v", fm.Table, fm.Priority, err)
	}
	for _, s := range tn.FlowStats(allFlows) {
		if s.Flow.Table == fm.Table && s.Flow.Priority == fm.Priority && s.Flow.Match == fm.Match {
			return s.Flow.ID
		}
	}
	t.Fatalf("flow table %d priority %d not found after its add", fm.Table, fm.Priority)
	return 0
}

func (tn *tcNet) mod(t *testing.T, fm *pipeline.FlowMod) {
	t.Helper()
	if err := tn.FlowMod(context.Background(), fm); err != nil {
		t.Fatalf("flow mod %d table %d priority %d: %v", fm.Command, fm.Table, fm.Priority, err)
	}
}

// barrier syncs every tier and checks the placement rules on what the
// tc tier now holds (CheckPlacement).
func (tn *tcNet) barrier(t *testing.T) {
	t.Helper()
	if err := tn.Barrier(context.Background()); err != nil {
		t.Fatal(err)
	}
	tn.checkPlacement(t)
}

// stat returns the FlowStat of flow id.
func (tn *tcNet) stat(t *testing.T, id uint64) FlowStat {
	t.Helper()
	for _, s := range tn.FlowStats(allFlows) {
		if s.Flow.ID == id {
			return s
		}
	}
	t.Fatalf("no flow %d", id)
	return FlowStat{}
}

// filterKey returns the key of flow id's filter in the fake.
func (tn *tcNet) filterKey(t *testing.T, id uint64) fakeKey {
	t.Helper()
	k, _, ok := tn.kern.filterOf(id)
	if !ok {
		t.Fatalf("flow %d has no filter in the kernel; filters: %+v", id, tn.kern.keys())
	}
	return k
}

func (tn *tcNet) flowRemoved() []*FlowRemoved {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	var out []*FlowRemoved
	for _, e := range tn.events {
		if fr, ok := e.(*FlowRemoved); ok {
			out = append(out, fr)
		}
	}
	return out
}

// send injects frames on port in and waits until port out has sent them.
func (tn *tcNet) send(t *testing.T, in, out uint32, frames ...[]byte) {
	t.Helper()
	tn.ports[in-1].Inject(frames...)
	if got := tn.ports[out-1].WaitSent(len(frames), 2*time.Second); len(got) != len(frames) {
		t.Fatalf("port %d sent %d frames, want %d", out, len(got), len(frames))
	}
}

// tierView is the part of a FlowStat the tests compare.
type tierView struct {
	Tier         Tier
	Reason       string
	Packets      uint64
	Bytes        uint64
	HW, TC, Soft Counts
}

func viewOf(s FlowStat) tierView {
	return tierView{Tier: s.Tier, Reason: s.Reason, Packets: s.Packets, Bytes: s.Bytes, HW: s.HW, TC: s.TC, Soft: s.Soft}
}

// mirredTo is the action redirecting to dev.
func mirredTo(dev string) tcflower.Action {
	return tcflower.Action{Kind: tcflower.KindMirred, Mirred: &tcflower.Mirred{Dev: dev, Redirect: true}}
}

var ignoreCookie = cmpopts.IgnoreFields(tcflower.Filter{}, "Cookie")

func TestTCPolicyTCInstallsRulesAndMissFiltersAndMergesCounters(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, ports: 2})
	r0 := tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
	r1 := tn.add(t, rule{table: 1, priority: 300, inPort: 2, out: 1}.mod())
	tn.barrier(t)

	if diff := cmp.Diff(map[int]uint32{11: testBlock, 12: testBlock}, kern.bindings()); diff != "" {
		t.Errorf("block bindings (-want +got):\n%s", diff)
	}
	for no := uint32(1); no <= 2; no++ {
		got, ok := kern.filter(fakeKey{0, tcflower.MissPref, no, testBlock})
		if !ok {
			t.Fatalf("port %d has no miss filter; filters: %+v", no, kern.keys())
		}
		want := tcflower.Filter{Chain: 0, Pref: tcflower.MissPref, Protocol: tcflower.EthPAll, Handle: no,
			Flags: tcflower.FlagSkipHW, Keys: tcflower.Keys{Indev: fmt.Sprintf("vf%d", no)},
			Actions: []tcflower.Action{
				{Kind: tcflower.KindVlan, Vlan: &tcflower.Vlan{Op: tcflower.VlanPush, ID: uint16(no), Proto: softpath.MissTPID, HasPrio: true}},
				mirredTo(testMissDev),
			}}
		if diff := cmp.Diff(want, got, ignoreCookie); diff != "" {
			t.Errorf("miss filter of port %d (-want +got):\n%s", no, diff)
		}
	}
	for _, c := range []struct {
		id    uint64
		table uint8
		prio  uint16
		in    string
		out   string
	}{{r0, 0, 10, "vf1", "vf2"}, {r1, 1, 300, "vf2", "vf1"}} {
		key, got, ok := kern.filterOf(c.id)
		if !ok {
			t.Fatalf("flow %d has no filter; filters: %+v", c.id, kern.keys())
		}
		want := tcflower.Filter{Chain: uint32(c.table), Pref: tcflower.Pref(c.prio), Protocol: tcflower.EthPAll, Handle: key.handle,
			Flags: tcflower.FlagSkipHW, Keys: tcflower.Keys{Indev: c.in}, Actions: []tcflower.Action{mirredTo(c.out)}}
		if diff := cmp.Diff(want, got, ignoreCookie); diff != "" {
			t.Errorf("filter of table %d priority %d (-want +got):\n%s", c.table, c.prio, diff)
		}
		info, _ := tcflower.ParseCookie(got.Cookie)
		if diff := cmp.Diff(tcflower.CookieInfo{Version: tcflower.CookieVersion, Table: c.table, FlowID: c.id, Priority: c.prio, Digest: info.Digest}, info); diff != "" {
			t.Errorf("cookie of table %d priority %d (-want +got):\n%s", c.table, c.prio, diff)
		}
	}

	// Two frames through the fast path, five in kernel software.
	frame := udpFrame()
	tn.send(t, 1, 2, frame, frame)
	kern.hit(tn.filterKey(t, r0), Counts{Packets: 5, Bytes: 500}, Counts{})
	soft := Counts{Packets: 2, Bytes: 2 * uint64(len(frame))}
	want := tierView{Tier: TierTC, Packets: 7, Bytes: 500 + soft.Bytes, TC: Counts{5, 500}, Soft: soft}
	if diff := cmp.Diff(want, viewOf(tn.stat(t, r0))); diff != "" {
		t.Errorf("flow stats of the table 0 rule (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tierView{Tier: TierTC}, viewOf(tn.stat(t, r1))); diff != "" {
		t.Errorf("flow stats of the table 1 rule (-want +got):\n%s", diff)
	}
}

func TestTCCountersNeverGoBackwards(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
	tn.barrier(t)
	first := tn.filterKey(t, id)
	kern.hit(first, Counts{Packets: 5, Bytes: 500}, Counts{})
	var seen []uint64 // packets after each step
	check := func(step string, want tierView) {
		t.Helper()
		got := viewOf(tn.stat(t, id))
		if !strings.Contains(got.Reason, want.Reason) {
			t.Errorf("%s: reason %q, want it to contain %q", step, got.Reason, want.Reason)
		}
		got.Reason = want.Reason
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: flow stats (-want +got):\n%s", step, diff)
		}
		seen = append(seen, got.Packets)
	}
	check("installed", tierView{Tier: TierTC, Packets: 5, Bytes: 500, TC: Counts{5, 500}})

	// A modify replaces the filter in place; what it counted stays, also
	// what it counted since the last read.
	kern.hit(first, Counts{Packets: 1, Bytes: 100}, Counts{})
	kern.resetCalls()
	mod := rule{priority: 10, inPort: 1, out: 3}.mod()
	mod.Command = pipeline.FlowModifyStrict
	tn.mod(t, mod)
	tn.barrier(t)
	if diff := cmp.Diff([]fakeCall{{Op: "replace", Block: testBlock, Chain: 0, Pref: first.pref, Handle: first.handle, Flags: tcflower.FlagSkipHW, FlowID: id}},
		kern.callsOf("add", "replace", "remove")); diff != "" {
		t.Errorf("modify: kernel calls (-want +got):\n%s", diff)
	}
	if _, f, _ := kern.filterOf(id); !cmp.Equal(f.Actions, []tcflower.Action{mirredTo("vf3")}) {
		t.Errorf("modify: filter actions %+v, want a redirect to vf3", f.Actions)
	}
	check("modified", tierView{Tier: TierTC, Packets: 6, Bytes: 600, TC: Counts{6, 600}})
	kern.hit(first, Counts{Packets: 2, Bytes: 200}, Counts{})
	check("modified and used", tierView{Tier: TierTC, Packets: 8, Bytes: 800, TC: Counts{8, 800}})

	// A higher-priority overlapping output:CONTROLLER rule pushes it to
	// the fast path; the filter's final counts stay.
	kern.hit(first, Counts{Packets: 1, Bytes: 100}, Counts{}) // counted after the last read, before the move
	ctl := rule{priority: 100, inPort: 1, ipv4: true, out: pipeline.PortController}
	tn.add(t, ctl.mod())
	tn.barrier(t)
	if _, _, ok := kern.filterOf(id); ok {
		t.Errorf("shadowed rule: its filter is still in the kernel")
	}
	check("moved to soft", tierView{Tier: TierSoft, Reason: "priority 100", Packets: 9, Bytes: 900, TC: Counts{9, 900}})
	tn.stat(t, id).Flow.Counters.Add(60, clock.Now().UnixNano())
	check("used in soft", tierView{Tier: TierSoft, Reason: "priority 100", Packets: 10, Bytes: 960, TC: Counts{9, 900}, Soft: Counts{1, 60}})

	// Deleting it lets the rule move back in, counting on from there.
	del := ctl.mod()
	del.Command = pipeline.FlowDeleteStrict
	tn.mod(t, del)
	tn.barrier(t)
	check("back in tc", tierView{Tier: TierTC, Packets: 10, Bytes: 960, TC: Counts{9, 900}, Soft: Counts{1, 60}})
	kern.hit(tn.filterKey(t, id), Counts{Packets: 2, Bytes: 200}, Counts{})
	check("used in tc again", tierView{Tier: TierTC, Packets: 12, Bytes: 1160, TC: Counts{11, 1100}, Soft: Counts{1, 60}})

	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Errorf("packets went backwards: %v", seen)
		}
	}
}

// refuseSkipSW refuses hardware-only filters as netdevsim does.
func refuseSkipSW(op string, _ uint32, f *tcflower.Filter) error {
	if f.Flags&tcflower.FlagSkipSW == 0 {
		return nil
	}
	return &tcflower.Error{Op: op + " flower filter", Errno: unix.EOPNOTSUPP, Message: "netdevsim: only offload of BPF classifiers supported"}
}

func TestTCPolicyHWRefusedByTheDeviceFallsBackToSoft(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	kern.setRefuse(refuseSkipSW)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyHW})
	ids := []uint64{
		tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod()),
		tn.add(t, rule{priority: 10, inPort: 2, out: 1}.mod()),
		tn.add(t, rule{priority: 5, inPort: 3}.mod()), // drop
	}
	tn.barrier(t)
	for _, id := range ids {
		s := tn.stat(t, id)
		if s.Tier != TierSoft || !strings.Contains(s.Reason, "netdevsim: only offload of BPF classifiers supported") {
			t.Errorf("flow %d: tier %s reason %q, want soft with the kernel's message", id, s.Tier, s.Reason)
		}
	}
	var tried []uint64
	for _, c := range kern.callsOf("add", "replace") {
		if c.FlowID != 0 {
			if !c.Failed || c.Flags != tcflower.FlagSkipSW {
				t.Errorf("call %+v: want a refused skip_sw install", c)
			}
			tried = append(tried, c.FlowID)
		}
	}
	if len(tried) == 0 {
		t.Errorf("no rule was tried in the device")
	}
	// Each port has a block of its own (testBlock+no) holding its miss
	// filter, and nothing else.
	want := []fakeKey{{0, tcflower.MissPref, 1, testBlock + 1}, {0, tcflower.MissPref, 2, testBlock + 2}, {0, tcflower.MissPref, 3, testBlock + 3}}
	if diff := cmp.Diff(want, kern.keys(), cmp.AllowUnexported(fakeKey{})); diff != "" {
		t.Errorf("filters in the kernel (-want +got):\n%s", diff)
	}
	frame := udpFrame()
	tn.send(t, 1, 2, frame)
	tn.send(t, 2, 1, frame, frame)
	if s := tn.stat(t, ids[1]); s.Packets != 2 || s.Soft.Packets != 2 {
		t.Errorf("soft flow counted %+v, want 2 packets in the fast path", viewOf(s))
	}
}

func TestTCPolicyAutoFollowsInHWAndDemotesToKeepTheOrder(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	// The device takes every filter but those matching IPv4.
	kern.setInHW(func(f *tcflower.Filter) bool { return f.Keys.EthType != tcflower.EthTypeIPv4 })
	// Not running: the three rules are installed by one sync, at the
	// barrier, before any in_hw is known.
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyAuto, noRun: true})
	tn.mod(t, rule{priority: 10, inPort: 1, ipv4: true, out: 2}.mod()) // kept in software by the driver
	tn.mod(t, rule{priority: 5, inPort: 1, out: 3}.mod())              // hardware takes it: must be demoted
	tn.mod(t, rule{priority: 10, inPort: 2, out: 1}.mod())             // no overlap: hardware
	tn.barrier(t)
	ids := tn.idsByInPortAndPriority(t)
	high, low, other := ids[[2]uint32{1, 10}], ids[[2]uint32{1, 5}], ids[[2]uint32{2, 10}]

	for _, c := range []struct {
		name   string
		id     uint64
		tier   Tier
		flags  tcflower.Flags
		reason string // why it is not in hardware
	}{
		{"ipv4 rule", high, TierTC, 0, "not in hardware: the driver did not take the filter (in_hw not set)"},
		{"lower overlapping rule", low, TierTC, tcflower.FlagSkipHW, "a higher-priority overlapping rule (table 0, priority 10, cookie 0x0) runs in tier tc"},
		{"other rule", other, TierHW, 0, ""},
	} {
		if got := tn.stat(t, c.id); got.Tier != c.tier || got.Reason != c.reason {
			t.Errorf("%s: tier %s reason %q, want %s %q", c.name, got.Tier, got.Reason, c.tier, c.reason)
		}
		if _, f, ok := kern.filterOf(c.id); !ok || f.Flags != c.flags {
			t.Errorf("%s: filter installed %v flags %v, want flags %v", c.name, ok, f.Flags, c.flags)
		}
	}
	// The lower rule went in without flags, the kernel said in_hw, and it
	// was re-installed in place with skip_hw.
	key := tn.filterKey(t, low)
	var lowCalls []fakeCall
	for _, c := range kern.callsOf("add", "replace", "remove") {
		if c.FlowID == low || c.Op == "remove" {
			lowCalls = append(lowCalls, c)
		}
	}
	wantCalls := []fakeCall{
		{Op: "add", Block: testBlock + 1, Chain: 0, Pref: key.pref, Handle: key.handle, Flags: 0, FlowID: low},
		{Op: "replace", Block: testBlock + 1, Chain: 0, Pref: key.pref, Handle: key.handle, Flags: tcflower.FlagSkipHW, FlowID: low},
	}
	if diff := cmp.Diff(wantCalls, lowCalls); diff != "" {
		t.Errorf("kernel calls for the lower rule (-want +got):\n%s", diff)
	}

	kern.hit(tn.filterKey(t, other), Counts{Packets: 1, Bytes: 100}, Counts{Packets: 7, Bytes: 700})
	want := tierView{Tier: TierHW, Packets: 8, Bytes: 800, HW: Counts{7, 700}, TC: Counts{1, 100}}
	if diff := cmp.Diff(want, viewOf(tn.stat(t, other))); diff != "" {
		t.Errorf("hardware rule's counters (-want +got):\n%s", diff)
	}
}

// idsByInPortAndPriority maps {in_port, priority} to the flow IDs of
// table 0's rules built by rule.mod.
func (tn *tcNet) idsByInPortAndPriority(t *testing.T) map[[2]uint32]uint64 {
	t.Helper()
	out := map[[2]uint32]uint64{}
	for _, s := range tn.FlowStats(allFlows) {
		for in := uint32(1); in <= uint32(len(tn.ports)); in++ {
			plain, ipv4 := rule{inPort: in}.mod().Match, rule{inPort: in, ipv4: true}.mod().Match
			if s.Flow.Match == plain || s.Flow.Match == ipv4 {
				out[[2]uint32{in, uint32(s.Flow.Priority)}] = s.Flow.ID
			}
		}
	}
	return out
}

func TestTCFlowRemovedCarriesTheFiltersFinalCounters(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	fm := rule{priority: 10, inPort: 1, out: 2}.mod()
	fm.Flags = pipeline.FlagSendFlowRem
	id := tn.add(t, fm)
	tn.barrier(t)
	frame := udpFrame()
	tn.send(t, 1, 2, frame, frame)
	// Counted after the last read of the counters: only Remove's answer has them.
	kern.hit(tn.filterKey(t, id), Counts{Packets: 4, Bytes: 400}, Counts{})

	del := rule{priority: 10, inPort: 1}.mod()
	del.Command = pipeline.FlowDeleteStrict
	tn.mod(t, del)
	got := tn.flowRemoved()
	if len(got) != 1 {
		t.Fatalf("%d FLOW_REMOVED, want 1", len(got))
	}
	if diff := cmp.Diff(Counts{6, 400 + 2*uint64(len(frame))}, Counts{got[0].Packets, got[0].Bytes}); diff != "" {
		t.Errorf("FLOW_REMOVED counters (-want +got):\n%s", diff)
	}
	if got[0].Reason != pipeline.RemovedDelete {
		t.Errorf("FLOW_REMOVED reason %d, want %d", got[0].Reason, pipeline.RemovedDelete)
	}
	if _, _, ok := kern.filterOf(id); ok {
		t.Errorf("the deleted rule's filter is still in the kernel")
	}
}

// TestTCRestartWaitsForTheControllersFirstRule: the reconcile delay
// counts from the first rule a controller sends, so a controller that
// comes back after the delay has passed since the start still finds its
// filters (adopted: the same handle, nothing added), and the rest go the
// delay after its first rule; with no rule from any controller, the
// filters go ten times the delay after the start.
func TestTCRestartWaitsForTheControllersFirstRule(t *testing.T) {
	const delay = 100 * time.Millisecond
	clock := newClock()
	kern := newFakeTC(clock.Now)
	first := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	kept := first.filterKeyAfter(t, first.add(t, rule{priority: 10, inPort: 1, out: 2}.mod()))
	orphan := first.filterKeyAfter(t, first.add(t, rule{priority: 30, inPort: 3, out: 1}.mod()))
	first.stop()

	kern.resetCalls()
	second := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, reconcileDelay: delay})
	time.Sleep(3 * delay) // the controller is slow to come back
	second.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
	second.barrier(t)
	if got := kern.callsOf("add", "remove"); len(got) != 0 {
		t.Errorf("kernel calls by the time the controller's first rule came, 3 delays after the start: %+v; want none (its filter adopted, the other kept)", got)
	}
	if _, ok := kern.filter(kept); !ok {
		t.Error("the re-sent rule's filter is gone")
	}
	waitfor.True(t, 5*time.Second, "the filter of the rule not re-sent to go", func() bool { _, ok := kern.filter(orphan); return !ok })

	second.stop()
	newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, reconcileDelay: delay}) // no controller comes
	waitfor.True(t, 5*time.Second, "the filters of a run no controller sends rules to to go after ten delays", func() bool {
		_, ok := kern.filter(kept)
		return !ok
	})
}

func TestTCRestartReadoptsFiltersAndReconcilesTheRest(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	rules := []rule{
		{priority: 10, inPort: 1, out: 2},
		{priority: 20, inPort: 2, out: 1},
		{priority: 30, inPort: 3, out: 1}, // not re-sent after the restart
	}
	first := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	var keys []fakeKey
	for _, r := range rules {
		keys = append(keys, first.filterKeyAfter(t, first.add(t, r.mod())))
	}
	kern.hit(keys[0], Counts{Packets: 50, Bytes: 5000}, Counts{})
	first.stop() // the agent goes away; its filters keep forwarding

	kern.resetCalls()
	second := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	id0 := second.add(t, rules[0].mod())
	id1 := second.add(t, rules[1].mod())
	second.barrier(t)
	if got := kern.callsOf("add"); len(got) != 0 {
		t.Errorf("re-sent rules were added again instead of adopted: %+v", got)
	}
	for i, id := range []uint64{id0, id1} {
		s := second.stat(t, id)
		if diff := cmp.Diff(tierView{Tier: TierTC}, viewOf(s)); diff != "" {
			t.Errorf("adopted rule %d (-want +got):\n%s", i, diff)
		}
	}
	if _, ok := kern.filter(keys[2]); !ok {
		t.Errorf("the filter of the rule not re-sent yet was removed before reconcile")
	}
	kern.hit(keys[0], Counts{Packets: 4, Bytes: 400}, Counts{})
	if diff := cmp.Diff(Counts{4, 400}, second.stat(t, id0).TC); diff != "" {
		t.Errorf("adopted rule's tc counters after 4 packets (-want +got):\n%s", diff)
	}

	kern.resetCalls()
	second.Reconcile()
	if diff := cmp.Diff([]fakeCall{{Op: "remove", Block: testBlock, Chain: keys[2].chain, Pref: keys[2].pref, Handle: keys[2].handle}},
		kern.callsOf("add", "replace", "remove")); diff != "" {
		t.Errorf("reconcile: kernel calls (-want +got):\n%s", diff)
	}
	want := []fakeKey{keys[1], keys[0], {0, tcflower.MissPref, 1, testBlock}, {0, tcflower.MissPref, 2, testBlock}, {0, tcflower.MissPref, 3, testBlock}}
	if diff := cmp.Diff(want, kern.keys(), cmp.AllowUnexported(fakeKey{})); diff != "" {
		t.Errorf("filters after reconcile (-want +got):\n%s", diff)
	}
}

// filterKeyAfter syncs and returns flow id's filter key.
func (tn *tcNet) filterKeyAfter(t *testing.T, id uint64) fakeKey {
	t.Helper()
	tn.barrier(t)
	return tn.filterKey(t, id)
}

func TestTCNoTierEveryRuleIsSoftWithTheReason(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no cls_flower", Config{Offload: PolicyAuto, TCUnavailable: "the kernel has no cls_flower"}, "tc tier unavailable: the kernel has no cls_flower"},
		{"policy off", Config{Offload: PolicyOff}, "offload policy is off"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := newClock()
			kern := newFakeTC(clock.Now)
			cfg := c.cfg
			cfg.Name, cfg.Now = "t", clock.Now
			if c.cfg.Offload == PolicyOff {
				cfg.TC = &TCConfig{Kernel: kern, Block: testBlock, MissDev: testMissDev}
			}
			n := New(cfg)
			defer n.Close()
			if err := n.AddPort(PortInfo{No: 1, Name: "vf1", Ifindex: 11, Up: true}, memio.New()); err != nil {
				t.Fatal(err)
			}
			if err := n.FlowMod(context.Background(), rule{priority: 10, inPort: 1}.mod()); err != nil {
				t.Fatal(err)
			}
			stats := n.FlowStats(allFlows)
			if len(stats) != 1 {
				t.Fatalf("%d flows, want 1", len(stats))
			}
			if diff := cmp.Diff(tierView{Tier: TierSoft, Reason: c.want}, viewOf(stats[0])); diff != "" {
				t.Errorf("flow stats (-want +got):\n%s", diff)
			}
			if got := kern.callsOf(); len(got) != 0 {
				t.Errorf("the kernel was called: %+v", got)
			}
		})
	}
}

func TestTCTableStatsIncludeTheTCTier(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
	tn.barrier(t)
	// Five packets matched the rule in tc; three from port 3 missed tc: the
	// miss filter handed them to the fast path, which looked them up in
	// table 0 and missed too. Two more matched the rule in the fast path.
	kern.hit(tn.filterKey(t, id), Counts{Packets: 5, Bytes: 500}, Counts{})
	kern.hit(fakeKey{0, tcflower.MissPref, 3, testBlock}, Counts{Packets: 3, Bytes: 300}, Counts{})
	frame := udpFrame()
	tn.ports[2].Inject(frame, frame, frame)
	tn.send(t, 1, 2, frame, frame)
	waitFastPathLookups(t, tn.Network, 0, 3+2)
	// Each packet is one lookup of table 0.
	want := TableStat{Table: 0, Active: 1, Lookups: 5 + 3 + 2, Matched: 5 + 2}
	if diff := cmp.Diff(want, tn.TableStats()[0]); diff != "" {
		t.Errorf("table 0 stats (-want +got):\n%s", diff)
	}
}

// waitFastPathLookups waits until the fast path has counted n lookups of
// table (it folds its counts per batch, on its reader goroutines).
func waitFastPathLookups(t *testing.T, n *Network, table int, want uint64) {
	t.Helper()
	if err := waitfor.Until(5*time.Second, func() error {
		if lookups, _ := n.Datapath().TableStats(); lookups[table] < want {
			return fmt.Errorf("the fast path counted %d lookups of table %d, want %d", lookups[table], table, want)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestTCIdleTimeoutFollowsTheFiltersLastUse(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, noRun: true})
	fm := rule{priority: 10, inPort: 1, out: 2}.mod()
	fm.IdleTimeout = 10
	fm.Flags = pipeline.FlagSendFlowRem
	id := tn.add(t, fm)
	tn.barrier(t)
	key := tn.filterKey(t, id)

	steps := []struct {
		advance time.Duration // before the filter is used (if it is)
		used    bool
		after   time.Duration // after the use, before expiry runs
		expired bool
	}{
		{11 * time.Second, true, time.Second, false}, // past added+10s, but tc used it 1s ago
		{8 * time.Second, true, time.Second, false},  // used again at +20s
		{8 * time.Second, false, 0, false},           // +29s: 9s idle
		{2 * time.Second, false, 0, true},            // +31s: 11s idle
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if s.used {
			kern.hit(key, Counts{Packets: 1, Bytes: 100}, Counts{})
		}
		clock.Advance(s.after)
		tn.expire()
		if got := len(tn.flowRemoved()) == 1; got != s.expired {
			t.Fatalf("step %d (at +%v): expired %v, want %v", i, clock.Now().Sub(time.Unix(1_700_000_000, 0)), got, s.expired)
		}
	}
	fr := tn.flowRemoved()[0]
	if fr.Reason != pipeline.RemovedIdleTimeout || fr.Packets != 2 || fr.Bytes != 200 {
		t.Errorf("FLOW_REMOVED reason %d packets %d bytes %d, want idle timeout (%d) with 2 packets, 200 bytes",
			fr.Reason, fr.Packets, fr.Bytes, pipeline.RemovedIdleTimeout)
	}
	if _, ok := kern.filter(key); ok {
		t.Errorf("the expired rule's filter is still in the kernel")
	}
}

// refuseRuleReplace refuses the replace of a rule's filter.
func refuseRuleReplace(op string, _ uint32, f *tcflower.Filter) error {
	if op != "replace" || cookieFlow(f.Cookie) == 0 {
		return nil
	}
	return &tcflower.Error{Op: op + " flower filter", Errno: unix.EOPNOTSUPP, Message: "fake: replace refused"}
}

func TestTCRefusedReplaceKeepsTheCountsOnce(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
	tn.barrier(t)
	kern.hit(tn.filterKey(t, id), Counts{Packets: 5, Bytes: 500}, Counts{})
	kern.setRefuse(refuseRuleReplace)
	mod := rule{priority: 10, inPort: 1, out: 3}.mod()
	mod.Command = pipeline.FlowModifyStrict
	tn.mod(t, mod)
	tn.barrier(t)
	got := viewOf(tn.stat(t, id))
	if !strings.Contains(got.Reason, "fake: replace refused") {
		t.Errorf("reason %q, want the kernel's refusal", got.Reason)
	}
	got.Reason = ""
	if diff := cmp.Diff(tierView{Tier: TierSoft, Packets: 5, Bytes: 500, TC: Counts{5, 500}}, got); diff != "" {
		t.Errorf("after a refused replace (-want +got):\n%s", diff)
	}
	if _, _, ok := kern.filterOf(id); ok {
		t.Errorf("the old filter, which does what the rule no longer says, is still in the kernel")
	}
}

// restartWith runs a first network with rule before, counts packets on
// its filter, stops it and starts a second network on the same kernel.
func restartWith(t *testing.T, before rule, counted uint64) (*tcNet, *fakeTC, fakeKey) {
	t.Helper()
	clock := newClock()
	kern := newFakeTC(clock.Now)
	first := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	key := first.filterKeyAfter(t, first.add(t, before.mod()))
	kern.hit(key, Counts{Packets: counted, Bytes: 100 * counted}, Counts{})
	first.stop()
	kern.resetCalls()
	second := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	second.barrier(t) // reads the earlier run's filters
	return second, kern, key
}

// reconcileLogs returns the context of each log entry of a reconcile.
func reconcileLogs(logs *observer.ObservedLogs) []map[string]any {
	var out []map[string]any
	for _, e := range logs.FilterMessageSnippet("reconciled the filters of an earlier run").All() {
		out = append(out, e.ContextMap())
	}
	return out
}

func TestTCRestartReconcileLogsWhatBecameOfTheEarlierFilters(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	first := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	for _, r := range []rule{{priority: 10, inPort: 1, out: 2}, {priority: 20, inPort: 2, out: 1}, {priority: 30, inPort: 3, out: 1}} {
		first.add(t, r.mod())
	}
	first.barrier(t)
	first.stop()

	core, logs := observer.New(zap.InfoLevel)
	second := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, log: zap.New(core)})
	second.add(t, rule{priority: 10, inPort: 1, out: 2}.mod()) // as it was: adopted
	second.add(t, rule{priority: 20, inPort: 2, out: 3}.mod()) // other actions: its filter is replaced
	second.barrier(t)                                          // priority 30 is not re-sent: removed
	if got := reconcileLogs(logs); len(got) != 0 {
		t.Errorf("reconcile logged before it ran: %v", got)
	}
	second.Reconcile()
	want := []map[string]any{{
		"network": "tc", "found": int64(3), "adopted": int64(1), "replaced": int64(1), "removed": int64(1), "not_removed": int64(0),
		"blocks": []any{map[string]any{"block": uint32(testBlock), "found": 3, "adopted": 1, "replaced": 1, "removed": 1}},
	}}
	if diff := cmp.Diff(want, reconcileLogs(logs)); diff != "" {
		t.Errorf("the reconcile's log (-want +got):\n%s", diff)
	}
	second.add(t, rule{priority: 40, inPort: 3, out: 2}.mod())
	second.barrier(t)
	second.Reconcile()
	if got := reconcileLogs(logs); len(got) != 1 {
		t.Errorf("%d reconcile logs after syncs and a second reconcile, want the first alone: %v", len(got), got)
	}
}

// A port added after the reconcile whose block an earlier run left
// filters in (the same network and port number) keeps only those its
// first sync adopts: the controller has re-sent its rules by then, and
// no later reconcile would remove the rest.
func TestTCRestartPortAddedAfterTheReconcileKeepsOnlyWhatItsRulesAdopt(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	opts := tcNetOpts{policy: PolicyTC, perPortBlocks: true}
	first := newTCNet(t, kern, clock, opts)
	resent, dropped := rule{priority: 10, inPort: 3, out: 1}, rule{priority: 20, inPort: 3, ipv4: true}
	keep := first.filterKeyAfter(t, first.add(t, resent.mod()))
	stale := first.filterKeyAfter(t, first.add(t, dropped.mod()))
	first.stop()

	core, logs := observer.New(zap.InfoLevel)
	opts.ports, opts.log = 2, zap.New(core) // vf3 is not back yet
	second := newTCNet(t, kern, clock, opts)
	second.add(t, resent.mod())
	second.barrier(t)
	second.Reconcile()
	if _, ok := kern.filter(stale); !ok {
		t.Fatalf("the filter of the rule not re-sent went before its port came back")
	}
	kern.resetCalls()
	if err := second.AddPort(PortInfo{No: 3, Name: "vf3", Up: true, Ifindex: 13, SwitchID: "sw0"}, memio.New()); err != nil {
		t.Fatal(err)
	}
	second.barrier(t)
	if _, ok := kern.filter(stale); ok {
		t.Errorf("the filter of the rule not re-sent is still on vf3's block after its first sync")
	}
	if _, ok := kern.filter(keep); !ok {
		t.Errorf("the re-sent rule's filter %+v went", keep)
	}
	if got := kern.callsOf("add"); len(got) != 0 {
		t.Errorf("the re-sent rule was added again instead of adopted: %+v", got)
	}
	want := []map[string]any{{
		"network": "tc", "found": int64(2), "adopted": int64(1), "replaced": int64(0), "removed": int64(1), "not_removed": int64(0),
		"blocks": []any{map[string]any{"block": uint32(keep.block), "port": "vf3", "found": 2, "adopted": 1, "replaced": 0, "removed": 1}},
	}}
	if diff := cmp.Diff(want, reconcileLogs(logs)); diff != "" {
		t.Errorf("the reconcile's log (-want +got):\n%s", diff)
	}
}

func TestTCRestartAdoptedRuleCountsFromItsReadoption(t *testing.T) {
	tn, kern, key := restartWith(t, rule{priority: 10, inPort: 1, out: 2}, 50)
	// The earlier run's filter keeps forwarding until the controller
	// re-sends its rule: those packets are not the new rule's.
	kern.hit(key, Counts{Packets: 7, Bytes: 700}, Counts{})
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
	tn.barrier(t)
	if got := kern.callsOf("add"); len(got) != 0 {
		t.Errorf("the re-sent rule was added instead of adopted: %+v", got)
	}
	if diff := cmp.Diff(tierView{Tier: TierTC}, viewOf(tn.stat(t, id))); diff != "" {
		t.Errorf("adopted rule (-want +got):\n%s", diff)
	}
}

func TestTCRestartChangedRuleTakesOverTheFilterAndCountsFromZero(t *testing.T) {
	tn, kern, key := restartWith(t, rule{priority: 10, inPort: 1, out: 2}, 50)
	// Re-sent with other actions: flower refuses a second filter with the
	// same keys, so the earlier run's filter is replaced.
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 3}.mod())
	tn.barrier(t)
	gotKey, f, ok := kern.filterOf(id)
	if !ok || gotKey != key || !cmp.Equal(f.Actions, []tcflower.Action{mirredTo("vf3")}) {
		t.Fatalf("filter %+v (found %v) %+v, want the earlier filter %+v redirecting to vf3", gotKey, ok, f.Actions, key)
	}
	kern.hit(key, Counts{Packets: 4, Bytes: 400}, Counts{})
	if diff := cmp.Diff(tierView{Tier: TierTC, Packets: 4, Bytes: 400, TC: Counts{4, 400}}, viewOf(tn.stat(t, id))); diff != "" {
		t.Errorf("rule on the taken-over filter after 4 packets (-want +got):\n%s", diff)
	}
}

func TestTCRestartChangedRuleRefusedLeavesNoStaleFilter(t *testing.T) {
	tn, kern, key := restartWith(t, rule{priority: 10, inPort: 1, out: 2}, 50)
	kern.setRefuse(refuseRuleReplace)
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 3}.mod())
	tn.barrier(t)
	if s := tn.stat(t, id); s.Tier != TierSoft || !strings.Contains(s.Reason, "fake: replace refused") {
		t.Errorf("tier %s reason %q, want soft with the kernel's refusal", s.Tier, s.Reason)
	}
	// The earlier run's filter sends port 1's packets to vf2, where the
	// rule, now in the fast path, says vf3: it must not stay in front of it.
	if _, ok := kern.filter(key); ok {
		t.Errorf("the earlier run's filter %+v (redirect to vf2) is still in the kernel", key)
	}
	tn.Reconcile()
	if _, ok := kern.filter(key); ok {
		t.Errorf("after reconcile: the earlier run's filter %+v is still in the kernel", key)
	}
}

func TestTCPolicyAutoKeepsTheOrderWhenTheDriverStartsTakingFilters(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	kern.setInHW(func(*tcflower.Filter) bool { return false }) // e.g. the device's table is full
	// Not running: both rules are installed by one sync, at the barrier
	// (FlowStats, in tn.add, would sync too).
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyAuto, noRun: true})
	tn.mod(t, rule{priority: 20, inPort: 1, ipv4: true, out: 2}.mod())
	tn.mod(t, rule{priority: 10, inPort: 1, out: 3}.mod())
	tn.barrier(t)
	ids := tn.idsByInPortAndPriority(t)
	high, low := ids[[2]uint32{1, 20}], ids[[2]uint32{1, 10}]
	if h, l := tn.stat(t, high).Tier, tn.stat(t, low).Tier; h != TierTC || l != TierTC {
		t.Fatalf("tiers %s/%s, want tc/tc while the device takes nothing", h, l)
	}
	kern.setInHW(func(*tcflower.Filter) bool { return true }) // room again
	mod := rule{priority: 10, inPort: 1, out: 2}.mod()
	mod.Command = pipeline.FlowModifyStrict
	tn.mod(t, mod)
	tn.barrier(t)
	h, l := tn.stat(t, high).Tier, tn.stat(t, low).Tier
	if l.rank() < h.rank() {
		t.Errorf("the lower rule runs in %s before the higher overlapping rule in %s", l, h)
	}
	_, hf, _ := kern.filterOf(high)
	_, lf, _ := kern.filterOf(low)
	if kernHW := func(f tcflower.Filter) bool { return f.Flags&tcflower.FlagSkipHW == 0 }; kernHW(lf) && !kernHW(hf) {
		t.Errorf("kernel: the lower rule's filter may run in hardware (flags %v) while the higher one is skip_hw (%v)", lf.Flags, hf.Flags)
	}
}

func TestTCRemovePortRemovesItsMissFilterAndItsRulesLeaveTC(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 3}.mod())
	tn.barrier(t)
	kern.hit(tn.filterKey(t, id), Counts{Packets: 2, Bytes: 200}, Counts{})
	if err := tn.RemovePort(3); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int]uint32{11: testBlock, 12: testBlock}, kern.bindings()); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	want := []fakeKey{{0, tcflower.MissPref, 1, testBlock}, {0, tcflower.MissPref, 2, testBlock}}
	if diff := cmp.Diff(want, kern.keys(), cmp.AllowUnexported(fakeKey{})); diff != "" {
		t.Errorf("filters (-want +got):\n%s", diff)
	}
	if s := tn.stat(t, id); s.Tier != TierSoft || s.TC != (Counts{2, 200}) {
		t.Errorf("rule to the removed port: tier %s tc %+v, want soft keeping tc counts {2 200}", s.Tier, s.TC)
	}
}

// TestTCBatchedAddsKeepTheInstallOrder installs a burst through the
// batched path (policy tc, nothing to adopt): the later table's filters
// reach the kernel before the jump into it, lower priorities before
// higher ones, each with a handle of the tier's own, unique in its
// chain and pref.
func TestTCBatchedAddsKeepTheInstallOrder(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, ports: 3, noRun: true})
	tn.mod(t, rule{table: 0, priority: 20, inPort: 1, gotoT: 1}.mod())
	tn.mod(t, rule{table: 0, priority: 10, inPort: 2, out: 3}.mod())
	tn.mod(t, rule{table: 1, priority: 5}.mod()) // catch-all drop: table 1 complete
	tn.mod(t, rule{table: 1, priority: 30, inPort: 1, out: 2}.mod())
	tn.mod(t, rule{table: 1, priority: 30, inPort: 2, ipv4: true, out: 3}.mod()) // one pref, no overlap
	kern.resetCalls()
	tn.barrier(t)
	type call struct {
		Chain uint32
		Pref  uint16
	}
	var got []call
	handles := map[fakeKey]bool{}
	for _, c := range kern.callsOf("add", "replace", "get") {
		if c.Op != "add" || c.Failed {
			t.Errorf("call %+v: want only successful adds", c)
		}
		got = append(got, call{c.Chain, c.Pref})
		k := fakeKey{c.Chain, c.Pref, c.Handle, c.Block}
		if c.Handle == 0 || handles[k] {
			t.Errorf("add %+v: handle zero or taken twice", c)
		}
		handles[k] = true
	}
	want := []call{ // last table first, highest priority first
		{1, tcflower.Pref(30)}, {1, tcflower.Pref(30)}, {1, tcflower.Pref(5)},
		{0, tcflower.Pref(20)}, {0, tcflower.Pref(10)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("install order (-want +got):\n%s", diff)
	}
	for _, s := range tn.FlowStats(allFlows) {
		if s.Tier != TierTC {
			t.Errorf("flow table %d priority %d in tier %s (%s), want tc", s.Flow.Table, s.Flow.Priority, s.Tier, s.Reason)
		}
	}
}

// TestTCVlanRuleHasTwoFiltersOneRule: a rule matching vlan_vid without the
// TPID (OpenFlow cannot name it) becomes an 802.1Q and an 802.1ad filter
// at one chain and pref; their counters add up to the rule's, both leave
// with the rule, and FLOW_REMOVED carries both filters' final counts.
func TestTCVlanRuleHasTwoFiltersOneRule(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	fm := flowtext.MustFlowMod("priority=10,in_port=1,vlan_vid=10,actions=set_field:20->vlan_vid,output:2")
	fm.Flags = pipeline.FlagSendFlowRem
	id := tn.add(t, fm)
	tn.barrier(t)

	keys := kern.filtersOf(id)
	if len(keys) != 2 || keys[0].chain != keys[1].chain || keys[0].pref != keys[1].pref || keys[0].pref != tcflower.Pref(10) {
		t.Fatalf("filters of the vlan rule: %+v, want two at chain 0 pref %d", keys, tcflower.Pref(10))
	}
	kern.mu.Lock()
	var tpids, modify []uint16
	for _, k := range keys {
		g := kern.filters[k]
		tpids = append(tpids, g.sent.EthType)
		modify = append(modify, g.f.Actions[0].Vlan.Proto)
	}
	kern.mu.Unlock()
	want := []uint16{tcflower.EthType8021Q, tcflower.EthType8021AD}
	if diff := cmp.Diff(want, tpids); diff != "" {
		t.Errorf("eth_type of the two filters (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, modify); diff != "" {
		t.Errorf("vlan modify protocol of the two filters (-want +got):\n%s", diff)
	}
	kern.hit(keys[0], Counts{Packets: 3, Bytes: 300}, Counts{})
	kern.hit(keys[1], Counts{Packets: 2, Bytes: 200}, Counts{})
	if s := tn.stat(t, id); s.Packets != 5 || s.Bytes != 500 || s.TC != (Counts{5, 500}) || s.Tier != TierTC {
		t.Errorf("stat = %+v, want 5 packets, 500 bytes in tier tc", s)
	}
	// Counted after the last read: only the removals' answers have them.
	kern.hit(keys[1], Counts{Packets: 1, Bytes: 100}, Counts{})
	del := flowtext.MustFlowMod("priority=10,in_port=1,vlan_vid=10,actions=drop")
	del.Command = pipeline.FlowDeleteStrict
	tn.mod(t, del)
	if got := kern.filtersOf(id); len(got) != 0 {
		t.Errorf("filters left after the delete: %+v", got)
	}
	got := tn.flowRemoved()
	if len(got) != 1 || got[0].Packets != 6 || got[0].Bytes != 600 {
		t.Errorf("FLOW_REMOVED = %+v, want one with 6 packets, 600 bytes", got)
	}
}

// TestTCRestartReadoptsBothHalvesOfAVlanRule: the kernel reads both halves
// of a vlan rule back alike (the TPID as 802.1Q); the cookie's digest
// tells them apart, so each half adopts its own filter.
func TestTCRestartReadoptsBothHalvesOfAVlanRule(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	const flow = "priority=10,in_port=1,vlan_vid=10,actions=set_field:20->vlan_vid,output:2"
	first := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	before := kern.filtersOf(first.add(t, flowtext.MustFlowMod(flow)))
	first.barrier(t)
	first.stop()
	kern.resetCalls()
	second := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC})
	second.barrier(t)
	id := second.add(t, flowtext.MustFlowMod(flow))
	second.barrier(t)
	for _, c := range kern.callsOf("add", "replace", "remove") {
		if c.Pref != tcflower.MissPref {
			t.Errorf("the re-sent vlan rule changed a filter instead of adopting it: %+v", c)
		}
	}
	if diff := cmp.Diff(before, kern.filtersOf(id), cmp.AllowUnexported(fakeKey{})); len(before) != 2 || diff != "" {
		t.Errorf("filters of the re-sent rule (-before +after), want the two earlier ones:\n%s", diff)
	}
	kern.mu.Lock()
	for _, k := range before {
		g := kern.filters[k]
		if want := g.sent.EthType; g.f.Actions[0].Vlan.Proto != want {
			t.Errorf("filter %+v: vlan modify protocol %#x, want %#x", k, g.f.Actions[0].Vlan.Proto, want)
		}
	}
	kern.mu.Unlock()
	if s := second.stat(t, id); s.Tier != TierTC {
		t.Errorf("re-sent vlan rule in tier %s (%s), want tc", s.Tier, s.Reason)
	}
}

// TestTCTierDeleteRemovesFilterAtOnce: a deleted rule's filter leaves the
// kernel before the delete returns, and nothing else does: the rules the
// delete lets into tc wait for the next sync (a burst of deletes costs one
// kernel request each). Deleting the catch-all of a goto target removes
// the jump into it first, in the same call.
func TestTCTierDeleteRemovesFilterAtOnce(t *testing.T) {
	kern := newFakeTC(newClock().Now)
	tn := newTCNet(t, kern, newClock(), tcNetOpts{policy: PolicyTC, noRun: true})
	high := rule{priority: 200, inPort: 1, out: 2}
	ctl := rule{priority: 150, inPort: 1, ipv4: true, out: pipeline.PortController}
	low := rule{priority: 100, inPort: 1, ipv4: true, out: 3}
	jump := rule{priority: 50, inPort: 2, gotoT: 1}
	catchAll := rule{table: 1, priority: 0} // drop
	ids := map[string]uint64{}
	for name, r := range map[string]rule{"high": high, "ctl": ctl, "low": low, "jump": jump, "catchAll": catchAll} {
		ids[name] = tn.add(t, r.mod())
	}
	tn.barrier(t)
	for _, name := range []string{"high", "jump", "catchAll"} {
		if _, _, ok := kern.filterOf(ids[name]); !ok {
			t.Fatalf("%s: no filter after the barrier", name)
		}
	}
	if _, _, ok := kern.filterOf(ids["low"]); ok {
		t.Fatalf("low: a filter though the output:CONTROLLER rule above it runs in the fast path")
	}
	del := func(r rule) {
		t.Helper()
		fm := r.mod()
		fm.Command = pipeline.FlowDeleteStrict
		tn.mod(t, fm)
	}

	kern.resetCalls()
	del(high)
	del(ctl)
	if diff := cmp.Diff([]fakeCall{{Op: "remove", Block: testBlock, Chain: 0, Pref: tcflower.Pref(200)}},
		kern.callsOf("add", "replace", "remove"), cmpopts.IgnoreFields(fakeCall{}, "Handle")); diff != "" {
		t.Errorf("deletes in table 0: kernel calls before the next sync (-want +got):\n%s", diff)
	}
	tn.barrier(t)
	if _, _, ok := kern.filterOf(ids["low"]); !ok {
		t.Errorf("low: no filter after the barrier, though nothing above it runs in the fast path now")
	}

	kern.resetCalls()
	del(catchAll)
	var got []string
	for _, c := range kern.callsOf("remove") {
		got = append(got, fmt.Sprintf("chain %d pref %d", c.Chain, c.Pref))
	}
	want := []string{fmt.Sprintf("chain 0 pref %d", tcflower.Pref(50)), fmt.Sprintf("chain 1 pref %d", tcflower.Pref(0))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delete of a goto target's catch-all: removals (-want +got):\n%s", diff)
	}
}

// TestTCTierNoFastPath: a network whose fast path sees no frames (a
// hairpin uplink) binds its ports without miss filters, and says of every
// rule left in the fast path that it is not enforced.
func TestTCTierNoFastPath(t *testing.T) {
	kern := newFakeTC(newClock().Now)
	tn := newTCNet(t, kern, newClock(), tcNetOpts{policy: PolicyTC, noRun: true, noFastPath: "hairpin uplink"})
	if got := len(kern.bindings()); got != 3 {
		t.Fatalf("%d ports bound to the block, want 3", got)
	}
	if keys := kern.keys(); len(keys) != 0 {
		t.Errorf("filters before any rule: %v, want none (no miss filters)", keys)
	}
	drop := tn.add(t, rule{priority: 10, inPort: 1}.mod())
	ctl := tn.add(t, rule{priority: 20, inPort: 2, out: pipeline.PortController}.mod())
	tn.barrier(t)
	if s := tn.stat(t, drop); s.Tier != TierTC || s.Reason != "" {
		t.Errorf("drop rule: tier %s reason %q, want tc and no reason", s.Tier, s.Reason)
	}
	s := tn.stat(t, ctl)
	if want := "not enforced (hairpin uplink): "; s.Tier != TierSoft || !strings.HasPrefix(s.Reason, want) {
		t.Errorf("controller rule: tier %s reason %q, want soft and a reason starting %q", s.Tier, s.Reason, want)
	}
	if note := tn.OffloadNote(); !strings.Contains(note, "only rules in tc are enforced (hairpin uplink)") {
		t.Errorf("offload note %q does not say only tc enforces", note)
	}
}

// TestTCTierTeardown: a deleted network's ports leave the block (which
// takes its filters along in the kernel), and later flow mods install
// nothing.
func TestTCTierTeardown(t *testing.T) {
	kern := newFakeTC(newClock().Now)
	tn := newTCNet(t, kern, newClock(), tcNetOpts{policy: PolicyTC})
	id := tn.add(t, rule{priority: 10, inPort: 1, out: 2}.mod())
	tn.barrier(t)
	if _, _, ok := kern.filterOf(id); !ok || len(kern.bindings()) != 3 {
		t.Fatalf("before teardown: filter %v, %d ports bound; want a filter and 3", ok, len(kern.bindings()))
	}
	if err := tn.Teardown(); err != nil {
		t.Fatal(err)
	}
	if b := kern.bindings(); len(b) != 0 {
		t.Errorf("ports still bound after teardown: %v", b)
	}
	kern.resetCalls()
	tn.add(t, rule{priority: 20, inPort: 2, out: 1}.mod())
	tn.barrier(t)
	if calls := kern.callsOf(); len(calls) != 0 {
		t.Errorf("kernel calls after teardown: %+v", calls)
	}
	if s := tn.stat(t, id); s.Tier != TierSoft {
		t.Errorf("rule after teardown in tier %s, want soft", s.Tier)
	}
}

// TestTCPolicyAutoBatchesInstallsAndReplaces: under auto the filters of a
// sync go to the kernel in one pipelined batch per block, in_hw read back
// from its answers (not one request and echo each), and a modify of every
// rule replaces their filters in one batch that reads each old filter's
// counters just before its replace: no count is lost.
func TestTCPolicyAutoBatchesInstallsAndReplaces(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	kern.setInHW(func(*tcflower.Filter) bool { return true })
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyAuto, noRun: true})
	const n = 20
	batches := func() int { kern.mu.Lock(); defer kern.mu.Unlock(); return kern.batches }
	kern.resetCalls()
	before := batches()
	for i := range n {
		tn.mod(t, rule{priority: uint16(10 + i), inPort: 1, out: 2}.mod())
	}
	tn.barrier(t)
	if b := batches() - before; b < 1 || b > 2 {
		t.Errorf("%d rules installed in %d batches, want 1 or 2", n, b)
	}
	ids := tn.idsByInPortAndPriority(t)
	for i := range n {
		id := ids[[2]uint32{1, uint32(10 + i)}]
		if s := tn.stat(t, id); s.Tier != TierHW {
			t.Errorf("priority %d: tier %s (%s), want hw from the batch's in_hw", 10+i, s.Tier, s.Reason)
		}
		kern.hit(tn.filterKey(t, id), Counts{}, Counts{Packets: uint64(i + 1), Bytes: 100})
	}
	if got := len(kern.callsOf("add")); got != n {
		t.Errorf("%d adds, want %d", got, n)
	}

	kern.resetCalls()
	before = batches()
	for i := range n {
		mod := rule{priority: uint16(10 + i), inPort: 1, out: 3}.mod()
		mod.Command = pipeline.FlowModifyStrict
		tn.mod(t, mod)
	}
	tn.barrier(t)
	if b := batches() - before; b < 1 || b > 2 {
		t.Errorf("%d modified rules replaced in %d batches, want 1 or 2", n, b)
	}
	calls := kern.callsOf("get", "replace")
	if len(calls) != 2*n {
		t.Fatalf("%d gets and replaces, want %d", len(calls), 2*n)
	}
	for i := 0; i < len(calls); i += 2 {
		if g, r := calls[i], calls[i+1]; g.Op != "get" || r.Op != "replace" || g.Pref != r.Pref || g.Handle != r.Handle {
			t.Errorf("calls %d, %d: %s %d/%#x then %s %d/%#x, want the old filter read just before its replace", i, i+1, g.Op, g.Pref, g.Handle, r.Op, r.Pref, r.Handle)
		}
	}
	for i := range n {
		id := ids[[2]uint32{1, uint32(10 + i)}]
		if s := tn.stat(t, id); s.Packets != uint64(i+1) || s.Tier != TierHW {
			t.Errorf("priority %d after the replace: %d packets in %s, want %d in hw", 10+i, s.Packets, s.Tier, i+1)
		}
	}
}
