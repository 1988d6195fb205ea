package ofnetwork

import (
	"net"
	"testing"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

func TestPacketInMatchCarriesInPortAndMetadata(t *testing.T) {
	ev := ofEvent(&offload.PacketIn{Reason: 1, Table: 3, Cookie: 9, InPort: 5, Metadata: 0xabc, Data: []byte{1, 2}, TotalLen: 60})
	pi, ok := ev.(*openflow.PacketIn)
	if !ok {
		t.Fatalf("event %T, want *openflow.PacketIn", ev)
	}
	if pi.Match.Key.InPort != 5 || !pi.Match.Has(pipeline.FieldInPort) {
		t.Errorf("in_port in match = %d (present %v), want 5", pi.Match.Key.InPort, pi.Match.Has(pipeline.FieldInPort))
	}
	if pi.Match.Key.Metadata != 0xabc {
		t.Errorf("metadata = %#x, want 0xabc", pi.Match.Key.Metadata)
	}
	if pi.Match.Has(pipeline.FieldTunnelID) {
		t.Error("tunnel_id present in the match although it is zero")
	}
	if pi.Reason != 1 || pi.TableID != 3 || pi.Cookie != 9 || pi.TotalLen != 60 || pi.BufferID != noBuffer {
		t.Errorf("packet-in = %+v", pi)
	}
}

func TestPortDescStateAndConfig(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:00:07")
	tests := []struct {
		info        offload.PortInfo
		state, conf uint32
	}{
		{offload.PortInfo{No: 1, HWAddr: mac, Up: true, SpeedKbps: 10_000_000}, openflow.PortStateLive, 0},
		{offload.PortInfo{No: 2, Up: false}, openflow.PortStateLinkDown, 0},
		{offload.PortInfo{No: 3, Up: true, AdminDown: true}, openflow.PortStateLive, openflow.PortConfigDown},
	}
	for _, tt := range tests {
		pd := portDesc(tt.info)
		if pd.State != tt.state || pd.Config != tt.conf {
			t.Errorf("port %d: state %#x config %#x, want %#x %#x", tt.info.No, pd.State, pd.Config, tt.state, tt.conf)
		}
	}
	if pd := portDesc(offload.PortInfo{HWAddr: mac}); pd.HWAddr != [6]byte{2, 0, 0, 0, 0, 7} {
		t.Errorf("hw addr %x", pd.HWAddr)
	}
}
