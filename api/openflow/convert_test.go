package openflow

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

func TestPacketInMatchCarriesInPortAndMetadata(t *testing.T) {
	m := packetInMatch(&offload.PacketIn{Reason: 1, Table: 3, Cookie: 9, InPort: 5, Metadata: 0xabc, Data: []byte{1, 2}, TotalLen: 60})
	if m.Key.InPort != 5 || !m.Has(pipeline.FieldInPort) {
		t.Errorf("in_port in match = %d (present %v), want 5", m.Key.InPort, m.Has(pipeline.FieldInPort))
	}
	if m.Key.Metadata != 0xabc || !m.Has(pipeline.FieldMetadata) {
		t.Errorf("metadata = %#x (present %v), want 0xabc", m.Key.Metadata, m.Has(pipeline.FieldMetadata))
	}
	if m.Has(pipeline.FieldTunnelID) {
		t.Error("tunnel_id present in the match although it is zero")
	}
	if m := packetInMatch(&offload.PacketIn{InPort: 1, TunnelID: 42}); m.Key.TunnelID != 42 || !m.Has(pipeline.FieldTunnelID) || m.Has(pipeline.FieldMetadata) {
		t.Errorf("tunnel_id 42, no metadata: match %+v", m.Key)
	}
}

func TestPortWire(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:00:07")
	tests := []struct {
		name string
		info offload.PortInfo
		want ofwire.Port
	}{{
		name: "up at 10G",
		info: offload.PortInfo{No: 1, Name: "vf0", HWAddr: mac, Up: true, SpeedKbps: 10_000_000},
		want: ofwire.Port{PortNo: 1, Name: "vf0", HWAddr: [6]byte{2, 0, 0, 0, 0, 7}, State: PortStateLive,
			Curr: pf10GBFD | pfCopper, CurrSpeed: 10_000_000, MaxSpeed: 10_000_000},
	}, {
		name: "link down, speed unknown",
		info: offload.PortInfo{No: 2},
		want: ofwire.Port{PortNo: 2, State: PortStateLinkDown, Curr: pf10GBFD | pfCopper},
	}, {
		// Down forwards nothing: LINK_DOWN whatever the carrier says, as
		// Open vSwitch (whose netdev has no link once it is down).
		name: "admin down at 100G",
		info: offload.PortInfo{No: 3, Up: true, AdminDown: true, SpeedKbps: 100_000_000},
		want: ofwire.Port{PortNo: 3, Config: PortConfigDown, State: PortStateLinkDown,
			Curr: pf100GBFD | pfCopper, CurrSpeed: 100_000_000, MaxSpeed: 100_000_000},
	}, {
		name: "no_recv, no_fwd, no_packet_in",
		info: offload.PortInfo{No: 4, Up: true, NoRecv: true, NoFwd: true, NoPacketIn: true},
		want: ofwire.Port{PortNo: 4, Config: PortConfigNoRecv | PortConfigNoFwd | PortConfigNoPktIn, State: PortStateLive,
			Curr: pf10GBFD | pfCopper},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, portWire(tt.info)); diff != "" {
				t.Errorf("portWire (-want +got):\n%s", diff)
			}
		})
	}
}
