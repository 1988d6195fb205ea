package openflow

import (
	"context"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// Datapath is the network (switch) behind the OpenFlow channels.
type Datapath interface {
	Features() Features        // DatapathID uint64, NBuffers uint32, NTables uint8, Capabilities uint32 (flow/table/port/group stats)
	Ports() []offload.PortInfo // the ports, as ofp_port by portWire
	// FlowMods applies flow mods that arrived back to back, in order, as
	// one batch; errs[i] is fms[i]'s (a *pipeline.Error → OFPT_ERROR).
	FlowMods(ctx context.Context, fms []*pipeline.FlowMod) (errs []error)
	GroupMod(ctx context.Context, gm *pipeline.GroupMod) error
	MeterMod(ctx context.Context, mm *pipeline.MeterMod) error
	PortMod(ctx context.Context, pm *ofwire.PortMod) error // errors may be *pipeline.Error (PORT_MOD_FAILED)
	// Bundle applies the flow, group and meter mods of a committed bundle
	// in order, all or none, in force in every tier when it returns (as
	// after Barrier). A failure is an *offload.BundleError naming the mod
	// that failed (its Err a *pipeline.Error → that message's OFPT_ERROR),
	// and nothing changed.
	Bundle(ctx context.Context, mods []offload.BundleMod) error
	SwitchConfig() uint16                                    // the OFPC_* flags in force, the same for every channel
	SetSwitchConfig(ctx context.Context, flags uint16) error // errors may be *pipeline.Error (SWITCH_CONFIG_FAILED)
	PacketOut(ctx context.Context, inPort uint32, actions []pipeline.Action, data []byte) error
	Barrier(ctx context.Context) error // returns when every earlier change is in force in every tier
	// FlowStats calls fn with the flows f selects and their counters, in
	// table order, a chunk at a time, without the datapath's lock held (a
	// dump holds one chunk; fn may write to the channel). The chunk is
	// reused once fn returns; an error from fn ends the walk and is
	// returned. No flow is given twice. FlowStat{Flow *pipeline.Flow;
	// Packets, Bytes uint64; Duration time.Duration}.
	FlowStats(f *pipeline.FlowFilter, fn func([]FlowStat) error) error
	TableStats() []TableStat          // TableID uint8; Active uint32; Lookups, Matched uint64
	PortStats(port uint32) []PortStat // PortNo; rx/tx packets, bytes, dropped, errors...; Duration
	GroupStats(id uint32) []GroupStat // GroupID; RefCount; Packets, Bytes; Buckets []struct{Packets, Bytes}; Duration
	Groups() []*pipeline.Group
	MeterStats(id uint32) []MeterStat // MeterID; FlowCount; PacketsIn, BytesIn; Duration; Bands []struct{Packets, Bytes}
	Meters(id uint32) []*pipeline.Meter
	Subscribe(func(offload.Event)) (cancel func()) // async events: *offload.PacketIn, *offload.FlowRemoved, *offload.PortStatus
	SetConnected(n int)                            // number of controller channels up (the datapath applies fail mode)
}

// Switch capabilities (OFPC_*) for Features.Capabilities.
const (
	CapFlowStats  uint32 = 1 << 0
	CapTableStats uint32 = 1 << 1
	CapPortStats  uint32 = 1 << 2
	CapGroupStats uint32 = 1 << 3
	CapIPReasm    uint32 = 1 << 5
	CapQueueStats uint32 = 1 << 6
	CapPortBlock  uint32 = 1 << 8
)

// Features describes the datapath for FEATURES_REPLY.
type Features struct {
	DatapathID   uint64
	NBuffers     uint32
	NTables      uint8
	Capabilities uint32
}

// Port config and state bits (OFPPC_*, OFPPS_*).
const (
	PortConfigDown    = offload.PortConfigDown
	PortConfigNoRecv  = offload.PortConfigNoRecv
	PortConfigNoFwd   = offload.PortConfigNoFwd
	PortConfigNoPktIn = offload.PortConfigNoPacketIn

	PortStateLinkDown uint32 = 1 << 0
	PortStateBlocked  uint32 = 1 << 1
	PortStateLive     uint32 = 1 << 2
)

// FlowStat is one flow entry with its counters.
type FlowStat struct {
	Flow     *pipeline.Flow
	Packets  uint64
	Bytes    uint64
	Duration time.Duration
}

// TableStat is one table's counters, as OFPMP_TABLE carries them.
type TableStat = ofwire.TableStats

// PortStat is one port's counters, as OFPMP_PORT_STATS carries them.
type PortStat = ofwire.PortStats

// Counter is a packet and byte count (a group bucket's, a meter band's).
type Counter struct {
	Packets uint64
	Bytes   uint64
}

// GroupStat is one group's counters.
type GroupStat struct {
	GroupID  uint32
	RefCount uint32
	Packets  uint64
	Bytes    uint64
	Buckets  []Counter
	Duration time.Duration
}

// MeterStat is one meter's counters.
type MeterStat struct {
	MeterID   uint32
	FlowCount uint32
	PacketsIn uint64
	BytesIn   uint64
	Duration  time.Duration
	Bands     []Counter
}

// Packet-in reasons (OFPR_*): offload.PacketIn.Reason.
const (
	ReasonNoMatch    uint8 = 0
	ReasonAction     uint8 = 1
	ReasonInvalidTTL uint8 = 2
)
