package softpath

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// macTableSize is the number of slots of NORMAL's MAC table.
const macTableSize = 1 << 14

// macProbe is how many slots a MAC may live in (linear probing window).
const macProbe = 8

// macTable is NORMAL's learning table: (VLAN, MAC) -> port, aged. Readers
// look up without locks; a slot holds an immutable entry pointer replaced
// with a compare-and-swap when a MAC is learned or moves, and only its
// last-seen time is updated in place (at most once a second), so the steady
// state neither allocates nor locks.
type macTable struct {
	slots []atomic.Pointer[macEntry]
}

type macEntry struct {
	key  uint64 // vlan<<48 | mac
	port uint32
	seen atomic.Int64 // unix seconds
}

func newMACTable(n int) *macTable { return &macTable{slots: make([]atomic.Pointer[macEntry], n)} }

func macKey(vlan uint16, mac *[6]byte) uint64 {
	return uint64(vlan&0xfff)<<48 | uint64(binary.BigEndian.Uint16(mac[:2]))<<32 | uint64(binary.BigEndian.Uint32(mac[2:]))
}

func (t *macTable) index(key uint64) int {
	h := key * 0x9e3779b97f4a7c15
	return int(h>>32) & (len(t.slots) - 1)
}

// lookup returns the port of key if learned within aging.
func (t *macTable) lookup(key uint64, now, aging int64) (uint32, bool) {
	i := t.index(key)
	for j := 0; j < macProbe; j++ {
		e := t.slots[(i+j)&(len(t.slots)-1)].Load()
		if e != nil && e.key == key {
			if now-e.seen.Load() > aging {
				return 0, false
			}
			return e.port, true
		}
	}
	return 0, false
}

// learn records that key was seen on port at now (unix seconds). The entry
// goes to the key's slot if it has one, else to an empty slot, else over
// the least recently seen entry of the probe window.
func (t *macTable) learn(key uint64, port uint32, now int64) {
	i := t.index(key)
	victim, victimSeen := -1, int64(1<<62)
	for j := 0; j < macProbe; j++ {
		s := (i + j) & (len(t.slots) - 1)
		e := t.slots[s].Load()
		if e == nil {
			if victimSeen >= 0 {
				victim, victimSeen = s, -1
			}
			continue
		}
		if e.key == key {
			if e.port == port {
				if e.seen.Load() != now {
					e.seen.Store(now)
				}
				return
			}
			victim = s // the MAC moved
			break
		}
		if seen := e.seen.Load(); seen < victimSeen {
			victim, victimSeen = s, seen
		}
	}
	n := &macEntry{key: key, port: port}
	n.seen.Store(now)
	t.slots[victim].Store(n)
}

// normal is the NORMAL action: an L2 learning switch per VLAN. It learns
// the source MAC on the input port and sends to the port that learned the
// destination, or floods unknown, multicast and broadcast destinations.
func (w *worker) normal(p *pkt) {
	now := w.now / int64(time.Second)
	aging := int64(w.d.cfg.MACAging / time.Second)
	vlan := p.key.VlanVID & 0xfff
	if p.key.EthSrc[0]&1 == 0 && w.ports.byNo[p.inPort] != nil {
		w.d.macs.learn(macKey(vlan, &p.key.EthSrc), p.inPort, now)
	}
	if p.key.EthDst[0]&1 != 0 {
		w.flood(p)
		return
	}
	out, ok := w.d.macs.lookup(macKey(vlan, &p.key.EthDst), now, aging)
	if !ok {
		w.flood(p)
		return
	}
	if out == p.inPort {
		return
	}
	if o := w.ports.byNo[out]; o != nil && o.live.Load() {
		w.enqueue(o, p)
		return
	}
	w.flood(p)
}
