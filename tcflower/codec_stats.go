package tcflower

import (
	"encoding/binary"
	"time"

	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// clockTick is the unit of struct tcf_t: the kernel reports times in
// USER_HZ clock ticks (100 per second on every Linux architecture nicflow
// runs on).
const clockTick = 10 * time.Millisecond

// Stats are the counters and times of one action (or, aggregated, of one
// filter) at the time of the dump.
type Stats struct {
	// Packets and Bytes count every packet the action saw: kernel software
	// plus hardware (TCA_STATS_BASIC).
	Packets, Bytes uint64
	// HWPackets and HWBytes are the hardware part (TCA_STATS_BASIC_HW);
	// the software part is the difference (SWPackets, SWBytes).
	HWPackets, HWBytes uint64
	// Drops and Overlimits are the action's queue counters
	// (TCA_STATS_QUEUE); a policer counts the packets over its rate there.
	Drops, Overlimits uint64
	// Installed is the age of the action. LastUsed is the time since it
	// last ran (since it was installed, when it never ran). FirstUsed is
	// the time since it first ran, zero when it never ran. The kernel
	// counts them in 10 ms ticks.
	Installed, LastUsed, FirstUsed time.Duration
}

// SWPackets returns the packets counted in kernel software.
func (s Stats) SWPackets() uint64 { return s.Packets - min(s.HWPackets, s.Packets) }

// SWBytes returns the bytes counted in kernel software.
func (s Stats) SWBytes() uint64 { return s.Bytes - min(s.HWBytes, s.Bytes) }

// decodeActionStats reads TCA_ACT_STATS of one action.
func decodeActionStats(b []byte) (Stats, error) {
	var s Stats
	var pkt64 uint64
	hasPkt64 := false
	err := rtnetlink.DecodeAttributes(b, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_STATS_BASIC:
			// struct gnet_stats_basic: u64 bytes, u32 packets (16 bytes
			// with padding).
			structAttr(ad, 12, func(b []byte) error {
				s.Bytes, s.Packets = binary.NativeEndian.Uint64(b), uint64(binary.NativeEndian.Uint32(b[8:]))
				return nil
			})
		case nl.TCA_STATS_PKT64:
			// The packet count past 2^32, wherever it comes.
			pkt64, hasPkt64 = ad.Uint64(), true
		case nl.TCA_STATS_BASIC_HW:
			structAttr(ad, 12, func(b []byte) error {
				s.HWBytes, s.HWPackets = binary.NativeEndian.Uint64(b), uint64(binary.NativeEndian.Uint32(b[8:]))
				return nil
			})
		case nl.TCA_STATS_QUEUE:
			// struct gnet_stats_queue: qlen, backlog, drops, requeues,
			// overlimits.
			structAttr(ad, 20, func(b []byte) error {
				s.Drops, s.Overlimits = uint64(binary.NativeEndian.Uint32(b[8:])), uint64(binary.NativeEndian.Uint32(b[16:]))
				return nil
			})
		}
	})
	if hasPkt64 {
		s.Packets = pkt64
	}
	return s, err
}

// setTimes fills the times from a struct tcf_t (install, lastuse, expires,
// firstuse; nil: none).
func (s *Stats) setTimes(tm []byte) {
	if len(tm) < nl.TcfTLen {
		return
	}
	tick := func(off int) time.Duration {
		return time.Duration(binary.NativeEndian.Uint64(tm[off:])) * clockTick
	}
	s.Installed, s.LastUsed, s.FirstUsed = tick(0), tick(8), tick(24)
}

// aggregateStats sums a filter up from its actions. Every action of a
// filter sees the same packets (or fewer, behind a policer), so adding them
// up would count each packet once per action: the filter's counters are
// the largest of its actions' (the first action sees every packet the
// filter matched), drops add up, the last use is the most recent one and
// the first use the earliest.
func aggregateStats(acts []Stats) Stats {
	var s Stats
	for i, a := range acts {
		s.Packets = max(s.Packets, a.Packets)
		s.Bytes = max(s.Bytes, a.Bytes)
		s.HWPackets = max(s.HWPackets, a.HWPackets)
		s.HWBytes = max(s.HWBytes, a.HWBytes)
		s.Drops += a.Drops
		s.Overlimits += a.Overlimits
		s.Installed = max(s.Installed, a.Installed)
		s.FirstUsed = max(s.FirstUsed, a.FirstUsed)
		if i == 0 {
			s.LastUsed = a.LastUsed
		} else {
			s.LastUsed = min(s.LastUsed, a.LastUsed)
		}
	}
	return s
}
