package openflow

import (
	"encoding/binary"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// Port feature bits (OFPPF_*) for a port's current features.
const (
	pf10GBFD  = 1 << 6
	pf100GBFD = 1 << 9
	pfCopper  = 1 << 11
)

// portWire describes a network's port as OpenFlow's ofp_port: its config
// bits (OFPPC_PORT_DOWN from its admin state, NO_RECV, NO_FWD,
// NO_PACKET_IN), its state (OFPPS_LIVE, or OFPPS_LINK_DOWN while the link
// or the port is down), and its speed as current features.
func portWire(p offload.PortInfo) ofwire.Port {
	w := ofwire.Port{PortNo: p.No, Name: p.Name, CurrSpeed: p.SpeedKbps, MaxSpeed: p.SpeedKbps, Config: p.Config()}
	copy(w.HWAddr[:], p.HWAddr)
	if p.Live() {
		w.State |= PortStateLive
	} else {
		w.State |= PortStateLinkDown
	}
	if p.SpeedKbps >= 100_000_000 {
		w.Curr = pf100GBFD | pfCopper
	} else {
		w.Curr = pf10GBFD | pfCopper
	}
	return w
}

// packetInMatch is the match of a packet-in: in_port, and metadata and
// tunnel_id when non-zero.
func packetInMatch(e *offload.PacketIn) pipeline.Match {
	var m pipeline.Match
	m.Set(pipeline.FieldInPort, binary.BigEndian.AppendUint32(nil, e.InPort), nil)
	if e.Metadata != 0 {
		m.Set(pipeline.FieldMetadata, binary.BigEndian.AppendUint64(nil, e.Metadata), nil)
	}
	if e.TunnelID != 0 {
		m.Set(pipeline.FieldTunnelID, binary.BigEndian.AppendUint64(nil, e.TunnelID), nil)
	}
	return m
}

func flowStatsWire(fs *FlowStat) ofwire.FlowStats {
	f := fs.Flow
	return ofwire.FlowStats{
		TableID: f.Table, Duration: fs.Duration, Priority: f.Priority, IdleTimeout: f.IdleTimeout,
		HardTimeout: f.HardTimeout, Flags: f.Flags, Cookie: f.Cookie, Packets: fs.Packets, Bytes: fs.Bytes,
		Match: f.Match, Instr: *f.Instr,
	}
}

func flowRemovedWire(e *offload.FlowRemoved) *ofwire.FlowRemoved {
	f := e.Flow
	return &ofwire.FlowRemoved{
		Cookie: f.Cookie, Priority: f.Priority, Reason: uint8(e.Reason), TableID: f.Table, Duration: e.Duration,
		IdleTimeout: f.IdleTimeout, HardTimeout: f.HardTimeout, Packets: e.Packets, Bytes: e.Bytes, Match: f.Match,
	}
}

func countersWire(cs []Counter) []ofwire.BucketStats {
	out := make([]ofwire.BucketStats, len(cs))
	for i, c := range cs {
		out[i] = ofwire.BucketStats{Packets: c.Packets, Bytes: c.Bytes}
	}
	return out
}
