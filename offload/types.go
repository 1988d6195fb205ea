package offload

import (
	"net"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// FailMode is what a network does while no controller is connected.
type FailMode string

// The fail modes.
const (
	// FailSecure keeps the installed flows and forwards nothing new: a
	// table miss drops.
	FailSecure FailMode = "secure"
	// FailStandalone makes the network an L2 learning switch while no
	// controller is connected (installed flows still run first).
	FailStandalone FailMode = "standalone"
)

// ParseFailMode checks a fail mode named in a config file or flag.
func ParseFailMode(s string) (FailMode, error) {
	switch FailMode(s) {
	case FailSecure, FailStandalone:
		return FailMode(s), nil
	}
	return "", &ConfigError{Field: "fail_mode", Msg: "must be secure or standalone, not " + quote(s)}
}

// ConfigError names the configuration field that is wrong.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

func quote(s string) string { return "\"" + s + "\"" }

// Tier is where a rule executes.
type Tier string

// The tiers.
const (
	TierHW   Tier = "hw"
	TierTC   Tier = "tc"
	TierSoft Tier = "soft"
)

// PortInfo describes one OpenFlow port of a network.
type PortInfo struct {
	No        uint32
	Name      string
	HWAddr    net.HardwareAddr
	Up        bool   // link (carrier) up
	AdminDown bool   // OFPPC_PORT_DOWN: the netdev is administratively down
	SpeedKbps uint32 // 0: unknown
	MTU       int
	// NoRecv, NoFwd and NoPacketIn are OFPPC_NO_RECV, OFPPC_NO_FWD and
	// OFPPC_NO_PACKET_IN (PortMod).
	NoRecv, NoFwd, NoPacketIn bool
	// Ifindex is the netdev's interface index (0: not a kernel netdev,
	// e.g. an in-memory test port); the tc tier binds it to the
	// network's block.
	Ifindex int
	// SwitchID is the netdev's phys_switch_id ("" for software devices):
	// under offload policy hw, outputs stay on the same eswitch only
	// between ports with the same switch id.
	SwitchID string
	// Driver is the netdev's driver (its sysfs device/driver), for the
	// drivers whose hardware counters need correcting
	// (hwBytesWithoutEthernet).
	Driver string
}

// Counts are packets and bytes.
type Counts struct{ Packets, Bytes uint64 }

// FlowStat is one flow entry with its merged counters.
type FlowStat struct {
	Flow   *pipeline.Flow
	Tier   Tier
	Reason string // why the rule is not offloaded (empty when it is)
	// Packets and Bytes are the merged totals: HW + TC + Soft.
	Packets uint64
	Bytes   uint64
	// HW, TC and Soft split the totals by the tier that counted them:
	// hardware, the kernel's software tc, the Go fast path. A rule that
	// moved between tiers keeps what each tier counted before.
	HW, TC, Soft Counts
	Duration     time.Duration
	// Filters is how many flower filters the rule has in the kernel now:
	// one per port it is offloaded on (one in all on a shared block),
	// two where it matches a VLAN tag (802.1Q and 802.1ad).
	Filters int
}

// TableStat is one table's statistics.
type TableStat struct {
	Table   uint8
	Active  uint32
	Lookups uint64
	Matched uint64
}

// PortStat is one port's statistics.
type PortStat struct {
	PortNo               uint32
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	RxDropped, TxDropped uint64
	RxErrors, TxErrors   uint64
	Duration             time.Duration
}

// BucketStat counts one group bucket.
type BucketStat struct{ Packets, Bytes uint64 }

// GroupStat is one group's statistics.
type GroupStat struct {
	GroupID  uint32
	RefCount uint32
	Packets  uint64
	Bytes    uint64
	Buckets  []BucketStat
	Duration time.Duration
}

// BandStat counts one meter band.
type BandStat struct{ Packets, Bytes uint64 }

// MeterStat is one meter's statistics.
type MeterStat struct {
	MeterID   uint32
	FlowCount uint32
	PacketsIn uint64
	BytesIn   uint64
	Bands     []BandStat
	Duration  time.Duration
}

// Event is an asynchronous event of a network: *PacketIn, *FlowRemoved or
// *PortStatus.
type Event interface{ event() }

// PacketIn is a packet sent to the controller.
type PacketIn struct {
	Reason   uint8 // OFPR_*: 0 no match (table-miss entry), 1 action, 2 invalid TTL
	Table    uint8
	Cookie   uint64
	InPort   uint32
	Metadata uint64
	TunnelID uint64
	Data     []byte
	TotalLen int
}

// FlowRemoved reports a flow that left the pipeline and asked to be
// reported (OFPFF_SEND_FLOW_REM), with its final merged counters.
type FlowRemoved struct {
	Flow     *pipeline.Flow
	Reason   pipeline.RemovedReason
	Packets  uint64
	Bytes    uint64
	Duration time.Duration
}

// Port status reasons (OFPPR_*).
const (
	PortAdded    uint8 = 0
	PortDeleted  uint8 = 1
	PortModified uint8 = 2
)

// PortStatus reports a port added, removed or changed.
type PortStatus struct {
	Reason uint8
	Port   PortInfo
}

func (*PacketIn) event()    {}
func (*FlowRemoved) event() {}
func (*PortStatus) event()  {}
