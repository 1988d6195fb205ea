package offload

import (
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/tcflower"
)

// tierEnv answers the translation's questions about a network for the tc
// tier: its ports bound to blocks, its groups and meters.
type tierEnv struct {
	t        *tcTier
	ports    map[uint32]*port
	snap     *pipeline.Snapshot
	switchID string // the eswitch of the network's first port that has one
}

func (n *Network) tierEnv(snap *pipeline.Snapshot) *tierEnv {
	e := &tierEnv{t: n.tc, ports: n.ports, snap: snap}
	for _, p := range n.sortedPorts() {
		if p.info.SwitchID != "" {
			e.switchID = p.info.SwitchID
			break
		}
	}
	return e
}

// Port describes port no when it is bound to a block. Under policy hw an
// output stays on the switch only between ports of one eswitch; in kernel
// software (policies tc and auto, where the driver decides) every bound
// port is reachable.
func (e *tierEnv) Port(no uint32) (tcflower.Port, bool) {
	p, ok := e.ports[no]
	if _, bound := e.t.bound[no]; !ok || !bound {
		return tcflower.Port{}, false
	}
	same := e.t.policy != PolicyHW || (p.info.SwitchID != "" && p.info.SwitchID == e.switchID)
	return tcflower.Port{Name: p.info.Name, SameSwitch: same}, true
}

// Meter returns meter id; each filter gets a policer of its own (placement
// keeps the flows of a meter shared by several flows in the fast path).
func (e *tierEnv) Meter(id uint32) (*pipeline.Meter, uint32) { return e.snap.Meters[id], 0 }

// Group returns group id.
func (e *tierEnv) Group(id uint32) *pipeline.Group { return e.snap.Groups[id] }

// TableComplete is answered by place.
func (e *tierEnv) TableComplete(uint8) bool { return false }

// translate is tcflower.Translate (TranslateOn for a port's own block)
// with a cache per block: a flow's filter depends on the flow (immutable:
// a modify makes a new *Flow), the ports, groups and meters (envGen) and,
// for a goto_table, the target table's completeness (part of the cache
// key). Meter flows are translated afresh each time.
func (t *tcTier) translate(b *tcBlock, f *pipeline.Flow, env tcflower.Env) (*tcflower.Filter, error) {
	on := func() (*tcflower.Filter, error) {
		if b.port != 0 {
			return tcflower.TranslateOn(f, env, b.port)
		}
		return tcflower.Translate(f, env)
	}
	if f.Instr.Meter != 0 {
		return on()
	}
	complete := f.Instr.Goto && env.TableComplete(f.Instr.GotoTable)
	if c, ok := b.trans[f.ID]; ok && c.flow == f && c.envGen == t.envGen && c.complete == complete {
		return c.filter, c.err
	}
	flt, err := on()
	b.trans[f.ID] = translation{flow: f, envGen: t.envGen, complete: complete, filter: flt, err: err}
	return flt, err
}

// meterUse counts the flows of s that use each meter.
func meterUse(s *pipeline.Snapshot) map[uint32]int {
	use := map[uint32]int{}
	if len(s.Meters) == 0 {
		return use
	}
	for t := range uint8(pipeline.NumTables) {
		for _, f := range s.Table(t) {
			if f.Instr.Meter != 0 {
				use[f.Instr.Meter]++
			}
		}
	}
	return use
}
