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

// TicksToSize is the inverse of XmitTicks: how many units pass at rate in
// ticks.
func TicksToSize(rate uint64, ticks uint64) uint64 {
	return uint64(math.Round(float64(rate) * float64(ticks) * PschedTickNS / 1e9))
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
