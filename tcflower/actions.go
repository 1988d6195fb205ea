package tcflower

import (
	"fmt"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// actionBuilder translates an action list into tc actions, tracking what is
// known about the packet (its VLAN tag, the tunnel id to encapsulate with)
// and batching consecutive header rewrites into one pedit + csum.
type actionBuilder struct {
	env  Env
	st   *flowState
	out  []Action
	vlan vlanState

	push    *Vlan // a push_vlan not emitted yet: set_field vlan_* may still fill it
	pushVID bool  // push.ID is known
	pushPCP bool  // push.Prio is known

	edit pedit // pending header rewrites

	tunID     uint32 // set_field tunnel_id, for an output to a tunnel port
	hasTunID  bool
	tunnelSet bool // a tunnel_key set is attached to the packet

	// l3 is the packet's ethertype as the actions so far leave it: the
	// match's, until push_mpls or pop_mpls.
	l3 uint16
	// dscp is the IP DSCP, when known (matched exactly or set).
	dscp      uint8
	dscpKnown bool
	ip        ttlState  // the IP TTL (l3 IPv4 or IPv6)
	mpls      mplsState // the top MPLS label (l3 MPLS)
	mplsPend  *pendingMPLS
	// innerTag: a push_vlan may have pushed a second tag, which the kernel
	// keeps in the packet data (see pushMPLS).
	innerTag bool
	ttl      TTLUse
}

// translateInstructions maps the instructions of a rule (see the package
// documentation) to the filter's actions.
func translateInstructions(in *pipeline.Instructions, st *flowState, env Env) ([]Action, TTLUse, error) {
	acts, b, err := translateActions(in, st, env)
	if err != nil {
		return nil, TTLUse{}, err
	}
	return acts, b.ttl, nil
}

func translateActions(in *pipeline.Instructions, st *flowState, env Env) ([]Action, *actionBuilder, error) {
	if in.WriteMetadata {
		return nil, nil, notExpressible("instruction write_metadata has no flower form (tc chains carry no metadata)")
	}
	if in.Goto && in.HasWrite && len(in.Write) > 0 {
		return nil, nil, notExpressible("write_actions with goto_table: tc has no action set to run after the later tables")
	}
	if in.Goto && !env.TableComplete(in.GotoTable) {
		return nil, nil, notExpressible("goto_table %d: table %d is not complete in tc", in.GotoTable, in.GotoTable)
	}
	b := &actionBuilder{env: env, st: st, vlan: st.vlan, l3: st.l3, dscp: st.dscp, dscpKnown: st.dscpKnown, ip: st.ipTTL, mpls: st.mpls}
	if st.hasTunnelID {
		b.tunID, b.hasTunID = st.tunnelID, true
	}
	if in.Meter != 0 {
		if err := b.meter(in.Meter); err != nil {
			return nil, nil, err
		}
	}
	if st.inTunnel {
		b.out = append(b.out, Action{Kind: KindTunnelKey, TunnelKey: &TunnelKey{Op: TunnelKeyUnset}})
	}
	lists := [][]pipeline.Action{in.Apply}
	if !in.Goto && in.HasWrite {
		// Chains are entered with an empty action set (write_actions with
		// goto_table is refused), so clear_actions changes nothing and the
		// set at the end of the pipeline is this rule's own.
		var set pipeline.ActionSet
		set.Write(in.Write)
		lists = append(lists, set.List(nil))
	}
	for _, list := range lists {
		for i := range list {
			if err := b.action(&list[i]); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := b.flush(); err != nil {
		return nil, nil, err
	}
	if in.Goto {
		if b.tunnelSetPending() {
			return nil, nil, notExpressible("set_field tunnel_id before goto_table: the next table could match the new tunnel_id")
		}
		b.out = append(b.out, Action{Kind: KindGact, Gact: &Gact{Verdict: VerdictGotoChain, Chain: uint32(in.GotoTable)}})
		return b.out, b, nil
	}
	return b.finish(), b, nil
}

// tunnelSetPending reports whether a set_field tunnel_id changed the
// packet's tunnel_id from what the match pinned.
func (b *actionBuilder) tunnelSetPending() bool {
	return b.hasTunID && (!b.st.hasTunnelID || b.tunID != b.st.tunnelID)
}

// finish ends a rule without goto_table: modifications after the last
// output have no effect and are dropped, a last mirror becomes a redirect,
// and a packet not redirected is dropped (OpenFlow drops a packet whose
// pipeline ends without an output).
func (b *actionBuilder) finish() []Action {
	last := -1
	for i, a := range b.out {
		if a.Kind == KindMirred {
			last = i
		}
	}
	if last >= 0 {
		out := b.out[:last+1]
		m := *out[last].Mirred
		m.Redirect = true
		out[last] = Action{Kind: KindMirred, Mirred: &m}
		return out
	}
	var out []Action
	for _, a := range b.out {
		// Keep what acts before any output: the policer (it counts and
		// polices even a dropped packet, as an OpenFlow meter does).
		if a.Kind == KindPolice {
			out = append(out, a)
		}
	}
	return append(out, Action{Kind: KindGact, Gact: &Gact{Verdict: VerdictShot}})
}

func (b *actionBuilder) meter(id uint32) error {
	m, index := b.env.Meter(id)
	if m == nil {
		return notExpressible("meter %d does not exist", id)
	}
	if len(m.Bands) != 1 || m.Bands[0].Type != pipeline.BandDrop {
		return notExpressible("meter %d: only a meter with a single drop band has a flower form (police)", id)
	}
	band := m.Bands[0]
	if band.Rate == 0 {
		return notExpressible("meter %d: a rate of 0 has no police form", id)
	}
	burst := m.Burst(&band) // the fast path's: without a burst size, one second's worth
	p := &Police{Index: index}
	if m.Flags&pipeline.MeterPktps != 0 {
		p.PktRate, p.PktBurst = uint64(band.Rate), uint64(burst)
	} else {
		// kb/s (1000 bits) -> bytes/s; a burst in kilobits -> bytes.
		p.Rate = uint64(band.Rate) * 125
		b := uint64(burst) * 125
		if b > 0xffffffff {
			b = 0xffffffff
		}
		p.Burst = uint32(b)
	}
	if _, err := p.burstTicks(); err != nil {
		return notExpressible("meter %d: %v", id, err)
	}
	b.out = append(b.out, Action{Kind: KindPolice, Police: p})
	return nil
}

func (b *actionBuilder) action(a *pipeline.Action) error {
	switch a.Type {
	case pipeline.ActionOutput:
		if err := b.flush(); err != nil {
			return err
		}
		return b.output(a.Port, "")
	case pipeline.ActionGroup:
		if err := b.flush(); err != nil {
			return err
		}
		return b.group(a.Group)
	case pipeline.ActionPushVLAN:
		return b.pushVLAN(a.EtherType)
	case pipeline.ActionPopVLAN:
		return b.popVLAN()
	case pipeline.ActionSetField:
		return b.setField(a)
	case pipeline.ActionSetNwTTL:
		return b.setNwTTL(a.TTL)
	case pipeline.ActionDecNwTTL:
		return b.decNwTTL()
	case pipeline.ActionPushMPLS:
		return b.pushMPLS(a.EtherType)
	case pipeline.ActionPopMPLS:
		return b.popMPLS(a.EtherType)
	case pipeline.ActionSetMPLSTTL:
		return b.setMPLSTTL(a.TTL)
	case pipeline.ActionDecMPLSTTL:
		return b.decMPLSTTL()
	case pipeline.ActionCopyTTLIn, pipeline.ActionCopyTTLOut:
		return notExpressible("action %s: no tc action copies a TTL from one header to another", actionName(a.Type))
	case pipeline.ActionPushPBB, pipeline.ActionPopPBB:
		return notExpressible("action %s: tc has no 802.1ah (PBB) action; the fast path runs it", actionName(a.Type))
	}
	return notExpressible("action %s has no flower form", actionName(a.Type))
}

// flush emits the pending header rewrites (pedit, then csum), the
// pending push_vlan and the pending act_mpls push or modify: they must act
// before an output. (Those that are pending together commute: Ethernet
// rewrites, a VLAN push and an MPLS change touch different headers, and
// push_mpls and pop_mpls flush the IP rewrites before they move the IP
// header.)
func (b *actionBuilder) flush() error {
	if acts := b.edit.actions(); acts != nil {
		b.out = append(b.out, acts...)
	}
	b.edit = pedit{}
	if err := b.flushPush(); err != nil {
		return err
	}
	return b.flushMPLS()
}

func (b *actionBuilder) output(port uint32, ctx string) error {
	switch port {
	case pipeline.PortInPort:
		if !b.st.hasInPort {
			return notExpressible("%saction output:IN_PORT without an in_port match", ctx)
		}
		return b.mirred(b.st.inPort, b.st.indev, ctx)
	case pipeline.PortTable, pipeline.PortNormal, pipeline.PortFlood, pipeline.PortAll,
		pipeline.PortController, pipeline.PortLocal, pipeline.PortAny:
		return notExpressible("%saction output:%s has no flower form", ctx, portString(port))
	}
	if !b.st.hasInPort {
		// OpenFlow drops output to the ingress port; a mirred in a
		// shared block would send those packets back.
		return notExpressible("%saction output:%d without an in_port match: tc would send packets that came in on port %d back out, OpenFlow drops them", ctx, port, port)
	}
	if port == b.st.inPort {
		return nil // OpenFlow drops it: needs output:IN_PORT
	}
	p, ok := b.env.Port(port)
	if !ok || p.Name == "" {
		return notExpressible("%saction output:%d: no such port", ctx, port)
	}
	return b.mirred(port, p, ctx)
}

func (b *actionBuilder) mirred(no uint32, p Port, ctx string) error {
	if !p.SameSwitch {
		return notExpressible("%saction output:%d: port %s is not on this network's eswitch", ctx, no, p.Name)
	}
	if t := p.Tunnel; t != nil {
		if !b.hasTunID {
			return notExpressible("%saction output:%d to tunnel port %s without a tunnel_id (set_field tunnel_id or an exact tunnel_id match)", ctx, no, p.Name)
		}
		if !t.Local.IsValid() || !t.Remote.IsValid() || t.Local.Is4() != t.Remote.Is4() {
			return notExpressible("%saction output:%d to tunnel port %s: its endpoints are unknown", ctx, no, p.Name)
		}
		b.out = append(b.out, Action{Kind: KindTunnelKey, TunnelKey: &TunnelKey{
			Op: TunnelKeySet, Src: t.Local, Dst: t.Remote, KeyID: b.tunID, DstPort: t.DstPort,
		}})
		b.tunnelSet = true
	} else if b.tunnelSet {
		b.out = append(b.out, Action{Kind: KindTunnelKey, TunnelKey: &TunnelKey{Op: TunnelKeyUnset}})
		b.tunnelSet = false
	}
	b.out = append(b.out, Action{Kind: KindMirred, Mirred: &Mirred{Dev: p.Name}})
	return nil
}

// group maps an ALL group (or an INDIRECT one) whose buckets each hold one
// output to a mirred mirror per bucket: a bucket gets a copy of the packet
// as it is at the group action.
func (b *actionBuilder) group(id uint32) error {
	g := b.env.Group(id)
	if g == nil {
		return notExpressible("action group:%d: no such group", id)
	}
	if g.Type != pipeline.GroupTypeAll && g.Type != pipeline.GroupTypeIndirect {
		return notExpressible("action group:%d: a %s group has no flower form (only all)", id, groupTypeName(g.Type))
	}
	for i := range g.Buckets {
		acts := g.Buckets[i].Actions
		if len(acts) == 0 {
			continue // the bucket drops its copy
		}
		if len(acts) != 1 || acts[0].Type != pipeline.ActionOutput {
			return notExpressible("action group:%d: bucket %d does more than one output", id, i)
		}
		if err := b.output(acts[0].Port, fmt.Sprintf("group:%d bucket %d: ", id, i)); err != nil {
			return err
		}
	}
	return nil
}

func actionName(t pipeline.ActionType) string {
	switch t {
	case pipeline.ActionSetMPLSTTL:
		return "set_mpls_ttl"
	case pipeline.ActionDecMPLSTTL:
		return "dec_mpls_ttl"
	case pipeline.ActionPushMPLS:
		return "push_mpls"
	case pipeline.ActionPopMPLS:
		return "pop_mpls"
	case pipeline.ActionSetQueue:
		return "set_queue"
	case pipeline.ActionCopyTTLOut:
		return "copy_ttl_out"
	case pipeline.ActionCopyTTLIn:
		return "copy_ttl_in"
	case pipeline.ActionPushPBB:
		return "push_pbb"
	case pipeline.ActionPopPBB:
		return "pop_pbb"
	case pipeline.ActionExperimenter:
		return "experimenter"
	}
	return fmt.Sprintf("type %d", uint16(t))
}

func groupTypeName(t pipeline.GroupType) string {
	switch t {
	case pipeline.GroupTypeSelect:
		return "select"
	case pipeline.GroupTypeFastFailover:
		return "fast-failover"
	case pipeline.GroupTypeIndirect:
		return "indirect"
	case pipeline.GroupTypeAll:
		return "all"
	}
	return fmt.Sprintf("type %d", t)
}

func portString(p uint32) string {
	switch p {
	case pipeline.PortInPort:
		return "IN_PORT"
	case pipeline.PortTable:
		return "TABLE"
	case pipeline.PortNormal:
		return "NORMAL"
	case pipeline.PortFlood:
		return "FLOOD"
	case pipeline.PortAll:
		return "ALL"
	case pipeline.PortController:
		return "CONTROLLER"
	case pipeline.PortLocal:
		return "LOCAL"
	case pipeline.PortAny:
		return "ANY"
	}
	return fmt.Sprint(p)
}
