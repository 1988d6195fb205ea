package ofnetwork

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload"
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
