package nl

import (
	"encoding/binary"
	"math"
)

// Rate table constants (pkt_sched.h, iproute2 tc_core.c).
const (
	// PschedTickNS is the length of one psched tick: the kernel converts
	// with PSCHED_SHIFT 6, so a tick is 64 ns.
	PschedTickNS = 64
	// defaultMTU is iproute2's rate-table MTU when none is given.
	defaultMTU = 2047
	// linkLayerEthernet is TC_LINKLAYER_ETHERNET.
	linkLayerEthernet = 1
)

// RateSpec is struct tc_ratespec.
type RateSpec struct {
	CellLog   uint8
	LinkLayer uint8
	Overhead  uint16
	CellAlign int16
	MPU       uint16
	Rate      uint32
}

// Append appends the 12-byte wire form of r.
func (r RateSpec) Append(b []byte) []byte {
	b = append(b, r.CellLog, r.LinkLayer)
	b = binary.NativeEndian.AppendUint16(b, r.Overhead)
	b = binary.NativeEndian.AppendUint16(b, uint16(r.CellAlign))
	b = binary.NativeEndian.AppendUint16(b, r.MPU)
	return binary.NativeEndian.AppendUint32(b, r.Rate)
}

// ParseRateSpec decodes a 12-byte tc_ratespec.
func ParseRateSpec(b []byte) RateSpec {
	return RateSpec{
		CellLog:   b[0],
		LinkLayer: b[1],
		Overhead:  binary.NativeEndian.Uint16(b[2:]),
		CellAlign: int16(binary.NativeEndian.Uint16(b[4:])),
		MPU:       binary.NativeEndian.Uint16(b[6:]),
		Rate:      binary.NativeEndian.Uint32(b[8:]),
	}
}

// XmitTicks is the time, in psched ticks, to send size units at rate units
// per second (iproute2's tc_calc_xmittime).
func XmitTicks(rate uint64, size uint64) uint32 {
	if rate == 0 {
		return 0
	}
	t := float64(size) * 1e9 / float64(rate) / PschedTickNS
	if t > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(t)
}

// TicksToSize is the inverse of XmitTicks: the smallest size that takes
// at least ticks at rate. XmitTicks of it is ticks whenever some size takes
// exactly ticks (always at a rate of one unit per tick or more), and it is
// a fixed point either way: TicksToSize(rate, XmitTicks(rate, s)) is s for
// every s it returns, so a burst read back and written again stays the
// same. ok is false when no size takes that long (ticks past what
// XmitTicks reaches, 2^32-1 at most; any ticks at rate 0).
func TicksToSize(rate uint64, ticks uint64) (size uint64, ok bool) {
	if uint64(XmitTicks(rate, math.MaxUint64)) < ticks {
		return 0, false
	}
	// XmitTicks does not decrease with the size: search the smallest.
	lo, hi := uint64(0), uint64(math.MaxUint64)
	for lo < hi {
		mid := lo + (hi-lo)/2
		if uint64(XmitTicks(rate, mid)) >= ticks {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, true
}

// RateTable computes a byte-rate spec and its 256-entry transmit-time table
// for rate bytes per second on Ethernet, as iproute2's tc_calc_rtable_64
// does with no mtu, mpu or overhead given. Rates of 2^32 bytes/s and above
// saturate the 32-bit field; the caller sends the full value in a 64-bit
// attribute too.
func RateTable(rate uint64) (RateSpec, []byte) {
	cellLog := uint8(0)
	for defaultMTU>>cellLog > 255 {
		cellLog++
	}
	tab := make([]byte, 0, TC_RTAB_SIZE)
	for i := uint64(0); i < 256; i++ {
		tab = binary.NativeEndian.AppendUint32(tab, XmitTicks(rate, (i+1)<<cellLog))
	}
	r := RateSpec{CellLog: cellLog, LinkLayer: linkLayerEthernet, CellAlign: -1, Rate: uint32(min(rate, math.MaxUint32))}
	return r, tab
}
