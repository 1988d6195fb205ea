package openflow

import (
	"github.com/nicflow/nicflow/api/openflow/ofwire"
)

func portWire(p *PortDesc) ofwire.Port {
	return ofwire.Port{
		PortNo: p.PortNo, HWAddr: p.HWAddr, Name: p.Name, Config: p.Config, State: p.State,
		Curr: p.Curr, Advertised: p.Advertised, Supported: p.Supported, Peer: p.Peer,
		CurrSpeed: p.CurrSpeed, MaxSpeed: p.MaxSpeed,
	}
}

func flowStatsWire(fs *FlowStat) ofwire.FlowStats {
	f := fs.Flow
	return ofwire.FlowStats{
		TableID: f.Table, Duration: fs.Duration, Priority: f.Priority, IdleTimeout: f.IdleTimeout,
		HardTimeout: f.HardTimeout, Flags: f.Flags, Cookie: f.Cookie, Packets: fs.Packets, Bytes: fs.Bytes,
		Match: f.Match, Instr: f.Instr,
	}
}

func flowRemovedWire(e *FlowRemoved) *ofwire.FlowRemoved {
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
