package softpath

import (
	"sort"
	"sync/atomic"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// meterState is the rate state of one meter: a token bucket per band,
// implemented as GCRA (a theoretical arrival time per band, advanced with a
// compare-and-swap), so readers share it without locks.
//
// A band's bucket holds its burst (pipeline.Meter.Burst: one second at its
// rate unless the meter has OFPMF_BURST and a burst size) and starts full. A
// packet conforms when the band's backlog, the time its rate needs for
// what conformed before it, is within the burst; the packet then adds its
// own time to the backlog. Over any window a band passes its rate times the
// window plus at most one burst and one packet, whatever the packet sizes
// and however the packets bunch. Times are a packet's arrival time (the
// kernel's timestamp where the port has one), not when its batch runs.
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
		// A burst of kilobits at kb/s, or packets at packets/s, lasts
		// burst/rate seconds.
		s.bands[j] = bandState{band: b, tau: int64(uint64(m.Burst(b)) * 1e9 / uint64(b.Rate))}
	}
	return s
}

// cost is the time a packet of n bytes takes at the band's rate, in ns,
// short of the exact time by less than 1 ns (0.02% of a 64-byte frame at
// 100 Mb/s).
func (s *meterState) cost(b *bandState, n int) int64 {
	if s.pktps {
		return int64(1e9 / uint64(b.band.Rate))
	}
	// 8n bits at rate*1000 bits/s.
	return int64(uint64(n) * 8e6 / uint64(b.band.Rate))
}

// conform charges a packet of n bytes that arrived at now to band b and
// reports whether it was within the band's rate and burst. A packet that
// exceeds the band is not charged.
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

// band runs a packet of n bytes that arrived at now through the meter
// (OpenFlow 1.3.5 section 5.7) and returns the band that applies to it, the
// one with the highest rate the packet exceeds, or nil. The bands are
// tried from the highest rate down: a packet within a band's rate is
// charged to it (it is part of the rate the next band measures), the
// first band it exceeds applies, and the bands below are not charged.
func (s *meterState) band(n int, now int64) *pipeline.Band {
	for i := range s.bands {
		if b := &s.bands[i]; !s.conform(b, n, now) {
			return b.band
		}
	}
	return nil
}

// meter runs meter id on p and reports whether p goes on: a DROP band drops
// it; a DSCP_REMARK band raises the drop precedence of an AF DSCP and lets
// it go on, as do packets within every band's rate.
func (w *worker) meter(p *pkt, id uint32) bool {
	s := w.gen.meters[id]
	if s == nil {
		return true
	}
	n := len(p.buf)
	if s.m.Counters != nil {
		s.m.Counters.Add(n, w.now)
	}
	at := p.at
	if at == 0 {
		at = w.now
	}
	b := s.band(n, at)
	if b == nil {
		return true
	}
	if b.Counters != nil {
		b.Counters.Add(n, w.now)
	}
	switch b.Type {
	case pipeline.BandDrop:
		return false
	case pipeline.BandDSCPRemark:
		w.remarkDSCP(p, b.PrecLevel)
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
