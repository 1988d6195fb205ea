package pipeline

import "time"

// GroupType is OFPGT_*.
type GroupType uint8

// The group types.
const (
	GroupTypeAll          GroupType = 0
	GroupTypeSelect       GroupType = 1
	GroupTypeIndirect     GroupType = 2
	GroupTypeFastFailover GroupType = 3
)

// GroupModCommand is OFPGC_*.
type GroupModCommand uint16

// The group-mod commands.
const (
	GroupAdd    GroupModCommand = 0
	GroupModify GroupModCommand = 1
	GroupDelete GroupModCommand = 2
)

// Bucket is one bucket of a group.
type Bucket struct {
	Weight     uint16
	WatchPort  uint32
	WatchGroup uint32
	Actions    []Action
	Counters   *Counters
}

// Group is one group table entry; immutable once installed (a modify
// replaces it).
type Group struct {
	ID       uint32
	Type     GroupType
	Buckets  []Bucket
	Counters *Counters
	// Created is when the group was added; a modify keeps it (the group
	// entry lives on, as in Open vSwitch), so GROUP_STATS' duration counts
	// from the GROUP_MOD add.
	Created time.Time
}

// GroupMod is a decoded OFPT_GROUP_MOD.
type GroupMod struct {
	Command GroupModCommand
	Type    GroupType
	ID      uint32
	Buckets []Bucket
}

// MeterModCommand is OFPMC_*.
type MeterModCommand uint16

// The meter-mod commands.
const (
	MeterAdd    MeterModCommand = 0
	MeterModify MeterModCommand = 1
	MeterDelete MeterModCommand = 2
)

// Meter flags (OFPMF_*).
const (
	MeterKbps  uint16 = 1 << 0
	MeterPktps uint16 = 1 << 1
	MeterBurst uint16 = 1 << 2
	MeterStats uint16 = 1 << 3
)

// Meter ids with special meaning (OFPM_*).
const (
	MeterMax        uint32 = 0xffff0000
	MeterSlowpath   uint32 = 0xfffffffd
	MeterController uint32 = 0xfffffffe
	MeterAll        uint32 = 0xffffffff
)

// BandType is OFPMBT_*.
type BandType uint16

// The meter band types.
const (
	BandDrop       BandType = 1
	BandDSCPRemark BandType = 2
)

// Band is one meter band.
type Band struct {
	Type      BandType
	Rate      uint32 // kb/s or packets/s, per the meter's flags
	BurstSize uint32
	PrecLevel uint8 // DSCP remark
	Counters  *Counters
}

// Burst returns the band's burst size in the meter's unit (kilobits or
// packets) as every tier applies it: its burst_size when the meter has
// OFPMF_BURST and the size is not 0, else one second's worth of its rate,
// as Open vSwitch's meters (OpenFlow 1.3.5 section 7.3.4.4 leaves the
// burst of a meter without OFPMF_BURST to the switch).
func (m *Meter) Burst(b *Band) uint32 {
	if m.Flags&MeterBurst != 0 && b.BurstSize != 0 {
		return b.BurstSize
	}
	return b.Rate
}

// Meter is one meter; immutable once installed (a modify replaces it).
type Meter struct {
	ID       uint32
	Flags    uint16
	Bands    []Band
	Counters *Counters
	// Created is when the meter was added; a modify keeps it (the meter
	// entry lives on, as in Open vSwitch), so METER_STATS' duration counts
	// from the METER_MOD add.
	Created time.Time
}

// MeterMod is a decoded OFPT_METER_MOD.
type MeterMod struct {
	Command MeterModCommand
	Flags   uint16
	ID      uint32
	Bands   []Band
}
