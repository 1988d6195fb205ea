package softpath

import (
	"encoding/binary"
	"errors"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/packet"
)

// runTables runs p through the flow tables from table t (OpenFlow 1.3.5
// section 5.1): classify, count, instructions in the spec's order, goto; at
// the end the action set runs. A table miss drops the packet or hands it to
// NORMAL, per the miss policy.
func (w *worker) runTables(p *pkt, t uint8) {
	if w.setDirty {
		w.set.Clear()
		w.setDirty = false
	}
	for {
		f := w.lookup(t, &p.key)
		p.table = t
		if f == nil {
			if w.miss == MissNormal {
				w.normal(p)
			}
			return
		}
		p.flow = f
		f.Counters.Add(len(p.buf), w.now)
		in := f.Instr
		if in.Meter != 0 && !w.meter(p, in.Meter) {
			return
		}
		if in.HasApply && !w.apply(p, in.Apply, 0) {
			return
		}
		if in.Clear && w.setDirty {
			w.set.Clear()
			w.setDirty = false
		}
		if in.HasWrite && len(in.Write) > 0 {
			w.set.Write(in.Write)
			w.setDirty = true
		}
		if in.WriteMetadata {
			p.key.Metadata = p.key.Metadata&^in.MetadataMask | in.Metadata&in.MetadataMask
		}
		if !in.Goto || in.GotoTable <= t {
			break
		}
		t = in.GotoTable
	}
	if w.setDirty {
		w.setList = w.set.List(w.setList[:0])
		w.set.Clear()
		w.setDirty = false
		w.apply(p, w.setList, 0)
	}
}

// apply runs an action list on p in order. It returns false when the packet
// is gone (its TTL expired).
func (w *worker) apply(p *pkt, acts []pipeline.Action, depth int) bool {
	for i := range acts {
		a := &acts[i]
		switch a.Type {
		case pipeline.ActionOutput:
			w.output(p, a.Port, a.MaxLen)
		case pipeline.ActionGroup:
			w.group(p, a.Group, depth)
		case pipeline.ActionSetQueue:
			// Queues are not modeled: the packet goes out unqueued.
		default:
			if !w.modify(p, a) {
				return false
			}
		}
	}
	return true
}

// modify applies a header-changing action to p.
func (w *worker) modify(p *pkt, a *pipeline.Action) bool {
	if a.Type == pipeline.ActionSetField && a.Field == pipeline.FieldTunnelID {
		// No tunnel ports yet: tunnel_id is pipeline metadata only.
		p.key.TunnelID = binary.BigEndian.Uint64(a.Value[:8])
		return true
	}
	if p.shared || cap(p.buf)-len(p.buf) < growth(a) {
		w.writable(p)
	}
	out, err := packet.Apply(p.buf, &p.lay, &p.key, a)
	switch {
	case err == nil:
		p.buf = out
	case errors.Is(err, packet.ErrTTLExpired):
		if w.swcfg.InvalidTTLToController {
			w.upcall(p, ReasonInvalidTTL, pipeline.ControllerMaxLenNoBuffer)
		}
		return false
	default:
		// ErrUnsupported (or a frame too short for the action): the flow
		// was accepted, so the action is skipped rather than the packet.
	}
	return true
}

// growth is how many bytes action a may add to a frame (see growRoom).
func growth(a *pipeline.Action) int {
	switch a.Type {
	case pipeline.ActionPushPBB:
		return 18 // ethertype, I-TAG TCI, C-DA, C-SA
	case pipeline.ActionPushVLAN, pipeline.ActionPushMPLS:
		return 4
	}
	return 0
}

// output sends p to port no, reserved ports included.
func (w *worker) output(p *pkt, no uint32, maxLen uint16) {
	switch no {
	case pipeline.PortInPort:
		if o := w.ports.byNo[p.inPort]; o != nil {
			w.enqueue(o, p)
		}
	case pipeline.PortFlood, pipeline.PortAll:
		w.flood(p)
	case pipeline.PortController:
		reason := ReasonAction
		if isTableMiss(p.flow) {
			reason = ReasonNoMatch
		}
		w.upcall(p, reason, maxLen)
	case pipeline.PortNormal:
		w.normal(p)
	case pipeline.PortTable:
		// Only valid in packet-out, where Execute handles it.
	default:
		if no == p.inPort {
			return // output to the input port needs IN_PORT (spec 7.2.5)
		}
		if o := w.ports.byNo[no]; o != nil {
			w.enqueue(o, p)
		}
	}
}

// flood sends p to every live port but its input port.
func (w *worker) flood(p *pkt) {
	for _, o := range w.ports.list {
		if o.no != p.inPort && o.live.Load() {
			w.enqueue(o, p)
		}
	}
}

// isTableMiss reports whether f is a table-miss flow entry (priority 0, all
// wildcards), whose packet-ins carry reason no_match.
func isTableMiss(f *pipeline.Flow) bool {
	return f != nil && f.Priority == 0 && f.Match.Mask.IsZero()
}
