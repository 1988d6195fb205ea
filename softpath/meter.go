package softpath

import (
	"sort"
	"sync/atomic"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// defaultBurstNs is the burst tolerance of a band without a burst size:
// 100 ms of traffic at the band's rate.
const defaultBurstNs = int64(100e6)

// meterState is the rate state of one meter: a token bucket per band,
// implemented as GCRA (a theoretical arrival time per band, advanced with a
// compare-and-swap), so readers share it without locks.
type meterState struct {
	m     *pipeline.Meter
	pktps bool
	bands []bandState // by decreasing rate
}

type bandState struct {
	band *pipeline.Band
	tat  atomic.Int64 // theoretical arrival time, unix ns
	tau  int64        // burst tolerance, ns
}

func newMeterState(m *pipeline.Meter) *meterState {
	s := &meterState{m: m, pktps: m.Flags&pipeline.MeterPktps != 0}
	idx := make([]int, 0, len(m.Bands))
	for i := range m.Bands {
		if m.Bands[i].Rate > 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return m.Bands[idx[a]].Rate > m.Bands[idx[b]].Rate })
	s.bands = make([]bandState, len(idx))
	for j, i := range idx {
		b := &m.Bands[i]
		s.bands[j].band = b
		s.bands[j].tau = defaultBurstNs
		if m.Flags&pipeline.MeterBurst != 0 && b.BurstSize > 0 {
			// kbps: burst in kilobits at rate kb/s; pktps: packets at packets/s.
			s.bands[j].tau = int64(uint64(b.BurstSize) * 1e9 / uint64(b.Rate))
		}
	}
	return s
}

// cost is the time a packet of n bytes occupies at the band's rate, in ns.
func (s *meterState) cost(b *bandState, n int) int64 {
	if s.pktps {
		return int64(1e9 / uint64(b.band.Rate))
	}
	return int64(uint64(n) * 8 * 1e6 / uint64(b.band.Rate))
}

// conform charges a packet to band b and reports whether it was within the
// band's rate and burst.
func (s *meterState) conform(b *bandState, n int, now int64) bool {
	c := s.cost(b, n)
	for {
		tat := b.tat.Load()
		start := max(tat, now)
		if start-now > b.tau {
			return false
		}
		if b.tat.CompareAndSwap(tat, start+c) {
			return true
		}
	}
}

// meter runs meter id on p and reports whether p goes on (OpenFlow 1.3.5
// section 5.7): the band with the highest rate that the packet exceeds
// applies. DROP drops; DSCP_REMARK raises the drop precedence of an AF DSCP.
func (w *worker) meter(p *pkt, id uint32) bool {
	s := w.gen.meters[id]
	if s == nil {
		return true
	}
	n := len(p.buf)
	if s.m.Counters != nil {
		s.m.Counters.Add(n, w.now)
	}
	for i := range s.bands {
		b := &s.bands[i]
		if s.conform(b, n, w.now) {
			continue
		}
		if b.band.Counters != nil {
			b.band.Counters.Add(n, w.now)
		}
		switch b.band.Type {
		case pipeline.BandDrop:
			return false
		case pipeline.BandDSCPRemark:
			w.remarkDSCP(p, b.band.PrecLevel)
		}
		return true
	}
	return true
}

// remarkDSCP raises the drop precedence of an assured-forwarding DSCP
// (AFxy: dscp = 8x + 2y, x 1..4, y 1..3) by prec levels, capped at 3.
// Other code points are left alone.
func (w *worker) remarkDSCP(p *pkt, prec uint8) {
	if p.key.EthType != pipeline.EthTypeIPv4 && p.key.EthType != pipeline.EthTypeIPv6 {
		return
	}
	d := p.key.IPDSCP
	class, drop := d>>3, (d>>1)&3
	if class < 1 || class > 4 || drop == 0 || d&1 != 0 {
		return
	}
	drop = min(drop+prec, 3)
	a := pipeline.Action{Type: pipeline.ActionSetField, Field: pipeline.FieldIPDSCP}
	a.Value[0] = class<<3 | drop<<1
	w.modify(p, &a)
}
