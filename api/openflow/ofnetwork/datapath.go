// Package ofnetwork presents an offload.Network as the datapath of an
// OpenFlow switch (api/openflow.Datapath): it only converts between the two
// packages' types, so the core does not depend on the protocol layer.
package ofnetwork

import (
	"context"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// New returns n as an OpenFlow datapath.
func New(n *offload.Network) openflow.Datapath { return ofDatapath{n} }

type ofDatapath struct{ n *offload.Network }

func (d ofDatapath) Features() openflow.Features {
	dpid, tables := d.n.Features()
	return openflow.Features{
		DatapathID:   dpid,
		NTables:      tables,
		Capabilities: openflow.CapFlowStats | openflow.CapTableStats | openflow.CapPortStats | openflow.CapGroupStats,
	}
}

func (d ofDatapath) Ports() []openflow.PortDesc {
	ports := d.n.Ports()
	out := make([]openflow.PortDesc, len(ports))
	for i, p := range ports {
		out[i] = portDesc(p)
	}
	return out
}

// Port feature bits (OFPPF_*) for a port's current features.
const (
	pf10GBFD  = 1 << 6
	pfCopper  = 1 << 11
	pf100GBFD = 1 << 9
)

func portDesc(p offload.PortInfo) openflow.PortDesc {
	pd := openflow.PortDesc{PortNo: p.No, Name: p.Name, CurrSpeed: p.SpeedKbps, MaxSpeed: p.SpeedKbps}
	copy(pd.HWAddr[:], p.HWAddr)
	if p.AdminDown {
		pd.Config |= openflow.PortConfigDown
	}
	if p.Up {
		pd.State |= openflow.PortStateLive
	} else {
		pd.State |= openflow.PortStateLinkDown
	}
	if p.SpeedKbps >= 100_000_000 {
		pd.Curr = pf100GBFD | pfCopper
	} else {
		pd.Curr = pf10GBFD | pfCopper
	}
	return pd
}

func (d ofDatapath) FlowMod(ctx context.Context, fm *pipeline.FlowMod) error {
	return d.n.FlowMod(ctx, fm)
}

func (d ofDatapath) GroupMod(ctx context.Context, gm *pipeline.GroupMod) error {
	return d.n.GroupMod(ctx, gm)
}

func (d ofDatapath) MeterMod(ctx context.Context, mm *pipeline.MeterMod) error {
	return d.n.MeterMod(ctx, mm)
}

func (d ofDatapath) PortMod(ctx context.Context, port uint32, hw [6]byte, config, mask uint32) error {
	if mask&openflow.PortConfigDown == 0 {
		return nil
	}
	return d.n.PortMod(port, config&openflow.PortConfigDown != 0)
}

func (d ofDatapath) PacketOut(ctx context.Context, inPort uint32, actions []pipeline.Action, data []byte) error {
	return d.n.PacketOut(ctx, inPort, actions, data)
}

func (d ofDatapath) Barrier(ctx context.Context) error { return d.n.Barrier(ctx) }

func (d ofDatapath) FlowStats(f *pipeline.FlowFilter) []openflow.FlowStat {
	stats := d.n.FlowStats(f)
	out := make([]openflow.FlowStat, len(stats))
	for i, s := range stats {
		out[i] = openflow.FlowStat{Flow: s.Flow, Packets: s.Packets, Bytes: s.Bytes, Duration: s.Duration}
	}
	return out
}

func (d ofDatapath) TableStats() []openflow.TableStat {
	stats := d.n.TableStats()
	out := make([]openflow.TableStat, len(stats))
	for i, s := range stats {
		out[i] = openflow.TableStat{TableID: s.Table, Active: s.Active, Lookups: s.Lookups, Matched: s.Matched}
	}
	return out
}

func (d ofDatapath) PortStats(port uint32) []openflow.PortStat {
	stats := d.n.PortStats(port)
	out := make([]openflow.PortStat, len(stats))
	for i, s := range stats {
		out[i] = openflow.PortStat{
			PortNo:    s.PortNo,
			RxPackets: s.RxPackets, TxPackets: s.TxPackets,
			RxBytes: s.RxBytes, TxBytes: s.TxBytes,
			RxDropped: s.RxDropped, TxDropped: s.TxDropped,
			RxErrors: s.RxErrors, TxErrors: s.TxErrors,
			Duration: s.Duration,
		}
	}
	return out
}

func (d ofDatapath) GroupStats(id uint32) []openflow.GroupStat {
	stats := d.n.GroupStats(id)
	out := make([]openflow.GroupStat, len(stats))
	for i, s := range stats {
		g := openflow.GroupStat{GroupID: s.GroupID, RefCount: s.RefCount, Packets: s.Packets, Bytes: s.Bytes, Duration: s.Duration}
		for _, b := range s.Buckets {
			g.Buckets = append(g.Buckets, openflow.Counter{Packets: b.Packets, Bytes: b.Bytes})
		}
		out[i] = g
	}
	return out
}

func (d ofDatapath) Groups() []*pipeline.Group { return d.n.Groups() }

func (d ofDatapath) MeterStats(id uint32) []openflow.MeterStat {
	stats := d.n.MeterStats(id)
	out := make([]openflow.MeterStat, len(stats))
	for i, s := range stats {
		m := openflow.MeterStat{MeterID: s.MeterID, FlowCount: s.FlowCount, PacketsIn: s.PacketsIn, BytesIn: s.BytesIn, Duration: s.Duration}
		for _, b := range s.Bands {
			m.Bands = append(m.Bands, openflow.Counter{Packets: b.Packets, Bytes: b.Bytes})
		}
		out[i] = m
	}
	return out
}

func (d ofDatapath) Meters(id uint32) []*pipeline.Meter { return d.n.Meters(id) }

func (d ofDatapath) SetConnected(n int) { d.n.SetConnected(n) }

func (d ofDatapath) Subscribe(fn func(openflow.Event)) (cancel func()) {
	return d.n.Subscribe(func(e offload.Event) {
		if oe := ofEvent(e); oe != nil {
			fn(oe)
		}
	})
}

func ofEvent(e offload.Event) openflow.Event {
	switch e := e.(type) {
	case *offload.PacketIn:
		pi := &openflow.PacketIn{
			Reason: e.Reason, TableID: e.Table, Cookie: e.Cookie,
			Data: e.Data, TotalLen: uint16(e.TotalLen), BufferID: noBuffer,
		}
		setMatch(&pi.Match, pipeline.FieldInPort, be32(e.InPort))
		if e.Metadata != 0 {
			setMatch(&pi.Match, pipeline.FieldMetadata, be64(e.Metadata))
		}
		if e.TunnelID != 0 {
			setMatch(&pi.Match, pipeline.FieldTunnelID, be64(e.TunnelID))
		}
		return pi
	case *offload.FlowRemoved:
		return &openflow.FlowRemoved{Flow: e.Flow, Reason: e.Reason, Packets: e.Packets, Bytes: e.Bytes, Duration: e.Duration}
	case *offload.PortStatus:
		return &openflow.PortStatus{Reason: e.Reason, Port: portDesc(e.Port)}
	}
	return nil
}

const noBuffer = 0xffffffff

func setMatch(m *pipeline.Match, f pipeline.Field, v []byte) { m.Set(f, v, nil) }

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

func be64(v uint64) []byte {
	return append(be32(uint32(v>>32)), be32(uint32(v))...)
}
