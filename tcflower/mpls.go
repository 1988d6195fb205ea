package tcflower

import (
	"github.com/nicflow/nicflow/offload/pipeline"
)

// mplsState is what a translation knows about the top MPLS label stack
// entry (when the packet is MPLS).
type mplsState struct {
	label      uint32
	labelKnown bool
	tc         uint8
	tcKnown    bool
	ttl        ttlState
}

// pendingMPLS is an act_mpls push or modify not emitted yet: the
// set_field mpls_label/mpls_tc and set_mpls_ttl actions that follow it
// fill it in.
type pendingMPLS struct {
	m *MPLS
	// for a push: whether the label, tc and TTL that OpenFlow gives the
	// new entry are known (act_mpls push takes them explicitly).
	labelKnown, tcKnown, ttlKnown bool
}

// labelFor returns the label value of set_field mpls_label, or an error
// when act_mpls cannot set it.
func mplsLabelValue(v []byte) (uint32, error) {
	l := (uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])) & 0xfffff
	if l == 3 {
		return 0, notExpressible("action set_field mpls_label=3: act_mpls refuses the implicit null label")
	}
	return l, nil
}

// pushMPLS starts an MPLS push. OpenFlow (and the fast path,
// softpath/packet.Apply) gives the new top entry the label, tc and TTL of
// the entry it covers on an MPLS packet, and label 0, tc 0 and the IP TTL
// (non-IP: TTL 0) otherwise; act_mpls push takes
// them explicitly, so each must be known when the push is emitted: from
// the match, or from set_field mpls_label, set_field mpls_tc and
// set_mpls_ttl after the push.
func (b *actionBuilder) pushMPLS(et uint16) error {
	if !isMPLS(et) {
		return notExpressible("action push_mpls:%#04x: not an MPLS ethertype", et)
	}
	if b.innerTag {
		return notExpressible("action push_mpls after push_vlan onto a frame that may be tagged: act_mpls would write the MPLS ethertype over the inner tag's TPID")
	}
	if err := b.flush(); err != nil {
		return err
	}
	p := &pendingMPLS{m: &MPLS{Op: MPLSPush, Proto: et}}
	switch {
	case isMPLS(b.l3):
		p.m.Label, p.labelKnown = b.mpls.label, b.mpls.labelKnown
		p.m.TC, p.tcKnown = b.mpls.tc, b.mpls.tcKnown
		p.m.TTL, p.ttlKnown = b.mpls.ttl.value, b.mpls.ttl.known
	case b.l3 == EthTypeIPv4 || b.l3 == EthTypeIPv6:
		p.m.Label, p.labelKnown, p.m.TC, p.tcKnown = 0, true, 0, true
		p.m.TTL, p.ttlKnown = b.ip.value, b.ip.known
	case b.l3 != 0:
		p.m.Label, p.labelKnown, p.m.TC, p.tcKnown, p.m.TTL, p.ttlKnown = 0, true, 0, true, 0, true
	}
	p.m.HasLabel, p.m.HasTC = true, true
	b.mplsPend = p
	b.l3 = et
	b.mpls = mplsState{label: p.m.Label, labelKnown: p.labelKnown, tc: p.m.TC, tcKnown: p.tcKnown}
	if p.ttlKnown {
		b.mpls.ttl.setKnown(p.m.TTL)
	} else {
		b.mpls.ttl.lost = true
	}
	b.ttl.Rewrites = true
	return nil
}

// popMPLS pops the top label: act_mpls pop with the ethertype of what
// follows.
func (b *actionBuilder) popMPLS(et uint16) error {
	if !isMPLS(b.l3) {
		return notExpressible("action pop_mpls without eth_type mpls in the match")
	}
	if et < 0x0600 {
		return notExpressible("action pop_mpls:%#04x: act_mpls pops only to an Ethernet II ethertype", et)
	}
	if err := b.flush(); err != nil {
		return err
	}
	b.out = append(b.out, Action{Kind: KindMPLS, MPLS: &MPLS{Op: MPLSPop, Proto: et}})
	b.l3 = et
	b.mpls = mplsState{ttl: ttlState{lost: true}}
	b.ip = ttlState{lost: true}
	b.ttl.Rewrites = true
	return nil
}

// modifyMPLS returns the pending act_mpls push or modify that a change of
// the top entry goes into, starting a modify when none is pending.
func (b *actionBuilder) modifyMPLS() *pendingMPLS {
	if b.mplsPend == nil {
		b.mplsPend = &pendingMPLS{m: &MPLS{Op: MPLSModify}}
	}
	return b.mplsPend
}

// setMPLSField handles set_field mpls_label, mpls_tc and mpls_bos (act_mpls
// takes the bottom-of-stack bit of the entry it modifies or pushes as
// TCA_MPLS_BOS, net/sched/act_mpls.c tcf_mpls_get_lse; nothing else in the
// rule depends on it: a pop names the ethertype after it).
func (b *actionBuilder) setMPLSField(a *pipeline.Action) error {
	if !isMPLS(b.l3) {
		return notExpressible("action set_field %s without eth_type mpls in the match (or a push_mpls before it)", a.Field.Desc().Name)
	}
	p := b.modifyMPLS()
	v := a.FieldValue()
	if a.Field == pipeline.FieldMPLSBoS {
		p.m.BOS, p.m.HasBOS = v[0]&1, true
		return nil
	}
	if a.Field == pipeline.FieldMPLSLabel {
		l, err := mplsLabelValue(v)
		if err != nil {
			return err
		}
		p.m.Label, p.m.HasLabel, p.labelKnown = l, true, true
		b.mpls.label, b.mpls.labelKnown = l, true
		return nil
	}
	p.m.TC, p.m.HasTC, p.tcKnown = v[0]&7, true, true
	b.mpls.tc, b.mpls.tcKnown = v[0]&7, true
	return nil
}

// setMPLSTTL handles set_mpls_ttl.
func (b *actionBuilder) setMPLSTTL(ttl uint8) error {
	if !isMPLS(b.l3) {
		return notExpressible("action set_mpls_ttl without eth_type mpls in the match (or a push_mpls before it)")
	}
	if ttl == 0 {
		// act_mpls reads a TTL of 0 as "not set".
		return notExpressible("action set_mpls_ttl:0: act_mpls cannot set a TTL of 0")
	}
	p := b.modifyMPLS()
	p.m.TTL, p.ttlKnown = ttl, true
	b.mpls.ttl.setKnown(ttl)
	b.ttl.Rewrites = true
	return nil
}

// decMPLSTTL handles dec_mpls_ttl: a known TTL is set one lower; otherwise
// act_mpls dec_ttl, behind a TTL guard (see decNwTTL: act_mpls drops a
// packet whose TTL reaches 0, OpenFlow reports it).
func (b *actionBuilder) decMPLSTTL() error {
	s := &b.mpls.ttl
	switch {
	case !isMPLS(b.l3):
		return notExpressible("action dec_mpls_ttl without eth_type mpls in the match (or a push_mpls before it)")
	case s.known && s.value <= 1:
		return notExpressible("action dec_mpls_ttl of a TTL of %d: it expires on every packet (INVALID_TTL), which tc cannot report", s.value)
	case s.known:
		s.value--
		p := b.modifyMPLS()
		p.m.TTL, p.ttlKnown = s.value, true
		return nil
	case b.mplsPend != nil && b.mplsPend.m.Op == MPLSPush:
		return notExpressible("action dec_mpls_ttl after push_mpls: the new label's TTL is copied from a header tc cannot read (set_mpls_ttl first)")
	case s.lost:
		return notExpressible("action dec_mpls_ttl after pop_mpls: flower does not read the TTL of the label the pop exposes")
	case s.dec >= MaxTTLDec:
		return notExpressible("action dec_mpls_ttl: more than %d decrements of one TTL in a rule", MaxTTLDec)
	}
	if err := b.flushMPLS(); err != nil {
		return err
	}
	s.dec++
	b.ttl.Dec[TTLMPLS] = s.dec
	b.out = append(b.out, Action{Kind: KindMPLS, MPLS: &MPLS{Op: MPLSDecTTL}})
	return nil
}

// flushMPLS emits the pending act_mpls push or modify.
func (b *actionBuilder) flushMPLS() error {
	p := b.mplsPend
	if p == nil {
		return nil
	}
	b.mplsPend = nil
	if p.m.Op == MPLSPush {
		switch {
		case !p.labelKnown:
			return notExpressible("action push_mpls copies mpls_label from the label below, which the match does not pin: set_field mpls_label after push_mpls")
		case !p.tcKnown:
			return notExpressible("action push_mpls copies mpls_tc from the label below or the IP DSCP, which the match does not pin: set_field mpls_tc after push_mpls")
		case !p.ttlKnown:
			return notExpressible("action push_mpls copies the TTL from the label below or the IP header, which tc's mpls push cannot: set_mpls_ttl after push_mpls")
		case p.m.Label == 3:
			return notExpressible("action push_mpls: the new label would be 3 (implicit null), which act_mpls refuses")
		case p.m.TTL == 0:
			return notExpressible("action push_mpls: the new label's TTL would be 0, which act_mpls cannot set")
		}
	}
	b.out = append(b.out, Action{Kind: KindMPLS, MPLS: p.m})
	return nil
}
