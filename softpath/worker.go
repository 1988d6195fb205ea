package softpath

import (
	"encoding/binary"
	"math/bits"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/classifier"
	"github.com/nicflow/nicflow/softpath/packet"
)

const (
	// defaultBufSize is the size of receive and scratch buffers: a 1500-byte
	// MTU frame with two VLAN tags and room to push more.
	defaultBufSize = 2048
	// growRoom is the spare capacity a frame needs before packet.Apply may
	// grow it without reallocating (push_pbb adds 18 bytes, push_mpls and
	// push_vlan 4).
	growRoom = 32
	// maxGroupDepth bounds group chaining (a bucket outputting to a group).
	maxGroupDepth = 8
	// flowCacheMax bounds the per-reader exact-match cache.
	flowCacheMax = 8192
)

// worker is the per-goroutine state of packet processing: one per port
// reader, one for Execute. Nothing in it is shared.
type worker struct {
	d *Datapath

	// Per batch: the generation and port table in force, and the time.
	gen   *generation
	cls   *classifier.Classifier // gen's, compiled
	ports *portTable
	now   int64 // unix ns
	miss  MissPolicy
	swcfg SwitchConfig

	outs []outQueue // output batches of this batch, per port

	scratch  [][]byte // scratch buffers; scratch[:nscratch] are in use
	nscratch int

	set      pipeline.ActionSet
	setDirty bool
	setList  []pipeline.Action

	cacheGen *generation
	cache    map[cacheKey]*pipeline.Flow

	// Table lookups and matches of this batch; flush adds them to the
	// datapath's totals so the per-packet path touches no shared memory.
	lookups, matched [pipeline.NumTables]uint64
	usedTables       uint64 // bit t set: table t has counts to fold
}

type cacheKey struct {
	key   pipeline.Key
	table uint8
}

// outQueue collects the frames of one batch for one output port.
type outQueue struct {
	p      *port
	frames [][]byte
	bytes  uint64
}

// pkt is one packet in flight.
type pkt struct {
	buf    []byte // current bytes
	shared bool   // buf is referenced elsewhere (queued, caller's): copy before changing it
	key    pipeline.Key
	lay    packet.Layout
	inPort uint32
	flow   *pipeline.Flow // last flow hit (packet-in reason, cookie)
	table  uint8          // table of the last lookup
	at     int64          // arrival time, unix ns (0: the batch's time)
}

func newWorker(d *Datapath) *worker {
	w := &worker{d: d, setList: make([]pipeline.Action, 0, 64)}
	if !d.cfg.NoFlowCache {
		w.cache = make(map[cacheKey]*pipeline.Flow)
	}
	return w
}

// begin starts a batch: it pins the generation, the port table and the time.
func (w *worker) begin() {
	w.gen = w.d.gen.Load()
	w.cls = w.gen.classifier()
	w.ports = w.d.pt.Load()
	w.now = w.d.cfg.Now().UnixNano()
	w.miss = MissPolicy(w.d.miss.Load())
	w.swcfg = *w.d.swcfg.Load()
	if w.cache != nil && w.cacheGen != w.gen {
		clear(w.cache)
		w.cacheGen = w.gen
	}
}

// receive runs the pipeline on one frame received on port inPort at time
// at (unix ns, 0: not known). frame stays valid until flush.
func (w *worker) receive(inPort uint32, frame []byte, at int64) {
	var p pkt
	p.buf = frame
	p.inPort = inPort
	p.at = at
	p.lay = packet.Parse(frame, inPort, &p.key)
	w.enterTables(&p)
}

// enterTables runs p through the flow tables from table 0, unless the
// switch configuration drops it first (OFPC_FRAG_DROP).
func (w *worker) enterTables(p *pkt) {
	if w.swcfg.FragDrop && isFragment(p) {
		return
	}
	w.runTables(p, 0)
}

// isFragment reports whether p is an IP fragment, the first or a later
// one: IPv4 with more-fragments set or a fragment offset, IPv6 with a
// fragment header. An IPv6 atomic fragment (a fragment header with offset
// 0 and no more fragments, deprecated by RFC 8021) counts too: the key
// does not tell it apart (Open vSwitch lets it through).
func isFragment(p *pkt) bool {
	switch p.key.EthType {
	case pipeline.EthTypeIPv4:
		l3 := int(p.lay.L3)
		return l3 != 0 && len(p.buf) >= l3+8 && binary.BigEndian.Uint16(p.buf[l3+6:])&0x3fff != 0
	case pipeline.EthTypeIPv6:
		return p.key.IPv6Exthdr&pipeline.IEHFrag != 0
	}
	return false
}

// lookup classifies p in table t and counts the lookup.
func (w *worker) lookup(t uint8, k *pipeline.Key) *pipeline.Flow {
	f := w.classify(t, k)
	w.lookups[t]++
	if f != nil {
		w.matched[t]++
	}
	w.usedTables |= 1 << t
	return f
}

func (w *worker) classify(t uint8, k *pipeline.Key) *pipeline.Flow {
	if w.cache == nil {
		return w.cls.Lookup(t, k)
	}
	ck := cacheKey{key: *k, table: t}
	if f, ok := w.cache[ck]; ok {
		return f
	}
	f := w.cls.Lookup(t, k)
	if len(w.cache) >= flowCacheMax {
		clear(w.cache)
	}
	w.cache[ck] = f
	return f
}

// foldTableStats adds the batch's table counts to the datapath's totals.
func (w *worker) foldTableStats() {
	for used := w.usedTables; used != 0; used &= used - 1 {
		t := bits.TrailingZeros64(used)
		w.d.tableLookups[t].Add(w.lookups[t])
		w.d.tableMatched[t].Add(w.matched[t])
		w.lookups[t], w.matched[t] = 0, 0
	}
	w.usedTables = 0
}

// writable makes p.buf safe to change and gives it room to grow.
func (w *worker) writable(p *pkt) {
	if !p.shared && cap(p.buf)-len(p.buf) >= growRoom {
		return
	}
	b := w.scratchBuf(len(p.buf) + growRoom)
	p.buf = append(b, p.buf...)
	p.shared = false
}

// scratchBuf returns an empty buffer with capacity for at least n bytes,
// valid until flush.
func (w *worker) scratchBuf(n int) []byte {
	if w.nscratch == len(w.scratch) {
		w.scratch = append(w.scratch, nil)
	}
	b := w.scratch[w.nscratch]
	if cap(b) < n {
		b = make([]byte, 0, max(n, defaultBufSize))
		w.scratch[w.nscratch] = b
	}
	w.nscratch++
	return b[:0]
}

// enqueue queues p's current bytes for output on port o.
func (w *worker) enqueue(o *port, p *pkt) {
	if !o.live.Load() || o.cfg.Load()&portNoFwd != 0 {
		o.txDropped.Add(1)
		return
	}
	var q *outQueue
	for i := range w.outs {
		if w.outs[i].p == o {
			q = &w.outs[i]
			break
		}
	}
	if q == nil {
		if len(w.outs) < cap(w.outs) {
			w.outs = w.outs[:len(w.outs)+1]
		} else {
			w.outs = append(w.outs, outQueue{})
		}
		q = &w.outs[len(w.outs)-1]
		q.p = o
	}
	q.frames = append(q.frames, p.buf)
	q.bytes += uint64(len(p.buf))
	p.shared = true
}

// flush writes the batch's output queues and recycles scratch buffers.
func (w *worker) flush() {
	for i := range w.outs {
		q := &w.outs[i]
		if len(q.frames) > 0 {
			if err := q.p.io.WriteBatch(q.frames); err != nil {
				q.p.txErrors.Add(uint64(len(q.frames)))
			} else {
				q.p.txPackets.Add(uint64(len(q.frames)))
				q.p.txBytes.Add(q.bytes)
			}
		}
		clear(q.frames)
		q.frames = q.frames[:0]
		q.bytes = 0
		q.p = nil
	}
	w.outs = w.outs[:0]
	w.nscratch = 0
	w.foldTableStats()
}
