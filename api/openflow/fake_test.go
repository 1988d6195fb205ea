package openflow

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// fakeDatapath is a stateful in-memory Datapath: it keeps flows, groups and
// meters, records the calls it gets, and lets tests emit events.
type fakeDatapath struct {
	mu        sync.Mutex // guards the fields below
	flows     []*pipeline.Flow
	groups    []*pipeline.Group
	meters    []*pipeline.Meter
	ports     []offload.PortInfo
	calls     []string
	connected []int
	subs      map[int]func(offload.Event)
	nextSub   int
	nextID    uint64
	flowErr   error
	packetOut []pipeline.Action
	swFlags   uint16
	// barrierDelay makes Barrier slow, to check ordering.
	barrierDelay time.Duration
	// batches are the sizes of the FlowMods calls, in order.
	batches []int
	// bundleFail, when set, fails a bundle at the first mod it returns an
	// error for (the real datapath's validation, e.g. an unknown group).
	bundleFail func(offload.BundleMod) error
	// bundles are the sizes of the Bundle calls that applied, in order.
	bundles []int
}

func newFakeDatapath() *fakeDatapath {
	return &fakeDatapath{
		subs: map[int]func(offload.Event){},
		ports: []offload.PortInfo{
			{No: 1, HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Name: "vf0", SpeedKbps: 10_000_000},
			{No: 2, HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2}, Name: "vf1", Up: true},
		},
	}
}

func (d *fakeDatapath) record(s string) {
	d.mu.Lock()
	d.calls = append(d.calls, s)
	d.mu.Unlock()
}

func (d *fakeDatapath) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

func (d *fakeDatapath) Features() Features {
	return Features{DatapathID: 0xabc, NTables: 4, Capabilities: CapFlowStats | CapTableStats | CapPortStats | CapGroupStats}
}

func (d *fakeDatapath) Ports() []offload.PortInfo { return d.ports }

func (d *fakeDatapath) FlowMods(ctx context.Context, fms []*pipeline.FlowMod) []error {
	d.mu.Lock()
	d.batches = append(d.batches, len(fms))
	d.mu.Unlock()
	errs := make([]error, len(fms))
	for i, fm := range fms {
		errs[i] = d.flowMod(ctx, fm)
	}
	return errs
}

func (d *fakeDatapath) flowMod(_ context.Context, fm *pipeline.FlowMod) error {
	d.record("flow_mod")
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.flowErr != nil {
		return d.flowErr
	}
	d.applyFlowMod(fm)
	return nil
}

// Bundle applies the mods all or none: bundleFail (or flowErr, for a flow
// mod) refuses one and nothing changes.
func (d *fakeDatapath) Bundle(_ context.Context, mods []offload.BundleMod) error {
	d.record("bundle")
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, m := range mods {
		if d.bundleFail != nil {
			if err := d.bundleFail(m); err != nil {
				return &offload.BundleError{Index: i, Err: err}
			}
		}
		if m.Flow != nil && d.flowErr != nil {
			return &offload.BundleError{Index: i, Err: d.flowErr}
		}
	}
	for _, m := range mods {
		switch {
		case m.Flow != nil:
			d.applyFlowMod(m.Flow)
		case m.Group != nil:
			d.applyGroupMod(m.Group)
		case m.Meter != nil:
			d.applyMeterMod(m.Meter)
		}
	}
	d.bundles = append(d.bundles, len(mods))
	return nil
}

// applyFlowMod changes the flows; callers hold mu.
func (d *fakeDatapath) applyFlowMod(fm *pipeline.FlowMod) {
	switch fm.Command {
	case pipeline.FlowAdd:
		d.nextID++
		d.flows = append(d.flows, &pipeline.Flow{
			ID: d.nextID, Table: fm.Table, Priority: fm.Priority, Match: fm.Match, Instr: &fm.Instr,
			Cookie: fm.Cookie, IdleTimeout: fm.IdleTimeout, HardTimeout: fm.HardTimeout, Flags: fm.Flags,
			Added: time.Now(), Counters: &pipeline.Counters{},
		})
	case pipeline.FlowDelete, pipeline.FlowDeleteStrict:
		kept := d.flows[:0]
		for _, f := range d.flows {
			if (fm.Table == pipeline.TableAll || fm.Table == f.Table) && fm.Match.Covers(&f.Match) {
				continue
			}
			kept = append(kept, f)
		}
		d.flows = kept
	}
}

func (d *fakeDatapath) GroupMod(_ context.Context, gm *pipeline.GroupMod) error {
	d.record("group_mod")
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applyGroupMod(gm)
	return nil
}

func (d *fakeDatapath) applyGroupMod(gm *pipeline.GroupMod) {
	if gm.Command == pipeline.GroupAdd {
		d.groups = append(d.groups, &pipeline.Group{ID: gm.ID, Type: gm.Type, Buckets: gm.Buckets})
	}
}

func (d *fakeDatapath) MeterMod(_ context.Context, mm *pipeline.MeterMod) error {
	d.record("meter_mod")
	d.mu.Lock()
	defer d.mu.Unlock()
	d.applyMeterMod(mm)
	return nil
}

func (d *fakeDatapath) applyMeterMod(mm *pipeline.MeterMod) {
	if mm.Command == pipeline.MeterAdd {
		d.meters = append(d.meters, &pipeline.Meter{ID: mm.ID, Flags: mm.Flags, Bands: mm.Bands})
	}
}

func (d *fakeDatapath) PortMod(_ context.Context, pm *ofwire.PortMod) error {
	d.record("port_mod")
	return nil
}

func (d *fakeDatapath) SwitchConfig() uint16 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.swFlags
}

// SetSwitchConfig takes what the real datapath takes: fragment handling
// normal or drop, and invalid_ttl_to_controller.
func (d *fakeDatapath) SetSwitchConfig(_ context.Context, flags uint16) error {
	d.record("set_config")
	if flags&3 > 1 {
		return pipeline.Errorf(pipeline.ErrSwitchConfigFailed, pipeline.SwitchConfigBadFlags, "reassembly")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.swFlags = flags
	return nil
}

func (d *fakeDatapath) PacketOut(_ context.Context, inPort uint32, actions []pipeline.Action, data []byte) error {
	d.record("packet_out")
	d.mu.Lock()
	d.packetOut = actions
	d.mu.Unlock()
	return nil
}

func (d *fakeDatapath) Barrier(context.Context) error {
	if d.barrierDelay > 0 {
		time.Sleep(d.barrierDelay)
	}
	d.record("barrier")
	return nil
}

func (d *fakeDatapath) FlowStats(f *pipeline.FlowFilter, fn func([]FlowStat) error) error {
	d.mu.Lock()
	var out []FlowStat
	for _, fl := range d.flows {
		if f.Table != pipeline.TableAll && f.Table != fl.Table || !f.Match.Covers(&fl.Match) {
			continue
		}
		out = append(out, FlowStat{Flow: fl, Packets: 5, Bytes: 490, Duration: 1234 * time.Millisecond})
	}
	d.mu.Unlock()
	for len(out) > 0 { // in chunks, as offload gives them
		n := min(len(out), 3)
		if err := fn(out[:n]); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

func (d *fakeDatapath) TableStats() []TableStat {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []TableStat
	for t := uint8(0); t < d.Features().NTables; t++ {
		n := 0
		for _, f := range d.flows {
			if f.Table == t {
				n++
			}
		}
		out = append(out, TableStat{TableID: t, Active: uint32(n), Lookups: 10, Matched: 7})
	}
	return out
}

func (d *fakeDatapath) PortStats(port uint32) []PortStat {
	var out []PortStat
	for _, p := range d.ports {
		if port == pipeline.PortAny || port == p.No {
			out = append(out, PortStat{PortNo: p.No, RxPackets: 3, TxPackets: 4, RxBytes: 300, TxBytes: 400, Duration: time.Second})
		}
	}
	return out
}

func (d *fakeDatapath) GroupStats(id uint32) []GroupStat {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []GroupStat
	for _, g := range d.groups {
		if id == pipeline.GroupAll || id == g.ID {
			out = append(out, GroupStat{GroupID: g.ID, Buckets: make([]Counter, len(g.Buckets))})
		}
	}
	return out
}

func (d *fakeDatapath) Groups() []*pipeline.Group {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pipeline.Group(nil), d.groups...)
}

func (d *fakeDatapath) MeterStats(id uint32) []MeterStat {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []MeterStat
	for _, m := range d.meters {
		if id == pipeline.MeterAll || id == m.ID {
			out = append(out, MeterStat{MeterID: m.ID, Bands: make([]Counter, len(m.Bands))})
		}
	}
	return out
}

func (d *fakeDatapath) Meters(id uint32) []*pipeline.Meter {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*pipeline.Meter
	for _, m := range d.meters {
		if id == pipeline.MeterAll || id == m.ID {
			out = append(out, m)
		}
	}
	return out
}

func (d *fakeDatapath) Subscribe(fn func(offload.Event)) func() {
	d.mu.Lock()
	defer d.mu.Unlock()
	id := d.nextSub
	d.nextSub++
	d.subs[id] = fn
	return func() {
		d.mu.Lock()
		delete(d.subs, id)
		d.mu.Unlock()
	}
}

func (d *fakeDatapath) emit(e offload.Event) {
	d.mu.Lock()
	subs := make([]func(offload.Event), 0, len(d.subs))
	for _, fn := range d.subs {
		subs = append(subs, fn)
	}
	d.mu.Unlock()
	for _, fn := range subs {
		fn(e)
	}
}

func (d *fakeDatapath) SetConnected(n int) {
	d.mu.Lock()
	d.connected = append(d.connected, n)
	d.mu.Unlock()
}

func (d *fakeDatapath) Connected() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int(nil), d.connected...)
}

func (d *fakeDatapath) subscribers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.subs)
}
