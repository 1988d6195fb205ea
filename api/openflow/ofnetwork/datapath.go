// Package ofnetwork presents an offload.Network as the datapath of an
// OpenFlow switch (api/openflow.Datapath): it only converts between the two
// packages' types (the ports and the events are offload's own), so the core
// does not depend on the protocol layer.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/api/rest/...,
// github.com/nicflow/nicflow/cmd/..., github.com/nicflow/nicflow/sriov/...,
// github.com/nicflow/nicflow/vepa/...,
// github.com/nicflow/nicflow/offload/... but
// github.com/nicflow/nicflow/offload and
// github.com/nicflow/nicflow/offload/pipeline.
package ofnetwork

import (
	"context"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
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

func (d ofDatapath) Ports() []offload.PortInfo { return d.n.Ports() }

func (d ofDatapath) FlowMods(ctx context.Context, fms []*pipeline.FlowMod) []error {
	return d.n.FlowMods(ctx, fms)
}

func (d ofDatapath) GroupMod(ctx context.Context, gm *pipeline.GroupMod) error {
	return d.n.GroupMod(ctx, gm)
}

func (d ofDatapath) MeterMod(ctx context.Context, mm *pipeline.MeterMod) error {
	return d.n.MeterMod(ctx, mm)
}

func (d ofDatapath) Bundle(ctx context.Context, mods []offload.BundleMod) error {
	return d.n.Bundle(ctx, mods)
}

func (d ofDatapath) PortMod(ctx context.Context, pm *ofwire.PortMod) error {
	return d.n.PortMod(offload.PortMod{Port: pm.PortNo, HWAddr: pm.HWAddr, Config: pm.Config, Mask: pm.Mask, Advertise: pm.Advertise})
}

// SwitchConfig returns the network's OFPC_* flags.
func (d ofDatapath) SwitchConfig() uint16 {
	c := d.n.SwitchConfig()
	var flags uint16
	if c.FragDrop {
		flags |= ofwire.ConfigFragDrop
	}
	if c.InvalidTTLToController {
		flags |= ofwire.ConfigInvalidTTLToController
	}
	return flags
}

// SetSwitchConfig applies OFPC_FRAG_NORMAL or OFPC_FRAG_DROP and
// OFPC_INVALID_TTL_TO_CONTROLLER; OFPC_FRAG_REASM is BAD_FLAGS (nicflow
// reassembles nothing and does not advertise OFPC_IP_REASM).
func (d ofDatapath) SetSwitchConfig(ctx context.Context, flags uint16) error {
	switch flags & ofwire.ConfigFragMask {
	case ofwire.ConfigFragNormal, ofwire.ConfigFragDrop:
	default:
		return pipeline.Errorf(pipeline.ErrSwitchConfigFailed, pipeline.SwitchConfigBadFlags,
			"config flags %#x: IP fragment reassembly (OFPC_FRAG_REASM) is not supported", flags)
	}
	return d.n.SetSwitchConfig(offload.SwitchConfig{
		FragDrop:               flags&ofwire.ConfigFragMask == ofwire.ConfigFragDrop,
		InvalidTTLToController: flags&ofwire.ConfigInvalidTTLToController != 0,
	})
}

func (d ofDatapath) PacketOut(ctx context.Context, inPort uint32, actions []pipeline.Action, data []byte) error {
	return d.n.PacketOut(ctx, inPort, actions, data)
}

func (d ofDatapath) Barrier(ctx context.Context) error { return d.n.Barrier(ctx) }

// FlowStats walks the network's flows a chunk at a time (without their
// placement, which OpenFlow does not carry), converting each chunk into
// one reused slice.
func (d ofDatapath) FlowStats(f *pipeline.FlowFilter, fn func([]openflow.FlowStat) error) error {
	var out []openflow.FlowStat
	return d.n.WalkFlowStats(f, false, func(stats []offload.FlowStat) error {
		out = out[:0]
		for _, s := range stats {
			out = append(out, openflow.FlowStat{Flow: s.Flow, Packets: s.Packets, Bytes: s.Bytes, Duration: s.Duration})
		}
		return fn(out)
	})
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

func (d ofDatapath) Subscribe(fn func(offload.Event)) (cancel func()) { return d.n.Subscribe(fn) }
