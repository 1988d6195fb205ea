package offload

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func groupAllTo(id, port uint32) *pipeline.GroupMod {
	return &pipeline.GroupMod{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeAll, ID: id,
		Buckets: []pipeline.Bucket{{Actions: []pipeline.Action{pipeline.Output(port)}}}}
}

func inPortToGroup(in, group uint32, prio uint16) *pipeline.FlowMod {
	fm := inPortFlow(in, 0, prio)
	fm.Instr.Apply = []pipeline.Action{{Type: pipeline.ActionGroup, Group: group}}
	return fm
}

// flowsByPriority lists the network's flows as table/priority pairs.
func flowsByPriority(n *Network) [][2]int {
	var out [][2]int
	for _, s := range n.FlowStats(allFlows) {
		out = append(out, [2]int{int(s.Flow.Table), int(s.Flow.Priority)})
	}
	return out
}

// TestBundleAllOrNone: a bundle that fails at any mod changes nothing
// (flows, groups, meters, no FLOW_REMOVED, the fast path forwards as
// before) and names the mod; one that succeeds applies everything in
// order (a flow uses the group and meter added before it in the bundle),
// reports FLOW_REMOVED for the flows it deleted but not for one it added
// and deleted itself, and the fast path forwards by the result when
// Bundle returns.
func TestBundleAllOrNone(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	ctx := context.Background()
	old := inPortFlow(1, 2, 10)
	old.Flags = pipeline.FlagSendFlowRem
	if err := tn.FlowMod(ctx, old); err != nil {
		t.Fatal(err)
	}
	delOld := *old
	delOld.Command = pipeline.FlowDeleteStrict
	temp := inPortFlow(2, 1, 30)
	temp.Flags = pipeline.FlagSendFlowRem
	delTemp := *temp
	delTemp.Command = pipeline.FlowDeleteStrict
	meter := &pipeline.MeterMod{Command: pipeline.MeterAdd, ID: 3, Flags: pipeline.MeterKbps,
		Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 1_000_000}}}
	viaGroup := inPortToGroup(1, 5, 20)
	viaGroup.Instr.Meter = 3
	badTable := inPortFlow(1, 2, 40)
	badTable.Table = pipeline.NumTables
	removedEvents := func() []Event {
		return tn.eventsOf(func(e Event) bool { _, ok := e.(*FlowRemoved); return ok })
	}
	forwards := func() {
		t.Helper()
		tn.p1.Inject(udpFrame())
		if got := tn.p2.WaitSent(1, 5*time.Second); len(got) != 1 {
			t.Fatalf("port 2 sent %d frames, want the one port 1 received", len(got))
		}
	}

	failing := []struct {
		name string
		mods []BundleMod
		at   int
		want pipeline.ErrorType
		code uint16
	}{
		{"bad table last", []BundleMod{{Group: groupAllTo(5, 2)}, {Meter: meter}, {Flow: viaGroup}, {Flow: &delOld}, {Flow: temp}, {Flow: badTable}},
			5, pipeline.ErrFlowModFailed, pipeline.FlowModBadTableID},
		{"group used before it is added", []BundleMod{{Flow: &delOld}, {Flow: inPortToGroup(1, 6, 20)}, {Group: groupAllTo(6, 2)}},
			1, pipeline.ErrBadAction, pipeline.BadActionBadOutGroup},
		{"group added twice", []BundleMod{{Group: groupAllTo(7, 2)}, {Group: groupAllTo(7, 1)}},
			1, pipeline.ErrGroupModFailed, pipeline.GroupModGroupExists},
	}
	for _, tt := range failing {
		t.Run(tt.name, func(t *testing.T) {
			err := tn.Bundle(ctx, tt.mods)
			var be *BundleError
			var pe *pipeline.Error
			if !errors.As(err, &be) || be.Index != tt.at || !errors.As(err, &pe) || pe.Type != tt.want || pe.Code != tt.code {
				t.Fatalf("Bundle = %v, want mod %d failing with type %d code %d", err, tt.at, tt.want, tt.code)
			}
			if diff := cmp.Diff([][2]int{{0, 10}}, flowsByPriority(tn.Network)); diff != "" {
				t.Errorf("flows after a failed bundle (-want +got):\n%s", diff)
			}
			if g, m := tn.pipeGroupsMeters(); g != 0 || m != 0 {
				t.Errorf("%d groups and %d meters after a failed bundle, want none", g, m)
			}
			if rm := removedEvents(); len(rm) != 0 {
				t.Errorf("FLOW_REMOVED after a failed bundle: %v", rm)
			}
		})
	}
	forwards() // by the flow of before

	err := tn.Bundle(ctx, []BundleMod{{Group: groupAllTo(5, 2)}, {Meter: meter}, {Flow: viaGroup}, {Flow: &delOld}, {Flow: temp}, {Flow: &delTemp}})
	if err != nil {
		t.Fatalf("Bundle: %v", err)
	}
	if diff := cmp.Diff([][2]int{{0, 20}}, flowsByPriority(tn.Network)); diff != "" {
		t.Errorf("flows after the bundle (-want +got):\n%s", diff)
	}
	if g, m := tn.pipeGroupsMeters(); g != 1 || m != 1 {
		t.Errorf("%d groups and %d meters after the bundle, want 1 and 1", g, m)
	}
	rm := removedEvents()
	if len(rm) != 1 || rm[0].(*FlowRemoved).Flow.Priority != 10 || rm[0].(*FlowRemoved).Reason != pipeline.RemovedDelete {
		t.Errorf("FLOW_REMOVED events %v, want the one of the flow of before (not of the one the bundle added and deleted)", rm)
	}
	forwards() // by the group and meter the bundle added
	if s := tn.FlowStats(allFlows); len(s) != 1 || s[0].Packets != 1 {
		t.Errorf("flow stats %+v, want the bundle's flow to have counted the frame", s)
	}

	if err := tn.Bundle(ctx, nil); err != nil {
		t.Errorf("empty bundle: %v", err)
	}
}

func (tn *testNet) pipeGroupsMeters() (groups, meters int) {
	tn.mu.Lock() // the events' lock: not the network's
	defer tn.mu.Unlock()
	tn.Network.mu.Lock()
	defer tn.Network.mu.Unlock()
	return len(tn.pipe.Groups()), len(tn.pipe.Meters())
}

// TestBundleTCTier: a committed bundle is in the tc tier when Bundle
// returns (no barrier needed), one that fails leaves no filter behind,
// and a bundle's delete takes the flow's filter.
func TestBundleTCTier(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	// No sync loop: only Bundle itself can have put the filters in.
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, ports: 2, noRun: true})
	ctx := context.Background()
	keep := tn.add(t, rule{priority: 5, inPort: 2, out: 1}.mod())
	tn.barrier(t)
	before := len(kern.keys())

	bad := rule{priority: 30, inPort: 1, out: 2}.mod()
	bad.Table = pipeline.NumTables
	err := tn.Bundle(ctx, []BundleMod{{Flow: rule{priority: 10, inPort: 1, out: 2}.mod()}, {Flow: bad}})
	var be *BundleError
	if !errors.As(err, &be) || be.Index != 1 {
		t.Fatalf("Bundle = %v, want mod 1 failing", err)
	}
	if got := len(kern.keys()); got != before {
		t.Errorf("%d filters after a failed bundle, want %d", got, before)
	}

	del := rule{priority: 5, inPort: 2, out: 1}.mod()
	del.Command = pipeline.FlowDeleteStrict
	mods := []BundleMod{{Flow: rule{priority: 10, inPort: 1, out: 2}.mod()}, {Flow: rule{table: 1, priority: 20, inPort: 2, out: 1}.mod()}, {Flow: del}}
	if err := tn.Bundle(ctx, mods); err != nil {
		t.Fatalf("Bundle: %v", err)
	}
	// The pipeline's flows, read without FlowStats (which would sync).
	tn.Network.mu.Lock()
	flows := tn.pipe.Flows(allFlows)
	tn.Network.mu.Unlock()
	if len(flows) != 2 {
		t.Fatalf("%d flows after the bundle, want 2", len(flows))
	}
	for _, f := range flows {
		if _, _, ok := kern.filterOf(f.ID); !ok {
			t.Errorf("flow table %d priority %d has no filter when Bundle returns", f.Table, f.Priority)
		}
	}
	if _, _, ok := kern.filterOf(keep); ok {
		t.Errorf("the deleted flow's filter is still there")
	}
	tn.checkPlacement(t)
}
