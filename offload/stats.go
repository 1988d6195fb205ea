package offload

import (
	"sort"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Features reports the datapath id and table count.
func (n *Network) Features() (dpid uint64, tables uint8) {
	return n.cfg.DPID, pipeline.NumTables
}

// FlowStats returns the flows selected by f with their tier and merged
// counters. It brings the tc tier up to date and reads its counters first.
func (n *Network) FlowStats(f *pipeline.FlowFilter) []FlowStat {
	var out []FlowStat
	n.WalkFlowStats(f, true, func(chunk []FlowStat) error {
		out = append(out, chunk...)
		return nil
	})
	return out
}

// flowStatsChunk is how many entries WalkFlowStats visits under the lock
// at a time.
const flowStatsChunk = 256

// WalkFlowStats calls fn with the flows selected by f and their merged
// counters, in pipeline order (table, priority descending, oldest first),
// a chunk of at most a few hundred at a time, without the network's lock
// held: a dump of any size holds one chunk in memory, and a slow reader
// does not hold up mods. The chunk is reused once fn returns. With
// placement, each entry also carries its tier, the reason and its filter
// count (FlowStats); without, only the flow, its totals and its duration
// (what OpenFlow asks). The tc tier is brought up to date and its counters
// read once, first. An entry added or removed during the walk may be
// missed; none is given twice. An error from fn ends the walk and is
// returned.
func (n *Network) WalkFlowStats(f *pipeline.FlowFilter, placement bool, fn func([]FlowStat) error) error {
	var (
		cur   pipeline.FlowCursor
		flows = make([]*pipeline.Flow, 0, flowStatsChunk)
		out   = make([]FlowStat, 0, flowStatsChunk)
		now   time.Time
	)
	for first := true; !cur.Done(); first = false {
		n.mu.Lock()
		if first {
			now = n.cfg.Now()
			if n.tc != nil {
				n.syncTC()
				n.tc.refresh(now)
			}
		}
		flows = n.pipe.NextFlows(flows[:0], f, &cur, flowStatsChunk)
		out = out[:0]
		for _, fl := range flows {
			c := n.flowCounts(fl)
			tot := c.total()
			st := FlowStat{Flow: fl, Packets: tot.Packets, Bytes: tot.Bytes, HW: c.hw, TC: c.tc, Soft: c.soft,
				Duration: now.Sub(fl.Added)}
			if placement {
				st.Tier, st.Reason = n.placement(fl)
				st.Filters = n.tc.filters(fl)
			}
			out = append(out, st)
		}
		n.mu.Unlock()
		if len(out) > 0 {
			if err := fn(out); err != nil {
				return err
			}
		}
	}
	return nil
}

// TableStats returns the statistics of every table.
func (n *Network) TableStats() []TableStat {
	n.mu.Lock()
	active := make([]int, pipeline.NumTables)
	for t := range active {
		active[t] = n.pipe.FlowCount(uint8(t))
	}
	lookups, matched := n.dp.TableStats()
	if n.tc != nil {
		n.syncTC()
		n.tc.refresh(n.cfg.Now())
		n.tc.tableCounts(&lookups, &matched)
	}
	n.mu.Unlock()
	out := make([]TableStat, pipeline.NumTables)
	for t := range out {
		out[t] = TableStat{Table: uint8(t), Active: uint32(active[t]), Lookups: lookups[t], Matched: matched[t]}
	}
	return out
}

// PortStats returns the statistics of one port, or of all ports when port is
// pipeline.PortAny.
func (n *Network) PortStats(port uint32) []PortStat {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.cfg.Now()
	var out []PortStat
	for _, info := range n.sortedPorts() {
		if port != pipeline.PortAny && port != info.info.No {
			continue
		}
		if n.tc != nil && n.cfg.PortCounters != nil {
			if st, ok := n.cfg.PortCounters(info.info); ok {
				st.PortNo, st.Duration = info.info.No, now.Sub(info.added)
				out = append(out, st)
				continue
			}
		}
		s := n.dp.PortStats(info.info.No)
		out = append(out, PortStat{
			PortNo:    info.info.No,
			RxPackets: s.RxPackets, TxPackets: s.TxPackets,
			RxBytes: s.RxBytes, TxBytes: s.TxBytes,
			RxDropped: s.RxDropped, TxDropped: s.TxDropped,
			RxErrors: s.RxErrors, TxErrors: s.TxErrors,
			Duration: now.Sub(info.added),
		})
	}
	return out
}

func (n *Network) sortedPorts() []*port {
	out := make([]*port, 0, len(n.ports))
	for _, p := range n.ports {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].info.No < out[j].info.No })
	return out
}

// Groups returns every group, ordered by id.
func (n *Network) Groups() []*pipeline.Group {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pipe.Groups()
}

// GroupStats returns the statistics of one group or all (pipeline.GroupAll).
func (n *Network) GroupStats(id uint32) []GroupStat {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.cfg.Now()
	var out []GroupStat
	for _, g := range n.pipe.Groups() {
		if id != pipeline.GroupAll && id != g.ID {
			continue
		}
		st := GroupStat{
			GroupID:  g.ID,
			RefCount: uint32(n.pipe.GroupRefs(g.ID)),
			Packets:  g.Counters.Packets.Load(),
			Bytes:    g.Counters.Bytes.Load(),
			Duration: now.Sub(g.Created),
		}
		for _, b := range g.Buckets {
			st.Buckets = append(st.Buckets, BucketStat{Packets: b.Counters.Packets.Load(), Bytes: b.Counters.Bytes.Load()})
		}
		out = append(out, st)
	}
	return out
}

// Meters returns one meter or all (pipeline.MeterAll).
func (n *Network) Meters(id uint32) []*pipeline.Meter {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*pipeline.Meter
	for _, m := range n.pipe.Meters() {
		if id == pipeline.MeterAll || id == m.ID {
			out = append(out, m)
		}
	}
	return out
}

// MeterStats returns the statistics of one meter or all (pipeline.MeterAll).
func (n *Network) MeterStats(id uint32) []MeterStat {
	now := n.cfg.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []MeterStat
	for _, m := range n.pipe.Meters() {
		if id != pipeline.MeterAll && id != m.ID {
			continue
		}
		st := MeterStat{
			MeterID:   m.ID,
			FlowCount: uint32(n.pipe.MeterRefs(m.ID)),
			PacketsIn: m.Counters.Packets.Load(),
			BytesIn:   m.Counters.Bytes.Load(),
			Duration:  now.Sub(m.Created),
		}
		for _, b := range m.Bands {
			st.Bands = append(st.Bands, BandStat{Packets: b.Counters.Packets.Load(), Bytes: b.Counters.Bytes.Load()})
		}
		out = append(out, st)
	}
	return out
}
