package manager

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// TestLegacyNICRefusesFlowRules: a network in mode nic on a legacy VEB
// answers FLOW_MOD add and modify with OFPT_ERROR FLOW_MOD_FAILED/EPERM
// through the real OpenFlow switch; the channel stays up, deletes go
// through, the REST status says why; once the uplink is in switchdev mode
// (a live change of eswitch_mode) the same rule is taken.
func TestLegacyNICRefusesFlowRules(t *testing.T) {
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf0", 2)
	d := newTestDaemon(t, links, k)
	n, err := d.create(rest.NetworkSpec{Name: "veb", Mode: "nic", Uplink: "pf0", EswitchMode: "legacy", Offload: "off"})
	if err != nil {
		t.Fatal(err)
	}
	const why = "network veb: uplink pf0 is in legacy eswitch mode; its VEB switches by MAC and VLAN only and cannot enforce flow rules; use eswitch_mode switchdev"
	if n.Status.ModeNote != why || n.Status.SwitchingPoint != rest.SwitchVEB || n.Status.Switching != "nic: NIC VEB (legacy), MAC/VLAN only" {
		t.Errorf("legacy status: note %q, switching %q %q", n.Status.ModeNote, n.Status.SwitchingPoint, n.Status.Switching)
	}
	run, err := d.m.runningNet("veb")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, run)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rule := func() *pipeline.FlowMod {
		return &pipeline.FlowMod{Priority: 10, Cookie: 0x5, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny,
			Instr: pipeline.Instructions{}}
	}
	for _, cmd := range []pipeline.FlowModCommand{pipeline.FlowAdd, pipeline.FlowModify, pipeline.FlowModifyStrict} {
		fm := rule()
		fm.Command = cmd
		err := c.FlowMod(ctx, fm)
		var e *ofwire.ErrorMsg
		if !errors.As(err, &e) || e.Type != pipeline.ErrFlowModFailed || e.Code != pipeline.FlowModEperm {
			t.Errorf("FLOW_MOD command %d on a legacy VEB = %v, want OFPT_ERROR FLOW_MOD_FAILED/EPERM", cmd, err)
		}
	}
	if err := c.DelFlows(ctx, pipeline.TableAll, nil); err != nil {
		t.Errorf("FLOW_MOD delete on a legacy VEB: %v, want it taken", err)
	}
	if err := c.Echo(ctx, []byte("still up")); err != nil {
		t.Fatalf("echo after the refusals: %v (the channel must stay up)", err)
	}
	if got := len(run.net.FlowStats(allFlows())); got != 0 {
		t.Errorf("%d rules in the datapath, want none", got)
	}

	n, err = d.update(rest.NetworkSpec{Name: "veb", Mode: "nic", Uplink: "pf0", EswitchMode: "switchdev", Offload: "off"})
	if err != nil {
		t.Fatalf("PUT eswitch_mode switchdev: %v", err)
	}
	if want := "pf pf0: eswitch mode legacy -> switchdev"; len(n.Status.Changes) < 2 || n.Status.Changes[1] != want {
		t.Errorf("changes = %q, want %q second", n.Status.Changes, want)
	}
	if strings.Contains(n.Status.ModeNote, "legacy") || n.Status.SwitchingPoint != rest.SwitchEswitch {
		t.Errorf("switchdev status: note %q, switching %q", n.Status.ModeNote, n.Status.SwitchingPoint)
	}
	if err := c.AddFlow(ctx, rule()); err != nil {
		t.Errorf("FLOW_MOD add in switchdev mode, same channel: %v", err)
	}
	if got := len(run.net.FlowStats(allFlows())); got != 1 {
		t.Errorf("%d rules in the datapath, want 1", got)
	}
}
