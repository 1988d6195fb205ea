package softpath

import (
	"encoding/binary"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// group runs group id on p (OpenFlow 1.3.5 section 5.6).
func (w *worker) group(p *pkt, id uint32, depth int) {
	if depth >= maxGroupDepth {
		return
	}
	g := w.gen.snap.Groups[id]
	if g == nil {
		return
	}
	if g.Counters != nil {
		g.Counters.Add(len(p.buf), w.now)
	}
	switch g.Type {
	case pipeline.GroupTypeAll:
		for i := range g.Buckets {
			w.bucket(p, &g.Buckets[i], depth)
		}
	case pipeline.GroupTypeIndirect:
		if len(g.Buckets) > 0 {
			w.bucket(p, &g.Buckets[0], depth)
		}
	case pipeline.GroupTypeSelect:
		if b := w.selectBucket(p, g, depth); b != nil {
			w.bucket(p, b, depth)
		}
	case pipeline.GroupTypeFastFailover:
		for i := range g.Buckets {
			if w.bucketLive(&g.Buckets[i], depth) {
				w.bucket(p, &g.Buckets[i], depth)
				break
			}
		}
	}
	p.shared = true // buckets may have queued p's bytes
}

// bucket runs a bucket's actions on a copy of p: every bucket of an ALL
// group sees the packet as it entered the group, and, as in Open vSwitch,
// changes made in a bucket do not leak into the actions after the group.
// The actions form an action set (OpenFlow 1.3.5 section 5.10: "If an
// action set contains a group action, the actions in the appropriate
// action bucket of the group are also applied in the order specified
// below"), so they run in the action set's order, one of each kind, as the
// reference evaluator and Open vSwitch (ofpacts_execute_action_set) run
// them.
func (w *worker) bucket(p *pkt, b *pipeline.Bucket, depth int) {
	if b.Counters != nil {
		b.Counters.Add(len(p.buf), w.now)
	}
	c := *p
	c.shared = true
	acts, ok := w.gen.buckets[b]
	if !ok {
		acts = b.Actions
	}
	w.apply(&c, acts, depth+1)
}

// bucketSets returns the actions of every bucket of s's groups in action
// set order.
func bucketSets(s *pipeline.Snapshot) map[*pipeline.Bucket][]pipeline.Action {
	m := make(map[*pipeline.Bucket][]pipeline.Action)
	for _, g := range s.Groups {
		for i := range g.Buckets {
			var set pipeline.ActionSet
			set.Write(g.Buckets[i].Actions)
			m[&g.Buckets[i]] = set.List(nil)
		}
	}
	return m
}

// bucketLive reports whether a bucket's watched port and group are live
// (a bucket that watches nothing is live).
func (w *worker) bucketLive(b *pipeline.Bucket, depth int) bool {
	if b.WatchPort != pipeline.PortAny && b.WatchPort != 0 {
		o := w.ports.byNo[b.WatchPort]
		if o == nil || !o.live.Load() {
			return false
		}
	}
	if b.WatchGroup != pipeline.GroupAny && b.WatchGroup != 0 {
		return w.groupLive(b.WatchGroup, depth+1)
	}
	return true
}

// groupLive reports whether a group has a live bucket.
func (w *worker) groupLive(id uint32, depth int) bool {
	g := w.gen.snap.Groups[id]
	if g == nil || depth >= maxGroupDepth {
		return false
	}
	for i := range g.Buckets {
		if w.bucketLive(&g.Buckets[i], depth) {
			return true
		}
	}
	return false
}

// selectBucket picks a live bucket of a SELECT group by a hash of the
// packet's addresses and ports, weighted by the buckets' weights.
func (w *worker) selectBucket(p *pkt, g *pipeline.Group, depth int) *pipeline.Bucket {
	var total uint64
	for i := range g.Buckets {
		if b := &g.Buckets[i]; b.Weight > 0 && w.bucketLive(b, depth) {
			total += uint64(b.Weight)
		}
	}
	if total == 0 {
		return nil
	}
	h := flowHash(&p.key) % total
	for i := range g.Buckets {
		b := &g.Buckets[i]
		if b.Weight == 0 || !w.bucketLive(b, depth) {
			continue
		}
		if h < uint64(b.Weight) {
			return b
		}
		h -= uint64(b.Weight)
	}
	return nil
}

// flowHash hashes a packet's MACs, addresses, protocol and ports.
func flowHash(k *pipeline.Key) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	mix := func(v uint64) {
		h ^= v
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	mix(uint64(binary.BigEndian.Uint32(k.EthSrc[:4]))<<16 | uint64(binary.BigEndian.Uint16(k.EthSrc[4:])))
	mix(uint64(binary.BigEndian.Uint32(k.EthDst[:4]))<<16 | uint64(binary.BigEndian.Uint16(k.EthDst[4:])))
	mix(binary.BigEndian.Uint64(k.L3Src[:8]) ^ binary.BigEndian.Uint64(k.L3Src[8:]))
	mix(binary.BigEndian.Uint64(k.L3Dst[:8]) ^ binary.BigEndian.Uint64(k.L3Dst[8:]))
	mix(uint64(k.EthType)<<40 | uint64(k.IPProto)<<32 | uint64(k.TpSrc)<<16 | uint64(k.TpDst))
	return h
}
