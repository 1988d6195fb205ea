package ofnetwork

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
)

// TestPortsAndEventsAreTheNetworks: the datapath hands the switch the
// network's own ports and events.
func TestPortsAndEventsAreTheNetworks(t *testing.T) {
	n := offload.New(offload.Config{Name: "t", DPID: 1, FailMode: offload.FailSecure})
	dp := New(n)
	var got []offload.Event
	cancel := dp.Subscribe(func(e offload.Event) { got = append(got, e) })
	defer cancel()
	info := offload.PortInfo{No: 1, Name: "p1", Up: true}
	if err := n.AddPort(info, memio.New()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]offload.PortInfo{info}, dp.Ports()); diff != "" {
		t.Errorf("Ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]offload.Event{&offload.PortStatus{Reason: offload.PortAdded, Port: info}}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestSwitchConfigFlags: OFPC_FRAG_DROP and OFPC_INVALID_TTL_TO_CONTROLLER
// reach the network and its fast path and come back as flags;
// OFPC_FRAG_REASM is BAD_FLAGS and changes nothing.
func TestSwitchConfigFlags(t *testing.T) {
	n := offload.New(offload.Config{Name: "t", DPID: 1, FailMode: offload.FailSecure})
	dp := New(n)
	ctx := context.Background()
	both := uint16(ofwire.ConfigFragDrop | ofwire.ConfigInvalidTTLToController)
	if err := dp.SetSwitchConfig(ctx, both); err != nil {
		t.Fatal(err)
	}
	want := softpath.SwitchConfig{FragDrop: true, InvalidTTLToController: true}
	if got := n.Datapath().SwitchConfig(); got != want {
		t.Errorf("fast path config %+v, want %+v", got, want)
	}
	err := dp.SetSwitchConfig(ctx, ofwire.ConfigFragReasm)
	var perr *pipeline.Error
	if !errors.As(err, &perr) || perr.Type != pipeline.ErrSwitchConfigFailed || perr.Code != pipeline.SwitchConfigBadFlags {
		t.Errorf("FRAG_REASM: %v, want SWITCH_CONFIG_FAILED/BAD_FLAGS", err)
	}
	if got := dp.SwitchConfig(); got != both {
		t.Errorf("flags %#x after the refusal, want %#x", got, both)
	}
	if err := dp.SetSwitchConfig(ctx, ofwire.ConfigFragNormal); err != nil {
		t.Fatal(err)
	}
	if got := dp.SwitchConfig(); got != 0 {
		t.Errorf("flags %#x, want 0", got)
	}
}
