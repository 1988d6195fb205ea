package openflow

import (
	"context"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofwire"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Datapath is the network (switch) behind the OpenFlow channels.
type Datapath interface {
	Features() Features                                      // DatapathID uint64, NBuffers uint32, NTables uint8, Capabilities uint32 (flow/table/port/group stats)
	Ports() []PortDesc                                       // PortNo, HWAddr [6]byte, Name string, Config, State uint32, Curr/Advertised/Supported/Peer uint32, CurrSpeed, MaxSpeed uint32
	FlowMod(ctx context.Context, fm *pipeline.FlowMod) error // errors may be *pipeline.Error → send as OFPT_ERROR
	GroupMod(ctx context.Context, gm *pipeline.GroupMod) error
	MeterMod(ctx context.Context, mm *pipeline.MeterMod) error
	PortMod(ctx context.Context, port uint32, hw [6]byte, config, mask uint32) error
	PacketOut(ctx context.Context, inPort uint32, actions []pipeline.Action, data []byte) error
	Barrier(ctx context.Context) error           // returns when every earlier change is in force in every tier
	FlowStats(f *pipeline.FlowFilter) []FlowStat // FlowStat{Flow *pipeline.Flow; Packets, Bytes uint64; Duration time.Duration}
	TableStats() []TableStat                     // TableID uint8; Active uint32; Lookups, Matched uint64
	PortStats(port uint32) []PortStat            // PortNo; rx/tx packets, bytes, dropped, errors...; Duration
	GroupStats(id uint32) []GroupStat            // GroupID; RefCount; Packets, Bytes; Buckets []struct{Packets, Bytes}; Duration
	Groups() []*pipeline.Group
	MeterStats(id uint32) []MeterStat // MeterID; FlowCount; PacketsIn, BytesIn; Duration; Bands []struct{Packets, Bytes}
	Meters(id uint32) []*pipeline.Meter
	Subscribe(func(Event)) (cancel func()) // async events: Event is one of *PacketIn, *FlowRemoved, *PortStatus
	SetConnected(n int)                    // number of controller channels up (the datapath applies fail mode)
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
	PortConfigDown    uint32 = 1 << 0
	PortConfigNoRecv  uint32 = 1 << 2
	PortConfigNoFwd   uint32 = 1 << 5
	PortConfigNoPktIn uint32 = 1 << 6

	PortStateLinkDown uint32 = 1 << 0
	PortStateBlocked  uint32 = 1 << 1
	PortStateLive     uint32 = 1 << 2
)

// PortDesc is one OpenFlow port (ofp_port).
type PortDesc struct {
	PortNo     uint32
	HWAddr     [6]byte
	Name       string
	Config     uint32
	State      uint32
	Curr       uint32
	Advertised uint32
	Supported  uint32
	Peer       uint32
	CurrSpeed  uint32 // kb/s
	MaxSpeed   uint32 // kb/s
}

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

// Event is an asynchronous event of the datapath: *PacketIn, *FlowRemoved
// or *PortStatus.
type Event interface{ event() }

// Packet-in reasons (OFPR_*).
const (
	ReasonNoMatch    uint8 = 0
	ReasonAction     uint8 = 1
	ReasonInvalidTTL uint8 = 2
)

// PacketIn is a packet sent to the controllers.
type PacketIn struct {
	Reason  uint8 // ReasonNoMatch, ReasonAction, ReasonInvalidTTL
	TableID uint8
	Cookie  uint64
	// Match holds the pipeline fields of the packet: in_port at least,
	// metadata and tunnel_id when non-zero.
	Match pipeline.Match
	// Data is the packet, possibly already cut to the output action's
	// max_len; TotalLen is the full length of the packet.
	Data     []byte
	TotalLen uint16
	// BufferID is always NoBuffer: nicflow buffers nothing.
	BufferID uint32
}

// FlowRemoved reports a flow entry that left its table. It is sent only
// when the entry has pipeline.FlagSendFlowRem.
type FlowRemoved struct {
	Flow     *pipeline.Flow
	Reason   pipeline.RemovedReason
	Packets  uint64
	Bytes    uint64
	Duration time.Duration
}

// Port-status reasons (OFPPR_*).
const (
	PortAdded    uint8 = 0
	PortDeleted  uint8 = 1
	PortModified uint8 = 2
)

// PortStatus reports a port added, deleted or modified.
type PortStatus struct {
	Reason uint8 // PortAdded, PortDeleted, PortModified
	Port   PortDesc
}

func (*PacketIn) event()    {}
func (*FlowRemoved) event() {}
func (*PortStatus) event()  {}
