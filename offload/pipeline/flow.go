package pipeline

import (
	"sync/atomic"
	"time"
)

// NumTables is the number of flow tables (0..NumTables-1) of every network.
const NumTables = 32

// TableAll is OFPTT_ALL: every table, in FLOW_MOD delete and stats requests.
const TableAll = 0xff

// Flow-mod flags (OFPFF_*).
const (
	FlagSendFlowRem  uint16 = 1 << 0
	FlagCheckOverlap uint16 = 1 << 1
	FlagResetCounts  uint16 = 1 << 2
	FlagNoPktCounts  uint16 = 1 << 3
	FlagNoBytCounts  uint16 = 1 << 4
)

// Counters of one flow entry, group or meter in one tier. Safe for
// concurrent use: the fast path adds, the control plane reads.
type Counters struct {
	Packets  atomic.Uint64
	Bytes    atomic.Uint64
	LastUsed atomic.Int64 // unix nanoseconds of the last hit, 0: never
}

// Add counts one packet of n bytes seen at now (unix ns).
func (c *Counters) Add(n int, now int64) {
	c.Packets.Add(1)
	c.Bytes.Add(uint64(n))
	c.LastUsed.Store(now)
}

// Flow is one flow entry. A Flow is immutable once it is in a table; a
// modify replaces it with a new Flow that keeps the same ID and Counters
// (unless RESET_COUNTS), so readers holding an old snapshot stay consistent.
type Flow struct {
	// ID identifies the entry for its whole life (across modifies); tiers
	// key their state (tc cookie, counters) by it.
	ID uint64

	Table    uint8
	Priority uint16
	Match    Match
	// Instr is shared with every entry that has equal instructions: it
	// must not be changed.
	Instr *Instructions

	Cookie      uint64
	IdleTimeout uint16 // seconds, 0: none
	HardTimeout uint16 // seconds, 0: none
	Flags       uint16

	Added time.Time // when the entry was added (for duration and hard timeout)

	// Counters are the soft tier's (Go fast path) counters of this entry.
	Counters *Counters
}

// FlowModCommand is OFPFC_*.
type FlowModCommand uint8

// The flow-mod commands.
const (
	FlowAdd          FlowModCommand = 0
	FlowModify       FlowModCommand = 1
	FlowModifyStrict FlowModCommand = 2
	FlowDelete       FlowModCommand = 3
	FlowDeleteStrict FlowModCommand = 4
)

// FlowMod is a decoded OFPT_FLOW_MOD.
type FlowMod struct {
	Command     FlowModCommand
	Table       uint8 // TableAll allowed for delete
	Priority    uint16
	Match       Match
	Instr       Instructions
	Cookie      uint64
	CookieMask  uint64
	IdleTimeout uint16
	HardTimeout uint16
	Flags       uint16
	BufferID    uint32
	OutPort     uint32 // delete filter, PortAny: none
	OutGroup    uint32 // delete filter, GroupAny: none
}

// FlowFilter selects flows for stats requests and non-strict delete/modify:
// table (TableAll), out_port (PortAny), out_group (GroupAny), cookie under
// mask, and a match that must cover the entry's.
type FlowFilter struct {
	Table      uint8
	OutPort    uint32
	OutGroup   uint32
	Cookie     uint64
	CookieMask uint64
	Match      Match
}

// RemovedReason is OFPRR_*.
type RemovedReason uint8

// The reasons a flow is removed.
const (
	RemovedIdleTimeout RemovedReason = 0
	RemovedHardTimeout RemovedReason = 1
	RemovedDelete      RemovedReason = 2
	RemovedGroupDelete RemovedReason = 3
	RemovedMeterDelete RemovedReason = 4
)

// Removal records a flow that left a table and why. The caller sends a
// FLOW_REMOVED when Flow.Flags has FlagSendFlowRem.
type Removal struct {
	Flow   *Flow
	Reason RemovedReason
}

// Change is the effect of one mod on the pipeline: what the tiers must now
// install, replace and remove.
type Change struct {
	Added    []*Flow
	Modified []Modification
	Removed  []Removal
}

// Modification is a flow replaced in place (same ID).
type Modification struct {
	Old, New *Flow
}

// Empty reports whether the change did nothing.
func (c *Change) Empty() bool {
	return len(c.Added) == 0 && len(c.Modified) == 0 && len(c.Removed) == 0
}
